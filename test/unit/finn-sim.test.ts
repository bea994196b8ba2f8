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

  it('paces frames from the run start: a pause bunches the frames due during it, once', () => {
    expect(nextFrameWait(200, 200, 200)).toBe(200);
    expect(nextFrameWait(200, 200, 260)).toBe(140);
    expect(nextFrameWait(200, 200, 450)).toBe(0);
    // Two streams 3 ms apart on a simulator paused from 1,000 to 1,150 ms: the frames due during the
    // pause go out together when it ends, and both streams are back on their own phase afterwards
    // (timed from the previous send instead, they would share one phase for the rest of the run).
    const sendTimes = (start: number) => {
      const sent: number[] = [];
      let dueAt = start;
      let firesAt = start;
      for (let k = 0; k < 20; k += 1) {
        const now = firesAt >= 1000 && firesAt < 1150 ? 1150 : firesAt;
        sent.push(now);
        firesAt = now + nextFrameWait(dueAt, 200, now);
        dueAt += 200;
      }
      return sent;
    };
    const a = sendTimes(200);
    const b = sendTimes(203);
    expect(a[4]).toBe(1150);
    expect(b[4]).toBe(1150);
    for (let k = 5; k < 20; k += 1) {
      expect(a[k]).toBe(200 + 200 * k);
      expect(b[k]).toBe(203 + 200 * k);
    }
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
