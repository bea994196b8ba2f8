import { PGlite } from '@electric-sql/pglite';
import { mkdirSync } from 'node:fs';
import { withTimeout, type Db, type Queryable } from './db.js';

/** Embedded PostgreSQL for the zero-setup dev mode: `pglite:memory` or `pglite:<dir>`. */
export async function createPgliteDb(target: string): Promise<Db> {
  const dir = target === 'memory' ? undefined : target;
  if (dir) mkdirSync(dir, { recursive: true });
  const pg = await PGlite.create(dir ?? 'memory://');
  let closed: Promise<void> | null = null;
  // PGlite is one session: serialise transactions so statements of two requests never interleave.
  let queue: Promise<unknown> = Promise.resolve();
  const serial = <T>(fn: () => Promise<T>): Promise<T> => {
    const run = queue.then(fn, fn);
    queue = run.catch(() => undefined);
    return run;
  };
  const query: Queryable['query'] = async (text, params) => {
    const r = await pg.query(text, params as unknown[] | undefined);
    return { rows: r.rows as never[], rowCount: r.affectedRows ?? r.rows.length };
  };

  return {
    kind: 'pglite',
    query: (text, params) => serial(() => query(text, params)),
    transaction: (fn) =>
      serial(() =>
        pg.transaction(async (tx) =>
          fn({
            query: async (text, params) => {
              const r = await tx.query(text, params as unknown[] | undefined);
              return { rows: r.rows as never[], rowCount: r.affectedRows ?? r.rows.length };
            },
          }),
        ),
      ),
    withAdvisoryLock: (_key, fn) => serial(() => fn({ query })),
    async exec(_session, sql) {
      await pg.exec(sql);
    },
    async ping(timeoutMs) {
      const start = performance.now();
      await withTimeout(pg.query('SELECT 1'), timeoutMs, 'PGlite ping');
      return Math.round(performance.now() - start);
    },
    stats: () => ({ total: 1, idle: 1, waiting: 0 }),
    close() {
      closed ??= pg.close();
      return closed;
    },
  };
}
