import { Redis } from 'ioredis';
import { connect, JSONCodec } from 'nats';
import { STAKING_CHANGED_SUBJECT } from '../../src/datasources/conviction.js';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { newWallet, walletAuth, writeAllowlist } from '../helpers/auth.js';
import { startDixie, TEST_ADMIN_KEY, waitFor, type TestDixie } from '../helpers/dixie.js';
import { openRawWs } from '../helpers/raw-ws.js';
import { NATS_URL, REDIS_URL, uniqueTag } from '../helpers/services.js';
import { codeOf, tempAllowlistPath } from '../helpers/siwe.js';
import { cachedConviction } from '../../src/datasources/cache-schemas.js';

const VIEWER = '{ viewer { identity wallet tbaAddress agentNftId conviction { tier bgtStaked source modelPool } nfts { nftId ownerWallet delegatedWallets } } }';
const SERVICE_KEY = 'dxk_identity_test_key_0123456789';
type ViewerJson = { identity: string; wallet: string | null; tbaAddress: string | null; agentNftId: string | null; conviction: { tier: string; bgtStaked: number | null; source: string; modelPool: string } | null; nfts: Array<{ nftId: string }> };

describe('identities, conviction and the viewer', () => {
  const subject = `${uniqueTag('identity')}.`;
  const wallet = newWallet();
  const owner = newWallet();
  const crowd = newWallet();
  const mover = newWallet();
  let d: TestDixie;
  let file: Awaited<ReturnType<typeof tempAllowlistPath>>;

  const viewer = async (headers: Record<string, string>) => {
    const res = await d.gql<{ viewer: ViewerJson | null }>(VIEWER, {}, headers);
    return { code: codeOf(res.body), viewer: res.body.data?.viewer ?? null };
  };
  const stakingCalls = (w: string) => d.sim.control.requests.filter((r) => r.route === 'staking' && r.path.toLowerCase().includes(w.toLowerCase())).length;

  beforeAll(async () => {
    file = await tempAllowlistPath();
    await writeAllowlist(file.path, [wallet, crowd, mover], [SERVICE_KEY]);
    d = await startDixie({ env: { DIXIE_ALLOWLIST_PATH: file.path, DIXIE_RATE_LIMIT_RPM: '0', NATS_URL }, natsSubjectPrefix: subject });
    await waitFor(() => d.server.ds.nats?.isUp(), { what: 'NATS' });
  });
  afterAll(async () => {
    await d?.stop();
    await file?.cleanup();
  });
  beforeEach(() => d.sim.control.clearFaults());

  it('is null for an anonymous caller', async () => {
    expect(await viewer({})).toEqual({ code: 'OK', viewer: null });
  });

  it('knows an allowlisted service key and rejects an unknown one', async () => {
    expect((await viewer({ authorization: `Bearer ${SERVICE_KEY}` })).viewer).toEqual({
      identity: 'SERVICE', wallet: null, tbaAddress: null, agentNftId: null, conviction: null, nfts: [],
    });
    expect((await viewer({ authorization: 'Bearer dxk_not_on_the_list_0123456789' })).code).toBe('UNAUTHENTICATED');
  });

  it('knows the admin key', async () => {
    expect((await viewer({ authorization: `Bearer ${TEST_ADMIN_KEY}` })).viewer?.identity).toBe('ADMIN');
  });

  it('derives a wallet tier from Finn staking and caches it', async () => {
    d.sim.control.setStaking(wallet, 150);
    d.sim.control.setNfts(wallet, [{ nftId: 'nft-1' }]);
    const auth = await walletAuth(wallet);
    const before = stakingCalls(wallet);
    const first = await viewer(auth);
    expect(first.viewer).toMatchObject({
      identity: 'WALLET',
      wallet,
      conviction: { tier: 'BUILDER', bgtStaked: 150, source: 'STAKING', modelPool: 'pool_standard' },
      nfts: [{ nftId: 'nft-1', ownerWallet: wallet, delegatedWallets: [] }],
    });
    for (let i = 0; i < 5; i++) expect((await viewer(auth)).viewer?.conviction?.tier).toBe('BUILDER');
    expect(stakingCalls(wallet) - before).toBe(1);
  });

  it('asks Finn once for a wallet whose uncached tier and NFTs many requests need at the same time', async () => {
    d.sim.control.setStaking(crowd, 1500);
    d.sim.control.setNfts(crowd, [{ nftId: 'nft-crowd' }]);
    d.sim.control.setLatency(100, 'staking');
    d.sim.control.setLatency(100, 'nfts');
    const auth = await walletAuth(crowd);
    const nftCalls = () => d.sim.control.requests.filter((r) => r.route === 'nfts' && r.path.toLowerCase().includes(crowd.toLowerCase())).length;
    const results = await Promise.all(Array.from({ length: 20 }, () => viewer(auth)));
    for (const r of results) expect(r.viewer).toMatchObject({ conviction: { tier: 'ARCHITECT', bgtStaked: 1500 }, nfts: [{ nftId: 'nft-crowd' }] });
    expect(stakingCalls(crowd)).toBe(1);
    expect(nftCalls()).toBe(1);
  });

  it('invalidates a cached tier on dixie.staking.changed and ignores malformed messages', async () => {
    const auth = await walletAuth(wallet);
    await viewer(auth);
    d.sim.control.setStaking(wallet, 20_000);
    expect((await viewer(auth)).viewer?.conviction?.tier).toBe('BUILDER');
    const nc = await connect({ servers: NATS_URL });
    const codec = JSONCodec();
    try {
      nc.publish(`${subject}dixie.staking.changed`, codec.encode({ nope: true }));
      nc.publish(`${subject}dixie.staking.changed`, codec.encode({ wallet: wallet.toLowerCase() }));
      await nc.flush();
      await waitFor(async () => (await viewer(auth)).viewer?.conviction?.tier === 'SOVEREIGN', { what: 'new tier' });
      expect(d.logs.some((l) => l.event === 'staking_changed_invalid')).toBe(true);
    } finally {
      await nc.close();
    }
  });

  it('does not cache what a lookup read before its wallet was invalidated, nor share it with later requests', async () => {
    d.sim.control.setStaking(mover, 150);
    d.sim.control.setLatency(300, 'staking');
    const auth = await walletAuth(mover);
    const before = viewer(auth);
    await waitFor(() => stakingCalls(mover) === 1, { what: 'the first lookup in flight' });
    await d.server.ds.conviction.invalidate(mover);
    // The second lookup reads Finn later than the first: the stake changes in between.
    d.sim.control.setLatency(900, 'staking');
    const after = viewer(auth);
    await waitFor(() => stakingCalls(mover) === 2, { what: 'a second lookup, not the first one joined' });
    expect((await before).viewer?.conviction?.tier).toBe('BUILDER');
    d.sim.control.setStaking(mover, 20_000);
    expect(await d.server.ds.cache.get(`conviction:v1:${mover.toLowerCase()}`, cachedConviction)).toBeUndefined();
    expect((await after).viewer?.conviction?.tier).toBe('SOVEREIGN');
    // (The invalidation's own NATS echo may arrive after the second lookup started and retire it too.)
    d.sim.control.setLatency(0, 'staking');
    expect((await viewer(auth)).viewer?.conviction?.tier).toBe('SOVEREIGN');
  });

  it('falls back when Finn does not serve B6 (allowlisted → fallback tier, else OBSERVER) or is unreachable', async () => {
    const fresh = newWallet();
    await d.server.ds.allowlist.add('wallet', fresh);
    d.sim.control.absent('staking');
    expect((await viewer(await walletAuth(fresh))).viewer?.conviction).toEqual({ tier: 'ARCHITECT', bgtStaked: null, source: 'LEGACY_ALLOWLIST', modelPool: 'pool_premium' });
    const other = newWallet();
    await d.server.ds.allowlist.add('wallet', other);
    d.sim.control.clearFaults();
    d.sim.control.failWith(503, 'staking');
    expect((await viewer(await walletAuth(other))).viewer?.conviction?.source).toBe('LEGACY_ALLOWLIST');
    // A wallet that is not allowlisted (an agent's owner) gets OBSERVER.
    d.sim.control.absent('staking');
    expect(await d.server.ds.conviction.forWallet(newWallet())).toEqual({ tier: 'OBSERVER', bgtStaked: null, source: 'DEFAULT', modelPool: 'pool_observer' });
  });

  it('lists no NFTs when Finn does not serve B3', async () => {
    const fresh = newWallet();
    await d.server.ds.allowlist.add('wallet', fresh);
    d.sim.control.absent('nfts');
    expect((await viewer(await walletAuth(fresh))).viewer?.nfts).toEqual([]);
  });

  describe('TBA agents', () => {
    const tba = newWallet();
    const contract = '0x6666397dfe9a8c469bf65dc744cb1c733416c420';
    const headers = (over: Record<string, string> = {}) => ({
      'x-tba-address': tba, 'x-tba-signature': 'sig-1', 'x-tba-timestamp': String(Math.floor(Date.now() / 1000)), ...over,
    });
    beforeAll(() => {
      d.sim.control.setTba(tba, { nftContract: contract, tokenId: '42', ownerWallet: owner, signature: 'sig-1' });
      d.sim.control.setNfts(owner, [{ nftId: 'mibera:42', contractAddress: contract, tokenId: '42' }]);
      d.sim.control.setStaking(owner, 1_500);
    });

    it('acts for its owner wallet with the owner tier, verified once and cached', async () => {
      const h = headers();
      const calls = () => d.sim.control.requests.filter((r) => r.route === 'verifyTba').length;
      const before = calls();
      const first = await viewer(h);
      expect(first.viewer).toMatchObject({
        identity: 'AGENT', wallet: owner, tbaAddress: tba, agentNftId: 'mibera:42',
        conviction: { tier: 'ARCHITECT', source: 'STAKING' },
      });
      await viewer(h);
      expect(calls() - before).toBe(1);
    });

    it.each([
      ['a wrong signature', { 'x-tba-signature': 'forged' }],
      ['a stale timestamp', { 'x-tba-timestamp': String(Math.floor(Date.now() / 1000) - 400) }],
      ['a future timestamp', { 'x-tba-timestamp': String(Math.floor(Date.now() / 1000) + 400) }],
      ['a missing header', { 'x-tba-signature': '' }],
      ['a malformed address', { 'x-tba-address': '0x123' }],
    ])('rejects %s', async (_name, over) => {
      expect((await viewer(headers(over))).code).toBe('UNAUTHENTICATED');
    });

    it('is unavailable when Finn does not serve B9', async () => {
      d.sim.control.absent('verifyTba');
      // A signature never verified before, so no cached verification can answer for B9.
      expect((await viewer(headers({ 'x-tba-signature': 'sig-unseen' }))).code).toBe('UNAUTHENTICATED');
    });
  });
});

