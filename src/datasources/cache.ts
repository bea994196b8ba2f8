import type { Logger } from '../logger.js';
import type { RedisHandle } from './redis.js';

/** A JSON cache shared by every instance when Redis is configured, per process otherwise. */
export interface Cache {
  get<T>(key: string): Promise<T | undefined>;
  set(key: string, value: unknown, ttlSeconds: number): Promise<void>;
  delete(key: string): Promise<void>;
}

export function createMemoryCache(maxEntries = 10_000): Cache {
  const entries = new Map<string, { value: string; expires: number }>();
  return {
    async get<T>(key: string) {
      const e = entries.get(key);
      if (!e) return undefined;
      if (e.expires <= Date.now()) {
        entries.delete(key);
        return undefined;
      }
      return JSON.parse(e.value) as T;
    },
    async set(key, value, ttlSeconds) {
      if (ttlSeconds <= 0) return;
      if (entries.size >= maxEntries) {
        const oldest = entries.keys().next();
        if (!oldest.done) entries.delete(oldest.value);
      }
      entries.set(key, { value: JSON.stringify(value), expires: Date.now() + ttlSeconds * 1000 });
    },
    async delete(key) {
      entries.delete(key);
    },
  };
}

/** Redis failures degrade to a miss (get) or a no-op (set), logged, never thrown. */
export function createRedisCache(redis: RedisHandle, logger: Logger): Cache {
  const warn = (op: string, err: unknown) =>
    logger.warn({ event: 'cache_unavailable', op, err: err instanceof Error ? err.message : String(err) }, 'Redis cache unavailable');
  return {
    async get<T>(key: string) {
      try {
        const raw = await redis.client.get(`cache:${key}`);
        return raw === null ? undefined : (JSON.parse(raw) as T);
      } catch (err) {
        warn('get', err);
        return undefined;
      }
    },
    async set(key, value, ttlSeconds) {
      if (ttlSeconds <= 0) return;
      try {
        await redis.client.set(`cache:${key}`, JSON.stringify(value), 'EX', ttlSeconds);
      } catch (err) {
        warn('set', err);
      }
    },
    async delete(key) {
      try {
        await redis.client.del(`cache:${key}`);
      } catch (err) {
        warn('delete', err);
      }
    },
  };
}
