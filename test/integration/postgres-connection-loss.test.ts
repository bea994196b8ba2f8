import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDb, type Db } from '../../src/datasources/postgres/index.js';
import { captureLogger, waitFor } from '../helpers/dixie.js';
import { createTestSchema, uniqueTag } from '../helpers/services.js';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.js';

/**
 * PostgreSQL lost while a client is checked out (a transaction or an advisory-lock session between
 * two statements). Without a listener on the checked-out client, pg's 'error' event was unhandled
 * and took the process down (vitest reports it as an uncaught exception and fails the run).
 */
describe('PostgreSQL lost while a client is in use (real PostgreSQL)', () => {
  const tag = uniqueTag('pgloss');
  let schema: Awaited<ReturnType<typeof createTestSchema>>;
  let proxy: TcpProxy;
  let db: Db;
  const { logs, logger } = captureLogger('warn');

  beforeAll(async () => {
    schema = await createTestSchema(tag);
    proxy = await startTcpProxy('127.0.0.1', 5432);
    db = await createDb({ url: schema.url.replace('127.0.0.1:5432', `127.0.0.1:${proxy.port}`), poolSize: 2, logger });
  });

  afterAll(async () => {
    await db?.close();
    await proxy?.close();
    await schema?.drop();
  });

  /** Runs `use` until it has issued its first statement, drops every connection, then lets it go on. */
  async function loseServerDuring(use: (firstDone: () => void, resume: Promise<void>) => Promise<unknown>): Promise<unknown> {
    let resume!: () => void;
    const resumed = new Promise<void>((r) => (resume = r));
    let firstDone!: () => void;
    const first = new Promise<void>((r) => (firstDone = r));
    const outcome = use(firstDone, resumed).then(
      () => 'committed',
      (err: unknown) => err,
    );
    await first;
    const seen = logs.length;
    proxy.setMode('refuse');
    await waitFor(() => logs.slice(seen).some((l) => l.msg === 'PostgreSQL client lost while in use'), { what: 'the checked-out client to see its server go' });
    proxy.setMode('pass');
    resume();
    return outcome;
  }

  it('fails a transaction whose server is lost between statements, and the pool recovers', async () => {
    const outcome = await loseServerDuring((firstDone, resume) =>
      db.transaction(async (q) => {
        await q.query('SELECT 1');
        firstDone();
        await resume;
        await q.query('SELECT 2');
      }),
    );
    expect(outcome).toBeInstanceOf(Error);
    // The broken client went nowhere: both pool slots serve new work.
    const rows = await Promise.all([db.query('SELECT 1 AS n'), db.transaction((q) => q.query('SELECT 2 AS n'))]);
    expect(rows.map((r) => r.rows[0])).toEqual([{ n: 1 }, { n: 2 }]);
  });

  it('fails an advisory-lock session whose server is lost, and the lock can be taken again', async () => {
    const outcome = await loseServerDuring((firstDone, resume) =>
      db.withAdvisoryLock('pgloss', async (session) => {
        await session.query('SELECT 1');
        firstDone();
        await resume;
        await session.query('SELECT 2');
      }),
    );
    expect(outcome).toBeInstanceOf(Error);
    const again = await db.withAdvisoryLock('pgloss', (session) => session.query('SELECT 3 AS n'));
    expect(again.rows).toEqual([{ n: 3 }]);
  });
});
