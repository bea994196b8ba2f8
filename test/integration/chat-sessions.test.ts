import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newWallet, walletAuth, writeAllowlist } from '../helpers/auth.js';
import { chatOverSse, chatOverWs, wsClient } from '../helpers/chat.js';
import { startDixie, type TestDixie } from '../helpers/dixie.js';
import { createTestSchema, uniqueTag } from '../helpers/services.js';

const tag = uniqueTag('chat_sessions');
const owner = newWallet();
const other = newWallet();
let dir: string;
let allowlist: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dixie-sessions-'));
  allowlist = join(dir, 'allowlist.json');
  await writeAllowlist(allowlist, [owner, other]);
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const START = 'mutation($n: ID) { startChat(nftId: $n) { id nftId createdAt isStreaming messageCount } }';
const SEND = 'mutation($s: ID!, $t: String!) { sendMessage(sessionId: $s, text: $t) { text toolCalls { name args result } } }';
const GET = 'query($id: ID!) { chatSession(id: $id) { id nftId isStreaming messageCount } }';

describe('chat sessions in PostgreSQL', () => {
  let d: TestDixie;
  let schema: Awaited<ReturnType<typeof createTestSchema>>;

  beforeAll(async () => {
    schema = await createTestSchema(tag);
    d = await startDixie({ env: { DATABASE_URL: schema.url, DIXIE_ALLOWLIST_PATH: allowlist } });
  });
  afterAll(async () => {
    await d?.stop();
    await schema?.drop();
  });

  it("carries the request's X-Request-Id and the client's IP to Finn on every call it makes (finn.md §General)", async () => {
    const auth = await walletAuth(owner);
    const started = await d.gql<{ startChat: { id: string } }>(START, { n: 'nft-7' }, { ...auth, 'x-request-id': 'req-sessions-1' });
    const { id } = started.body.data!.startChat;
    await d.gql(SEND, { s: id, t: 'who asks' }, { ...auth, 'x-request-id': 'req-sessions-2' });
    const calls = d.sim.control.requests.filter((r) => r.route === 'sessions.create' || r.route === 'sessions.message');
    expect(calls.find((r) => r.route === 'sessions.create' && r.headers['x-request-id'] === 'req-sessions-1')?.headers['x-forwarded-for']).toBe('127.0.0.1');
    expect(calls.find((r) => r.route === 'sessions.message' && r.path.includes(id))?.headers).toMatchObject({
      'x-request-id': 'req-sessions-2',
      'x-forwarded-for': '127.0.0.1',
    });
  });

  it("answers UPSTREAM_ERROR, not the caller's BAD_USER_INPUT, when Finn issues a session id Dixie cannot use", async () => {
    d.sim.control.issueSessionId('../not/a/session');
    const res = await d.gql(START, { n: null }, await walletAuth(owner));
    expect(res.body.errors?.[0]?.extensions?.['code']).toBe('UPSTREAM_ERROR');
    expect(res.status).toBe(502);
  });

  it('refuses text PostgreSQL cannot store, and answers an impossible session id as not found', async () => {
    const auth = await walletAuth(owner);
    const { id } = (await d.gql<{ startChat: { id: string } }>(START, { n: null }, auth)).body.data!.startChat;
    for (const t of ['nul\u0000byte', 'lone \uD83D surrogate']) {
      const res = await d.gql(SEND, { s: id, t }, auth);
      expect(res.body.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'text' });
    }
    const odd = await d.gql(GET, { id: 'a\u0000b' }, auth);
    expect(odd.body.errors?.[0]?.extensions?.['code']).toBe('NOT_FOUND');
  });

  it('starts a session with an NFT personality, answers synchronously and shows only Finn counters', async () => {
    const auth = await walletAuth(owner);
    const started = await d.gql<{ startChat: { id: string; nftId: string; messageCount: number } }>(START, { n: 'nft-42' }, auth);
    expect(started.body.errors).toBeUndefined();
    const { id } = started.body.data!.startChat;
    expect(started.body.data!.startChat).toMatchObject({ nftId: 'nft-42', messageCount: 0 });
    expect(d.sim.control.sessions.get(id)?.tokenId).toBe('nft-42');
    const reply = await d.gql<{ sendMessage: { text: string; toolCalls: unknown[] } }>(SEND, { s: id, t: 'sync hello' }, auth);
    expect(reply.body.data!.sendMessage).toEqual({
      text: 'Echo: sync hello',
      toolCalls: [{ name: 'knowledge_search', args: { query: 'sync hello' }, result: 'Found 3 documents about "sync hello"' }],
    });
    const got = await d.gql<{ chatSession: Record<string, unknown> }>(GET, { id }, auth);
    expect(got.body.data!.chatSession).toEqual({ id, nftId: 'nft-42', isStreaming: false, messageCount: 2 });
    const list = await d.gql<{ chatSessions: Array<{ id: string }> }>('{ chatSessions { id } }', {}, auth);
    expect(list.body.data!.chatSessions[0]!.id).toBe(id);
  });

  it('asks Finn once per session per request, however many aliases read its counters', async () => {
    const auth = await walletAuth(owner);
    const ids = [];
    for (let i = 0; i < 3; i++) ids.push((await d.gql<{ startChat: { id: string } }>(START, { n: null }, auth)).body.data!.startChat.id);
    const aliases = Array.from({ length: 10 }, (_, i) => `a${i}: chatSessions(first: 3) { id isStreaming messageCount }`).join(' ');
    const before = d.sim.control.counter('http.sessions.get');
    const res = await d.gql<Record<string, Array<{ id: string }>>>(`{ ${aliases} }`, {}, auth);
    expect(res.body.errors).toBeUndefined();
    expect(res.body.data!['a9']!.map((s) => s.id).sort()).toEqual([...ids].sort());
    expect(d.sim.control.counter('http.sessions.get') - before).toBe(3);
  });

  it("never exposes Finn's raw session state", async () => {
    const res = await d.gql<{ __type: { fields: Array<{ name: string }> } }>('{ __type(name: "ChatSession") { fields { name } } }');
    expect(res.body.data!.__type.fields.map((f) => f.name).sort()).toEqual(['createdAt', 'id', 'isStreaming', 'messageCount', 'nftId']);
  });

  it('answers NOT_FOUND to anyone but the owner, and UNAUTHENTICATED to anonymous callers', async () => {
    const mine = await d.gql<{ startChat: { id: string } }>(START, {}, await walletAuth(owner));
    const id = mine.body.data!.startChat.id;
    const theirs = await walletAuth(other);
    const get = await d.gql(GET, { id }, theirs);
    expect(get.status).toBe(200);
    expect(get.body.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    expect((await d.gql(SEND, { s: id, t: 'x' }, theirs)).body.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    const list = await d.gql<{ chatSessions: Array<{ id: string }> }>('{ chatSessions { id } }', {}, theirs);
    expect(list.body.data!.chatSessions).toEqual([]);
    const anon = await d.gql(START, {});
    expect(anon.status).toBe(401);
    expect(anon.body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });

  it('reports an evicted session as idle and empty; rejects bad input', async () => {
    const auth = await walletAuth(owner);
    const id = (await d.gql<{ startChat: { id: string } }>(START, {}, auth)).body.data!.startChat.id;
    d.sim.control.evictSession(id);
    expect((await d.gql(GET, { id }, auth)).body.data).toEqual({ chatSession: { id, nftId: null, isStreaming: false, messageCount: 0 } });
    expect((await d.gql(START, { n: 'a/b' }, auth)).body.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'nftId' });
    expect((await d.gql(SEND, { s: id, t: '  ' }, auth)).body.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'text' });
  });
});

