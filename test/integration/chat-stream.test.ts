import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type NatsConnection } from 'nats';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { ChatActivity } from '../../src/datasources/finn/stream-manager.js';
import { newWallet, walletAuth, walletToken, writeAllowlist } from '../helpers/auth.js';
import { chatOverSse, chatOverWs, text, typenames, wsClient, type ChatEventJson } from '../helpers/chat.js';
import { startDixie, waitFor, type TestDixie } from '../helpers/dixie.js';
import { createTestSchema, NATS_URL, uniqueTag } from '../helpers/services.js';

const tag = uniqueTag('chat');
const alice = newWallet();
const bob = newWallet();
let d: TestDixie;
let dir: string;
let schema: Awaited<ReturnType<typeof createTestSchema>>;
let nc: NatsConnection;
const clients: Array<{ dispose(): void | Promise<void> }> = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dixie-chat-'));
  await writeAllowlist(join(dir, 'allowlist.json'), [alice, bob]);
  schema = await createTestSchema(tag);
  nc = await connect({ servers: NATS_URL });
  d = await startDixie({
    env: { DATABASE_URL: schema.url, NATS_URL, DIXIE_ALLOWLIST_PATH: join(dir, 'allowlist.json') },
    natsSubjectPrefix: `${tag}.`,
    chatStreams: { pingIntervalMs: 100, pongTimeoutMs: 200 },
  });
});

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.dispose()));
  await waitFor(() => d.server.ds.chatStreams.activeStreams() === 0, { what: 'no active streams' });
  await d.sim.control.waitForOpenSockets(0);
  d.sim.control.clearFaults();
  d.sim.control.setStream({ deltas: 3, delayMs: 5, tools: true });
  d.sim.control.setWsLimitPerIp(5);
});

afterAll(async () => {
  await d?.stop();
  await nc?.close();
  await schema?.drop();
  await rm(dir, { recursive: true, force: true });
});

async function startChat(wallet: string, nftId?: string): Promise<string> {
  const res = await d.gql<{ startChat: { id: string } }>('mutation($n: ID) { startChat(nftId: $n) { id nftId } }', { n: nftId }, await walletAuth(wallet));
  expect(res.body.errors).toBeUndefined();
  return res.body.data!.startChat.id;
}

async function client(wallet: string) {
  const c = wsClient(d.wsUrl, await walletAuth(wallet));
  clients.push(c);
  return c;
}

function expectFinnOrder(events: ChatEventJson[], prompt: string) {
  expect(typenames(events)).toEqual([
    'ChatModelSelection', 'ChatTextDelta', 'ChatTextDelta', 'ChatTextDelta', 'ChatToolStart', 'ChatToolEnd', 'ChatTurnEnd', 'ChatAgentEnd',
  ]);
  expect(text(events)).toBe(`Echo: ${prompt}`);
  expect(events[4]).toMatchObject({ toolName: 'knowledge_search', args: { query: prompt } });
  expect(events[5]).toMatchObject({ toolName: 'knowledge_search', result: `Found 3 documents about "${prompt}"`, isError: false });
  expect(events[6]).toMatchObject({ costCu: 1, balanceCu: expect.any(Number) });
  expect(events[7]).toMatchObject({ messageId: expect.any(String), usage: { costCu: 1 } });
}

