import type { z } from 'zod';
import type { Logger } from '../logger.js';
import type { RedisHandle } from './redis.js';

/** A JSON cache shared by every instance when Redis is configured, per process otherwise. */
export interface Cache {
  /** The value if present and of `schema`'s shape; any other value is logged, removed and a miss. */
  get<T>(key: string, schema: z.ZodType<T>): Promise<T | undefined>;
  set(key: string, value: unknown, ttlSeconds: number): Promise<void>;
  delete(key: string): Promise<void>;
}

/** Checks a cached value read back; what does not fit is dropped (and logged once per read). */
function checked<T>(key: string, raw: string, schema: z.ZodType<T>, drop: () => void, logger: Logger): T | undefined {
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    value = undefined;
  }
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  logger.warn({ event: 'cache_value_invalid', key }, 'a cached value did not have the expected shape: dropped');
  drop();
  return undefined;
}

export function createMemoryCache(logger: Logger, maxEntries = 10_000): Cache {
  const entries = new Map<string, { value: string; expires: number }>();
  return {
    async get<T>(key: string, schema: z.ZodType<T>) {
      const e = entries.get(key);
      if (!e) return undefined;
      if (e.expires <= Date.now()) {
        entries.delete(key);
        return undefined;
      }
      return checked(key, e.value, schema, () => entries.delete(key), logger);
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
    async get<T>(key: string, schema: z.ZodType<T>) {
      try {
        const raw = await redis.client.get(`cache:${key}`);
        return raw === null ? undefined : checked(key, raw, schema, () => void redis.client.del(`cache:${key}`).catch(() => undefined), logger);
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
