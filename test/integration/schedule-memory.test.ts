import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newWallet, walletAuth, writeAllowlist } from '../helpers/auth.js';
import { startDixie, waitFor, type TestDixie } from '../helpers/dixie.js';
import { rawRows, readMemory, startChatOn, type MemoryEventJson } from '../helpers/memory.js';
import { createSchedule, executionsOf, giveWallet, makeDue, postCallback, sql } from '../helpers/schedules.js';
import { createTestSchema, NATS_URL, REDIS_URL, uniqueTag } from '../helpers/services.js';
import { startFinnSim, type FinnSim } from '../finn-sim/index.js';

/** Soul memory of schedules: one schedule_create per schedule, one schedule_fire per recorded execution. */
const tag = uniqueTag('sched_mem');
const owner = newWallet();
const delegate = newWallet();
let sim: FinnSim;
let a: TestDixie;
let b: TestDixie;
let dir: string;
let schema: Awaited<ReturnType<typeof createTestSchema>>;

const nowS = () => Math.floor(Date.now() / 1000);
const CREATE_FIELDS = ['scheduleId', 'name', 'expression', 'cron', 'humanReadable', 'prompt', 'maxFires', 'firedBy', 'nextFireAt'];

/** The memory events of one schedule (its conversation), oldest first, as the owner reads them. */
async function scheduleEvents(d: TestDixie, nftId: string, scheduleId: string, wallet = owner): Promise<MemoryEventJson[]> {
  return (await readMemory(d, wallet, nftId, { c: scheduleId })).events.items.slice().reverse();
}

async function newSchedule(d: TestDixie, input: { nftId: string; expression: string; prompt: string; name?: string }, firedBy: 'FINN' | 'DIXIE' = 'FINN') {
  // B7 absent: Finn answers 404 and Dixie fires the schedule itself.
  sim.control.absent('cron.register', firedBy === 'DIXIE');
  try {
    const res = await createSchedule(d, owner, input);
    expect(res.body.errors).toBeUndefined();
    const created = res.body.data!.createSchedule.schedule;
    expect([created.status, created.firedBy]).toEqual(['ACTIVE', firedBy]);
    return created;
  } finally {
    sim.control.absent('cron.register', false);
  }
}

/** The schedule's executions once there are `n` and none is RUNNING. */
async function settled(scheduleId: string, n: number) {
  return waitFor(async () => {
    const rows = await executionsOf(schema.url, scheduleId);
    return rows.length >= n && rows.every((e) => e.status !== 'RUNNING') ? rows : null;
  }, { timeoutMs: 10_000, what: `${n} settled firings` });
}

/** Callbacks of one test post distinct timestamps: one signature (scheduleId:timestamp) twice is a replay. */
let clock = nowS() - 200;
const post = (d: TestDixie, scheduleId: string, messageId: string) => postCallback(d.url, { scheduleId, messageId }, { timestamp: String(clock++) });

async function mutate(query: string, vars: Record<string, unknown>) {
  const res = await a.gql<Record<string, Record<string, unknown>>>(query, vars, await walletAuth(owner));
  expect(res.body.errors).toBeUndefined();
  return res.body.data!;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dixie-sched-mem-'));
  await writeAllowlist(join(dir, 'allowlist.json'), [owner, delegate]);
  schema = await createTestSchema(tag);
  sim = await startFinnSim();
  giveWallet(sim, owner, 200, ['mibera:sm1', 'mibera:sm2', 'mibera:sm3', 'mibera:sm4']);
  sim.control.setNfts(delegate, [{ nftId: 'mibera:sm3', ownerWallet: owner, delegatedWallets: [delegate] }]);
  sim.control.setStaking(delegate, 10);
  const env = {
    DATABASE_URL: schema.url,
    REDIS_URL,
    NATS_URL,
    DIXIE_ALLOWLIST_PATH: join(dir, 'allowlist.json'),
    DIXIE_SCHEDULE_CALLBACK_SECRET: 'test-secret',
    DIXIE_MEMORY_SEAL_KEY: 'schedule-memory-seal-key-0123456789abcdef',
    // Never cached: every projection read below is computed from the event log.
    DIXIE_MEMORY_PROJECTION_TTL: '0',
    DIXIE_RATE_LIMIT_RPM: '0',
  };
  const isolation = { redisKeyPrefix: `${tag}:`, natsSubjectPrefix: `${tag}.`, schedulerTickMs: 200 };
  a = await startDixie({ sim, env, ...isolation });
  b = await startDixie({ sim, env, ...isolation });
  await waitFor(() => a.server.ds.nats?.isUp() && b.server.ds.nats?.isUp(), { what: 'NATS up' });
});

