import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newWallet, walletAuth, writeAllowlist } from '../helpers/auth.js';
import { startDixie, TEST_ADMIN_KEY, waitFor, type TestDixie } from '../helpers/dixie.js';
import { openRawWs } from '../helpers/raw-ws.js';
import { REDIS_URL, uniqueTag } from '../helpers/services.js';
import { tempAllowlistPath } from '../helpers/siwe.js';

const GOV = '/api/health/governance';
const get = (d: TestDixie, path: string, headers: Record<string, string> = {}) =>
  fetch(`${d.url}${path}`, { headers: { authorization: TEST_ADMIN_KEY, ...headers } });
const limits = (res: { headers: Headers }) => [res.headers.get('x-ratelimit-limit'), res.headers.get('x-ratelimit-remaining')];

describe('rate limiting, memory backend', () => {
  let d: TestDixie;
  let file: Awaited<ReturnType<typeof tempAllowlistPath>>;
  const wallet = newWallet();

  beforeAll(async () => {
    file = await tempAllowlistPath();
    await writeAllowlist(file.path, [wallet]);
    d = await startDixie({ env: { DIXIE_RATE_LIMIT_RPM: '3', DIXIE_ALLOWLIST_PATH: file.path } });
  });
  afterAll(async () => {
    await d?.stop();
    await file?.cleanup();
  });

  it('counts per identity, sets the headers on every response and answers 429 with Retry-After', async () => {
    // The admin key is an identity of its own; an anonymous caller spends the IP budget.
    const seen = [];
    for (let i = 0; i < 3; i++) {
      const res = await fetch(`${d.url}${GOV}`);
      seen.push([res.status, ...limits(res)]);
    }
    expect(seen).toEqual([[401, '3', '2'], [401, '3', '1'], [401, '3', '0']]);
    const refused = await fetch(`${d.url}${GOV}`);
    expect(refused.status).toBe(429);
    expect(limits(refused)).toEqual(['3', '0']);
    const retryAfter = refused.headers.get('retry-after');
    expect(retryAfter).toMatch(/^\d+$/);
    expect(await refused.json()).toEqual({ error: 'rate_limited', message: 'Too many requests', retry_after: Number(retryAfter) });
  });

  it('spends the same budget on /graphql, with RATE_LIMITED and retryAfter', async () => {
    const res = await d.gql('{ __typename }');
    expect(res.status).toBe(429);
    expect(res.body.errors?.[0]?.extensions).toEqual({ code: 'RATE_LIMITED', retryAfter: Number(res.headers.get('retry-after')) });
    expect(res.headers.get('x-ratelimit-limit')).toBe('3');
  });

  it('exempts /api/health', async () => {
    for (let i = 0; i < 5; i++) {
      const res = await fetch(`${d.url}/api/health`);
      expect(res.status).toBe(200);
      expect(res.headers.get('x-ratelimit-limit')).toBeNull();
    }
  });

  it('gives a verified wallet and the admin key budgets of their own', async () => {
    const auth = await walletAuth(wallet);
    const first = await d.gql('{ viewer { identity } }', {}, auth);
    expect(first.status).toBe(200);
    expect(limits(first)).toEqual(['3', '2']);
    expect((await get(d, GOV)).status).toBe(200);
  });
});

describe('rate limiting by client IP and X-Forwarded-For', () => {
  const spoofed = (i: number) => ({ 'x-forwarded-for': `198.51.100.${i}` });

  it('with 0 trusted hops, rotating X-Forwarded-For does not escape the socket IP budget', async () => {
    const d = await startDixie({ env: { DIXIE_RATE_LIMIT_RPM: '3', DIXIE_TRUST_PROXY_HOPS: '0' } });
    try {
      const statuses = [];
      for (let i = 1; i <= 4; i++) statuses.push((await fetch(`${d.url}${GOV}`, { headers: spoofed(i) })).status);
      expect(statuses).toEqual([401, 401, 401, 429]);
      const gql = await d.gql('{ __typename }', {}, spoofed(5));
      expect(gql.status).toBe(429);
      expect(gql.body.errors?.[0]?.extensions?.['code']).toBe('RATE_LIMITED');
    } finally {
      await d.stop();
    }
  });

  it('with 1 trusted hop, the entry the proxy appended is the identity', async () => {
    const d = await startDixie({ env: { DIXIE_RATE_LIMIT_RPM: '3', DIXIE_TRUST_PROXY_HOPS: '1' } });
    try {
      // A different client behind the proxy each time: each has a budget of its own.
      for (let i = 1; i <= 4; i++) {
        const res = await fetch(`${d.url}${GOV}`, { headers: spoofed(i) });
        expect([res.status, ...limits(res)]).toEqual([401, '3', '2']);
      }
      // One client forging entries before the proxy's: still one budget.
      const forged = [];
      for (let i = 1; i <= 4; i++) {
        const res = await fetch(`${d.url}${GOV}`, { headers: { 'x-forwarded-for': `6.6.6.${i}, 203.0.113.5` } });
        forged.push(res.status);
      }
      expect(forged).toEqual([401, 401, 401, 429]);
    } finally {
      await d.stop();
    }
  });
});

