import { createHmac } from 'node:crypto';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { UpgradeRejected, openFinnSocket, type FinnSocket } from '../finn-sim/client.js';
import { SECRET_SYSTEM_PROMPT, startFinnSim, type FinnSim } from '../finn-sim/index.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const WALLET = '0xAbCdEf0123456789aBcDeF0123456789AbCdEf01';

let sim: FinnSim;
const sockets: FinnSocket[] = [];

beforeAll(async () => {
  sim = await startFinnSim();
});

afterEach(async () => {
  await Promise.all(sockets.splice(0).map((socket) => socket.close()));
  await sim.control.waitForOpenSockets(0);
  sim.control.reset();
});

afterAll(async () => {
  await sim.close();
});

function api(path: string, init: RequestInit = {}): Promise<Response> {
  return fetch(`${sim.url}${path}`, init);
}

function postJson(path: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return api(path, { method: 'POST', headers: { 'Content-Type': 'application/json', ...headers }, body: JSON.stringify(body) });
}

async function createSession(): Promise<string> {
  const res = await postJson('/api/sessions', {});
  const body = (await res.json()) as { sessionId: string };
  return body.sessionId;
}

function connect(sessionId: string, headers: Record<string, string> = {}, target: FinnSim = sim, query = ''): FinnSocket {
  const socket = openFinnSocket(`${target.wsUrl}/ws/${sessionId}${query}`, headers);
  sockets.push(socket);
  return socket;
}

async function expectPlain404(res: Response): Promise<void> {
  expect(res.status).toBe(404);
  expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
  expect(await res.text()).toBe('Not Found');
}

async function rejectedStatus(socket: FinnSocket): Promise<number> {
  const err: unknown = await socket.opened.then(() => null, (e: unknown) => e);
  expect(err).toBeInstanceOf(UpgradeRejected);
  return (err as UpgradeRejected).status;
}

describe('A.1 health', () => {
  it('serves /health and /healthz in Finn shape, without a version field', async () => {
    await createSession();
    const res = await api('/health');
    expect(res.status).toBe(200);
    const body = (await res.json()) as Record<string, unknown>;
    expect(body).toMatchObject({
      status: 'healthy',
      checks: { agent: { status: 'ok', model: expect.any(String) }, sessions: { active: 1 } },
      protocol: { contract_version: '8.3.0', finn_min_supported: '7.0.0' },
    });
    expect(typeof body.uptime).toBe('number');
    expect(body).not.toHaveProperty('version');
    const healthz = await api('/healthz');
    expect(await healthz.json()).toEqual({ status: 'ok', uptime: expect.any(Number) });
  });

  it('answers /health as told by setHealthAnswer until cleared or reset', async () => {
    sim.control.setHealthAnswer({ body: '{"ok":true}' });
    const custom = await api('/health');
    expect([custom.status, await custom.text()]).toEqual([200, '{"ok":true}']);
    sim.control.setHealthAnswer({ status: 204 });
    const empty = await api('/health');
    expect([empty.status, await empty.text()]).toEqual([204, '']);
    sim.control.setHealthAnswer(null);
    expect(await (await api('/health')).json()).toMatchObject({ status: 'healthy' });
    sim.control.setHealthAnswer({ status: 503, body: 'down' });
    sim.control.reset();
    expect(await (await api('/health')).json()).toMatchObject({ status: 'healthy' });
  });
});

