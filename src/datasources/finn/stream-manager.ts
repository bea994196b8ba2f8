import type { ChatEvent } from '../../domain/chat-events.js';
import { chatError } from '../../domain/chat-events.js';
import type { Logger } from '../../logger.js';
import { assertSessionId } from './ids.js';
import type { Finn } from './index.js';
import { shuttingDown, slowConsumer } from './stream-errors.js';
import { createBoundedQueue } from './stream-queue.js';
import { createSessionStream, type ChatTurnRequest, type SessionStream, type Turn } from './stream-session.js';

export type { ChatTurnRequest } from './stream-session.js';

/** What passes through a chat stream, for listeners such as the soul-memory writer. */
export type ChatActivity =
  | { kind: 'prompt'; sessionId: string; nftId: string | null; wallet: string; text: string }
  | { kind: 'event'; sessionId: string; nftId: string | null; wallet: string; event: ChatEvent }
  /** The turn ended without Finn's agent_end or error frame: the stream failed, or its subscriber left. */
  | { kind: 'end'; sessionId: string; nftId: string | null; wallet: string };

export type ChatActivityListener = (activity: ChatActivity) => void | Promise<void>;

export interface ChatStreamOptions {
  pingIntervalMs: number;
  pongTimeoutMs: number;
  /** Events buffered per subscriber before it is ended with SLOW_CONSUMER. */
  queueCapacity: number;
}

export const DEFAULT_CHAT_STREAM_OPTIONS: ChatStreamOptions = { pingIntervalMs: 15_000, pongTimeoutMs: 10_000, queueCapacity: 256 };

export interface ChatStreamManager {
  /**
   * Sends `text` to the session's Finn stream (opening or joining it) and yields the events of that
   * answer: ChatModelSelection first, then Finn's events in order, ending with ChatAgentEnd or one ChatError.
   */
  subscribe(req: ChatTurnRequest & { pool: string; reason: string }): AsyncIterableIterator<ChatEvent>;
  /** Every prompt and Finn event of every stream; returns the unsubscribe function. */
  onEvent(listener: ChatActivityListener): () => void;
  /** Reports activity that did not pass through a stream (the synchronous sendMessage) to the same listeners. */
  report(activity: ChatActivity): void;
  activeStreams(): number;
  activeSubscribers(): number;
  /** Streams with an open Finn socket (the `fleet` governor counts them). */
  liveStreams(): number;
  /** Ends every stream (shutdown). */
  close(): void;
}

export function createChatStreamManager(deps: {
  finn: Finn;
  logger: Logger;
  options?: Partial<ChatStreamOptions>;
  /** Trace propagation for the WebSocket upgrade, as for Finn's HTTP calls. */
  propagate?: (headers: Record<string, string>) => void;
}): ChatStreamManager {
  const opts = { ...DEFAULT_CHAT_STREAM_OPTIONS, ...deps.options };
  const { breaker, config } = deps.finn;
  const streams = new Map<string, SessionStream>();
  const listeners = new Set<ChatActivityListener>();
  const base = config.wsUrl.replace(/\/+$/, '');

  const listenerFailed = (err: unknown) => deps.logger.error({ event: 'chat_listener_failed', err: String(err) }, 'chat listener failed');
  // Runs once per Finn frame: no promise is allocated for a listener that answers synchronously.
  const emit = (activity: ChatActivity) => {
    for (const l of listeners) {
      try {
        const pending = l(activity);
        if (pending) pending.catch(listenerFailed);
      } catch (err) {
        listenerFailed(err);
      }
    }
  };

  function streamFor(sessionId: string): SessionStream {
    const existing = streams.get(sessionId);
    if (existing) return existing;
    const token = config.authToken ? `?token=${encodeURIComponent(config.authToken)}` : '';
    const stream = createSessionStream(sessionId, {
      url: `${base}/ws/${sessionId}${token}`,
      breaker,
      logger: deps.logger,
      connectTimeoutMs: config.timeoutMs,
      pingIntervalMs: opts.pingIntervalMs,
      pongTimeoutMs: opts.pongTimeoutMs,
      propagate: deps.propagate,
      onPrompt: (t) => emit({ kind: 'prompt', sessionId: t.req.sessionId, nftId: t.req.nftId, wallet: t.req.wallet, text: t.req.text }),
      onEvent: (t, event) => emit({ kind: 'event', sessionId: t.req.sessionId, nftId: t.req.nftId, wallet: t.req.wallet, event }),
      onTurnCut: (t) => emit({ kind: 'end', sessionId: t.req.sessionId, nftId: t.req.nftId, wallet: t.req.wallet }),
      onClosed: () => {
        if (streams.get(sessionId) === stream) streams.delete(sessionId);
      },
    });
    streams.set(sessionId, stream);
    return stream;
  }

  return {
    subscribe(req) {
      const sessionId = assertSessionId(req.sessionId);
      let stream: SessionStream | null = null;
      const turn: Turn = {
        req: { sessionId, text: req.text, wallet: req.wallet, nftId: req.nftId, requestId: req.requestId, clientIp: req.clientIp },
        costCu: null,
        queue: createBoundedQueue<ChatEvent>({
          capacity: opts.queueCapacity,
          overflow: slowConsumer,
          onAbandon: () => stream?.remove(turn),
        }),
      };
      // Past the recovery time the breaker still reads OPEN until a call is tried: let the connect be
      // that trial. While a trial runs (HALF_OPEN) the connect would be refused: say so at once.
      const state = breaker.state();
      if ((state === 'OPEN' && breaker.retryAfterMs() > 0) || state === 'HALF_OPEN') {
        const retryAfter = Math.max(1, Math.ceil(breaker.retryAfterMs() / 1000));
        turn.queue.end(chatError('UPSTREAM_UNAVAILABLE', 'The agent runtime is unavailable', true, retryAfter));
        return turn.queue;
      }
      turn.queue.push({ type: 'model_selection', pool: req.pool, reason: req.reason });
      stream = streamFor(sessionId);
      stream.add(turn);
      return turn.queue;
    },
    onEvent(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    report: emit,
    activeStreams: () => streams.size,
    activeSubscribers: () => [...streams.values()].reduce((n, s) => n + s.subscribers(), 0),
    liveStreams: () => [...streams.values()].filter((s) => s.live()).length,
    close() {
      for (const s of [...streams.values()]) s.fail(shuttingDown());
      listeners.clear();
    },
  };
}
