import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newWallet, walletAuth, writeAllowlist } from '../helpers/auth.js';
import { chatOverWs, wsClient } from '../helpers/chat.js';
import { startDixie, TEST_ADMIN_KEY, waitFor, type TestDixie } from '../helpers/dixie.js';
import { createSchedule, giveWallet, postCallback, sql } from '../helpers/schedules.js';
import { createTestSchema, uniqueTag } from '../helpers/services.js';
import { startFinnSim, type FinnSim } from '../finn-sim/index.js';

const tag = uniqueTag('sched');
const owner = newWallet();
const stranger = newWallet();
const participant = newWallet();
const NFT = 'mibera:101';
let sim: FinnSim;
let a: TestDixie;
let b: TestDixie;
let dir: string;
let schema: Awaited<ReturnType<typeof createTestSchema>>;
let env: Record<string, string>;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dixie-sched-'));
  await writeAllowlist(join(dir, 'allowlist.json'), [owner, stranger, participant]);
  schema = await createTestSchema(tag);
  sim = await startFinnSim();
  giveWallet(sim, owner, 200, [NFT, 'mibera:limit', 'mibera:fleet']);
  giveWallet(sim, stranger, 20_000, []);
  giveWallet(sim, participant, 50, [NFT]);
  env = {
    DATABASE_URL: schema.url,
    DIXIE_ALLOWLIST_PATH: join(dir, 'allowlist.json'),
    DIXIE_RATE_LIMIT_RPM: '0',
    DIXIE_SCHEDULE_CALLBACK_SECRET: 'test-secret',
    DIXIE_PUBLIC_URL: 'https://dixie.example',
  };
  // A 1 h tick: the scheduler only ticks at start-up here, so overdue schedules stay overdue.
  a = await startDixie({ sim, env, schedulerTickMs: 3_600_000 });
  b = await startDixie({ sim, env, schedulerTickMs: 3_600_000 });
});

afterAll(async () => {
  await a?.stop();
  await b?.stop();
  await sim?.close();
  await schema?.drop();
  await rm(dir, { recursive: true, force: true });
});

const code = (res: { body: { errors?: Array<{ extensions?: Record<string, unknown> }> } }) => res.body.errors?.[0]?.extensions?.code;