describe('A.2 sessions', () => {
  it('creates, lists and reads sessions; the state holds the secret system prompt', async () => {
    const res = await postJson('/api/sessions', { prompt: 'ignored' });
    expect(res.status).toBe(201);
    const created = (await res.json()) as { sessionId: string; created: string; wsUrl: string };
    expect(created.sessionId).toMatch(UUID);
    expect(new Date(created.created).toISOString()).toBe(created.created);
    expect(created.wsUrl).toBe(`ws://${new URL(sim.url).host}/ws/${created.sessionId}`);

    const list = (await (await api('/api/sessions')).json()) as { sessions: Array<Record<string, unknown>> };
    expect(list.sessions).toEqual([{ id: created.sessionId, created: expect.any(Number), lastActivity: expect.any(Number) }]);

    const info = (await (await api(`/api/sessions/${created.sessionId}`)).json()) as Record<string, unknown>;
    expect(info).toMatchObject({ id: created.sessionId, isStreaming: false, messageCount: 0 });
    expect(info.state).toMatchObject({ systemPrompt: SECRET_SYSTEM_PROMPT, tools: [expect.objectContaining({ name: 'knowledge_search' })] });
    expect(SECRET_SYSTEM_PROMPT).toMatch(/^SECRET SYSTEM PROMPT/);
  });

  it('runs a synchronous message and returns text and tool calls', async () => {
    const id = await createSession();
    const res = await postJson(`/api/sessions/${id}/message`, { text: 'hello oracle' });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      response: 'Echo: hello oracle',
      toolCalls: [{ name: 'knowledge_search', args: { query: 'hello oracle' }, result: expect.any(String) }],
    });
    const info = (await (await api(`/api/sessions/${id}`)).json()) as { messageCount: number };
    expect(info.messageCount).toBe(2);
  });

  it('validates the message call: 404 before 400, malformed JSON is 400 INVALID_REQUEST', async () => {
    const missing = await postJson('/api/sessions/no-such-session/message', { text: 'x' });
    expect(missing.status).toBe(404);
    expect(await missing.json()).toEqual({ error: 'Session not found', code: 'SESSION_NOT_FOUND' });
    const id = await createSession();
    for (const body of [{}, { text: '   ' }, { text: 3 }]) {
      const res = await postJson(`/api/sessions/${id}/message`, body);
      expect(res.status).toBe(400);
      expect(await res.json()).toMatchObject({ code: 'INVALID_REQUEST' });
    }
    const bad = await api(`/api/sessions/${id}/message`, { method: 'POST', body: '{nope' });
    expect(bad.status).toBe(400);
  });

  it('answers 404 SESSION_NOT_FOUND for an evicted session', async () => {
    const id = await createSession();
    sim.control.evictSession(id);
    const res = await api(`/api/sessions/${id}`);
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({ error: 'Session not found', code: 'SESSION_NOT_FOUND' });
  });

  it('keeps at most 100 sessions, then 500 SESSION_CREATE_FAILED', async () => {
    const statuses = await Promise.all(Array.from({ length: 100 }, async () => (await postJson('/api/sessions', {})).status));
    expect(statuses.every((status) => status === 201)).toBe(true);
    const full = await postJson('/api/sessions', {});
    expect(full.status).toBe(500);
    expect(await full.json()).toEqual({ error: expect.any(String), code: 'SESSION_CREATE_FAILED' });
  });

  it('evicts a session idle for sessionIdleMs (Finn: 30 min), which frees its place under the cap', async () => {
    const small = await startFinnSim({ sessionIdleMs: 300, maxSessions: 2 });
    try {
      const create = () => fetch(`${small.url}/api/sessions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
      const ids = await Promise.all([create(), create()].map(async (r) => ((await (await r).json()) as { sessionId: string }).sessionId));
      expect((await create()).status).toBe(500);
      await new Promise((r) => setTimeout(r, 700));
      const again = await create();
      expect(again.status).toBe(201);
      for (const id of ids) expect((await fetch(`${small.url}/api/sessions/${id}`)).status).toBe(404);
      const fresh = ((await again.json()) as { sessionId: string }).sessionId;
      expect((await fetch(`${small.url}/api/sessions/${fresh}`)).status).toBe(200);
    } finally {
      await small.close();
    }
  });

  it('answers unknown routes and methods with a plain-text 404', async () => {
    await expectPlain404(await api('/nope'));
    await expectPlain404(await api('/api/nope'));
    await expectPlain404(await api('/api/sessions', { method: 'DELETE' }));
  });

  it('logs the forwarded headers Dixie sends', async () => {
    await api('/api/sessions', {
      headers: { 'X-Request-Id': 'req-123', 'X-Forwarded-For': '198.51.100.4', traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' },
    });
    const entry = sim.control.requests.find((r) => r.route === 'sessions.list');
    expect(entry).toMatchObject({ method: 'GET', path: '/api/sessions', status: 200, ip: '198.51.100.4' });
    expect(entry?.headers).toMatchObject({ 'x-request-id': 'req-123', 'x-forwarded-for': '198.51.100.4' });
    expect(entry?.headers.traceparent).toMatch(/^00-/);
  });
});

describe('token auth', () => {
  let secured: FinnSim;
  beforeAll(async () => { secured = await startFinnSim({ token: 'finn-token' }); });
  afterAll(async () => { await secured.close(); });

  it('requires the bearer token on /api but not on /health', async () => {
    const none = await fetch(`${secured.url}/api/sessions`);
    expect(none.status).toBe(401);
    expect(await none.json()).toEqual({ error: 'Unauthorized', code: 'AUTH_REQUIRED' });
    const wrong = await fetch(`${secured.url}/api/sessions`, { headers: { Authorization: 'Bearer nope' } });
    expect(await wrong.json()).toEqual({ error: 'Unauthorized', code: 'AUTH_INVALID' });
    const unknown = await fetch(`${secured.url}/api/unknown`);
    expect(unknown.status).toBe(401);
    const ok = await fetch(`${secured.url}/api/sessions`, { method: 'POST', headers: { Authorization: 'Bearer finn-token' } });
    expect(ok.status).toBe(201);
    expect((await fetch(`${secured.url}/health`)).status).toBe(200);
    expect(secured.control.requests.at(-2)?.headers.authorization).toBe('Bearer finn-token');
  });

  it('rejects a WebSocket upgrade without ?token= with 401', async () => {
    const res = await fetch(`${secured.url}/api/sessions`, { method: 'POST', headers: { Authorization: 'Bearer finn-token' } });
    const { sessionId } = (await res.json()) as { sessionId: string };
    expect(await rejectedStatus(connect(sessionId, {}, secured))).toBe(401);
    expect(await rejectedStatus(connect(sessionId, {}, secured, '?token=wrong'))).toBe(401);
    const ok = connect(sessionId, {}, secured, '?token=finn-token');
    await ok.opened;
    ok.send({ type: 'ping' });
    expect(await ok.until('pong')).toEqual([{ type: 'pong' }]);
  });
});

describe('A.3 WebSocket stream', () => {
  it('streams a prompt as deltas, a tool pair, turn_end and agent_end', async () => {
    const id = await createSession();
    const socket = connect(id, { 'X-Forwarded-For': '203.0.113.9, 10.0.0.1', 'X-Request-Id': 'ws-req-1' });
    await socket.opened;
    socket.send({ type: 'prompt', text: 'what is a honey jar?' });
    const frames = await socket.until('agent_end');
    expect(frames.map((f) => f.type)).toEqual(['text_delta', 'text_delta', 'text_delta', 'tool_start', 'tool_end', 'turn_end', 'agent_end']);
    expect(frames.slice(0, 3).map((f) => f.data?.delta).join('')).toBe('Echo: what is a honey jar?');
    expect(frames[3]?.data).toEqual({ toolName: 'knowledge_search', args: { query: 'what is a honey jar?' } });
    expect(frames[4]?.data).toEqual({ toolName: 'knowledge_search', result: expect.any(String), isError: false });
    expect(frames[5]?.data).toEqual({ cost_cu: '1', balance_cu: '999' });
    expect(frames[6]).toEqual({ type: 'agent_end', data: {} });
    const log = sim.control.wsConnections.at(-1);
    expect(log).toMatchObject({ sessionId: id, ip: '203.0.113.9', received: [{ type: 'prompt', text: 'what is a honey jar?' }] });
    expect(log?.headers['x-request-id']).toBe('ws-req-1');
  });

  it('follows setStream: delta count and no tools', async () => {
    sim.control.setStream({ deltas: 5, tools: false, delayMs: 1 });
    const socket = connect(await createSession());
    await socket.opened;
    socket.send({ type: 'prompt', text: 'abcdefgh' });
    const types = (await socket.until('agent_end')).map((f) => f.type);
    expect(types).toEqual(['text_delta', 'text_delta', 'text_delta', 'text_delta', 'text_delta', 'turn_end', 'agent_end']);
  });

  it('answers ping with a bare pong and junk with a recoverable error frame', async () => {
    const socket = connect(await createSession());
    await socket.opened;
    socket.send({ type: 'ping' });
    expect(await socket.until('pong')).toEqual([{ type: 'pong' }]);
    socket.send('not json');
    socket.send({ type: 'dance' });
    socket.send({ type: 'steer', text: 'be brief' });
    await expect.poll(() => socket.frames.length).toBe(3);
    expect(socket.frames.slice(1)).toEqual([
      { type: 'error', data: { message: expect.any(String), recoverable: true } },
      { type: 'error', data: { message: expect.stringContaining('dance'), recoverable: true } },
    ]);
  });

  it('stops a run on abort with agent_end and no turn_end', async () => {
    sim.control.setStream({ deltas: 10, delayMs: 30 });
    const socket = connect(await createSession());
    await socket.opened;
    socket.send({ type: 'prompt', text: 'a long answer please' });
    await socket.until('text_delta');
    socket.send({ type: 'abort' });
    const types = (await socket.until('agent_end')).map((f) => f.type);
    expect(types.at(-1)).toBe('agent_end');
    expect(types).not.toContain('turn_end');
    expect(types.filter((t) => t === 'text_delta').length).toBeLessThan(10);
  });

  it('closes 4004 for an unknown session after an error frame', async () => {
    const socket = connect('not-a-session');
    const closed = await socket.closed;
    expect(closed.code).toBe(4004);
    expect(socket.frames).toEqual([{ type: 'error', data: { message: 'Session not found', recoverable: false } }]);
  });

  it('closes frames over 1 MiB with 1009', async () => {
    const socket = connect(await createSession());
    await socket.opened;
    socket.send({ type: 'prompt', text: 'x'.repeat(1024 * 1024 + 10) });
    expect((await socket.closed).code).toBe(1009);
  });

  it('closes an idle socket with 1000 after the configured idle time', async () => {
    const idle = await startFinnSim({ idleTimeoutMs: 100 });
    try {
      const { sessionId } = (await (await fetch(`${idle.url}/api/sessions`, { method: 'POST' })).json()) as { sessionId: string };
      const socket = connect(sessionId, {}, idle);
      const started = Date.now();
      expect((await socket.closed).code).toBe(1000);
      expect(Date.now() - started).toBeGreaterThanOrEqual(90);
    } finally {
      await idle.close();
    }
  });
});

describe('A.4 per-IP WebSocket cap', () => {
  it('closes the 6th connection from one X-Forwarded-For IP with 4029; other IPs have their own budget', async () => {
    const id = await createSession();
    const first = Array.from({ length: 5 }, () => connect(id, { 'X-Forwarded-For': '203.0.113.7' }));
    await Promise.all(first.map((s) => s.opened));
    const sixth = connect(id, { 'X-Forwarded-For': '203.0.113.7, 10.0.0.2' });
    expect((await sixth.closed).code).toBe(4029);
    const other = connect(id, { 'X-Forwarded-For': '203.0.113.8' });
    await other.opened;
    other.send({ type: 'ping' });
    await other.until('pong');
    expect(sim.control.openSockets()).toBe(6);
    expect(sim.control.counter('ws.limited')).toBe(1);

    await first[0]?.close();
    const again = connect(id, { 'X-Forwarded-For': '203.0.113.7' });
    await again.opened;
    again.send({ type: 'ping' });
    await again.until('pong');
  });

  it('prefers CF-Connecting-IP and honours setWsLimitPerIp', async () => {
    sim.control.setWsLimitPerIp(1);
    const id = await createSession();
    const a = connect(id, { 'CF-Connecting-IP': '192.0.2.1', 'X-Forwarded-For': '203.0.113.1' });
    await a.opened;
    const b = connect(id, { 'CF-Connecting-IP': '192.0.2.1', 'X-Forwarded-For': '203.0.113.2' });
    expect((await b.closed).code).toBe(4029);
    expect(sim.control.wsConnections.map((c) => c.ip)).toEqual(['192.0.2.1', '192.0.2.1']);
  });
});

describe('B ecosystem endpoints', () => {
  it('serves knowledge metadata and the oracle identity', async () => {
    const meta = (await (await api('/api/knowledge/metadata')).json()) as { domains: unknown[]; totalDocuments: number };
    expect(meta.totalDocuments).toBe(42);
    expect(meta.domains[0]).toEqual({ name: expect.any(String), documentCount: expect.any(Number), lastUpdated: expect.any(String) });
    sim.control.setKnowledge({ domains: [{ name: 'only', documentCount: 7, lastUpdated: '2026-01-01T00:00:00.000Z' }] });
    expect(await (await api('/api/knowledge/metadata')).json()).toMatchObject({ totalDocuments: 7 });
    const oracle = await (await api('/api/identity/oracle')).json();
    expect(oracle).toEqual({ nftId: 'oracle', name: 'The Oracle', damp96_summary: expect.any(Object), beauvoir_hash: expect.any(String) });
  });

  it('serves NFTs per wallet, matching the wallet case-insensitively', async () => {
    expect(await (await api(`/api/identity/wallet/${WALLET}/nfts`)).json()).toEqual({ nfts: [] });
    sim.control.setNfts(WALLET, [{ nftId: 'mibera:42' }]);
    const res = await api(`/api/identity/wallet/${encodeURIComponent(WALLET.toLowerCase())}/nfts`);
    expect(await res.json()).toEqual({
      nfts: [{ nftId: 'mibera:42', contractAddress: expect.stringMatching(/^0x/), tokenId: '42', ownerWallet: WALLET, delegatedWallets: [] }],
    });
    const invalid = await api('/api/identity/wallet/not-a-wallet/nfts');
    expect(invalid.status).toBe(400);
    expect(await invalid.json()).toMatchObject({ code: 'INVALID_REQUEST' });
  });

  it('serves beauvoir and evolution per nftId', async () => {
    const oracle = (await (await api('/api/identity/oracle/beauvoir')).json()) as Record<string, unknown>;
    expect(Object.keys(oracle).sort()).toEqual(['antiNarration', 'damp96Summary', 'lastEvolved', 'name', 'nftId', 'traits', 'version']);
    const missing = await api('/api/identity/nobody/beauvoir');
    expect(missing.status).toBe(404);
    expect(missing.headers.get('content-type')).toMatch(/^application\/json/);
    sim.control.setBeauvoir('mibera:1', { name: 'Mibera One', traits: ['bold'] });
    expect(await (await api('/api/identity/mibera:1/beauvoir')).json()).toMatchObject({ nftId: 'mibera:1', name: 'Mibera One', traits: ['bold'] });
    expect(await (await api('/api/identity/mibera:1/evolution')).json()).toEqual([]);
    const evolution = (await (await api('/api/identity/oracle/evolution')).json()) as unknown[];
    expect(evolution[0]).toEqual({ version: expect.any(Number), timestamp: expect.any(String), changes: expect.any(Array), trigger: expect.any(String) });
    expect((await api('/api/identity/bad%20id/evolution')).status).toBe(400);
  });

  it('serves staking, 0 for unknown wallets', async () => {
    expect(await (await api(`/api/conviction/${WALLET}/staking`)).json()).toEqual({ wallet: WALLET, bgtStaked: 0 });
    sim.control.setStaking(WALLET.toLowerCase(), 12_500, '2026-01-02T00:00:00.000Z');
    expect(await (await api(`/api/conviction/${WALLET}/staking`)).json()).toEqual({
      wallet: WALLET, bgtStaked: 12_500, stakedSince: '2026-01-02T00:00:00.000Z',
    });
  });

  it('registers and deletes crons, validating the body', async () => {
    const body = { scheduleId: 'sched-1', nftId: 'oracle', cron: '*/5 * * * *', callbackUrl: 'http://127.0.0.1:9/api/schedule/callback', prompt: 'hi' };
    const res = await postJson('/api/cron/register', body);
    expect(res.status).toBe(201);
    const { cronId } = (await res.json()) as { cronId: string };
    expect(sim.control.crons.get(cronId)).toMatchObject({ scheduleId: 'sched-1', deleted: false });
    for (const bad of [{ ...body, callbackUrl: 'not a url' }, { ...body, cron: 'every day' }, { ...body, nftId: 'a/b' }, {}]) {
      const rejected = await postJson('/api/cron/register', bad);
      expect(rejected.status).toBe(400);
      expect(await rejected.json()).toMatchObject({ code: 'INVALID_REQUEST' });
    }
    const malformed = await api('/api/cron/register', { method: 'POST', body: '{' });
    expect(await malformed.json()).toEqual({ error: expect.any(String), code: 'INVALID_REQUEST' });
    expect((await api(`/api/cron/${cronId}`, { method: 'DELETE' })).status).toBe(200);
    expect((await api(`/api/cron/${cronId}`, { method: 'DELETE' })).status).toBe(404);
  });

  it('verifies known TBAs and rejects unknown ones with 401 TBA_INVALID', async () => {
    const tba = '0x1111111111111111111111111111111111111111';
    sim.control.setTba(tba, { nftContract: '0x2222222222222222222222222222222222222222', tokenId: '7', ownerWallet: WALLET });
    const ok = await postJson('/api/auth/verify-tba', { tbaAddress: tba.toUpperCase().replace('0X', '0x'), signature: '0xsig', message: 'hello' });
    expect(ok.status).toBe(200);
    expect(await ok.json()).toEqual({
      tbaAddress: expect.any(String), nftContract: '0x2222222222222222222222222222222222222222', tokenId: '7', ownerWallet: WALLET, verifiedAt: expect.any(String),
    });
    const unknown = await postJson('/api/auth/verify-tba', { tbaAddress: `0x${'3'.repeat(40)}`, signature: '0xsig', message: 'hello' });
    expect(unknown.status).toBe(401);
    expect(await unknown.json()).toEqual({ error: expect.any(String), code: 'TBA_INVALID' });
    expect((await postJson('/api/auth/verify-tba', { tbaAddress: tba })).status).toBe(400);
  });
});

describe('faults', () => {
  it('adds latency to one endpoint', async () => {
    sim.control.setLatency(150, 'health');
    const started = Date.now();
    expect((await api('/health')).status).toBe(200);
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
    const quick = Date.now();
    await api('/healthz');
    expect(Date.now() - quick).toBeLessThan(140);
  });

  it('fails a path with a 5xx in Finn JSON shape, then clears', async () => {
    sim.control.failWith(503, 'knowledge');
    const res = await api('/api/knowledge/metadata');
    expect(res.status).toBe(503);
    expect(Object.keys((await res.json()) as object).sort()).toEqual(['code', 'error']);
    expect((await api('/api/identity/oracle')).status).toBe(200);
    sim.control.failWith(null, 'knowledge');
    expect((await api('/api/knowledge/metadata')).status).toBe(200);
    expect(sim.control.requests.find((r) => r.status === 503)?.fault).toBe('failWith');
  });

  it('applies an error rate', async () => {
    sim.control.setErrorRate(1, 502);
    expect((await api('/healthz')).status).toBe(502);
    sim.control.setErrorRate(0);
    expect((await api('/healthz')).status).toBe(200);
  });

  it('hangs until the client times out, and releases parked requests when cleared', async () => {
    sim.control.hang('oracle');
    const err: unknown = await api('/api/identity/oracle', { signal: AbortSignal.timeout(200) }).catch((e: unknown) => e);
    expect((err as Error).name).toBe('TimeoutError');
    const parked = api('/api/identity/oracle');
    await sim.control.waitForRequest((r) => r.route === 'oracle');
    sim.control.hang('oracle', false);
    expect((await parked).status).toBe(200);
  });

  it('refuses connections while the control API stays reachable', async () => {
    sim.control.refuseConnections(true);
    // The first call may fail on a pooled socket the simulator just destroyed; the second needs a new connection.
    await expect(api('/health')).rejects.toThrow();
    await expect(api('/health')).rejects.toThrow();
    expect(sim.control.counter('fault.refused')).toBeGreaterThan(0);
    const stats = await api('/__sim/stats');
    expect(stats.status).toBe(200);
    await postJson('/__sim/faults', { refuseConnections: false });
    expect((await api('/health')).status).toBe(200);
  });

  it('drops a stream after n frames (abnormal close)', async () => {
    sim.control.dropStreamAfter(2);
    const socket = connect(await createSession());
    await socket.opened;
    socket.send({ type: 'prompt', text: 'drop me' });
    expect((await socket.closed).code).toBe(1006);
    expect(socket.frames.map((f) => f.type)).toEqual(['text_delta', 'text_delta']);
  });

  it('sends an error frame mid-run and fails the synchronous call softly', async () => {
    sim.control.sendErrorFrame(1);
    const id = await createSession();
    const socket = connect(id);
    await socket.opened;
    socket.send({ type: 'prompt', text: 'fail me' });
    const frames = await socket.until('error');
    expect(frames).toEqual([
      { type: 'text_delta', data: { delta: expect.any(String) } },
      { type: 'error', data: { message: expect.any(String), recoverable: false } },
    ]);
    const sync = await postJson(`/api/sessions/${id}/message`, { text: 'again' });
    expect(await sync.json()).toEqual({ response: '', toolCalls: [] });
  });

  it('ignores pings', async () => {
    sim.control.ignorePings(true);
    const socket = connect(await createSession());
    await socket.opened;
    socket.send({ type: 'ping' });
    await expect(socket.until('pong', 150)).rejects.toThrow(/no pong/);
  });

  it('makes endpoints absent (plain-text 404), by name, group or path', async () => {
    sim.control.absent('ecosystem');
    await expectPlain404(await api('/api/knowledge/metadata'));
    await expectPlain404(await api(`/api/conviction/${WALLET}/staking`));
    expect((await postJson('/api/sessions', {})).status).toBe(201);
    sim.control.absent('ecosystem', false);
    await postJson('/__sim/faults', { absent: '/api/identity/oracle' });
    await expectPlain404(await api('/api/identity/oracle'));
    expect((await api('/api/knowledge/metadata')).status).toBe(200);
  });

  it('applies faults to the WebSocket upgrade', async () => {
    const id = await createSession();
    sim.control.failWith(503, 'ws');
    expect(await rejectedStatus(connect(id))).toBe(503);
    sim.control.clearFaults();
    sim.control.absent('ws');
    expect(await rejectedStatus(connect(id))).toBe(404);
  });
});

describe('C cron callback', () => {
  it('fires a registered cron with a lowercase hex HMAC of <scheduleId>:<timestamp>', async () => {
    const received: Array<{ headers: IncomingHttpHeaders; body: string; url: string }> = [];
    const receiver = createServer((req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => { body += chunk.toString('utf8'); });
      req.on('end', () => {
        received.push({ headers: req.headers, body, url: req.url ?? '' });
        res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({ status: 'success' }));
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = receiver.address() as AddressInfo;
      const callbackUrl = `http://127.0.0.1:${port}/api/schedule/callback`;
      const reg = await postJson('/api/cron/register', { scheduleId: 'sched-1', nftId: 'oracle', cron: '0 * * * *', callbackUrl, prompt: 'tick' });
      const { cronId } = (await reg.json()) as { cronId: string };

      const firing = await sim.control.fireCron(cronId, { messageId: 'msg-1' });
      expect(firing).toMatchObject({ status: 200, body: { status: 'success' } });
      const call = received[0];
      const timestamp = String(call?.headers['x-callback-timestamp']);
      expect(Math.abs(Number(timestamp) - Date.now() / 1000)).toBeLessThan(5);
      const expected = createHmac('sha256', 'test-secret').update(`sched-1:${timestamp}`).digest('hex');
      expect(call?.headers['x-callback-signature']).toBe(expected);
      expect(expected).toMatch(/^[0-9a-f]{64}$/);
      expect(call?.url).toBe('/api/schedule/callback');
      expect(JSON.parse(call?.body ?? '')).toEqual({ scheduleId: 'sched-1', messageId: 'msg-1' });

      sim.control.setCallbackSecret('other-secret');
      const viaHttp = await postJson(`/__sim/cron/${cronId}/fire`, { timestamp: 1_700_000_000 });
      expect(viaHttp.status).toBe(200);
      expect(received[1]?.headers['x-callback-signature']).toBe(createHmac('sha256', 'other-secret').update('sched-1:1700000000').digest('hex'));
      expect(sim.control.cronFirings).toHaveLength(2);
    } finally {
      await new Promise<void>((resolve) => receiver.close(() => resolve()));
    }
  });
});

