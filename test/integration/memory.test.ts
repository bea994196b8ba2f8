import { mkdtemp, rm } from 'node:fs/promises';
import { conversationCipher } from '../../src/domain/memory-crypto.js';
import { encodeIdCursor } from '../../src/domain/page-cursor.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newWallet, walletAuth, writeAllowlist } from '../helpers/auth.js';
import { chatOverWs, wsClient } from '../helpers/chat.js';
import { startDixie, waitFor, type TestDixie } from '../helpers/dixie.js';
import { memoryAs, rawRows, readMemory, startChatOn } from '../helpers/memory.js';
import { giveWallet } from '../helpers/schedules.js';
import { createTestSchema, NATS_URL, REDIS_URL, uniqueTag } from '../helpers/services.js';
import { startFinnSim, type FinnSim } from '../finn-sim/index.js';
import { startTcpProxy } from '../helpers/tcp-proxy.js';

const tag = uniqueTag('memory');
const SEAL_KEY = 'memory-seal-key-0123456789abcdef0123456789';
const owner = newWallet();
const delegate = newWallet();
const stranger = newWallet();
const observer = newWallet();
const NFT = 'mibera:700';
const SHARED = 'mibera:701';
let sim: FinnSim;
let a: TestDixie;
let b: TestDixie;
let dir: string;
let redis: Redis;
let schema: Awaited<ReturnType<typeof createTestSchema>>;

type Res = Awaited<ReturnType<TestDixie['gql']>>;
const code = (res: Res) => res.body.errors?.[0]?.extensions?.code;

async function send(d: TestDixie, wallet: string, sessionId: string, text: string) {
  const res = await d.gql('mutation($s: ID!, $t: String!) { sendMessage(sessionId: $s, text: $t) { text } }', { s: sessionId, t: text }, await walletAuth(wallet));
  expect(res.body.errors).toBeUndefined();
}
async function mutate(d: TestDixie, wallet: string, query: string, vars: Record<string, unknown>) {
  return d.gql<Record<string, Record<string, unknown>>>(query, vars, await walletAuth(wallet));
}
const SEAL = 'mutation($n: ID!, $c: ID!) { sealConversation(nftId: $n, conversationId: $c, policy: { reason: "private" }) { conversationId sealedAt sealedEventCount policy } }';
const DELETE = 'mutation($n: ID!, $c: ID!) { deleteConversation(nftId: $n, conversationId: $c) { conversationId deletedAt erasedEventCount } }';
const POLICY = 'mutation($n: ID!, $p: MemoryAccessPolicy!) { setMemoryPolicy(nftId: $n, access: $p) }';
const eventsOf = async (d: TestDixie, nftId: string, conversationId: string, n: number) =>
  waitFor(async () => {
    const m = await readMemory(d, owner, nftId, { c: conversationId });
    return m.events.items.length >= n ? m.events.items.slice().reverse() : null;
  }, { what: `${n} memory events` });

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dixie-memory-'));
  await writeAllowlist(join(dir, 'allowlist.json'), [owner, delegate, stranger, observer]);
  schema = await createTestSchema(tag);
  redis = new Redis(REDIS_URL, { keyPrefix: `${tag}:`, lazyConnect: false });
  sim = await startFinnSim();
  giveWallet(sim, owner, 10, [NFT, SHARED]);
  sim.control.setNfts(delegate, [{ nftId: NFT, ownerWallet: owner, delegatedWallets: [delegate] }]);
  sim.control.setStaking(delegate, 10);
  giveWallet(sim, stranger, 10, []);
  giveWallet(sim, observer, 0, []);
  sim.control.setStream({ deltas: 3, delayMs: 2, tools: true });
  const env = { DATABASE_URL: schema.url, REDIS_URL, NATS_URL, DIXIE_ALLOWLIST_PATH: join(dir, 'allowlist.json'), DIXIE_MEMORY_SEAL_KEY: SEAL_KEY, DIXIE_MEMORY_PROJECTION_TTL: '600' };
  const common = { sim, env, redisKeyPrefix: `${tag}:`, natsSubjectPrefix: `${tag}.`, memoryWriter: { baseDelayMs: 20, attempts: 3 } };
  a = await startDixie(common);
  b = await startDixie(common);
});

afterAll(async () => {
  await a?.stop();
  await b?.stop();
  await sim?.close();
  redis?.disconnect();
  await schema?.drop();
  await rm(dir, { recursive: true, force: true });
});

