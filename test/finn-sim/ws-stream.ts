import { STATUS_CODES, type IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import { runAgent, type RunSink } from './agent-run.js';
import { applyFaults, isAbsent } from './faults.js';
import { checkQueryToken, clientIp, isRecord } from './http-util.js';
import { ROUTES, matchRoute, matchWsPath, type RouteMatch } from './routes.js';
import { bump, evictIdleSessions, pushLog, type SimState } from './state.js';
import type { FinnFrame, WsConnectionLog } from './types.js';

const SESSION_ID = /^[A-Za-z0-9_-]{1,128}$/;

interface Connection {
  ws: WebSocket;
  log: WsConnectionLog;
  /** False for sockets closed at once with 4029; they do not count toward the per-IP budget. */
  accepted: boolean;
  idle: NodeJS.Timeout | undefined;
}

export interface WsStream {
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, logRequest: (match: RouteMatch) => void): Promise<void>;
  sinkFor(sessionId: string): RunSink;
  openSockets(): number;
  /** Sends a frame to every open socket (of one session when given). */
  broadcast(frame: FinnFrame, sessionId?: string): number;
  /** Closes every socket with `code`, or kills them without a close frame when no code is given. */
  disconnectAll(code?: number, reason?: string): void;
  close(): Promise<void>;
}