describe('conviction invalidation without NATS', () => {
  it('invalidates locally', async () => {
    const file = await tempAllowlistPath();
    const wallet = newWallet();
    await writeAllowlist(file.path, [wallet]);
    const d = await startDixie({ env: { DIXIE_ALLOWLIST_PATH: file.path, DIXIE_RATE_LIMIT_RPM: '0' } });
    try {
      d.sim.control.setStaking(wallet, 1);
      expect((await d.server.ds.conviction.forWallet(wallet)).tier).toBe('PARTICIPANT');
      d.sim.control.setStaking(wallet, 100);
      expect((await d.server.ds.conviction.forWallet(wallet)).tier).toBe('PARTICIPANT');
      await d.server.ds.conviction.invalidate(wallet);
      expect((await d.server.ds.conviction.forWallet(wallet)).tier).toBe('BUILDER');
    } finally {
      await d.stop();
      await file.cleanup();
    }
  });
});

describe('conviction shared by two instances through Redis and NATS', () => {
  const tag = uniqueTag('conviction2');
  const staker = newWallet();
  const legacy = newWallet();
  const steady = newWallet();
  let a: TestDixie;
  let b: TestDixie;
  let redis: Redis;
  let file: Awaited<ReturnType<typeof tempAllowlistPath>>;

  const tierOn = async (d: TestDixie, wallet: string) =>
    (await d.gql<{ viewer: ViewerJson | null }>(VIEWER, {}, await walletAuth(wallet))).body.data?.viewer?.conviction ?? null;
  const stakingCalls = (d: TestDixie, w: string) => d.sim.control.requests.filter((r) => r.route === 'staking' && r.path.toLowerCase().includes(w.toLowerCase())).length;
  const cacheKey = (wallet: string) => `${tag}:cache:conviction:v1:${wallet.toLowerCase()}`;

  beforeAll(async () => {
    file = await tempAllowlistPath();
    await writeAllowlist(file.path, [staker, legacy, steady]);
    // A tier TTL far above the 60 s cap of fallback tiers (domain.md), so the cap is what shows.
    const shared = {
      env: { DIXIE_ALLOWLIST_PATH: file.path, DIXIE_RATE_LIMIT_RPM: '0', REDIS_URL, NATS_URL, DIXIE_CONVICTION_TIER_TTL: '3600' },
      redisKeyPrefix: `${tag}:`,
      natsSubjectPrefix: `${tag}.`,
    };
    a = await startDixie(shared);
    b = await startDixie({ ...shared, sim: a.sim });
    await waitFor(() => a.server.ds.nats?.isUp() && b.server.ds.nats?.isUp(), { what: 'NATS on both instances' });
    redis = new Redis(REDIS_URL);
  });
  afterAll(async () => {
    await b?.stop();
    await a?.stop();
    await redis?.del(cacheKey(staker), cacheKey(legacy), cacheKey(steady));
    redis?.disconnect();
    await file?.cleanup();
  });

  it('both instances report the new tier after one staking-change message', async () => {
    a.sim.control.setStaking(staker, 150);
    expect(await tierOn(a, staker)).toMatchObject({ tier: 'BUILDER', source: 'STAKING' });
    expect(await tierOn(b, staker)).toMatchObject({ tier: 'BUILDER', source: 'STAKING' });
    expect(stakingCalls(a, staker), 'B reads the tier A cached').toBe(1);

    a.sim.control.setStaking(staker, 20_000);
    expect((await tierOn(a, staker))?.tier).toBe('BUILDER');
    expect((await tierOn(b, staker))?.tier).toBe('BUILDER');

    const nc = await connect({ servers: NATS_URL });
    try {
      nc.publish(`${tag}.${STAKING_CHANGED_SUBJECT}`, JSONCodec().encode({ wallet: staker }));
      await nc.flush();
    } finally {
      await nc.close();
    }
    await waitFor(async () => (await tierOn(a, staker))?.tier === 'SOVEREIGN' && (await tierOn(b, staker))?.tier === 'SOVEREIGN', { what: 'SOVEREIGN on both instances' });
    expect(await tierOn(b, staker)).toEqual({ tier: 'SOVEREIGN', bgtStaked: 20_000, source: 'STAKING', modelPool: expect.any(String) });
  });

  it('caches a staking tier for DIXIE_CONVICTION_TIER_TTL but a fallback tier for at most 60 s', async () => {
    a.sim.control.setStaking(steady, 1);
    expect(await tierOn(a, steady)).toMatchObject({ tier: 'PARTICIPANT', source: 'STAKING' });
    expect(await redis.ttl(cacheKey(steady))).toBeGreaterThan(60);
    a.sim.control.absent('staking');
    try {
      expect(await tierOn(b, legacy)).toEqual({ tier: 'ARCHITECT', bgtStaked: null, source: 'LEGACY_ALLOWLIST', modelPool: 'pool_premium' });
      const ttl = await redis.ttl(cacheKey(legacy));
      expect(ttl).toBeGreaterThan(0);
      expect(ttl).toBeLessThanOrEqual(60);
    } finally {
      a.sim.control.absent('staking', false);
    }
  });
});