describe('soul memory', () => {
  let chatSession = '';

  it('records a graphql-ws chat as message and tool_use events in order, and projects it (cached, refreshed on write)', async () => {
    chatSession = await startChatOn(a, owner, NFT);
    const client = wsClient(a.wsUrl, await walletAuth(owner));
    const res = await chatOverWs(client, { sessionId: chatSession, text: 'Where do dragons sleep?' });
    await client.dispose();
    expect(res.errors).toEqual([]);
    const events = await eventsOf(a, NFT, chatSession, 3);
    expect(events.map((e) => [e.type, e.payload])).toEqual([
      ['MESSAGE', { role: 'user', text: 'Where do dragons sleep?' }],
      ['MESSAGE', { role: 'assistant', text: 'Echo: Where do dragons sleep?' }],
      ['TOOL_USE', { toolName: 'knowledge_search', args: { query: 'Where do dragons sleep?' }, result: 'Found 3 documents about "Where do dragons sleep?"', isError: false }],
    ]);
    expect(Number(events[0]!.id)).toBeLessThan(Number(events[2]!.id));
    expect(events.every((e) => e.conversationId === chatSession && e.actorWallet === owner.toLowerCase() && !e.encrypted)).toBe(true);

    const first = (await readMemory(a, owner, NFT)).projection;
    expect(first).toMatchObject({ conversationCount: 1, sealedConversationCount: 0, unresolvedQuestions: [] });
    expect(first.recentTopics).toEqual(expect.arrayContaining(['dragons', 'sleep']));
    expect(Date.now() - Date.parse(first.lastInteraction!)).toBeLessThan(60_000);
    expect(await redis.exists(`cache:memory:projection:v1:${NFT}`)).toBe(1);

    // Written behind Dixie's back: the cached projection does not see it …
    await rawRows(tag, `INSERT INTO memory_events (nft_id, conversation_id, type, payload) VALUES ($1, 'side', 'message', '{"role":"user","text":"unicorns unicorns unicorns"}')`, [NFT]);
    expect((await readMemory(a, owner, NFT)).projection).toEqual(first);
    // … until a write through Dixie (here on the other instance) invalidates it everywhere.
    await b.server.ds.memory.append({ nftId: NFT, conversationId: 'side', actorWallet: null, events: [{ type: 'message', payload: { role: 'user', text: 'What about griffins?' } }] });
    const after = (await readMemory(a, owner, NFT)).projection;
    expect(after.recentTopics).toEqual(expect.arrayContaining(['unicorns', 'griffins']));
    expect(after.unresolvedQuestions).toEqual(['What about griffins?']);
    expect(after.conversationCount).toBe(2);
  });

  it('invalidates a projection cached on one instance after a chat on the other', async () => {
    const before = (await readMemory(b, owner, NFT)).projection;
    const session = await startChatOn(a, owner, NFT);
    await send(a, owner, session, 'Tell me about honeycomb');
    await waitFor(async () => (await readMemory(b, owner, NFT)).projection.conversationCount === before.conversationCount + 1, { what: 'fresh projection on b' });
    expect((await readMemory(b, owner, NFT)).projection.recentTopics).toContain('honeycomb');
  });

  it('applies the access matrix: owner, delegate, stranger, policy none / read_only, tier, anonymous', async () => {
    expect((await readMemory(a, owner, NFT)).isOwner).toBe(true);
    const asDelegate = await readMemory(a, delegate, NFT);
    expect(asDelegate.isOwner).toBe(false);
    expect(asDelegate.events.items.length).toBeGreaterThan(0);
    expect(code(await memoryAs(a, stranger, NFT))).toBe('NOT_FOUND');
    expect(code(await memoryAs(a, stranger, 'mibera:999999'))).toBe('NOT_FOUND');
    expect(code(await memoryAs(a, observer, NFT))).toBe('FORBIDDEN');
    expect((await memoryAs(a, observer, NFT)).body.errors?.[0]?.extensions).toMatchObject({ requiredTier: 'PARTICIPANT', actualTier: 'OBSERVER' });
    expect(code(await memoryAs(a, null, NFT))).toBe('UNAUTHENTICATED');

    await b.server.ds.memory.append({ nftId: SHARED, conversationId: 'pub', actorWallet: null, events: [{ type: 'message', payload: { role: 'user', text: 'public note' } }] });
    expect(code(await memoryAs(a, stranger, SHARED))).toBe('NOT_FOUND'); // policy none (default)
    expect(code(await mutate(a, stranger, POLICY, { n: SHARED, p: 'READ_ONLY' }))).toBe('NOT_FOUND');
    expect(code(await mutate(a, delegate, POLICY, { n: NFT, p: 'READ_ONLY' }))).toBe('FORBIDDEN');
    expect((await mutate(a, owner, POLICY, { n: SHARED, p: 'READ_ONLY' })).body.data).toEqual({ setMemoryPolicy: 'READ_ONLY' });
    const asReader = await readMemory(a, stranger, SHARED);
    expect(asReader.events.items.map((e) => e.type)).toEqual(['POLICY_CHANGE', 'MESSAGE']);
    expect(code(await mutate(a, stranger, SEAL, { n: SHARED, c: 'pub' }))).toBe('FORBIDDEN');
    expect(code(await mutate(a, stranger, DELETE, { n: SHARED, c: 'pub' }))).toBe('FORBIDDEN');
    // A policy reader is not the owner: once the owner seals the conversation, only ciphertext flags.
    expect((await mutate(a, owner, SEAL, { n: SHARED, c: 'pub' })).body.errors).toBeUndefined();
    const sealedForReader = (await readMemory(a, stranger, SHARED)).events.items.filter((e) => e.type === 'MESSAGE');
    expect(sealedForReader).toHaveLength(1);
    expect(sealedForReader.every((e) => e.encrypted && e.payload === null)).toBe(true);
    await mutate(a, owner, POLICY, { n: SHARED, p: 'NONE' });
    expect(code(await memoryAs(a, stranger, SHARED))).toBe('NOT_FOUND');
    // Strangers learn nothing from the owner-only mutations either.
    expect(code(await mutate(a, stranger, SEAL, { n: NFT, c: chatSession }))).toBe('NOT_FOUND');
    expect(code(await mutate(a, stranger, DELETE, { n: NFT, c: chatSession }))).toBe('NOT_FOUND');
    expect(code(await mutate(a, delegate, SEAL, { n: NFT, c: chatSession }))).toBe('FORBIDDEN');
  });

  it('seals a conversation: ciphertext at rest, plaintext for the owner only, idempotent, later events sealed too', async () => {
    const sealed = await mutate(a, owner, SEAL, { n: NFT, c: chatSession });
    expect(sealed.body.errors).toBeUndefined();
    expect(sealed.body.data!.sealConversation).toMatchObject({ conversationId: chatSession, sealedEventCount: 3, policy: { reason: 'private' } });
    const again = await mutate(a, owner, SEAL, { n: NFT, c: chatSession });
    expect(again.body.data!.sealConversation).toEqual(sealed.body.data!.sealConversation);
    expect(code(await mutate(a, owner, SEAL, { n: NFT, c: 'no-such-conversation' }))).toBe('NOT_FOUND');

    await send(a, owner, chatSession, 'secret griffin lair');
    const rows = await waitFor(async () => {
      const r = await rawRows(tag, `SELECT type, payload, sealed FROM memory_events WHERE conversation_id = $1 AND type IN ('message', 'tool_use') ORDER BY id`, [chatSession]);
      return r.length >= 6 ? r : null;
    }, { what: 'sealed follow-up' });
    const opened: unknown[] = [];
    for (const r of rows) {
      expect(r.payload).toBeNull();
      const bytes = r.sealed as Buffer;
      expect(bytes.length).toBeGreaterThan(28);
      expect(bytes.toString('latin1')).not.toMatch(/dragons|griffin|Echo/);
      // Sealed under the configured DIXIE_MEMORY_SEAL_KEY and this conversation, and nothing else.
      opened.push(conversationCipher(SEAL_KEY, chatSession).open(bytes));
      expect(() => conversationCipher(`${SEAL_KEY}-other`, chatSession).open(bytes)).toThrow();
      expect(() => conversationCipher(SEAL_KEY, 'another-conversation').open(bytes)).toThrow();
    }
    expect(opened).toContainEqual({ role: 'user', text: 'secret griffin lair' });
    const ownerView = await eventsOf(a, NFT, chatSession, 7);
    const messages = ownerView.filter((e) => e.type === 'MESSAGE');
    expect(messages.every((e) => e.encrypted)).toBe(true);
    expect(messages.map((e) => e.payload?.text)).toContain('Where do dragons sleep?');
    expect(messages.map((e) => e.payload?.text)).toContain('secret griffin lair');
    expect(ownerView.find((e) => e.type === 'SEAL')).toMatchObject({ encrypted: false, payload: { policy: { reason: 'private' }, sealedEventCount: 3 } });

    const delegateView = (await readMemory(a, delegate, NFT, { c: chatSession })).events.items.filter((e) => e.type !== 'SEAL');
    expect(delegateView.length).toBe(6);
    expect(delegateView.every((e) => e.encrypted && e.payload === null)).toBe(true);
    const projection = (await readMemory(a, delegate, NFT)).projection;
    expect(projection.sealedConversationCount).toBe(1);
    expect(projection.recentTopics).not.toContain('lair');
  });

  it('deletes a conversation: every payload erased in PostgreSQL, a delete event remains', async () => {
    const session = await startChatOn(a, owner, NFT);
    await send(a, owner, session, 'forget the volcano volcano volcano volcano');
    await eventsOf(a, NFT, session, 3);
    // The projection is cached with the topic in it (on the other instance too)...
    expect((await readMemory(b, owner, NFT)).projection.recentTopics).toContain('volcano');
    const res = await mutate(a, owner, DELETE, { n: NFT, c: session });
    expect(res.body.errors).toBeUndefined();
    expect(res.body.data!.deleteConversation).toMatchObject({ conversationId: session, erasedEventCount: 3 });
    const rows = await rawRows(tag, 'SELECT type, payload, sealed, erased FROM memory_events WHERE conversation_id = $1 ORDER BY id', [session]);
    expect(rows.map((r) => r.type)).toEqual(['message', 'tool_use', 'message', 'delete']) // sendMessage reports tool calls before the text;
    for (const r of rows.slice(0, 3)) expect(r).toMatchObject({ payload: null, sealed: null, erased: true });
    expect(JSON.stringify(rows)).not.toContain('volcano');
    const view = await readMemory(a, owner, NFT, { c: session });
    expect(view.events.items[0]).toMatchObject({ type: 'DELETE', payload: { erasedEventCount: 3 } });
    // ...and gone from it after the delete, on both instances.
    expect(JSON.stringify(view.projection)).not.toContain('volcano');
    expect(JSON.stringify((await readMemory(b, owner, NFT)).projection)).not.toContain('volcano');
    expect(view.conversations.items.find((c) => c.id === session)).toMatchObject({ deleted: true });
    // A sealed conversation is erased too (its ciphertext).
    const sealedErase = await mutate(a, owner, DELETE, { n: NFT, c: chatSession });
    expect(sealedErase.body.data!.deleteConversation).toMatchObject({ erasedEventCount: 7 });
    expect(await rawRows(tag, `SELECT 1 FROM memory_events WHERE conversation_id = $1 AND type <> 'delete' AND (sealed IS NOT NULL OR payload IS NOT NULL)`, [chatSession])).toEqual([]);
  });

  it('records the answer so far and lets go of the turn when it is cut: Finn drops mid-stream, or the client leaves', async () => {
    const deltasOf = (r: { events: Array<Record<string, unknown>> }) => r.events.filter((e) => e.__typename === 'ChatTextDelta').map((e) => e.delta).join('');
    const idle = () => waitFor(() => a.server.ds.memory.writerSessions() === 0, { what: 'the writer to hold no session' });
    // Waits on the table, not the API: polling `memory` would spend the file's rate-limit budget.
    const stored = async (conversationId: string, n: number) => {
      await waitFor(async () => (await rawRows(tag, 'SELECT 1 FROM memory_events WHERE conversation_id = $1', [conversationId])).length >= n, { what: `${n} stored events` });
      return eventsOf(a, NFT, conversationId, n);
    };
    try {
      sim.control.setStream({ deltas: 4, delayMs: 2, tools: false });
      sim.control.dropStreamAfter(2);
      const dropped = await startChatOn(a, owner, NFT);
      const client = wsClient(a.wsUrl, await walletAuth(owner));
      const res = await chatOverWs(client, { sessionId: dropped, text: 'abcdefgh' });
      await client.dispose();
      expect(res.events.at(-1)).toMatchObject({ __typename: 'ChatError', code: 'UPSTREAM_UNAVAILABLE' });
      const seen = deltasOf(res);
      expect(seen.length).toBeGreaterThan(0);
      expect((await stored(dropped, 2)).map((e) => e.payload)).toEqual([
        { role: 'user', text: 'abcdefgh' },
        { role: 'assistant', text: seen },
      ]);
      await idle();

      sim.control.clearFaults();
      sim.control.setStream({ deltas: 40, delayMs: 25 });
      const left = await startChatOn(a, owner, NFT);
      const leaver = wsClient(a.wsUrl, await walletAuth(owner));
      let n = 0;
      const part = await chatOverWs(leaver, { sessionId: left, text: 'a long answer, please' }, (e) => (e.__typename === 'ChatTextDelta' && ++n === 2 ? 'stop' : undefined));
      await leaver.dispose();
      const [asked, answered] = await stored(left, 2);
      expect(asked!.payload).toEqual({ role: 'user', text: 'a long answer, please' });
      const kept = String(answered!.payload!.text);
      expect(kept.startsWith(deltasOf(part))).toBe(true);
      expect(kept.length).toBeLessThan('Echo: a long answer, please'.length);
      await idle();
    } finally {
      sim.control.clearFaults();
      sim.control.setStream({ deltas: 3, delayMs: 2, tools: true });
    }
  });

  it('retries a failed append and logs memory_append_failed with counts after the last attempt', async () => {
    const session = await startChatOn(a, owner, NFT);
    await rawRows(tag, 'ALTER TABLE memory_events RENAME TO memory_events_off');
    try {
      await send(a, owner, session, 'lost words');
      const failed = await waitFor(() => a.logs.find((l) => l.event === 'memory_append_failed' && l.session_id === session), { what: 'memory_append_failed' });
      expect(failed).toMatchObject({ level: 'error', nft_id: NFT, events: 3, attempts: 3 });
      expect(a.logs.filter((l) => l.event === 'memory_append_retry' && l.session_id === session)).toHaveLength(2);
    } finally {
      await rawRows(tag, 'ALTER TABLE memory_events_off RENAME TO memory_events');
    }
    await send(a, owner, session, 'kept words');
    const kept = await eventsOf(a, NFT, session, 3);
    expect(kept[0]!.payload).toEqual({ role: 'user', text: 'kept words' });
  });

  it('clamps first to DIXIE_MEMORY_MAX_EVENTS and rejects a malformed cursor', async () => {
    const m = await readMemory(a, owner, NFT, { first: 100_000 });
    expect(m.events.items.length).toBeLessThanOrEqual(100);
    expect(code(await memoryAs(a, owner, NFT, { after: 'bm90LWEtY3Vyc29y' }))).toBe('BAD_USER_INPUT');
    // Our shape, but past PostgreSQL's bigint: once a database error (500), now the same BAD_USER_INPUT.
    expect(code(await memoryAs(a, owner, NFT, { after: encodeIdCursor('m', '9999999999999999999') }))).toBe('BAD_USER_INPUT');
  });
});

