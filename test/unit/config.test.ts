import { describe, expect, it, vi } from 'vitest';
import { ConfigError, TIERS, loadConfig, redactUrl, type Config, type LoadedConfig } from '../../src/config.js';

const JWT_KEY = 'jwt-secret-0123456789-0123456789-abc';
const ADMIN_KEY = 'admin-secret-0123456789';
const BASE = { FINN_URL: 'http://finn:8080', DIXIE_JWT_PRIVATE_KEY: JWT_KEY, NODE_ENV: 'development' };
const PRODUCTION = { ...BASE, NODE_ENV: 'production', DIXIE_ADMIN_KEY: ADMIN_KEY };

type Env = Record<string, string | undefined>;

function load(overrides: Env = {}): LoadedConfig {
  return loadConfig({ ...BASE, ...overrides });
}

function config(overrides: Env = {}): Readonly<Config> {
  return load(overrides).config;
}

function problems(env: Env): string[] {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

function problemsWith(overrides: Env): string[] {
  return problems({ ...BASE, ...overrides });
}

describe('loadConfig defaults', () => {
  it('fills every default from a minimal development environment', () => {
    const { config: c } = load();
    expect(c).toMatchObject({
      nodeEnv: 'development',
      logLevel: 'info',
      port: 3001,
      version: '2.0.0',
      finn: {
        url: 'http://finn:8080',
        wsUrl: 'ws://finn:8080',
        authToken: '',
        timeoutMs: 5000,
        messageTimeoutMs: 120_000,
        circuitFailures: 3,
        circuitRecoveryMs: 30_000,
      },
      jwtPrivateKey: JWT_KEY,
      adminKey: '',
      allowlistPath: '/data/allowlist.json',
      scheduleCallbackSecret: '',
      databaseUrl: null,
      redisUrl: null,
      natsUrl: null,
      databasePoolSize: 10,
      corsOrigins: ['http://localhost:3001'],
      rateLimitRpm: 100,
      rateLimitBackend: 'memory',
      memoryProjectionTtl: 300,
      memoryMaxEvents: 100,
      convictionTierTtl: 300,
      personalityTtl: 1800,
      autonomousPermissionTtl: 300,
      autonomousBudget: 100_000,
      otelEndpoint: null,
      publicUrl: 'http://localhost:3001',
      siweDomain: 'localhost:3001',
      siweChainIds: [1, 80094],
      convictionFallbackTier: 'ARCHITECT',
      memorySealKey: '',
      trustedDocuments: 'off',
      trustProxyHops: 0,
      shutdownGraceMs: 10_000,
    });
  });

  it('treats empty strings as unset for optional variables', () => {
    const c = config({ DIXIE_PORT: '', LOG_LEVEL: '', DATABASE_URL: '', REDIS_URL: '  ', DIXIE_CORS_ORIGINS: '' });
    expect([c.port, c.logLevel, c.databaseUrl, c.redisUrl, c.corsOrigins]).toEqual([
      3001,
      'info',
      null,
      null,
      ['http://localhost:3001'],
    ]);
  });

  it('reads explicit values', () => {
    const c = config({
      FINN_AUTH_TOKEN: 'finn-token',
      DIXIE_ALLOWLIST_PATH: '/tmp/allow.json',
      DIXIE_FINN_TIMEOUT_MS: '2500',
      DIXIE_FINN_MESSAGE_TIMEOUT_MS: '60000',
      DIXIE_FINN_CIRCUIT_FAILURES: '5',
      DIXIE_FINN_CIRCUIT_RECOVERY_MS: '10000',
      DIXIE_CONVICTION_TIER_TTL: '60',
      DIXIE_PERSONALITY_TTL: '900',
      DIXIE_AUTONOMOUS_PERMISSION_TTL: '120',
      DIXIE_AUTONOMOUS_BUDGET: '5000000',
      DIXIE_TRUSTED_DOCUMENTS: 'enforce',
      DIXIE_SHUTDOWN_GRACE_MS: '2000',
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://otel:4317',
      LOG_LEVEL: 'debug',
    });
    expect(c.finn).toMatchObject({
      authToken: 'finn-token',
      timeoutMs: 2500,
      messageTimeoutMs: 60_000,
      circuitFailures: 5,
      circuitRecoveryMs: 10_000,
    });
    expect(c).toMatchObject({
      allowlistPath: '/tmp/allow.json',
      convictionTierTtl: 60,
      personalityTtl: 900,
      autonomousPermissionTtl: 120,
      autonomousBudget: 5_000_000,
      trustedDocuments: 'enforce',
      shutdownGraceMs: 2000,
      otelEndpoint: 'http://otel:4317',
      logLevel: 'debug',
    });
  });

  it('reads process.env when no environment is passed', () => {
    vi.stubEnv('FINN_URL', 'https://finn.from-process.example');
    vi.stubEnv('NODE_ENV', 'test');
    vi.stubEnv('DIXIE_PORT', '4321');
    try {
      const c = loadConfig().config;
      expect([c.finn.url, c.nodeEnv, c.port]).toEqual(['https://finn.from-process.example', 'test', 4321]);
    } finally {
      vi.unstubAllEnvs();
    }
  });
});

describe('Finn URLs', () => {
  it('requires FINN_URL', () => {
    expect(problems({ DIXIE_JWT_PRIVATE_KEY: JWT_KEY })).toEqual(['FINN_URL: required']);
  });

  it.each([
    ['ftp://finn', 'FINN_URL: must be an http(s) URL (got scheme "ftp:")'],
    ['finn:8080', 'FINN_URL: must be an http(s) URL (got scheme "finn:")'],
    ['not a url', 'FINN_URL: must be an http(s) URL (not a URL)'],
  ])('rejects FINN_URL=%s', (value, problem) => {
    expect(problemsWith({ FINN_URL: value })).toEqual([problem]);
  });

  it('removes trailing slashes', () => {
    expect(config({ FINN_URL: 'https://finn.example/api//' }).finn.url).toBe('https://finn.example/api');
  });

  it.each([
    ['http://finn:8080', 'ws://finn:8080'],
    ['https://finn.example/', 'wss://finn.example'],
  ])('derives FINN_WS_URL from %s', (url, wsUrl) => {
    expect(config({ FINN_URL: url }).finn.wsUrl).toBe(wsUrl);
  });

  it('takes an explicit FINN_WS_URL over the derived one', () => {
    expect(config({ FINN_WS_URL: 'wss://stream.finn.example/' }).finn.wsUrl).toBe('wss://stream.finn.example');
  });

  it('rejects a FINN_WS_URL that is not ws(s)', () => {
    expect(problemsWith({ FINN_WS_URL: 'http://finn:8080' })).toEqual([
      'FINN_WS_URL: must be a ws(s) URL (got scheme "http:")',
    ]);
  });
});

describe('enumerations', () => {
  it('rejects an unknown LOG_LEVEL', () => {
    expect(problemsWith({ LOG_LEVEL: 'verbose' })).toEqual([
      'LOG_LEVEL: must be one of debug, info, warn, error (got "verbose")',
    ]);
  });

  it('rejects an unknown NODE_ENV', () => {
    expect(problemsWith({ NODE_ENV: 'prod' })).toEqual([
      'NODE_ENV: must be one of development, test, staging, production (got "prod")',
    ]);
  });

  it('accepts each NODE_ENV', () => {
    for (const nodeEnv of ['development', 'test', 'staging', 'production']) {
      expect(loadConfig({ ...PRODUCTION, NODE_ENV: nodeEnv }).config.nodeEnv).toBe(nodeEnv);
    }
  });

  it('rejects an unknown DIXIE_TRUSTED_DOCUMENTS', () => {
    expect(problemsWith({ DIXIE_TRUSTED_DOCUMENTS: 'strict' })).toEqual([
      'DIXIE_TRUSTED_DOCUMENTS: must be one of off, log, enforce (got "strict")',
    ]);
  });
});

describe('secrets', () => {
  it.each(['development', 'staging', 'production'])('requires DIXIE_JWT_PRIVATE_KEY in %s', (nodeEnv) => {
    expect(problems({ ...PRODUCTION, NODE_ENV: nodeEnv, DIXIE_JWT_PRIVATE_KEY: '' })).toEqual([
      'DIXIE_JWT_PRIVATE_KEY: required unless NODE_ENV=test',
    ]);
  });

  it('rejects a JWT key shorter than 32 characters outside test', () => {
    expect(problemsWith({ DIXIE_JWT_PRIVATE_KEY: 'x'.repeat(31) })).toEqual([
      'DIXIE_JWT_PRIVATE_KEY: must be at least 32 characters',
    ]);
    expect(config({ DIXIE_JWT_PRIVATE_KEY: 'x'.repeat(32) }).jwtPrivateKey).toBe('x'.repeat(32));
  });

  it('allows an empty JWT key in test, but not a short one', () => {
    expect(config({ NODE_ENV: 'test', DIXIE_JWT_PRIVATE_KEY: undefined }).jwtPrivateKey).toBe('');
    expect(problemsWith({ NODE_ENV: 'test', DIXIE_JWT_PRIVATE_KEY: 'short' })).toEqual([
      'DIXIE_JWT_PRIVATE_KEY: must be at least 32 characters',
    ]);
  });

  it('requires DIXIE_ADMIN_KEY in production', () => {
    expect(problems({ ...PRODUCTION, DIXIE_ADMIN_KEY: '' })).toEqual(['DIXIE_ADMIN_KEY: required in production']);
    expect(loadConfig(PRODUCTION).config.adminKey).toBe(ADMIN_KEY);
  });

  it('allows an empty DIXIE_ADMIN_KEY in development with a warning', () => {
    const { config: c, warnings } = load();
    expect(c.adminKey).toBe('');
    expect(warnings).toContain('DIXIE_ADMIN_KEY: empty: /metrics and /api/health/governance are open and the admin API is off (allowed only outside production)');
  });

  it('warns that an empty schedule callback secret rejects every callback', () => {
    expect(load().warnings).toContain(
      'DIXIE_SCHEDULE_CALLBACK_SECRET: empty: every schedule callback from Finn will be rejected',
    );
    const { config: c, warnings } = load({ DIXIE_SCHEDULE_CALLBACK_SECRET: 'cb-secret' });
    expect(c.scheduleCallbackSecret).toBe('cb-secret');
    expect(warnings.some((w) => w.startsWith('DIXIE_SCHEDULE_CALLBACK_SECRET'))).toBe(false);
  });

  it('keeps secrets untrimmed so they match the other side exactly, and warns about edge whitespace', () => {
    const { config: c, warnings } = load({ FINN_AUTH_TOKEN: ' token ', DIXIE_SCHEDULE_CALLBACK_SECRET: 'cb-secret\n' });
    expect(c.finn.authToken).toBe(' token ');
    expect(c.scheduleCallbackSecret).toBe('cb-secret\n');
    const edge = 'has leading or trailing whitespace, used as part of the secret (a newline left from a file?)';
    expect(warnings).toEqual(expect.arrayContaining([`FINN_AUTH_TOKEN: ${edge}`, `DIXIE_SCHEDULE_CALLBACK_SECRET: ${edge}`]));
    expect(warnings.join('\n')).not.toContain('cb-secret');
  });

  it('refuses a Finn token an HTTP header cannot carry', () => {
    expect(problemsWith({ FINN_AUTH_TOKEN: 'tok\nen' })).toEqual(['FINN_AUTH_TOKEN: contains a line break or control character, which an HTTP header cannot carry']);
  });

  it('trims the admin key, which clients send in a header that loses edge whitespace', () => {
    const { config: c, warnings } = load({ DIXIE_ADMIN_KEY: `${ADMIN_KEY}\n` });
    expect(c.adminKey).toBe(ADMIN_KEY);
    expect(warnings).toContain('DIXIE_ADMIN_KEY: leading or trailing whitespace removed: a header cannot carry it');
    expect(problemsWith({ DIXIE_ADMIN_KEY: 'ad\u0000min' })).toEqual(['DIXIE_ADMIN_KEY: contains a line break or control character, which an HTTP header cannot carry']);
  });

  it('warns when DIXIE_RATE_LIMIT_BACKEND=memory keeps per-instance budgets although REDIS_URL is set', () => {
    const chosen = load({ REDIS_URL: 'redis://127.0.0.1:6379', DIXIE_RATE_LIMIT_BACKEND: 'memory' });
    expect(chosen.config.rateLimitBackend).toBe('memory');
    expect(chosen.warnings).toContain('DIXIE_RATE_LIMIT_BACKEND: memory with REDIS_URL set: each instance keeps its own budget (unset it to share the budget through Redis)');
    const upgraded = load({ REDIS_URL: 'redis://127.0.0.1:6379' });
    expect(upgraded.config.rateLimitBackend).toBe('redis');
    expect(upgraded.warnings.some((w) => w.startsWith('DIXIE_RATE_LIMIT_BACKEND'))).toBe(false);
  });
});

describe('memory seal key', () => {
  const sealKey = 's'.repeat(32);

  it('rejects a key shorter than 32 bytes', () => {
    expect(problemsWith({ DIXIE_MEMORY_SEAL_KEY: 's'.repeat(31) })).toEqual([
      'DIXIE_MEMORY_SEAL_KEY: must be at least 32 bytes',
    ]);
  });

  it('counts UTF-8 bytes, not characters', () => {
    expect(config({ DIXIE_MEMORY_SEAL_KEY: 'é'.repeat(16) }).memorySealKey).toBe('é'.repeat(16));
    expect(problemsWith({ DIXIE_MEMORY_SEAL_KEY: 'é'.repeat(15) })).toHaveLength(1);
  });

  it('is required in production when DATABASE_URL is set', () => {
    expect(problems({ ...PRODUCTION, DATABASE_URL: 'postgres://db/dixie' })).toEqual([
      'DIXIE_MEMORY_SEAL_KEY: required in production when DATABASE_URL is set',
    ]);
    const c = loadConfig({ ...PRODUCTION, DATABASE_URL: 'postgres://db/dixie', DIXIE_MEMORY_SEAL_KEY: sealKey }).config;
    expect(c.memorySealKey).toBe(sealKey);
  });

  it('is optional in production without a database and outside production', () => {
    expect(loadConfig(PRODUCTION).config.memorySealKey).toBe('');
    const { config: c, warnings } = load({ DATABASE_URL: 'pglite:memory' });
    expect(c.memorySealKey).toBe('');
    expect(warnings).toContain('DIXIE_MEMORY_SEAL_KEY: empty: conversations cannot be sealed');
  });
});

describe('integers', () => {
  it.each([
    ['DIXIE_PORT', '70000', 'port', 65535],
    ['DIXIE_PORT', '-1', 'port', 0],
    ['DATABASE_POOL_SIZE', '0', 'databasePoolSize', 1],
    ['DATABASE_POOL_SIZE', '500', 'databasePoolSize', 100],
    ['DIXIE_RATE_LIMIT_RPM', '20000', 'rateLimitRpm', 10000],
    ['DIXIE_MEMORY_PROJECTION_TTL', '100000', 'memoryProjectionTtl', 86400],
    ['DIXIE_MEMORY_MAX_EVENTS', '10001', 'memoryMaxEvents', 10000],
    ['DIXIE_TRUST_PROXY_HOPS', '11', 'trustProxyHops', 10],
  ] as const)('clamps %s=%s with a warning', (name, value, key, expected) => {
    const { config: c, warnings } = load({ [name]: value });
    expect(c[key]).toBe(expected);
    expect(warnings).toContain(`${name}: ${value} clamped to ${expected}`);
  });

  it('accepts in-range values without a clamp warning', () => {
    const { config: c, warnings } = load({ DIXIE_PORT: '0', DATABASE_POOL_SIZE: '100', DIXIE_RATE_LIMIT_RPM: '0' });
    expect([c.port, c.databasePoolSize, c.rateLimitRpm]).toEqual([0, 100, 0]);
    expect(warnings.filter((w) => w.includes('clamped'))).toEqual([]);
  });

  it.each(['abc', '12x', '1.5', '1e3', '0x10'])('rejects non-integer text %s', (value) => {
    expect(problemsWith({ DIXIE_PORT: value, DIXIE_MEMORY_MAX_EVENTS: value })).toEqual([
      `DIXIE_PORT: must be a base-10 integer (got "${value}")`,
      `DIXIE_MEMORY_MAX_EVENTS: must be a base-10 integer (got "${value}")`,
    ]);
  });

  it('trims surrounding whitespace', () => {
    expect(config({ DIXIE_PORT: ' 8080 ' }).port).toBe(8080);
  });
});

describe('problem reporting', () => {
  it('reports every problem together, one line each', () => {
    let caught: unknown;
    try {
      loadConfig({ LOG_LEVEL: 'verbose', DIXIE_PORT: 'abc', NODE_ENV: 'staging', DATABASE_URL: 'mysql://db' });
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(ConfigError);
    expect(caught).toBeInstanceOf(Error);
    const error = caught as ConfigError;
    expect(error.problems).toEqual([
      'LOG_LEVEL: must be one of debug, info, warn, error (got "verbose")',
      'DIXIE_PORT: must be a base-10 integer (got "abc")',
      'FINN_URL: required',
      'DIXIE_JWT_PRIVATE_KEY: required unless NODE_ENV=test',
      'DATABASE_URL: must be a postgres:// or postgresql:// URL, pglite:memory or pglite:<dir> (got scheme "mysql:")',
    ]);
    expect(error.message).toBe(error.problems.join('\n'));
    expect(error.name).toBe('ConfigError');
  });

  it('never puts a secret value in problems or warnings', () => {
    const secrets = {
      DIXIE_JWT_PRIVATE_KEY: 'jwt-leak-1',
      DIXIE_ADMIN_KEY: '',
      DIXIE_SCHEDULE_CALLBACK_SECRET: '',
      FINN_AUTH_TOKEN: 'finn-token-leak-2',
      DIXIE_MEMORY_SEAL_KEY: 'seal-leak-3',
      FINN_URL: 'ftp://user:finn-pass-leak-4@finn',
      DATABASE_URL: 'mysql://user:db-pass-leak-5@db/dixie',
      REDIS_URL: 'memcached://:redis-pass-leak-6@cache',
      NATS_URL: 'http://user:nats-pass-leak-7@nats',
      NODE_ENV: 'production',
    };
    const reported = problems(secrets);
    expect(reported).toHaveLength(7);
    const text = reported.join('\n');
    for (const leak of ['jwt-leak', 'finn-token-leak', 'seal-leak', 'finn-pass', 'db-pass', 'redis-pass', 'nats-pass']) {
      expect(text).not.toContain(leak);
    }

    const ok = load({
      DIXIE_MEMORY_SEAL_KEY: 'seal-ok-leak-'.padEnd(40, 'x'),
      DATABASE_URL: 'postgres://user:db-ok-leak@db/dixie',
      DIXIE_PORT: '99999',
    });
    expect(ok.warnings.length).toBeGreaterThan(0);
    expect(ok.warnings.join('\n')).not.toMatch(/leak|jwt-secret/);
  });
});

describe('stores', () => {
  it.each([
    'postgres://user:pw@db:5432/dixie',
    'postgresql://db/dixie?sslmode=require',
    'pglite:memory',
    'pglite:./.dixie/pg',
  ])('accepts DATABASE_URL=%s', (url) => {
    expect(config({ DATABASE_URL: url, DIXIE_MEMORY_SEAL_KEY: 'k'.repeat(32) }).databaseUrl).toBe(url);
  });

  it.each(['pglite:', 'mysql://db/dixie', 'localhost:5432', 'pglite'])('rejects DATABASE_URL=%s', (url) => {
    const reported = problemsWith({ DATABASE_URL: url });
    expect(reported).toHaveLength(1);
    expect(reported[0]).toMatch(/^DATABASE_URL: must be a postgres:\/\/ or postgresql:\/\/ URL/);
  });

  it('accepts redis:// and rediss:// only', () => {
    expect(config({ REDIS_URL: 'rediss://:pw@cache:6380' }).redisUrl).toBe('rediss://:pw@cache:6380');
    expect(problemsWith({ REDIS_URL: 'http://cache' })).toEqual([
      'REDIS_URL: must be a redis:// or rediss:// URL (got scheme "http:")',
    ]);
  });

  it('accepts NATS server lists', () => {
    expect(config({ NATS_URL: 'nats://a:4222, tls://b:4222,ws://c, wss://d,localhost:4222,' }).natsUrl).toBe(
      'nats://a:4222,tls://b:4222,ws://c,wss://d,localhost:4222',
    );
    expect(problemsWith({ NATS_URL: 'nats://a:4222,http://b' })).toEqual([
      'NATS_URL: each server must be a nats://, tls://, ws:// or wss:// URL or host:port (got scheme "http:")',
    ]);
  });

  it('rejects a non-http OTEL endpoint', () => {
    expect(problemsWith({ OTEL_EXPORTER_OTLP_ENDPOINT: 'otel:4317' })).toEqual([
      'OTEL_EXPORTER_OTLP_ENDPOINT: must be an http(s) URL (got scheme "otel:")',
    ]);
  });
});

describe('rate limiting', () => {
  it('defaults to memory without REDIS_URL and to redis with it', () => {
    expect(config().rateLimitBackend).toBe('memory');
    expect(config({ REDIS_URL: 'redis://cache:6379' }).rateLimitBackend).toBe('redis');
  });

  it('honours an explicit memory backend even with REDIS_URL', () => {
    expect(config({ REDIS_URL: 'redis://cache', DIXIE_RATE_LIMIT_BACKEND: 'memory' }).rateLimitBackend).toBe('memory');
  });

  it('rejects redis without REDIS_URL and unknown backends', () => {
    expect(problemsWith({ DIXIE_RATE_LIMIT_BACKEND: 'redis' })).toEqual([
      'DIXIE_RATE_LIMIT_BACKEND: redis requires REDIS_URL',
    ]);
    expect(problemsWith({ DIXIE_RATE_LIMIT_BACKEND: 'dynamo' })).toEqual([
      'DIXIE_RATE_LIMIT_BACKEND: must be one of memory, redis (got "dynamo")',
    ]);
  });
});

describe('HTTP surface', () => {
  it('defaults CORS to localhost on the resolved port', () => {
    expect(config({ DIXIE_PORT: '4000' }).corsOrigins).toEqual(['http://localhost:4000']);
    expect(config({ DIXIE_PORT: '70000' }).corsOrigins).toEqual(['http://localhost:65535']);
  });

  it('splits, trims and drops empty CORS origins; * means any', () => {
    expect(config({ DIXIE_CORS_ORIGINS: ' https://a.example , ,https://b.example,' }).corsOrigins).toEqual([
      'https://a.example',
      'https://b.example',
    ]);
    expect(config({ DIXIE_CORS_ORIGINS: '*' }).corsOrigins).toEqual(['*']);
  });

  it.each([
    ['development', 0],
    ['test', 0],
    ['staging', 1],
    ['production', 1],
  ])('trusts %s proxy hops by default: %i', (nodeEnv, hops) => {
    expect(loadConfig({ ...PRODUCTION, NODE_ENV: nodeEnv }).config.trustProxyHops).toBe(hops);
  });

  it('takes an explicit DIXIE_TRUST_PROXY_HOPS', () => {
    expect(loadConfig({ ...PRODUCTION, DIXIE_TRUST_PROXY_HOPS: '0' }).config.trustProxyHops).toBe(0);
    expect(config({ DIXIE_TRUST_PROXY_HOPS: '2' }).trustProxyHops).toBe(2);
  });
});

describe('identity', () => {
  it('defaults the public URL and SIWE domain to localhost on the port', () => {
    const c = config({ DIXIE_PORT: '4000' });
    expect([c.publicUrl, c.siweDomain]).toEqual(['http://localhost:4000', 'localhost:4000']);
  });

  it('derives the SIWE domain without a port when the URL has none', () => {
    const c = config({ DIXIE_PUBLIC_URL: 'https://dixie.example.com/' });
    expect([c.publicUrl, c.siweDomain]).toEqual(['https://dixie.example.com', 'dixie.example.com']);
  });

  it('derives the SIWE domain with the port when the URL has one', () => {
    expect(config({ DIXIE_PUBLIC_URL: 'https://dixie.example.com:8443/base' }).siweDomain).toBe(
      'dixie.example.com:8443',
    );
  });

  it('takes an explicit SIWE domain and rejects one with a scheme', () => {
    expect(config({ DIXIE_SIWE_DOMAIN: 'app.example.com' }).siweDomain).toBe('app.example.com');
    expect(problemsWith({ DIXIE_SIWE_DOMAIN: 'https://app.example.com' })).toEqual([
      'DIXIE_SIWE_DOMAIN: must be host[:port] without scheme or path (got "https://app.example.com")',
    ]);
  });

  it('rejects a non-http public URL', () => {
    expect(problemsWith({ DIXIE_PUBLIC_URL: 'ftp://dixie' })).toEqual([
      'DIXIE_PUBLIC_URL: must be an http(s) URL (got scheme "ftp:")',
    ]);
  });

  it('parses chain ids', () => {
    expect(config({ DIXIE_SIWE_CHAIN_IDS: ' 1, 137 ,,80094' }).siweChainIds).toEqual([1, 137, 80094]);
    expect(problemsWith({ DIXIE_SIWE_CHAIN_IDS: '1,abc,0,-5' })).toEqual([
      'DIXIE_SIWE_CHAIN_IDS: must be positive integers separated by commas (got "abc", "0", "-5")',
    ]);
  });

  it('reads the conviction fallback tier case-insensitively', () => {
    expect(config({ DIXIE_CONVICTION_FALLBACK_TIER: 'builder' }).convictionFallbackTier).toBe('BUILDER');
    expect(problemsWith({ DIXIE_CONVICTION_FALLBACK_TIER: 'king' })).toEqual([
      'DIXIE_CONVICTION_FALLBACK_TIER: must be one of OBSERVER, PARTICIPANT, BUILDER, ARCHITECT, SOVEREIGN (got "king")',
    ]);
  });

  it('lists tiers in ascending order', () => {
    expect(TIERS).toEqual(['OBSERVER', 'PARTICIPANT', 'BUILDER', 'ARCHITECT', 'SOVEREIGN']);
  });
});

describe('result', () => {
  it('is deeply frozen', () => {
    const c = config() as Config;
    expect(Object.isFrozen(c)).toBe(true);
    expect(Object.isFrozen(c.finn)).toBe(true);
    expect(Object.isFrozen(c.corsOrigins)).toBe(true);
    expect(Object.isFrozen(c.siweChainIds)).toBe(true);
    expect(() => {
      c.port = 1;
    }).toThrow(TypeError);
    expect(() => {
      c.finn.url = 'http://elsewhere';
    }).toThrow(TypeError);
    expect(() => c.corsOrigins.push('*')).toThrow(TypeError);
    expect(c.port).toBe(3001);
  });
});

describe('redactUrl', () => {
  it.each([
    ['postgres://dixie:hunter2@db:5432/dixie', 'postgres://dixie:***@db:5432/dixie'],
    ['redis://:s3cret@cache:6379/0', 'redis://:***@cache:6379/0'],
    ['https://user:p%40ss@host/path?q=a@b', 'https://user:***@host/path?q=a@b'],
    ['postgres://u:pa/ss@db/dixie', 'postgres://u:***@db/dixie'],
    ['http://host:8080/a@b', 'http://host:8080/a@b'],
    ['nats://nats:4222', 'nats://nats:4222'],
    ['pglite:memory', 'pglite:memory'],
  ])('redacts %s', (url, expected) => {
    expect(redactUrl(url)).toBe(expected);
  });
});
