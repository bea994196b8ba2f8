import type { ExecutionResult } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { Context } from './context.js';
import { dixieError } from './errors.js';

const EXPIRED = Symbol('expired');

/**
 * Passes `source` through until `atMs`, then emits `last` once and completes. The timer is
 * cleared whichever way the subscription ends (client complete, socket close, source done).
 */
export function completeAt<T>(source: AsyncIterable<T>, atMs: number, last: T): AsyncIterableIterator<T> {
  const it = source[Symbol.asyncIterator]();
  let timer: NodeJS.Timeout | undefined;
  let state: 'open' | 'expired' | 'done' = 'open';
  const expired = new Promise<typeof EXPIRED>((resolve) => {
    timer = setTimeout(() => resolve(EXPIRED), Math.max(0, atMs - Date.now()));
  });
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
      const r = await Promise.race([it.next(), expired]);
      if (r === EXPIRED) {
        state = 'expired';
        return { done: false, value: last };
      }
      if (r.done) {
        state = 'done';
        clearTimeout(timer);
      }
      return r;
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

/** A wallet's subscription ends with UNAUTHENTICATED when its JWT expires (WebSocket and SSE). */
export function useWalletTokenExpiry(): Plugin<Context> {
  return {
    onSubscribe({ args }) {
      const viewer = (args.contextValue as Context).viewer;
      if (viewer.kind !== 'wallet') return undefined;
      return {
        onSubscribeResult({ result, setResult }) {
          if (!(Symbol.asyncIterator in result)) return;
          const last: ExecutionResult = { errors: [dixieError('UNAUTHENTICATED', 'The session token expired')] };
          setResult(completeAt(result as AsyncIterable<ExecutionResult>, viewer.tokenExpiresAt, last));
        },
      };
    },
  };
}
