import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { nextFrameWait, scriptFrames, splitDeltas } from '../finn-sim/agent-run.js';
import { signCallback } from '../finn-sim/cron.js';
import { matchRoute, targetMatches } from '../finn-sim/routes.js';
import { DEFAULT_STREAM } from '../finn-sim/state.js';

describe('finn-sim script', () => {
  it('splits text into contiguous, non-empty deltas', () => {
    expect(splitDeltas('Echo: hi', 3)).toEqual(['Ec', 'ho:', ' hi']);
    expect(splitDeltas('ab', 5)).toEqual(['a', 'b']);
    for (const parts of [1, 2, 7]) expect(splitDeltas('Echo: some prompt', parts).join('')).toBe('Echo: some prompt');
  });

  it('scripts deltas, the tool pair, turn_end with CU strings and agent_end', () => {
    const frames = scriptFrames('q', DEFAULT_STREAM, 10);
    expect(frames.map((f) => f.type)).toEqual(['text_delta', 'text_delta', 'text_delta', 'tool_start', 'tool_end', 'turn_end', 'agent_end']);
    expect(frames.at(-2)?.data).toEqual({ cost_cu: '1', balance_cu: '9' });
    expect(scriptFrames('q', { ...DEFAULT_STREAM, tools: false, deltas: 1 }, 10).map((f) => f.type)).toEqual(['text_delta', 'turn_end', 'agent_end']);
  });

  it('paces frames from the run start: a late frame does not shift the frames after it', () => {
    expect(nextFrameWait(200, 200, 200)).toBe(200);
    expect(nextFrameWait(200, 200, 260)).toBe(140);
    expect(nextFrameWait(200, 200, 450)).toBe(0);
    // Two streams 3 ms apart, the earlier one's frames sent late by up to 150 ms (a paused simulator):
    // each stays on its own phase, where timing from the previous send would merge them for good.
    const sendTimes = (start: number, lateness: (k: number) => number) => {
      const sent: number[] = [];
      let dueAt = start;
      let firesAt = start;
      for (let k = 0; k < 50; k += 1) {
        const now = firesAt + lateness(k);
        sent.push(now);
        firesAt = now + nextFrameWait(dueAt, 200, now);
        dueAt += 200;
      }
      return sent;
    };
    const late = sendTimes(200, (k) => (k % 10 === 3 ? 150 : 0));
    const onTime = sendTimes(203, () => 0);
    expect(late.filter((t, k) => t !== 200 + 200 * k)).toEqual([200 + 200 * 3 + 150, 200 + 200 * 13 + 150, 200 + 200 * 23 + 150, 200 + 200 * 33 + 150, 200 + 200 * 43 + 150]);
    expect(onTime.every((t, k) => t === 203 + 200 * k)).toBe(true);
  });
});

describe('finn-sim routing and fault targets', () => {
  it('matches routes by method and pattern', () => {
    expect(matchRoute('GET', '/api/identity/oracle').route?.name).toBe('oracle');
    expect(matchRoute('GET', '/api/identity/mibera:1/beauvoir')).toMatchObject({ route: { name: 'beauvoir' }, params: { nftId: 'mibera:1' } });
    expect(matchRoute('DELETE', '/api/sessions').route).toBeNull();
    expect(matchRoute('GET', '/api/sessions/a/b').route).toBeNull();
  });

  it('matches targets by *, name, name prefix, group, pattern, path and path prefix', () => {
    const staking = matchRoute('GET', '/api/conviction/0xabc/staking');
    const message = matchRoute('POST', '/api/sessions/s1/message');
    for (const target of ['*', 'staking', 'ecosystem', '/api/conviction/:wallet/staking', '/api/conviction/0xabc/staking', '/api/conviction/*']) {
      expect(targetMatches(target, staking)).toBe(true);
    }
    expect(targetMatches('sessions', message)).toBe(true);
    expect(targetMatches('ecosystem', message)).toBe(false);
    expect(targetMatches('nfts', staking)).toBe(false);
  });
});

describe('finn-sim callback signature', () => {
  it('is the lowercase hex HMAC-SHA256 of <scheduleId>:<timestamp>', () => {
    const expected = createHmac('sha256', 'test-secret').update('sched-1:1700000000').digest('hex');
    expect(signCallback('test-secret', 'sched-1', '1700000000')).toBe(expected);
    expect(expected).toMatch(/^[0-9a-f]{64}$/);
  });
});
