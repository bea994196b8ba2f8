/**
 * A probe result that is refreshed at most once per `ttlMs`, by one call at a time. Readers wait
 * at most `waitMs` for a refresh and otherwise get the last value, so a hanging dependency never
 * makes its reader slow.
 */
export interface CachedProbe<T> {
  get(): Promise<T>;
  /** Forget the cached value (the next get refreshes). */
  invalidate(): void;
  /** The in-flight refresh, if any (tests and shutdown). */
  settle(): Promise<void>;
}

export function createCachedProbe<T>(opts: { run: () => Promise<T>; initial: T; ttlMs: number; waitMs: number }): CachedProbe<T> {
  let value = opts.initial;
  let at = -Infinity;
  let inflight: Promise<void> | null = null;
  let startedAt = 0;

  const refresh = () => {
    if (!inflight) startedAt = performance.now();
    inflight ??= opts
      .run()
      .then(
        (v) => {
          value = v;
        },
        () => undefined,
      )
      .finally(() => {
        at = performance.now();
        inflight = null;
      });
    return inflight;
  };

  return {
    async get() {
      const now = performance.now();
      if (now - at < opts.ttlMs) return value;
      const pending = refresh();
      // Readers wait only within the first `waitMs` of a refresh; once it hangs, they get the last value.
      const wait = opts.waitMs - (now - startedAt);
      if (wait <= 0) return value;
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([pending, new Promise<void>((r) => (timer = setTimeout(r, wait)))]);
      clearTimeout(timer);
      return value;
    },
    invalidate() {
      at = -Infinity;
    },
    async settle() {
      await inflight;
    },
  };
}
