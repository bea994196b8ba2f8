import { describe, expect, it } from 'vitest';
import { TIERS, isTier, meetsTier, modelPoolFor, tierForStake, TIER_THRESHOLDS } from '../../src/domain/tiers.js';

describe('conviction tiers (domain.md)', () => {
  it.each([
    [0, 'OBSERVER'],
    [0.99, 'OBSERVER'],
    [1, 'PARTICIPANT'],
    [99.999, 'PARTICIPANT'],
    [100, 'BUILDER'],
    [999, 'BUILDER'],
    [1000, 'ARCHITECT'],
    [9999.5, 'ARCHITECT'],
    [10_000, 'SOVEREIGN'],
    [1e12, 'SOVEREIGN'],
  ] as const)('%d BGT staked is %s', (stake, tier) => {
    expect(tierForStake(stake)).toBe(tier);
  });

  it('treats negative, NaN and infinite stakes as OBSERVER', () => {
    expect(tierForStake(-1)).toBe('OBSERVER');
    expect(tierForStake(Number.NaN)).toBe('OBSERVER');
    expect(tierForStake(Number.POSITIVE_INFINITY)).toBe('OBSERVER');
  });

  it('orders tiers and compares them', () => {
    expect(TIERS).toEqual(['OBSERVER', 'PARTICIPANT', 'BUILDER', 'ARCHITECT', 'SOVEREIGN']);
    expect(meetsTier('BUILDER', 'BUILDER')).toBe(true);
    expect(meetsTier('SOVEREIGN', 'PARTICIPANT')).toBe(true);
    expect(meetsTier('PARTICIPANT', 'ARCHITECT')).toBe(false);
    expect(Object.values(TIER_THRESHOLDS)).toEqual([0, 1, 100, 1000, 10_000]);
  });

  it('maps tiers to Finn model pools', () => {
    expect(TIERS.map(modelPoolFor)).toEqual(['pool_observer', 'pool_standard', 'pool_standard', 'pool_premium', 'pool_premium']);
  });

  it('recognises tier names', () => {
    expect(isTier('ARCHITECT')).toBe(true);
    expect(isTier('architect')).toBe(false);
    expect(isTier(3)).toBe(false);
  });
});
