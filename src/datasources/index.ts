import type { Config } from '../config.js';
import type { Logger } from '../logger.js';
import { createMemoryCache, createRedisCache, type Cache } from './cache.js';
import { createEventBus, type EventBus } from './events.js';
import { createFinn, type Finn } from './finn/index.js';
import { createGovernorRegistry, type GovernorRegistry } from './governors.js';
import { createHealthService, type HealthOptions, type HealthService } from './health.js';
import { createKnowledgeSource, type KnowledgeSource } from './knowledge.js';
import { createNats, type NatsHandle } from './nats.js';
import { createDb, type Db } from './postgres/index.js';
import { createRedis, type RedisHandle } from './redis.js';

/** Everything process-scoped: created once, shared by every request, closed once on shutdown. */
export interface Datasources {
  config: Readonly<Config>;
  logger: Logger;
  finn: Finn;
  db: Db | null;
  redis: RedisHandle | null;
  nats: NatsHandle | null;
  cache: Cache;
  events: EventBus;
  knowledge: KnowledgeSource;
  governors: GovernorRegistry;
  health: HealthService;
}

/** Test isolation knobs: a Redis key prefix and NATS subject prefix per test file. */
export interface DatasourceOptions {
  redisKeyPrefix?: string;
  natsSubjectPrefix?: string;
  health?: Partial<HealthOptions>;
  knowledgeTtlMs?: number;
  propagate?: (headers: Record<string, string>) => void;
}

export async function createDatasources(config: Readonly<Config>, logger: Logger, opts: DatasourceOptions = {}): Promise<Datasources> {
  const finn = createFinn({ config: config.finn, logger, propagate: opts.propagate });
  const db = config.databaseUrl ? await createDb({ url: config.databaseUrl, poolSize: config.databasePoolSize, logger }) : null;
  const redis = config.redisUrl ? createRedis({ url: config.redisUrl, logger, keyPrefix: opts.redisKeyPrefix }) : null;
  const nats = config.natsUrl ? createNats({ url: config.natsUrl, logger, subjectPrefix: opts.natsSubjectPrefix }) : null;
  const cache = redis ? createRedisCache(redis, logger) : createMemoryCache();
  const events = createEventBus({ nats, logger });
  const knowledge = createKnowledgeSource(finn.client, { ttlMs: opts.knowledgeTtlMs });
  const governors = createGovernorRegistry();
  governors.register(knowledge.governor);
  // Filled in by the knowledge-priority and schedule features; zero items until they report.
  governors.register({ resourceType: 'knowledge_governor', read: async () => ({ status: 'healthy', totalItems: 0, staleItems: 0 }) });
  governors.register({ resourceType: 'fleet', read: async () => ({ status: 'healthy', totalItems: 0, staleItems: 0 }) });
  const health = createHealthService({ version: config.version, finn, knowledge, governors, db, redis, nats, options: opts.health });
  return { config, logger, finn, db, redis, nats, cache, events, knowledge, governors, health };
}

/** Closes what createDatasources opened, in dependency order; each close runs once. */
export async function closeDatasources(ds: Datasources): Promise<void> {
  ds.health.stop();
  await Promise.allSettled([ds.nats?.drain(), ds.redis?.close(), ds.db?.close()]);
}
