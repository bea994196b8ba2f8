import { BrokenCircuitError } from 'cockatiel';
import { describe, expect, it } from 'vitest';
import { DixieError } from '../../src/errors.js';
import { FinnAnswerError, FinnContractError, FinnTransportError, toClientError } from '../../src/datasources/finn/errors.js';

/** finn.md §General: how a Finn failure reaches the client (code, HTTP status, retryAfter). */
function mapped(err: unknown, retryAfterS = 12): { code: unknown; status: number; retryAfter: unknown; message: string } {
  const e = toClientError(err, retryAfterS) as DixieError;
  return { code: e.extensions['code'], status: e.httpStatus, retryAfter: e.extensions['retryAfter'], message: e.message };
}

describe('toClientError (Finn failures → coded client errors)', () => {
  it.each([
    ['circuit open', new BrokenCircuitError(), 'UPSTREAM_UNAVAILABLE', 503, 12],
    ['network error or timeout', new FinnTransportError('connect ECONNREFUSED', null), 'UPSTREAM_UNAVAILABLE', 503, 12],
    ['a 5xx answer', new FinnTransportError('Finn answered 500', 500), 'UPSTREAM_ERROR', 502, undefined],
    ['BUDGET_EXCEEDED', new FinnAnswerError(402, 'BUDGET_EXCEEDED'), 'USAGE_LIMIT', 402, undefined],
    ['RATE_LIMITED', new FinnAnswerError(429, 'RATE_LIMITED'), 'RATE_LIMITED', 429, 60],
    ['ORACLE_MODEL_UNAVAILABLE', new FinnTransportError('Finn answered 503', 503, 'ORACLE_MODEL_UNAVAILABLE'), 'UPSTREAM_UNAVAILABLE', 503, 60],
    ['PROVIDER_UNAVAILABLE', new FinnTransportError('Finn answered 502', 502, 'PROVIDER_UNAVAILABLE'), 'UPSTREAM_UNAVAILABLE', 502, 60],
    ['an unexpected 4xx', new FinnAnswerError(409, 'CONFLICT'), 'UPSTREAM_ERROR', 502, undefined],
    ['a body off the contract', new FinnContractError('/api/sessions'), 'UPSTREAM_ERROR', 502, undefined],
  ])('%s → %s (HTTP %i)', (_case, err, code, status, retryAfter) => {
    expect(mapped(err)).toMatchObject({ code, status, retryAfter });
  });

  it('never asks for a retry sooner than 1 s when the circuit is about to close', () => {
    expect(mapped(new BrokenCircuitError(), 0).retryAfter).toBe(1);
  });

  it("never forwards Finn's own error text", () => {
    const { message } = mapped(new FinnTransportError('Finn answered 500: stack trace at /srv/finn/secret.ts', 500));
    expect(message).not.toMatch(/secret|stack/);
  });
});
