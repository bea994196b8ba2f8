import { randomInt } from 'node:crypto';
import type { z } from 'zod';
import { LogEvent } from '../log-events.js';
import type { Logger } from '../logger.js';
import type { RedisHandle } from './redis.js';

/** A JSON cache shared by every instance when Redis is configured, per process otherwise. */
export interface Cache {
  /** The value if present and of `schema`'s shape; any other value is logged, removed and a miss. */
  get<T>(key: string, schema: z.ZodType<T>): Promise<T | undefined>;
  set(key: string, value: unknown, ttlSeconds: number): Promise<void>;
  delete(key: string): Promise<void>;
  /** `get` for a value that is loaded on a miss and may be invalidated while it loads: see CacheLookup. */
  lookup<T>(key: string, schema: z.ZodType<T>): Promise<CacheLookup<T>>;
  /** Deletes the key and bumps its generation: lookups made before it no longer fill it. */
  invalidate(key: string): Promise<void>;
  /**
   * Invalidates every key of an in-process cache (its NATS invalidations were missed while
   * disconnected); nothing for the Redis cache, which other instances invalidate directly.
   */
  invalidateAll(): Promise<void>;
}

/**
 * A load that started before a write may finish after the write's invalidation, holding what the
 * write replaced; cached then, that would be served for a whole TTL. Each key has a generation,
 * bumped by `invalidate` (in Redis when shared, else in process and by the NATS invalidations),
 * and `fill` writes only while it is still the one the lookup saw.
 */
export interface CacheLookup<T> {
  value: T | undefined;
  fill(value: T, ttlSeconds: number): Promise<void>;
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
  logger.warn({ event: LogEvent.cacheValueInvalid, key }, 'a cached value did not have the expected shape: dropped');
  drop();
  return undefined;
}

export function createMemoryCache(logger: Logger, maxEntries = 10_000): Cache {
  const entries = new Map<string, { value: string; expires: number }>();
  // When each key was last invalidated, oldest first; a forgotten key counts as invalidated at `floor`.
  const invalidatedAt = new Map<string, number>();
  let clock = 0;
  let floor = 0;
  const cache: Cache = {
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
    async lookup<T>(key: string, schema: z.ZodType<T>) {
      const seen = clock;
      const fill = async (value: T, ttlSeconds: number) => {
        if ((invalidatedAt.get(key) ?? floor) <= seen) await cache.set(key, value, ttlSeconds);
      };
      return { value: await cache.get(key, schema), fill };
    },
    async invalidate(key) {
      invalidatedAt.delete(key);
      invalidatedAt.set(key, ++clock);
      if (invalidatedAt.size > maxEntries) {
        const [oldest, at] = invalidatedAt.entries().next().value!;
        invalidatedAt.delete(oldest);
        floor = at;
      }
      entries.delete(key);
    },
    async invalidateAll() {
      entries.clear();
      invalidatedAt.clear();
      // Every key now counts as invalidated: no lookup made before this fills.
      floor = ++clock;
    },
  };
  return cache;
}

const INVALIDATION_RETRY_MS = 1_000;
const MAX_PENDING_INVALIDATIONS = 10_000;

/**
 * A generation only has to outlive the loads that read it. Each invalidation sets a fresh random
 * number rather than a counter: an expired counter would start again at 1, and a load that read the
 * old 1 would then see its own generation again and fill a stale value. An integer, so that an
 * instance of the previous release (INCR) can still invalidate during a rolling deploy.
 */
const GENERATION_TTL_S = 3600;
const FILL_IF_CURRENT = `if (redis.call('GET', KEYS[1]) or '0') ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[2], ARGV[2], 'EX', ARGV[3])
return 1`;
const INVALIDATE = `redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[1])
return redis.call('DEL', KEYS[2])`;

/** Redis failures degrade to a miss (get, lookup) or a no-op (set, fill, invalidate), logged, never thrown. */
export function createRedisCache(redis: RedisHandle, logger: Logger): Cache {
  const warn = (op: string, err: unknown) =>
    logger.warn({ event: 'cache_unavailable', op, err: err instanceof Error ? err.message : String(err) }, 'Redis cache unavailable');
  const valueKey = (key: string) => `cache:${key}`;
  const generationKey = (key: string) => `cache-gen:${key}`;
  const drop = (key: string) => () => void redis.client.del(valueKey(key)).catch(() => undefined);
  const invalidateNow = (key: string) => redis.client.eval(INVALIDATE, 2, generationKey(key), valueKey(key), GENERATION_TTL_S, randomInt(1, 2 ** 47));

  // An invalidation that did not reach Redis is retried until it does: other instances may be
  // serving the value it removes (a sealed conversation's question, a revoked permission).
  // Key → when it first failed; given up after a generation's lifetime, or once Redis is closed.
  const pending = new Map<string, number>();
  let retryTimer: NodeJS.Timeout | undefined;
  const scheduleRetry = () => {
    retryTimer ??= setTimeout(() => void retryPending(), INVALIDATION_RETRY_MS).unref();
  };
  const retryLater = (key: string) => {
    if (!pending.has(key) && pending.size < MAX_PENDING_INVALIDATIONS) pending.set(key, Date.now());
    scheduleRetry();
  };
  const retryPending = async () => {
    retryTimer = undefined;
    if (redis.client.status === 'end') return pending.clear();
    for (const [key, since] of [...pending]) {
      if (Date.now() - since > GENERATION_TTL_S * 1000) {
        pending.delete(key);
        continue;
      }
      try {
        await invalidateNow(key);
        pending.delete(key);
      } catch {
        break;
      }
    }
    if (pending.size > 0) scheduleRetry();
  };
  return {
    async get<T>(key: string, schema: z.ZodType<T>) {
      try {
        const raw = await redis.client.get(valueKey(key));
        return raw === null ? undefined : checked(key, raw, schema, drop(key), logger);
      } catch (err) {
        warn('get', err);
        return undefined;
      }
    },
    async set(key, value, ttlSeconds) {
      if (ttlSeconds <= 0) return;
      try {
        await redis.client.set(valueKey(key), JSON.stringify(value), 'EX', ttlSeconds);
      } catch (err) {
        warn('set', err);
      }
    },
    async delete(key) {
      try {
        await redis.client.del(valueKey(key));
      } catch (err) {
        warn('delete', err);
      }
    },
    async lookup<T>(key: string, schema: z.ZodType<T>) {
      let value: T | undefined;
      // null: the generation is unknown (Redis down), so nothing loaded now may be cached.
      let generation: string | null = null;
      try {
        const [raw, gen] = await redis.client.mget(valueKey(key), generationKey(key));
        generation = gen ?? '0';
        value = raw == null ? undefined : checked(key, raw, schema, drop(key), logger);
      } catch (err) {
        warn('get', err);
      }
      const fill = async (v: T, ttlSeconds: number) => {
        if (generation === null || ttlSeconds <= 0) return;
        try {
          await redis.client.eval(FILL_IF_CURRENT, 2, generationKey(key), valueKey(key), generation, JSON.stringify(v), ttlSeconds);
        } catch (err) {
          warn('set', err);
        }
      };
      return { value, fill };
    },
    async invalidateAll() {},
    async invalidate(key) {
      try {
        await invalidateNow(key);
      } catch (err) {
        warn('delete', err);
        retryLater(key);
      }
    },
  };
}
