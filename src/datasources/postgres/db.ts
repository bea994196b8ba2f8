export interface QueryResult<R> {
  rows: R[];
  rowCount: number;
}

export interface Queryable {
  query<R = Record<string, unknown>>(text: string, params?: readonly unknown[]): Promise<QueryResult<R>>;
}

export interface PoolStats {
  total: number;
  idle: number;
  waiting: number;
}

/** The database as the rest of Dixie sees it: real PostgreSQL (pg) or embedded PostgreSQL (PGlite). */
export interface Db extends Queryable {
  readonly kind: 'postgres' | 'pglite';
  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T>;
  /** Runs `fn` on one dedicated session holding a PostgreSQL advisory lock named by `key`. */
  withAdvisoryLock<T>(key: string, fn: (session: Queryable) => Promise<T>): Promise<T>;
  /** Multi-statement SQL (migrations). */
  exec(session: Queryable, sql: string): Promise<void>;
  /** `SELECT 1` latency in ms; rejects on failure or after `timeoutMs`. */
  ping(timeoutMs: number): Promise<number>;
  stats(): PoolStats;
  close(): Promise<void>;
}

export function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}
