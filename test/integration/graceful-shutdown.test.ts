import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startFinnSim, type FinnSim } from '../finn-sim/index.js';
import { newWallet, walletAuth, writeAllowlist } from '../helpers/auth.js';
import { startDixie, TEST_ADMIN_KEY, TEST_JWT_KEY, waitFor } from '../helpers/dixie.js';
import { openRawWs } from '../helpers/raw-ws.js';
import { CREATE_SCHEDULE, executionsOf, giveWallet, makeDue, sql } from '../helpers/schedules.js';
import { createTestSchema, NATS_URL, REDIS_URL, uniqueTag } from '../helpers/services.js';
import { freePort, spawnDixie, type DixieProcess } from '../helpers/spawn-dixie.js';

/**
 * SIGTERM to a real process with PostgreSQL, Redis and NATS configured: whatever is in flight,
 * it exits 0 with shutdown_finished (never shutdown_forced) within DIXIE_SHUTDOWN_GRACE_MS.
 */
const reader = newWallet();
const owner = newWallet();
/** Its own wallet: Dixie caches NFT ownership in Redis, which outlives these processes. */
const wsOwner = newWallet();
let sim: FinnSim;
let schema: Awaited<ReturnType<typeof createTestSchema>>;
let dir: string;
let proc: DixieProcess | undefined;

beforeAll(async () => {
  sim = await startFinnSim();
  schema = await createTestSchema(uniqueTag('shutdown'));
  dir = await mkdtemp(join(tmpdir(), 'dixie-shutdown-'));
  await writeAllowlist(join(dir, 'allowlist.json'), [reader, owner, wsOwner]);
});

afterEach(() => {
  if (proc?.child.exitCode === null) proc.child.kill('SIGKILL');
  proc = undefined;
  sim.control.clearFaults();
});

afterAll(async () => {
  await sim?.close();
  await schema?.drop();
  await rm(dir, { recursive: true, force: true });
});

async function spawnReady(env: Record<string, string>): Promise<{ p: DixieProcess; base: string }> {
  const started = await spawnWith(env);
  await waitFor(() => started.p.stdout().includes('"event":"listening"'), { timeoutMs: 30_000, intervalMs: 50, what: 'listening' });
  return started;
}

async function spawnWith(env: Record<string, string>): Promise<{ p: DixieProcess; base: string }> {
  const port = await freePort();
  const p = spawnDixie({
    FINN_URL: sim.url,
    // As deployed: /readyz reports 503 for a while (DIXIE_SHUTDOWN_GRACE_MS permitting) before the listener closes.
    NODE_ENV: 'production',
    DIXIE_MEMORY_SEAL_KEY: 'shutdown-test-seal-key-0123456789abcdef',
    DIXIE_RATE_LIMIT_RPM: '0',
    DIXIE_PORT: String(port),
    DIXIE_JWT_PRIVATE_KEY: TEST_JWT_KEY,
    DIXIE_ADMIN_KEY: TEST_ADMIN_KEY,
    DATABASE_URL: schema.url,
    REDIS_URL,
    NATS_URL,
    DIXIE_ALLOWLIST_PATH: join(dir, 'allowlist.json'),
    ...env,
  });
  proc = p;
  return { p, base: `http://127.0.0.1:${port}` };
}

const events = (p: DixieProcess): string[] =>
  p
    .stdout()
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => String((JSON.parse(l) as { event?: string }).event));

/** SIGTERM, then the exit code. */
function terminate(p: DixieProcess): Promise<number | null> {
  p.child.kill('SIGTERM');
  return p.exited;
}

/** Exit 0 with shutdown_finished: main.ts's backstop exits 1 with shutdown_forced once the grace period is over. */
function expectCleanExit(p: DixieProcess, code: number | null): void {
  expect(code).toBe(0);
  expect(events(p)).toContain('shutdown_finished');
  expect(events(p)).not.toContain('shutdown_forced');
  // Closing a store is not losing it: no false alarm for the on-call from a clean shutdown.
  expect(linesAfter(p, 'shutdown_started').filter((l) => l.includes('"dependency_unreachable"'))).toEqual([]);
}

function linesAfter(p: DixieProcess, event: string): string[] {
  const lines = p.stdout().split('\n');
  return lines.slice(lines.findIndex((l) => l.includes(`"event":"${event}"`)));
}