describe('soul memory without Redis', () => {
  it('invalidates the per-process projection caches of other instances over NATS', async () => {
    const env = { DATABASE_URL: schema.url, NATS_URL, DIXIE_ALLOWLIST_PATH: join(dir, 'allowlist.json'), DIXIE_MEMORY_PROJECTION_TTL: '600' };
    const [x, y] = [await startDixie({ sim, env, natsSubjectPrefix: `${tag}.local.` }), await startDixie({ sim, env, natsSubjectPrefix: `${tag}.local.` })];
    try {
      await waitFor(() => x.server.ds.nats?.isUp() && y.server.ds.nats?.isUp(), { what: 'NATS up' });
      const before = (await readMemory(y, owner, SHARED)).projection;
      await x.server.ds.memory.append({ nftId: SHARED, conversationId: 'nats', actorWallet: null, events: [{ type: 'message', payload: { role: 'user', text: 'moonlit orchards' } }] });
      await waitFor(async () => (await readMemory(y, owner, SHARED)).projection.conversationCount === before.conversationCount + 1, { what: 'NATS invalidation' });
      expect((await readMemory(y, owner, SHARED)).projection.recentTopics).toContain('orchards');
    } finally {
      await x.stop();
      await y.stop();
    }
  });
});

describe('soul memory without a seal key or a database', () => {
  it('answers FEATURE_DISABLED for sealing without DIXIE_MEMORY_SEAL_KEY and for memory without DATABASE_URL, chats still work', async () => {
    const noKey = await startDixie({ sim, env: { DATABASE_URL: schema.url, DIXIE_ALLOWLIST_PATH: join(dir, 'allowlist.json') } });
    const noDb = await startDixie({ sim, env: { DIXIE_ALLOWLIST_PATH: join(dir, 'allowlist.json') } });
    try {
      await b.server.ds.memory.append({ nftId: SHARED, conversationId: 'nokey', actorWallet: null, events: [{ type: 'message', payload: { role: 'user', text: 'x' } }] });
      expect(code(await mutate(noKey, owner, SEAL, { n: SHARED, c: 'nokey' }))).toBe('FEATURE_DISABLED');
      expect(code(await memoryAs(noDb, owner, NFT))).toBe('FEATURE_DISABLED');
      expect(code(await mutate(noDb, owner, DELETE, { n: NFT, c: 'nokey' }))).toBe('FEATURE_DISABLED');
      const session = await startChatOn(noDb, owner, NFT);
      await send(noDb, owner, session, 'still chatting');
    } finally {
      await noKey.stop();
      await noDb.stop();
    }
  });
});

