import { afterEach, describe, expect, it, vi } from 'vitest';
import { createRateLimiter } from '../../src/datasources/rate-limit.js';
import { estimate, msUntilAdmitted, verdict, windowIndex } from '../../src/domain/rate-limit.js';
import { createLogger } from '../../src/logger.js';

const W = 60_000;

describe('sliding-window math', () => {
  it('weights the previous window by its remaining overlap', () => {
    expect(estimate({ previous: 10, current: 0 }, 0)).toBe(10);
    expect(estimate({ previous: 10, current: 2 }, W / 2)).toBe(7);
    expect(estimate({ previous: 10, current: 2 }, W - 1)).toBeCloseTo(2, 2);
  });

  it('admits below the limit and reports what remains after this request', () => {
    expect(verdict({ previous: 0, current: 0 }, 0, 5)).toEqual({ allowed: true, limit: 5, remaining: 4, retryAfterS: 0 });
    expect(verdict({ previous: 0, current: 4 }, 0, 5)).toEqual({ allowed: true, limit: 5, remaining: 0, retryAfterS: 0 });
    expect(verdict({ previous: 0, current: 5 }, 0, 5)).toMatchObject({ allowed: false, remaining: 0 });
  });

  it('computes Retry-After when the current window is full', () => {
    // 5 of 5 used at 10 s: next window starts in 50 s; then 5·(1 − e/60) < 5 for any e > 0.
    expect(verdict({ previous: 0, current: 5 }, 10_000, 5).retryAfterS).toBe(51);
    // 10 used with limit 5: 50 s to the window end plus half of the next window.
    expect(msUntilAdmitted({ previous: 0, current: 10 }, 10_000, 5)).toBe(50_000 + 30_000 + 1);
  });

  it('computes Retry-After while the previous window decays', () => {
    // previous 10 at 0 s, current 2, limit 5: need 10·(60 − e)/60 + 2 < 5 → e > 42 s.
    const ms = msUntilAdmitted({ previous: 10, current: 2 }, 0, 5);
    expect(ms).toBe(42_001);
    expect(verdict({ previous: 10, current: 2 }, 42_001, 5).allowed).toBe(true);
    expect(verdict({ previous: 10, current: 2 }, 0, 5).retryAfterS).toBe(43);
  });

  it('never returns a Retry-After below one second', () => {
    const v = verdict({ previous: 60_000, current: 0 }, W - 1, 1);
    expect(v.allowed).toBe(false);
    expect(v.retryAfterS).toBe(1);
  });

  it('indexes fixed windows', () => {
    expect(windowIndex(0)).toBe(0);
    expect(windowIndex(W - 1)).toBe(0);
    expect(windowIndex(W)).toBe(1);
  });
});

describe('memory limiter', () => {
  const logger = createLogger('error');
  afterEach(() => vi.useRealTimers());

  it('admits `limit` requests per identity, then refuses with a Retry-After', async () => {
    vi.useFakeTimers({ now: 0, toFake: ['Date'] });
    const limiter = createRateLimiter({ limit: 3, backend: 'memory', redis: null, logger });
    const results = [];
    for (let i = 0; i < 4; i++) results.push(await limiter.check('ip:1'));
    expect(results.map((r) => r?.allowed)).toEqual([true, true, true, false]);
    expect(results.map((r) => r?.remaining)).toEqual([2, 1, 0, 0]);
    // Admitted again 1 ms into the next window, rounded up to whole seconds.
    expect(results[3]?.retryAfterS).toBe(61);
    expect((await limiter.check('ip:2'))?.allowed).toBe(true);
    limiter.close();
  });

  it('rolls the window: the old count decays instead of resetting at once', async () => {
    vi.useFakeTimers({ now: 0, toFake: ['Date'] });
    const limiter = createRateLimiter({ limit: 2, backend: 'memory', redis: null, logger });
    await limiter.check('a');
    await limiter.check('a');
    vi.setSystemTime(W + 1_000); // previous 2 weighted 1.97 < 2: one fits, a second does not
    expect((await limiter.check('a'))?.allowed).toBe(true);
    expect((await limiter.check('a'))?.allowed).toBe(false);
    vi.setSystemTime(W + 31_000); // 2 · 29/60 + 1 = 1.97 < 2: one more fits
    expect((await limiter.check('a'))?.allowed).toBe(true);
    expect((await limiter.check('a'))?.allowed).toBe(false);
    vi.setSystemTime(3 * W); // two windows later: everything forgotten
    expect((await limiter.check('a'))?.remaining).toBe(1);
    limiter.close();
  });

  it('is disabled at 0 RPM', async () => {
    const limiter = createRateLimiter({ limit: 0, backend: 'memory', redis: null, logger });
    expect(await limiter.check('x')).toBeNull();
  });
});
