import { describe, expect, it } from 'vitest';
import { aggregateOf, blendedScore, mean, parseQualitySignal, reputationState } from '../../src/domain/reputation.js';

describe('reputation math', () => {
  it.each([
    [0, 'COLD'],
    [4, 'COLD'],
    [5, 'WARMING'],
    [19, 'WARMING'],
    [20, 'ESTABLISHED'],
    [99, 'ESTABLISHED'],
    [100, 'AUTHORITATIVE'],
    [10_000, 'AUTHORITATIVE'],
  ])('%i samples → %s', (n, state) => {
    expect(reputationState(n)).toBe(state);
  });

  it('blended = (3·collection + n·personal) / (3 + n)', () => {
    expect(blendedScore(0.5, 0.9, 0)).toBe(0.5);
    expect(blendedScore(0.5, 0.9, 1)).toBeCloseTo((1.5 + 0.9) / 4, 12);
    expect(blendedScore(0.6, 0.2, 3)).toBeCloseTo(0.4, 12);
    expect(blendedScore(0.5, 1, 997)).toBeCloseTo((1.5 + 997) / 1000, 12);
  });

  it('aggregateOf: personal is the mean of the signals; none yet means the collection score', () => {
    const scores = [0.2, 0.4, 0.9, 1, 0.5, 0.6];
    const agg = aggregateOf({ nftId: 'n1', scoreSum: scores.reduce((a, b) => a + b, 0), sampleCount: scores.length, collectionScore: 0.7, updatedAt: null });
    expect(agg.personalScore).toBeCloseTo(mean(scores), 12);
    expect(agg.state).toBe('WARMING');
    expect(agg.blendedScore).toBeCloseTo((3 * 0.7 + 6 * mean(scores)) / 9, 12);
    const empty = aggregateOf({ nftId: 'n2', scoreSum: 0, sampleCount: 0, collectionScore: 0.7, updatedAt: null });
    expect(empty).toMatchObject({ state: 'COLD', personalScore: null, blendedScore: 0.7, sampleCount: 0 });
  });

  it('parseQualitySignal accepts {nftId, score 0..1, taskType} and names what is wrong otherwise', () => {
    expect(parseQualitySignal({ nftId: 'mibera:1', score: 0, taskType: 'chat' })).toEqual({ nftId: 'mibera:1', score: 0, taskType: 'chat' });
    expect(parseQualitySignal({ nftId: 'mibera:1', score: 1 })).toEqual({ nftId: 'mibera:1', score: 1, taskType: null });
    expect(parseQualitySignal(null)).toBe('not_an_object');
    expect(parseQualitySignal([1])).toBe('not_an_object');
    expect(parseQualitySignal({ nftId: 'a/b', score: 0.5 })).toBe('invalid_nft_id');
    expect(parseQualitySignal({ nftId: 'n', score: 1.01 })).toBe('invalid_score');
    expect(parseQualitySignal({ nftId: 'n', score: -0.1 })).toBe('invalid_score');
    expect(parseQualitySignal({ nftId: 'n', score: '0.5' })).toBe('invalid_score');
    expect(parseQualitySignal({ nftId: 'n', score: Number.NaN })).toBe('invalid_score');
    expect(parseQualitySignal({ nftId: 'n', score: 0.5, taskType: 7 })).toBe('invalid_task_type');
  });
});
