import { randomUUID } from 'node:crypto';
import { chatError, endsTurn, mapFinnFrame, type ChatErrorEvent, type ChatEvent } from '../../domain/chat-events.js';
import { forwardedFor } from '../../domain/client-ip.js';
import type { Logger } from '../../logger.js';
import type { FinnBreaker } from './breaker.js';
import { connectFailure, streamFailure } from './stream-errors.js';
import type { BoundedQueue } from './stream-queue.js';
import { ConnectAborted, openStreamSocket, type StreamEnd, type StreamSocket } from './stream-socket.js';

export interface ChatTurnRequest {
  sessionId: string;
  text: string;
  wallet: string;
  nftId: string | null;
  requestId: string;
  clientIp: string;
}

/** One subscriber's prompt and the events of its answer. */
export interface Turn {
  req: ChatTurnRequest;
  queue: BoundedQueue<ChatEvent>;
  costCu: number | null;
}

export interface SessionStreamDeps {
  /** Includes `?token=`: never logged. */
  url: string;
  breaker: FinnBreaker;
  logger: Logger;
  connectTimeoutMs: number;
  pingIntervalMs: number;
  pongTimeoutMs: number;
  /** Adds `traceparent` to the upgrade request (finn.md: every Finn call carries it); no-op when tracing is off. */
  propagate?: (headers: Record<string, string>) => void;
  onPrompt(turn: Turn): void;
  onEvent(turn: Turn, event: ChatEvent): void;
  /** The turn whose prompt was sent ended without Finn's terminal frame (failure, or its subscriber left). */
  onTurnCut(turn: Turn): void;
  /** The stream is over (no socket, no timer, no turn): forget it. */
  onClosed(): void;
}

export interface SessionStream {
  add(turn: Turn): void;
  /** The turn's subscriber left (or overflowed): release it; closes the socket when nobody is left. */
  remove(turn: Turn): void;
  subscribers(): number;
  live(): boolean;
  /** Ends every turn with `reason` and closes. */
  fail(reason: ChatErrorEvent): void;
}

/**
 * The one Finn WebSocket of a chat session, shared by its subscribers (finn.md A.4 b). Turns run
 * one at a time in arrival order: each subscriber gets only the events of its own prompt.
 */
export function createSessionStream(sessionId: string, deps: SessionStreamDeps): SessionStream {
  const waiting: Turn[] = [];
  let current: Turn | null = null;
  let socket: StreamSocket | null = null;
  let connecting: AbortController | null = null;
  let closed = false;
  const retryAfterS = () => Math.max(1, Math.ceil(deps.breaker.retryAfterMs() / 1000));

  function connect(first: Turn): void {
    const ctl = new AbortController();
    connecting = ctl;
    const headers: Record<string, string> = { 'x-request-id': first.req.requestId };
    const xff = forwardedFor(first.req.clientIp);
    if (xff) headers['x-forwarded-for'] = xff;
    deps.propagate?.(headers);
    openStreamSocket({
      url: deps.url,
      headers,
      breaker: deps.breaker,
      connectTimeoutMs: deps.connectTimeoutMs,
      pingIntervalMs: deps.pingIntervalMs,
      pongTimeoutMs: deps.pongTimeoutMs,
      signal: ctl.signal,
      onFrame,
      // Not a closure over this connect: that would keep its AbortController alive with the socket.
      onEnd: onSocketEnd,
    }).then(
      (s) => {
        if (ctl.signal.aborted) return s.close();
        connecting = null;
        socket = s;
        next();
      },
      (err: unknown) => {
        if (ctl.signal.aborted || err instanceof ConnectAborted) return;
        connecting = null;
        deps.logger.warn({ event: 'chat_stream_connect_failed', session_id: sessionId, err: String(err) }, 'Finn chat stream failed to open');
        fail(connectFailure(err, retryAfterS()));
      },
    );
  }

  function onSocketEnd(end: StreamEnd): void {
    socket = null;
    deps.logger.warn({ event: 'chat_stream_failed', session_id: sessionId, ...end }, 'Finn chat stream ended mid-turn');
    fail(streamFailure(end));
  }

  function next(): void {
    if (closed || current || !socket) return;
    const turn = waiting.shift();
    if (!turn) return shutdown();
    current = turn;
    socket.send({ type: 'prompt', text: turn.req.text });
    deps.onPrompt(turn);
  }

  function onFrame(frame: unknown): void {
    const turn = current;
    if (!turn) return;
    const out = mapFinnFrame(frame, randomUUID);
    if (out.kind !== 'event') {
      if (out.kind === 'ignored') deps.logger.debug({ event: 'chat_frame_ignored', frame_type: out.frameType }, 'ignored a Finn frame');
      return;
    }
    let event = out.event;
    if (event.type === 'turn_end' && event.costCu !== null) turn.costCu = (turn.costCu ?? 0) + event.costCu;
    if (event.type === 'agent_end' && turn.costCu !== null) event = { ...event, usage: { costCu: turn.costCu } };
    deps.onEvent(turn, event);
    if (!endsTurn(event)) {
      turn.queue.push(event);
      return;
    }
    current = null;
    turn.queue.end(event);
    if (event.type === 'error' && !event.recoverable) return fail(chatError('UPSTREAM_ERROR', 'The agent reported an error', false));
    // A recoverable error ends the subscriber's turn, but Finn's run may still be going (only
    // agent_end says it is done): the next prompt must not land in it, nor its frames in the next turn.
    if (event.type === 'error') return restartAfterAbort();
    next();
  }

  /** Aborts the run in progress, drops its socket, and starts the next waiting turn on a fresh one. */
  function restartAfterAbort(): void {
    socket?.send({ type: 'abort' });
    socket?.close();
    socket = null;
    const first = waiting[0];
    if (first && !closed) connect(first);
    else if (!first) shutdown();
  }

  function shutdown(): void {
    if (closed) return;
    closed = true;
    connecting?.abort();
    connecting = null;
    socket?.close();
    socket = null;
    deps.onClosed();
  }

  function fail(reason: ChatErrorEvent): void {
    const turns = current ? [current, ...waiting] : [...waiting];
    if (current) deps.onTurnCut(current);
    current = null;
    waiting.length = 0;
    for (const t of turns) t.queue.end(reason);
    shutdown();
  }

  return {
    add(turn) {
      waiting.push(turn);
      if (!socket && !connecting) connect(turn);
      else next();
    },
    remove(turn) {
      const i = waiting.indexOf(turn);
      if (i >= 0) waiting.splice(i, 1);
      else if (current === turn) {
        current = null;
        deps.onTurnCut(turn);
        // Finn would keep streaming the aborted answer on this socket: the next turn gets a fresh one.
        return restartAfterAbort();
      } else return;
      if (!current && waiting.length === 0) shutdown();
    },
    subscribers: () => (current ? 1 : 0) + waiting.length,
    live: () => socket !== null,
    fail,
  };
}
