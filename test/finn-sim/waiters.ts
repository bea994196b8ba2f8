import { sleep, type SimState } from './state.js';

/** Resolves with the next `event` payload that satisfies `predicate`; rejects on timeout or close. */
export function waitForEvent<T>(state: SimState, event: string, predicate: (value: T) => boolean, timeoutMs: number): Promise<T> {
  if (state.closed) return Promise.reject(new Error('finn-sim: closed'));
  return new Promise<T>((resolve, reject) => {
    const cleanup = (): void => {
      clearTimeout(timer);
      state.events.off(event, onEvent);
      state.events.off('closed', onClosed);
    };
    const onEvent = (value: T): void => {
      if (!predicate(value)) return;
      cleanup();
      resolve(value);
    };
    const onClosed = (): void => {
      cleanup();
      reject(new Error('finn-sim: closed'));
    };
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`finn-sim: no ${event} within ${timeoutMs} ms`));
    }, timeoutMs);
    state.events.on(event, onEvent);
    state.events.once('closed', onClosed);
  });
}

/** Polls `condition` every 5 ms; rejects with `what` after `timeoutMs`. */
export async function waitUntil(state: SimState, condition: () => boolean, what: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`finn-sim: timed out after ${timeoutMs} ms waiting for ${what}`);
    if (!(await sleep(state, 5))) throw new Error('finn-sim: closed');
  }
}