describe('createSchedule', () => {
  it('registers the cron with Finn (B7) when Finn serves it: Finn fires it and calls back', async () => {
    const res = await createSchedule(a, owner, { nftId: NFT, expression: 'Every Morning', prompt: 'Good morning!', name: 'wake' });
    expect(res.body.errors).toBeUndefined();
    const out = res.body.data!.createSchedule;
    expect(out.parsed.cron).toBe('0 9 * * *');
    expect(out.parsed.humanReadable).toBe('Every day at 9:00 AM');
    expect(new Date(out.parsed.nextFireAt).getUTCHours()).toBe(9);
    expect(new Date(out.parsed.nextFireAt).getTime()).toBeGreaterThan(Date.now());
    expect(out.needsConfirmation).toBe(false);
    expect(out.schedule).toMatchObject({ nftId: NFT, name: 'wake', status: 'ACTIVE', firedBy: 'FINN', fireCount: 0, nextFireAt: out.parsed.nextFireAt });
    const cron = [...sim.control.crons.values()].find((c) => c.scheduleId === out.schedule.id);
    expect(cron).toMatchObject({ nftId: NFT, cron: '0 9 * * *', prompt: 'Good morning!', callbackUrl: 'https://dixie.example/api/schedule/callback' });
  });

  it('fires it itself when Finn answers 404 to B7', async () => {
    sim.control.absent('cron.register');
    try {
      const res = await createSchedule(b, owner, { nftId: NFT, expression: '*/5 * * * *', prompt: 'ping' });
      expect(res.body.errors).toBeUndefined();
      expect(res.body.data!.createSchedule.schedule).toMatchObject({ status: 'ACTIVE', firedBy: 'DIXIE', cron: '*/5 * * * *' });
      expect(res.body.data!.createSchedule.needsConfirmation).toBe(true);
    } finally {
      sim.control.absent('cron.register', false);
    }
  });

  it('marks the schedule FAILED and answers UPSTREAM_* when Finn fails B7', async () => {
    sim.control.failWith(500, 'cron.register');
    try {
      const res = await createSchedule(a, owner, { nftId: NFT, expression: 'every evening', prompt: 'night' });
      expect(code(res)).toMatch(/^UPSTREAM_/);
      const rows = await sql(schema.url, `SELECT status FROM schedules WHERE nft_id = $1 AND prompt = 'night'`, [NFT]);
      expect(rows).toEqual([{ status: 'FAILED' }]);
    } finally {
      sim.control.failWith(null, 'cron.register');
    }
  });

  it.each([
    [{ expression: 'whenever you like' }, 'expression'],
    [{ expression: 'every 61 minutes' }, 'expression'],
    [{ prompt: '   ' }, 'prompt'],
    [{ prompt: 'wake\u0000up' }, 'prompt'],
    [{ name: 'half \uD83D' }, 'name'],
    [{ maxFires: 0 }, 'maxFires'],
  ])('rejects %j with BAD_USER_INPUT on %s', async (patch, field) => {
    const res = await createSchedule(a, owner, { nftId: NFT, expression: 'every morning', prompt: 'x', ...patch });
    expect(code(res)).toBe('BAD_USER_INPUT');
    expect(res.body.errors?.[0]?.extensions?.field).toBe(field);
  });

  it('answers an id no schedule can have as not found, without a database error', async () => {
    const res = await a.gql<{ schedule: unknown }>('query($id: ID!) { schedule(id: $id) { id } }', { id: 'x\u0000y' }, await walletAuth(owner));
    expect(res.body).toEqual({ data: { schedule: null } });
  });

  it('needs a signed-in BUILDER who owns the NFT', async () => {
    const input = { nftId: NFT, expression: 'every morning', prompt: 'x' };
    const anonymous = await a.gql('mutation($i: CreateScheduleInput!) { createSchedule(input: $i) { needsConfirmation } }', { i: input });
    expect(code(anonymous)).toBe('UNAUTHENTICATED');
    const low = await createSchedule(a, participant, input);
    expect(code(low)).toBe('FORBIDDEN');
    expect(low.body.errors?.[0]?.extensions).toMatchObject({ requiredTier: 'BUILDER', actualTier: 'PARTICIPANT' });
    const notOwner = await createSchedule(a, stranger, input);
    expect(code(notOwner)).toBe('FORBIDDEN');
  });
});

describe('the 50 non-terminal schedules limit', () => {
  it('holds under 60 concurrent creations spread over two instances', async () => {
    const results = await Promise.all(
      Array.from({ length: 60 }, (_, i) => createSchedule(i % 2 ? a : b, owner, { nftId: 'mibera:limit', expression: 'every 2 hours', prompt: `p${i}` })),
    );
    const ok = results.filter((r) => !r.body.errors);
    const refused = results.filter((r) => r.body.errors);
    expect(ok).toHaveLength(50);
    expect(refused.map(code)).toEqual(Array(10).fill('BAD_USER_INPUT'));
    expect(refused[0]!.body.errors?.[0]?.message).toMatch(/At most 50/);
    const [row] = await sql<{ n: string }>(schema.url, `SELECT count(*) AS n FROM schedules WHERE nft_id = 'mibera:limit' AND status = 'ACTIVE'`);
    expect(Number(row!.n)).toBe(50);

    // A cancelled schedule is terminal: it frees a slot.
    const first = ok[0]!.body.data!.createSchedule.schedule.id;
    const cancelled = await a.gql('mutation($id: ID!) { cancelSchedule(id: $id) { status } }', { id: first }, await walletAuth(owner));
    expect(cancelled.body.data).toEqual({ cancelSchedule: { status: 'CANCELLED' } });
    expect((await createSchedule(b, owner, { nftId: 'mibera:limit', expression: 'every 2 hours', prompt: 'again' })).body.errors).toBeUndefined();
    expect(code(await createSchedule(b, owner, { nftId: 'mibera:limit', expression: 'every 2 hours', prompt: 'over' }))).toBe('BAD_USER_INPUT');
  });
});

