import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newWallet, walletAuth, writeAllowlist } from '../helpers/auth.js';
import { startFinnSim } from '../finn-sim/index.js';
import { startDixie, TEST_ADMIN_KEY, waitFor, type TestDixie } from '../helpers/dixie.js';
import { sql } from '../helpers/schedules.js';
import { createTestSchema, uniqueTag } from '../helpers/services.js';

const tag = uniqueTag('agent');
const architect = newWallet();
const participant = newWallet();
const observer = newWallet();
const SERVICE_KEY = 'dxk_agent_test_service_key_0123456789';
let d: TestDixie;
let dir: string;
let schema: Awaited<ReturnType<typeof createTestSchema>>;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dixie-agent-'));
  await writeAllowlist(join(dir, 'allowlist.json'), [architect, participant, observer], [SERVICE_KEY]);
  schema = await createTestSchema(tag);
  d = await startDixie({ env: { DATABASE_URL: schema.url, DIXIE_ALLOWLIST_PATH: join(dir, 'allowlist.json'), DIXIE_PERSONALITY_TTL: '60' } });
  d.sim.control.setStaking(architect, 1_000);
  d.sim.control.setStaking(participant, 1);
});

afterAll(async () => {
  await d?.stop();
  await schema?.drop();
  await rm(dir, { recursive: true, force: true });
});

const VOTE = 'mutation($s: ID!, $p: Int!) { voteKnowledgePriority(sourceId: $s, priority: $p) { sourceId averagePriority voteCount lastVotedAt } }';
const AGENT_QUERY = `mutation($input: AgentQueryInput!) {
  agentQuery(input: $input) { response sessionId toolCalls { name args result } cost { inputTokens outputTokens costMicroUsd } }
}`;

