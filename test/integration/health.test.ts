import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HealthOptions } from '../../src/datasources/health.js';
import type { GovernorHealth } from '../../src/domain/governor.js';
import type { HealthReport } from '../../src/domain/health.js';
import { startFinnSim, type FinnSim } from '../finn-sim/index.js';
import { startDixie, TEST_ADMIN_KEY, waitFor, type TestDixie } from '../helpers/dixie.js';
import { createTestSchema, uniqueTag } from '../helpers/services.js';
import { sql } from '../helpers/schedules.js';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.js';

const FAST = { finnProbeTtlMs: 50, infraProbeTtlMs: 50, probeTimeoutMs: 300, finnProbeTimeoutMs: 2_000, waitMs: 20, monitorIntervalMs: 100 };

async function health(d: TestDixie): Promise<HealthReport> {
  const res = await fetch(`${d.url}/api/health`, { signal: AbortSignal.timeout(5_000) });
  expect(res.status).toBe(200);
  return (await res.json()) as HealthReport;
}

function until(d: TestDixie, pred: (h: HealthReport) => boolean, what: string) {
  return waitFor(async () => {
    const h = await health(d);
    return pred(h) ? h : null;
  }, { timeoutMs: 10_000, what });
}

/** Dixie (with its own simulator) whose PostgreSQL sits behind a TCP proxy that can make it hang. */
async function startBehindPgProxy(name: string, probes: Partial<HealthOptions>) {
  const schema = await createTestSchema(uniqueTag(name));
  const pgProxy = await startTcpProxy('127.0.0.1', 5432);
  const d = await startDixie({
    // Hung pool clients are held until pg's 30 s query timeout: leave room for new ones.
    env: { DATABASE_URL: schema.url.replace('127.0.0.1:5432', `127.0.0.1:${pgProxy.port}`), DATABASE_POOL_SIZE: '40' },
    health: { ...FAST, ...probes },
  });
  return {
    d,
    pgProxy,
    schemaUrl: schema.url,
    async stop() {
      // Closing the proxy first fails the clients still hung on it, so the pool need not wait out pg's query timeout.
      await pgProxy.close();
      await d.stop();
      await schema.drop();
    },
  };
}

