import { z } from 'zod';
import {
  createEnvReader,
  deepFreeze,
  findPackageVersion,
  parseUrl,
  readChainIds,
  readDatabaseUrl,
  readNatsUrl,
  splitList,
  type Env,
  type EnvReader,
} from './config-parse.js';

export { redactUrl } from './config-parse.js';

const nodeEnvSchema = z.enum(['development', 'test', 'staging', 'production']);
const logLevelSchema = z.enum(['debug', 'info', 'warn', 'error']);
const tierSchema = z.enum(['OBSERVER', 'PARTICIPANT', 'BUILDER', 'ARCHITECT', 'SOVEREIGN']);
const rateLimitBackendSchema = z.enum(['memory', 'redis']);
const trustedDocumentsSchema = z.enum(['off', 'log', 'enforce']);

export type NodeEnv = z.infer<typeof nodeEnvSchema>;
export type LogLevel = z.infer<typeof logLevelSchema>;
export type Tier = z.infer<typeof tierSchema>;
export const TIERS: readonly Tier[] = Object.freeze([...tierSchema.options]);

export interface FinnConfig {
  url: string;
  wsUrl: string;
  authToken: string;
  timeoutMs: number;
  messageTimeoutMs: number;
  circuitFailures: number;
  circuitRecoveryMs: number;
}

export interface Config {
  nodeEnv: NodeEnv;
  logLevel: LogLevel;
  port: number;
  version: string;
  finn: FinnConfig;
  jwtPrivateKey: string;
  adminKey: string;
  allowlistPath: string;
  scheduleCallbackSecret: string;
  databaseUrl: string | null;
  redisUrl: string | null;
  natsUrl: string | null;
  databasePoolSize: number;
  /** `['*']` means any origin. */
  corsOrigins: string[];
  rateLimitRpm: number;
  rateLimitBackend: 'memory' | 'redis';
  memoryProjectionTtl: number;
  memoryMaxEvents: number;
  convictionTierTtl: number;
  personalityTtl: number;
  /** Seconds a wallet's NFT list (Finn B3) is cached for ownership checks. */
  nftOwnershipTtl: number;
  autonomousPermissionTtl: number;
  autonomousBudget: number;
  /** How often every instance's scheduler tick looks for due schedules (Dixie-fired ones). */
  schedulerTickMs: number;
  otelEndpoint: string | null;
  publicUrl: string;
  siweDomain: string;
  siweChainIds: number[];
  convictionFallbackTier: Tier;
  memorySealKey: string;
  trustedDocuments: 'off' | 'log' | 'enforce';
  trustProxyHops: number;
  shutdownGraceMs: number;
}

export class ConfigError extends Error {
  readonly problems: string[];