describe('rate limiting disabled (RPM 0)', () => {
  let d: TestDixie;
  beforeAll(async () => {
    d = await startDixie({ env: { DIXIE_RATE_LIMIT_RPM: '0' } });
  });
  afterAll(async () => d?.stop());

  it('never limits and sets no rate-limit headers', async () => {
    for (let i = 0; i < 120; i++) {
      const res = await fetch(`${d.url}${GOV}`);
      expect(res.status).toBe(401);
      expect(res.headers.get('x-ratelimit-limit')).toBeNull();
      expect(res.headers.get('retry-after')).toBeNull();
    }
    expect((await d.gql('{ __typename }')).status).toBe(200);
  });
});

describe('rate limiting, Redis backend', () => {
  const prefix = `${uniqueTag('ratelimit')}:`;
  let a: TestDixie;
  let b: TestDixie;
  let redis: Redis;
  beforeAll(async () => {
    redis = new Redis(REDIS_URL);
    a = await startDixie({ env: { REDIS_URL, DIXIE_RATE_LIMIT_RPM: '4' }, redisKeyPrefix: prefix });
    b = await startDixie({ env: { REDIS_URL, DIXIE_RATE_LIMIT_RPM: '4' }, redisKeyPrefix: prefix, sim: a.sim });
    await waitFor(() => a.server.ds.redis?.isUp() && b.server.ds.redis?.isUp(), { what: 'Redis' });
  });
  afterAll(async () => {
    await b?.stop();
    await a?.stop();
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length) await redis.del(...keys);
    redis.disconnect();
  });

  it('shares one budget between two instances', async () => {
    const statuses = [];
    for (const d of [a, b, a, b, a, b]) statuses.push((await fetch(`${d.url}${GOV}`)).status);
    expect(statuses).toEqual([401, 401, 401, 401, 429, 429]);
    const res = await fetch(`${b.url}${GOV}`);
    expect(limits(res)).toEqual(['4', '0']);
    expect(Number(res.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
  });

  it('keeps its keys under the configured prefix', async () => {
    const keys = await redis.keys(`${prefix}ratelimit:*`);
    expect(keys.length).toBeGreaterThan(0);
    expect(keys.every((k) => k.startsWith(`${prefix}ratelimit:ip:`))).toBe(true);
  });
});

describe('rate limiting when Redis is down', () => {
  let d: TestDixie;
  beforeAll(async () => {
    d = await startDixie({ env: { REDIS_URL: 'redis://127.0.0.1:1', DIXIE_RATE_LIMIT_RPM: '2' } });
  });
  afterAll(async () => d?.stop());

  it('lets requests through, logs a warning and counts the failures', async () => {
    for (let i = 0; i < 5; i++) {
      const res = await fetch(`${d.url}${GOV}`);
      expect(res.status).toBe(401);
      expect(limits(res)).toEqual(['2', '2']);
    }
    expect(d.logs.some((l) => l.event === 'rate_limit_backend_unavailable' && l.level === 'warn')).toBe(true);
    expect(d.server.ds.rateLimiter.backendFailures()).toBe(5);
    const metrics = await d.server.ds.metrics.registry.getSingleMetricAsString('dixie_rate_limit_backend_failures_total');
    expect(metrics).toMatch(/dixie_rate_limit_backend_failures_total 5/);
  });
});

describe('WebSocket limits', () => {
  let d: TestDixie;
  beforeAll(async () => {
    d = await startDixie({ env: { DIXIE_RATE_LIMIT_RPM: '0' } });
  });
  afterAll(async () => d?.stop());

  const SUB = 'subscription { healthChanged { status } }';

  it('allows 20 concurrent subscriptions per identity and refuses the 21st, across connections', async () => {
    const one = await openRawWs(d.wsUrl);
    const two = await openRawWs(d.wsUrl);
    expect(await one.init()).toBe('ack');
    expect(await two.init()).toBe('ack');
    for (let i = 1; i <= 15; i++) one.subscribe(`s${i}`, SUB);
    for (let i = 16; i <= 20; i++) two.subscribe(`s${i}`, SUB);
    await waitFor(() => d.server.app.ws.countedSubscriptions() === 20, { what: '20 active subscriptions' });
    two.subscribe('s21', SUB);
    const refused = await two.waitFor((m) => m.id === 's21');
    expect(refused.type).toBe('error');
    expect((refused.payload as Array<{ extensions: { code: string } }>)[0]?.extensions.code).toBe('RATE_LIMITED');
    expect([...one.messages, ...two.messages].filter((m) => m.type === 'error' && m.id !== 's21')).toEqual([]);
    // Completing one frees a slot; closing a socket frees all of its slots.
    one.send({ id: 's1', type: 'complete' });
    await waitFor(() => d.server.app.ws.countedSubscriptions() === 19, { what: 'a freed slot' });
    two.subscribe('s22', SUB);
    await waitFor(() => d.server.app.ws.countedSubscriptions() === 20, { what: 's22 active' });
    one.close();
    await one.closed;
    await waitFor(() => d.server.app.ws.countedSubscriptions() === 6, { what: 'slots of the closed socket freed' });
    const three = await openRawWs(d.wsUrl);
    expect(await three.init()).toBe('ack');
    for (let i = 0; i < 14; i++) three.subscribe(`t${i}`, SUB);
    await waitFor(() => d.server.app.ws.countedSubscriptions() === 20, { what: '14 more' });
    expect([...two.messages, ...three.messages].filter((m) => m.type === 'error' && m.id !== 's21')).toEqual([]);
    two.close();
    three.close();
  });

  it('counts SSE subscriptions against the same per-identity cap', async () => {
    await waitFor(() => d.server.app.ws.countedSubscriptions() === 0, { what: "the previous test's sockets released" });
    const open = () =>
      fetch(`${d.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'text/event-stream' }, body: JSON.stringify({ query: SUB }) });
    const streams = await Promise.all(Array.from({ length: 19 }, open));
    expect(streams.map((r) => r.status)).toEqual(streams.map(() => 200));
    const ws = await openRawWs(d.wsUrl);
    expect(await ws.init()).toBe('ack');
    ws.subscribe('w1', SUB);
    await waitFor(() => d.server.app.ws.countedSubscriptions() === 20, { what: '19 SSE and 1 WebSocket subscription' });

    const refused = await open();
    expect(refused.status).toBe(429);
    expect(((await refused.json()) as { errors: Array<{ extensions: { code: string } }> }).errors[0]?.extensions.code).toBe('RATE_LIMITED');

    // Closing a stream frees its slot.
    await streams[0]!.body!.cancel();
    await waitFor(() => d.server.app.ws.countedSubscriptions() === 19, { what: 'the closed stream freed' });
    const again = await open();
    expect(again.status).toBe(200);
    await Promise.all([again, ...streams.slice(1)].map((r) => r.body!.cancel()));
    ws.close();
    await waitFor(() => d.server.app.ws.countedSubscriptions() === 0, { what: 'every slot freed' });
  });

  it("counts an agent's SSE streams under its TBA, with its WebSocket subscriptions, not under the IP it shares", async () => {
    await waitFor(() => d.server.app.ws.countedSubscriptions() === 0, { what: "the previous test's slots released" });
    const owner = newWallet();
    const [tbaA, tbaB] = [newWallet(), newWallet()];
    for (const [i, tba] of [tbaA, tbaB].entries()) {
      d.sim.control.setTba(tba, { nftContract: '0x6666397dfe9a8c469bf65dc744cb1c733416c420', tokenId: String(60 + i), ownerWallet: owner, signature: `sig-${i}` });
    }
    const at = String(Math.floor(Date.now() / 1000));
    const agentA = { 'x-tba-address': tbaA, 'x-tba-signature': 'sig-0', 'x-tba-timestamp': at };
    const agentB = { 'x-tba-address': tbaB, 'x-tba-signature': 'sig-1', 'x-tba-timestamp': at };
    const open = (headers: Record<string, string>) =>
      fetch(`${d.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'text/event-stream', ...headers }, body: JSON.stringify({ query: SUB }) });

    const streams = await Promise.all(Array.from({ length: 19 }, () => open(agentA)));
    expect(streams.map((r) => r.status)).toEqual(streams.map(() => 200));
    const ws = await openRawWs(d.wsUrl);
    expect(await ws.init(agentA)).toBe('ack');
    ws.subscribe('w1', SUB);
    await waitFor(() => d.server.app.ws.countedSubscriptions() === 20, { what: "agent A's 19 SSE and 1 WebSocket subscription" });

    const refused = await open(agentA);
    // Another agent, and an anonymous caller, behind the same IP keep their own slots.
    const others = await Promise.all([open(agentB), open({})]);
    expect([refused, ...others].map((r) => r.status)).toEqual([429, 200, 200]);
    await Promise.all([...others, ...streams].map((r) => r.body!.cancel()));
    ws.close();
    await waitFor(() => d.server.app.ws.countedSubscriptions() === 0, { what: 'every slot freed' });
  });

  it('closes a socket that sends connection_init twice with 4429', async () => {
    const ws = await openRawWs(d.wsUrl);
    expect(await ws.init()).toBe('ack');
    ws.send({ type: 'connection_init' });
    expect((await ws.closed).code).toBe(4429);
  });
});

