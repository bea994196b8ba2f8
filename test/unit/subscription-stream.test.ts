import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { ExecutionResult } from 'graphql';
import { createBoundedQueue } from '../../src/datasources/finn/stream-queue.js';
import { subscriptionStream, type SubscriptionStreamOptions } from '../../src/subscription-stream.js';

function source<T>(items: T[], failAt?: number): AsyncIterableIterator<T> & { returned: number } {
  let i = 0;
  const it = {
    returned: 0,
    next: (): Promise<IteratorResult<T>> => {
      if (i === failAt) return Promise.reject(new Error('source broke'));
      return Promise.resolve(i < items.length ? { value: items[i++]!, done: false as const } : { value: undefined, done: true as const });
    },
    return: () => {
      it.returned += 1;
      return Promise.resolve({ value: undefined, done: true as const });
    },
    [Symbol.asyncIterator]() {
      return it;
    },
  };
  return it;
}

async function drain(it: AsyncIterable<ExecutionResult>): Promise<unknown[]> {
  const out: unknown[] = [];
  for await (const r of it) out.push(r.errors ? { errors: r.errors.map((e) => e.message) } : r.data);
  return out;
}

function options(over: Partial<SubscriptionStreamOptions<number>> = {}): SubscriptionStreamOptions<number> & { ended: () => number } {
  let ended = 0;
  return {
    execute: (n) => ({ data: { n } }),
    mapErrors: (r) => ({ ...r, errors: r.errors!.map(() => ({ message: 'masked' }) as never) }),
    failed: (err) => ({ errors: [{ message: `failed: ${(err as Error).message}` } as never] }),
    onEnd: () => (ended += 1),
    ended: () => ended,
    ...over,
  };
}

