import type { Logger } from '../../logger.js';
import type { Db } from './db.js';
import { createPgDb } from './pg-db.js';
import { createPgliteDb } from './pglite-db.js';

export type { Db, Queryable, QueryResult, PoolStats } from './db.js';

export async function createDb(opts: { url: string; poolSize: number; logger: Logger }): Promise<Db> {
  if (opts.url.startsWith('pglite:')) return createPgliteDb(opts.url.slice('pglite:'.length));
  return createPgDb(opts);
}