describe('agentQuery', () => {
  it('answers an ARCHITECT through a one-shot Finn session the caller then owns', async () => {
    const auth = await walletAuth(architect);
    const res = await d.gql<{ agentQuery: { response: string; sessionId: string; toolCalls: unknown[]; cost: unknown } }>(
      AGENT_QUERY, { input: { query: 'What is BGT?', maxTokens: 256, knowledgeDomain: 'berachain' } }, auth,
    );
    expect(res.body.errors).toBeUndefined();
    const r = res.body.data!.agentQuery;
    expect(r.response).toBe('Echo: [knowledge domain: berachain]\nWhat is BGT?');
    expect(r.toolCalls).toEqual([{ name: 'knowledge_search', args: { query: expect.any(String) }, result: expect.stringContaining('Found 3 documents') }]);
    expect(r.cost).toEqual({ inputTokens: null, outputTokens: null, costMicroUsd: null });
    const own = await d.gql<{ chatSession: { id: string } }>('query($id: ID!) { chatSession(id: $id) { id } }', { id: r.sessionId }, auth);
    expect(own.body.data?.chatSession.id).toBe(r.sessionId);
  });

  it('denies lower tiers with the required and actual tier, and anonymous callers', async () => {
    const res = await d.gql(AGENT_QUERY, { input: { query: 'q' } }, await walletAuth(participant));
    expect(res.status).toBe(403);
    expect(res.body.errors?.[0]?.extensions).toMatchObject({ code: 'FORBIDDEN', requiredTier: 'ARCHITECT', actualTier: 'PARTICIPANT' });
    const anon = await d.gql(AGENT_QUERY, { input: { query: 'q' } });
    expect(anon.body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    const service = await d.gql(AGENT_QUERY, { input: { query: 'q' } }, { authorization: `Bearer ${SERVICE_KEY}` });
    expect(service.body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  });

  it('accepts an agent acting for an ARCHITECT owner', async () => {
    const tba = newWallet();
    d.sim.control.setTba(tba, { nftContract: '0x00000000000000000000000000000000000000aa', tokenId: '7', ownerWallet: architect });
    const headers = { 'x-tba-address': tba, 'x-tba-signature': '0xsig', 'x-tba-timestamp': String(Math.floor(Date.now() / 1000)) };
    const res = await d.gql<{ agentQuery: { response: string } }>(AGENT_QUERY, { input: { query: 'agent asks' } }, headers);
    expect(res.body.errors).toBeUndefined();
    expect(res.body.data!.agentQuery.response).toBe('Echo: agent asks');
  });

  it.each([
    [{ query: 'x'.repeat(10_001) }, 'query'],
    [{ query: '   ' }, 'query'],
    [{ query: 'q', maxTokens: 0 }, 'maxTokens'],
    [{ query: 'q', maxTokens: 4097 }, 'maxTokens'],
    [{ query: 'q', knowledgeDomain: 'd'.repeat(101) }, 'knowledgeDomain'],
  ])('rejects %j as BAD_USER_INPUT on %s before calling Finn', async (input, field) => {
    const before = d.sim.control.requests.length;
    const res = await d.gql(AGENT_QUERY, { input }, await walletAuth(architect));
    expect(res.status).toBe(400);
    expect(res.body.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field });
    expect(d.sim.control.requests.slice(before).filter((r) => r.path.startsWith('/api/sessions'))).toEqual([]);
  });
});

describe('agent info and knowledge votes', () => {
  it('lists capabilities and Finn knowledge to wallets and agents', async () => {
    const res = await d.gql<{ agent: Record<string, unknown> }>(
      '{ agent { capabilities knowledge { domains { name documentCount lastUpdated } totalDocuments lastIndexed } priorities { sourceId } } }',
      {}, await walletAuth(observer),
    );
    expect(res.body.errors).toBeUndefined();
    expect(res.body.data!.agent.capabilities).toContain('agent_query');
    expect(res.body.data!.agent.knowledge).toMatchObject({ totalDocuments: 42, lastIndexed: expect.any(String) });
    expect(res.body.data!.agent.knowledge).toHaveProperty('domains', expect.arrayContaining([{ name: 'berachain', documentCount: 12, lastUpdated: expect.any(String) }]));
    const anon = await d.gql('{ agent { capabilities } }');
    expect(anon.body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });

  it('keeps one vote per wallet per source and averages them', async () => {
    const p = await walletAuth(participant);
    const a = await walletAuth(architect);
    await d.gql(VOTE, { s: 'docs.berachain', p: 1 }, p);
    await d.gql(VOTE, { s: 'docs.berachain', p: 5 }, p);
    const res = await d.gql<{ voteKnowledgePriority: Record<string, unknown> }>(VOTE, { s: 'docs.berachain', p: 2 }, a);
    expect(res.body.data!.voteKnowledgePriority).toMatchObject({ sourceId: 'docs.berachain', averagePriority: 3.5, voteCount: 2 });
    const info = await d.gql<{ agent: { priorities: Array<{ sourceId: string; voteCount: number }> } }>('{ agent { priorities { sourceId voteCount } } }', {}, a);
    expect(info.body.data!.agent.priorities).toContainEqual({ sourceId: 'docs.berachain', voteCount: 2 });
    const gov = await d.gql<{ governance: { governors: Array<{ resourceType: string; health: { totalItems: number; staleItems: number } }> } }>(
      '{ governance { governors { resourceType health { totalItems staleItems } } } }', {}, { authorization: `Bearer ${TEST_ADMIN_KEY}` },
    );
    expect(gov.body.data!.governance.governors.find((g) => g.resourceType === 'knowledge_governor')?.health).toEqual({ totalItems: 1, staleItems: 0 });
  });

  it('validates votes and requires PARTICIPANT', async () => {
    const bad = await d.gql(VOTE, { s: 'src', p: 6 }, await walletAuth(participant));
    expect(bad.body.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'priority' });
    const badId = await d.gql(VOTE, { s: 'a b', p: 3 }, await walletAuth(participant));
    expect(badId.body.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'sourceId' });
    const low = await d.gql(VOTE, { s: 'src', p: 3 }, await walletAuth(observer));
    expect(low.body.errors?.[0]?.extensions).toMatchObject({ code: 'FORBIDDEN', requiredTier: 'PARTICIPANT', actualTier: 'OBSERVER' });
  });

  it('lets a wallet vote on at most 100 sources, so made-up ones cannot flood the priorities', async () => {
    const p = await walletAuth(participant);
    // 100 earlier votes of this wallet (the stored address is lower case, as the API stores it).
    await sql(
      schema.url,
      `INSERT INTO knowledge_priority_votes (source_id, wallet, priority) SELECT 'many.' || i, $1, 2 FROM generate_series(1, 100 - (SELECT count(*)::int FROM knowledge_priority_votes WHERE wallet = $1)) i`,
      [participant.toLowerCase()],
    );
    const over = await d.gql(VOTE, { s: 'one.too.many', p: 3 }, p);
    expect(over.status).toBe(400);
    expect(over.body.errors?.[0]).toMatchObject({ message: 'A wallet can vote on at most 100 knowledge sources', extensions: { code: 'BAD_USER_INPUT', field: 'sourceId' } });
    const [stored] = await sql<{ n: number }>(schema.url, `SELECT count(*)::int AS n FROM knowledge_priority_votes WHERE source_id = 'one.too.many'`);
    expect(stored!.n).toBe(0);
    // Changing an existing vote is still allowed, and other wallets are not affected.
    const again = await d.gql<{ voteKnowledgePriority: { voteCount: number } }>(VOTE, { s: 'many.1', p: 5 }, p);
    expect(again.body.errors).toBeUndefined();
    const other = await d.gql<{ voteKnowledgePriority: { voteCount: number } }>(VOTE, { s: 'one.too.many', p: 3 }, await walletAuth(architect));
    expect(other.body.data!.voteKnowledgePriority.voteCount).toBe(1);
  });
});

