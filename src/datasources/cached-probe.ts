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

  const refresh = () => {
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
      if (performance.now() - at < opts.ttlMs) return value;
      // Only the reader that starts a refresh waits for it; while it hangs, others get the last value.
      if (inflight) return value;
      const pending = refresh();
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([pending, new Promise<void>((r) => (timer = setTimeout(r, opts.waitMs)))]);
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
