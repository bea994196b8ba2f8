import { describe, expect, it } from 'vitest';
import { mapEvents } from '../../src/graphql-jit.js';

function source<T>(items: T[]): AsyncIterableIterator<T> & { returned: number } {
  let i = 0;
  const it = {
    returned: 0,
    next: () => Promise.resolve(i < items.length ? { value: items[i++]!, done: false as const } : { value: undefined, done: true as const }),
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

describe('mapEvents', () => {
  it('maps every event in order, synchronous and asynchronous results alike, then ends', async () => {
    const mapped = mapEvents(source([1, 2, 3]), (n) => (n === 2 ? Promise.resolve({ data: { n } }) : { data: { n } }));
    const out: unknown[] = [];
    for await (const r of mapped) out.push(r.data);
    expect(out).toEqual([{ n: 1 }, { n: 2 }, { n: 3 }]);
    expect(await mapped.next()).toEqual({ value: undefined, done: true });
  });

  it('passes return() to the source (a leaving subscriber releases its stream)', async () => {
    const src = source([1, 2, 3]);
    const mapped = mapEvents(src, (n) => ({ data: { n } }));
    expect((await mapped.next()).value).toEqual({ data: { n: 1 } });
    expect(await mapped.return!()).toEqual({ value: undefined, done: true });
    expect(src.returned).toBe(1);
  });

  it('rejects when executing an event throws, instead of hanging', async () => {
    const mapped = mapEvents(source([1]), () => {
      throw new Error('boom');
    });
    await expect(mapped.next()).rejects.toThrow('boom');
  });
});
