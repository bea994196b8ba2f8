/**
 * Re-checks, before each event, a permission a subscription was granted when it opened: a long-lived
 * stream must not outlive it (an NFT transferred, a wallet removed from the allowlist). When
 * `allowed()` turns false the source is returned and the stream ends with `denied()`. `return()` goes
 * straight to the source, so a client leaving while no event is pending still frees it at once
 * (an async generator would wait for the next event).
 */
export function guardEach<T>(source: AsyncIterator<T>, allowed: () => Promise<boolean>, denied: () => Error): AsyncIterableIterator<T> {
  const guarded: AsyncIterableIterator<T> = {
    async next() {
      const step = await source.next();
      if (step.done || (await allowed())) return step;
      await source.return?.();
      throw denied();
    },
    return: (value?: unknown) => (source.return ? source.return(value) : Promise.resolve({ done: true as const, value: value as T })),
    [Symbol.asyncIterator]: () => guarded,
  };
  return guarded;
}
