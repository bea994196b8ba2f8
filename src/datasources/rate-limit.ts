import { Counter } from 'prom-client';
import type { DixieMetrics } from '../telemetry/metrics.js';
import { verdict, windowIndex, WINDOW_MS, type RateVerdict, type WindowCounts } from '../domain/rate-limit.js';
import type { Logger } from '../logger.js';
import type { RedisHandle } from './redis.js';

export type { RateVerdict };

export interface RateLimiter {
  /** Requests per rolling minute; 0 means disabled. */
  readonly limit: number;
  /** null when the limiter is disabled (RPM 0). */
  check(identity: string): Promise<RateVerdict | null>;
  /** Checks that failed because the Redis backend did not answer (they were let through). */
  backendFailures(): number;
  close(): void;
}

// Atomic per check: read both windows, admit or refuse, count only admitted requests.
const SCRIPT = `
local cur = tonumber(redis.call('GET', KEYS[1]) or '0')
local prev = tonumber(redis.call('GET', KEYS[2]) or '0')
local limit = tonumber(ARGV[1])
local elapsed = tonumber(ARGV[2])
local w = tonumber(ARGV[3])
if prev * (w - elapsed) / w + cur < limit then
  redis.call('INCR', KEYS[1])
  redis.call('PEXPIRE', KEYS[1], w * 2)
  return {1, cur, prev}
end
return {0, cur, prev}
`;

type RateCommand = (current: string, previous: string, limit: number, elapsed: number, windowMs: number) => Promise<[number, number, number]>;

function failureCounter(metrics: DixieMetrics | undefined): Counter | null {
  if (!metrics) return null;
  const name = 'dixie_rate_limit_backend_failures_total';
  return (
    (metrics.registry.getSingleMetric(name) as Counter | undefined) ??
    new Counter({ name, help: 'Rate-limit checks let through because Redis failed', registers: [metrics.registry] })
  );
}

export function createRateLimiter(opts: {
  limit: number;
  backend: 'memory' | 'redis';
  redis: RedisHandle | null;
  logger: Logger;
  metrics?: DixieMetrics;
  windowMs?: number;
}): RateLimiter {
  const windowMs = opts.windowMs ?? WINDOW_MS;
  const { limit } = opts;
  const disabled = { limit, check: async () => null, backendFailures: () => 0, close: () => undefined };
  if (limit <= 0) return disabled;
  const inner = opts.backend === 'redis' && opts.redis ? redisLimiter(opts.redis, limit, windowMs, opts.logger, opts.metrics) : memoryLimiter(limit, windowMs);
  return {
    ...inner,
    async check(identity) {
      const v = await inner.check(identity);
      if (v && !v.allowed) opts.metrics?.rateLimitRejections.inc();
      return v;
    },
  };
}

function memoryLimiter(limit: number, windowMs: number): RateLimiter {
  const windows = new Map<string, WindowCounts & { index: number }>();
  const sweep = setInterval(() => {
    const now = windowIndex(Date.now(), windowMs);
    for (const [k, w] of windows) if (w.index < now - 1) windows.delete(k);
  }, windowMs);
  sweep.unref();
  return {
    limit,
    async check(identity) {
      const now = Date.now();
      const index = windowIndex(now, windowMs);
      let w = windows.get(identity);
      if (!w || w.index < index - 1) w = { index, previous: 0, current: 0 };
      else if (w.index === index - 1) w = { index, previous: w.current, current: 0 };
      windows.set(identity, w);
      const v = verdict(w, now - index * windowMs, limit, windowMs);
      if (v.allowed) w.current++;
      return v;
    },
    backendFailures: () => 0,
    close: () => clearInterval(sweep),
  };
}

function redisLimiter(redis: RedisHandle, limit: number, windowMs: number, logger: Logger, metrics: DixieMetrics | undefined): RateLimiter {
  const client = redis.client as typeof redis.client & { dixieRateLimit?: RateCommand };
  if (!client.dixieRateLimit) client.defineCommand('dixieRateLimit', { numberOfKeys: 2, lua: SCRIPT });
  const counter = failureCounter(metrics);
  let failures = 0;
  let lastWarn = 0;
  return {
    limit,
    async check(identity) {
      const now = Date.now();
      const index = windowIndex(now, windowMs);
      const elapsed = now - index * windowMs;
      try {
        const keys = [`ratelimit:${identity}:${index}`, `ratelimit:${identity}:${index - 1}`] as const;
        const [, current, previous] = await (client.dixieRateLimit as RateCommand).call(client, ...keys, limit, elapsed, windowMs);
        return verdict({ current: Number(current), previous: Number(previous) }, elapsed, limit, windowMs);
      } catch (err) {
        failures++;
        counter?.inc();
        if (now - lastWarn > 10_000) {
          lastWarn = now;
          logger.warn({ event: 'rate_limit_backend_unavailable', failures, err: err instanceof Error ? err.message : String(err) }, 'rate limiter Redis unavailable; request let through');
        }
        return { allowed: true, limit, remaining: limit, retryAfterS: 0 };
      }
    },
    backendFailures: () => failures,
    close: () => undefined,
  };
}
