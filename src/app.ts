import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { sendNodeResponse } from '@whatwg-node/server';
import type { Datasources } from './datasources/index.js';
import type { Deadline } from './deadline.js';
import { clientIpOf } from './domain/client-ip.js';
import type { Viewer } from './domain/viewer.js';
import { requestScope, singleHeader } from './request-scope.js';
import { applyCommonHeaders, applyCors, BODY_LIMIT, BodyTooLargeError, rawErrorResponse, readBody, requestIdOf, sendError, sendJson } from './rest/http.js';
import { healthRoutes } from './rest/health.js';
import { adminRoutes } from './rest/admin.js';
import { createRateLimitHook, rateLimitIdentity, viewerRateIdentity } from './rest/rate-limit.js';
import { scheduleCallbackRoutes } from './rest/schedule-callback.js';
import { serveMetrics } from './rest/metrics.js';
import { createRestRouter } from './rest/router.js';
import { instrumentRequest } from './telemetry/http-span.js';
import { disabledTracing } from './telemetry/tracing.js';
import { createDixieWs, type DixieWs } from './ws.js';
import { createSubscriptionCounter, tooManySubscriptions } from './ws-guards.js';
import { createDixieYoga, type DixieYoga } from './yoga.js';

export interface DixieApp {
  server: Server;
  yoga: DixieYoga;
  ws: DixieWs;
  /** /readyz answers 200 only while ready. */
  setReady(ready: boolean): void;
  /**
   * Answers /readyz with 503 for `readinessDelayMs` (so the load balancer stops routing here), then
   * stops accepting, ends SSE streams, lets in-flight requests (HTTP, and queries and mutations on
   * WebSockets) finish and closes WebSockets with 1001, all within `by`.
   */
  close(by: Deadline, readinessDelayMs?: number): Promise<void>;
}

