import type { HealthService } from '../datasources/health.js';
import type { GovernorRegistry } from '../datasources/governors.js';
import { checkAdminKey } from '../domain/admin-key.js';
import { sendError, sendJson, sendRawJson } from './http.js';
import type { RestRoute } from './router.js';

export function healthRoutes(deps: { health: HealthService; governors: GovernorRegistry; adminKey: string }): RestRoute[] {
  return [
    {
      method: 'GET',
      path: '/api/health',
      rateLimited: false,
      handle: async ({ res }) => sendRawJson(res, 200, await deps.health.reportJson(), { 'Cache-Control': 'no-store' }),
    },
    {
      method: 'GET',
      path: '/api/health/governance',
      rateLimited: true,
      async handle({ req, res }) {
        const check = checkAdminKey(req.headers.authorization, deps.adminKey);
        if (check === 'missing') return sendError(res, 401, 'unauthorized', 'Admin key required');
        if (check === 'wrong') return sendError(res, 403, 'forbidden', 'Invalid admin key');
        const governors = await deps.governors.report();
        sendJson(res, 200, {
          governors,
          totalResources: governors.length,
          degradedResources: governors.filter((g) => g.health?.status === 'degraded').length,
          timestamp: new Date().toISOString(),
        });
      },
    },
  ];
}
