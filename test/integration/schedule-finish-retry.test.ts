import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newWallet, writeAllowlist } from '../helpers/auth.js';
import { startDixie, waitFor, type TestDixie } from '../helpers/dixie.js';
import { readMemory } from '../helpers/memory.js';
import { createSchedule, executionLogs, executionsOf, giveWallet, makeDue, promptsFor, settledExecution } from '../helpers/schedules.js';
import { createTestSchema, uniqueTag } from '../helpers/services.js';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.js';
import { startFinnSim, type FinnSim } from '../finn-sim/index.js';

/**
 * Recording a firing's outcome fails (PostgreSQL fails over, a reply is lost): the prompt has been
 * sent, so the outcome is retried while the lease lasts instead of letting another instance send
 * it again once the lease has expired.
 */
const tag = uniqueTag('sched_finish');
const owner = newWallet();
let sim: FinnSim;
let proxy: TcpProxy;
let d: TestDixie;
let dir: string;
let schema: Awaited<ReturnType<typeof createTestSchema>>;

async function newSchedule(nftId: string): Promise<string> {
  const res = await createSchedule(d, owner, { nftId, expression: 'every 2 hours', prompt: 'write it down' });
  expect(res.body.errors).toBeUndefined();
  return res.body.data!.createSchedule.schedule.id;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dixie-sched-finish-'));
  await writeAllowlist(join(dir, 'allowlist.json'), [owner]);
  schema = await createTestSchema(tag);
  const port = new URL(schema.url).port || '5432';
  proxy = await startTcpProxy('127.0.0.1', Number(port));
  sim = await startFinnSim();
  sim.control.absent('cron.register');
  giveWallet(sim, owner, 200, ['mibera:fin1', 'mibera:fin2']);
  d = await startDixie({
    sim,
    env: {
      DATABASE_URL: schema.url.replace(`:${port}/`, `:${proxy.port}/`),
      DIXIE_ALLOWLIST_PATH: join(dir, 'allowlist.json'),
      // The firing lease is derived from these: 1 s + 3 s + 5 s of slack.
      DIXIE_FINN_TIMEOUT_MS: '1000',
      DIXIE_FINN_MESSAGE_TIMEOUT_MS: '3000',
    },
    schedulerTickMs: 200,
  });
});

afterAll(async () => {
  proxy?.setMode('pass');
  await d?.stop();
  await proxy?.close();
  await sim?.close();
  await schema?.drop();
  await rm(dir, { recursive: true, force: true });
});

describe('recording the outcome of a firing', () => {
  it('is retried while PostgreSQL is unreachable, so the prompt is sent once', { timeout: 60_000 }, async () => {
    const id = await newSchedule('mibera:fin1');
    sim.control.hang('sessions.message');
    const sending = sim.control.waitForRequest((r) => r.route === 'sessions.message', 10_000);
    await makeDue(schema.url, id);
    await sending;
    const [row] = await executionsOf(schema.url, id);
    const seen = d.logs.length;
    proxy.setMode('refuse');
    sim.control.hang('sessions.message', false);
    // The outcome could not be written (whatever the scheduler then does about it).
    await waitFor(() => d.logs.slice(seen).some((l) => l.execution_id === row!.id && (l.level === 'warn' || l.level === 'error')), {
      timeoutMs: 10_000,
      what: 'the failed write',
    });
    proxy.setMode('pass');

    const done = await settledExecution(schema.url, id, 30_000);
    expect(done).toMatchObject({ id: row!.id, status: 'SUCCESS', attempts: 1 });
    expect(promptsFor(sim, row!.id)).toBe(1);
    expect(executionLogs(d, 'schedule_fired', row!.id)).toHaveLength(1);
    expect(executionLogs(d, 'schedule_firing_finish_retry', row!.id).length).toBeGreaterThan(0);
  });

  it('publishes the outcome and writes its memory event once when the reply to its COMMIT was lost', { timeout: 60_000 }, async () => {
    const id = await newSchedule('mibera:fin2');
    const written = proxy.holdReplyTo('COMMIT', { after: 'UPDATE schedule_executions SET status' });
    await makeDue(schema.url, id);
    await written;
    const [row] = await executionsOf(schema.url, id);
    expect(row).toMatchObject({ status: 'SUCCESS', attempts: 1 });
    proxy.setMode('refuse');
    proxy.setMode('pass');

    await waitFor(() => executionLogs(d, 'schedule_fired', row!.id).length > 0, { timeoutMs: 15_000, what: 'scheduleFired' });
    expect(executionLogs(d, 'schedule_fired', row!.id)).toEqual([expect.objectContaining({ status: 'SUCCESS' })]);
    expect(promptsFor(sim, row!.id)).toBe(1);
    expect(executionLogs(d, 'schedule_firing_finish_retry', row!.id).length).toBeGreaterThan(0);
    // Written with the outcome, in the transaction that committed: the retry appended nothing more.
    const fires = (await readMemory(d, owner, 'mibera:fin2', { c: id })).events.items.filter((e) => e.type === 'SCHEDULE_FIRE');
    expect(fires.map((e) => [e.payload?.executionId, e.payload?.status])).toEqual([[row!.id, 'SUCCESS']]);
  });
});
