import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newWallet, walletAuth, writeAllowlist } from '../helpers/auth.js';
import { wsClient } from '../helpers/chat.js';
import { startDixie, waitFor, type TestDixie } from '../helpers/dixie.js';
import { createSchedule, executionsOf, giveWallet, postCallback } from '../helpers/schedules.js';
import { createTestSchema, NATS_URL, REDIS_URL, uniqueTag } from '../helpers/services.js';
import { signCallback, startFinnSim, type FinnSim } from '../finn-sim/index.js';

const tag = uniqueTag('sched_cb');
const owner = newWallet();
const stranger = newWallet();
const NFT = 'mibera:55';
let sim: FinnSim;
let a: TestDixie;
let b: TestDixie;
let dir: string;
let schema: Awaited<ReturnType<typeof createTestSchema>>;
let env: Record<string, string>;

const nowS = () => Math.floor(Date.now() / 1000);
const unauthorized = { error: 'unauthorized', message: 'Invalid callback signature' };
const rejections = (d: TestDixie) => d.logs.filter((l) => l.event === 'callback_rejected');

async function newSchedule(d: TestDixie = a): Promise<string> {
  const res = await createSchedule(d, owner, { nftId: NFT, expression: 'every 6 hours', prompt: 'callback me' });
  expect(res.body.errors).toBeUndefined();
  return res.body.data!.createSchedule.schedule.id;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dixie-cb-'));
  await writeAllowlist(join(dir, 'allowlist.json'), [owner, stranger]);
  schema = await createTestSchema(tag);
  sim = await startFinnSim();
  giveWallet(sim, owner, 200, [NFT]);
  giveWallet(sim, stranger, 20_000, []);
  env = {
    DATABASE_URL: schema.url,
    REDIS_URL,
    NATS_URL,
    DIXIE_ALLOWLIST_PATH: join(dir, 'allowlist.json'),
    DIXIE_SCHEDULE_CALLBACK_SECRET: 'test-secret',
    DIXIE_RATE_LIMIT_RPM: '0',
  };
  const isolation = { redisKeyPrefix: `${tag}:`, natsSubjectPrefix: `${tag}.` };
  a = await startDixie({ sim, env, ...isolation });
  b = await startDixie({ sim, env, ...isolation });
  await waitFor(() => a.server.ds.nats?.isUp() && b.server.ds.nats?.isUp() && a.server.ds.redis?.isUp(), { what: 'NATS and Redis up' });
});

afterAll(async () => {
  await a?.stop();
  await b?.stop();
  await sim?.close();
  await schema?.drop();
  await rm(dir, { recursive: true, force: true });
});