describe('GET /api/health with every backend configured', () => {
  const tag = uniqueTag('health');
  let sim: FinnSim;
  let d: TestDixie;
  let pgProxy: TcpProxy;
  let redisProxy: TcpProxy;
  let schema: Awaited<ReturnType<typeof createTestSchema>>;

  beforeAll(async () => {
    sim = await startFinnSim();
    schema = await createTestSchema(tag);
    pgProxy = await startTcpProxy('127.0.0.1', 5432);
    redisProxy = await startTcpProxy('127.0.0.1', 6379);
    const dbUrl = schema.url.replace('127.0.0.1:5432', `127.0.0.1:${pgProxy.port}`);
    d = await startDixie({
      sim,
      env: {
        DATABASE_URL: dbUrl,
        REDIS_URL: `redis://127.0.0.1:${redisProxy.port}`,
        NATS_URL: 'nats://127.0.0.1:4222',
        DIXIE_FINN_CIRCUIT_RECOVERY_MS: '1000',
      },
      health: FAST,
      knowledgeTtlMs: 50,
      redisKeyPrefix: `${tag}:`,
      natsSubjectPrefix: `${tag}.`,
    });
  });

  afterAll(async () => {
    await d?.stop();
    await sim?.close();
    await pgProxy?.close();
    await redisProxy?.close();
    await schema?.drop();
  });

  it('reports healthy with the exact wire shape when everything is up', async () => {
    const h = await until(d, (x) => x.status === 'healthy' && x.infrastructure?.nats?.status === 'healthy' && x.reputation_service.initialized, 'healthy');
    expect(Object.keys(h).sort()).toEqual(
      ['status', 'version', 'uptime_seconds', 'services', 'infrastructure', 'reputation_service', 'governance', 'timestamp'].sort(),
    );
    expect(h.version).toBe('2.0.0');
    expect(h.services.dixie).toEqual({ status: 'healthy' });
    expect(h.services.loa_finn).toMatchObject({ status: 'healthy', circuit_state: 'CLOSED' });
    expect(typeof h.services.loa_finn.latency_ms).toBe('number');
    expect(h.infrastructure?.postgresql).toMatchObject({ status: 'healthy' });
    expect(h.infrastructure?.redis).toMatchObject({ status: 'healthy' });
    expect(h.reputation_service).toEqual({ initialized: true, aggregate_count: 0 });
    expect(h.governance).toEqual({
      governor_count: 3,
      resource_types: ['knowledge_corpus', 'knowledge_governor', 'fleet'],
      health: expect.stringMatching(/healthy|degraded/),
    });
    expect(new Date(h.timestamp).toISOString()).toBe(h.timestamp);
  });

  it('reports knowledge_corpus from Finn B1 and falls back to zero on 404', async () => {
    sim.control.setKnowledge({
      domains: [
        { name: 'a', documentCount: 30, lastUpdated: '2026-11-20T10:00:00Z' },
        { name: 'b', documentCount: 12, lastUpdated: '2026-11-25T10:00:00Z' },
      ],
      totalDocuments: 77,
    });
    const h = await until(d, (x) => x.services.knowledge_corpus.document_count === 77, 'corpus 77');
    expect(Date.parse(h.services.knowledge_corpus.last_indexed ?? '')).toBe(Date.parse('2026-11-25T10:00:00Z'));
    sim.control.absent('knowledge');
    await until(d, (x) => x.services.knowledge_corpus.document_count === 0, 'corpus fallback');
    expect((await health(d)).services.knowledge_corpus).toEqual({ document_count: 0, last_indexed: null });
    sim.control.absent('knowledge', false);
  });

  it('is degraded when Finn is slower than 500 ms', async () => {
    sim.control.setLatency(700, 'health');
    const h = await until(d, (x) => x.services.loa_finn.status === 'degraded', 'slow finn');
    expect(h.status).toBe('degraded');
    expect(h.services.loa_finn.circuit_state).toBe('CLOSED');
    sim.control.setLatency(0, 'health');
    await until(d, (x) => x.status === 'healthy', 'healthy again');
  });

  it('opens the circuit after 3 failed probes (unhealthy), then HALF_OPEN and CLOSED when Finn recovers', async () => {
    sim.control.failWith(503);
    const down = await until(d, (x) => x.services.loa_finn.circuit_state === 'OPEN', 'circuit open');
    expect(down.status).toBe('unhealthy');
    expect(down.services.loa_finn.status).toBe('unreachable');
    expect(d.logs).toContainEqual(
      expect.objectContaining({ event: 'circuit_breaker_transition', from: 'CLOSED', to: 'OPEN', consecutive_failures: 3, service: 'loa-finn' }),
    );
    // A slow trial keeps the breaker visibly HALF_OPEN for a moment.
    sim.control.failWith(null);
    sim.control.setLatency(800, 'health');
    const half = await until(d, (x) => x.services.loa_finn.circuit_state === 'HALF_OPEN', 'half open');
    expect(half.services.loa_finn.status).toBe('degraded');
    sim.control.setLatency(0, 'health');
    await until(d, (x) => x.status === 'healthy' && x.services.loa_finn.circuit_state === 'CLOSED', 'closed');
    expect(d.logs).toContainEqual(expect.objectContaining({ event: 'circuit_breaker_transition', from: 'HALF_OPEN', to: 'CLOSED' }));
  });

  it('is degraded when PostgreSQL is unreachable and recovers', async () => {
    pgProxy.setMode('refuse');
    const h = await until(d, (x) => x.infrastructure?.postgresql?.status === 'unreachable', 'pg down');
    expect(h.status).toBe('degraded');
    expect(h.infrastructure?.postgresql?.latency_ms).toBeNull();
    pgProxy.setMode('pass');
    await until(d, (x) => x.status === 'healthy', 'pg back');
  });

  it('is degraded when Redis is unreachable and recovers', async () => {
    redisProxy.setMode('refuse');
    const h = await until(d, (x) => x.infrastructure?.redis?.status === 'unreachable', 'redis down');
    expect(h.status).toBe('degraded');
    redisProxy.setMode('pass');
    await until(d, (x) => x.status === 'healthy', 'redis back');
  });

  it('serves the same data through the GraphQL health query', async () => {
    type GqlHealth = { status: string; version: string; services: { loaFinn: { circuitState: string } }; infrastructure: { nats: { status: string } } };
    // Probes refresh every 50 ms here: under a loaded CI machine one slow Finn probe reads as
    // degraded for a moment, so read until the GraphQL side reports healthy (as the REST side did).
    const read = async () => {
      const res = await d.gql<{ health: GqlHealth }>('{ health { status version services { loaFinn { circuitState } } infrastructure { nats { status } } } }');
      expect(res.status).toBe(200);
      return res.body.data?.health;
    };
    const h = await waitFor(async () => {
      const x = await read();
      return x?.status === 'healthy' ? x : null;
    }, { timeoutMs: 10_000, what: 'healthy through GraphQL' });
    expect(h).toEqual({
      status: 'healthy',
      version: '2.0.0',
      services: { loaFinn: { circuitState: 'CLOSED' } },
      infrastructure: { nats: { status: 'healthy' } },
    });
  });
});