describe('control API', () => {
  it('reports stats, sets fixtures and resets over HTTP', async () => {
    const fixtures = await postJson('/__sim/fixtures', { staking: { [WALLET]: 99 }, nfts: { [WALLET]: [{ nftId: 'n1' }] } });
    expect(fixtures.status).toBe(200);
    expect(await (await api(`/api/conviction/${WALLET}/staking`)).json()).toEqual({ wallet: WALLET, bgtStaked: 99 });
    const stats = (await (await api('/__sim/stats')).json()) as { counters: Record<string, number>; openSockets: number };
    expect(stats.counters['http.staking']).toBe(1);
    expect(stats.openSockets).toBe(0);
    expect((await postJson('/__sim/faults', { latency: 'soon' })).status).toBe(400);
    await expectPlain404(await api('/__sim/nope'));
    await postJson('/__sim/reset', {});
    expect(await (await api(`/api/conviction/${WALLET}/staking`)).json()).toEqual({ wallet: WALLET, bgtStaked: 0 });
  });
});

describe('close()', () => {
  it('closes every socket and parked request and leaves no timers or servers', async () => {
    const before = process.getActiveResourcesInfo();
    const count = (list: string[], kind: string): number => list.filter((r) => r === kind).length;
    const local = await startFinnSim({ idleTimeoutMs: 60_000 });
    const { sessionId } = (await (await fetch(`${local.url}/api/sessions`, { method: 'POST' })).json()) as { sessionId: string };
    local.control.setStream({ delayMs: 10_000 });
    const socket = openFinnSocket(`${local.wsUrl}/ws/${sessionId}`);
    await socket.opened;
    socket.send({ type: 'prompt', text: 'slow' });
    local.control.hang('healthz');
    const parked = fetch(`${local.url}/healthz`).then(() => 'answered', () => 'failed');
    await local.control.waitForRequest((r) => r.route === 'healthz');
    expect(local.control.openSockets()).toBe(1);

    await local.close();
    expect(local.control.openSockets()).toBe(0);
    expect((await socket.closed).code).toBe(1006);
    expect(await parked).toBe('failed');
    await expect(fetch(`${local.url}/health`)).rejects.toThrow();
    await new Promise((resolve) => setImmediate(resolve));
    const after = process.getActiveResourcesInfo();
    expect(count(after, 'Timeout')).toBeLessThanOrEqual(count(before, 'Timeout'));
    expect(count(after, 'TCPServerWrap')).toBe(count(before, 'TCPServerWrap'));
  });
});
