import pg from 'pg';
import type { Logger } from '../../logger.js';
import { createDependencyState } from '../dependency-state.js';
import { withTimeout, type Db, type Queryable } from './db.js';

function queryable(client: pg.PoolClient): Queryable {
  return {
    query: async (text, params) => {
      const r = await client.query(text, params as unknown[] | undefined);
      return { rows: r.rows, rowCount: r.rowCount ?? 0 };
    },
  };
}

export function createPgDb(opts: { url: string; poolSize: number; logger: Logger }): Db {
  const pool = new pg.Pool({
    connectionString: opts.url,
    max: opts.poolSize,
    connectionTimeoutMillis: 3_000,
    idleTimeoutMillis: 30_000,
    query_timeout: 30_000,
  });
  // Pool errors and the health ping drive dependency_unreachable / dependency_recovered.
  const state = createDependencyState('postgresql', opts.logger);
  // An idle client losing its server must not crash the process; the pool replaces it.
  pool.on('error', (err) => {
    opts.logger.warn({ event: 'postgres_client_error', err: err.message }, 'idle PostgreSQL client error');
    state.markDown(err.message);
  });
  let closed: Promise<void> | null = null;

  /**
   * Runs `fn` on a checked-out client. The pool listens for errors on idle clients only, so a server
   * lost while a client is checked out (a failover mid-transaction) was an unhandled 'error' event,
   * which crashes the process: here it fails the work, and the broken client is discarded instead
   * of going back to the pool.
   */
  async function withClient<T>(fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    // A refused or timed-out connect (the server down, a security group closed) is the dependency
    // being down too: at startup it is logged before startup_failed, as the runbook expects.
    const client = await pool.connect().catch((err: unknown) => {
      state.markDown(err instanceof Error ? err.message : String(err));
      throw err;
    });
    let lost: Error | undefined;
    const onError = (err: Error) => {
      lost = err;
      opts.logger.warn({ event: 'postgres_client_error', err: err.message }, 'PostgreSQL client lost while in use');
      state.markDown(err.message);
    };
    client.on('error', onError);
    try {
      return await fn(client);
    } finally {
      // A lost client keeps its listener: its socket may still report errors after release.
      if (!lost) client.removeListener('error', onError);
      client.release(lost);
    }
  }

  const db: Db = {
    kind: 'postgres',
    async query(text, params) {
      const res = await pool.query(text, params as unknown[] | undefined);
      return { rows: res.rows, rowCount: res.rowCount ?? 0 };
    },
    transaction: (fn) =>
      withClient(async (client) => {
        const q = queryable(client);
        await q.query('BEGIN');
        try {
          const result = await fn(q);
          await q.query('COMMIT');
          return result;
        } catch (err) {
          await q.query('ROLLBACK').catch(() => undefined);
          throw err;
        }
      }),
    withAdvisoryLock: (key, fn) =>
      withClient(async (client) => {
        const session = queryable(client);
        await session.query('SELECT pg_advisory_lock(hashtext($1 || current_schema()))', [key]);
        try {
          return await fn(session);
        } finally {
          await session.query('SELECT pg_advisory_unlock(hashtext($1 || current_schema()))', [key]);
        }
      }),
    async exec(session, sql) {
      await session.query(sql);
    },
    async ping(timeoutMs) {
      const start = performance.now();
      try {
        await withTimeout(pool.query('SELECT 1'), timeoutMs, 'PostgreSQL ping');
      } catch (err) {
        state.markDown(err instanceof Error ? err.message : String(err));
        throw err;
      }
      state.markUp();
      return Math.round(performance.now() - start);
    },
    stats: () => ({ total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount }),
    close() {
      // Work still finishing (a health ping, a memory write) fails on the ended pool: not an outage.
      state.closing();
      closed ??= pool.end();
      return closed;
    },
  };
  return db;
}
