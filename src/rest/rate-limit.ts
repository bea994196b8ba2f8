import { createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { constantTimeEqual } from '../domain/admin-key.js';
import { looksLikeJwt } from '../domain/jwt.js';
import type { Datasources } from '../datasources/index.js';
import type { Viewer } from '../domain/viewer.js';
import type { RateVerdict } from '../datasources/rate-limit.js';
import type { RateDecision, RateLimitHook } from './router.js';

/**
 * Whose budget a request spends: the verified JWT wallet, else a known API key (or the admin key),
 * else the client IP. Unverified tokens never name an identity, so rotating them does not escape
 * the per-IP budget.
 */
export async function rateLimitIdentity(ds: Pick<Datasources, 'config' | 'allowlist' | 'tokens'>, authorization: string | undefined | null, clientIp: string): Promise<string> {
  const bearer = authorization?.replace(/^Bearer\s+/i, '').trim();
  if (bearer) {
    if (looksLikeJwt(bearer)) {
      const verified = await ds.tokens.verify(bearer);
      if (verified) return `wallet:${verified.wallet.toLowerCase()}`;
    } else if (ds.allowlist.hasApiKey(bearer) || (ds.config.adminKey !== '' && constantTimeEqual(bearer, ds.config.adminKey))) {
      return keyIdentity(bearer);
    }
  }
  return `ip:${clientIp}`;
}

const keyIdentity = (key: string) => `key:${createHash('sha256').update(key).digest('hex').slice(0, 32)}`;

/** The same identity as rateLimitIdentity, for a viewer already resolved (a WebSocket connection). */
export function viewerRateIdentity(viewer: Viewer, clientIp: string, adminKey: string): string {
  switch (viewer.kind) {
    case 'wallet':
      return `wallet:${viewer.wallet.toLowerCase()}`;
    case 'service':
      return keyIdentity(viewer.apiKey);
    case 'admin':
      return keyIdentity(adminKey);
    case 'agent':
      return `agent:${viewer.tbaAddress.toLowerCase()}`;
    default:
      return `ip:${clientIp}`;
  }
}

export function rateLimitHeaders(v: RateVerdict): Record<string, string> {
  const headers: Record<string, string> = { 'X-RateLimit-Limit': String(v.limit), 'X-RateLimit-Remaining': String(v.remaining) };
  if (!v.allowed) headers['Retry-After'] = String(v.retryAfterS);
  return headers;
}

/** One hook for /api/* (the router) and /graphql (app.ts): the same per-identity budget. */
export function createRateLimitHook(ds: Pick<Datasources, 'config' | 'allowlist' | 'rateLimiter' | 'tokens'>): RateLimitHook {
  return async (req: IncomingMessage, clientIp: string): Promise<RateDecision> => {
    if (ds.rateLimiter.limit <= 0) return { allowed: true, headers: {} };
    const v = await ds.rateLimiter.check(await rateLimitIdentity(ds, req.headers.authorization, clientIp));
    if (!v) return { allowed: true, headers: {} };
    return { allowed: v.allowed, headers: rateLimitHeaders(v), retryAfter: v.retryAfterS };
  };
}