  constructor(problems: string[]) {
    super(problems.join('\n'));
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

export interface LoadedConfig {
  config: Readonly<Config>;
  warnings: string[];
}

const HTTP = ['http:', 'https:'];
const MIN_SECRET_LENGTH = 32;
let packageVersion: string | undefined;

export function loadConfig(env: Env = process.env): LoadedConfig {
  const r = createEnvReader(env);
  const nodeEnv = r.oneOf('NODE_ENV', nodeEnvSchema, 'development');
  const logLevel = r.oneOf('LOG_LEVEL', logLevelSchema, 'info');
  const port = r.int('DIXIE_PORT', 3001, 0, 65535);
  const config: Config = {
    nodeEnv,
    logLevel,
    port,
    version: (packageVersion ??= findPackageVersion(import.meta.url, 'dixie')),
    finn: readFinn(r),
    ...readSecrets(r, nodeEnv),
    allowlistPath: r.text('DIXIE_ALLOWLIST_PATH') ?? '/data/allowlist.json',
    ...readStores(r),
    ...readHttp(r, nodeEnv, port),
    ...readCaching(r),
    otelEndpoint: r.url('OTEL_EXPORTER_OTLP_ENDPOINT', HTTP, 'an http(s) URL'),
    ...readIdentity(r, port),
  };
  if (r.problems.length > 0) throw new ConfigError(r.problems);
  return { config: deepFreeze(config), warnings: r.warnings };
}

function readFinn(r: EnvReader): FinnConfig {
  const url = r.url('FINN_URL', HTTP, 'an http(s) URL') ?? '';
  if (r.text('FINN_URL') === undefined) r.problem('FINN_URL', 'required');
  return {
    url,
    wsUrl: r.url('FINN_WS_URL', ['ws:', 'wss:'], 'a ws(s) URL') ?? url.replace(/^http/i, 'ws'),
    authToken: r.secret('FINN_AUTH_TOKEN', { header: true }),
    timeoutMs: r.int('DIXIE_FINN_TIMEOUT_MS', 5000, 100, 600_000),
    messageTimeoutMs: r.int('DIXIE_FINN_MESSAGE_TIMEOUT_MS', 120_000, 100, 600_000),
    circuitFailures: r.int('DIXIE_FINN_CIRCUIT_FAILURES', 3, 1, 100),
    circuitRecoveryMs: r.int('DIXIE_FINN_CIRCUIT_RECOVERY_MS', 30_000, 1000, 600_000),
  };
}

type Secrets = Pick<Config, 'jwtPrivateKey' | 'adminKey' | 'scheduleCallbackSecret' | 'memorySealKey'>;

function readSecrets(r: EnvReader, nodeEnv: NodeEnv): Secrets {
  const jwtPrivateKey = r.secret('DIXIE_JWT_PRIVATE_KEY');
  if (jwtPrivateKey === '' && nodeEnv !== 'test') r.problem('DIXIE_JWT_PRIVATE_KEY', 'required unless NODE_ENV=test');
  if (jwtPrivateKey !== '' && jwtPrivateKey.length < MIN_SECRET_LENGTH) {
    r.problem('DIXIE_JWT_PRIVATE_KEY', `must be at least ${MIN_SECRET_LENGTH} characters`);
  }

  const adminKey = r.headerKey('DIXIE_ADMIN_KEY');
  if (adminKey === '' && nodeEnv === 'production') r.problem('DIXIE_ADMIN_KEY', 'required in production');
  else if (adminKey === '') r.warn('DIXIE_ADMIN_KEY', 'empty: /metrics and /api/health/governance are open and the admin API is off (allowed only outside production)');

  const scheduleCallbackSecret = r.secret('DIXIE_SCHEDULE_CALLBACK_SECRET');
  if (scheduleCallbackSecret === '') {
    r.warn('DIXIE_SCHEDULE_CALLBACK_SECRET', 'empty: every schedule callback from Finn will be rejected');
  }

  const memorySealKey = r.secret('DIXIE_MEMORY_SEAL_KEY');
  // Presence, not validity, of DATABASE_URL decides: a bad DATABASE_URL is already reported once.
  const hasDatabase = r.text('DATABASE_URL') !== undefined;
  if (memorySealKey !== '' && Buffer.byteLength(memorySealKey, 'utf8') < MIN_SECRET_LENGTH) {
    r.problem('DIXIE_MEMORY_SEAL_KEY', `must be at least ${MIN_SECRET_LENGTH} bytes`);
  } else if (memorySealKey === '' && hasDatabase && nodeEnv === 'production') {
    r.problem('DIXIE_MEMORY_SEAL_KEY', 'required in production when DATABASE_URL is set');
  } else if (memorySealKey === '' && hasDatabase) {
    r.warn('DIXIE_MEMORY_SEAL_KEY', 'empty: conversations cannot be sealed');
  }
  return { jwtPrivateKey, adminKey, scheduleCallbackSecret, memorySealKey };
}

type Stores = Pick<Config, 'databaseUrl' | 'redisUrl' | 'natsUrl' | 'databasePoolSize'>;

function readStores(r: EnvReader): Stores {
  return {
    databaseUrl: readDatabaseUrl(r),
    redisUrl: r.url('REDIS_URL', ['redis:', 'rediss:'], 'a redis:// or rediss:// URL'),
    natsUrl: readNatsUrl(r),
    databasePoolSize: r.int('DATABASE_POOL_SIZE', 10, 1, 100),
  };
}

type Http = Pick<
  Config,
  'corsOrigins' | 'rateLimitRpm' | 'rateLimitBackend' | 'trustedDocuments' | 'trustProxyHops' | 'shutdownGraceMs'
>;

function readHttp(r: EnvReader, nodeEnv: NodeEnv, port: number): Http {
  const origins = splitList(r.text('DIXIE_CORS_ORIGINS') ?? '');
  // Presence, not validity, of REDIS_URL decides: a bad REDIS_URL is already reported once.
  const hasRedis = r.text('REDIS_URL') !== undefined;
  const rateLimitBackend = r.oneOf('DIXIE_RATE_LIMIT_BACKEND', rateLimitBackendSchema, hasRedis ? 'redis' : 'memory');
  if (rateLimitBackend === 'redis' && !hasRedis) r.problem('DIXIE_RATE_LIMIT_BACKEND', 'redis requires REDIS_URL');
  if (rateLimitBackend === 'memory' && hasRedis && r.text('DIXIE_RATE_LIMIT_BACKEND') !== undefined) {
    r.warn('DIXIE_RATE_LIMIT_BACKEND', 'memory with REDIS_URL set: each instance keeps its own budget (unset it to share the budget through Redis)');
  }
  const behindLoadBalancer = nodeEnv === 'staging' || nodeEnv === 'production';
  return {
    corsOrigins: origins.includes('*') ? ['*'] : origins.length > 0 ? origins : [`http://localhost:${port}`],
    rateLimitRpm: r.int('DIXIE_RATE_LIMIT_RPM', 100, 0, 10_000),
    rateLimitBackend,
    trustedDocuments: r.oneOf('DIXIE_TRUSTED_DOCUMENTS', trustedDocumentsSchema, 'off'),
    trustProxyHops: r.int('DIXIE_TRUST_PROXY_HOPS', behindLoadBalancer ? 1 : 0, 0, 10),
    shutdownGraceMs: r.int('DIXIE_SHUTDOWN_GRACE_MS', 10_000, 0, 120_000),
  };
}

type Caching = Pick<
  Config,
  | 'memoryProjectionTtl'
  | 'memoryMaxEvents'
  | 'convictionTierTtl'
  | 'personalityTtl'
  | 'nftOwnershipTtl'
  | 'autonomousPermissionTtl'
  | 'autonomousBudget'
  | 'schedulerTickMs'
>;

function readCaching(r: EnvReader): Caching {
  const DAY = 86_400;
  return {
    memoryProjectionTtl: r.int('DIXIE_MEMORY_PROJECTION_TTL', 300, 0, DAY),
    memoryMaxEvents: r.int('DIXIE_MEMORY_MAX_EVENTS', 100, 0, 10_000),
    convictionTierTtl: r.int('DIXIE_CONVICTION_TIER_TTL', 300, 0, DAY),
    personalityTtl: r.int('DIXIE_PERSONALITY_TTL', 1800, 0, DAY),
    nftOwnershipTtl: r.int('DIXIE_NFT_OWNERSHIP_TTL', 30, 0, 3_600),
    autonomousPermissionTtl: r.int('DIXIE_AUTONOMOUS_PERMISSION_TTL', 300, 0, DAY),
    autonomousBudget: r.int('DIXIE_AUTONOMOUS_BUDGET', 100_000, 0, 1e12),
    schedulerTickMs: r.int('DIXIE_SCHEDULER_TICK_MS', 15_000, 100, 3_600_000),
  };
}

type Identity = Pick<Config, 'publicUrl' | 'siweDomain' | 'siweChainIds' | 'convictionFallbackTier'>;

function readIdentity(r: EnvReader, port: number): Identity {
  const publicUrl = r.url('DIXIE_PUBLIC_URL', HTTP, 'an http(s) URL') ?? `http://localhost:${port}`;
  // URL.host is EIP-4361's authority: host, plus :port only when the port is not the scheme default.
  let siweDomain = parseUrl(publicUrl)?.host ?? '';
  const explicitDomain = r.text('DIXIE_SIWE_DOMAIN');
  if (explicitDomain !== undefined && /[/\s@]/.test(explicitDomain)) {
    r.problem('DIXIE_SIWE_DOMAIN', `must be host[:port] without scheme or path (got "${explicitDomain}")`);
  } else if (explicitDomain !== undefined) {
    siweDomain = explicitDomain;
  }

  const fallbackTier = r.text('DIXIE_CONVICTION_FALLBACK_TIER');
  const tier = tierSchema.safeParse(fallbackTier?.toUpperCase() ?? 'ARCHITECT');
  if (!tier.success) {
    r.problem('DIXIE_CONVICTION_FALLBACK_TIER', `must be one of ${TIERS.join(', ')} (got "${fallbackTier}")`);
  }
  return {
    publicUrl,
    siweDomain,
    siweChainIds: readChainIds(r),
    convictionFallbackTier: tier.success ? tier.data : 'ARCHITECT',
  };
}