function rejectUpgrade(socket: Duplex, status: number, body: string, type = 'application/json'): void {
  if (socket.destroyed) return;
  socket.end(`HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\nContent-Type: ${type}; charset=UTF-8\r\n`
    + `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
}

export function createWsStream(state: SimState): WsStream {
  const wss = new WebSocketServer({ noServer: true, maxPayload: state.options.maxPayloadBytes });
  const connections = new Set<Connection>();
  /** Accepted connections by session: a frame fans out without scanning every open socket. */
  const bySession = new Map<string, Set<Connection>>();

  function send(conn: Connection, frame: FinnFrame): void {
    if (conn.ws.readyState !== conn.ws.OPEN) return;
    conn.ws.send(JSON.stringify(frame));
    state.options.onFrameSent?.(conn.log.sessionId, frame);
    if (conn.log.sent.length < state.options.frameLogLimit) conn.log.sent.push(frame);
  }

  function subscribers(sessionId: string): Connection[] {
    return [...(bySession.get(sessionId) ?? [])];
  }

  function sinkFor(sessionId: string): RunSink {
    return {
      send: (frame) => subscribers(sessionId).forEach((conn) => send(conn, frame)),
      drop: () => subscribers(sessionId).forEach((conn) => {
        bump(state, 'ws.dropped');
        conn.ws.terminate();
      }),
    };
  }

  function resetIdle(conn: Connection): void {
    clearTimeout(conn.idle);
    conn.idle = setTimeout(() => conn.ws.close(1000, 'Idle timeout'), state.options.idleTimeoutMs);
  }

  function onFrame(conn: Connection, data: RawData): void {
    resetIdle(conn);
    const raw = Buffer.isBuffer(data) ? data.toString('utf8')
      : Array.isArray(data) ? Buffer.concat(data).toString('utf8') : Buffer.from(new Uint8Array(data)).toString('utf8');
    let msg: unknown;
    try {
      msg = JSON.parse(raw);
    } catch {
      if (conn.log.received.length < state.options.frameLogLimit) conn.log.received.push(raw);
      send(conn, { type: 'error', data: { message: 'Invalid JSON', recoverable: true } });
      return;
    }
    if (conn.log.received.length < state.options.frameLogLimit) conn.log.received.push(msg);
    const type = isRecord(msg) ? msg.type : undefined;
    const text = isRecord(msg) ? msg.text : undefined;
    const sessionId = conn.log.sessionId;
    const session = state.sessions.get(sessionId);
    if (typeof type === 'string') bump(state, `ws.${type}`);
    if (type === 'ping') {
      if (!state.faults.ignorePings) send(conn, { type: 'pong' });
    } else if (type === 'abort') {
      state.runs.get(sessionId)?.abort();
    } else if (type === 'steer') {
      if (typeof text === 'string' && text.trim() !== '') session?.messages.push({ role: 'steer', content: text });
    } else if (type === 'prompt') {
      if (typeof text !== 'string' || text.trim() === '') {
        send(conn, { type: 'error', data: { message: 'Empty prompt', recoverable: true } });
      } else if (!session) {
        send(conn, { type: 'error', data: { message: 'Session not found', recoverable: false } });
      } else if (session.isStreaming) {
        send(conn, { type: 'error', data: { message: 'Agent is already processing a prompt', recoverable: true } });
      } else {
        void runAgent(state, session, text, sinkFor(sessionId));
      }
    } else {
      send(conn, { type: 'error', data: { message: `Unknown message type: ${String(type)}`, recoverable: true } });
    }
  }

  function onConnection(ws: WebSocket, req: IncomingMessage, sessionId: string, ip: string): void {
    const log: WsConnectionLog = {
      id: (state.counters['ws.opened'] ?? 0) + 1, sessionId, url: req.url ?? '', ip, headers: req.headers,
      openedAt: Date.now(), closedAt: null, closeCode: null, closeReason: '', received: [], sent: [],
    };
    bump(state, 'ws.opened');
    const sameIp = [...connections].filter((conn) => conn.accepted && conn.log.ip === ip).length;
    const conn: Connection = { ws, log, accepted: sameIp < state.config.wsLimitPerIp, idle: undefined };
    connections.add(conn);
    if (conn.accepted) {
      const set = bySession.get(sessionId) ?? new Set<Connection>();
      set.add(conn);
      bySession.set(sessionId, set);
    }
    pushLog(state, state.wsConnections, log);
    ws.on('error', () => bump(state, 'ws.error'));
    ws.on('close', (code, reason) => {
      clearTimeout(conn.idle);
      connections.delete(conn);
      const set = bySession.get(sessionId);
      set?.delete(conn);
      if (set?.size === 0) bySession.delete(sessionId);
      Object.assign(log, { closedAt: Date.now(), closeCode: code, closeReason: reason.toString('utf8') });
      state.events.emit('ws-close', log);
    });
    state.events.emit('ws-open', log);
    if (!conn.accepted) {
      bump(state, 'ws.limited');
      ws.close(4029, 'Too many connections from this IP');
      return;
    }
    if (!state.sessions.has(sessionId)) {
      send(conn, { type: 'error', data: { message: 'Session not found', recoverable: false } });
      ws.close(4004, 'Session not found');
      return;
    }
    state.options.onSocketOpened?.(sessionId);
    resetIdle(conn);
    ws.on('message', (data) => onFrame(conn, data));
  }

  async function handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, logRequest: (match: RouteMatch) => void): Promise<void> {
    evictIdleSessions(state);
    const url = new URL(req.url ?? '/', 'http://finn-sim');
    const sessionId = matchWsPath(url.pathname);
    const wsRoute = ROUTES.find((route) => route.name === 'ws') ?? null;
    const match: RouteMatch = sessionId === null
      ? matchRoute('GET', url.pathname)
      : { route: wsRoute, params: { sessionId }, path: url.pathname };
    logRequest(match);
    socket.on('error', () => undefined);
    const outcome = await applyFaults(state, match, socket);
    if (outcome.kind === 'gone') {
      socket.destroy();
      return;
    }
    if (outcome.kind === 'fail') {
      rejectUpgrade(socket, outcome.status, JSON.stringify({ error: 'Simulated upstream failure', code: outcome.code }));
      return;
    }
    if (sessionId === null || isAbsent(state, match)) {
      rejectUpgrade(socket, 404, 'Not Found', 'text/plain');
      return;
    }
    const auth = checkQueryToken(url.searchParams, state.config.token);
    if (auth !== 'ok') {
      bump(state, 'ws.unauthorized');
      rejectUpgrade(socket, 401, JSON.stringify({ error: 'Unauthorized', code: auth }));
      return;
    }
    if (!SESSION_ID.test(sessionId)) {
      bump(state, 'ws.badSessionId');
      rejectUpgrade(socket, 400, JSON.stringify({ error: 'Invalid session id', code: 'INVALID_REQUEST' }));
      return;
    }
    const ip = clientIp(req);
    wss.handleUpgrade(req, socket, head, (ws) => onConnection(ws, req, sessionId, ip));
  }

  return {
    handleUpgrade,
    sinkFor,
    openSockets: () => connections.size,
    broadcast: (frame, sessionId) => {
      const targets = [...connections].filter((conn) => conn.accepted && (sessionId === undefined || conn.log.sessionId === sessionId));
      targets.forEach((conn) => send(conn, frame));
      return targets.length;
    },
    disconnectAll: (code, reason = 'Closed by simulator') => {
      for (const conn of connections) {
        if (code === undefined) conn.ws.terminate();
        else conn.ws.close(code, reason);
      }
    },
    close: async () => {
      const closed = [...connections].map((conn) => new Promise<void>((resolve) => {
        clearTimeout(conn.idle);
        conn.ws.once('close', () => resolve());
        conn.ws.terminate();
      }));
      await Promise.all(closed);
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
}