describe('subscriptionStream', () => {
  it('executes every event in order, synchronous and asynchronous results alike, then ends once', async () => {
    const opts = options({ execute: (n) => (n === 2 ? Promise.resolve({ data: { n } }) : { data: { n } }) });
    const s = subscriptionStream(source([1, 2, 3]), opts);
    expect(await drain(s)).toEqual([{ n: 1 }, { n: 2 }, { n: 3 }]);
    expect(await s.next()).toEqual({ value: undefined, done: true });
    expect(opts.ended()).toBe(1);
  });

  it('masks the errors of a result and leaves error-free results as they are', async () => {
    const ok = { data: { n: 1 } };
    const s = subscriptionStream(source([1, 2]), options({ execute: (n) => (n === 1 ? ok : { data: null, errors: [{ message: 'secret' } as never] }) }));
    expect((await s.next()).value).toBe(ok);
    expect((await s.next()).value).toEqual({ data: null, errors: [{ message: 'masked' }] });
  });

  it('return() releases the source and reports the end once, also when called twice', async () => {
    const src = source([1, 2, 3]);
    const opts = options();
    const s = subscriptionStream(src, opts);
    expect((await s.next()).value).toEqual({ data: { n: 1 } });
    expect(await s.return!()).toEqual({ value: undefined, done: true });
    await s.return!();
    expect(src.returned).toBe(1);
    expect(opts.ended()).toBe(1);
    expect(await s.next()).toEqual({ value: undefined, done: true });
  });

  it('a failing source or execute ends the stream with one failed result, never a rejection', async () => {
    const broken = source([1, 2], 1);
    const a = options();
    expect(await drain(subscriptionStream(broken, a))).toEqual([{ n: 1 }, { errors: ['failed: source broke'] }]);
    expect(broken.returned).toBe(1);
    expect(a.ended()).toBe(1);
    const b = options({
      execute: (n) => {
        if (n === 2) throw new Error('boom');
        return { data: { n } };
      },
    });
    expect(await drain(subscriptionStream(source([1, 2, 3]), b))).toEqual([{ n: 1 }, { errors: ['failed: boom'] }]);
    const c = options({ execute: () => Promise.reject(new Error('async boom')) });
    expect(await drain(subscriptionStream(source([1]), c))).toEqual([{ errors: ['failed: async boom'] }]);
  });

  describe('with a token deadline', () => {
    beforeEach(() => vi.useFakeTimers());
    afterEach(() => vi.useRealTimers());

    it('at the deadline a waiting consumer gets the expiry result once, then the source is released', async () => {
      const queue = createBoundedQueue<number>({ capacity: 8, overflow: () => -1 });
      let returned = 0;
      const src: AsyncIterable<number> = {
        [Symbol.asyncIterator]: () => ({
          next: () => queue.next(),
          return: () => {
            returned += 1;
            return queue.return!();
          },
        }),
      };
      const opts = options({ expiresAt: Date.now() + 1_000, expired: () => ({ errors: [{ message: 'expired' } as never] }) });
      const s = subscriptionStream(src, opts);
      queue.push(1);
      expect((await s.next()).value).toEqual({ data: { n: 1 } });
      const waiting = s.next();
      await vi.advanceTimersByTimeAsync(1_000);
      expect((await waiting).value).toEqual({ errors: [{ message: 'expired' }] });
      expect(await s.next()).toEqual({ value: undefined, done: true });
      expect(returned).toBe(1);
      expect(opts.ended()).toBe(1);
      expect(vi.getTimerCount()).toBe(0);
    });

    it('ends a BoundedQueue source through return() at the deadline, in order, releasing it once', async () => {
      const abandoned: string[] = [];
      const queue = createBoundedQueue<number>({ capacity: 8, overflow: () => -1, onAbandon: (r) => abandoned.push(r) });
      const opts = options({ expiresAt: Date.now() + 1_000, expired: () => ({ errors: [{ message: 'expired' } as never] }) });
      const s = subscriptionStream(queue, opts);
      queue.push(1);
      queue.push(2);
      expect((await s.next()).value).toEqual({ data: { n: 1 } });
      expect((await s.next()).value).toEqual({ data: { n: 2 } });
      const waiting = s.next();
      await vi.advanceTimersByTimeAsync(1_000);
      expect((await waiting).value).toEqual({ errors: [{ message: 'expired' }] });
      expect(await s.next()).toEqual({ value: undefined, done: true });
      expect(abandoned).toEqual(['return']);
      expect(queue.push(3)).toBe(false);
      expect(opts.ended()).toBe(1);
      expect(vi.getTimerCount()).toBe(0);
    });

    it('a BoundedQueue source that finishes before the deadline ends normally and clears the timer', async () => {
      const queue = createBoundedQueue<number>({ capacity: 8, overflow: () => -1 });
      const opts = options({ expiresAt: Date.now() + 60_000, expired: () => ({ errors: [{ message: 'expired' } as never] }) });
      const s = subscriptionStream(queue, opts);
      queue.push(1);
      queue.end(2);
      expect(await drain(s)).toEqual([{ n: 1 }, { n: 2 }]);
      expect(opts.ended()).toBe(1);
      expect(vi.getTimerCount()).toBe(0);
    });

    it('a deadline reached while the consumer is busy is emitted on its next call', async () => {
      const opts = options({ expiresAt: Date.now() + 10, expired: () => ({ errors: [{ message: 'expired' } as never] }) });
      const s = subscriptionStream(source([1, 2, 3]), opts);
      expect((await s.next()).value).toEqual({ data: { n: 1 } });
      await vi.advanceTimersByTimeAsync(10);
      expect(await drain(s)).toEqual([{ errors: ['expired'] }]);
      expect(opts.ended()).toBe(1);
    });

    it('a deadline beyond the longest timer waits instead of firing at once', async () => {
      const max = 2_147_483_647;
      const queue = createBoundedQueue<number>({ capacity: 8, overflow: () => -1 });
      const opts = options({ expiresAt: Date.now() + max + 5_000, expired: () => ({ errors: [{ message: 'expired' } as never] }) });
      const s = subscriptionStream(queue, opts);
      let settled = false;
      const waiting = s.next().then((r) => ((settled = true), r));
      await vi.advanceTimersByTimeAsync(max);
      expect(settled).toBe(false);
      await vi.advanceTimersByTimeAsync(5_000);
      expect((await waiting).value).toEqual({ errors: [{ message: 'expired' }] });
    });

    it('return() while a next() waits on a deadline-armed stream settles it and clears the timer', async () => {
      const never: AsyncIterable<number> = { [Symbol.asyncIterator]: () => ({ next: () => new Promise<IteratorResult<number>>(() => undefined) }) };
      const opts = options({ expiresAt: Date.now() + 60_000, expired: () => ({ errors: [{ message: 'expired' } as never] }) });
      const s = subscriptionStream(never, opts);
      const waiting = s.next();
      await s.return!();
      expect(await waiting).toEqual({ value: undefined, done: true });
      expect(vi.getTimerCount()).toBe(0);
      expect(opts.ended()).toBe(1);
    });
  });
});
