import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { newWallet, walletAuth, writeAllowlist } from '../helpers/auth.js';
import { startDixie, TEST_JWT_KEY, waitFor, type TestDixie } from '../helpers/dixie.js';
import { CREATE_SCHEDULE, createSchedule, executionLogs, executionsOf, giveWallet, makeDue, promptsFor, sql } from '../helpers/schedules.js';
import { createTestSchema, uniqueTag } from '../helpers/services.js';
import { freePort, spawnDixie, type DixieProcess } from '../helpers/spawn-dixie.js';
import { startFinnSim, type FinnSim } from '../finn-sim/index.js';

const tag = uniqueTag('sched_kill');
const owner = newWallet();
let sim: FinnSim;
const children: DixieProcess[] = [];
const survivors: TestDixie[] = [];
let dir: string;
let schema: Awaited<ReturnType<typeof createTestSchema>>;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dixie-kill-'));
  await writeAllowlist(join(dir, 'allowlist.json'), [owner]);
  schema = await createTestSchema(tag);
  sim = await startFinnSim();
  sim.control.absent('cron.register');
  giveWallet(sim, owner, 200, ['mibera:kill', 'mibera:sent', 'mibera:orphan']);
});

afterEach(async () => {
  for (const c of children.splice(0)) if (c.child.exitCode === null && c.child.signalCode === null) c.child.kill('SIGKILL');
  for (const d of survivors.splice(0)) await d.stop();
});

afterAll(async () => {
  await sim?.close();
  await schema?.drop();
  await rm(dir, { recursive: true, force: true });
});

