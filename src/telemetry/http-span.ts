import type { IncomingMessage, ServerResponse } from 'node:http';
import { SpanKind, SpanStatusCode, type Tracer } from '@opentelemetry/api';
import type { DixieMetrics } from './metrics.js';
import { extractTraceContext } from './tracing.js';

const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'OPTIONS', 'PATCH']);

export interface HttpTelemetry {
  tracer: Tracer;
  metrics: DixieMetrics;
  /** The route template for a path (`/api/admin/allowlist/:entry`), never the raw path. */
  routeOf(path: string): string;
  /** False when no exporter is configured: spans are skipped, metrics are still recorded. */
  tracing?: boolean;
}

/**
 * One SERVER span and one latency sample per HTTP request, recorded when the response closes.
 * The span continues an incoming `traceparent` and is active while `handle` runs.
 */
export function instrumentRequest(t: HttpTelemetry, req: IncomingMessage, res: ServerResponse, handle: () => Promise<void>): Promise<void> {
  const started = performance.now();
  const method = req.method && METHODS.has(req.method) ? req.method : 'OTHER';
  const route = t.routeOf((req.url ?? '/').split('?')[0] ?? '/');
  if (t.tracing === false) {
    res.once('close', () => {
      const labels = { method, route, status: String(res.statusCode) };
      t.metrics.httpRequests.inc(labels);
      t.metrics.httpDuration.observe(labels, (performance.now() - started) / 1000);
    });
    return handle();
  }
  const parent = extractTraceContext(req.headers);
  const requestId = req.headers['x-request-id'];
  const attributes = { 'http.request.method': method, 'http.route': route, ...(typeof requestId === 'string' ? { 'dixie.request_id': requestId } : {}) };
  return t.tracer.startActiveSpan(
    `${method} ${route}`,
    { kind: SpanKind.SERVER, attributes },
    parent,
    (span) => {
      res.once('close', () => {
        const status = res.statusCode;
        const labels = { method, route, status: String(status) };
        t.metrics.httpRequests.inc(labels);
        t.metrics.httpDuration.observe(labels, (performance.now() - started) / 1000);
        span.setAttribute('http.response.status_code', status);
        if (!res.writableFinished) span.setAttribute('http.response.aborted', true);
        if (status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
        span.end();
      });
      return handle();
    },
  );
}
