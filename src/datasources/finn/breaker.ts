import {
  BrokenCircuitError,
  CircuitState,
  ConsecutiveBreaker,
  circuitBreaker,
  handleWhen,
} from 'cockatiel';
import { LogEvent } from '../../log-events.js';
import type { Logger } from '../../logger.js';
import { FinnTransportError } from './errors.js';

export type CircuitStateName = 'CLOSED' | 'OPEN' | 'HALF_OPEN';

export interface FinnBreaker {
  /** Runs `fn` through the circuit: BrokenCircuitError instead while OPEN, and while the HALF_OPEN trial runs. */
  execute<T>(fn: (ctx: { signal: AbortSignal }) => Promise<T>, signal?: AbortSignal): Promise<T>;
  state(): CircuitStateName;
  /** Milliseconds until an OPEN circuit lets a trial call through (0 when not open). */
  retryAfterMs(): number;
  onChange(listener: (to: CircuitStateName, from: CircuitStateName) => void): () => void;
}

const NAMES: Record<CircuitState, CircuitStateName> = {
  [CircuitState.Closed]: 'CLOSED',
  [CircuitState.Open]: 'OPEN',
  [CircuitState.HalfOpen]: 'HALF_OPEN',
  [CircuitState.Isolated]: 'OPEN',
};

/** The half-open trial ended before Finn answered (e.g. its chat subscriber left): no proof Finn is back. */
class TrialUnanswered extends Error {
  constructor(readonly original: unknown) {
    super('the circuit trial ended without an answer from Finn');
  }
}

/**
 * The one process-wide breaker in front of Finn. Only transport failures (network, timeout, 5xx)
 * count; a 4xx is an answer, so a missing ecosystem endpoint (404) can never open it.
 */
export function createFinnBreaker(opts: { failures: number; recoveryMs: number; logger: Logger }): FinnBreaker {
  const policy = circuitBreaker(
    handleWhen((err) => err instanceof FinnTransportError || err instanceof TrialUnanswered),
    { halfOpenAfter: opts.recoveryMs, breaker: new ConsecutiveBreaker(opts.failures) },
  );
  let current: CircuitStateName = 'CLOSED';
  let consecutiveFailures = 0;
  let openedAt = 0;
  const listeners = new Set<(to: CircuitStateName, from: CircuitStateName) => void>();

  policy.onFailure(({ reason }) => {
    if ('error' in reason && reason.error instanceof FinnTransportError) consecutiveFailures++;
  });
  policy.onSuccess(() => {
    consecutiveFailures = 0;
  });
  policy.onStateChange((state) => {
    const to = NAMES[state];
    const from = current;
    if (to === from) return;
    current = to;
    if (to === 'OPEN') openedAt = Date.now();
    opts.logger.warn(
      { event: LogEvent.circuitBreakerTransition, from, to, consecutive_failures: consecutiveFailures, service: 'loa-finn' },
      LogEvent.circuitBreakerTransition,
    );
    for (const l of listeners) l(to, from);
  });

  return {
    execute(fn, signal) {
      // cockatiel queues every call made during the half-open trial behind it (up to the 120 s
      // message timeout against a hung Finn): fail them fast, as while OPEN.
      if (policy.state === CircuitState.HalfOpen) return Promise.reject(new BrokenCircuitError());
      if (policy.state !== CircuitState.Open) return policy.execute(fn, signal);
      // This call is the trial (or is refused). cockatiel closes the circuit on any error its filter
      // does not count, but only an answer shows Finn is back: a cancelled trial reopens it instead.
      const trial = (ctx: { signal: AbortSignal }) =>
        fn(ctx).catch((err: unknown) => Promise.reject(err instanceof FinnTransportError ? err : new TrialUnanswered(err)));
      return policy.execute(trial, signal).catch((err: unknown) => Promise.reject(err instanceof TrialUnanswered ? err.original : err));
    },
    state: () => current,
    retryAfterMs: () => (current === 'OPEN' ? Math.max(0, openedAt + opts.recoveryMs - Date.now()) : 0),
    onChange(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}
