import { GraphQLError } from 'graphql';
import type { FinnBreaker } from './breaker.js';
import { toClientError } from './errors.js';

/**
 * Runs a Finn call and translates its failure at the datasource boundary (STYLE 7): coded client
 * errors (e.g. an invalid id) pass through, everything else goes through `toClientError`.
 */
export async function viaFinn<T>(breaker: FinnBreaker, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    if (err instanceof GraphQLError) throw err;
    throw toClientError(err, Math.ceil(breaker.retryAfterMs() / 1000));
  }
}
