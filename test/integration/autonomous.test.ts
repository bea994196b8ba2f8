import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newWallet, walletAuth, writeAllowlist } from '../helpers/auth.js';
import { startDixie, waitFor, type TestDixie } from '../helpers/dixie.js';
import { giveWallet } from '../helpers/schedules.js';
import { createTestSchema, NATS_URL, uniqueTag } from '../helpers/services.js';
import { startFinnSim, type FinnSim } from '../finn-sim/index.js';
import { startTcpProxy } from '../helpers/tcp-proxy.js';

const tag = uniqueTag('autonomous');
const owner = newWallet();
const delegate = newWallet();
const builderOwner = newWallet();
const stranger = newWallet();
const NFT = 'mibera:900';
let sim: FinnSim;
let a: TestDixie;
let b: TestDixie;
let dir: string;
let schema: Awaited<ReturnType<typeof createTestSchema>>;

const READ = /* GraphQL */ `
  query($n: ID!) {
    autonomous(nftId: $n) {
      nftId enabled ownerWallet delegatedWallets updatedAt
      capabilities { chatInitiate knowledgeSearch scheduleManage memoryWrite toolExecute agentCommunicate }
      budget { dailyLimitMicroUsd spentTodayMicroUsd }
    }
  }
`;
const AUDIT = 'query($n: ID!, $after: String) { autonomous(nftId: $n) { audit(first: 1, after: $after) { nodes { actorWallet changedAt before after } endCursor hasNextPage } } }';
const UPDATE = 'mutation($n: ID!, $i: AutonomousPermissionsInput!) { updateAutonomousPermissions(nftId: $n, input: $i) { enabled delegatedWallets capabilities { chatInitiate toolExecute } budget { dailyLimitMicroUsd } } }';
const code = (res: { body: { errors?: Array<{ extensions?: Record<string, unknown> }> } }) => res.body.errors?.[0]?.extensions?.code;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dixie-auto-'));
  await writeAllowlist(join(dir, 'allowlist.json'), [owner, delegate, builderOwner, stranger]);
  schema = await createTestSchema(tag);
  sim = await startFinnSim();
  giveWallet(sim, owner, 20_000, [NFT]);
  sim.control.setNfts(delegate, [{ nftId: NFT, ownerWallet: owner, delegatedWallets: [delegate] }]);
  sim.control.setStaking(delegate, 20_000);
  giveWallet(sim, builderOwner, 200, ['mibera:901']);
  giveWallet(sim, stranger, 20_000, []);
  // No Redis: each instance caches in memory, so only the NATS invalidation keeps B fresh.
  const env = { DATABASE_URL: schema.url, NATS_URL, DIXIE_ALLOWLIST_PATH: join(dir, 'allowlist.json'), DIXIE_AUTONOMOUS_PERMISSION_TTL: '3600', DIXIE_AUTONOMOUS_BUDGET: '250000' };
  a = await startDixie({ sim, env, natsSubjectPrefix: `${tag}.` });
  b = await startDixie({ sim, env, natsSubjectPrefix: `${tag}.` });
  await waitFor(() => a.server.ds.nats?.isUp() && b.server.ds.nats?.isUp(), { what: 'NATS up' });
});

afterAll(async () => {
  await a?.stop();
  await b?.stop();
  await sim?.close();
  await schema?.drop();
  await rm(dir, { recursive: true, force: true });
});

