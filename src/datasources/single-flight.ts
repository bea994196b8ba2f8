/** Runs `load` for `key` unless a load of the same key is in flight, whose result is then shared. */
export type SingleFlight<T> = (key: string, load: () => Promise<T>) => Promise<T>;

/**
 * Collapses concurrent cache misses of one key into one upstream call. Without it, a wallet whose
 * cached tier has expired (or was never cached) costs one Finn call per request that arrives before
 * the first answer: a client opening 20 chat subscriptions at once made 20 staking calls. The result,
 * or the failure, is shared only by calls made while the load runs; the next miss loads again.
 * Per process: instances sharing Redis may still each make one call.
 */
export function createSingleFlight<T>(): SingleFlight<T> {
  const inFlight = new Map<string, Promise<T>>();
  return (key, load) => {
    const pending = inFlight.get(key);
    if (pending) return pending;
    const started = (async () => load())().finally(() => inFlight.delete(key));
    inFlight.set(key, started);
    return started;
  };
}