function gql(base: string, query: string, variables: Record<string, unknown> = {}, headers: Record<string, string> = {}) {
  return fetch(`${base}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json', ...headers },
    body: JSON.stringify({ query, variables }),
  });
}

/** A query whose Finn call (beauvoir) the simulator can hold. */
async function slowPersonality(base: string, nftId: string): Promise<Response> {
  return gql(base, 'query($n: ID!) { personality(nftId: $n) { name } }', { n: nftId }, await walletAuth(reader));
}

describe('graceful shutdown (real process)', () => {
  it('lets a slow request in flight at SIGTERM finish with its normal answer, then exits 0', async () => {
    const { p, base } = await spawnReady({ DIXIE_SHUTDOWN_GRACE_MS: '8000' });
    const nftId = uniqueTag('slow'); // never cached (Redis outlives these processes)
    sim.control.setBeauvoir(nftId, { name: 'Slow' });
    sim.control.hang('beauvoir');
    const answer = slowPersonality(base, nftId);
    await sim.control.waitForRequest((r) => r.route === 'beauvoir', 5_000);

    const exit = terminate(p);
    await waitFor(() => events(p).includes('shutdown_started'), { what: 'shutdown_started' });
    sim.control.hang('beauvoir', false);

    const res = await answer;
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ data: { personality: { name: 'Slow' } } });
    expectCleanExit(p, await exit);
  }, 60_000);

  it('answers a mutation in flight on a WebSocket at SIGTERM before its 1001, while a subscription socket gets 1001 at once', async () => {
    giveWallet(sim, wsOwner, 200, ['mibera:43']);
    // The Finn timeout outlasts the readiness delay: the cron registration is still held when the drain starts.
    const { p, base } = await spawnReady({ DIXIE_SHUTDOWN_GRACE_MS: '8000', DIXIE_FINN_TIMEOUT_MS: '30000' });
    const wsUrl = `${base.replace('http', 'ws')}/graphql`;
    const subscriber = await openRawWs(wsUrl);
    expect(await subscriber.init()).toBe('ack');
    subscriber.subscribe('health', 'subscription { healthChanged { status } }');
    const mutator = await openRawWs(wsUrl);
    expect(await mutator.init(await walletAuth(wsOwner))).toBe('ack');
    sim.control.hang('cron.register');
    const input = { nftId: 'mibera:43', expression: 'every 2 hours', prompt: 'finish me' };
    mutator.subscribe('create', CREATE_SCHEDULE, { input });
    await sim.control.waitForRequest((r) => r.route === 'cron.register', 5_000);

    const exit = terminate(p);
    // The drain has started: sockets with nothing in flight are closed, new operations are refused.
    expect((await subscriber.closed).code).toBe(1001);
    mutator.subscribe('late', '{ __typename }');
    const refused = await mutator.waitFor((m) => m.id === 'late');
    expect(refused.type).toBe('error');
    expect((refused.payload as Array<{ extensions: { code: string } }>)[0]?.extensions.code).toBe('UPSTREAM_UNAVAILABLE');
    sim.control.hang('cron.register', false);

    expect((await mutator.closed).code).toBe(1001);
    const answer = mutator.messages.filter((m) => m.id === 'create');
    expect(answer.map((m) => m.type)).toEqual(['next', 'complete']);
    const { schedule } = (answer[0]!.payload as { data: { createSchedule: { schedule: { id: string; status: string; firedBy: string } } } }).data.createSchedule;
    expect(schedule).toMatchObject({ status: 'ACTIVE', firedBy: 'FINN' });
    expectCleanExit(p, await exit);
    expect(await sql(schema.url, 'SELECT status, finn_cron_id IS NOT NULL AS registered FROM schedules WHERE id = $1', [schedule.id])).toEqual([
      { status: 'ACTIVE', registered: true },
    ]);
  }, 60_000);

  it('ends an open SSE subscription and cuts a request still held at the drain deadline, exiting 0 within the grace period', async () => {
    const GRACE_MS = 2_000;
    const { p, base } = await spawnReady({ DIXIE_SHUTDOWN_GRACE_MS: String(GRACE_MS) });
    const sse = await fetch(`${base}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
      body: JSON.stringify({ query: 'subscription { healthChanged { status } }' }),
    });
    expect(sse.headers.get('content-type')).toContain('text/event-stream');
    const stream = sse.body!.getReader();
    await stream.read();
    const ended: string[] = [];
    let received = '';
    const streamEnded = (async () => {
      try {
        for (let r = await stream.read(); !r.done; r = await stream.read()) received += new TextDecoder().decode(r.value);
      } catch {
        // Cut like a dropped connection: the client reconnects, as after a WebSocket 1001.
      }
      ended.push('sse');
    })();
    sim.control.hang('beauvoir');
    const held = slowPersonality(base, uniqueTag('held')).then(
      (res) => res.status,
      () => 'cut',
    );
    void held.then(() => ended.push('held request'));
    await sim.control.waitForRequest((r) => r.route === 'beauvoir', 5_000);

    expectCleanExit(p, await terminate(p));
    await streamEnded;
    expect(received).not.toContain('event: complete');
    expect(await held).toBe('cut');
    // The stream ends when the listener closes; the request is cut only when the drain runs out.
    expect(ended).toEqual(['sse', 'held request']);
  }, 60_000);

  it('turns /readyz 503 while a schedule firing is still in progress, lets the firing finish, then exits 0', async () => {
    sim.control.absent('cron.register'); // Dixie fires the schedule itself
    giveWallet(sim, owner, 200, ['mibera:42']);
    // A generous Finn timeout: on a machine this loaded the firing's session call must not time out first.
    const { p, base } = await spawnReady({ DIXIE_SCHEDULER_TICK_MS: '200', DIXIE_SHUTDOWN_GRACE_MS: '8000', DIXIE_FINN_TIMEOUT_MS: '20000' });
    const input = { nftId: 'mibera:42', expression: 'every 2 hours', prompt: 'hold on' };
    const created = await gql(base, CREATE_SCHEDULE, { input }, await walletAuth(owner));
    const { id } = ((await created.json()) as { data: { createSchedule: { schedule: { id: string } } } }).data.createSchedule.schedule;
    sim.control.hang('sessions.message');
    await makeDue(schema.url, id);
    await sim.control.waitForRequest((r) => r.route === 'sessions.message', 30_000);

    const exit = terminate(p);
    await waitFor(() => events(p).includes('shutdown_started'), { what: 'shutdown_started' });
    // Not ready from the moment the signal is handled, although Finn still holds the firing's message.
    expect((await fetch(`${base}/readyz`)).status).toBe(503);
    expect((await executionsOf(schema.url, id)).map((r) => r.status)).toEqual(['RUNNING']);
    sim.control.hang('sessions.message', false);

    expectCleanExit(p, await exit);
    expect((await executionsOf(schema.url, id)).map((r) => r.status)).toEqual(['SUCCESS']);
  }, 60_000);

  it('handles SIGTERM during startup: stops once started, exits 0', async () => {
    // Holding the migration lock keeps Dixie's startup waiting in runMigrations.
    const lock = new pg.Client({ connectionString: schema.url });
    await lock.connect();
    try {
      const key = 'hashtext($1 || current_schema())';
      await lock.query(`SELECT pg_advisory_lock(${key})`, ['dixie:migrations']);
      const { p } = await spawnWith({ DIXIE_SHUTDOWN_GRACE_MS: '8000' });
      await waitFor(
        async () =>
          (
            await lock.query<{ n: number }>(
              `SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND NOT granted AND objid::bigint = (${key}::bigint & 4294967295)`,
              ['dixie:migrations'],
            )
          ).rows[0]!.n > 0,
        { timeoutMs: 30_000, intervalMs: 50, what: 'startup waiting for the migration lock' },
      );
      const exit = terminate(p);
      await waitFor(() => events(p).includes('shutdown_started'), { what: 'shutdown_started' });
      await lock.query(`SELECT pg_advisory_unlock(${key})`, ['dixie:migrations']);

      expectCleanExit(p, await exit);
      expect(events(p).indexOf('shutdown_started')).toBeLessThan(events(p).indexOf('listening'));
    } finally {
      await lock.end();
    }
  }, 60_000);
});

describe('closing the stores (in process)', () => {
  it('logs no dependency_unreachable when Redis, NATS and PostgreSQL are closed on purpose', async () => {
    const tag = uniqueTag('close');
    const d = await startDixie({ sim, env: { DATABASE_URL: schema.url, REDIS_URL, NATS_URL }, redisKeyPrefix: `${tag}:`, natsSubjectPrefix: `${tag}.` });
    const { redis, nats } = d.server.ds;
    await waitFor(() => redis!.isUp() && nats!.isUp(), { what: 'Redis and NATS up' });
    const natsClosed = nats!.connection()!.closed();
    await d.stop();
    // Every connection has finished closing, so each close event has been handled.
    await waitFor(() => redis!.client.status === 'end', { what: 'Redis connection ended' });
    await natsClosed;
    expect(d.logs.filter((l) => l.event === 'dependency_unreachable')).toEqual([]);
  }, 60_000);
});
