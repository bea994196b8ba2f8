import type { ExecutionResult } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { Context } from './context.js';
import { dixieError } from './errors.js';

/**
 * Passes `source` through until `atMs`, then emits `last()` once and completes. The timer is
 * cleared whichever way the subscription ends (client complete, socket close, source done).
 * Memory: one timer per subscription and nothing per event (no long-lived promise that every
 * `next()` would add a reaction to); `last` is built only if the deadline is reached.
 */
export function completeAt<T>(source: AsyncIterable<T>, atMs: number, last: () => T): AsyncIterableIterator<T> {
  const it = source[Symbol.asyncIterator]();
  let state: 'open' | 'expired' | 'done' = 'open';
  let fired = false;
  /** The pending `next()` of the consumer, settled by the source or by the deadline, whichever is first. */
  let wake: ((r: IteratorResult<T>) => void) | null = null;
  const timer = setTimeout(() => {
    fired = true;
    const w = wake;
    if (!w || state !== 'open') return;
    wake = null;
    state = 'expired';
    w({ done: false, value: last() });
  }, Math.max(0, atMs - Date.now()));
  const finish = async () => {
    clearTimeout(timer);
    if (state === 'done') return;
    state = 'done';
    await it.return?.();
  };
  return {
    async next(): Promise<IteratorResult<T>> {
      if (state === 'expired') {
        await finish();
        return { done: true, value: undefined };
      }
      if (state === 'done') return { done: true, value: undefined };
      if (fired) {
        state = 'expired';
        return { done: false, value: last() };
      }
      return new Promise<IteratorResult<T>>((resolve, reject) => {
        wake = resolve;
        it.next().then(
          (r) => {
            if (wake !== resolve) return;
            wake = null;
            if (r.done) {
              state = 'done';
              clearTimeout(timer);
            }
            resolve(r);
          },
          (err: unknown) => {
            if (wake !== resolve) return;
            wake = null;
            reject(err);
          },
        );
      });
    },
    async return(): Promise<IteratorResult<T>> {
      await finish();
      return { done: true, value: undefined };
    },
    async throw(err: unknown): Promise<IteratorResult<T>> {
      await finish();
      throw err;
    },
    [Symbol.asyncIterator]() {
      return this;
    },
  };
}

// Built when a token expires, not per subscription: a GraphQLError captures a stack trace (~1.5 KB retained).
const tokenExpired = (): ExecutionResult => ({ errors: [dixieError('UNAUTHENTICATED', 'The session token expired')] });

/** A wallet's subscription ends with UNAUTHENTICATED when its JWT expires (WebSocket and SSE). */
export function useWalletTokenExpiry(): Plugin<Context> {
  return {
    onSubscribe({ args }) {
      const viewer = (args.contextValue as Context).viewer;
      if (viewer.kind !== 'wallet') return undefined;
      return {
        onSubscribeResult({ result, setResult }) {
          if (!(Symbol.asyncIterator in result)) return;
          setResult(completeAt(result as AsyncIterable<ExecutionResult>, viewer.tokenExpiresAt, tokenExpired));
        },
      };
    },
  };
}