describe('without a database, and with the Finn circuit open', () => {
  let d: TestDixie;

  beforeAll(async () => {
    d = await startDixie({
      env: { DIXIE_ALLOWLIST_PATH: allowlist, DIXIE_FINN_CIRCUIT_FAILURES: '2', DIXIE_FINN_CIRCUIT_RECOVERY_MS: '60000' },
    });
    d.sim.control.setStaking(owner, 1_000);
  });
  afterAll(async () => {
    await d?.stop();
  });

  it('keeps session ownership in process and disables knowledge votes', async () => {
    const auth = await walletAuth(owner);
    const id = (await d.gql<{ startChat: { id: string } }>(START, {}, auth)).body.data!.startChat.id;
    const list = await d.gql<{ chatSessions: Array<{ id: string }> }>('{ chatSessions { id } }', {}, auth);
    expect(list.body.data!.chatSessions.map((s) => s.id)).toEqual([id]);
    const vote = await d.gql('mutation { voteKnowledgePriority(sourceId: "s", priority: 3) { voteCount } }', {}, auth);
    expect(vote.body.errors?.[0]?.extensions?.code).toBe('FEATURE_DISABLED');
  });

  it('fails every Finn-backed operation fast with UPSTREAM_UNAVAILABLE, touching nothing upstream', async () => {
    const auth = await walletAuth(owner);
    const id = (await d.gql<{ startChat: { id: string } }>(START, {}, auth)).body.data!.startChat.id;
    d.sim.control.failWith(500, 'sessions.create');
    for (let i = 0; i < 2; i++) expect((await d.gql(START, {}, auth)).body.errors?.[0]?.extensions?.code).toBe('UPSTREAM_ERROR');
    expect(d.server.ds.finn.breaker.state()).toBe('OPEN');
    d.sim.control.clearFaults();
    const before = { requests: d.sim.control.requests.length, ws: d.sim.control.counter('ws.opened') };

    const query = await d.gql('mutation { agentQuery(input: { query: "q" }) { response } }', {}, auth);
    expect(query.status).toBe(503);
    expect(query.body.errors?.[0]?.extensions).toMatchObject({ code: 'UPSTREAM_UNAVAILABLE', retryAfter: expect.any(Number) });
    expect(query.headers.get('content-type')).toMatch(/json/);
    for (const op of [START, SEND]) {
      const res = await d.gql(op, { s: id, t: 'x' }, auth);
      expect(res.status).toBe(503);
      expect(res.body.errors?.[0]?.extensions?.code).toBe('UPSTREAM_UNAVAILABLE');
    }
    const c = wsClient(d.wsUrl, auth);
    const chat = await chatOverWs(c, { sessionId: id, text: 'x' });
    await c.dispose();
    expect(chat.events).toEqual([{ __typename: 'ChatError', code: 'UPSTREAM_UNAVAILABLE', message: expect.any(String), recoverable: true, retryAfter: expect.any(Number) }]);
    const sse = await chatOverSse(`${d.url}/graphql`, auth, { sessionId: id, text: 'x' });
    expect(sse.events).toEqual(chat.events.map((e) => ({ ...e, retryAfter: expect.any(Number) })));

    const upstream = d.sim.control.requests.slice(before.requests).filter((r) => !r.path.startsWith('/health'));
    expect(upstream).toEqual([]);
    expect(d.sim.control.counter('ws.opened')).toBe(before.ws);
  });
});

