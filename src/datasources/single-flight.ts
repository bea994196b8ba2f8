/**
 * Collapses concurrent cache misses of one key into one upstream call. Without it, a wallet whose
 * cached tier has expired (or was never cached) costs one Finn call per request that arrives before
 * the first answer: a client opening 20 chat subscriptions at once made 20 staking calls. The result,
 * or the failure, is shared only by calls made while the load runs; the next miss loads again. The
 * first caller's request facts (request id, IP) are the ones Finn sees. Per process: instances
 * sharing Redis may still each make one call.
 */
export interface SingleFlight<T> {
  /**
   * Runs `load` for `key` unless a load of the same key is in flight, whose result is then shared.
   * `current()` turns false once the key is forgotten: a load that outlived an invalidation must
   * not write what it read into the cache.
   */
  run(key: string, load: (current: () => boolean) => Promise<T>): Promise<T>;
  /** The key's data changed: later calls start a new load instead of joining the one in flight. */
  forget(key: string): void;
}

export function createSingleFlight<T>(): SingleFlight<T> {
  /** The entry's identity tells a load whether it is still the key's current one. */
  const inFlight = new Map<string, { promise?: Promise<T> }>();
  return {
    run(key, load) {
      const pending = inFlight.get(key)?.promise;
      if (pending) return pending;
      const flight: { promise?: Promise<T> } = {};
      inFlight.set(key, flight);
      const promise = (async () => load(() => inFlight.get(key) === flight))().finally(() => {
        if (inFlight.get(key) === flight) inFlight.delete(key);
      });
      flight.promise = promise;
      return promise;
    },
    forget: (key) => void inFlight.delete(key),
  };
}
