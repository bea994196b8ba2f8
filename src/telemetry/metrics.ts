import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { CircuitStateName } from '../datasources/finn/breaker.js';
import type { PoolStats } from '../datasources/postgres/db.js';

/** Live readings the gauges take at scrape time; each source is attached by whoever owns it. */
export interface MetricSources {
  circuitState?: () => CircuitStateName;
  openSockets?: () => number;
  poolStats?: () => PoolStats;
  redisUp?: () => boolean;
  natsUp?: () => boolean;
}

export interface DixieMetrics {
  /** Per app, never the global registry: two instances in one process must not clash. */
  readonly registry: Registry;
  readonly httpRequests: Counter<'method' | 'route' | 'status'>;
  readonly httpDuration: Histogram<'method' | 'route' | 'status'>;
  readonly graphqlOperations: Counter<'operation' | 'type' | 'outcome'>;
  readonly graphqlDuration: Histogram<'operation' | 'type' | 'outcome'>;
  readonly finnRequests: Counter<'method' | 'route' | 'status'>;
  readonly finnDuration: Histogram<'method' | 'route'>;
  readonly activeSubscriptions: Gauge;
  /** Incremented by the rate limiter for every rejected request. */
  readonly rateLimitRejections: Counter;
  /** Attach (or replace) gauge sources. */
  observe(sources: MetricSources): void;
}

export const CIRCUIT_STATE_VALUE: Record<CircuitStateName, number> = { CLOSED: 0, HALF_OPEN: 1, OPEN: 2 };

const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

export function createMetrics(): DixieMetrics {
  const registry = new Registry();
  const sources: MetricSources = {};
  const registers = [registry];
  collectDefaultMetrics({ register: registry });

  const gauge = (name: string, help: string, read: () => number | undefined): void => {
    const g: Gauge = new Gauge({
      name,
      help,
      registers,
      collect() {
        const v = read();
        if (v !== undefined) g.set(v);
      },
    });
  };
  gauge('dixie_finn_circuit_state', 'Finn circuit breaker: 0 closed, 1 half-open, 2 open', () =>
    sources.circuitState ? CIRCUIT_STATE_VALUE[sources.circuitState()] : undefined,
  );
  gauge('dixie_websocket_connections_open', 'Open GraphQL WebSocket connections', () => sources.openSockets?.() ?? 0);
  const pool = new Gauge({
    name: 'dixie_pg_pool_clients',
    help: 'PostgreSQL pool clients by state (in_use, idle, waiting)',
    labelNames: ['state'] as const,
    registers,
    collect() {
      const s = sources.poolStats?.();
      if (!s) return;
      pool.set({ state: 'in_use' }, s.total - s.idle);
      pool.set({ state: 'idle' }, s.idle);
      pool.set({ state: 'waiting' }, s.waiting);
    },
  });
  const up = new Gauge({
    name: 'dixie_dependency_up',
    help: 'Connection state of optional backends (1 connected, 0 not)',
    labelNames: ['dependency'] as const,
    registers,
    collect() {
      if (sources.redisUp) up.set({ dependency: 'redis' }, sources.redisUp() ? 1 : 0);
      if (sources.natsUp) up.set({ dependency: 'nats' }, sources.natsUp() ? 1 : 0);
    },
  });

  return {
    registry,
    httpRequests: new Counter({ name: 'dixie_http_requests_total', help: 'HTTP requests by route and status', labelNames: ['method', 'route', 'status'], registers }),
    httpDuration: new Histogram({
      name: 'dixie_http_request_duration_seconds',
      help: 'HTTP request latency by route and status',
      labelNames: ['method', 'route', 'status'],
      buckets: LATENCY_BUCKETS,
      registers,
    }),
    graphqlOperations: new Counter({
      name: 'dixie_graphql_operations_total',
      help: 'GraphQL operations by name, type and outcome (ok, error; refused at parse or validation counts as error)',
      labelNames: ['operation', 'type', 'outcome'],
      registers,
    }),
    graphqlDuration: new Histogram({
      name: 'dixie_graphql_operation_duration_seconds',
      help: 'GraphQL latency by operation name, type and outcome (parse or validation time when refused)',
      labelNames: ['operation', 'type', 'outcome'],
      buckets: LATENCY_BUCKETS,
      registers,
    }),
    finnRequests: new Counter({
      name: 'dixie_finn_requests_total',
      help: 'Finn HTTP calls by route and status (HTTP status, error, circuit_open)',
      labelNames: ['method', 'route', 'status'],
      registers,
    }),
    finnDuration: new Histogram({
      name: 'dixie_finn_request_duration_seconds',
      help: 'Finn HTTP call latency by route',
      labelNames: ['method', 'route'],
      buckets: LATENCY_BUCKETS,
      registers,
    }),
    activeSubscriptions: new Gauge({ name: 'dixie_graphql_subscriptions_active', help: 'Active GraphQL subscriptions (WebSocket and SSE)', registers }),
    rateLimitRejections: new Counter({ name: 'dixie_rate_limit_rejections_total', help: 'Requests rejected by the rate limiter', registers }),
    observe(more) {
      Object.assign(sources, more);
    },
  };
}