describe('TBA agents while Finn cannot answer B9 (finn.md: UPSTREAM_*, never UNAUTHENTICATED)', () => {
  const tba = newWallet();
  const owner = newWallet();
  // A timestamp never used before, so no cached verification answers for Finn. Counted down from a
  // fixed start: counting from the clock repeated a timestamp whenever a second passed between calls.
  const firstTimestamp = Math.floor(Date.now() / 1000);
  let seq = 0;
  const creds = (signature = 'sig-up') => ({
    'x-tba-address': tba, 'x-tba-signature': signature, 'x-tba-timestamp': String(firstTimestamp - seq++),
  });
  const env = { DIXIE_RATE_LIMIT_RPM: '0', DIXIE_FINN_TIMEOUT_MS: '300' };
  const start = async (circuitFailures: number) => {
    const d = await startDixie({ env: { ...env, DIXIE_FINN_CIRCUIT_FAILURES: String(circuitFailures) } });
    d.sim.control.setTba(tba, { nftContract: '0x6666397dfe9a8c469bf65dc744cb1c733416c420', tokenId: '7', ownerWallet: owner, signature: 'sig-up' });
    return d;
  };
  const viewer = async (d: TestDixie, headers: Record<string, string>) => {
    const res = await d.gql<{ viewer: { identity: string } | null }>('{ viewer { identity } }', {}, headers);
    return { status: res.status, code: codeOf(res.body), extensions: res.body.errors?.[0]?.extensions, viewer: res.body.data?.viewer ?? null };
  };

  describe('with the circuit closed', () => {
    let d: TestDixie;
    beforeAll(async () => {
      d = await start(100);
    });
    afterAll(async () => d?.stop());
    beforeEach(() => d.sim.control.clearFaults());

    it.each([
      ['unreachable', (d: TestDixie) => d.sim.control.refuseConnections(true)],
      ['timing out', (d: TestDixie) => d.sim.control.hang('verifyTba')],
    ])('answers 503 UPSTREAM_UNAVAILABLE over HTTP when Finn is %s', async (_name, fault) => {
      fault(d);
      const res = await viewer(d, creds());
      expect(res).toMatchObject({ status: 503, code: 'UPSTREAM_UNAVAILABLE', viewer: null });
      expect(res.extensions?.['retryAfter']).toBeGreaterThanOrEqual(1);
      d.sim.control.clearFaults();
      expect(await viewer(d, creds())).toMatchObject({ status: 200, viewer: { identity: 'AGENT' } });
    });

    it('answers 502 UPSTREAM_ERROR when Finn fails with a 5xx', async () => {
      d.sim.control.failWith(500, 'verifyTba');
      expect(await viewer(d, creds())).toMatchObject({ status: 502, code: 'UPSTREAM_ERROR', viewer: null });
    });

    it('still answers UNAUTHENTICATED to a signature Finn rejects', async () => {
      expect(await viewer(d, creds('forged'))).toMatchObject({ code: 'UNAUTHENTICATED', viewer: null });
    });

    it('closes a graphql-ws connection_init with 1013 (try again later), not 4403, while Finn is unreachable', async () => {
      d.sim.control.refuseConnections(true);
      const down = await openRawWs(d.wsUrl);
      expect(await down.init(creds())).toBe(1013);
      const { reason } = await down.closed;
      expect(JSON.parse(reason)).toEqual({ code: 'UPSTREAM_UNAVAILABLE', retryAfter: expect.any(Number) as number });
      d.sim.control.clearFaults();

      const forged = await openRawWs(d.wsUrl);
      expect(await forged.init(creds('forged'))).toBe(4403);
      const up = await openRawWs(d.wsUrl);
      expect(await up.init(creds())).toBe('ack');
      up.close();
    });
  });

  it('answers UPSTREAM_UNAVAILABLE with retryAfter while the circuit is open, without calling Finn', async () => {
    const d = await start(1);
    try {
      d.sim.control.failWith(500, 'verifyTba');
      expect((await viewer(d, creds())).code).toBe('UPSTREAM_ERROR');
      d.sim.control.clearFaults();
      const calls = () => d.sim.control.requests.filter((r) => r.route === 'verifyTba').length;
      const before = calls();
      const res = await viewer(d, creds());
      expect(res).toMatchObject({ status: 503, code: 'UPSTREAM_UNAVAILABLE' });
      expect(res.extensions?.['retryAfter']).toBeGreaterThan(1);
      const ws = await openRawWs(d.wsUrl);
      expect(await ws.init(creds())).toBe(1013);
      expect(JSON.parse((await ws.closed).reason)).toMatchObject({ code: 'UPSTREAM_UNAVAILABLE' });
      expect(calls()).toBe(before);
    } finally {
      await d.stop();
    }
  });
});
