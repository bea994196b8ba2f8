import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createMemoryCache, createRedisCache } from '../../src/datasources/cache.js';
import { createRedis } from '../../src/datasources/redis.js';
import { captureLogger, waitFor } from '../helpers/dixie.js';
import { REDIS_URL } from '../helpers/services.js';

const text = z.string();
const quiet = captureLogger('warn').logger;

describe('cache generations (in process)', () => {
  it('fills only while the key was not invalidated since the lookup', async () => {
    const cache = createMemoryCache(quiet);
    const before = await cache.lookup('k', text);
    await cache.invalidate('k');
    const after = await cache.lookup('k', text);
    await before.fill('stale', 60);
    expect(await cache.get('k', text)).toBeUndefined();
    await after.fill('fresh', 60);
    expect((await cache.lookup('k', text)).value).toBe('fresh');
    await cache.invalidate('other');
    expect(await cache.get('k', text)).toBe('fresh');
  });

  it('answers a value of another shape as a miss, logged and removed', async () => {
    const { logs, logger } = captureLogger('warn');
    const cache = createMemoryCache(logger);
    await cache.set('k', { not: 'text' }, 60);
    expect(await cache.get('k', text)).toBeUndefined();
    expect(logs.filter((l) => l.event === 'cache_value_invalid').map((l) => l.key)).toEqual(['k']);
    expect(await cache.get('k', z.unknown())).toBeUndefined();
  });

  it('still refuses a stale fill once the invalidation itself was forgotten to bound memory', async () => {
    const cache = createMemoryCache(quiet, 2);
    const early = await cache.lookup('k', text);
    for (const key of ['k', 'x', 'y', 'z']) await cache.invalidate(key);
    await early.fill('stale', 60);
    expect(await cache.get('k', text)).toBeUndefined();
  });
});

describe('cache generations in Redis', () => {
  it('refuses a stale fill even when the generation it read expired and the key was invalidated again', async () => {
    const prefix = `cache-gen-test:${randomUUID()}:`;
    const redis = createRedis({ url: REDIS_URL, logger: quiet, keyPrefix: prefix });
    try {
      await waitFor(() => redis.isUp(), { what: 'Redis up' });
      const cache = createRedisCache(redis, quiet);
      await cache.invalidate('k');
      const before = await cache.lookup('k', text);
      // The generation key reaches its TTL while the load runs, then a write invalidates the key.
      await redis.client.del('cache-gen:k');
      await cache.invalidate('k');
      await before.fill('stale', 60);
      expect(await cache.get('k', text)).toBeUndefined();
      const after = await cache.lookup('k', text);
      await after.fill('fresh', 60);
      expect(await cache.get('k', text)).toBe('fresh');
      await redis.client.del('cache-gen:k', 'cache:k');
    } finally {
      await redis.close();
    }
  });
});

describe('cache generations with Redis down', () => {
  it('degrades to a miss that caches nothing, and never throws', async () => {
    const { logs, logger } = captureLogger('warn');
    const redis = createRedis({ url: 'redis://127.0.0.1:1', logger });
    try {
      const cache = createRedisCache(redis, logger);
      const miss = await cache.lookup('k', text);
      expect(miss.value).toBeUndefined();
      await miss.fill('v', 60);
      await cache.invalidate('k');
      expect(logs.filter((l) => l.event === 'cache_unavailable').map((l) => l.op)).toEqual(['get', 'delete']);
    } finally {
      await redis.close();
    }
  });
});