describe('autonomous mode', () => {
  it('answers the defaults before the owner configures it', async () => {
    const res = await b.gql<{ autonomous: Record<string, unknown> }>(READ, { n: NFT }, await walletAuth(owner));
    expect(res.body.errors).toBeUndefined();
    expect(res.body.data!.autonomous).toEqual({
      nftId: NFT,
      enabled: false,
      ownerWallet: null,
      delegatedWallets: [],
      updatedAt: null,
      capabilities: { chatInitiate: false, knowledgeSearch: false, scheduleManage: false, memoryWrite: false, toolExecute: false, agentCommunicate: false },
      budget: { dailyLimitMicroUsd: 250000, spentTodayMicroUsd: 0 },
    });
  });

  it('lets the SOVEREIGN owner change it; every instance sees the change at once (cache invalidated through NATS)', async () => {
    const lower = delegate.toLowerCase();
    const res = await a.gql(UPDATE, { n: NFT, i: { enabled: true, delegatedWallets: [lower, delegate], capabilities: { chatInitiate: true }, dailyLimitMicroUsd: 5000 } }, await walletAuth(owner));
    expect(res.body.errors).toBeUndefined();
    expect(res.body.data).toEqual({
      updateAutonomousPermissions: { enabled: true, delegatedWallets: [delegate], capabilities: { chatInitiate: true, toolExecute: false }, budget: { dailyLimitMicroUsd: 5000 } },
    });
    await waitFor(async () => {
      const read = await b.gql<{ autonomous: { enabled: boolean; ownerWallet: string } }>(READ, { n: NFT }, await walletAuth(owner));
      return read.body.data?.autonomous.enabled === true && read.body.data.autonomous.ownerWallet === owner;
    }, { timeoutMs: 2_000, what: 'B sees the change' });

    const second = await b.gql(UPDATE, { n: NFT, i: { capabilities: { toolExecute: true } } }, await walletAuth(owner));
    expect(second.body.data).toMatchObject({ updateAutonomousPermissions: { enabled: true, capabilities: { chatInitiate: true, toolExecute: true } } });
    await waitFor(async () => {
      const read = await a.gql<{ autonomous: { capabilities: { toolExecute: boolean } } }>(READ, { n: NFT }, await walletAuth(owner));
      return read.body.data?.autonomous.capabilities.toolExecute === true;
    }, { timeoutMs: 2_000, what: 'A sees the second change' });
  });

  it('keeps an audit log (who, when, before, after) that only the owner reads', async () => {
    const p1 = await a.gql<{ autonomous: { audit: { nodes: Array<Record<string, unknown>>; endCursor: string; hasNextPage: boolean } } }>(AUDIT, { n: NFT }, await walletAuth(owner));
    expect(p1.body.errors).toBeUndefined();
    const newest = p1.body.data!.autonomous.audit;
    expect(newest.hasNextPage).toBe(true);
    expect(newest.nodes[0]).toMatchObject({ actorWallet: owner, before: { capabilities: { toolExecute: false } }, after: { capabilities: { toolExecute: true } } });
    const p2 = await b.gql<typeof p1.body.data>(AUDIT, { n: NFT, after: newest.endCursor }, await walletAuth(owner));
    expect(p2.body.data!.autonomous.audit).toMatchObject({ hasNextPage: false, nodes: [{ actorWallet: owner, before: null, after: { enabled: true, dailyLimitMicroUsd: 5000 } }] });

    const asDelegate = await a.gql<{ autonomous: Record<string, unknown> }>(READ, { n: NFT }, await walletAuth(delegate));
    expect(asDelegate.body.data!.autonomous).toMatchObject({ enabled: true, ownerWallet: owner });
    const delegateAudit = await a.gql(AUDIT, { n: NFT }, await walletAuth(delegate));
    expect(code(delegateAudit)).toBe('FORBIDDEN');
  });

  it('refuses changes from anyone but the owner with tier SOVEREIGN, and bad input', async () => {
    expect(code(await a.gql(UPDATE, { n: NFT, i: { enabled: false } }, await walletAuth(delegate)))).toBe('FORBIDDEN');
    expect(code(await a.gql(UPDATE, { n: NFT, i: { enabled: false } }, await walletAuth(stranger)))).toBe('FORBIDDEN');
    const builder = await a.gql(UPDATE, { n: 'mibera:901', i: { enabled: true } }, await walletAuth(builderOwner));
    expect(builder.body.errors?.[0]?.extensions).toMatchObject({ code: 'FORBIDDEN', requiredTier: 'SOVEREIGN', actualTier: 'BUILDER' });
    expect(code(await a.gql(UPDATE, { n: NFT, i: { enabled: false } }))).toBe('UNAUTHENTICATED');
    expect(code(await a.gql(READ, { n: NFT }, await walletAuth(stranger)))).toBe('FORBIDDEN');
    const badWallet = await a.gql(UPDATE, { n: NFT, i: { delegatedWallets: ['0x123'] } }, await walletAuth(owner));
    expect(badWallet.body.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'delegatedWallets' });
    const badBudget = await a.gql(UPDATE, { n: NFT, i: { dailyLimitMicroUsd: 1.5 } }, await walletAuth(owner));
    expect(badBudget.body.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'dailyLimitMicroUsd' });
    const read = await b.gql<{ autonomous: { enabled: boolean } }>(READ, { n: NFT }, await walletAuth(owner));
    expect(read.body.data!.autonomous.enabled).toBe(true);
  });
});

