import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CIRCUIT_STATE_VALUE } from '../../src/telemetry/metrics.js';
import { startDixie, TEST_ADMIN_KEY, waitFor, type TestDixie } from '../helpers/dixie.js';
import { createTestSchema, uniqueTag } from '../helpers/services.js';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.js';

// Every health read calls Finn within the request and waits for it (no probe or report caching).
const FRESH_HEALTH = { finnProbeTtlMs: 0, reportReuseMs: 0, waitMs: 3_000, monitorIntervalMs: 600_000 };

/** Prometheus text → `name{labels}` → value (labels as written by prom-client, sorted by it). */
function parse(text: string): Map<string, number> {
  const samples = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    samples.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return samples;
}

describe('GET /metrics', () => {
  const tag = uniqueTag('metrics');
  let d: TestDixie;
  let schema: Awaited<ReturnType<typeof createTestSchema>>;
  // Redis and NATS are reached through proxies, so that a test can make them unreachable.
  let redisProxy: TcpProxy;
  let natsProxy: TcpProxy;

  const scrape = async (): Promise<Map<string, number>> => {
    const res = await fetch(`${d.url}/metrics`, { headers: { authorization: `Bearer ${TEST_ADMIN_KEY}` } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    return parse(await res.text());
  };

  beforeAll(async () => {
    schema = await createTestSchema(tag);
    redisProxy = await startTcpProxy('127.0.0.1', 6379);
    natsProxy = await startTcpProxy('127.0.0.1', 4222);
    d = await startDixie({
      env: {
        DATABASE_URL: schema.url,
        REDIS_URL: `redis://127.0.0.1:${redisProxy.port}`,
        NATS_URL: `nats://127.0.0.1:${natsProxy.port}`,
        DIXIE_FINN_CIRCUIT_RECOVERY_MS: '500',
      },
      redisKeyPrefix: `${tag}:`,
      natsSubjectPrefix: `${tag}.`,
      health: FRESH_HEALTH,
    });
    await waitFor(() => d.server.ds.redis?.isUp() && d.server.ds.nats?.isUp(), { what: 'redis and nats' });
  });
  afterAll(async () => {
    await d?.stop();
    await redisProxy?.close();
    await natsProxy?.close();
    await schema?.drop();
  });

  it('needs the admin key when one is configured (401 / 403 JSON, bare key accepted)', async () => {
    const none = await fetch(`${d.url}/metrics`);
    expect(none.status).toBe(401);
    expect(await none.json()).toEqual({ error: 'unauthorized', message: 'Admin key required' });
    const wrong = await fetch(`${d.url}/metrics`, { headers: { authorization: 'Bearer nope' } });
    expect(wrong.status).toBe(403);
    expect(await wrong.json()).toEqual({ error: 'forbidden', message: 'Invalid admin key' });
    const bare = await fetch(`${d.url}/metrics`, { headers: { authorization: TEST_ADMIN_KEY } });
    expect(bare.status).toBe(200);
    expect(await bare.text()).toContain('dixie_http_requests_total');
  });

  it('counts HTTP, GraphQL and Finn traffic by route, operation and status', async () => {
    expect((await d.gql('query Probe { health { status } }')).status).toBe(200);
    expect((await d.gql('query Probe { health { status } }')).status).toBe(200);
    expect((await d.gql('query Denied { governance { timestamp } }')).body.errors).toBeDefined();
    expect((await fetch(`${d.url}/api/health`)).status).toBe(200);
    expect((await fetch(`${d.url}/api/nope/0x52908400098527886E0F7030069857D2E4169EE7`)).status).toBe(404);
    await waitFor(async () => (await scrape()).get('dixie_http_requests_total{method="GET",route="unmatched",status="404"}'));

    const m = await scrape();
    expect(m.get('dixie_http_requests_total{method="POST",route="/graphql",status="200"}')).toBeGreaterThanOrEqual(2);
    expect(m.get('dixie_http_requests_total{method="GET",route="/api/health",status="200"}')).toBe(1);
    expect(m.get('dixie_http_request_duration_seconds_count{method="GET",route="/api/health",status="200"}')).toBe(1);
    expect(m.get('dixie_graphql_operations_total{operation="Probe",type="query",outcome="ok"}')).toBe(2);
    expect(m.get('dixie_graphql_operations_total{operation="Denied",type="query",outcome="error"}')).toBe(1);
    expect(m.get('dixie_graphql_operation_duration_seconds_count{operation="Probe",type="query",outcome="ok"}')).toBe(2);
    expect(m.get('dixie_finn_requests_total{method="GET",route="/health",status="200"}')).toBeGreaterThanOrEqual(2);
    expect(m.get('dixie_finn_request_duration_seconds_count{method="GET",route="/health"}')).toBeGreaterThanOrEqual(2);
    expect(m.get('dixie_finn_circuit_state')).toBe(0);
    const text = [...m.keys()].join('\n');
    expect(text).not.toMatch(/0x[0-9a-f]{40}/i);
    expect(text).not.toContain('/api/nope');
  });

  it('counts operations refused at parse or validation as errors, over HTTP and graphql-ws', async () => {
    const post = (query: string, operationName: string) =>
      fetch(`${d.url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json' },
        body: JSON.stringify({ query, operationName }),
      });
    // Twice: yoga answers the second from its cache of failed documents, which skips the parse hooks.
    expect((await post('query Broken { health {', 'Broken')).status).toBe(400);
    expect((await post('query Broken { health {', 'Broken')).status).toBe(400);
    expect((await post(`query Huge { ${'health { status } '.repeat(700)} }`, 'Huge')).status).toBe(400);
    await post('query Unknown { nope }', 'Unknown');
    await post('query Unknown { nope }', 'Unknown');
    const client: Client = createClient({ url: d.wsUrl, webSocketImpl: WebSocket, retryAttempts: 0 });
    // graphql-ws answers a refused operation with an `error` message: the iterator throws it.
    await expect(client.iterate({ query: 'query WsUnknown { nope }' }).next()).rejects.toEqual([
      expect.objectContaining({ message: expect.stringContaining('nope') }),
    ]);
    await client.dispose();
    await waitFor(async () => (await scrape()).get('dixie_websocket_connections_open') === 0, { what: 'socket closed' });

    const m = await scrape();
    const failed = (metric: string, [operation, type]: string[]) => m.get(`${metric}{operation="${operation}",type="${type}",outcome="error"}`);
    const counted = [['Broken', 'unknown'], ['Huge', 'unknown'], ['Unknown', 'query'], ['WsUnknown', 'query']].map((op) => failed('dixie_graphql_operations_total', op));
    expect(counted).toEqual([2, 1, 2, 1]);
    expect(failed('dixie_graphql_operation_duration_seconds_count', ['Unknown', 'query'])).toBe(2);
  });

  it('reports the pool, backends, sockets and subscriptions', async () => {
    const before = await scrape();
    expect(before.get('dixie_rate_limit_rejections_total')).toBe(0);
    expect(before.get('dixie_dependency_up{dependency="redis"}')).toBe(1);
    expect(before.get('dixie_dependency_up{dependency="nats"}')).toBe(1);
    for (const state of ['in_use', 'idle', 'waiting']) expect(before.get(`dixie_pg_pool_clients{state="${state}"}`)).toBeGreaterThanOrEqual(0);
    expect(before.get('dixie_pg_pool_clients{state="idle"}')).toBeGreaterThanOrEqual(1);
    expect(before.get('dixie_websocket_connections_open')).toBe(0);
    expect(before.get('dixie_graphql_subscriptions_active')).toBe(0);
    expect(before.get('process_resident_memory_bytes')).toBeGreaterThan(0);

    const client: Client = createClient({ url: d.wsUrl, webSocketImpl: WebSocket, lazy: false, retryAttempts: 0 });
    const unsubscribe = client.subscribe({ query: 'subscription { healthChanged { status } }' }, { next: () => undefined, error: () => undefined, complete: () => undefined });
    const during = await waitFor(async () => {
      const m = await scrape();
      return m.get('dixie_graphql_subscriptions_active') === 1 ? m : null;
    }, { what: 'active subscription' });
    expect(during.get('dixie_websocket_connections_open')).toBe(1);
    expect(during.get('dixie_graphql_operations_total{operation="anonymous",type="subscription",outcome="ok"}')).toBe(1);

    unsubscribe();
    await waitFor(async () => (await scrape()).get('dixie_graphql_subscriptions_active') === 0, { what: 'subscription ended' });
    await client.dispose();
    await waitFor(async () => (await scrape()).get('dixie_websocket_connections_open') === 0, { what: 'socket closed' });
  });

  it('shows the circuit OPEN when Finn keeps failing, and CLOSED again once it recovers', async () => {
    const circuit = async () => (await scrape()).get('dixie_finn_circuit_state');
    d.sim.control.failWith(503, 'health');
    try {
      // Every health read probes Finn (FRESH_HEALTH): three failed probes open the breaker.
      await waitFor(async () => (await fetch(`${d.url}/api/health`)).ok && (await circuit()) === CIRCUIT_STATE_VALUE.OPEN, { what: 'circuit open' });
    } finally {
      d.sim.control.failWith(null, 'health');
    }
    await waitFor(async () => (await fetch(`${d.url}/api/health`)).ok && (await circuit()) === CIRCUIT_STATE_VALUE.CLOSED, { what: 'circuit closed' });
  });

  it('shows Redis and NATS made unreachable as dependency_up 0, and 1 once they are back', async () => {
    const up = async () => {
      const m = await scrape();
      return [m.get('dixie_dependency_up{dependency="redis"}'), m.get('dixie_dependency_up{dependency="nats"}')];
    };
    expect(await up()).toEqual([1, 1]);
    redisProxy.setMode('refuse');
    natsProxy.setMode('refuse');
    await waitFor(async () => (await up()).every((v) => v === 0), { what: 'both down' });
    redisProxy.setMode('pass');
    natsProxy.setMode('pass');
    await waitFor(async () => (await up()).every((v) => v === 1), { timeoutMs: 10_000, what: 'both back' });
  });
});

describe('dixie_rate_limit_rejections_total', () => {
  it('counts every request refused past DIXIE_RATE_LIMIT_RPM', async () => {
    const d = await startDixie({ env: { DIXIE_RATE_LIMIT_RPM: '2', DIXIE_ADMIN_KEY: '' } });
    try {
      const statuses = [];
      for (let i = 0; i < 5; i++) statuses.push((await d.gql('{ __typename }')).status);
      expect(statuses).toEqual([200, 200, 429, 429, 429]);
      // /metrics itself is not rate limited.
      const text = await (await fetch(`${d.url}/metrics`)).text();
      expect(parse(text).get('dixie_rate_limit_rejections_total')).toBe(3);
    } finally {
      await d.stop();
    }
  });
});

describe('GET /metrics without an admin key (outside production)', () => {
  it('is open', async () => {
    const d = await startDixie({ env: { DIXIE_ADMIN_KEY: '' } });
    try {
      const res = await fetch(`${d.url}/metrics`);
      expect(res.status).toBe(200);
      expect(await res.text()).toContain('# TYPE dixie_finn_circuit_state gauge');
      expect((await fetch(`${d.url}/metrics`, { method: 'POST' })).status).toBe(405);
    } finally {
      await d.stop();
    }
  });
});
