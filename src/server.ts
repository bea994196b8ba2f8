import type { AddressInfo } from 'node:net';
import type { SpanExporter } from '@opentelemetry/sdk-trace';
import { buildApp, type DixieApp } from './app.js';
import type { Config } from './config.js';
import { deadlineIn, type Deadline } from './deadline.js';
import { closeDatasources, createDatasources, type DatasourceOptions, type Datasources } from './datasources/index.js';
import { startScheduleWork, stopScheduleWork } from './datasources/index.js';
import { runMigrations } from './datasources/postgres/migrate.js';
import type { Logger } from './logger.js';
import { MIGRATIONS_DIR } from './package-root.js';
import { createTracing, type Tracing } from './telemetry/tracing.js';

export interface RunningServer {
  app: DixieApp;
  ds: Datasources;
  port: number;
  url: string;
  tracing: Tracing;
  /**
   * Graceful stop, every step within `by` (default: DIXIE_SHUTDOWN_GRACE_MS from now): readiness off,
   * drain (WebSockets 1001, SSE cut) while firings in progress settle, then NATS, Redis, PostgreSQL, traces.
   */
  stop(by?: Deadline): Promise<void>;
}

export interface StartOptions extends DatasourceOptions {
  host?: string;
  /** How long /readyz reports 503 before the listener closes. */
  readinessDelayMs?: number;
  /** Tests: an exporter (InMemorySpanExporter) that turns tracing on without an OTLP endpoint. */
  traceExporter?: SpanExporter;
}

/** Kept back from the drain for closing the stores and flushing traces: a fifth of the time left, at most this. */
const CLOSE_RESERVE_MAX_MS = 2_000;

/** config → long-lived clients → migrations → app → listen. Used by main.ts and by the tests. */
export async function startServer(config: Readonly<Config>, logger: Logger, opts: StartOptions = {}): Promise<RunningServer> {
  const tracing = await createTracing(config, logger, { exporter: opts.traceExporter });
  const ds = await createDatasources(config, logger, {
    ...opts,
    propagate: opts.propagate ?? tracing.propagate,
    tracer: opts.tracer ?? (tracing.enabled ? tracing.tracer : undefined),
  });
  try {
    if (ds.db) await runMigrations(ds.db, MIGRATIONS_DIR, logger);
  } catch (err) {
    await closeDatasources(ds, deadlineIn(config.shutdownGraceMs));
    await tracing.shutdown();
    throw err;
  }
  const app = buildApp(ds);
  await new Promise<void>((resolve, reject) => {
    app.server.once('error', reject);
    app.server.listen(config.port, opts.host, () => {
      app.server.off('error', reject);
      resolve();
    });
  });
  const port = (app.server.address() as AddressInfo).port;
  const url = `http://${opts.host && opts.host !== '0.0.0.0' ? opts.host : 'localhost'}:${port}`;
  ds.health.start();
  startScheduleWork(ds);
  app.setReady(true);
  logger.info(
    { event: 'listening', port, graphql: `${url}/graphql`, health: `${url}/api/health`, graphiql: config.nodeEnv !== 'production' },
    `Dixie listening on ${url}`,
  );
  let stopping: Promise<void> | null = null;
  return {
    app,
    ds,
    tracing,
    port,
    url,
    stop(by = deadlineIn(config.shutdownGraceMs)) {
      stopping ??= (async () => {
        const drainBy = by.before(Math.min(by.remaining() / 5, CLOSE_RESERVE_MAX_MS));
        // app.close turns readiness off before anything waits; firings in progress settle meanwhile.
        await Promise.all([app.close(drainBy, opts.readinessDelayMs ?? 0), stopScheduleWork(ds, drainBy)]);
        await closeDatasources(ds, by);
        await tracing.shutdown(by);
      })();
      return stopping;
    },
  };
}
