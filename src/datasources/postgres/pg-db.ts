import pg from 'pg';
import type { Logger } from '../../logger.js';
import { createDependencyState } from '../dependency-state.js';
import { withTimeout, type Db, type Queryable } from './db.js';

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

  const db: Db = {
    kind: 'postgres',
    async query(text, params) {
      const res = await pool.query(text, params as unknown[] | undefined);
      return { rows: res.rows, rowCount: res.rowCount ?? 0 };
    },
    async transaction(fn) {
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        const q: Queryable = {
          query: async (text, params) => {
            const r = await client.query(text, params as unknown[] | undefined);
            return { rows: r.rows, rowCount: r.rowCount ?? 0 };
          },
        };
        const result = await fn(q);
        await client.query('COMMIT');
        return result;
      } catch (err) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw err;
      } finally {
        client.release();
      }
    },
    async withAdvisoryLock(key, fn) {
      const client = await pool.connect();
      const session: Queryable = {
        query: async (text, params) => {
          const r = await client.query(text, params as unknown[] | undefined);
          return { rows: r.rows, rowCount: r.rowCount ?? 0 };
        },
      };
      try {
        await client.query('SELECT pg_advisory_lock(hashtext($1 || current_schema()))', [key]);
        try {
          return await fn(session);
        } finally {
          await client.query('SELECT pg_advisory_unlock(hashtext($1 || current_schema()))', [key]);
        }
      } finally {
        client.release();
      }
    },
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
      closed ??= pool.end();
      return closed;
    },
  };
  return db;
}