describe('GET /api/health while the Finn and PostgreSQL probes are stuck', () => {
  let d: TestDixie;
  let pgProxy: TcpProxy;
  let stop: () => Promise<void>;

  beforeAll(async () => {
    // Probes give up only after 8 s: the requests below run while both are provably in flight.
    // No report reuse: every request below reads the probes itself.
    ({ d, pgProxy, stop } = await startBehindPgProxy('healthstuck', { probeTimeoutMs: 8_000, finnProbeTimeoutMs: 8_000, reportReuseMs: 0 }));
  });

  afterAll(async () => {
    d?.sim.control.hang('health', false);
    await stop?.();
  });

  it('answers with the last readings while a Finn probe is parked and a PostgreSQL probe is stuck', async () => {
    await until(d, (x) => x.status === 'healthy' && x.infrastructure?.postgresql?.status === 'healthy', 'healthy before the hang');
    const hangsBefore = d.sim.control.counter('fault.hang');
    const since = Date.now();
    d.sim.control.hang('health');
    pgProxy.setMode('hang');
    const parkedFinnProbe = () =>
      d.sim.control.requests.find((e) => e.route === 'health' && e.at >= since && e.status === null && e.fault === null);
    // Reads start refreshes (TTL 50 ms): wait until each probe has actually reached its hang.
    await waitFor(async () => {
      await health(d);
      return d.sim.control.counter('fault.hang') > hangsBefore && parkedFinnProbe() && pgProxy.stuck() > 0;
    }, { timeoutMs: 5_000, what: 'the Finn probe parked and a PostgreSQL query stuck in the proxy' });

    // Waves spread past the probes' TTL and wait window, so later reads find the refreshes long in flight.
    const during: HealthReport[] = [];
    for (let wave = 0; wave < 4; wave++) {
      during.push(...(await Promise.all(Array.from({ length: 5 }, () => health(d)))));
      await new Promise((r) => setTimeout(r, 60));
    }
    for (const h of during) {
      expect(h.status).toBe('healthy');
      expect(h.services.loa_finn).toEqual({ status: 'healthy', latency_ms: expect.any(Number), circuit_state: 'CLOSED' });
      expect(h.infrastructure?.postgresql).toEqual({ status: 'healthy', latency_ms: expect.any(Number) });
    }
    // Every answer above came while both probes were still stuck, not after they gave up.
    expect(parkedFinnProbe()).toBeDefined();
    expect(pgProxy.stuck()).toBeGreaterThan(0);
  });
});

describe('the Finn probe (finn.md A.1: any 2xx means reachable)', () => {
  it('reports Finn reachable for a 2xx whatever its body, and unreachable for a 404', async () => {
    const d = await startDixie({ health: FAST });
    try {
      for (const answer of [{ body: '{"ok":true}' }, { body: '' }, { status: 204 }, { status: 202, body: 'OK' }]) {
        d.sim.control.setHealthAnswer({ status: 404 });
        await until(d, (x) => x.services.loa_finn.status === 'unreachable', 'finn 404');
        d.sim.control.setHealthAnswer(answer);
        const h = await until(d, (x) => x.services.loa_finn.status === 'healthy', `finn answers ${JSON.stringify(answer)}`);
        expect(h.services.loa_finn.circuit_state).toBe('CLOSED');
      }
      expect(d.logs).not.toContainEqual(expect.objectContaining({ event: 'finn_contract_violation', path: '/health' }));
    } finally {
      await d.stop();
    }
  });
});