describe('chat subscription', () => {
  it('streams an answer over graphql-ws in Finn order, through one socket carrying the user IP', async () => {
    const sessionId = await startChat(alice);
    const res = await chatOverWs(await client(alice), { sessionId, text: 'hello ws' });
    expect(res.errors).toEqual([]);
    expectFinnOrder(res.events, 'hello ws');
    expect(res.events[0]).toMatchObject({ pool: expect.stringMatching(/^pool_/), reason: expect.stringContaining('tier') });
    const conn = d.sim.control.wsConnections.filter((c) => c.sessionId === sessionId);
    expect(conn).toHaveLength(1);
    expect(conn[0]!.headers['x-forwarded-for']).toBe('127.0.0.1');
    expect(conn[0]!.headers['x-request-id']).toEqual(expect.any(String));
  });

  it('takes its arguments from the field, whatever the variables are called or when written inline', async () => {
    const sessionId = await startChat(alice);
    const c = await client(alice);
    const collect = (query: string, variables: Record<string, unknown>) =>
      new Promise<{ events: ChatEventJson[]; errors: unknown[] }>((resolve) => {
        const out: { events: ChatEventJson[]; errors: unknown[] } = { events: [], errors: [] };
        c.subscribe<{ chat: ChatEventJson }>({ query, variables }, {
          next: (r) => {
            if (r.errors) out.errors.push(...r.errors);
            if (r.data?.chat) out.events.push(r.data.chat);
          },
          error: (err) => resolve({ ...out, errors: [...out.errors, err] }),
          complete: () => resolve(out),
        });
      });
    const renamed = await collect('subscription($s: ID!, $t: String!) { chat(sessionId: $s, text: $t) { __typename ... on ChatTextDelta { delta } } }', { s: sessionId, t: 'renamed vars' });
    expect(renamed.errors).toEqual([]);
    expect(text(renamed.events)).toBe('Echo: renamed vars');
    const inline = await collect(`subscription { chat(sessionId: "${sessionId}", text: "inline args") { __typename ... on ChatTextDelta { delta } } }`, {});
    expect(inline.errors).toEqual([]);
    expect(text(inline.events)).toBe('Echo: inline args');
  });

  it('streams an answer over SSE', async () => {
    const sessionId = await startChat(alice);
    const res = await chatOverSse(`${d.url}/graphql`, await walletAuth(alice), { sessionId, text: 'hello sse' });
    expect(res.status).toBe(200);
    expect(res.errors).toEqual([]);
    expectFinnOrder(res.events, 'hello sse');
  });

  it('keeps two users apart: events, session lists and foreign sessions', async () => {
    d.sim.control.setStream({ delayMs: 20 });
    const [a, b] = [await startChat(alice), await startChat(bob)];
    const [ra, rb] = await Promise.all([
      chatOverWs(await client(alice), { sessionId: a, text: 'from alice' }),
      chatOverSse(`${d.url}/graphql`, await walletAuth(bob), { sessionId: b, text: 'from bob' }),
    ]);
    expect(text(ra.events)).toBe('Echo: from alice');
    expect(text(rb.events)).toBe('Echo: from bob');
    const list = await d.gql<{ chatSessions: Array<{ id: string }> }>('{ chatSessions { id } }', {}, await walletAuth(bob));
    expect(list.body.data!.chatSessions.map((s) => s.id)).toContain(b);
    expect(list.body.data!.chatSessions.map((s) => s.id)).not.toContain(a);
    const foreign = await chatOverWs(await client(bob), { sessionId: a, text: 'sneak' });
    expect(foreign.events).toEqual([]);
    expect(foreign.errors[0]?.extensions?.code).toBe('NOT_FOUND');
  });

  it('serialises two subscribers of one session over one shared Finn socket', async () => {
    const sessionId = await startChat(alice);
    const opened = d.sim.control.counter('ws.opened');
    const c = await client(alice);
    const [r1, r2] = await Promise.all([chatOverWs(c, { sessionId, text: 'first' }), chatOverWs(c, { sessionId, text: 'second' })]);
    expect(text(r1.events)).toBe('Echo: first');
    expect(text(r2.events)).toBe('Echo: second');
    expect(d.sim.control.counter('ws.opened') - opened).toBe(1);
  });

  it("keeps a run Finn continues after a recoverable error out of the next subscriber's turn", async () => {
    const sessionId = await startChat(alice);
    // The first run reports a recoverable error after one frame and goes on; the second run is clean.
    d.sim.control.sendErrorFrame(1, { recoverable: true, continues: true });
    const off = d.server.ds.chatStreams.onEvent((a) => {
      if (a.kind === 'event' && a.event.type === 'error') d.sim.control.sendErrorFrame(null);
    });
    try {
      const aborted = d.sim.control.counter('run.aborted');
      const c = await client(alice);
      const prompts = ['first', 'second'];
      const results = await Promise.all(prompts.map((t) => chatOverWs(c, { sessionId, text: t })));
      // Whichever prompt reached Finn first met the error; the other ran after it.
      const hit = results.findIndex((r) => r.events.at(-1)?.__typename === 'ChatError');
      expect(hit).toBeGreaterThanOrEqual(0);
      const [errored, clean] = [results[hit]!, results[1 - hit]!];
      expect(errored.events.at(-1)).toMatchObject({ code: 'UPSTREAM_ERROR', recoverable: true });
      expect(errored.events.filter((e) => e.__typename === 'ChatError')).toHaveLength(1);
      // The other subscriber sees its own answer only, none of the first run's frames.
      expect(clean.errors).toEqual([]);
      expect(typenames(clean.events).filter((t) => t === 'ChatError')).toEqual([]);
      expect(text(clean.events)).toBe(`Echo: ${prompts[1 - hit]}`);
      expect(clean.events.at(-1)).toMatchObject({ __typename: 'ChatAgentEnd' });
      expect(d.sim.control.counter('run.aborted') - aborted).toBe(1);
      await waitFor(() => d.server.ds.chatStreams.activeStreams() === 0, { what: 'stream released' });
    } finally {
      off();
    }
  });

  it('reports prompts and events to listeners and publishes dixie.signal.interaction on completion', async () => {
    const seen: ChatActivity[] = [];
    const off = d.server.ds.chatStreams.onEvent((a) => void seen.push(a));
    const sub = nc.subscribe(`${tag}.dixie.signal.interaction`, { max: 1 });
    const sessionId = await startChat(alice, 'nft-7');
    await chatOverWs(await client(alice), { sessionId, text: 'remember me' });
    off();
    expect(seen[0]).toEqual({ kind: 'prompt', sessionId, nftId: 'nft-7', wallet: alice, text: 'remember me' });
    expect(seen.filter((a) => a.kind === 'event').map((a) => a.kind === 'event' && a.event.type)).toContain('agent_end');
    for await (const msg of sub) {
      expect(msg.json()).toEqual({ wallet: alice, nftId: 'nft-7', sessionId, timestamp: expect.any(String) });
    }
  });
});

