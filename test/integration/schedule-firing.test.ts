import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ScheduleExecution } from '../../src/datasources/schedules.js';
import { newWallet, writeAllowlist } from '../helpers/auth.js';
import { startDixie, waitFor, type TestDixie } from '../helpers/dixie.js';
import { createSchedule, executionsOf, giveWallet, makeDue, promptsFor, sql } from '../helpers/schedules.js';
import { createTestSchema, NATS_URL, REDIS_URL, uniqueTag } from '../helpers/services.js';
import { startFinnSim, type FinnSim } from '../finn-sim/index.js';

const tag = uniqueTag('sched_fire');
const owner = newWallet();
let sim: FinnSim;
let a: TestDixie;
let b: TestDixie;
let dir: string;
let schema: Awaited<ReturnType<typeof createTestSchema>>;
const received = new Map<TestDixie, ScheduleExecution[]>();
const stops: Array<() => void> = [];

/** Collects every scheduleFired event of `nftId` that reaches instance `d` (through NATS). */
function listen(d: TestDixie, nftId: string): void {
  const list: ScheduleExecution[] = [];
  received.set(d, list);
  const it = d.server.ds.events.subscribe('scheduleFired', nftId)[Symbol.asyncIterator]();
  let done = false;
  stops.push(() => {
    done = true;
    void it.return?.();
  });
  void (async () => {
    while (!done) {
      const next = await it.next();
      if (next.done) return;
      list.push(next.value as ScheduleExecution);
    }
  })();
}


beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dixie-fire-'));
  await writeAllowlist(join(dir, 'allowlist.json'), [owner]);
  schema = await createTestSchema(tag);
  sim = await startFinnSim();
  sim.control.absent('cron.register');
  giveWallet(sim, owner, 200, ['mibera:7', 'mibera:8']);
  const env = { DATABASE_URL: schema.url, NATS_URL, REDIS_URL, DIXIE_ALLOWLIST_PATH: join(dir, 'allowlist.json'), DIXIE_RATE_LIMIT_RPM: '0' };
  const isolation = { redisKeyPrefix: `${tag}:`, natsSubjectPrefix: `${tag}.`, schedulerTickMs: 200 };
  a = await startDixie({ sim, env, ...isolation });
  b = await startDixie({ sim, env, ...isolation });
  await waitFor(() => a.server.ds.nats?.isUp() && b.server.ds.nats?.isUp(), { what: 'NATS up' });
});

afterAll(async () => {
  for (const stop of stops) stop();
  await a?.stop();
  await b?.stop();
  await sim?.close();
  await schema?.drop();
  await rm(dir, { recursive: true, force: true });
});

