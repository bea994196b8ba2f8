import type { Tracer } from '@opentelemetry/api';
import type { Config } from '../config.js';
import type { Deadline } from '../deadline.js';
import type { Logger } from '../logger.js';
import { createMetrics, type DixieMetrics } from '../telemetry/metrics.js';
import { disabledTracing } from '../telemetry/tracing.js';
import { createMemoryCache, createRedisCache, type Cache } from './cache.js';
import { createEventBus, type EventBus } from './events.js';
import { createFinn, type Finn } from './finn/index.js';
import { createGovernorRegistry, type GovernorRegistry } from './governors.js';
import { createHealthService, DEFAULT_HEALTH_OPTIONS, type HealthOptions, type HealthService } from './health.js';
import { createKnowledgeSource, type KnowledgeSource } from './knowledge.js';
import { createNats, type NatsHandle } from './nats.js';
import { createDb, type Db } from './postgres/index.js';
import { traceDb } from './postgres/traced-db.js';
import { createRedis, type RedisHandle } from './redis.js';
import { createAllowlistStore, type AllowlistStore } from './allowlist-file.js';
import { createConviction, type ConvictionService } from './conviction.js';
import { createNftDirectory, type NftDirectory } from './nft-ownership.js';
import { createTokenVerifier, type TokenVerifier } from './token-verifier.js';
import { createRateLimiter, type RateLimiter } from './rate-limit.js';
import { createSignIn, type SignInService } from './sign-in.js';
import { createNonceStore } from './siwe-nonces.js';
import { createTbaVerifier, type TbaVerifier } from './tba.js';
import { createAgentService, type AgentService } from './agent.js';
import { createChat, type ChatService } from './chat.js';
import { createChatStreamManager, type ChatStreamManager, type ChatStreamOptions } from './finn/stream-manager.js';
import { createChatSessionRepo } from './postgres/chat-session-repo.js';
import { createKnowledgeVoteRepo, type KnowledgeVoteRepo } from './postgres/knowledge-vote-repo.js';
import { createScheduleService, type ScheduleService } from './schedules.js';
import { createScheduler, DEFAULT_TICK_MS, firingLeaseMs, pendingStaleMs, type Scheduler } from './scheduler.js';
import { createFleetGovernor } from './fleet-governor.js';
import { createReplayGuard, type ReplayGuard } from './replay-guard.js';
import { createAutonomousService, type AutonomousService } from './autonomous.js';
import { createReputationService, type ReputationService } from './reputation.js';
import { createMemoryService, type MemoryService } from './memory.js';
import { createScheduleMemory } from './schedule-memory.js';
import type { MemoryWriterOptions } from './memory-writer.js';

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
  /** The allowlist file (rest.md): wallets and dxk_ service keys. */
  allowlist: AllowlistStore;
  signIn: SignInService;
  /** Conviction tiers per wallet (Finn B6, cached, invalidated through NATS). */
  conviction: ConvictionService;
  nfts: NftDirectory;
  tokens: TokenVerifier;
  tba: TbaVerifier;
  /** Per-identity budget shared by /api/* and /graphql. */
  rateLimiter: RateLimiter;
  /** Prometheus metrics of this instance (GET /metrics); e.g. `metrics.rateLimitRejections.inc()`. */
  metrics: DixieMetrics;
  /** OpenTelemetry tracer (a no-op one when tracing is off). */
  tracer: Tracer;
  /** Shared Finn chat streams; `chatStreams.onEvent` is the hook for soul memory. */
  chatStreams: ChatStreamManager;
  chat: ChatService;
  agent: AgentService;
  /** null without a database (knowledge votes are then FEATURE_DISABLED). */
  knowledgeVotes: KnowledgeVoteRepo | null;
  /** Schedules (FEATURE_DISABLED without a database) and the tick that fires those Finn does not hold. */
  schedules: ScheduleService;
  scheduler: Scheduler;
  /** Single-use values shared across instances (schedule callback signatures). */
  replayGuard: ReplayGuard;
  autonomous: AutonomousService;
  reputation: ReputationService;
  /** Soul memory: the event log fed by chat streams, projections, sealing (FEATURE_DISABLED without a database). */
  memory: MemoryService;
}