describe('the knowledge_governor (domain.md: sources with votes, stale after 30 days without one)', () => {
  type Health = { status: string; totalItems: number; staleItems: number; version: number };
  const reading = async () => {
    const res = await d.gql<{ governance: { governors: Array<{ resourceType: string; health: Health | null }> } }>(
      '{ governance { governors { resourceType health { status totalItems staleItems version } } } }', {}, { authorization: `Bearer ${TEST_ADMIN_KEY}` },
    );
    expect(res.body.errors).toBeUndefined();
    return res.body.data!.governance.governors.find((g) => g.resourceType === 'knowledge_governor')!.health!;
  };
  const vote = (source: string, wallet: string, daysAgo: number) =>
    sql(schema.url, `INSERT INTO knowledge_priority_votes (source_id, wallet, priority, voted_at) VALUES ($1, $2, 3, now() - make_interval(days => $3))`, [source, wallet, daysAgo]);

  it('counts a source stale only when its latest vote is over 30 days old, degraded at 50 %, and bumps version', async () => {
    await sql(schema.url, 'DELETE FROM knowledge_priority_votes');
    const [w1, w2] = ['0x1111111111111111111111111111111111111111', '0x2222222222222222222222222222222222222222'];
    await vote('fresh.a', w1, 29);
    await vote('old.b', w1, 31);
    await vote('mixed.c', w1, 40);
    await vote('mixed.c', w2, 1);
    const third = await reading();
    expect(third).toEqual({ status: 'healthy', totalItems: 3, staleItems: 1, version: expect.any(Number) });
    expect(await reading(), 'unchanged votes keep the version').toEqual(third);

    await vote('old.d', w1, 100);
    const half = await reading();
    expect(half).toEqual({ status: 'degraded', totalItems: 4, staleItems: 2, version: third.version + 1 });

    // A fresh vote through the API makes old.d current again.
    expect((await d.gql(VOTE, { s: 'old.d', p: 4 }, await walletAuth(participant))).body.errors).toBeUndefined();
    expect(await reading()).toEqual({ status: 'healthy', totalItems: 4, staleItems: 1, version: half.version + 1 });
  });
});