describe('schedules, schedule, cancelSchedule', () => {
  it('lists for the owner, hides from others, cancels once (B8 for a Finn-held cron)', async () => {
    const created = (await createSchedule(a, owner, { nftId: NFT, expression: 'weekly on friday', prompt: 'weekly' })).body.data!.createSchedule.schedule;
    const list = await b.gql<{ schedules: Array<{ id: string }> }>('query($n: ID!) { schedules(nftId: $n) { id status } }', { n: NFT }, await walletAuth(owner));
    expect(list.body.data!.schedules.map((s) => s.id)).toContain(created.id);
    const foreign = await b.gql('query($n: ID!) { schedules(nftId: $n) { id } }', { n: NFT }, await walletAuth(stranger));
    expect(code(foreign)).toBe('FORBIDDEN');
    const hidden = await b.gql('query($id: ID!) { schedule(id: $id) { id } }', { id: created.id }, await walletAuth(stranger));
    expect(hidden.body).toEqual({ data: { schedule: null } });
    const notYours = await b.gql('mutation($id: ID!) { cancelSchedule(id: $id) { id } }', { id: created.id }, await walletAuth(stranger));
    expect(code(notYours)).toBe('NOT_FOUND');

    const cronId = [...sim.control.crons.values()].find((c) => c.scheduleId === created.id)!.cronId;
    const cancel = await b.gql('mutation($id: ID!) { cancelSchedule(id: $id) { status nextFireAt } }', { id: created.id }, await walletAuth(owner));
    expect(cancel.body.data).toEqual({ cancelSchedule: { status: 'CANCELLED', nextFireAt: null } });
    expect(sim.control.crons.get(cronId)?.deleted).toBe(true);
    const again = await a.gql('mutation($id: ID!) { cancelSchedule(id: $id) { status } }', { id: created.id }, await walletAuth(owner));
    expect(code(again)).toBe('BAD_USER_INPUT');
    expect(again.body.errors?.[0]?.message).toBe('The schedule is already CANCELLED');
  });

  it('pages executions newest first', async () => {
    const created = (await createSchedule(a, owner, { nftId: NFT, expression: 'every 3 hours', prompt: 'paged' })).body.data!.createSchedule.schedule;
    // Distinct timestamps: the signature covers only scheduleId and timestamp, so equal ones would be replays.
    const now = Math.floor(Date.now() / 1000);
    for (let i = 0; i < 3; i++) {
      const res = await postCallback(i % 2 ? a.url : b.url, { scheduleId: created.id, messageId: `m${i}` }, { timestamp: String(now - 10 + i) });
      expect(res.status).toBe(200);
    }
    const q = 'query($id: ID!, $after: String) { schedule(id: $id) { fireCount executions(first: 2, after: $after) { nodes { messageId status firedBy } endCursor hasNextPage } } }';
    const p1 = await a.gql<{ schedule: { fireCount: number; executions: { nodes: Array<{ messageId: string }>; endCursor: string; hasNextPage: boolean } } }>(q, { id: created.id }, await walletAuth(owner));
    expect(p1.body.data!.schedule.fireCount).toBe(3);
    expect(p1.body.data!.schedule.executions.nodes).toEqual([
      { messageId: 'm2', status: 'SUCCESS', firedBy: 'FINN' },
      { messageId: 'm1', status: 'SUCCESS', firedBy: 'FINN' },
    ]);
    expect(p1.body.data!.schedule.executions.hasNextPage).toBe(true);
    const p2 = await b.gql<typeof p1.body.data>(q, { id: created.id, after: p1.body.data!.schedule.executions.endCursor }, await walletAuth(owner));
    expect(p2.body.data!.schedule.executions).toMatchObject({ nodes: [{ messageId: 'm0' }], hasNextPage: false });
  });
});