describe('POST /api/schedule/callback', () => {
  it("holds a callback's signature only briefly until the callback is recorded, then for the whole replay window", async () => {
    const id = await newSchedule();
    const ts = String(nowS());
    const sig = signCallback('test-secret', id, ts);
    const key = `${tag}:replay:schedule-callback:${sig}`;
    const redis = new Redis(REDIS_URL);
    const lock = new pg.Client({ connectionString: schema.url });
    await lock.connect();
    try {
      // The schedule row held: the callback is checked and waits to be recorded.
      await lock.query('BEGIN');
      await lock.query('SELECT 1 FROM schedules WHERE id = $1 FOR UPDATE', [id]);
      const answer = postCallback(a.url, { scheduleId: id }, { timestamp: ts, signature: sig });
      const held = await waitFor(async () => {
        const ttl = await redis.ttl(key);
        return ttl > 0 ? ttl : null;
      }, { what: 'the signature held' });
      expect(held).toBeLessThanOrEqual(30);
      await lock.query('COMMIT');
      expect((await answer).status).toBe(200);
      expect(await redis.ttl(key)).toBeGreaterThan(500);
    } finally {
      await lock.end();
      redis.disconnect();
    }
  });

  it('records a valid callback once and answers the execution', async () => {
    const id = await newSchedule();
    const res = await postCallback(a.url, { scheduleId: id, messageId: 'msg-valid' });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ scheduleId: id, firedAt: expect.any(String), status: 'success', messageId: 'msg-valid' });
    expect(Math.abs(Date.parse(res.body.firedAt as string) - Date.now())).toBeLessThan(5_000);
    expect(await executionsOf(schema.url, id)).toMatchObject([{ status: 'SUCCESS', source: 'finn', message_id: 'msg-valid' }]);
  });

  it('works with the simulator signing it as Finn does (fireCron)', async () => {
    const id = await newSchedule();
    const cron = [...sim.control.crons.values()].find((c) => c.scheduleId === id)!;
    cron.callbackUrl = `${b.url}/api/schedule/callback`;
    const firing = await sim.control.fireCron(cron.cronId);
    expect(firing.status).toBe(200);
    expect(firing.body).toMatchObject({ scheduleId: id, status: 'success', messageId: firing.messageId });
  });

  it('rejects the same digest upper-cased, a wrong secret and a stale timestamp (401, logged without the signature)', async () => {
    const id = await newSchedule();
    const ts = String(nowS());
    const upper = signCallback('test-secret', id, ts).toUpperCase();
    const before = rejections(a).length;
    const cases = [
      await postCallback(a.url, { scheduleId: id }, { timestamp: ts, signature: upper }),
      await postCallback(a.url, { scheduleId: id }, { secret: 'wrong-secret' }),
      await postCallback(a.url, { scheduleId: id }, { timestamp: String(nowS() - 301) }),
      await postCallback(a.url, { scheduleId: id }, { timestamp: String(nowS() + 301) }),
    ];
    for (const res of cases) expect(res).toEqual({ status: 401, body: unauthorized });
    const logged = rejections(a).slice(before);
    expect(logged.map((l) => l.reason)).toEqual(['bad_signature', 'bad_signature', 'stale_timestamp', 'stale_timestamp']);
    expect(JSON.stringify(logged).toLowerCase()).not.toContain(upper.toLowerCase());
    expect(await executionsOf(schema.url, id)).toEqual([]);
    // The window is the whole 300 s each way (rest.md), not narrower.
    for (const offset of [-298, 298]) {
      const res = await postCallback(a.url, { scheduleId: id, messageId: `edge-${offset}` }, { timestamp: String(nowS() + offset) });
      expect(res.status).toBe(200);
    }
    // The lower-case digest of the same request is accepted.
    expect((await postCallback(a.url, { scheduleId: id }, { timestamp: ts, signature: upper.toLowerCase() })).status).toBe(200);
  });

  it('rejects a replay, also on the other instance (signatures shared through Redis)', async () => {
    const id = await newSchedule();
    const ts = String(nowS());
    expect((await postCallback(a.url, { scheduleId: id, messageId: 'r1' }, { timestamp: ts })).status).toBe(200);
    expect(await postCallback(a.url, { scheduleId: id, messageId: 'r1' }, { timestamp: ts })).toEqual({ status: 401, body: unauthorized });
    expect(await postCallback(b.url, { scheduleId: id, messageId: 'r2' }, { timestamp: ts })).toEqual({ status: 401, body: unauthorized });
    expect(rejections(b).at(-1)).toMatchObject({ reason: 'replay' });
    expect(await executionsOf(schema.url, id)).toHaveLength(1);
  });

  it('checks the body before the headers: 400 without scheduleId, 400 for malformed JSON, 401 without headers', async () => {
    const res = await fetch(`${a.url}/api/schedule/callback`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"messageId":"x"}' });
    expect([res.status, await res.json()]).toEqual([400, { error: 'invalid_request', message: 'scheduleId required' }]);
    const empty = await fetch(`${a.url}/api/schedule/callback`, { method: 'POST' });
    expect([empty.status, await empty.json()]).toEqual([400, { error: 'invalid_request', message: 'scheduleId required' }]);
    const malformed = await postCallback(a.url, '{"scheduleId": "x",', { scheduleId: 'x' });
    expect(malformed).toEqual({ status: 400, body: { error: 'invalid_request', message: 'Malformed JSON body' } });
    for (const missing of ['x-callback-signature', 'x-callback-timestamp']) {
      const headers = { 'content-type': 'application/json', 'x-callback-signature': 'a'.repeat(64), 'x-callback-timestamp': String(nowS()) };
      delete (headers as Record<string, string>)[missing];
      const r = await fetch(`${a.url}/api/schedule/callback`, { method: 'POST', headers, body: JSON.stringify({ scheduleId: 'x' }) });
      expect([r.status, await r.json()]).toEqual([
        401,
        { error: 'unauthorized', message: 'x-callback-signature and x-callback-timestamp headers required' },
      ]);
    }
  });

  it('answers skipped for an unknown or a cancelled schedule', async () => {
    const unknown = await postCallback(a.url, { scheduleId: 'no-such-schedule', messageId: 'u1' });
    expect(unknown).toEqual({ status: 200, body: { scheduleId: 'no-such-schedule', firedAt: expect.any(String), status: 'skipped', messageId: 'u1' } });
    const id = await newSchedule();
    await a.gql('mutation($id: ID!) { cancelSchedule(id: $id) { status } }', { id }, await walletAuth(owner));
    const res = await postCallback(b.url, { scheduleId: id });
    expect(res).toMatchObject({ status: 200, body: { scheduleId: id, status: 'skipped' } });
    expect(res.body).not.toHaveProperty('messageId');
    expect(await executionsOf(schema.url, id)).toMatchObject([{ status: 'SKIPPED' }]);
  });

  it('records the same callback delivered to both instances at once exactly once', async () => {
    const id = await newSchedule();
    const ts = String(nowS());
    const both = await Promise.all([a, b].map((d) => postCallback(d.url, { scheduleId: id, messageId: 'twin' }, { timestamp: ts })));
    expect(both.map((r) => r.status).sort()).toEqual([200, 401]);
    // Different signatures (timestamps) but one messageId: the unique index, not the replay guard, decides.
    // One base second: reading the clock per request let a second boundary give two of them the same timestamp.
    const base = nowS();
    const twins = await Promise.all(
      [a, b, a, b].map((d, i) => postCallback(d.url, { scheduleId: id, messageId: 'twin-2' }, { timestamp: String(base - 10 - i) })),
    );
    expect(twins.map((r) => r.status)).toEqual([200, 200, 200, 200]);
    expect(new Set(twins.map((r) => r.body.firedAt)).size).toBe(1);
    const rows = await executionsOf(schema.url, id);
    expect(rows.map((r) => r.message_id).sort()).toEqual(['twin', 'twin-2']);
  });

  it('rejects every callback when the secret is empty', async () => {
    const open = await startDixie({ sim, env: { ...env, DIXIE_SCHEDULE_CALLBACK_SECRET: '' }, redisKeyPrefix: `${tag}:`, natsSubjectPrefix: `${tag}.` });
    try {
      expect(await postCallback(open.url, { scheduleId: 'x' }, { secret: '' })).toEqual({ status: 401, body: unauthorized });
      expect(rejections(open).at(-1)).toMatchObject({ reason: 'no_secret' });
    } finally {
      await open.stop();
    }
  });
});

