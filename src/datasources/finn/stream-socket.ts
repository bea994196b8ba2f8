import type { IncomingMessage } from 'node:http';
import WebSocket, { type RawData } from 'ws';
import type { FinnBreaker } from './breaker.js';
import { FinnAnswerError, FinnTransportError } from './errors.js';

export interface StreamSocketOptions {
  /** Full URL, token included: never log it. */
  url: string;
  headers: Record<string, string>;
  breaker: FinnBreaker;
  connectTimeoutMs: number;
  pingIntervalMs: number;
  pongTimeoutMs: number;
  /** Aborts a connect in progress (the last subscriber left). */
  signal: AbortSignal;
  onFrame(frame: unknown): void;
  /** Called at most once, only when the socket ends without `close()` being called. */
  onEnd(end: StreamEnd): void;
}

export type StreamEnd = { kind: 'closed'; code: number } | { kind: 'heartbeat' };

export interface StreamSocket {
  send(frame: Record<string, unknown>): void;
  /** Closes with 1000; the socket is killed if Finn does not complete the close handshake quickly. */
  close(): void;
}

const MAX_FRAME_BYTES = 4 * 1024 * 1024;
const KILL_AFTER_MS = 500;

class ConnectAborted extends Error {}

const ignore = (): undefined => undefined;

async function readCode(res: IncomingMessage): Promise<string | null> {
  let body = '';
  try {
    for await (const chunk of res) {
      body += String(chunk);
      if (body.length > 4096) break;
    }
    const parsed = JSON.parse(body) as { code?: unknown };
    return typeof parsed.code === 'string' ? parsed.code : null;
  } catch {
    return null;
  }
}

/** Resolves with the open socket, or Finn's 4xx answer; rejects with a transport failure (counted by the breaker). */
function connect(opts: StreamSocketOptions, signal: AbortSignal): Promise<WebSocket | FinnAnswerError> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(opts.url, {
      headers: opts.headers,
      handshakeTimeout: opts.connectTimeoutMs,
      maxPayload: MAX_FRAME_BYTES,
      perMessageDeflate: false,
    });
    const settle = () => {
      signal.removeEventListener('abort', onAbort);
      ws.removeAllListeners();
      // A module-level no-op: a closure here would keep this connect's scope (options, abort signals) alive with the socket.
      ws.on('error', ignore);
    };
    const onAbort = () => {
      settle();
      ws.terminate();
      reject(new ConnectAborted('connect aborted'));
    };
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    ws.once('open', () => {
      settle();
      resolve(ws);
    });
    ws.once('unexpected-response', (_req, res) => {
      settle();
      const status = res.statusCode ?? 0;
      void readCode(res).then((code) => {
        ws.terminate();
        if (status >= 500 || status < 400) reject(new FinnTransportError(`Finn WebSocket upgrade answered ${status}`, status, code));
        else resolve(new FinnAnswerError(status, code));
      });
    });
    ws.once('error', (err) => {
      settle();
      ws.terminate();
      reject(new FinnTransportError(`Finn WebSocket connect failed: ${err.message}`, null));
    });
  });
}

function parse(data: RawData): unknown {
  const text = Buffer.isBuffer(data) ? data.toString('utf8') : Array.isArray(data) ? Buffer.concat(data).toString('utf8') : Buffer.from(data).toString('utf8');
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/**
 * One Finn WebSocket (finn.md A.3) through the shared breaker: a failed connect counts as a Finn
 * failure, a 4xx upgrade answer does not. Sends `ping` every `pingIntervalMs`; no `pong` within
 * `pongTimeoutMs` ends the socket. Pongs are consumed here, every other frame goes to `onFrame`.
 */
export async function openStreamSocket(opts: StreamSocketOptions): Promise<StreamSocket> {
  const outcome = await opts.breaker.execute(({ signal }) => connect(opts, AbortSignal.any([signal, opts.signal])), opts.signal);
  if (outcome instanceof FinnAnswerError) throw outcome;
  // A separate scope keeps only what the open socket needs: `opts` holds the connect's URL,
  // headers, breaker and abort signal, which would otherwise live as long as the socket.
  return wrapOpenSocket(outcome, opts.onFrame, opts.onEnd, opts.pingIntervalMs, opts.pongTimeoutMs);
}

function wrapOpenSocket(
  ws: WebSocket,
  onFrame: StreamSocketOptions['onFrame'],
  onEnd: StreamSocketOptions['onEnd'],
  pingIntervalMs: number,
  pongTimeoutMs: number,
): StreamSocket {
  let done = false;
  let pongTimer: NodeJS.Timeout | undefined;
  let killTimer: NodeJS.Timeout | undefined;

  const send = (frame: Record<string, unknown>) => {
    if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(frame), () => undefined);
  };
  const stop = () => {
    done = true;
    clearInterval(heartbeat);
    clearTimeout(pongTimer);
    pongTimer = undefined;
  };
  const end = (e: StreamEnd) => {
    if (done) return;
    stop();
    onEnd(e);
  };

  const heartbeat = setInterval(() => {
    send({ type: 'ping' });
    pongTimer ??= setTimeout(() => {
      end({ kind: 'heartbeat' });
      ws.terminate();
    }, pongTimeoutMs);
  }, pingIntervalMs);

  ws.on('message', (data) => {
    if (done) return;
    const frame = parse(data);
    if (frame && typeof frame === 'object' && (frame as { type?: unknown }).type === 'pong') {
      clearTimeout(pongTimer);
      pongTimer = undefined;
      return;
    }
    onFrame(frame);
  });
  ws.on('error', ignore);
  ws.on('close', (code) => {
    clearTimeout(killTimer);
    end({ kind: 'closed', code });
  });

  return {
    send,
    close() {
      if (done && ws.readyState === WebSocket.CLOSED) return;
      stop();
      if (ws.readyState === WebSocket.CLOSED || killTimer) return;
      ws.close(1000, 'Stream released');
      killTimer = setTimeout(() => ws.terminate(), KILL_AFTER_MS);
      killTimer.unref();
    },
  };
}

export { ConnectAborted };