/** A Dixie process (to be killed) with a Dixie-fired schedule created through it. */
async function childWithSchedule(input: { nftId: string; expression: string; prompt: string }): Promise<{ proc: DixieProcess; id: string }> {
  const port = await freePort();
  const proc = spawnDixie({
    NODE_ENV: 'test',
    LOG_LEVEL: 'info',
    FINN_URL: sim.url,
    DATABASE_URL: schema.url,
    DIXIE_ALLOWLIST_PATH: join(dir, 'allowlist.json'),
    DIXIE_JWT_PRIVATE_KEY: TEST_JWT_KEY,
    DIXIE_SCHEDULER_TICK_MS: '200',
    // The firing lease is derived from these: 1 s + 3 s + 5 s of slack.
    DIXIE_FINN_TIMEOUT_MS: '1000',
    DIXIE_FINN_MESSAGE_TIMEOUT_MS: '3000',
    DIXIE_PORT: String(port),
  });
  children.push(proc);
  await waitFor(() => proc.stdout().includes('"event":"listening"'), { timeoutMs: 30_000, what: `child listening (${proc.stderr()})` });
  const created = await fetch(`http://127.0.0.1:${port}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(await walletAuth(owner)) },
    body: JSON.stringify({ query: CREATE_SCHEDULE, variables: { input } }),
  });
  const body = (await created.json()) as { data: { createSchedule: { schedule: { id: string; firedBy: string } } } };
  expect(body, proc.stdout()).toHaveProperty('data.createSchedule');
  expect(body.data.createSchedule.schedule.firedBy).toBe('DIXIE');
  return { proc, id: body.data.createSchedule.schedule.id };
}

async function startSurvivor(): Promise<TestDixie> {
  const d = await startDixie({ sim, env: { DATABASE_URL: schema.url, DIXIE_ALLOWLIST_PATH: join(dir, 'allowlist.json') }, schedulerTickMs: 200 });
  survivors.push(d);
  return d;
}


describe('an instance dying mid-firing', () => {
  it('lets another instance fire the due schedule, once', { timeout: 90_000 }, async () => {
    const { proc, id } = await childWithSchedule({ nftId: 'mibera:kill', expression: 'every 1 minutes', prompt: 'survive' });

    // The child claims the firing and blocks in Finn's message call; then it is killed.
    sim.control.hang('sessions.message');
    const dueAt = await makeDue(schema.url, id);
    await sim.control.waitForRequest((r) => r.route === 'sessions.message', 10_000);
    const [claimed] = await executionsOf(schema.url, id);
    expect(claimed).toMatchObject({ status: 'RUNNING', attempts: 1 });
    expect(claimed!.fire_at!.getTime()).toBe(dueAt.getTime());
    // A second instance ticking (every 200 ms) beside a live lease leaves the firing alone.
    const other = await startSurvivor();
    await new Promise((r) => setTimeout(r, 1_000));
    expect((await executionsOf(schema.url, id)).find((r) => r.id === claimed!.id)).toMatchObject({ status: 'RUNNING', attempts: 1 });
    expect(executionLogs(other, 'schedule_firing_taken_over', String(claimed!.id))).toEqual([]);
    proc.child.kill('SIGKILL');
    expect(await proc.exited).toBeNull();
    sim.control.hang('sessions.message', false);

    // Wait for the claimed execution itself: the schedule is due every minute, so a later firing
    // may succeed first when the test crosses a minute boundary.
    await waitFor(async () => (await executionsOf(schema.url, id)).some((r) => r.id === claimed!.id && r.status === 'SUCCESS'), {
      timeoutMs: 30_000,
      what: 'the takeover',
    });
    await new Promise((r) => setTimeout(r, 1_000));

    const rows = await executionsOf(schema.url, id);
    const forDue = rows.filter((r) => r.fire_at?.getTime() === dueAt.getTime());
    expect(forDue).toHaveLength(1);
    expect(forDue[0]).toMatchObject({ id: claimed!.id, status: 'SUCCESS', attempts: 2 });
    expect(executionLogs(other, 'schedule_firing_taken_over', String(claimed!.id))).toHaveLength(1);
    expect(executionLogs(other, 'schedule_fired', String(claimed!.id))).toHaveLength(1);
    const [schedule] = await sql<{ fire_count: number; status: string }>(schema.url, 'SELECT fire_count, status FROM schedules WHERE id = $1', [id]);
    expect(schedule).toMatchObject({ status: 'ACTIVE' });
    expect(schedule!.fire_count).toBe(rows.length);
  });

  it('does not send the prompt again when it had reached Finn before the instance died', { timeout: 90_000 }, async () => {
    const { proc, id } = await childWithSchedule({ nftId: 'mibera:sent', expression: 'every 2 hours', prompt: 'only once' });
    // A slow agent run: the instance dies while Finn is running the prompt it sent.
    sim.control.setStream({ delayMs: 500 });
    try {
      const sending = sim.control.waitForRequest((r) => r.route === 'sessions.message', 10_000);
      await makeDue(schema.url, id);
      const sessionId = (await sending).path.split('/')[3]!;
      await waitFor(() => (sim.control.sessions.get(sessionId)?.messages.length ?? 0) > 0, { what: 'Finn running the prompt' });
      proc.child.kill('SIGKILL');
      expect(await proc.exited).toBeNull();
    } finally {
      sim.control.setStream({ delayMs: 5 });
    }
    const [claimed] = await executionsOf(schema.url, id);
    expect(claimed).toMatchObject({ status: 'RUNNING', attempts: 1 });

    const other = await startSurvivor();
    await waitFor(async () => (await executionsOf(schema.url, id))[0]?.status !== 'RUNNING', { timeoutMs: 30_000, what: 'the takeover' });
    const rows = await executionsOf(schema.url, id);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ id: claimed!.id, status: 'SUCCESS', attempts: 2 });
    expect(promptsFor(sim, claimed!.id)).toBe(1);
    expect(executionLogs(other, 'schedule_fired', String(claimed!.id))).toHaveLength(1);
  });
});

describe('an orphaned firing of a schedule that changed status meanwhile', () => {
  it('is SKIPPED, not sent, when the schedule was cancelled or paused; a completed schedule’s last firing is still sent', { timeout: 60_000 }, async () => {
    const d = await startSurvivor();
    const ids: Record<string, string> = {};
    for (const status of ['CANCELLED', 'PAUSED', 'COMPLETED']) {
      const res = await createSchedule(d, owner, { nftId: 'mibera:orphan', expression: 'every 2 hours', prompt: `orphan of ${status}` });
      expect(res.body.errors).toBeUndefined();
      ids[status] = res.body.data!.createSchedule.schedule.id;
    }
    // An instance claimed a firing of each, then vanished; the user then cancelled, paused, or it was the last one.
    for (const [status, id] of Object.entries(ids)) {
      await sql(schema.url, `UPDATE schedules SET status = $2, next_fire_at = CASE WHEN $2 = 'PAUSED' THEN next_fire_at END WHERE id = $1`, [id, status]);
      await sql(
        schema.url,
        `INSERT INTO schedule_executions (schedule_id, nft_id, source, fire_at, status, claim_token, lease_until, fired_at)
         VALUES ($1, 'mibera:orphan', 'dixie', now() - interval '3 minutes', 'RUNNING', 'vanished-instance', now() - interval '1 second', now() - interval '3 minutes')`,
        [id],
      );
    }
    await waitFor(async () => {
      const rows = await Promise.all(Object.values(ids).map((id) => executionsOf(schema.url, id)));
      return rows.every((r) => r[0]?.status !== 'RUNNING');
    }, { timeoutMs: 20_000, what: 'the orphans handled' });

    const [cancelled] = await executionsOf(schema.url, ids.CANCELLED!);
    const [paused] = await executionsOf(schema.url, ids.PAUSED!);
    const [completed] = await executionsOf(schema.url, ids.COMPLETED!);
    expect(cancelled).toMatchObject({ status: 'SKIPPED', attempts: 1 });
    expect(paused).toMatchObject({ status: 'SKIPPED', attempts: 1 });
    expect(completed).toMatchObject({ status: 'SUCCESS', attempts: 2 });
    expect([cancelled, paused, completed].map((r) => promptsFor(sim, r!.id))).toEqual([0, 0, 1]);
    // Every outcome is published, a skipped one too.
    for (const r of [cancelled, paused, completed]) {
      expect(executionLogs(d, 'schedule_fired', String(r!.id))).toEqual([expect.objectContaining({ status: r!.status })]);
    }
  });
});