/** A prompt whose echo streams 100 deltas (one per character): long enough to cut mid-run. */
const LONG = (text: string) => `${text} `.repeat(Math.ceil(120 / (text.length + 1)));

describe('chat stream safety', () => {
  it('closes the Finn socket within 1 s when a graphql-ws client leaves mid-stream', async () => {
    d.sim.control.setStream({ deltas: 100, delayMs: 30 });
    const sessionId = await startChat(alice);
    const closed = d.sim.control.waitForSocketClose(5_000, (l) => l.sessionId === sessionId);
    const completed = d.sim.control.counter('run.completed');
    let left = 0;
    // One delta per character, 100 of them 30 ms apart: the run would last 3 s if nobody cut it.
    await chatOverWs(await client(alice), { sessionId, text: LONG('long answer') }, (e) => {
      if (e.__typename !== 'ChatTextDelta') return;
      left = Date.now();
      return 'stop';
    });
    const log = await closed;
    expect(log.closedAt! - left).toBeLessThan(1_000);
    expect(d.sim.control.counter('run.completed')).toBe(completed);
    expect(d.server.ds.chatStreams.activeSubscribers()).toBe(0);
  });

  it("ends with one UNAUTHENTICATED error when the wallet's token expires mid-stream, and closes the Finn socket", async () => {
    d.sim.control.setStream({ deltas: 200, delayMs: 30 });
    const sessionId = await startChat(alice);
    const closed = d.sim.control.waitForSocketClose(10_000, (l) => l.sessionId === sessionId);
    // Expired 28 s ago: still accepted for ~2 s inside the 30 s clock tolerance, then the stream ends.
    const token = await walletToken(alice, { issuedAgoS: 3600, ttlS: 3572 });
    const c = wsClient(d.wsUrl, { authorization: `Bearer ${token}` });
    clients.push(c);
    // The simulator echoes the prompt one character per delta: 200 deltas 30 ms apart outlast the token.
    const res = await chatOverWs(c, { sessionId, text: 'expiring '.repeat(25) });
    expect(res.errors.map((e) => e.extensions?.['code'])).toEqual(['UNAUTHENTICATED']);
    const deltas = res.events.filter((e) => e.__typename === 'ChatTextDelta').length;
    expect(deltas).toBeGreaterThan(0);
    expect(deltas).toBeLessThan(200);
    expect(typenames(res.events)).not.toContain('ChatAgentEnd');
    await closed;
    expect(d.server.ds.chatStreams.activeSubscribers()).toBe(0);
  });

  it('closes the Finn socket within 1 s when the client WebSocket itself goes away', async () => {
    d.sim.control.setStream({ deltas: 100, delayMs: 30 });
    const sessionId = await startChat(alice);
    const closed = d.sim.control.waitForSocketClose(5_000, (l) => l.sessionId === sessionId);
    const completed = d.sim.control.counter('run.completed');
    const c = wsClient(d.wsUrl, await walletAuth(alice));
    let left = 0;
    await chatOverWs(c, { sessionId, text: LONG('tab closed') }, (e) => {
      if (e.__typename !== 'ChatTextDelta') return;
      left = Date.now();
      void c.dispose();
    });
    const log = await closed;
    expect(log.closedAt! - left).toBeLessThan(1_000);
    expect(d.sim.control.counter('run.completed')).toBe(completed);
  });

  it('closes the Finn socket within 1 s when an SSE client disconnects', async () => {
    d.sim.control.setStream({ deltas: 100, delayMs: 30 });
    const sessionId = await startChat(alice);
    const closed = d.sim.control.waitForSocketClose(5_000, (l) => l.sessionId === sessionId);
    const completed = d.sim.control.counter('run.completed');
    let left = 0;
    await chatOverSse(`${d.url}/graphql`, await walletAuth(alice), { sessionId, text: LONG('long sse') }, (e) => {
      if (e.__typename !== 'ChatTextDelta') return;
      left = Date.now();
      return 'stop';
    });
    const log = await closed;
    expect(log.closedAt! - left).toBeLessThan(1_000);
    expect(d.sim.control.counter('run.completed')).toBe(completed);
  });

  // What arrives before the ChatError: the frames Finn sent before the fault, none lost.
  const twoDeltas = ['ChatModelSelection', 'ChatTextDelta', 'ChatTextDelta'];
  const faults: Array<[string, () => void, string, string[]]> = [
    ['Finn dropping the socket', () => d.sim.control.dropStreamAfter(2), 'UPSTREAM_UNAVAILABLE', twoDeltas],
    ['an error frame', () => d.sim.control.sendErrorFrame(2), 'UPSTREAM_ERROR', twoDeltas],
    ['a Finn that hangs mid-stream and never answers pings', () => (d.sim.control.ignorePings(true), d.sim.control.stallStreamAfter(2)), 'UPSTREAM_UNAVAILABLE', twoDeltas],
    ["Finn's per-IP cap (4029)", () => d.sim.control.setWsLimitPerIp(0), 'RATE_LIMITED', ['ChatModelSelection']],
  ];
  for (const [name, inject, code, before] of faults) {
    it(`ends with exactly one ChatError ${code} and completes on ${name}`, async () => {
      const sessionId = await startChat(alice);
      inject();
      const res = await chatOverWs(await client(alice), { sessionId, text: 'fault' });
      // Completed cleanly: no GraphQL error, no abnormal close.
      expect(res.errors).toEqual([]);
      expect(typenames(res.events)).toEqual([...before, 'ChatError']);
      const errors = res.events.filter((e) => e.__typename === 'ChatError');
      expect(errors).toHaveLength(1);
      expect(res.events.at(-1)).toMatchObject({ __typename: 'ChatError', code, message: expect.any(String), recoverable: expect.any(Boolean) });
      expect(res.events.at(-1)!.message).not.toMatch(/Simulated/);
      if (code === 'RATE_LIMITED') expect(res.events.at(-1)!.retryAfter).toBe(60);
      await waitFor(() => d.server.ds.chatStreams.activeStreams() === 0 && d.server.ds.chatStreams.activeSubscribers() === 0, { what: 'stream released' });
    });
  }

  it('rejects session ids with / or .. before any Finn call', async () => {
    const before = { requests: d.sim.control.requests.length, ws: d.sim.control.counter('ws.opened') };
    for (const sessionId of ['../etc', 'a/b', '..']) {
      const res = await chatOverWs(await client(alice), { sessionId, text: 'x' });
      expect(res.errors[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'sessionId' });
      const sent = await d.gql('mutation($s: ID!) { sendMessage(sessionId: $s, text: "x") { text } }', { s: sessionId }, await walletAuth(alice));
      expect(sent.body.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'sessionId' });
    }
    const finnCalls = d.sim.control.requests.slice(before.requests).filter((r) => !r.path.startsWith('/health'));
    expect(finnCalls).toEqual([]);
    expect(d.sim.control.counter('ws.opened')).toBe(before.ws);
  });

  it('logged no unexpected error and leaked no Finn URL token along the way', () => {
    expect(d.logs.filter((l) => l.event === 'unexpected_error')).toEqual([]);
    expect(JSON.stringify(d.logs)).not.toContain('token=');
  });
});
