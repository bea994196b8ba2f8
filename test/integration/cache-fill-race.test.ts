import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newWallet, walletAuth, writeAllowlist } from '../helpers/auth.js';
import { startDixie, waitFor, type TestDixie } from '../helpers/dixie.js';
import { readMemory } from '../helpers/memory.js';
import { giveWallet } from '../helpers/schedules.js';
import { createTestSchema, NATS_URL, REDIS_URL, uniqueTag } from '../helpers/services.js';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.js';
import { startFinnSim, type FinnSim } from '../finn-sim/index.js';

/**
 * A value read on B before a write on A, and cached on B after A's invalidation, was served as
 * current for a whole TTL. B reaches PostgreSQL through a proxy that holds back the reply to one
 * of its reads until A's write is done.
 */
const tag = uniqueTag('cache_fill_race');
const owner = newWallet();
const delegate = newWallet();
const READ = 'query($n: ID!) { autonomous(nftId: $n) { enabled delegatedWallets } }';
const UPDATE = 'mutation($n: ID!, $i: AutonomousPermissionsInput!) { updateAutonomousPermissions(nftId: $n, input: $i) { enabled } }';
/** With Redis the generations are shared; without it each instance keeps its own, bumped by NATS. */
const MODES = [
  { name: 'shared Redis', redis: true, memoryNft: 'mibera:720', autonomousNft: 'mibera:721' },
  { name: 'no Redis, NATS invalidations', redis: false, memoryNft: 'mibera:722', autonomousNft: 'mibera:723' },
];
let sim: FinnSim;
let proxy: TcpProxy;
let dir: string;
let schema: Awaited<ReturnType<typeof createTestSchema>>;
const started: TestDixie[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dixie-cache-race-'));
  await writeAllowlist(join(dir, 'allowlist.json'), [owner]);
  schema = await createTestSchema(tag);
  sim = await startFinnSim();
  giveWallet(sim, owner, 20_000, MODES.flatMap((m) => [m.memoryNft, m.autonomousNft]));
  proxy = await startTcpProxy('127.0.0.1', 5432);
});

afterAll(async () => {
  for (const d of started) await d.stop();
  await proxy?.close();
  await sim?.close();
  await schema?.drop();
  await rm(dir, { recursive: true, force: true });
});

/** Instance A, and instance B reaching PostgreSQL through the proxy. */
async function startPair(redis: boolean, prefix: string): Promise<{ a: TestDixie; b: TestDixie }> {
  const env = { NATS_URL, ...(redis ? { REDIS_URL } : {}), DIXIE_ALLOWLIST_PATH: join(dir, 'allowlist.json'), DIXIE_MEMORY_PROJECTION_TTL: '600', DIXIE_AUTONOMOUS_PERMISSION_TTL: '600' };
  const common = { sim, redisKeyPrefix: `${prefix}:`, natsSubjectPrefix: `${prefix}.` };
  const a = await startDixie({ ...common, env: { ...env, DATABASE_URL: schema.url } });
  started.push(a);
  const b = await startDixie({ ...common, env: { ...env, DATABASE_URL: schema.url.replace('127.0.0.1:5432', `127.0.0.1:${proxy.port}`) } });
  started.push(b);
  await waitFor(() => a.server.ds.nats?.isUp() && b.server.ds.nats?.isUp(), { what: 'NATS up' });
  return { a, b };
}

/** Once B has heard everything A published so far: NATS keeps the order of one publisher's messages. */
async function heardOnB(a: TestDixie, b: TestDixie): Promise<void> {
  const subject = `barrier.${randomUUID()}`;
  let off = () => {};
  const heard = new Promise<void>((resolve) => (off = b.server.ds.nats!.subscribe(subject, () => resolve())));
  await b.server.ds.nats!.connection()!.flush();
  a.server.ds.nats!.publish(subject, {});
  await heard;
  off();
}

/**
 * Starts `read` on B and holds the reply to its `sql`; A writes (and invalidates, B hears it);
 * then B goes on with what it read before the write, as a slow load would.
 */
async function writeDuringRead(pair: { a: TestDixie; b: TestDixie }, sql: string, read: () => Promise<unknown>, write: () => Promise<unknown>): Promise<void> {
  const held = proxy.holdReplyTo(sql);
  const reading = read();
  const release = await held;
  await write();
  await heardOnB(pair.a, pair.b);
  release();
  await reading;
}

describe.each(MODES)('a value loaded across an invalidation is not cached (two instances, $name)', ({ redis, memoryNft, autonomousNft }) => {
  let pair: { a: TestDixie; b: TestDixie };
  beforeAll(async () => {
    pair = await startPair(redis, `${tag}_${redis ? 'redis' : 'nats'}`);
  });

  it('memory projection: B does not cache counts it read before a write on A', async () => {
    const { a, b } = pair;
    const note = (conversationId: string, text: string) =>
      a.server.ds.memory.append({ nftId: memoryNft, conversationId, actorWallet: null, events: [{ type: 'message', payload: { role: 'user', text } }] });
    await note('first', 'lanterns');
    await writeDuringRead(pair, 'count(sealed_at)', () => readMemory(b, owner, memoryNft), () => note('second', 'tangerines'));
    expect((await readMemory(b, owner, memoryNft)).projection).toMatchObject({ conversationCount: 2 });
  });

  it('autonomous settings: B does not cache permissions it read before they were revoked on A', async () => {
    const { a, b } = pair;
    const update = async (input: Record<string, unknown>) => {
      const res = await a.gql(UPDATE, { n: autonomousNft, i: input }, await walletAuth(owner));
      expect(res.body.errors).toBeUndefined();
    };
    await update({ enabled: true, delegatedWallets: [delegate] });
    const readOnB = async () => (await b.gql<{ autonomous: { enabled: boolean; delegatedWallets: string[] } }>(READ, { n: autonomousNft }, await walletAuth(owner))).body;
    await writeDuringRead(pair, 'FROM autonomous_permissions WHERE', readOnB, () => update({ enabled: false, delegatedWallets: [] }));
    expect((await readOnB()).data).toEqual({ autonomous: { enabled: false, delegatedWallets: [] } });
  });
});