describe('knowledge_corpus when Finn B1 fails after answering', () => {
  let d: TestDixie;
  beforeAll(async () => {
    // A Finn timeout below the simulator's added latency: each refresh of B1 fails by timing out.
    d = await startDixie({ env: { DIXIE_FINN_TIMEOUT_MS: '400', DIXIE_FINN_CIRCUIT_RECOVERY_MS: '500' }, health: FAST, knowledgeTtlMs: 50 });
  });
  afterAll(async () => d?.stop());

  const knowledgeGovernor = async () => {
    const res = await fetch(`${d.url}/api/health/governance`, { headers: { authorization: `Bearer ${TEST_ADMIN_KEY}` } });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { governors: Array<{ resourceType: string; health: { status: string } | null }> };
    return body.governors.find((g) => g.resourceType === 'knowledge_corpus')?.health;
  };

  it('keeps the last good reading when a refresh times out (DIXIE_FINN_TIMEOUT_MS), and 0/null again on a 404', async () => {
    const lastUpdated = new Date().toISOString();
    d.sim.control.setKnowledge({ domains: [{ name: 'a', documentCount: 9, lastUpdated }], totalDocuments: 9 });
    await until(d, (x) => x.services.knowledge_corpus.document_count === 9, 'corpus 9');
    expect((await knowledgeGovernor())?.status).toBe('healthy');

    // Slower than the configured 400 ms, faster than the old fixed 2 s: the governor sees Finn unreachable.
    d.sim.control.setLatency(1_000, 'knowledge');
    await waitFor(async () => (await knowledgeGovernor())?.status === 'degraded', { timeoutMs: 10_000, intervalMs: 200, what: 'B1 refresh timed out' }); // under the rate limit
    expect((await health(d)).services.knowledge_corpus).toEqual({ document_count: 9, last_indexed: new Date(lastUpdated).toISOString() });

    d.sim.control.setLatency(0, 'knowledge');
    d.sim.control.absent('knowledge');
    await until(d, (x) => x.services.knowledge_corpus.document_count === 0, 'corpus fallback on 404');
    expect((await health(d)).services.knowledge_corpus).toEqual({ document_count: 0, last_indexed: null });
  });
});

describe('GET /api/health while PostgreSQL hangs', () => {
  let d: TestDixie;
  let pgProxy: TcpProxy;
  let schemaUrl: string;
  let stop: () => Promise<void>;

  beforeAll(async () => {
    // Probes time out after 3 s here, so the requests below run while the reads still hang.
    ({ d, pgProxy, schemaUrl, stop } = await startBehindPgProxy('healthpg', { probeTimeoutMs: 3_000 }));
  });

  afterAll(async () => stop?.());

  it('serves the last governance and reputation readings while the reads hang, then degraded once they time out', async () => {
    // Fresh knowledge and a recent vote: every governor reads healthy before the hang.
    d.sim.control.setKnowledge({ domains: [{ name: 'a', documentCount: 1, lastUpdated: new Date().toISOString() }], totalDocuments: 1 });
    await sql(schemaUrl, `INSERT INTO knowledge_priority_votes (source_id, wallet, priority, voted_at) VALUES ('docs', '0xabc', 3, now())`);
    const governance = async () => {
      const res = await fetch(`${d.url}/api/health/governance`, { headers: { authorization: `Bearer ${TEST_ADMIN_KEY}` } });
      const body = (await res.json()) as { governors: Array<{ resourceType: string; health: { totalItems: number } | null }> };
      return body.governors.find((g) => g.resourceType === 'knowledge_governor')?.health;
    };
    expect(await governance()).toMatchObject({ totalItems: 1 });
    const before = await until(d, (x) => x.status === 'healthy' && x.governance.health === 'healthy' && x.reputation_service.initialized, 'healthy with readings');

    pgProxy.setMode('hang');
    // Waves spread past the probes' TTL and wait window, so later reads find the refreshes long in flight.
    const during: HealthReport[] = [];
    for (let wave = 0; wave < 4; wave++) {
      during.push(...(await Promise.all(Array.from({ length: 5 }, () => health(d)))));
      await new Promise((r) => setTimeout(r, 60));
    }
    for (const h of during) {
      expect(h.governance).toEqual(before.governance);
      expect(h.reputation_service).toEqual(before.reputation_service);
      expect(h.infrastructure?.postgresql?.status).toBe('healthy');
    }
    // Every PostgreSQL read is bounded: once they time out the body says so instead of hanging on.
    const degraded = await until(d, (x) => x.governance.health === 'degraded' && !x.reputation_service.initialized && x.infrastructure?.postgresql?.status === 'unreachable', 'readings time out');
    expect(degraded.governance).toMatchObject({ governor_count: 3, resource_types: ['knowledge_corpus', 'knowledge_governor', 'fleet'] });
    expect(degraded.status).toBe('degraded');
    expect(await governance()).toBeNull();

    pgProxy.setMode('pass');
    await until(d, (x) => x.status === 'healthy' && x.governance.health === 'healthy' && x.reputation_service.initialized, 'recovered');
    expect(await governance()).toMatchObject({ totalItems: 1 });
  });
});

