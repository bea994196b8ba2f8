import type { AddressInfo } from 'node:net';
import type { SpanExporter } from '@opentelemetry/sdk-trace';
import { buildApp, type DixieApp } from './app.js';
import type { Config } from './config.js';
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
  /** Graceful stop: readiness off, drain, WebSockets 1001, then NATS, Redis, PostgreSQL, then flush traces. */
  stop(): Promise<void>;
}

export interface StartOptions extends DatasourceOptions {
  host?: string;
  /** How long /readyz reports 503 before the listener closes. */
  readinessDelayMs?: number;
  /** Tests: an exporter (InMemorySpanExporter) that turns tracing on without an OTLP endpoint. */
  traceExporter?: SpanExporter;
}

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
    await closeDatasources(ds);
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
    stop() {
      stopping ??= (async () => {
        await stopScheduleWork(ds);
        await app.close(Math.floor(config.shutdownGraceMs * 0.8), opts.readinessDelayMs ?? 0);
        await closeDatasources(ds);
        await tracing.shutdown();
      })();
      return stopping;
    },
  };
}