afterAll(async () => {
  await a?.stop();
  await b?.stop();
  await sim?.close();
  await schema?.drop();
  await rm(dir, { recursive: true, force: true });
});

describe('schedules in soul memory', () => {
  it('records the creation and each Finn callback once (a redelivery and its twin on the other instance append nothing), and no chat', async () => {
    const NFT = 'mibera:sm1';
    const chat = await startChatOn(a, owner, NFT);
    const sent = await a.gql('mutation($s: ID!) { sendMessage(sessionId: $s, text: "How do owls hunt?") { text } }', { s: chat }, await walletAuth(owner));
    expect(sent.body.errors).toBeUndefined();
    await waitFor(async () => (await readMemory(a, owner, NFT, { c: chat })).events.items.length >= 3, { what: 'the chat recorded' });
    const before = await readMemory(a, owner, NFT);

    // A question full of keywords: as a chat prompt it would change topics and unresolved questions.
    const prompt = 'Summarise the owl migration news for me?';
    const created = await newSchedule(a, { nftId: NFT, expression: 'every morning', prompt, name: 'Owl digest' });
    expect((await post(a, created.id, 'm1')).status).toBe(200);
    const redelivered = await Promise.all([a, b].map((d) => post(d, created.id, 'm1')));
    expect(redelivered.map((r) => r.status)).toEqual([200, 200]);
    expect((await post(b, created.id, 'm2')).status).toBe(200);
    const executions = await executionsOf(schema.url, created.id);
    expect(executions.map((e) => e.message_id)).toEqual(['m1', 'm2']);

    const events = await scheduleEvents(b, NFT, created.id);
    expect(events.map((e) => e.type)).toEqual(['SCHEDULE_CREATE', 'SCHEDULE_FIRE', 'SCHEDULE_FIRE']);
    expect(events.every((e) => e.conversationId === created.id && e.actorWallet === owner.toLowerCase() && !e.encrypted && !e.erased)).toBe(true);
    const [create, ...fires] = events;
    expect(Object.keys(create!.payload!).sort()).toEqual([...CREATE_FIELDS].sort());
    expect(create!.payload).toMatchObject({
      scheduleId: created.id,
      name: 'Owl digest',
      expression: 'every morning',
      cron: '0 9 * * *',
      humanReadable: 'Every day at 9:00 AM',
      prompt,
      maxFires: null,
      firedBy: 'finn',
    });
    expect(Date.parse(create!.payload!.nextFireAt as string)).toBe(Date.parse(created.nextFireAt!));
    expect(fires.map((e) => e.payload)).toEqual(
      executions.map((x) => ({
        scheduleId: created.id,
        name: 'Owl digest',
        cron: '0 9 * * *',
        humanReadable: 'Every day at 9:00 AM',
        executionId: x.id,
        source: 'finn',
        status: 'SUCCESS',
        firedAt: expect.any(String),
        fireAt: null,
        messageId: x.message_id,
        error: null,
      })),
    );
    const onlyFires = await readMemory(a, owner, NFT, { types: ['SCHEDULE_FIRE'] });
    expect(onlyFires.events.items.map((e) => e.payload?.executionId)).toEqual(executions.map((x) => x.id).reverse());

    // Not a chat: the conversations page and the projection (computed afresh, TTL 0) are as they were.
    const after = await readMemory(a, owner, NFT);
    expect(after.conversations).toEqual(before.conversations);
    expect(after.projection).toEqual(before.projection);
    expect(after.projection).toMatchObject({ conversationCount: 1, unresolvedQuestions: [] });
    expect(after.projection.recentTopics).not.toContain('migration');
  });

  it('records the callback of a cancelled schedule as a SKIPPED firing', async () => {
    const created = await newSchedule(b, { nftId: 'mibera:sm1', expression: 'every 6 hours', prompt: 'stop me' });
    await mutate('mutation($id: ID!) { cancelSchedule(id: $id) { status } }', { id: created.id });
    expect((await post(a, created.id, 'late')).body).toMatchObject({ status: 'skipped' });
    const events = await scheduleEvents(a, 'mibera:sm1', created.id);
    expect(events.map((e) => [e.type, e.payload?.status, e.payload?.messageId])).toEqual([
      ['SCHEDULE_CREATE', undefined, undefined],
      ['SCHEDULE_FIRE', 'SKIPPED', 'late'],
    ]);
  });

  it("records each of Dixie's firings once: SUCCESS, FAILED, and one taken over from its first holder", { timeout: 60_000 }, async () => {
    const NFT = 'mibera:sm2';
    const created = await newSchedule(a, { nftId: NFT, expression: 'every 2 hours', prompt: 'check the hives' }, 'DIXIE');
    await makeDue(schema.url, created.id, 3_000);
    expect((await settled(created.id, 1)).map((e) => e.status)).toEqual(['SUCCESS']);

    sim.control.failWith(400, 'sessions.message', 'INVALID_REQUEST');
    try {
      await makeDue(schema.url, created.id, 2_000);
      await settled(created.id, 2);
    } finally {
      sim.control.failWith(null, 'sessions.message');
    }

    // The holder hangs in Finn; its lease runs out and an instance takes the firing over.
    sim.control.hang('sessions.message');
    let taken: string;
    try {
      const sending = sim.control.waitForRequest((r) => r.route === 'sessions.message', 10_000);
      await makeDue(schema.url, created.id, 1_000);
      await sending;
      const running = (await executionsOf(schema.url, created.id)).find((e) => e.status === 'RUNNING')!;
      taken = running.id;
      await sql(schema.url, `UPDATE schedule_executions SET lease_until = now() - interval '1 second' WHERE id = $1`, [taken]);
      await waitFor(async () => (await executionsOf(schema.url, created.id)).some((e) => e.id === taken && e.attempts === 2), { timeoutMs: 10_000, what: 'the takeover' });
    } finally {
      sim.control.hang('sessions.message', false);
    }
    const superseded = () => [...a.logs, ...b.logs].filter((l) => l.event === 'schedule_firing_superseded' && l.execution_id === taken);
    await waitFor(() => superseded().length > 0, { timeoutMs: 10_000, what: 'the first holder losing the firing' });
    const executions = await settled(created.id, 3);
    // Whatever the taker's own outcome (Finn may refuse a second prompt while the first runs), it is recorded once.
    expect(executions.map((e) => [e.id, e.status, e.attempts]).slice(0, 2)).toEqual([
      [expect.any(String), 'SUCCESS', 1],
      [expect.any(String), 'FAILED', 1],
    ]);
    expect(executions[2]).toMatchObject({ id: taken, attempts: 2 });
    const events = await scheduleEvents(b, NFT, created.id);
    expect(events.map((e) => e.type)).toEqual(['SCHEDULE_CREATE', 'SCHEDULE_FIRE', 'SCHEDULE_FIRE', 'SCHEDULE_FIRE']);
    expect(events[0]!.payload).toMatchObject({ scheduleId: created.id, prompt: 'check the hives', firedBy: 'dixie', cron: '0 */2 * * *' });
    expect(events.slice(1).map((e) => e.payload)).toEqual(
      executions.map((x) =>
        expect.objectContaining({
          executionId: x.id,
          source: 'dixie',
          status: x.status,
          fireAt: x.fire_at!.toISOString(),
          error: x.error,
          messageId: x.message_id,
        }),
      ),
    );
    expect(events.every((e) => e.actorWallet === owner.toLowerCase())).toBe(true);
  });

  it("seals and erases a schedule's events as it does a chat's, the firings that come after included", async () => {
    const NFT = 'mibera:sm3';
    const prompt = 'read my private diary aloud';
    const created = await newSchedule(a, { nftId: NFT, expression: 'every 4 hours', prompt });
    expect((await post(a, created.id, 'c1')).status).toBe(200);

    const sealed = await mutate('mutation($n: ID!, $c: ID!) { sealConversation(nftId: $n, conversationId: $c, policy: { reason: "private" }) { sealedEventCount } }', {
      n: NFT,
      c: created.id,
    });
    expect(sealed.sealConversation).toEqual({ sealedEventCount: 2 });
    expect((await post(b, created.id, 'c2')).status).toBe(200);
    const stored = await rawRows(tag, `SELECT type, payload, sealed FROM memory_events WHERE conversation_id = $1 AND type LIKE 'schedule_%' ORDER BY id`, [created.id]);
    expect(stored.map((r) => [r.type, r.payload, r.sealed !== null])).toEqual([
      ['schedule_create', null, true],
      ['schedule_fire', null, true],
      ['schedule_fire', null, true],
    ]);
    expect(stored.some((r) => (r.sealed as Buffer).toString('utf8').includes('diary'))).toBe(false);
    const asOwner = await scheduleEvents(a, NFT, created.id);
    expect(asOwner.map((e) => [e.type, e.encrypted, e.payload?.prompt ?? e.payload?.messageId ?? null])).toEqual([
      ['SCHEDULE_CREATE', true, prompt],
      ['SCHEDULE_FIRE', true, 'c1'],
      ['SEAL', false, null],
      ['SCHEDULE_FIRE', true, 'c2'],
    ]);
    const asDelegate = await scheduleEvents(a, NFT, created.id, delegate);
    expect(asDelegate.filter((e) => e.type !== 'SEAL').map((e) => [e.encrypted, e.payload])).toEqual([
      [true, null],
      [true, null],
      [true, null],
    ]);

    await mutate('mutation($n: ID!, $c: ID!) { deleteConversation(nftId: $n, conversationId: $c) { erasedEventCount } }', { n: NFT, c: created.id });
    expect((await post(a, created.id, 'c3')).status).toBe(200);
    const erased = await rawRows(tag, `SELECT type, payload, sealed, erased FROM memory_events WHERE conversation_id = $1 ORDER BY id`, [created.id]);
    expect(erased.map((r) => r.type)).toEqual(['schedule_create', 'schedule_fire', 'seal', 'schedule_fire', 'delete', 'schedule_fire']);
    expect(erased.filter((r) => r.type !== 'delete').every((r) => r.payload === null && r.sealed === null && r.erased === true)).toBe(true);
    expect(JSON.stringify(erased)).not.toContain('diary');
    // The schedule itself goes on firing and recording its executions.
    expect((await executionsOf(schema.url, created.id)).map((e) => e.message_id)).toEqual(['c1', 'c2', 'c3']);
  });

  it('never fails a schedule operation over a failed memory write: logged, and the schedule recorded without its event', { timeout: 30_000 }, async () => {
    const NFT = 'mibera:sm4';
    await sql(
      schema.url,
      `CREATE FUNCTION refuse_schedule_memory() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'memory refused'; END $$;
       CREATE TRIGGER refuse_schedule_memory BEFORE INSERT ON memory_events FOR EACH ROW
         WHEN (NEW.type IN ('schedule_create', 'schedule_fire')) EXECUTE FUNCTION refuse_schedule_memory()`,
    );
    let byFinn: string;
    let byDixie: string;
    try {
      byFinn = (await newSchedule(a, { nftId: NFT, expression: 'every 5 hours', prompt: 'finn fires this' })).id;
      expect(await post(b, byFinn, 'f1')).toMatchObject({ status: 200, body: { status: 'success' } });
      byDixie = (await newSchedule(b, { nftId: NFT, expression: 'every 5 hours', prompt: 'dixie fires this' }, 'DIXIE')).id;
      await makeDue(schema.url, byDixie);
      await settled(byDixie, 1);
    } finally {
      await sql(schema.url, 'DROP TRIGGER refuse_schedule_memory ON memory_events; DROP FUNCTION refuse_schedule_memory()');
    }
    const [finnRun] = await executionsOf(schema.url, byFinn);
    const [dixieRun] = await executionsOf(schema.url, byDixie);
    expect(finnRun).toMatchObject({ status: 'SUCCESS', message_id: 'f1' });
    const failures = [...a.logs, ...b.logs].filter((l) => l.event === 'memory_append_failed' && l.nft_id === NFT);
    expect(failures.map((l) => [l.level, l.schedule_id, l.execution_id ?? null, l.type]).sort()).toEqual(
      [
        ['error', byFinn, null, 'schedule_create'],
        ['error', byFinn, finnRun!.id, 'schedule_fire'],
        ['error', byDixie, null, 'schedule_create'],
        ['error', byDixie, dixieRun!.id, 'schedule_fire'],
      ].sort(),
    );
    expect(failures.every((l) => String(l.err).includes('memory refused'))).toBe(true);
    expect(await scheduleEvents(a, NFT, byDixie)).toEqual([]);

    // Once memory takes writes again, the next firing is recorded (and nothing of the earlier ones).
    expect((await post(a, byFinn, 'f2')).status).toBe(200);
    expect((await scheduleEvents(a, NFT, byFinn)).map((e) => [e.type, e.payload?.messageId])).toEqual([['SCHEDULE_FIRE', 'f2']]);
  });

  it('writes them on embedded PostgreSQL (PGlite) as well', async () => {
    const d = await startDixie({ sim, env: { DATABASE_URL: 'pglite:memory', DIXIE_ALLOWLIST_PATH: join(dir, 'allowlist.json'), DIXIE_SCHEDULE_CALLBACK_SECRET: 'test-secret' } });
    try {
      const created = await newSchedule(d, { nftId: 'mibera:sm1', expression: 'every 3 hours', prompt: 'on pglite' });
      expect((await post(d, created.id, 'p1')).status).toBe(200);
      const events = await scheduleEvents(d, 'mibera:sm1', created.id);
      expect(events.map((e) => [e.type, e.payload?.prompt ?? e.payload?.messageId])).toEqual([
        ['SCHEDULE_CREATE', 'on pglite'],
        ['SCHEDULE_FIRE', 'p1'],
      ]);
    } finally {
      await d.stop();
    }
  });
});
