import type { IncomingMessage, ServerResponse } from 'node:http';
import type { RunSink } from './agent-run.js';
import { handleControl } from './control-api.js';
import type { SimControl } from './control.js';
import { ecosystemHandlers } from './ecosystem-routes.js';
import { applyFaults, isAbsent } from './faults.js';
import { sessionHandlers } from './http-routes.js';
import { checkBearer, clientIp, sendFinnError, sendNotFound } from './http-util.js';
import { matchRoute, type RouteMatch } from './routes.js';
import { bump, evictIdleSessions, pushLog, type SimState } from './state.js';
import type { RequestLogEntry } from './types.js';

export interface DispatchDeps {
  state: SimState;
  control: SimControl;
  sinkFor(sessionId: string): RunSink;
}

export function isControlPath(pathname: string): boolean {
  return pathname === '/__sim' || pathname.startsWith('/__sim/');
}

export function logRequest(state: SimState, req: IncomingMessage, match: RouteMatch, query: string): RequestLogEntry {
  const entry: RequestLogEntry = {
    at: Date.now(), method: req.method ?? 'GET', path: match.path, query, route: match.route?.name ?? 'unknown',
    ip: clientIp(req), headers: req.headers, status: null, fault: null,
  };
  pushLog(state, state.requests, entry);
  bump(state, 'http');
  bump(state, `http.${entry.route}`);
  state.events.emit('request', entry);
  return entry;
}

/**
 * Order: faults (latency, hang, failWith, error rate), then auth on /api/* (Finn's middleware runs
 * before routing, so an unknown /api route without a token is a 401), then route or plain-text 404.
 */
export async function handleRequest(deps: DispatchDeps, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const { state } = deps;
  const url = new URL(req.url ?? '/', 'http://finn-sim');
  if (isControlPath(url.pathname)) {
    await handleControl(deps.control, req, res, url);
    return;
  }
  if (state.faults.refuseConnections) {
    bump(state, 'fault.refused');
    req.socket.destroy();
    return;
  }
  evictIdleSessions(state);
  const match = matchRoute(req.method ?? 'GET', url.pathname);
  const entry = logRequest(state, req, match, url.search);
  res.on('finish', () => { entry.status = res.statusCode; });
  const outcome = await applyFaults(state, match, req.socket);
  if (outcome.kind === 'gone') {
    entry.fault = 'hang';
    req.socket.destroy();
    return;
  }
  if (outcome.kind === 'fail') {
    entry.fault = outcome.fault;
    sendFinnError(res, outcome.status, 'Simulated upstream failure', outcome.code);
    return;
  }
  if (url.pathname.startsWith('/api/')) {
    const auth = checkBearer(req.headers, state.config.token);
    if (auth !== 'ok') {
      bump(state, 'auth.rejected');
      sendFinnError(res, 401, 'Unauthorized', auth);
      return;
    }
  }
  const name = match.route?.name ?? '';
  const handler = sessionHandlers[name] ?? ecosystemHandlers[name];
  if (!handler || isAbsent(state, match)) {
    if (handler) entry.fault = 'absent';
    sendNotFound(res);
    return;
  }
  await handler({ state, req, res, match, sinkFor: deps.sinkFor });
}
