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
  it('starts a new load after forget(), and tells the forgotten one it is no longer current', async () => {
    const flights = createSingleFlight<string>();
    const gate = deferred<string>();
    let stale: (() => boolean) | undefined;
    const old = flights.run('w', (current) => {
      stale = current;
      return gate.promise;
    });
    expect(stale!()).toBe(true);
    flights.forget('w');
    expect(stale!()).toBe(false);
    const fresh = flights.run('w', async (current) => (current() ? 'fresh' : 'not current'));
    gate.resolve('old');
    expect(await Promise.all([old, fresh])).toEqual(['old', 'fresh']);
    // The stale load settling does not drop the newer one's entry.
    const late = deferred<string>();
    const third = flights.run('w', () => late.promise);
    expect(flights.run('w', async () => 'joined?')).toBe(third);
    late.resolve('third');
    expect(await third).toBe('third');
  });

  it('shares one load among concurrent calls of a key, and loads again once it settled', async () => {
    const once = createSingleFlight<string>();
    const gate = deferred<string>();
    let loads = 0;
    const load = () => {
      loads += 1;
      return gate.promise;
    };
    const calls = Array.from({ length: 20 }, () => once.run('wallet-a', load));
    const other = once.run('wallet-b', async () => 'b');
    gate.resolve('a');
    expect(await Promise.all(calls)).toEqual(Array(20).fill('a'));
    expect(await other).toBe('b');
    expect(loads).toBe(1);
    expect(await once.run('wallet-a', async () => 'a again')).toBe('a again');
  });

  it('shares a failure only with the calls made while it ran, thrown or rejected', async () => {
    const once = createSingleFlight<string>();
    const gate = deferred<string>();
    const first = once.run('k', () => gate.promise);
    const second = once.run('k', async () => 'not called');
    gate.reject(new Error('Finn down'));
    await expect(first).rejects.toThrow('Finn down');
    await expect(second).rejects.toThrow('Finn down');
    await expect(once.run('k', () => { throw new Error('sync'); })).rejects.toThrow('sync');
    expect(await once.run('k', async () => 'recovered')).toBe('recovered');
  });
});