describe('WebSocket connections carrying agent credentials', () => {
  let d: TestDixie;
  beforeAll(async () => {
    d = await startDixie({ env: { DIXIE_RATE_LIMIT_RPM: '2' } });
  });
  afterAll(async () => d?.stop());

  it("spend the IP's budget before Finn is asked to verify them, as HTTP requests do", async () => {
    const verifications = () => d.sim.control.requests.filter((r) => r.route === 'verifyTba').length;
    const before = verifications();
    const codes: Array<number | 'ack'> = [];
    for (let i = 0; i < 3; i++) {
      const ws = await openRawWs(d.wsUrl);
      // A fresh signature each time: nothing cached could answer for Finn.
      codes.push(await ws.init({ 'x-tba-address': newWallet(), 'x-tba-signature': `sig-${i}`, 'x-tba-timestamp': String(Math.floor(Date.now() / 1000)) }));
    }
    expect(codes).toEqual([4403, 4403, 4429]);
    expect(verifications() - before).toBe(2);
  });
});

describe('mutations with several root fields', () => {
  let d: TestDixie;
  beforeAll(async () => {
    d = await startDixie({ env: { DIXIE_RATE_LIMIT_RPM: '4' } });
  });
  afterAll(async () => d?.stop());

  const nonces = (n: number) => `mutation { ${Array.from({ length: n }, (_, i) => `n${i}: createSiweNonce { nonce }`).join(' ')} }`;

  it('spend one unit of the budget per root field, aliases included', async () => {
    // One request, four fields: the whole budget of 4.
    const four = await d.gql<Record<string, { nonce: string }>>(nonces(4));
    expect(four.body.errors).toBeUndefined();
    expect(Object.keys(four.body.data!)).toHaveLength(4);
    const next = await d.gql(nonces(1));
    expect(next.status).toBe(429);
    expect(next.body.errors?.[0]?.extensions?.code).toBe('RATE_LIMITED');
  });

  it('refuses a mutation whose fields exceed what is left, with RATE_LIMITED and retryAfter, and runs none of them', async () => {
    const other = await startDixie({ sim: d.sim, env: { DIXIE_RATE_LIMIT_RPM: '4' } });
    try {
      const res = await other.gql(nonces(6));
      expect(res.status).toBe(429);
      expect(res.body.data ?? null).toBeNull();
      expect(res.body.errors).toEqual([expect.objectContaining({ extensions: expect.objectContaining({ code: 'RATE_LIMITED', retryAfter: expect.any(Number) }) })]);
    } finally {
      await other.stop();
    }
  });
});
