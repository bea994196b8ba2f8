import { Writable } from 'node:stream';
import { loadConfig, type Config } from '../../src/config.js';
import { createLogger, type Logger } from '../../src/logger.js';
import { startServer, type RunningServer, type StartOptions } from '../../src/server.js';
import { startFinnSim, type FinnSim } from '../finn-sim/index.js';

export const TEST_JWT_KEY = 'test-jwt-key-0123456789abcdef0123456789';
export const TEST_ADMIN_KEY = 'test-admin-key-0123456789';

export interface LogLine {
  level: string;
  event?: string;
  msg?: string;
  [k: string]: unknown;
}

/** A logger whose JSON lines are kept, parsed, in `logs`. */
export function captureLogger(level: string): { logs: LogLine[]; logger: Logger } {
  const logs: LogLine[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const line of chunk.toString('utf8').split('\n')) {
        if (line.trim()) logs.push(JSON.parse(line) as LogLine);
      }
      cb();
    },
  });
  return { logs, logger: createLogger(level, sink) };
}

export interface TestDixie {
  server: RunningServer;
  config: Readonly<Config>;
  url: string;
  wsUrl: string;
  sim: FinnSim;
  logs: LogLine[];
  /** POST /graphql with JSON; returns status, parsed body and headers. */
  gql<T = Record<string, unknown>>(
    query: string,
    variables?: Record<string, unknown>,
    headers?: Record<string, string>,
  ): Promise<{ status: number; body: { data?: T | null; errors?: Array<{ message: string; extensions?: Record<string, unknown> }> }; headers: Headers }>;
  stop(): Promise<void>;
}

export interface StartDixieOptions extends StartOptions {
  env?: Record<string, string | undefined>;
  /** Reuse a simulator (two instances against one Finn); otherwise one is started and closed with Dixie. */
  sim?: FinnSim;
}

/** Starts Dixie in process on port 0 against a Finn simulator, exactly as main.ts composes it. */
export async function startDixie(opts: StartDixieOptions = {}): Promise<TestDixie> {
  const ownSim = !opts.sim;
  const sim = opts.sim ?? (await startFinnSim());
  const { config } = loadConfig({
    NODE_ENV: 'test',
    LOG_LEVEL: 'debug',
    DIXIE_PORT: '0',
    FINN_URL: sim.url,
    DIXIE_JWT_PRIVATE_KEY: TEST_JWT_KEY,
    DIXIE_ADMIN_KEY: TEST_ADMIN_KEY,
    ...opts.env,
  });
  const { logs, logger } = captureLogger(config.logLevel);
  const server = await startServer(config, logger, { host: '127.0.0.1', ...opts });
  return {
    server,
    config,
    url: server.url,
    wsUrl: server.url.replace('http', 'ws') + '/graphql',
    sim,
    logs,
    async gql(query, variables, headers = {}) {
      const res = await fetch(`${server.url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json', ...headers },
        body: JSON.stringify({ query, variables }),
      });
      const text = await res.text();
      return { status: res.status, body: JSON.parse(text) as never, headers: res.headers };
    },
    async stop() {
      await server.stop();
      if (ownSim) await sim.close();
    },
  };
}

export async function waitFor<T>(fn: () => T | Promise<T>, opts: { timeoutMs?: number; intervalMs?: number; what?: string } = {}): Promise<NonNullable<T>> {
  const deadline = Date.now() + (opts.timeoutMs ?? 5_000);
  for (;;) {
    const v = await fn();
    if (v) return v as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${opts.what ?? 'condition'}`);
    await new Promise((r) => setTimeout(r, opts.intervalMs ?? 25));
  }
}
