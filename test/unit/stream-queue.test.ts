import { describe, expect, it } from 'vitest';
import { createBoundedQueue } from '../../src/datasources/finn/stream-queue.js';

async function drain<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const v of it) out.push(v);
  return out;
}

describe('createBoundedQueue', () => {
  it('delivers in order, to a waiting consumer too, and ends after the buffered items', async () => {
    const q = createBoundedQueue<number>({ capacity: 4, overflow: () => -1 });
    const first = q.next();
    q.push(1);
    expect(await first).toEqual({ value: 1, done: false });
    q.push(2);
    q.push(3);
    q.end(4);
    expect(q.push(5)).toBe(false);
    expect(await drain(q)).toEqual([2, 3, 4]);
    expect(await q.next()).toEqual({ value: undefined, done: true });
  });

  it('on overflow refuses the item, appends the overflow item, ends, and reports once', async () => {
    const reasons: string[] = [];
    const q = createBoundedQueue<number>({ capacity: 3, overflow: () => -1, onAbandon: (r) => reasons.push(r) });
    expect([q.push(1), q.push(2), q.push(3)]).toEqual([true, true, true]);
    expect(q.push(4)).toBe(false);
    expect(q.push(5)).toBe(false);
    expect(q.ended).toBe(true);
    expect(q.size()).toBe(4);
    expect(await drain(q)).toEqual([1, 2, 3, -1]);
    expect(reasons).toEqual(['overflow']);
  });

  it('return() resolves a pending next(), drops the buffer and reports the consumer left', async () => {
    const reasons: string[] = [];
    const q = createBoundedQueue<number>({ capacity: 3, overflow: () => -1, onAbandon: (r) => reasons.push(r) });
    const pending = q.next();
    await q.return!();
    expect(await pending).toEqual({ value: undefined, done: true });
    expect(q.push(1)).toBe(false);
    expect(reasons).toEqual(['return']);
  });

  it('return() after the producer ended is not an abandonment', async () => {
    const reasons: string[] = [];
    const q = createBoundedQueue<number>({ capacity: 3, overflow: () => -1, onAbandon: (r) => reasons.push(r) });
    q.push(1);
    q.end(2);
    await q.return!();
    expect(q.size()).toBe(0);
    expect(reasons).toEqual([]);
  });

  it('never holds more than capacity + 1 items whatever the producer does', () => {
    const q = createBoundedQueue<number>({ capacity: 256, overflow: () => -1 });
    for (let i = 0; i < 10_000; i++) q.push(i);
    expect(q.size()).toBe(257);
  });
});
