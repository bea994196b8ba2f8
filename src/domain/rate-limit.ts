/**
 * Sliding-window counter: the previous fixed window's count, weighted by how much of it still
 * overlaps the rolling minute, plus the current window's count. Shared by the memory backend and
 * the Redis script (which returns the two counts).
 */
export interface WindowCounts {
  previous: number;
  current: number;
}

export interface RateVerdict {
  allowed: boolean;
  limit: number;
  /** Requests left in the rolling window after this one. */
  remaining: number;
  /** Whole seconds until a request would be admitted (0 when allowed). */
  retryAfterS: number;
}

export const WINDOW_MS = 60_000;

export function windowIndex(now: number, windowMs = WINDOW_MS): number {
  return Math.floor(now / windowMs);
}

/** Weighted count of the rolling window at `elapsedMs` into the current fixed window. */
export function estimate(counts: WindowCounts, elapsedMs: number, windowMs = WINDOW_MS): number {
  return (counts.previous * (windowMs - elapsedMs)) / windowMs + counts.current;
}

export function admits(counts: WindowCounts, elapsedMs: number, limit: number, windowMs = WINDOW_MS): boolean {
  return estimate(counts, elapsedMs, windowMs) < limit;
}

/**
 * The verdict for one request given the counts *before* it. When admitted the caller increments
 * `current`; a refused request is not counted.
 */
export function verdict(counts: WindowCounts, elapsedMs: number, limit: number, windowMs = WINDOW_MS): RateVerdict {
  const est = estimate(counts, elapsedMs, windowMs);
  if (est < limit) {
    return { allowed: true, limit, remaining: Math.max(0, Math.floor(limit - est - 1)), retryAfterS: 0 };
  }
  return { allowed: false, limit, remaining: 0, retryAfterS: Math.max(1, Math.ceil(msUntilAdmitted(counts, elapsedMs, limit, windowMs) / 1000)) };
}

/** Milliseconds until the weighted count drops below the limit, assuming no further admissions. */
export function msUntilAdmitted(counts: WindowCounts, elapsedMs: number, limit: number, windowMs = WINDOW_MS): number {
  const toEnd = windowMs - elapsedMs;
  if (counts.current < limit && counts.previous > 0) {
    // Still inside this window: wait until the previous window's weight has decayed enough.
    const t = toEnd - ((limit - counts.current) * windowMs) / counts.previous;
    if (t < toEnd) return Math.max(0, t) + 1;
  }
  // In the next window this window's count becomes the decaying "previous".
  return toEnd + Math.max(0, windowMs * (1 - limit / Math.max(counts.current, 1))) + 1;
}
