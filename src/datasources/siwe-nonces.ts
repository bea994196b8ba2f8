import { generateSiweNonce } from 'viem/siwe';
import type { RedisHandle } from './redis.js';

export const SIWE_NONCE_TTL_MS = 5 * 60_000;

export interface NonceStore {
  issue(): Promise<{ nonce: string; expiresAt: number }>;
  /** True exactly once per issued, unexpired nonce, across every instance sharing Redis. */
  consume(nonce: string): Promise<boolean>;
}

const NONCE = /^[A-Za-z0-9]{8,128}$/;

/** Single-use SIWE nonces: in Redis when configured (any instance can redeem), else in process. */
export function createNonceStore(opts: { redis: RedisHandle | null; ttlMs?: number; maxLive?: number }): NonceStore {
  const ttlMs = opts.ttlMs ?? SIWE_NONCE_TTL_MS;
  const { redis } = opts;
  if (redis) {
    return {
      async issue() {
        const nonce = generateSiweNonce();
        await redis.client.set(`siwe:nonce:${nonce}`, '1', 'PX', ttlMs);
        return { nonce, expiresAt: Date.now() + ttlMs };
      },
      async consume(nonce) {
        if (!NONCE.test(nonce)) return false;
        // DEL is atomic: of two instances redeeming the same nonce, only one sees 1.
        return (await redis.client.del(`siwe:nonce:${nonce}`)) === 1;
      },
    };
  }
  // Bounded: anonymous callers can ask for nonces faster than they expire.
  const maxLive = opts.maxLive ?? 100_000;
  const live = new Map<string, number>();
  return {
    async issue() {
      // One TTL for all, so insertion order is expiry order: drop the expired from the front, and
      // the oldest live ones past the cap (their sign-in has to ask again).
      const now = Date.now();
      for (const [n, exp] of live) {
        if (exp > now && live.size < maxLive) break;
        live.delete(n);
      }
      const nonce = generateSiweNonce();
      const expiresAt = Date.now() + ttlMs;
      live.set(nonce, expiresAt);
      return { nonce, expiresAt };
    },
    async consume(nonce) {
      const exp = live.get(nonce);
      live.delete(nonce);
      return exp !== undefined && exp > Date.now();
    },
  };
}
