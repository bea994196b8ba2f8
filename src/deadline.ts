/**
 * A point in time that several steps share, each bounded by what is left (the shutdown: one
 * deadline taken when the signal arrives, so the steps together can never overrun it).
 */
export interface Deadline {
  /** Milliseconds left, never negative. */
  remaining(): number;
  /** A deadline `ms` earlier: what a step may use while leaving `ms` to the steps after it. */
  before(ms: number): Deadline;
  /** Waits for `work` while time is left; true if it settled (fulfilled or rejected) in time. */
  within(work: Promise<unknown>): Promise<boolean>;
}

export function deadlineIn(ms: number, now: () => number = Date.now): Deadline {
  return deadlineAt(now() + ms, now);
}

function deadlineAt(at: number, now: () => number): Deadline {
  const remaining = (): number => Math.max(0, at - now());
  return {
    remaining,
    before: (ms) => deadlineAt(at - ms, now),
    async within(work) {
      let timer: NodeJS.Timeout | undefined;
      const settled = work.then(
        () => true,
        () => true,
      );
      const timedOut = new Promise<boolean>((resolve) => (timer = setTimeout(resolve, remaining(), false)));
      try {
        return await Promise.race([settled, timedOut]);
      } finally {
        clearTimeout(timer);
      }
    },
  };
}
