import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newWallet, walletAuth, writeAllowlist } from '../helpers/auth.js';
import { startDixie, TEST_JWT_KEY, waitFor, type TestDixie } from '../helpers/dixie.js';
import { CREATE_SCHEDULE, executionsOf, giveWallet, makeDue, sql } from '../helpers/schedules.js';
import { createTestSchema, uniqueTag } from '../helpers/services.js';
import { freePort, spawnDixie, type DixieProcess } from '../helpers/spawn-dixie.js';
import { startFinnSim, type FinnSim } from '../finn-sim/index.js';

const tag = uniqueTag('sched_kill');
const owner = newWallet();
let sim: FinnSim;
let child: DixieProcess | undefined;
let survivor: TestDixie | undefined;
let dir: string;
let schema: Awaited<ReturnType<typeof createTestSchema>>;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dixie-kill-'));
  await writeAllowlist(join(dir, 'allowlist.json'), [owner]);
  schema = await createTestSchema(tag);
  sim = await startFinnSim();
  sim.control.absent('cron.register');
  giveWallet(sim, owner, 200, ['mibera:kill']);
});

afterAll(async () => {
  if (child && child.child.exitCode === null && child.child.signalCode === null) child.child.kill('SIGKILL');
  await survivor?.stop();
  await sim?.close();
  await schema?.drop();
  await rm(dir, { recursive: true, force: true });
});

describe('an instance dying mid-firing', () => {
  it('lets another instance fire the due schedule, once', { timeout: 90_000 }, async () => {
    const env = {
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
    };
    const port = await freePort();
    child = spawnDixie({ ...env, DIXIE_PORT: String(port) });
    const proc = child;
    await waitFor(() => proc.stdout().includes('"event":"listening"'), { timeoutMs: 30_000, what: `child listening (${proc.stderr()})` });

    const created = await fetch(`http://127.0.0.1:${port}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(await walletAuth(owner)) },
      body: JSON.stringify({ query: CREATE_SCHEDULE, variables: { input: { nftId: 'mibera:kill', expression: 'every 1 minutes', prompt: 'survive' } } }),
    });
    const body = (await created.json()) as { data: { createSchedule: { schedule: { id: string; firedBy: string } } } };
    expect(body, proc.stdout()).toHaveProperty('data.createSchedule');
    const { id, firedBy } = body.data.createSchedule.schedule;
    expect(firedBy).toBe('DIXIE');

    // The child claims the firing and blocks in Finn's message call; then it is killed.
    sim.control.hang('sessions.message');
    const dueAt = await makeDue(schema.url, id);
    await sim.control.waitForRequest((r) => r.route === 'sessions.message', 10_000);
    const [claimed] = await executionsOf(schema.url, id);
    expect(claimed).toMatchObject({ status: 'RUNNING', attempts: 1 });
    expect(claimed!.fire_at!.getTime()).toBe(dueAt.getTime());
    proc.child.kill('SIGKILL');
    expect(await proc.exited).toBeNull();
    sim.control.hang('sessions.message', false);

    survivor = await startDixie({ sim, env: { DATABASE_URL: schema.url }, schedulerTickMs: 200 });
    const other = survivor;
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
    expect(other.logs.filter((l) => l.event === 'schedule_firing_taken_over' && l.execution_id === String(claimed!.id))).toHaveLength(1);
    expect(other.logs.filter((l) => l.event === 'schedule_fired' && l.execution_id === String(claimed!.id))).toHaveLength(1);
    const [schedule] = await sql<{ fire_count: number; status: string }>(schema.url, 'SELECT fire_count, status FROM schedules WHERE id = $1', [id]);
    expect(schedule).toMatchObject({ status: 'ACTIVE' });
    expect(schedule!.fire_count).toBe(rows.length);
  });
});