describe('oracle and personality', () => {
  it('serves the oracle to wallets and services, cached, with the fallback when Finn lacks B2', async () => {
    const q = '{ oracle { nftId name damp96Summary beauvoirHash } }';
    const res = await d.gql<{ oracle: Record<string, unknown> }>(q, {}, { authorization: `Bearer ${SERVICE_KEY}` });
    expect(res.body.data!.oracle).toMatchObject({ nftId: 'oracle', name: 'The Oracle', beauvoirHash: 'sha256:0f1e2d3c4b5a' });
    const calls = d.sim.control.counter('http');
    await d.gql(q, {}, await walletAuth(observer));
    expect(d.sim.control.counter('http') - calls).toBe(0); // B2 answered from the cache
    await d.server.ds.cache.delete('finn:oracle:v1');
    d.sim.control.absent('oracle');
    const fallback = await d.gql<{ oracle: Record<string, unknown> }>(q, {}, { authorization: `Bearer ${SERVICE_KEY}` });
    expect(fallback.body.data!.oracle).toEqual({ nftId: 'oracle', name: 'The Oracle', damp96Summary: null, beauvoirHash: null });
    d.sim.control.absent('oracle', false);
    expect((await d.gql(q)).body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });

  it('asks Finn once when many requests miss the cached oracle and personality together', async () => {
    await d.server.ds.cache.delete('finn:oracle:v1');
    await d.server.ds.cache.delete('finn:personality:v1:nft-1');
    d.sim.control.setBeauvoir('nft-1', { name: 'Crowd', traits: ['busy'] });
    d.sim.control.setLatency(100, 'oracle');
    d.sim.control.setLatency(100, 'beauvoir');
    const before = d.sim.control.requests.length;
    const q = 'query($n: ID!) { oracle { name } personality(nftId: $n) { name } }';
    const auth = await walletAuth(observer);
    const results = await Promise.all(Array.from({ length: 10 }, () => d.gql<{ oracle: { name: string }; personality: { name: string } }>(q, { n: 'nft-1' }, auth)));
    for (const r of results) expect(r.body).toEqual({ data: { oracle: { name: 'The Oracle' }, personality: { name: 'Crowd' } } });
    const routes = d.sim.control.requests.slice(before).map((r) => r.route);
    expect(routes.filter((r) => r === 'oracle')).toHaveLength(1);
    expect(routes.filter((r) => r === 'beauvoir')).toHaveLength(1);
    expect(routes.filter((r) => r === 'evolution')).toHaveLength(1);
    d.sim.control.setLatency(0, 'oracle');
    d.sim.control.setLatency(0, 'beauvoir');
    await d.server.ds.cache.delete('finn:personality:v1:nft-1');
  });

  it('serves a personality with its evolution, and null when Finn has none', async () => {
    d.sim.control.setBeauvoir('nft-1', { name: 'Bera', traits: ['kind'] });
    d.sim.control.setEvolution('nft-1', [{ version: 2, timestamp: '2025-02-01T00:00:00.000Z', changes: ['x'], trigger: 'chat' }] as never);
    const q = 'query($n: ID!) { personality(nftId: $n) { nftId name traits version evolution { version timestamp trigger } } }';
    const auth = await walletAuth(observer);
    const res = await d.gql<{ personality: Record<string, unknown> }>(q, { n: 'nft-1' }, auth);
    expect(res.body.data!.personality).toMatchObject({ nftId: 'nft-1', name: 'Bera', traits: ['kind'], evolution: [{ version: '2', trigger: 'chat' }] });
    const none = await d.gql<{ personality: unknown }>(q, { n: 'nft-none' }, auth);
    expect(none.body).toEqual({ data: { personality: null } });
    const bad = await d.gql(q, { n: '../x' }, auth);
    expect(bad.body.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'nftId' });
  });
});