describe('an agent acting for a SOVEREIGN owner', () => {
  it('may read its autonomous mode but not change its own permissions or budget', async () => {
    const tba = newWallet();
    const contract = '0x6666397dfe9a8c469bf65dc744cb1c733416c420';
    sim.control.setNfts(owner, [{ nftId: NFT, ownerWallet: owner, contractAddress: contract, tokenId: '900' }]);
    sim.control.setTba(tba, { nftContract: contract, tokenId: '900', ownerWallet: owner, signature: 'sig-900' });
    const agent = { 'x-tba-address': tba, 'x-tba-signature': 'sig-900', 'x-tba-timestamp': String(Math.floor(Date.now() / 1000)) };
    const read = await a.gql<{ autonomous: { nftId: string } }>(READ, { n: NFT }, agent);
    expect(read.body.errors).toBeUndefined();
    expect(read.body.data!.autonomous.nftId).toBe(NFT);
    const raise = await a.gql(UPDATE, { n: NFT, i: { enabled: true, dailyLimitMicroUsd: 1_000_000_000_000 } }, agent);
    expect(code(raise)).toBe('FORBIDDEN');
    const after = await a.gql<{ autonomous: { budget: { dailyLimitMicroUsd: number } } }>(READ, { n: NFT }, await walletAuth(owner));
    expect(after.body.data!.autonomous.budget.dailyLimitMicroUsd).not.toBe(1_000_000_000_000);
  });
});

describe('an instance cut off from NATS (no Redis)', () => {
  it('drops what it cached once it is back, since the invalidations sent meanwhile never reached it', async () => {
    const proxy = await startTcpProxy('127.0.0.1', 4222);
    const env = { DATABASE_URL: schema.url, NATS_URL: `nats://127.0.0.1:${proxy.port}`, DIXIE_ALLOWLIST_PATH: join(dir, 'allowlist.json'), DIXIE_AUTONOMOUS_PERMISSION_TTL: '3600', DIXIE_AUTONOMOUS_BUDGET: '250000' };
    const c = await startDixie({ sim, env, natsSubjectPrefix: `${tag}.` });
    try {
      await waitFor(() => c.server.ds.nats?.isUp(), { what: 'C on NATS' });
      const limitOn = async (d: TestDixie) =>
        (await d.gql<{ autonomous: { budget: { dailyLimitMicroUsd: number } } }>(READ, { n: NFT }, await walletAuth(owner))).body.data!.autonomous.budget.dailyLimitMicroUsd;
      const before = await limitOn(c);
      proxy.setMode('refuse');
      await waitFor(() => !c.server.ds.nats?.isUp(), { what: 'C cut off' });
      const changed = await a.gql(UPDATE, { n: NFT, i: { dailyLimitMicroUsd: before + 1 } }, await walletAuth(owner));
      expect(changed.body.errors).toBeUndefined();
      expect(await limitOn(c)).toBe(before); // C missed the invalidation: its cached value
      proxy.setMode('pass');
      await waitFor(() => c.server.ds.nats?.isUp(), { timeoutMs: 10_000, what: 'C back on NATS' });
      expect(await limitOn(c)).toBe(before + 1);
    } finally {
      await c.stop();
      await proxy.close();
    }
  });
});