describe('scheduleFired across instances', () => {
  it('reaches a subscriber on instance B when the callback is posted to instance A', async () => {
    const id = await newSchedule();
    const client = wsClient(b.wsUrl, await walletAuth(owner));
    const got: Array<Record<string, unknown>> = [];
    const errors: unknown[] = [];
    const off = client.subscribe<{ scheduleFired: Record<string, unknown> }>(
      { query: 'subscription($n: ID!) { scheduleFired(nftId: $n) { id scheduleId nftId status firedBy messageId firedAt } }', variables: { n: NFT } },
      { next: (r) => (r.data ? got.push(r.data.scheduleFired) : errors.push(r.errors)), error: (e) => errors.push(e), complete: () => undefined },
    );
    try {
      // Re-post (new timestamp and messageId) until the subscription is live on B: NATS interest is asynchronous.
      let n = 0;
      const base = nowS();
      await waitFor(async () => {
        if (errors.length) throw new Error(JSON.stringify(errors));
        if (got.length) return true;
        await postCallback(a.url, { scheduleId: id, messageId: `live-${n}` }, { timestamp: String(base - n++) });
        return false;
      }, { timeoutMs: 5_000, intervalMs: 200, what: 'scheduleFired on B' });
      expect(got[0]).toMatchObject({ scheduleId: id, nftId: NFT, status: 'SUCCESS', firedBy: 'FINN', messageId: expect.stringMatching(/^live-/) });
    } finally {
      off();
      await client.dispose();
    }
  });

  it('refuses the subscription to anyone but the NFT owner', async () => {
    const client = wsClient(b.wsUrl, await walletAuth(stranger));
    try {
      const it = client.iterate({ query: 'subscription($n: ID!) { scheduleFired(nftId: $n) { id } }', variables: { n: NFT } });
      const first = await it.next().catch((e: unknown) => ({ value: e, done: true }));
      expect(JSON.stringify(first.value)).toContain('FORBIDDEN');
    } finally {
      await client.dispose();
    }
  });

  it('ends an open subscription with FORBIDDEN once the NFT has left the wallet', async () => {
    // Its own key prefix: A and B cache the owner's NFTs in the shared Redis for the default 30 s.
    const c = await startDixie({ sim, env: { ...env, DIXIE_NFT_OWNERSHIP_TTL: '1' }, redisKeyPrefix: `${tag}-c:`, natsSubjectPrefix: `${tag}-c.` });
    const id = await newSchedule(c);
    const client = wsClient(c.wsUrl, await walletAuth(owner));
    const got: unknown[] = [];
    const errors: unknown[] = [];
    let completed = false;
    const off = client.subscribe<{ scheduleFired: { id: string } }>(
      { query: 'subscription($n: ID!) { scheduleFired(nftId: $n) { id } }', variables: { n: NFT } },
      { next: (r) => (r.data ? got.push(r.data.scheduleFired) : errors.push(r.errors)), error: (e) => errors.push(e), complete: () => (completed = true) },
    );
    let n = 0;
    const base = nowS() - 100;
    const fire = () => postCallback(c.url, { scheduleId: id, messageId: `gone-${n}` }, { timestamp: String(base - n++) });
    try {
      await waitFor(async () => got.length > 0 || (await fire(), false), { timeoutMs: 5_000, intervalMs: 200, what: 'the owner receiving a firing' });
      giveWallet(sim, owner, 200, []);
      await waitFor(async () => !(await c.server.ds.nfts.forWallet(owner)).some((x) => x.nftId === NFT), { what: 'the transfer seen' });
      const before = got.length;
      await fire();
      await waitFor(() => completed, { what: 'the subscription ended' });
      expect(got.length).toBe(before);
      expect(JSON.stringify(errors)).toContain('FORBIDDEN');
    } finally {
      giveWallet(sim, owner, 200, [NFT]);
      off();
      await client.dispose();
      await c.stop();
    }
  });
});