describe('an invalidation that could not reach Redis', () => {
  it('is retried until it lands, so a sealed question leaves the projection other instances serve', async () => {
    const proxy = await startTcpProxy('127.0.0.1', 6379);
    const env = { DATABASE_URL: schema.url, REDIS_URL: `redis://127.0.0.1:${proxy.port}`, NATS_URL, DIXIE_ALLOWLIST_PATH: join(dir, 'allowlist.json'), DIXIE_MEMORY_SEAL_KEY: SEAL_KEY, DIXIE_MEMORY_PROJECTION_TTL: '600' };
    const c = await startDixie({ sim, env, redisKeyPrefix: `${tag}:`, natsSubjectPrefix: `${tag}.` });
    try {
      const question = 'Where does the queen hide the secret honey?';
      await c.server.ds.memory.append({ nftId: SHARED, conversationId: 'secret-conv', actorWallet: owner.toLowerCase(), events: [{ type: 'message', payload: { role: 'user', text: question } }] });
      expect((await readMemory(b, owner, SHARED)).projection.unresolvedQuestions).toContain(question);
      proxy.setMode('refuse');
      const sealed = await mutate(c, owner, SEAL, { n: SHARED, c: 'secret-conv' });
      expect(sealed.body.errors).toBeUndefined();
      // C could not reach Redis: B still serves the projection cached there …
      expect((await readMemory(b, owner, SHARED)).projection.unresolvedQuestions).toContain(question);
      proxy.setMode('pass');
      // … until C's retry lands.
      await waitFor(async () => !(await readMemory(b, owner, SHARED)).projection.unresolvedQuestions.includes(question), { timeoutMs: 10_000, intervalMs: 500, what: 'the sealed question gone from B' });
    } finally {
      await c.stop();
      await proxy.close();
    }
  });
});

describe('a memory batch whose COMMIT reply is lost', () => {
  it('is not appended twice when the writer retries it with the same batch id', async () => {
    const batch = { nftId: NFT, conversationId: 'retried-conv', actorWallet: owner.toLowerCase(), events: [{ type: 'message' as const, payload: { role: 'user', text: 'count me once' } }] };
    // The first attempt committed, its reply never came: the writer retries the same batch.
    expect(await a.server.ds.memory.append({ ...batch, batchId: 'batch-1' })).toHaveLength(1);
    expect(await a.server.ds.memory.append({ ...batch, batchId: 'batch-1' })).toEqual([]);
    // The next batch of the conversation is appended, and so is one without an id.
    expect(await a.server.ds.memory.append({ ...batch, batchId: 'batch-2' })).toHaveLength(1);
    expect(await a.server.ds.memory.append(batch)).toHaveLength(1);
    const rows = await rawRows(tag, 'SELECT id FROM memory_events WHERE conversation_id = $1', ['retried-conv']);
    expect(rows).toHaveLength(3);
    const [conv] = await rawRows(tag, 'SELECT event_count FROM memory_conversations WHERE conversation_id = $1', ['retried-conv']);
    expect(conv!.event_count).toBe(3);
  });
});
