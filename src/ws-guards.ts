import type { GraphQLError } from 'graphql';
import type { Datasources } from './datasources/index.js';
import type { Viewer } from './domain/viewer.js';
import { dixieError } from './errors.js';
import { viewerRateIdentity } from './rest/rate-limit.js';

export const MAX_SUBSCRIPTIONS_PER_IDENTITY = 20;

/** Active subscriptions per identity on this instance. */
export interface SubscriptionCounter {
  tryAcquire(identity: string): boolean;
  release(identity: string): void;
  count(identity: string): number;
  total(): number;
}

export function createSubscriptionCounter(max = MAX_SUBSCRIPTIONS_PER_IDENTITY): SubscriptionCounter {
  const counts = new Map<string, number>();
  return {
    tryAcquire(identity) {
      const n = counts.get(identity) ?? 0;
      if (n >= max) return false;
      counts.set(identity, n + 1);
      return true;
    },
    release(identity) {
      const n = (counts.get(identity) ?? 0) - 1;
      if (n > 0) counts.set(identity, n);
      else counts.delete(identity);
    },
    count: (identity) => counts.get(identity) ?? 0,
    total: () => [...counts.values()].reduce((a, b) => a + b, 0),
  };
}

export function tooManySubscriptions(): GraphQLError {
  return dixieError('RATE_LIMITED', `At most ${MAX_SUBSCRIPTIONS_PER_IDENTITY} concurrent subscriptions per identity`, { retryAfter: 1 });
}

/**
 * Checks made for every operation on a connection: the wallet's token has not expired and the
 * wallet (or service key) is still allowlisted (removal takes effect at the next operation), and the per-identity
 * rate budget shared with HTTP has room.
 */
export async function checkWsOperation(ds: Pick<Datasources, 'config' | 'allowlist' | 'rateLimiter'>, viewer: Viewer, clientIp: string): Promise<GraphQLError[] | null> {
  if (viewer.kind === 'wallet' && (viewer.tokenExpiresAt <= Date.now() || !ds.allowlist.hasWallet(viewer.wallet))) {
    return [dixieError('UNAUTHENTICATED', 'The session token expired or the wallet is no longer allowed')];
  }
  // A revoked service key stops at the next operation too, as a removed wallet does.
  if (viewer.kind === 'service' && !ds.allowlist.hasApiKey(viewer.apiKey)) {
    return [dixieError('UNAUTHENTICATED', 'The API key is no longer allowed')];
  }
  const verdict = await ds.rateLimiter.check(viewerRateIdentity(viewer, clientIp, ds.config.adminKey));
  if (verdict && !verdict.allowed) return [dixieError('RATE_LIMITED', 'Too many requests', { retryAfter: verdict.retryAfterS })];
  return null;
}
