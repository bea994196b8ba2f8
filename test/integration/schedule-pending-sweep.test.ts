import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { newWallet, walletAuth, writeAllowlist } from '../helpers/auth.js';
import { startDixie, TEST_JWT_KEY, waitFor, type TestDixie } from '../helpers/dixie.js';
import { CREATE_SCHEDULE, createSchedule, executionsOf, giveWallet, makeDue, sql } from '../helpers/schedules.js';
import { createTestSchema, uniqueTag } from '../helpers/services.js';
import { freePort, spawnDixie, type DixieProcess } from '../helpers/spawn-dixie.js';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.js';
import { startFinnSim, type FinnSim } from '../finn-sim/index.js';

const tag = uniqueTag('sched_pending');
const owner = newWallet();
let sim: FinnSim;
let survivor: TestDixie;
const children: DixieProcess[] = [];
const proxies: TcpProxy[] = [];
let dir: string;
let schema: Awaited<ReturnType<typeof createTestSchema>>;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dixie-pending-'));
  await writeAllowlist(join(dir, 'allowlist.json'), [owner]);
  schema = await createTestSchema(tag);
  sim = await startFinnSim();
  giveWallet(sim, owner, 200, ['mibera:crash', 'mibera:full', 'mibera:slow', 'mibera:actfail', 'mibera:sweepfail']);
  // The default Finn timeout (5 s): a schedule is stale after 70 s PENDING, so the tests backdate rows.
  survivor = await startDixie({
    sim,
    env: { DATABASE_URL: schema.url, DIXIE_ALLOWLIST_PATH: join(dir, 'allowlist.json'), DIXIE_SCHEDULE_CALLBACK_SECRET: 'test-secret', DIXIE_RATE_LIMIT_RPM: '0' },
    schedulerTickMs: 200,
  });
});

afterEach(async () => {
  sim.control.clearFaults();
  for (const c of children.splice(0)) if (c.child.exitCode === null && c.child.signalCode === null) c.child.kill('SIGKILL');
  for (const p of proxies.splice(0)) await p.close();
});

afterAll(async () => {
  await survivor?.stop();
  await sim?.close();
  await schema?.drop();
  await rm(dir, { recursive: true, force: true });
});

const statusOf = async (id: string) => (await sql<{ status: string }>(schema.url, 'SELECT status FROM schedules WHERE id = $1', [id]))[0]?.status;
const backdate = (ids: string[]) => sql(schema.url, `UPDATE schedules SET created_at = now() - interval '1 hour' WHERE id = ANY($1)`, [ids]);
const logsOf = (event: string, id: string) => survivor.logs.filter((l) => l.event === event && l.schedule_id === id);

/** A schedule row as createSchedule inserts it before calling B7 (`created_at` now, or an hour ago). */
async function insertPending(nftId: string, stale: boolean): Promise<string> {
  const id = randomUUID();
  await sql(
    schema.url,
    `INSERT INTO schedules (id, nft_id, owner_wallet, expression, cron, human_readable, prompt, created_at)
     VALUES ($1, $2, $3, 'every 6 hours', '0 */6 * * *', 'Every 6 hours', 'p', now() - $4::interval)`,
    [id, nftId, owner.toLowerCase(), stale ? '1 hour' : '0 seconds'],
  );
  return id;
}