/** Test isolation knobs: a Redis key prefix and NATS subject prefix per test file. */
export interface DatasourceOptions {
  redisKeyPrefix?: string;
  natsSubjectPrefix?: string;
  health?: Partial<HealthOptions>;
  knowledgeTtlMs?: number;
  propagate?: (headers: Record<string, string>) => void;
  /** How often the allowlist file is checked for external edits (default 500 ms). */
  allowlistPollMs?: number;
  /** SIWE nonce lifetime (default 5 min). */
  siweNonceTtlMs?: number;
  /** From createTracing: spans for Finn calls and database queries. */
  tracer?: Tracer;
  /** Chat stream heartbeat and queue bounds (short in tests). */
  chatStreams?: Partial<ChatStreamOptions>;
  /** Scheduler tick interval (default DIXIE_SCHEDULER_TICK_MS, 15 s). */
  schedulerTickMs?: number;
  /** Soul-memory write retries (short in tests). */
  memoryWriter?: Partial<MemoryWriterOptions>;
}

export async function createDatasources(config: Readonly<Config>, logger: Logger, opts: DatasourceOptions = {}): Promise<Datasources> {
  const metrics = createMetrics();
  const tracer = opts.tracer ?? disabledTracing.tracer;
  const finn = createFinn({ config: config.finn, logger, propagate: opts.propagate, tracer, metrics });
  const rawDb = config.databaseUrl ? await createDb({ url: config.databaseUrl, poolSize: config.databasePoolSize, logger }) : null;
  const db = rawDb && opts.tracer ? traceDb(rawDb, opts.tracer) : rawDb;
  const redis = config.redisUrl ? createRedis({ url: config.redisUrl, logger, keyPrefix: opts.redisKeyPrefix }) : null;
  const nats = config.natsUrl ? createNats({ url: config.natsUrl, logger, subjectPrefix: opts.natsSubjectPrefix }) : null;
  const cache = redis ? createRedisCache(redis, logger) : createMemoryCache(logger);
  // Without Redis, instances keep each other's caches fresh over NATS: after a gap, start over.
  if (!redis) nats?.onReconnect(() => void cache.invalidateAll());
  const events = createEventBus({ nats, logger });
  const knowledge = createKnowledgeSource(finn.client, finn.breaker, { ttlMs: opts.knowledgeTtlMs });
  const healthOptions = { ...DEFAULT_HEALTH_OPTIONS, ...opts.health };
  // Governor readings behind /api/health are cached and bounded like the other health probes.
  const governors = createGovernorRegistry({ ttlMs: healthOptions.infraProbeTtlMs, waitMs: healthOptions.waitMs, timeoutMs: healthOptions.probeTimeoutMs });
  governors.register(knowledge.governor);
  // Filled in by the knowledge-priority and schedule features; zero items until they report.
  const knowledgeVotes = db ? createKnowledgeVoteRepo(db) : null;
  governors.register(knowledgeVotes?.governor ?? { resourceType: 'knowledge_governor', read: async () => ({ status: 'healthy', totalItems: 0, staleItems: 0 }) });
  const chatStreams = createChatStreamManager({ finn, logger, options: opts.chatStreams, propagate: opts.propagate });
  const chat = createChat({ finn, repo: createChatSessionRepo(db), streams: chatStreams, nats, logger });
  const agent = createAgentService({ finn, cache, personalityTtl: config.personalityTtl });
  const tickMs = opts.schedulerTickMs ?? config.schedulerTickMs ?? DEFAULT_TICK_MS;
  governors.register(createFleetGovernor({ db, tickMs, liveStreams: () => chatStreams.liveStreams() }));
  const nfts = createNftDirectory({ finn: finn.client, cache, ttlSeconds: config.nftOwnershipTtl });
  const memory = createMemoryService({ db, cache, redis, nats, nfts, streams: chatStreams, logger, projectionTtl: config.memoryProjectionTtl, maxEvents: config.memoryMaxEvents, sealKey: config.memorySealKey, writer: opts.memoryWriter });
  const scheduleMemory = createScheduleMemory({ memory, logger });
  const schedules = createScheduleService({ db, finn, events, memory: scheduleMemory, logger, publicUrl: config.publicUrl });
  const leaseMs = firingLeaseMs(config.finn.timeoutMs, config.finn.messageTimeoutMs, tickMs);
  const scheduler = createScheduler({ db, finn, events, memory: scheduleMemory, logger, tickMs, leaseMs, pendingStaleMs: pendingStaleMs(config.finn.timeoutMs) });
  const replayGuard = createReplayGuard(redis, logger);
  const autonomous = createAutonomousService({ db, cache, nats, logger, ttlSeconds: config.autonomousPermissionTtl, defaultBudget: config.autonomousBudget });
  const reputation = createReputationService({ db, nats, logger });
  const allowlist = await createAllowlistStore({ path: config.allowlistPath, logger, pollMs: opts.allowlistPollMs });
  const signIn = createSignIn({ config, nonces: createNonceStore({ redis, ttlMs: opts.siweNonceTtlMs }), allowlist, logger });
  const conviction = createConviction({ config, finn: finn.client, cache, allowlist, nats, logger });
  const tokens = createTokenVerifier(config.jwtPrivateKey);
  const tba = createTbaVerifier({ finn: finn.client, breaker: finn.breaker, cache, logger });
  const rateLimiter = createRateLimiter({ limit: config.rateLimitRpm, backend: config.rateLimitBackend, redis, logger, metrics });
  const health = createHealthService({ version: config.version, finn, knowledge, governors, db, redis, nats, options: healthOptions });
  metrics.observe({
    circuitState: () => finn.breaker.state(),
    ...(db ? { poolStats: () => db.stats() } : {}),
    ...(redis ? { redisUp: () => redis.isUp() } : {}),
    ...(nats ? { natsUp: () => nats.isUp() } : {}),
  });
  return { allowlist, signIn, conviction, nfts, tokens, tba, rateLimiter, config, logger, finn, db, redis, nats, cache, events, knowledge, governors, health, metrics, tracer, chatStreams, chat, agent, knowledgeVotes, schedules, scheduler, replayGuard, autonomous, reputation, memory };
}

/** Closes what createDatasources opened, in dependency order, each close once and all within `by`. */
export async function closeDatasources(ds: Datasources, by: Deadline): Promise<void> {
  ds.health.stop();
  ds.allowlist.close();
  ds.conviction.close();
  ds.rateLimiter.close();
  ds.chatStreams.close();
  // Firings and queued soul-memory writes get at most half of what is left: the stores need the rest.
  const settleBy = by.before(by.remaining() / 2);
  await Promise.all([ds.memory.close(settleBy), stopScheduleWork(ds, settleBy)]);
  await by.within(Promise.allSettled([ds.nats?.drain(), ds.redis?.close(), ds.db?.close()]));
}

/** Background work of schedules, reputation and autonomous mode: after migrations and listen. */
export function startScheduleWork(ds: Datasources): void {
  ds.autonomous.start();
  ds.reputation.start();
  ds.scheduler.start();
}

/** Stops it again (idempotent): the scheduler first, so no firing starts during shutdown. */
export async function stopScheduleWork(ds: Datasources, by: Deadline): Promise<void> {
  await ds.scheduler.stop(by);
  ds.reputation.stop();
  ds.autonomous.stop();
}
