import type { AddressInfo } from 'node:net';
import { buildApp, type DixieApp } from './app.js';
import type { Config } from './config.js';
import { closeDatasources, createDatasources, type DatasourceOptions, type Datasources } from './datasources/index.js';
import { runMigrations } from './datasources/postgres/migrate.js';
import type { Logger } from './logger.js';
import { MIGRATIONS_DIR } from './package-root.js';

export interface RunningServer {
  app: DixieApp;
  ds: Datasources;
  port: number;
  url: string;
  /** Graceful stop: readiness off, drain, WebSockets 1001, then NATS, Redis, PostgreSQL. */
  stop(): Promise<void>;
}

export interface StartOptions extends DatasourceOptions {
  host?: string;
  /** How long /readyz reports 503 before the listener closes. */
  readinessDelayMs?: number;
}

/** config → long-lived clients → migrations → app → listen. Used by main.ts and by the tests. */
export async function startServer(config: Readonly<Config>, logger: Logger, opts: StartOptions = {}): Promise<RunningServer> {
  const ds = await createDatasources(config, logger, opts);
  try {
    if (ds.db) await runMigrations(ds.db, MIGRATIONS_DIR, logger);
  } catch (err) {
    await closeDatasources(ds);
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
  app.setReady(true);
  logger.info(
    { event: 'listening', port, graphql: `${url}/graphql`, health: `${url}/api/health`, graphiql: config.nodeEnv !== 'production' },
    `Dixie listening on ${url}`,
  );
  let stopping: Promise<void> | null = null;
  return {
    app,
    ds,
    port,
    url,
    stop() {
      stopping ??= (async () => {
        await app.close(Math.floor(config.shutdownGraceMs * 0.8), opts.readinessDelayMs ?? 0);
        await closeDatasources(ds);
      })();
      return stopping;
    },
  };
}
