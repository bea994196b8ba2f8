/** Every endpoint Finn serves (finn.md A) or may serve (B), by name; faults target these names. */
export interface RouteDef {
  name: string;
  method: string;
  pattern: string;
  group: 'A' | 'B';
}

export const ROUTES: readonly RouteDef[] = [
  { name: 'health', method: 'GET', pattern: '/health', group: 'A' },
  { name: 'healthz', method: 'GET', pattern: '/healthz', group: 'A' },
  { name: 'sessions.create', method: 'POST', pattern: '/api/sessions', group: 'A' },
  { name: 'sessions.list', method: 'GET', pattern: '/api/sessions', group: 'A' },
  { name: 'sessions.get', method: 'GET', pattern: '/api/sessions/:id', group: 'A' },
  { name: 'sessions.message', method: 'POST', pattern: '/api/sessions/:id/message', group: 'A' },
  { name: 'ws', method: 'GET', pattern: '/ws/:sessionId', group: 'A' },
  { name: 'knowledge', method: 'GET', pattern: '/api/knowledge/metadata', group: 'B' },
  { name: 'oracle', method: 'GET', pattern: '/api/identity/oracle', group: 'B' },
  { name: 'nfts', method: 'GET', pattern: '/api/identity/wallet/:wallet/nfts', group: 'B' },
  { name: 'beauvoir', method: 'GET', pattern: '/api/identity/:nftId/beauvoir', group: 'B' },
  { name: 'evolution', method: 'GET', pattern: '/api/identity/:nftId/evolution', group: 'B' },
  { name: 'staking', method: 'GET', pattern: '/api/conviction/:wallet/staking', group: 'B' },
  { name: 'cron.register', method: 'POST', pattern: '/api/cron/register', group: 'B' },
  { name: 'cron.delete', method: 'DELETE', pattern: '/api/cron/:cronId', group: 'B' },
  { name: 'verifyTba', method: 'POST', pattern: '/api/auth/verify-tba', group: 'B' },
];

export interface RouteMatch {
  route: RouteDef | null;
  /** Raw (still URL-encoded) path parameters. */
  params: Record<string, string>;
  path: string;
}

function matchPattern(pattern: string, path: string): Record<string, string> | null {
  const want = pattern.split('/');
  const got = path.split('/');
  if (want.length !== got.length) return null;
  const params: Record<string, string> = {};
  for (let i = 0; i < want.length; i += 1) {
    const w = want[i] ?? '';
    const g = got[i] ?? '';
    if (w.startsWith(':')) {
      if (g === '') return null;
      params[w.slice(1)] = g;
    } else if (w !== g) {
      return null;
    }
  }
  return params;
}

/** Static segments win over parameters (`/api/identity/oracle` is not a beauvoir lookup). */
export function matchRoute(method: string, path: string): RouteMatch {
  for (const route of ROUTES) {
    if (route.method !== method) continue;
    const params = matchPattern(route.pattern, path);
    if (params) return { route, params, path };
  }
  return { route: null, params: {}, path };
}

/** `/ws/<id>`: Finn takes everything after `/ws/` as the id. */
export function matchWsPath(path: string): string | null {
  return path.startsWith('/ws/') ? path.slice('/ws/'.length) : null;
}

/**
 * A fault target matches `*`, the endpoint name or its prefix (`sessions` → `sessions.*`),
 * `ecosystem` (every B endpoint), the route pattern, the exact path, or a `prefix*` of the path.
 */
export function targetMatches(target: string, match: RouteMatch): boolean {
  if (target === '*') return true;
  const { route, path } = match;
  if (route) {
    if (target === route.name || route.name.startsWith(`${target}.`)) return true;
    if (target === 'ecosystem' && route.group === 'B') return true;
    if (target === route.pattern) return true;
  }
  if (target === path) return true;
  return target.endsWith('*') && path.startsWith(target.slice(0, -1));
}