describe('fleet governor', () => {
  const fleet = async (d: TestDixie) => {
    const res = await fetch(`${d.url}/api/health/governance`, { headers: { authorization: `Bearer ${TEST_ADMIN_KEY}` } });
    const body = (await res.json()) as { governors: Array<{ resourceType: string; health: { status: string; totalItems: number; staleItems: number } }> };
    return body.governors.find((g) => g.resourceType === 'fleet')!.health;
  };
  const activeSchedules = async () => Number((await sql<{ n: string }>(schema.url, `SELECT count(*) AS n FROM schedules WHERE status = 'ACTIVE'`))[0]!.n);

  it('counts active schedules and reports Dixie-fired ones overdue by more than two ticks', async () => {
    sim.control.absent('cron.register');
    const created = (await createSchedule(a, owner, { nftId: 'mibera:fleet', expression: 'every 4 hours', prompt: 'fleet' })).body.data!.createSchedule.schedule;
    sim.control.absent('cron.register', false);
    const active = await activeSchedules();
    expect(await fleet(a)).toMatchObject({ status: 'healthy', totalItems: active, staleItems: 0 });
    await sql(schema.url, `UPDATE schedules SET next_fire_at = now() - interval '3 hours' WHERE id = $1`, [created.id]);
    expect(await fleet(a)).toMatchObject({ status: 'degraded', totalItems: active, staleItems: 1 });
    await a.gql('mutation($id: ID!) { cancelSchedule(id: $id) { status } }', { id: created.id }, await walletAuth(owner));
    expect(await fleet(a)).toMatchObject({ status: 'healthy', staleItems: 0 });
  });

  it("counts a live chat stream on the instance serving it, and stops counting it once it ends", async () => {
    const auth = await walletAuth(owner);
    const started = await b.gql<{ startChat: { id: string } }>('mutation { startChat { id } }', {}, auth);
    expect(started.body.errors).toBeUndefined();
    // A long answer keeps the Finn stream open while the governor is read.
    sim.control.setStream({ deltas: 10_000, delayMs: 20 });
    const client = wsClient(b.wsUrl, auth);
    try {
      const active = await activeSchedules();
      expect(await fleet(b)).toMatchObject({ totalItems: active });
      let release = false;
      let streaming!: () => void;
      const firstDelta = new Promise<void>((r) => (streaming = r));
      const run = chatOverWs(client, { sessionId: started.body.data!.startChat.id, text: 'count me' }, (e) => {
        if (e.__typename === 'ChatTextDelta') streaming();
        return release ? 'stop' : undefined;
      });
      await firstDelta;
      expect(await fleet(b)).toMatchObject({ status: 'healthy', totalItems: active + 1 });
      release = true;
      await run;
      await waitFor(async () => (await fleet(b)).totalItems === active, { what: 'the stream no longer counted' });
    } finally {
      sim.control.setStream({ deltas: 3, delayMs: 5 });
      await client.dispose();
    }
  });
});

describe('without DATABASE_URL', () => {
  it('answers FEATURE_DISABLED', async () => {
    const nodb = await startDixie({ sim, env: { ...env, DATABASE_URL: undefined } });
    try {
      const res = await createSchedule(nodb, owner, { nftId: NFT, expression: 'every morning', prompt: 'x' });
      expect(code(res)).toBe('FEATURE_DISABLED');
      const list = await nodb.gql('query($n: ID!) { schedules(nftId: $n) { id } }', { n: NFT }, await walletAuth(owner));
      expect(code(list)).toBe('FEATURE_DISABLED');
      // Not "no such schedule" (null, NOT_FOUND): there is nowhere to look it up.
      const id = randomUUID();
      const one = await nodb.gql('query($id: ID!) { schedule(id: $id) { id } }', { id }, await walletAuth(owner));
      expect(code(one)).toBe('FEATURE_DISABLED');
      expect(one.body.data).toEqual({ schedule: null });
      const cancel = await nodb.gql('mutation($id: ID!) { cancelSchedule(id: $id) { id } }', { id }, await walletAuth(owner));
      expect(code(cancel)).toBe('FEATURE_DISABLED');
    } finally {
      await nodb.stop();
    }
  });
});