/** Mounts /graphql (HTTP, WebSocket, SSE), /api and the probes on one Node server; does not listen. */
export function buildApp(ds: Datasources): DixieApp {
  const { config, logger } = ds;
  const yoga = createDixieYoga(ds);
  // One per-identity subscription count for graphql-ws and SSE alike.
  const subscriptions = createSubscriptionCounter();
  const ws = createDixieWs(yoga, ds, subscriptions);
  const rateLimit = createRateLimitHook(ds);
  const rest = createRestRouter([
    ...healthRoutes({ health: ds.health, governors: ds.governors, adminKey: config.adminKey }),
    ...adminRoutes({ allowlist: ds.allowlist, adminKey: config.adminKey, logger }),
    ...scheduleCallbackRoutes({ schedules: ds.schedules, replay: ds.replayGuard, secret: config.scheduleCallbackSecret }),
  ], rateLimit);
  ds.metrics.observe({ openSockets: () => ws.openSockets() });
  const FIXED_PATHS = new Set(['/graphql', '/livez', '/readyz', '/metrics']);
  // Metric and span labels: route templates only, never raw ids or wallets.
  const routeOf = (path: string): string =>
    FIXED_PATHS.has(path) ? path : ((path === '/api' || path.startsWith('/api/')) && rest.routeOf(path)) || 'unmatched';
  const telemetry = { tracer: ds.tracer, metrics: ds.metrics, routeOf, tracing: ds.tracer !== disabledTracing.tracer };
  let ready = false;
  let inFlight = 0;
  let idle: (() => void) | null = null;
  /** SSE responses in flight: subscriptions that never end by themselves. */
  const eventStreams = new Set<ServerResponse>();

  async function graphql(req: IncomingMessage, res: ServerResponse, requestId: string, clientIp: string): Promise<void> {
    // The same per-identity budget as /api/*, counted before parsing so query bombs spend it too.
    const limited = await rateLimit(req, clientIp);
    for (const [k, v] of Object.entries(limited.headers)) res.setHeader(k, v);
    if (!limited.allowed) {
      req.resume();
      const retryAfter = Math.max(1, limited.retryAfter ?? 60);
      res.setHeader('Retry-After', String(retryAfter));
      return sendJson(res, 429, { errors: [{ message: 'Too many requests', extensions: { code: 'RATE_LIMITED', retryAfter } }] });
    }
    let body: Buffer | undefined;
    if (req.method !== 'GET' && req.method !== 'HEAD' && req.method !== 'OPTIONS') {
      try {
        body = await readBody(req);
      } catch (err) {
        if (err instanceof BodyTooLargeError) {
          res.setHeader('Connection', 'close');
          return sendJson(res, 413, { errors: [{ message: `Body exceeds ${BODY_LIMIT} bytes`, extensions: { code: 'BAD_USER_INPUT' } }] });
        }
        return sendJson(res, 400, { errors: [{ message: 'Could not read the request body' }] });
      }
    }
    // The body is already read (and bounded): hand yoga the bytes instead of the consumed stream.
    const nodeRequest = body && body.length > 0 ? { raw: req, method: req.method, headers: req.headers, url: req.url, body } : req;
    const seen: { viewer?: Viewer } = {};
    const response = await yoga.handleNodeRequestAndResponse(nodeRequest as IncomingMessage, res, { requestId, clientIp, seen });
    if (response.headers.get('content-type')?.startsWith('text/event-stream')) {
      // The cap graphql-ws applies per identity holds for SSE too (a stream never ends by itself),
      // counted under the viewer the request resolved to, as a WebSocket counts its connection's.
      const identity = seen.viewer ? viewerRateIdentity(seen.viewer, clientIp, config.adminKey) : await rateLimitIdentity(ds, req.headers.authorization, clientIp);
      if (!subscriptions.tryAcquire(identity)) {
        await response.body?.cancel().catch(() => undefined);
        const refused = tooManySubscriptions();
        res.setHeader('Retry-After', String(refused.extensions['retryAfter']));
        return sendJson(res, 429, { errors: [{ message: refused.message, extensions: refused.extensions }] });
      }
      eventStreams.add(res);
      res.once('close', () => {
        eventStreams.delete(res);
        subscriptions.release(identity);
      });
    }
    await sendNodeResponse(response, res, req, true);
  }

  async function handle(req: IncomingMessage, res: ServerResponse, requestId: string): Promise<void> {
    const clientIp = clientIpOf(req.socket.remoteAddress, req.headers['x-forwarded-for'], config.trustProxyHops);
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    applyCommonHeaders(res, requestId);
    if (applyCors(req, res, config.corsOrigins)) return;
    if (path === '/graphql') return graphql(req, res, requestId, clientIp);
    if (path === '/livez') return sendJson(res, 200, { status: 'ok' });
    if (path === '/readyz') return sendJson(res, ready ? 200 : 503, { status: ready ? 'ready' : 'not_ready' });
    if (path === '/metrics') return serveMetrics(req, res, { registry: ds.metrics.registry, adminKey: config.adminKey });
    if (path === '/api' || path.startsWith('/api/')) return rest.handle(req, res, { requestId, clientIp, logger, path });
    req.resume();
    sendError(res, 404, 'not_found', 'Route not found');
  }

  /** Sockets with a response under way: a parse error on one of them closes it, as Node's own handler does. */
  const answering = new WeakMap<object, number>();
  const pathOf = (req: IncomingMessage) => (req.url ?? '/').split('?')[0];
  // Only /graphql upgrades (to WebSocket); any other request carrying Upgrade (an h2c probe) is
  // served as the plain request it also is (Node 24.9+; older Node hands it to 'upgrade' below).
  const server = createServer({ shouldUpgradeCallback: (req: IncomingMessage) => pathOf(req) === '/graphql' }, (req, res) => {
    inFlight++;
    answering.set(req.socket, (answering.get(req.socket) ?? 0) + 1);
    res.once('close', () => {
      answering.set(req.socket, (answering.get(req.socket) ?? 1) - 1);
      if (--inFlight === 0) idle?.();
    });
    const requestId = requestIdOf(req);
    req.headers['x-request-id'] = requestId;
    requestScope.run({ requestId, traceparent: singleHeader(req.headers.traceparent) }, () => {
      instrumentRequest(telemetry, req, res, () => handle(req, res, requestId)).catch((err: unknown) => {
        logger.error({ event: 'request_failed', err: err instanceof Error ? err.message : String(err) }, 'request failed');
        if (!res.headersSent) sendError(res, 500, 'internal_error', 'Unexpected error');
        else res.destroy();
      });
    });
  });
  // Longer than the ALB idle timeout (60 s) so the ALB, not Dixie, closes idle keep-alive sockets.
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  server.on('upgrade', (req, socket, head) => {
    if (pathOf(req) !== '/graphql' || !ready) {
      socket.end(rawErrorResponse(404, 'Not Found', 'not_found', 'Route not found', requestIdOf(req)));
      return;
    }
    ws.handleUpgrade(req, socket, head);
  });
  // What Node could not parse still gets a JSON answer (rest.md: never a plain-text error).
  server.on('clientError', (err: NodeJS.ErrnoException, socket) => {
    // A response of this connection under way cannot be followed by another: close, as Node does.
    if (!socket.writable || (answering.get(socket) ?? 0) > 0) return void socket.destroy();
    if (err.code === 'HPE_HEADER_OVERFLOW') socket.end(rawErrorResponse(431, 'Request Header Fields Too Large', 'invalid_request', 'Request headers too large'));
    else if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') socket.end(rawErrorResponse(408, 'Request Timeout', 'invalid_request', 'Request timed out'));
    else socket.end(rawErrorResponse(400, 'Bad Request', 'invalid_request', 'Malformed HTTP request'));
  });

  let closing: Promise<void> | null = null;
  return {
    server,
    yoga,
    ws,
    setReady: (r) => {
      ready = r;
    },
    close(by, readinessDelayMs = 0) {
      closing ??= (async () => {
        ready = false;
        // At most half of the time left: the requests in flight need the rest to finish.
        const delay = Math.min(readinessDelayMs, by.remaining() / 2);
        if (delay > 0) await new Promise((r) => setTimeout(r, delay));
        const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeIdleConnections();
        // Cut like a dropped connection, without `complete`: the client reconnects elsewhere, as after a 1001.
        for (const res of eventStreams) res.destroy();
        // WebSocket queries and mutations in flight are answered before their socket's 1001, alongside the HTTP requests.
        const requestsDone = inFlight === 0 ? Promise.resolve() : new Promise<void>((resolve) => (idle = resolve));
        await Promise.all([by.within(ws.close(by)), by.within(requestsDone)]);
        server.closeAllConnections();
        await by.within(stopped);
        await by.within(Promise.resolve(yoga.dispose()));
      })();
      return closing;
    },
  };
}
