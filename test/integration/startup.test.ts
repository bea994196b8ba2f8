import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import pg from 'pg';
import { readdirSync } from 'node:fs';
import { startFinnSim, type FinnSim } from '../finn-sim/index.js';
import { createDb } from '../../src/datasources/postgres/index.js';
import { MigrationError, runMigrations } from '../../src/datasources/postgres/migrate.js';
import { captureLogger, startDixie, TEST_JWT_KEY, waitFor } from '../helpers/dixie.js';
import { sql } from '../helpers/schedules.js';
import { createTestSchema, uniqueTag } from '../helpers/services.js';
import { freePort, spawnDixie } from '../helpers/spawn-dixie.js';

describe('startup', () => {
  let sim: FinnSim;
  beforeAll(async () => {
    sim = await startFinnSim();
  });
  afterAll(async () => sim?.close());

  it('exits non-zero before listening with one line per config problem', async () => {
    const p = spawnDixie({ NODE_ENV: 'production', LOG_LEVEL: 'verbose', DIXIE_PORT: 'abc', DIXIE_JWT_PRIVATE_KEY: 'short' });
    expect(await p.exited).toBe(1);
    const lines = p.stderr().trim().split('\n');
    expect(lines).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^config error: FINN_URL/),
        expect.stringMatching(/^config error: LOG_LEVEL/),
        expect.stringMatching(/^config error: DIXIE_PORT/),
        expect.stringMatching(/^config error: DIXIE_JWT_PRIVATE_KEY/),
        expect.stringMatching(/^config error: DIXIE_ADMIN_KEY/),
      ]),
    );
    expect(p.stderr()).not.toContain('short');
    expect(p.stdout()).not.toContain('listening');
  });

  it('exits non-zero with dependency_unreachable then startup_failed when PostgreSQL cannot be reached', async () => {
    const port = await freePort();
    const p = spawnDixie({
      FINN_URL: sim.url,
      NODE_ENV: 'test',
      DIXIE_PORT: String(port),
      DATABASE_URL: 'postgres://postgres@127.0.0.1:1/test',
    });
    expect(await p.exited).toBe(1);
    expect(p.stdout()).toMatch(/"event":"dependency_unreachable","dependency":"postgresql"[^\n]*\n(?:.*\n)*.*"event":"startup_failed"/);
  });

  it('migrates exactly once when two instances start at the same time', async () => {
    const schema = await createTestSchema(uniqueTag('migrate'));
    try {
      const [a, b] = await Promise.all([
        startDixie({ sim, env: { DATABASE_URL: schema.url } }),
        startDixie({ sim, env: { DATABASE_URL: schema.url } }),
      ]);
      const applied = [...a.logs, ...b.logs].filter((l) => l.event === 'migration_applied').map((l) => l.migration);
      const files = readdirSync('migrations').filter((f) => f.endsWith('.sql')).sort();
      expect([...applied].sort()).toEqual(files);
      const client = new pg.Client({ connectionString: schema.url });
      await client.connect();
      const rows = (await client.query<{ name: string }>('SELECT name FROM dixie_migrations ORDER BY name')).rows.map((r) => r.name);
      await client.end();
      expect(rows).toEqual(files);
      await Promise.all([a.stop(), b.stop()]);
    } finally {
      await schema.drop();
    }
  });

  it('rolls back a failing migration, logs migration_failed naming it, records no row, and exits non-zero', async () => {
    const schema = await createTestSchema(uniqueTag('migfail'));
    const files = readdirSync('migrations').filter((f) => f.endsWith('.sql')).sort();
    const failing = '200_memory.sql';
    const before = files.slice(0, files.indexOf(failing));
    // A pre-existing memory_conversations without nft_id: CREATE TABLE IF NOT EXISTS skips it, and
    // 200's index on (nft_id, id) then fails after memory_events was created in the same migration.
    await sql(schema.url, 'CREATE TABLE memory_conversations (x int)');
    const { logs, logger } = captureLogger('info');
    const db = await createDb({ url: schema.url, poolSize: 2, logger });
    try {
      const err = await runMigrations(db, 'migrations', logger).then(() => null, (e: unknown) => e);
      expect(err).toBeInstanceOf(MigrationError);
      expect(err).toMatchObject({ migration: failing, message: expect.stringMatching(/^migration 200_memory\.sql failed: .*nft_id/) });
      expect(logs.filter((l) => l.event === 'migration_failed')).toEqual([
        expect.objectContaining({ level: 'error', migration: failing, err: expect.stringContaining('nft_id') }),
      ]);
      expect(logs.filter((l) => l.event === 'migration_applied').map((l) => l.migration)).toEqual(before);
      const applied = async () => (await db.query<{ name: string }>('SELECT name FROM dixie_migrations ORDER BY name')).rows.map((r) => r.name);
      expect(await applied()).toEqual(before);
      // Rolled back as a whole: the table the failing migration created first is gone too.
      expect((await db.query<{ t: string | null }>("SELECT to_regclass('memory_events')::text AS t")).rows[0]?.t).toBeNull();

      // A real start on that schema exits non-zero with the same log, then startup_failed.
      const p = spawnDixie({ FINN_URL: sim.url, NODE_ENV: 'test', DIXIE_PORT: String(await freePort()), DATABASE_URL: schema.url });
      expect(await p.exited).toBe(1);
      expect(p.stdout()).toMatch(/"event":"migration_failed","migration":"200_memory\.sql"[^\n]*\n(?:.*\n)*.*"event":"startup_failed"/);
      expect(p.stdout()).not.toContain('"event":"listening"');

      // The session was left clean and the lock released: once the conflict is gone, the rest apply.
      await sql(schema.url, 'DROP TABLE memory_conversations');
      expect(await runMigrations(db, 'migrations', logger)).toEqual(files.slice(before.length));
      expect(await applied()).toEqual(files);
    } finally {
      await db.close();
      await schema.drop();
    }
  });

  it('runs the same migrations on embedded PostgreSQL (pglite:memory)', async () => {
    const d = await startDixie({ sim, env: { DATABASE_URL: 'pglite:memory' } });
    try {
      const applied = d.logs.filter((l) => l.event === 'migration_applied').length;
      expect(applied).toBe(readdirSync('migrations').filter((f) => f.endsWith('.sql')).length);
      const h = await waitFor(async () => {
        const body = (await (await fetch(`${d.url}/api/health`)).json()) as { infrastructure?: { postgresql?: { status: string } }; reputation_service: { initialized: boolean } };
        return body.infrastructure?.postgresql?.status === 'healthy' && body.reputation_service.initialized ? body : null;
      });
      expect(h.reputation_service).toEqual({ initialized: true, aggregate_count: 0 });
    } finally {
      await d.stop();
    }
  });

  it('shuts down on SIGTERM: open WebSocket closed with 1001, exit 0', async () => {
    const port = await freePort();
    const schema = await createTestSchema(uniqueTag('shutdown'));
    const p = spawnDixie({ FINN_URL: sim.url, NODE_ENV: 'test', DIXIE_PORT: String(port), DIXIE_JWT_PRIVATE_KEY: TEST_JWT_KEY, REDIS_URL: 'redis://127.0.0.1:6379', NATS_URL: 'nats://127.0.0.1:4222', DATABASE_URL: schema.url });
    await waitFor(() => p.stdout().includes('"event":"listening"'), { timeoutMs: 20_000, what: 'listening' });
    const ws = new WebSocket(`ws://127.0.0.1:${port}/graphql`, 'graphql-transport-ws');
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    ws.send(JSON.stringify({ type: 'connection_init', payload: {} }));
    await new Promise<void>((resolve) => ws.once('message', () => resolve()));
    const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
    p.child.kill('SIGTERM');
    expect(await closed).toBe(1001);
    expect(await p.exited).toBe(0);
    expect(p.stdout()).toMatch(/"event":"shutdown_started"/);
    expect(p.stdout()).toMatch(/"event":"shutdown_finished"/);
    await schema.drop();
  });
});
