import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Registry } from 'prom-client';
import { checkAdminKey } from '../domain/admin-key.js';
import { sendError } from './http.js';

/**
 * GET /metrics in the Prometheus text format. Admin-gated like /api/health/governance: open only
 * when no admin key is configured (never in production, where the key is required).
 */
export async function serveMetrics(req: IncomingMessage, res: ServerResponse, deps: { registry: Registry; adminKey: string }): Promise<void> {
  req.resume();
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.setHeader('Allow', 'GET, HEAD');
    return sendError(res, 405, 'method_not_allowed', 'Use GET');
  }
  const check = checkAdminKey(req.headers.authorization, deps.adminKey);
  if (check === 'missing') return sendError(res, 401, 'unauthorized', 'Admin key required');
  if (check === 'wrong') return sendError(res, 403, 'forbidden', 'Invalid admin key');
  const body = await deps.registry.metrics();
  res.statusCode = 200;
  res.setHeader('Content-Type', deps.registry.contentType);
  res.setHeader('Cache-Control', 'no-store');
  res.setHeader('Content-Length', Buffer.byteLength(body));
  res.end(req.method === 'HEAD' ? undefined : body);
}