describe('GET /api/health with optional backends', () => {
  it('omits infrastructure when nothing is configured and reports no reputation service', async () => {
    const d = await startDixie({ health: FAST });
    try {
      const h = await health(d);
      expect(h.infrastructure).toBeUndefined();
      expect(h.reputation_service).toEqual({ initialized: false, aggregate_count: 0 });
    } finally {
      await d.stop();
    }
  });

  it('stays healthy when only NATS is unreachable, reporting it', async () => {
    const d = await startDixie({ env: { NATS_URL: 'nats://127.0.0.1:1' }, health: FAST });
    try {
      const h = await until(d, (x) => x.services.loa_finn.status === 'healthy', 'finn probed');
      expect(h.status).toBe('healthy');
      expect(h.infrastructure).toEqual({ nats: { status: 'unreachable', error: expect.any(String) } });
      expect(d.logs).toContainEqual(expect.objectContaining({ event: 'dependency_unreachable', dependency: 'nats' }));
    } finally {
      await d.stop();
    }
  });
});

describe('GET /api/health/governance', () => {
  let d: TestDixie;
  beforeAll(async () => {
    // B1 re-read every 50 ms; no rate limit, so polling the governance route below is never refused.
    d = await startDixie({ health: FAST, knowledgeTtlMs: 50, env: { DIXIE_RATE_LIMIT_RPM: '0' } });
  });
  afterAll(async () => d?.stop());

  const get = (headers: Record<string, string> = {}) => fetch(`${d.url}/api/health/governance`, { headers });

  it('401 without a key', async () => {
    const res = await get();
    expect(res.status).toBe(401);
    expect(await res.json()).toEqual({ error: 'unauthorized', message: 'Admin key required' });
  });

  it('403 with a wrong key', async () => {
    const res = await get({ authorization: 'Bearer nope' });
    expect(res.status).toBe(403);
    expect(await res.json()).toEqual({ error: 'forbidden', message: 'Invalid admin key' });
  });

  it('200 with the key, bare or Bearer', async () => {
    for (const authorization of [TEST_ADMIN_KEY, `Bearer ${TEST_ADMIN_KEY}`]) {
      const res = await get({ authorization });
      expect(res.status).toBe(200);
      const body = (await res.json()) as { governors: Array<{ resourceType: string; health: unknown }>; totalResources: number; degradedResources: number };
      expect(body.totalResources).toBe(3);
      expect(body.governors.map((g) => g.resourceType)).toEqual(['knowledge_corpus', 'knowledge_governor', 'fleet']);
      expect(body.governors[0]?.health).toMatchObject({ status: expect.any(String), totalItems: expect.any(Number), staleItems: expect.any(Number), version: expect.any(Number) });
      expect(typeof body.degradedResources).toBe('number');
    }
  });

  it('knowledge_corpus counts B1 domains, stale ones (over 30 days), degrades at 50 % stale, and bumps version on change', async () => {
    const daysAgo = (n: number) => new Date(Date.now() - n * 24 * 3600 * 1000).toISOString();
    const domain = (name: string, age: number) => ({ name, documentCount: 1, lastUpdated: daysAgo(age) });
    const corpus = async () => {
      const body = (await (await get({ authorization: TEST_ADMIN_KEY })).json()) as { governors: Array<{ resourceType: string; health: GovernorHealth | null }> };
      return body.governors.find((g) => g.resourceType === 'knowledge_corpus')?.health ?? null;
    };
    const reads = (domains: number) => waitFor(async () => {
      const h = await corpus();
      return h?.totalItems === domains ? h : null;
    }, { what: `${domains} B1 domains` });

    // One of two domains past the staleness threshold (STALE_AFTER_MS, 30 days): exactly 50 % → degraded.
    d.sim.control.setKnowledge({ domains: [domain('fresh', 29), domain('old', 31)] });
    const half = await reads(2);
    expect(half).toEqual({ status: 'degraded', totalItems: 2, staleItems: 1, version: expect.any(Number) });
    expect(await corpus(), 'unchanged data keeps its version').toEqual(half);

    d.sim.control.setKnowledge({ domains: [domain('fresh', 29), domain('old', 31), domain('new', 0)] });
    const third = await reads(3);
    expect(third).toEqual({ status: 'healthy', totalItems: 3, staleItems: 1, version: expect.any(Number) });
    expect(third.version).toBeGreaterThan(half.version);

    d.sim.control.setKnowledge({ domains: [domain('old', 31), domain('older', 400), domain('new', 0), domain('fresh', 29)] });
    const twoOfFour = await reads(4);
    expect(twoOfFour).toEqual({ status: 'degraded', totalItems: 4, staleItems: 2, version: expect.any(Number) });
    expect(twoOfFour.version).toBeGreaterThan(third.version);
  });

  it('is open when no admin key is configured outside production', async () => {
    const open = await startDixie({ env: { DIXIE_ADMIN_KEY: '' } });
    try {
      const res = await fetch(`${open.url}/api/health/governance`);
      expect(res.status).toBe(200);
    } finally {
      await open.stop();
    }
  });
});
