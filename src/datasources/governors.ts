import type { GovernorHealth, GovernorReport } from '../domain/governor.js';
import { createCachedProbe, type CachedProbe } from './cached-probe.js';
import { withTimeout } from './postgres/db.js';
import type { RedisHandle } from './redis.js';

/** What a governor measures; `null` when it cannot currently report. */
export type GovernorReading = Omit<GovernorHealth, 'version'> | null;

export interface Governor {
  resourceType: string;
  read(): Promise<GovernorReading>;
}

export interface GovernorRegistry {
  register(governor: Governor): void;
  resourceTypes(): string[];
  /** Fresh readings with versions (the admin governance views); each read is bounded by `timeoutMs`. */
  report(): Promise<GovernorReport[]>;
  /** Cached readings for /api/health: never waits more than `waitMs` on a governor's data source. */
  cachedReadings(): Promise<Array<{ resourceType: string; reading: GovernorReading }>>;
}

export interface GovernorRegistryOptions {
  ttlMs: number;
  waitMs: number;
  timeoutMs: number;
  /** Shares the versions between instances (else each process counts its own). */
  redis?: RedisHandle | null;
}

/** KEYS[1] the governor's {key, version} hash; ARGV[1] the reading. The version moves once per change, whoever sees it first. */
const BUMP_ON_CHANGE = `local key = redis.call('HGET', KEYS[1], 'key')
if key == ARGV[1] then return tonumber(redis.call('HGET', KEYS[1], 'version')) end
redis.call('HSET', KEYS[1], 'key', ARGV[1])
return redis.call('HINCRBY', KEYS[1], 'version', 1)`;

/**
 * Keeps each governor's `version`, bumped whenever its reading changes: in Redis when configured,
 * so that instances behind the load balancer agree and a reader never sees it go back; in process
 * otherwise, and while Redis fails. A read that fails or
 * outlives `timeoutMs` is `null` (cannot currently report). /api/health reads the cached readings:
 * while a governor's database hangs it gets the last reading until that read times out.
 */
export function createGovernorRegistry(opts: GovernorRegistryOptions): GovernorRegistry {
  const governors: Array<{ g: Governor; cached: CachedProbe<GovernorReading> }> = [];
  const last = new Map<string, { key: string; version: number }>();
  const read = (g: Governor) => withTimeout(g.read(), opts.timeoutMs, `${g.resourceType} governor`).catch(() => null);
  const localVersion = (resourceType: string, key: string): number => {
    const prev = last.get(resourceType);
    const version = !prev ? 1 : prev.key === key ? prev.version : prev.version + 1;
    last.set(resourceType, { key, version });
    return version;
  };
  const versionOf = async (resourceType: string, key: string): Promise<number> => {
    const redis = opts.redis;
    if (!redis?.isUp()) return localVersion(resourceType, key);
    try {
      return Number(await redis.client.eval(BUMP_ON_CHANGE, 1, `governor:${resourceType}`, key));
    } catch {
      return localVersion(resourceType, key);
    }
  };
  return {
    register(g) {
      governors.push({ g, cached: createCachedProbe({ run: () => read(g), initial: null, ttlMs: opts.ttlMs, waitMs: opts.waitMs }) });
    },
    resourceTypes: () => governors.map(({ g }) => g.resourceType),
    async report() {
      return Promise.all(
        governors.map(async ({ g }): Promise<GovernorReport> => {
          const reading = await read(g);
          if (!reading) return { resourceType: g.resourceType, health: null };
          const version = await versionOf(g.resourceType, JSON.stringify(reading));
          return { resourceType: g.resourceType, health: { ...reading, version } };
        }),
      );
    },
    cachedReadings: () => Promise.all(governors.map(async ({ g, cached }) => ({ resourceType: g.resourceType, reading: await cached.get() }))),
  };
}