describe('Finn failing under a GraphQL field (finn.md §General)', () => {
  let f: TestDixie;
  const q = 'query($n: ID!) { personality(nftId: $n) { name } }';
  beforeAll(async () => {
    f = await startDixie({ env: { DIXIE_ALLOWLIST_PATH: join(dir, 'allowlist.json'), DIXIE_FINN_TIMEOUT_MS: '300', DIXIE_FINN_CIRCUIT_FAILURES: '50' } });
  });
  afterAll(async () => f?.stop());

  // personality is nullable, so `data` is not null and the status stays 200 (graphql.md §Errors).
  it('answers a timeout with UPSTREAM_UNAVAILABLE and a retryAfter, and a Finn 5xx with UPSTREAM_ERROR', async () => {
    const auth = await walletAuth(observer);
    f.sim.control.setBeauvoir('nft-slow', { name: 'Slow' });
    f.sim.control.hang('beauvoir');
    const timedOut = await f.gql(q, { n: 'nft-slow' }, auth);
    f.sim.control.hang('beauvoir', false);
    expect(timedOut.status).toBe(200);
    expect(timedOut.body.data).toEqual({ personality: null });
    expect(timedOut.body.errors?.[0]?.extensions).toMatchObject({ code: 'UPSTREAM_UNAVAILABLE', retryAfter: expect.any(Number) });

    f.sim.control.failWith(500, 'beauvoir');
    const failed = await f.gql(q, { n: 'nft-slow' }, auth);
    f.sim.control.clearFaults();
    expect(failed.body.data).toEqual({ personality: null });
    expect(failed.body.errors?.[0]?.extensions).toMatchObject({ code: 'UPSTREAM_ERROR' });
    expect(JSON.stringify(failed.body)).not.toMatch(/Internal|stack/i);

    // Neither answer was cached: Finn answering again serves the personality.
    expect((await f.gql<{ personality: { name: string } }>(q, { n: 'nft-slow' }, auth)).body).toEqual({ data: { personality: { name: 'Slow' } } });
  });

  it('answers agent.knowledge with UPSTREAM_UNAVAILABLE at once while the circuit is open and Finn never answered B1', async () => {
    const sim = await startFinnSim();
    sim.control.failWith(503, 'knowledge');
    const k = await startDixie({ sim, env: { DIXIE_ALLOWLIST_PATH: join(dir, 'allowlist.json'), DIXIE_FINN_CIRCUIT_FAILURES: '1' } });
    try {
      // The health monitor's B1 call at start-up fails and opens the circuit.
      await waitFor(() => k.server.ds.finn.breaker.state() === 'OPEN', { what: 'circuit open' });
      const asked = sim.control.counter('http.knowledge');
      const res = await k.gql('{ agent { capabilities knowledge { totalDocuments } } }', {}, await walletAuth(observer));
      expect(res.status).toBe(503);
      expect(res.body.data).toBeNull();
      expect(res.body.errors?.[0]?.extensions).toMatchObject({ code: 'UPSTREAM_UNAVAILABLE', retryAfter: expect.any(Number) });
      expect(sim.control.counter('http.knowledge')).toBe(asked);
    } finally {
      await k.stop();
      await sim.close();
    }
  });

  it('asks Finn for B1 when it has no answer yet, and reports its failure instead of 0 documents', async () => {
    const sim = await startFinnSim();
    sim.control.failWith(500, 'knowledge');
    const k = await startDixie({ sim, env: { DIXIE_ALLOWLIST_PATH: join(dir, 'allowlist.json'), DIXIE_FINN_CIRCUIT_FAILURES: '50' } });
    try {
      const auth = await walletAuth(observer);
      const failed = await k.gql('{ agent { knowledge { totalDocuments } } }', {}, auth);
      expect(failed.body.errors?.[0]?.extensions).toMatchObject({ code: 'UPSTREAM_ERROR' });
      sim.control.clearFaults();
      const res = await k.gql<{ agent: { knowledge: { totalDocuments: number; lastIndexed: string | null } } }>('{ agent { knowledge { totalDocuments lastIndexed } } }', {}, auth);
      expect(res.body.errors).toBeUndefined();
      expect(res.body.data!.agent.knowledge).toEqual({ totalDocuments: 42, lastIndexed: expect.any(String) });
    } finally {
      await k.stop();
      await sim.close();
    }
  });

  it('does not read a Finn answer past 4 MB: it is off the contract', async () => {
    const sim = await startFinnSim();
    const domains = Array.from({ length: 60_000 }, (_, i) => ({ name: `domain-${i}-${'x'.repeat(60)}`, documentCount: 1, lastUpdated: new Date().toISOString() }));
    sim.control.setKnowledge({ domains, totalDocuments: domains.length });
    const k = await startDixie({ sim, env: { DIXIE_ALLOWLIST_PATH: join(dir, 'allowlist.json') } });
    try {
      // The health monitor asks B1 at start-up; its answer is refused, not read whole.
      await waitFor(() => k.logs.some((l) => l.event === 'finn_contract_violation' && l['path'] === '/api/knowledge/metadata'), { what: 'the oversized answer refused' });
      const res = await k.gql<{ agent: { knowledge: unknown } }>('{ agent { knowledge { totalDocuments } } }', {}, await walletAuth(observer));
      expect(res.body.errors).toBeUndefined();
      expect(res.body.data!.agent.knowledge).toEqual({ totalDocuments: 0 });
    } finally {
      await k.stop();
      await sim.close();
    }
  });

  it('refuses a Finn knowledge count GraphQL cannot carry at the boundary instead of failing the agent query', async () => {
    const sim = await startFinnSim();
    sim.control.setKnowledge({ domains: [{ name: 'huge', documentCount: 3_000_000_000, lastUpdated: new Date().toISOString() }], totalDocuments: 3_000_000_000 });
    const k = await startDixie({ sim, env: { DIXIE_ALLOWLIST_PATH: join(dir, 'allowlist.json') } });
    try {
      const res = await k.gql<{ agent: { knowledge: unknown } }>('{ agent { knowledge { totalDocuments domains { name } } } }', {}, await walletAuth(observer));
      expect(res.body.errors).toBeUndefined();
      // Off the contract, so as if Finn had never answered B1.
      expect(res.body.data!.agent.knowledge).toEqual({ totalDocuments: 0, domains: [] });
    } finally {
      await k.stop();
      await sim.close();
    }
  });
});
