import type { PubSub } from 'graphql-yoga';
import { finnStatus, overallStatus, type HealthReport, type InfraHealth } from '../domain/health.js';
import { createCachedProbe, type CachedProbe } from './cached-probe.js';
import { createBoundedPubSub, subscriptionEventTarget } from './events.js';
import { withTimeout } from './postgres/db.js';
import type { Db } from './postgres/index.js';
import type { Finn } from './finn/index.js';
import type { GovernorRegistry } from './governors.js';
import type { KnowledgeSource } from './knowledge.js';
import type { NatsHandle } from './nats.js';
import type { RedisHandle } from './redis.js';

export interface HealthOptions {
  finnProbeTtlMs: number;
  infraProbeTtlMs: number;
  probeTimeoutMs: number;
  /** Finn's probe must outlive the 500 ms "slow" threshold to tell slow from down. */
  finnProbeTimeoutMs: number;
  /** How long a health read may wait for a refreshing probe before answering with the last result. */
  waitMs: number;
  /** How often the monitor behind `healthChanged` re-evaluates. */
  monitorIntervalMs: number;
  /** How long one assembled report is reused (the circuit state stays live). */
  reportReuseMs: number;
}

export const DEFAULT_HEALTH_OPTIONS: HealthOptions = {
  finnProbeTtlMs: 10_000,
  infraProbeTtlMs: 5_000,
  probeTimeoutMs: 2_000,
  finnProbeTimeoutMs: 2_000,
  waitMs: 20,
  monitorIntervalMs: 5_000,
  reportReuseMs: 100,
};

export interface HealthDeps {
  version: string;
  finn: Finn;
  knowledge: KnowledgeSource;
  governors: GovernorRegistry;
  db: Db | null;
  redis: RedisHandle | null;
  nats: NatsHandle | null;
  options?: Partial<HealthOptions>;
}

export interface HealthService {
  report(): Promise<HealthReport>;
  /** The same report serialised once per reuse window (the REST body). */
  reportJson(): Promise<string>;
  /** Emits a report when the overall status or the circuit state changes. */
  changes: PubSub<{ healthChanged: [HealthReport] }>;
  start(): void;
  stop(): void;
}

interface Probe {
  ok: boolean;
  latencyMs: number | null;
  error?: string;
}

const PENDING: Probe = { ok: false, latencyMs: null, error: 'not probed yet' };

function probeOf(run: () => Promise<number>, ttlMs: number, waitMs: number): CachedProbe<Probe> {
  return createCachedProbe<Probe>({
    run: () => run().then((latencyMs) => ({ ok: true, latencyMs }), () => ({ ok: false, latencyMs: null, error: 'probe failed' })),
    initial: PENDING,
    ttlMs,
    waitMs,
  });
}

