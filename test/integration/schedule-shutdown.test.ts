import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { newWallet, writeAllowlist } from '../helpers/auth.js';
import { startDixie, type TestDixie } from '../helpers/dixie.js';
import { createSchedule, executionLogs, executionsOf, giveWallet, makeDue, promptsFor, settledExecution } from '../helpers/schedules.js';
import { deadlineIn } from '../../src/deadline.js';
import { createTestSchema, uniqueTag } from '../helpers/services.js';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.js';
import { startFinnSim, type FinnSim } from '../finn-sim/index.js';

/**
 * Shutdown of an instance while it holds firings it has not sent yet: they go back to the other
 * instances at once, without counting as an attempt (three deploys in a row once abandoned them).
 */
const tag = uniqueTag('sched_stop');
const owner = newWallet();
let sim: FinnSim;
let proxy: TcpProxy;
let dir: string;
let schema: Awaited<ReturnType<typeof createTestSchema>>;
const started: TestDixie[] = [];

// The firing lease is derived from these: 1 s + 3 s + 5 s of slack.
const env = () => ({ DIXIE_ALLOWLIST_PATH: join(dir, 'allowlist.json'), DIXIE_FINN_TIMEOUT_MS: '1000', DIXIE_FINN_MESSAGE_TIMEOUT_MS: '3000' });

async function instance(databaseUrl: string): Promise<TestDixie> {
  const d = await startDixie({ sim, env: { ...env(), DATABASE_URL: databaseUrl }, schedulerTickMs: 200 });
  started.push(d);
  return d;
}

const firedBy = (d: TestDixie, executionId: string) => executionLogs(d, 'schedule_fired', executionId).length;

async function newSchedule(d: TestDixie, nftId: string): Promise<string> {
  const res = await createSchedule(d, owner, { nftId, expression: 'every 2 hours', prompt: 'deploy day' });
  expect(res.body.errors).toBeUndefined();
  return res.body.data!.createSchedule.schedule.id;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dixie-sched-stop-'));
  await writeAllowlist(join(dir, 'allowlist.json'), [owner]);
  schema = await createTestSchema(tag);
  proxy = await startTcpProxy('127.0.0.1', Number(new URL(schema.url).port || 5432));
  sim = await startFinnSim();
  sim.control.absent('cron.register');
  giveWallet(sim, owner, 200, ['mibera:stop1', 'mibera:stop2', 'mibera:stop3']);
});

afterEach(async () => {
  sim.control.hang('sessions.create', false);
  sim.control.setStream({ delayMs: 5 });
  for (const d of started.splice(0)) await d.stop();
});

afterAll(async () => {
  await proxy?.close();
  await sim?.close();
  await schema?.drop();
  await rm(dir, { recursive: true, force: true });
});

describe('scheduler shutdown', () => {
  it('releases what a tick claims after stop began: another instance fires it at once, as its first attempt', { timeout: 60_000 }, async () => {
    const viaProxy = schema.url.replace(`:${new URL(schema.url).port || 5432}/`, `:${proxy.port}/`);
    const a = await instance(viaProxy);
    const id = await newSchedule(a, 'mibera:stop1');
    // The tick's claim transaction has inserted the execution; its reply waits here while stop begins.
    const claimed = proxy.holdReplyTo('INSERT INTO schedule_executions');
    await makeDue(schema.url, id);
    const letGo = await claimed;
    const stopping = a.stop();
    letGo();
    await stopping;

    const [row] = await executionsOf(schema.url, id);
    expect(row).toBeDefined();
    const b = await instance(schema.url);
    const done = await settledExecution(schema.url, id, 20_000);
    expect(done).toMatchObject({ id: row!.id, status: 'SUCCESS', attempts: 1 });
    expect(promptsFor(sim, row!.id)).toBe(1);
    expect(firedBy(a, row!.id)).toBe(0);
    expect(firedBy(b, row!.id)).toBe(1);
  });

  it('releases a firing still creating its session at stop instead of failing it', { timeout: 60_000 }, async () => {
    const a = await instance(schema.url);
    const id = await newSchedule(a, 'mibera:stop2');
    sim.control.hang('sessions.create');
    const creating = sim.control.waitForRequest((r) => r.route === 'sessions.create', 10_000);
    await makeDue(schema.url, id);
    await creating;
    const [row] = await executionsOf(schema.url, id);
    expect(row).toMatchObject({ status: 'RUNNING', attempts: 1 });
    await a.stop();
    sim.control.hang('sessions.create', false);

    const b = await instance(schema.url);
    const done = await settledExecution(schema.url, id, 20_000);
    expect(done).toMatchObject({ id: row!.id, status: 'SUCCESS', attempts: 1, error: null });
    expect(promptsFor(sim, row!.id)).toBe(1);
    expect(firedBy(a, row!.id)).toBe(0);
    expect(firedBy(b, row!.id)).toBe(1);
  });

  it('leaves a firing still sending when the grace period ends to a takeover that does not send it again', { timeout: 60_000 }, async () => {
    const a = await instance(schema.url);
    const id = await newSchedule(a, 'mibera:stop3');
    sim.control.setStream({ delayMs: 300 }); // a 2 s agent run, within the 3 s message timeout
    const sending = sim.control.waitForRequest((r) => r.route === 'sessions.message', 10_000);
    await makeDue(schema.url, id);
    await sending;
    await a.server.stop(deadlineIn(500));
    const [row] = await executionsOf(schema.url, id);
    expect(row).toMatchObject({ status: 'RUNNING', attempts: 1 });

    // After the lease another instance takes it over and finds the prompt on Finn.
    const b = await instance(schema.url);
    const done = await settledExecution(schema.url, id, 30_000);
    expect(done).toMatchObject({ id: row!.id, status: 'SUCCESS', attempts: 2 });
    expect(promptsFor(sim, row!.id)).toBe(1);
    expect(firedBy(b, row!.id)).toBe(1);
  });
});
