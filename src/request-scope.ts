import { AsyncLocalStorage } from 'node:async_hooks';

export interface RequestScope {
  requestId: string;
  /** The caller's `traceparent` header: passed on to Finn when Dixie does not trace itself. */
  traceparent?: string;
}

/** A header's single value (repeated headers are not a traceparent Dixie passes on). */
export function singleHeader(value: string | string[] | undefined): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

/** The request a piece of code runs for, so every log line of that request carries its id. */
export const requestScope = new AsyncLocalStorage<RequestScope>();

export function currentRequestId(): string | undefined {
  return requestScope.getStore()?.requestId;
}
