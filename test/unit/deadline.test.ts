import { afterEach, describe, expect, it, vi } from 'vitest';
import { deadlineIn } from '../../src/deadline.js';

describe('deadline', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('counts down from when it was taken and never below zero', () => {
    let now = 1_000;
    const d = deadlineIn(500, () => now);
    expect(d.remaining()).toBe(500);
    now += 200;
    expect(d.remaining()).toBe(300);
    now += 1_000;
    expect(d.remaining()).toBe(0);
  });

  it('before() keeps time back for later steps and shares the same clock', () => {
    let now = 0;
    const d = deadlineIn(1_000, () => now);
    const early = d.before(300);
    expect([early.remaining(), d.remaining()]).toEqual([700, 1_000]);
    now = 800;
    expect([early.remaining(), d.remaining()]).toEqual([0, 200]);
    expect(deadlineIn(100, () => 0).before(500).remaining()).toBe(0);
  });

  it('within() reports work that settles in time, a rejection included', async () => {
    const d = deadlineIn(1_000);
    expect(await d.within(Promise.resolve('done'))).toBe(true);
    expect(await d.within(Promise.reject(new Error('failed')))).toBe(true);
  });

  it('within() stops waiting when the time is up, and at once when none is left', async () => {
    vi.useFakeTimers();
    const never = new Promise(() => undefined);
    const d = deadlineIn(1_000);
    let result: boolean | undefined;
    void d.within(never).then((r) => (result = r));
    await vi.advanceTimersByTimeAsync(999);
    expect(result).toBeUndefined();
    await vi.advanceTimersByTimeAsync(1);
    expect(result).toBe(false);
    const late = d.within(never);
    await vi.advanceTimersByTimeAsync(0);
    expect(await late).toBe(false);
  });
});
