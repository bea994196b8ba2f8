import { BrokenCircuitError } from 'cockatiel';
import type { GraphQLError } from 'graphql';
import { dixieError } from '../../errors.js';

/** A failure that counts against the circuit: network error, timeout or 5xx. */
export class FinnTransportError extends Error {
  constructor(
    message: string,
    readonly status: number | null,
    readonly finnCode: string | null = null,
  ) {
    super(message);
    this.name = 'FinnTransportError';
  }
}

/** Finn answered with a 4xx: an answer, not a failure of the upstream. */
export class FinnAnswerError extends Error {
  constructor(
    readonly status: number,
    readonly finnCode: string | null,
  ) {
    super(`Finn answered ${status}${finnCode ? ` ${finnCode}` : ''}`);
    this.name = 'FinnAnswerError';
  }
}

/** Finn's body did not match the contract. */
export class FinnContractError extends Error {
  constructor(readonly path: string) {
    super(`Finn returned an unexpected body for ${path}`);
    this.name = 'FinnContractError';
  }
}

const RETRY_RATE_LIMIT_S = 60;

/**
 * Translate any Finn failure into a coded client error. Finn's own error text is never forwarded.
 * `retryAfterS` is how long until the circuit lets a trial through.
 */
export function toClientError(err: unknown, retryAfterS: number): GraphQLError {
  if (err instanceof BrokenCircuitError) {
    return dixieError('UPSTREAM_UNAVAILABLE', 'The agent runtime is unavailable', { retryAfter: Math.max(1, retryAfterS) });
  }
  const code = err instanceof FinnTransportError || err instanceof FinnAnswerError ? err.finnCode : null;
  const status = err instanceof FinnTransportError || err instanceof FinnAnswerError ? err.status : null;
  switch (code) {
    case 'BUDGET_EXCEEDED':
      return dixieError('USAGE_LIMIT', 'Usage budget exhausted');
    case 'RATE_LIMITED':
      return dixieError('RATE_LIMITED', 'Too many requests to the agent runtime', { retryAfter: RETRY_RATE_LIMIT_S });
    case 'ORACLE_MODEL_UNAVAILABLE':
      return dixieError('UPSTREAM_UNAVAILABLE', 'The model is unavailable', { retryAfter: RETRY_RATE_LIMIT_S });
    case 'PROVIDER_UNAVAILABLE':
      return dixieError('UPSTREAM_UNAVAILABLE', 'The model provider is unavailable', {
        retryAfter: RETRY_RATE_LIMIT_S,
        httpStatus: 502,
      });
  }
  // No answer at all (network error, timeout): unavailable; an answered 5xx or 4xx is an upstream error.
  if (err instanceof FinnTransportError && status === null) {
    return dixieError('UPSTREAM_UNAVAILABLE', 'The agent runtime is unavailable', { retryAfter: Math.max(1, retryAfterS) });
  }
  return dixieError('UPSTREAM_ERROR', 'The agent runtime answered with an error', status ? { upstreamStatus: status } : {});
}