export function createHealthService(deps: HealthDeps): HealthService {
  const o = { ...DEFAULT_HEALTH_OPTIONS, ...deps.options };
  const startedAt = Date.now();
  const { db, redis, nats } = deps;
  const finnProbe = probeOf(
    async () => {
      const start = performance.now();
      await deps.finn.client.health({ timeoutMs: o.finnProbeTimeoutMs });
      return Math.round(performance.now() - start);
    },
    o.finnProbeTtlMs,
    o.waitMs,
  );
  const pgProbe = db ? probeOf(() => db.ping(o.probeTimeoutMs), o.infraProbeTtlMs, o.waitMs) : null;
  let redisPong = true;
  const redisProbe = redis
    ? probeOf(
        async () => {
          const r = await redis.ping(o.probeTimeoutMs);
          redisPong = r.pong;
          return r.latencyMs;
        },
        o.infraProbeTtlMs,
        o.waitMs,
      )
    : null;
  const reputation = createCachedProbe({
    run: async () => {
      if (!db) return { initialized: false, aggregate_count: 0 };
      try {
        const r = await withTimeout(db.query<{ n: string }>('SELECT count(*)::text AS n FROM reputation_aggregates'), o.probeTimeoutMs, 'reputation count');
        return { initialized: true, aggregate_count: Number(r.rows[0]?.n ?? 0) };
      } catch {
        return { initialized: false, aggregate_count: 0 };
      }
    },
    initial: { initialized: false, aggregate_count: 0 },
    ttlMs: o.infraProbeTtlMs,
    waitMs: o.waitMs,
  });

  async function infrastructure(): Promise<InfraHealth | undefined> {
    if (!pgProbe && !redisProbe && !nats) return undefined;
    const infra: InfraHealth = {};
    if (pgProbe) {
      const p = await pgProbe.get();
      infra.postgresql = p.ok ? { status: 'healthy', latency_ms: p.latencyMs } : { status: 'unreachable', latency_ms: null, error: p.error };
    }
    if (redisProbe) {
      const p = await redisProbe.get();
      infra.redis = !p.ok
        ? { status: 'unreachable', latency_ms: null, error: p.error }
        : { status: redisPong ? 'healthy' : 'degraded', latency_ms: p.latencyMs };
    }
    if (nats) infra.nats = nats.isUp() ? { status: 'healthy' } : { status: 'unreachable', error: 'not connected' };
    return infra;
  }

  async function build(): Promise<HealthReport> {
    const [probe, infra, corpus, governors, rep] = await Promise.all([
      finnProbe.get(),
      infrastructure(),
      deps.knowledge.corpus(),
      deps.governors.cachedReadings(),
      reputation.get(),
    ]);
    const circuit = deps.finn.breaker.state();
    const status = finnStatus(probe, circuit);
    const loaFinn = { status, latency_ms: probe.latencyMs, circuit_state: circuit, ...(status !== 'healthy' ? { error: status === 'unreachable' ? 'Finn is unreachable' : 'Finn is slow' } : {}) };
    return {
      status: overallStatus(loaFinn, infra),
      version: deps.version,
      uptime_seconds: Math.floor((Date.now() - startedAt) / 1000),
      services: { dixie: { status: 'healthy' }, loa_finn: loaFinn, knowledge_corpus: corpus },
      ...(infra ? { infrastructure: infra } : {}),
      reputation_service: rep,
      governance: {
        governor_count: governors.length,
        resource_types: governors.map((g) => g.resourceType),
        // A governor that cannot report (its database fails or hangs) is not known to be healthy.
        health: governors.some((g) => g.reading?.status !== 'healthy') ? 'degraded' : 'healthy',
      },
      timestamp: new Date().toISOString(),
    };
  }

  // Probes are cached already; reusing the assembled report for a moment keeps /api/health cheap
  // under polling load. A circuit transition invalidates it at once: circuit_state is always live.
  let lastReport: { at: number; circuit: string; report: Promise<HealthReport>; json?: Promise<string> } | null = null;
  function current() {
    const now = performance.now();
    const circuit = deps.finn.breaker.state();
    if (lastReport && now - lastReport.at < o.reportReuseMs && lastReport.circuit === circuit) return lastReport;
    const fresh = build();
    const entry: NonNullable<typeof lastReport> = { at: now, circuit, report: fresh };
    lastReport = entry;
    fresh.catch(() => {
      if (lastReport === entry) lastReport = null;
    });
    return entry;
  }
  const report = () => current().report;
  function reportJson(): Promise<string> {
    const entry = current();
    entry.json ??= entry.report.then((r) => JSON.stringify(r));
    return entry.json;
  }

  const changes = createBoundedPubSub<{ healthChanged: [HealthReport] }>(subscriptionEventTarget());
  let last: string | null = null;
  let timer: NodeJS.Timeout | undefined;
  let offBreaker: (() => void) | undefined;
  const evaluate = async () => {
    const r = await report();
    const key = `${r.status}|${r.services.loa_finn.circuit_state}`;
    if (last !== null && key !== last) changes.publish('healthChanged', r);
    last = key;
  };

  return {
    report,
    reportJson,
    changes,
    start() {
      void evaluate();
      timer = setInterval(() => void evaluate(), o.monitorIntervalMs);
      timer.unref();
      offBreaker = deps.finn.breaker.onChange(() => void evaluate());
    },
    stop() {
      clearInterval(timer);
      offBreaker?.();
    },
  };
}
