import type { Logger } from '../logger.js';
import type { RedisHandle } from './redis.js';

/** Remembers single-use values (callback signatures) for a while; shared by all instances through Redis. */
export interface ReplayGuard {
  /** True the first time `key` is seen within `ttlSeconds`, false for a replay. */
  firstUse(key: string, ttlSeconds: number): Promise<boolean>;
  /** Keeps a key whose use completed for `ttlSeconds` from now (after a short first hold). */
  confirm(key: string, ttlSeconds: number): Promise<void>;
  /** Forgets a key whose use did not complete (so a retry of the same request is not a replay). */
  forget(key: string): Promise<void>;
}

function createMemoryGuard(seen: Map<string, number>, maxEntries = 100_000) {
  return (key: string, ttlSeconds: number): boolean => {
    const now = Date.now();
    const until = seen.get(key);
    if (until !== undefined && until > now) return false;
    if (seen.size >= maxEntries) {
      for (const [k, exp] of seen) if (exp <= now) seen.delete(k);
      if (seen.size >= maxEntries) seen.delete(seen.keys().next().value as string);
    }
    seen.set(key, now + ttlSeconds * 1000);
    return true;
  };
}

/**
 * `SET NX EX` in Redis when configured. If Redis fails the guard falls back to process memory
 * (logged): the execution table's unique index still records a callback only once.
 */
export function createReplayGuard(redis: RedisHandle | null, logger: Logger, namespace = 'replay'): ReplayGuard {
  const seen = new Map<string, number>();
  const local = createMemoryGuard(seen);
  return {
    async firstUse(key, ttlSeconds) {
      if (!redis) return local(key, ttlSeconds);
      try {
        return (await redis.client.set(`${namespace}:${key}`, '1', 'EX', ttlSeconds, 'NX')) === 'OK';
      } catch (err) {
        logger.warn({ event: 'replay_guard_fallback', err: err instanceof Error ? err.message : String(err) }, 'Redis unavailable; replay guard in memory');
        return local(key, ttlSeconds);
      }
    },
    async confirm(key, ttlSeconds) {
      seen.set(key, Date.now() + ttlSeconds * 1000);
      await redis?.client.set(`${namespace}:${key}`, '1', 'EX', ttlSeconds).catch((err: unknown) => {
        logger.warn({ event: 'replay_guard_fallback', err: err instanceof Error ? err.message : String(err) }, 'Redis unavailable; replay guard in memory');
      });
    },
    async forget(key) {
      seen.delete(key);
      await redis?.client.del(`${namespace}:${key}`).catch(() => undefined);
    },
  };
}
