import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AllowlistStore } from '../datasources/allowlist-file.js';
import { checkAdminKey } from '../domain/admin-key.js';
import type { Logger } from '../logger.js';
import { sendError, sendJson } from './http.js';
import type { RestRoute } from './router.js';

/** rest.md order: not configured → 403, no header → 401, wrong key → 403. Returns true when it answered. */
function denied(req: IncomingMessage, res: ServerResponse, adminKey: string): boolean {
  const check = checkAdminKey(req.headers.authorization, adminKey);
  if (check === 'unconfigured') sendError(res, 403, 'forbidden', 'Admin API not configured');
  else if (check === 'missing') sendError(res, 401, 'unauthorized', 'Admin key required');
  else if (check === 'wrong') sendError(res, 403, 'forbidden', 'Invalid admin key');
  return check !== 'ok';
}

export function adminRoutes(deps: { allowlist: AllowlistStore; adminKey: string; logger: Logger }): RestRoute[] {
  const { allowlist, adminKey } = deps;
  return [
    {
      method: 'GET',
      path: '/api/admin/allowlist',
      rateLimited: true,
      handle({ req, res }) {
        if (denied(req, res, adminKey)) return;
        sendJson(res, 200, allowlist.current());
      },
    },
    {
      method: 'POST',
      path: '/api/admin/allowlist',
      rateLimited: true,
      async handle({ req, res, body, logger }) {
        if (denied(req, res, adminKey)) return;
        const b = body && typeof body === 'object' && !Array.isArray(body) ? (body as Record<string, unknown>) : {};
        const added = await allowlist.add(b['type'], b['value']);
        if (!added.ok) return sendError(res, 400, added.problem.error, added.problem.message);
        logger.info({ event: 'allowlist_entry_added', type: b['type'] }, 'allowlist entry added');
        sendJson(res, 201, { ok: true, data: added.value });
      },
    },
    {
      method: 'DELETE',
      path: '/api/admin/allowlist/:entry',
      rateLimited: true,
      async handle({ req, res, params, logger }) {
        if (denied(req, res, adminKey)) return;
        const removed = await allowlist.remove(params['entry'] ?? '');
        if (!removed) return sendError(res, 404, 'not_found', 'Entry not found in allowlist');
        logger.info({ event: 'allowlist_entry_removed' }, 'allowlist entry removed');
        sendJson(res, 200, { ok: true, data: removed });
      },
    },
  ];
}
