import { describe, expect, it } from 'vitest';
import { createSingleFlight } from '../../src/datasources/single-flight.js';

function deferred<T>() {
  let resolve!: (v: T) => void;
  let reject!: (err: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

describe('single flight', () => {
  it('shares one load among concurrent calls of a key, and loads again once it settled', async () => {
    const once = createSingleFlight<string>();
    const gate = deferred<string>();
    let loads = 0;
    const load = () => {
      loads += 1;
      return gate.promise;
    };
    const calls = Array.from({ length: 20 }, () => once('wallet-a', load));
    const other = once('wallet-b', async () => 'b');
    gate.resolve('a');
    expect(await Promise.all(calls)).toEqual(Array(20).fill('a'));
    expect(await other).toBe('b');
    expect(loads).toBe(1);
    expect(await once('wallet-a', async () => 'a again')).toBe('a again');
  });

  it('shares a failure only with the calls made while it ran, thrown or rejected', async () => {
    const once = createSingleFlight<string>();
    const gate = deferred<string>();
    const first = once('k', () => gate.promise);
    const second = once('k', async () => 'not called');
    gate.reject(new Error('Finn down'));
    await expect(first).rejects.toThrow('Finn down');
    await expect(second).rejects.toThrow('Finn down');
    await expect(once('k', () => { throw new Error('sync'); })).rejects.toThrow('sync');
    expect(await once('k', async () => 'recovered')).toBe('recovered');
  });
});