describe('schedules left PENDING by an interrupted createSchedule', () => {
  it('fails the schedule of an instance killed after B7, and logs the callbacks of the cron it could not delete', { timeout: 60_000 }, async () => {
    // The child reaches Finn through a proxy that holds back B7's answer: Finn has registered the
    // cron, the instance never learns its id.
    const proxy = await startTcpProxy('127.0.0.1', Number(new URL(sim.url).port));
    proxies.push(proxy);
    const port = await freePort();
    const proc = spawnDixie({
      NODE_ENV: 'test',
      LOG_LEVEL: 'info',
      FINN_URL: `http://127.0.0.1:${proxy.port}`,
      DATABASE_URL: schema.url,
      DIXIE_ALLOWLIST_PATH: join(dir, 'allowlist.json'),
      DIXIE_JWT_PRIVATE_KEY: TEST_JWT_KEY,
      DIXIE_PORT: String(port),
      // Finn calls back the surviving instance.
      DIXIE_PUBLIC_URL: survivor.url,
    });
    children.push(proc);
    await waitFor(() => proc.stdout().includes('"event":"listening"'), { timeoutMs: 30_000, what: `child listening (${proc.stderr()})` });

    const registered = proxy.holdReplyTo('/api/cron/register');
    const cut = fetch(`http://127.0.0.1:${port}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(await walletAuth(owner)) },
      body: JSON.stringify({ query: CREATE_SCHEDULE, variables: { input: { nftId: 'mibera:crash', expression: 'every 6 hours', prompt: 'cut short' } } }),
    }).catch(() => 'cut');
    await registered;
    proc.child.kill('SIGKILL');
    expect(await proc.exited).toBeNull();
    expect(await cut).toBe('cut');
    const cron = [...sim.control.crons.values()].find((c) => c.nftId === 'mibera:crash')!;
    const id = cron.scheduleId;

    // Not yet stale: the sweep leaves it alone.
    await new Promise((r) => setTimeout(r, 600));
    expect(await statusOf(id)).toBe('PENDING');

    await backdate([id]);
    await waitFor(async () => (await statusOf(id)) === 'FAILED', { timeoutMs: 5_000, what: 'the stale schedule failed' });
    expect(logsOf('schedule_pending_abandoned', id)).toEqual([expect.objectContaining({ level: 'warn', nft_id: 'mibera:crash' })]);

    const firing = await sim.control.fireCron(cron.cronId);
    expect(firing).toMatchObject({ status: 200, body: { scheduleId: id, status: 'skipped' } });
    await waitFor(() => logsOf('schedule_orphan_cron', id).length === 1, { what: 'the orphan cron logged' });
    expect(logsOf('schedule_orphan_cron', id)[0]).toMatchObject({ level: 'warn', nft_id: 'mibera:crash' });
    // The firing is recorded SKIPPED, but a schedule that never became active writes no soul memory.
    expect(await sql(schema.url, 'SELECT type FROM memory_events WHERE conversation_id = $1', [id])).toEqual([]);
  });

  it("frees the NFT's limit of 50 and leaves a schedule still being created alone", async () => {
    const stale = await Promise.all(Array.from({ length: 49 }, () => insertPending('mibera:full', true)));
    const fresh = await insertPending('mibera:full', false);
    await waitFor(async () => (await Promise.all(stale.map(statusOf))).every((s) => s === 'FAILED'), { timeoutMs: 10_000, what: 'the 49 stale schedules failed' });
    await new Promise((r) => setTimeout(r, 600)); // three more ticks
    expect(await statusOf(fresh)).toBe('PENDING');
    expect(survivor.logs.filter((l) => l.event === 'schedule_pending_abandoned' && l.nft_id === 'mibera:full')).toHaveLength(49);

    const res = await createSchedule(survivor, owner, { nftId: 'mibera:full', expression: 'every 6 hours', prompt: 'room again' });
    expect(res.body.errors).toBeUndefined();
    expect(res.body.data!.createSchedule.schedule.status).toBe('ACTIVE');
  });

  it('deletes the cron of a B7 call that outlasted the sweep, and says the schedule was not created', { timeout: 30_000 }, async () => {
    sim.control.hang('cron.register');
    const asked = sim.control.waitForRequest((r) => r.route === 'cron.register', 10_000);
    const pending = createSchedule(survivor, owner, { nftId: 'mibera:slow', expression: 'every 6 hours', prompt: 'too slow' });
    await asked;
    const [row] = await sql<{ id: string }>(schema.url, `SELECT id FROM schedules WHERE nft_id = 'mibera:slow'`);
    await backdate([row!.id]);
    await waitFor(async () => (await statusOf(row!.id)) === 'FAILED', { timeoutMs: 3_000, what: 'the sweep failed it mid-call' });
    sim.control.hang('cron.register', false);

    const res = await pending;
    expect(res.body.errors?.[0]?.extensions).toMatchObject({ code: 'UPSTREAM_UNAVAILABLE' });
    expect(res.body.errors?.[0]?.message).toBe('Finn took too long to register the schedule; it was not created');
    const cron = [...sim.control.crons.values()].find((c) => c.scheduleId === row!.id);
    expect(cron?.deleted).toBe(true);
    expect(await statusOf(row!.id)).toBe('FAILED');
  });
});

describe('an activation write that fails after B7', () => {
  it("deletes Finn's cron and fails the schedule, instead of leaving both behind", async () => {
    // The activation UPDATE of this NFT's schedules fails, as on a failover between B7 and the write.
    await sql(schema.url, `CREATE FUNCTION refuse_activation() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'activation refused'; END $$`);
    await sql(
      schema.url,
      `CREATE TRIGGER refuse_activation BEFORE UPDATE ON schedules FOR EACH ROW
       WHEN (NEW.status = 'ACTIVE' AND NEW.nft_id = 'mibera:actfail') EXECUTE FUNCTION refuse_activation()`,
    );
    const res = await createSchedule(survivor, owner, { nftId: 'mibera:actfail', expression: 'every 6 hours', prompt: 'never active' });
    expect(res.body.errors?.[0]?.extensions?.code).toBe('INTERNAL_SERVER_ERROR');
    const [row] = await sql<{ id: string; status: string }>(schema.url, `SELECT id, status FROM schedules WHERE nft_id = 'mibera:actfail'`);
    expect(row!.status).toBe('FAILED');
    const cron = [...sim.control.crons.values()].find((c) => c.scheduleId === row!.id);
    expect(cron?.deleted).toBe(true);
  });
});

describe('a sweep that fails', () => {
  it('does not keep the tick from firing due schedules', { timeout: 30_000 }, async () => {
    sim.control.absent('cron.register'); // Dixie fires this schedule itself
    const res = await createSchedule(survivor, owner, { nftId: 'mibera:sweepfail', expression: 'every 6 hours', prompt: 'fire anyway' });
    expect(res.body.data!.createSchedule.schedule.firedBy).toBe('DIXIE');
    const { id } = res.body.data!.createSchedule.schedule;
    // A stale PENDING row whose failing the database refuses: every sweep now throws.
    await sql(schema.url, `CREATE FUNCTION refuse_sweep() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'sweep refused'; END $$`);
    await sql(
      schema.url,
      `CREATE TRIGGER refuse_sweep BEFORE UPDATE ON schedules FOR EACH ROW
       WHEN (OLD.status = 'PENDING' AND NEW.status = 'FAILED' AND NEW.nft_id = 'mibera:sweepfail') EXECUTE FUNCTION refuse_sweep()`,
    );
    await insertPending('mibera:sweepfail', true);
    // The sweep has failed at least once (logged on its own, or as the whole tick failing).
    await waitFor(() => survivor.logs.some((l) => l.event === 'schedule_sweep_failed' || l.event === 'scheduler_tick_failed'), { what: 'the sweep failing' });

    await makeDue(schema.url, id);
    await waitFor(async () => (await executionsOf(schema.url, id))[0]?.status === 'SUCCESS', { timeoutMs: 10_000, what: 'the firing' });
    expect(survivor.logs.filter((l) => l.event === 'scheduler_tick_failed')).toEqual([]);
  });
});