describe('behind a trusted proxy that does not know the client IP', () => {
  let d: TestDixie;

  beforeAll(async () => {
    d = await startDixie({ env: { DIXIE_ALLOWLIST_PATH: allowlist, DIXIE_TRUST_PROXY_HOPS: '1' } });
  });
  afterAll(async () => {
    await d?.stop();
  });

  it('sends Finn no X-Forwarded-For, on calls and on the stream upgrade (finn.md: the IP only when known)', async () => {
    // The proxy writes "unknown" (RFC 7239's token), the value Dixie also falls back to without a socket address.
    const unknownIp = { ...(await walletAuth(owner)), 'x-forwarded-for': 'unknown' };
    const started = await d.gql<{ startChat: { id: string } }>(START, {}, { ...unknownIp, 'x-request-id': 'req-no-ip' });
    const { id } = started.body.data!.startChat;
    const chat = await chatOverSse(`${d.url}/graphql`, unknownIp, { sessionId: id, text: 'who asks' });
    expect(chat.errors).toEqual([]);
    expect(chat.events.at(-1)?.__typename).toBe('ChatAgentEnd');

    const create = d.sim.control.requests.find((r) => r.route === 'sessions.create' && r.headers['x-request-id'] === 'req-no-ip');
    expect(create?.headers).not.toHaveProperty('x-forwarded-for');
    expect(create?.ip).toBe('127.0.0.1');
    const upgrades = d.sim.control.wsConnections.filter((c) => c.sessionId === id);
    expect(upgrades).toHaveLength(1);
    expect(upgrades[0]!.headers).not.toHaveProperty('x-forwarded-for');
    expect(upgrades[0]!.ip).toBe('127.0.0.1');

    // An address the proxy knows still goes to Finn.
    await d.gql(START, {}, { ...unknownIp, 'x-forwarded-for': '203.0.113.5', 'x-request-id': 'req-known-ip' });
    const known = d.sim.control.requests.find((r) => r.route === 'sessions.create' && r.headers['x-request-id'] === 'req-known-ip');
    expect(known?.headers['x-forwarded-for']).toBe('203.0.113.5');
  });
});
