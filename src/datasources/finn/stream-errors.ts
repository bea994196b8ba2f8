import { chatError, type ChatErrorCode, type ChatErrorEvent } from '../../domain/chat-events.js';
import { FinnAnswerError, toClientError } from './errors.js';
import type { StreamEnd } from './stream-socket.js';

const RATE_LIMIT_RETRY_S = 60;
const CODES: readonly ChatErrorCode[] = ['UPSTREAM_ERROR', 'UPSTREAM_UNAVAILABLE', 'RATE_LIMITED', 'USAGE_LIMIT', 'NOT_FOUND'];

/** A connect failure (breaker open, transport failure, 4xx upgrade answer) as the one ChatError of a turn. */
export function connectFailure(err: unknown, retryAfterS: number): ChatErrorEvent {
  if (err instanceof FinnAnswerError && err.status === 404) return chatError('NOT_FOUND', 'The chat session no longer exists', false);
  if (err instanceof FinnAnswerError && err.status === 429) {
    return chatError('RATE_LIMITED', 'Too many open chat streams', true, RATE_LIMIT_RETRY_S);
  }
  const g = toClientError(err, retryAfterS);
  const raw = g.extensions['code'];
  const code = CODES.find((c) => c === raw) ?? 'UPSTREAM_ERROR';
  const retry = g.extensions['retryAfter'];
  return chatError(code, g.message, code !== 'UPSTREAM_ERROR', typeof retry === 'number' ? retry : null);
}

/** Finn ended the socket while a turn was open (finn.md A.3/A.4 close codes). */
export function streamFailure(end: StreamEnd): ChatErrorEvent {
  if (end.kind === 'heartbeat') return chatError('UPSTREAM_UNAVAILABLE', 'The agent runtime stopped responding', true, 1);
  if (end.code === 4029) return chatError('RATE_LIMITED', 'Too many open chat streams from this address', true, RATE_LIMIT_RETRY_S);
  if (end.code === 4004) return chatError('NOT_FOUND', 'The chat session no longer exists', false);
  if (end.code === 1009) return chatError('UPSTREAM_ERROR', 'The chat message was too large', false);
  return chatError('UPSTREAM_UNAVAILABLE', 'The chat stream ended unexpectedly', true, 1);
}

export const shuttingDown = (): ChatErrorEvent => chatError('UPSTREAM_UNAVAILABLE', 'The server is shutting down', true, 1);
export const slowConsumer = (): ChatErrorEvent => chatError('SLOW_CONSUMER', 'The client did not keep up with the stream', true);