describe('Dixie-fired schedules across two instances (B7 answers 404)', () => {
  it('fires each due firing exactly once and every instance hears of it once', async () => {
    listen(a, 'mibera:7');
    listen(b, 'mibera:7');
    await new Promise((r) => setTimeout(r, 300)); // NATS interest registered on both
    const res = await createSchedule(a, owner, { nftId: 'mibera:7', expression: 'every 1 minutes', prompt: 'tick tock' });
    expect(res.body.errors).toBeUndefined();
    const { id, firedBy, cron } = res.body.data!.createSchedule.schedule;
    expect([firedBy, cron]).toEqual(['DIXIE', '*/1 * * * *']);

    for (let round = 1; round <= 3; round++) {
      await makeDue(schema.url, id, round * 1_000);
      // ≥: the natural every-minute firing may also come due while the test runs; it counts the same.
      await waitFor(async () => {
        const rows = await executionsOf(schema.url, id);
        return rows.length >= round && rows.every((r) => r.status !== 'RUNNING');
      }, { timeoutMs: 10_000, what: `firing ${round}` });
    }
    await new Promise((r) => setTimeout(r, 1_000)); // five more ticks on each instance: nothing else fires

    const rows = await executionsOf(schema.url, id);
    expect(rows.length).toBeGreaterThanOrEqual(3);
    expect(rows.every((r) => r.status === 'SUCCESS' && r.source === 'dixie' && r.attempts === 1)).toBe(true);
    expect(new Set(rows.map((r) => r.fire_at!.toISOString())).size).toBe(rows.length);
    for (const r of rows) expect(promptsFor(sim, r.id)).toBe(1);
    // And no prompt went out for this NFT without a recorded execution.
    const sent = sim.control.requests.filter(
      (r) => r.route === 'sessions.message' && String(r.headers['x-request-id']).startsWith('schedule-') && sim.control.sessions.get(r.path.split('/')[3] ?? '')?.tokenId === 'mibera:7',
    );
    expect(sent).toHaveLength(rows.length);
    // Each firing talks to a session of the schedule's NFT (its personality), as startChat(nftId) does.
    const sessionOf = (executionId: string) =>
      sim.control.requests.find((r) => r.route === 'sessions.message' && r.headers['x-request-id'] === `schedule-${executionId}`)?.path.split('/')[3];
    expect(rows.map((r) => sim.control.sessions.get(sessionOf(r.id) ?? '')?.tokenId)).toEqual(rows.map(() => 'mibera:7'));
    // Each firing was done by exactly one of the two instances.
    const fired = [...a.logs, ...b.logs].filter((l) => l.event === 'schedule_fired' && l.schedule_id === id);
    expect(fired).toHaveLength(rows.length);
    const [schedule] = await sql<{ fire_count: number; next_fire_at: Date }>(schema.url, 'SELECT fire_count, next_fire_at FROM schedules WHERE id = $1', [id]);
    expect(schedule!.fire_count).toBe(rows.length);
    expect(schedule!.next_fire_at.getTime()).toBeGreaterThan(Date.now());

    await waitFor(() => received.get(a)!.length >= rows.length && received.get(b)!.length >= rows.length, { what: 'events on both' });
    for (const d of [a, b]) {
      expect(received.get(d)!.map((e) => e.id).sort()).toEqual(rows.map((r) => String(r.id)).sort());
      expect(received.get(d)!.every((e) => e.status === 'SUCCESS' && e.scheduleId === id && e.nftId === 'mibera:7')).toBe(true);
    }
  });

  it('completes the schedule after maxFires firings', async () => {
    const res = await createSchedule(b, owner, { nftId: 'mibera:8', expression: 'every 2 hours', prompt: 'twice', maxFires: 2 });
    const { id } = res.body.data!.createSchedule.schedule;
    for (let round = 1; round <= 2; round++) {
      await makeDue(schema.url, id, round * 1_000);
      await waitFor(async () => (await executionsOf(schema.url, id)).filter((r) => r.status === 'SUCCESS').length === round, {
        timeoutMs: 10_000,
        what: `firing ${round}`,
      });
    }
    const [row] = await sql<{ status: string; fire_count: number; next_fire_at: Date | null }>(
      schema.url,
      'SELECT status, fire_count, next_fire_at FROM schedules WHERE id = $1',
      [id],
    );
    expect(row).toEqual({ status: 'COMPLETED', fire_count: 2, next_fire_at: null });
  });

  it('records a FAILED execution (with a safe message) when Finn fails, once', async () => {
    const res = await createSchedule(a, owner, { nftId: 'mibera:8', expression: 'every 3 hours', prompt: 'fails' });
    const { id } = res.body.data!.createSchedule.schedule;
    sim.control.failWith(400, 'sessions.message', 'INVALID_REQUEST');
    try {
      await makeDue(schema.url, id);
      await waitFor(async () => (await executionsOf(schema.url, id)).some((r) => r.status !== 'RUNNING'), { timeoutMs: 10_000, what: 'failed firing' });
      await new Promise((r) => setTimeout(r, 600));
      const rows = await executionsOf(schema.url, id);
      expect(rows).toHaveLength(1);
      expect(rows[0]).toMatchObject({ status: 'FAILED', error: 'The agent runtime answered with an error' });
    } finally {
      sim.control.failWith(null, 'sessions.message');
    }
  });
});
