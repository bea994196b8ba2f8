import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { conversationCipher } from '../../src/domain/memory-crypto.js';
import { createLogger } from '../../src/logger.js';
import { MIGRATIONS_DIR } from '../../src/package-root.js';
import { createDb } from '../../src/datasources/postgres/index.js';
import { runMigrations } from '../../src/datasources/postgres/migrate.js';
import { appendEvents, eventsPageQuery, listEvents, projectionInputs } from '../../src/datasources/postgres/memory-repo.js';
import { deleteConversation, sealConversation } from '../../src/datasources/postgres/memory-seal-repo.js';
import { newWallet, walletAuth, writeAllowlist } from '../helpers/auth.js';
import { startDixie, type TestDixie } from '../helpers/dixie.js';
import { MEMORY_QUERY, rawRows, type MemoryJson } from '../helpers/memory.js';
import { giveWallet } from '../helpers/schedules.js';
import { createTestSchema, uniqueTag } from '../helpers/services.js';

const tag = uniqueTag('memory_pages');
const owner = newWallet();
const NFT = 'mibera:710';
const SEALING_NFT = 'mibera:711';
let d: TestDixie;
let dir: string;
let schema: Awaited<ReturnType<typeof createTestSchema>>;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dixie-memory-pages-'));
  await writeAllowlist(join(dir, 'allowlist.json'), [owner]);
  schema = await createTestSchema(tag);
  d = await startDixie({ env: { DATABASE_URL: schema.url, DIXIE_ALLOWLIST_PATH: join(dir, 'allowlist.json'), DIXIE_MEMORY_SEAL_KEY: 'memory-pages-seal-key-0123456789abcdef' } });
  giveWallet(d.sim, owner, 10, [NFT, SEALING_NFT]);
});

afterAll(async () => {
  await d?.stop();
  await schema?.drop();
  await rm(dir, { recursive: true, force: true });
});

const message = (text: string) => ({ type: 'message' as const, payload: { role: 'user', text } });

describe('memory pagination', () => {
  it('walks 1,000 events in pages without gaps or duplicates while new events are appended', async () => {
    const original: string[] = [];
    for (let c = 0; c < 10; c++) {
      const events = Array.from({ length: 100 }, (_, i) => message(`event ${c * 100 + i}`));
      original.push(...(await d.server.ds.memory.append({ nftId: NFT, conversationId: `conv-${c}`, actorWallet: null, events })));
    }
    const auth = await walletAuth(owner);
    let walking = true;
    let appended = 0;
    const writer = (async () => {
      while (walking) {
        await d.server.ds.memory.append({ nftId: NFT, conversationId: 'live', actorWallet: null, events: [message(`live ${appended}`), message(`live ${appended}b`)] });
        appended += 2;
      }
    })();
    const seen: string[] = [];
    let after: string | null = null;
    let pages = 0;
    try {
      do {
        const res: Awaited<ReturnType<typeof d.gql<{ memory: MemoryJson }>>> = await d.gql<{ memory: MemoryJson }>(MEMORY_QUERY, { n: NFT, first: 1000, after }, auth);
        expect(res.body.errors).toBeUndefined();
        const page: MemoryJson['events'] = res.body.data!.memory.events;
        expect(page.items.length).toBeLessThanOrEqual(100); // clamped to DIXIE_MEMORY_MAX_EVENTS
        seen.push(...page.items.map((e) => e.id));
        after = page.nextCursor;
        pages++;
      } while (after);
    } finally {
      walking = false;
      await writer;
    }
    const ids = seen.map(Number);
    const maxOriginal = Math.max(...original.map(Number));
    expect(appended).toBeGreaterThan(0);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids).toEqual([...ids].sort((x, y) => y - x));
    expect(seen.filter((id) => original.includes(id))).toHaveLength(1000);
    // Events appended during the walk are newer than every cursor: at most on the first page, never in between.
    const live = ids.filter((id) => id > maxOriginal);
    expect(ids.slice(0, live.length)).toEqual(live);
    expect(pages).toBe(Math.ceil(ids.length / 100));
  });

  it('pages conversations with includeSealed: false, skipping sealed ones without gaps or duplicates', async () => {
    const ids = Array.from({ length: 9 }, (_, i) => `talk-${i}`);
    for (const conversationId of ids) await d.server.ds.memory.append({ nftId: SEALING_NFT, conversationId, actorWallet: null, events: [message(conversationId)] });
    const auth = await walletAuth(owner);
    const sealed = new Set(['talk-1', 'talk-4', 'talk-5', 'talk-7', 'talk-8']);
    for (const c of sealed) {
      const res = await d.gql('mutation($n: ID!, $c: ID!) { sealConversation(nftId: $n, conversationId: $c, policy: { reason: "private" }) { conversationId } }', { n: SEALING_NFT, c }, auth);
      expect(res.body.errors).toBeUndefined();
    }
    type Page = { items: Array<{ id: string; sealed: boolean }>; nextCursor: string | null };
    const walk = async (includeSealed: boolean | undefined) => {
      const pages: Array<Page['items']> = [];
      let after: string | null = null;
      do {
        const res: { body: { data?: { memory: { conversations: Page } } | null; errors?: unknown } } = await d.gql<{ memory: { conversations: Page } }>(
          'query($n: ID!, $after: String, $s: Boolean) { memory(nftId: $n) { conversations(first: 2, after: $after, includeSealed: $s) { items { id sealed } nextCursor } } }',
          { n: SEALING_NFT, after, ...(includeSealed === undefined ? {} : { s: includeSealed }) },
          auth,
        );
        expect(res.body.errors).toBeUndefined();
        const page = res.body.data!.memory.conversations;
        pages.push(page.items);
        after = page.nextCursor;
      } while (after);
      return pages;
    };
    const newestFirst = [...ids].reverse();

    const unsealed = await walk(false);
    expect(unsealed.map((p) => p.map((c) => c.id))).toEqual([['talk-6', 'talk-3'], ['talk-2', 'talk-0']]);
    expect(unsealed.flat().every((c) => !c.sealed)).toBe(true);

    const all = await walk(undefined);
    expect(all.flat()).toEqual(newestFirst.map((id) => ({ id, sealed: sealed.has(id) })));
    expect(all.map((p) => p.length)).toEqual([2, 2, 2, 2, 1]);
  });

  it('filters by conversation and type, and serves a deep page (90,000 of 100,000, interleaved with another NFT) with a backward index scan', async () => {
    const byConversation = await d.gql<{ memory: MemoryJson }>(MEMORY_QUERY, { n: NFT, c: 'conv-3', first: 5, types: ['MESSAGE'] }, await walletAuth(owner));
    expect(byConversation.body.data!.memory.events.items.map((e) => e.payload?.text)).toEqual(['event 399', 'event 398', 'event 397', 'event 396', 'event 395']);

    await rawRows(tag, `INSERT INTO memory_events (nft_id, conversation_id, type, payload)
      SELECT CASE WHEN g % 2 = 0 THEN 'deep' ELSE 'other' END, 'c' || (g % 100), 'message', jsonb_build_object('role', 'user', 'text', 'n' || g)
      FROM generate_series(1, 200000) g`);
    await rawRows(tag, 'ANALYZE memory_events');
    const [cursor] = await rawRows(tag, `SELECT id FROM memory_events WHERE nft_id = 'deep' ORDER BY id DESC OFFSET 89999 LIMIT 1`);
    for (const conversationId of [null, 'c7']) {
      const q = eventsPageQuery({ nftId: 'deep', beforeId: String(cursor!.id), conversationId, types: null, limit: 101 });
      expect(q.text).not.toMatch(/OFFSET/i);
      const [plan] = await rawRows(tag, `EXPLAIN (FORMAT JSON) ${q.text}`, q.params);
      const json = JSON.stringify(plan);
      // Either (nft_id, id) index or the primary key with the nft filter: both read ~limit rows from the cursor on.
      expect(json).toMatch(/"Node Type":"Index Scan","Parent Relationship":"Outer"[^}]*"Scan Direction":"Backward","Index Name":"memory_events_\w+"/);
      expect(json).toMatch(/"Index Cond":"[^"]*id < /);
      expect(json).not.toMatch(/Seq Scan|"Node Type":"Sort"/);
    }
  });
});

describe('memory on PGlite', () => {
  it('migrates and appends, pages, seals and erases on embedded PostgreSQL', async () => {
    const db = await createDb({ url: 'pglite:memory', poolSize: 1, logger: createLogger('silent') });
    try {
      await runMigrations(db, MIGRATIONS_DIR, createLogger('silent'));
      const cipherFor = (c: string) => conversationCipher('memory-seal-key-0123456789abcdef0123456789', c);
      const ids = await appendEvents(db, { nftId: 'n1', conversationId: 'c1', actorWallet: '0xabc', events: [message('hello pglite?'), { type: 'tool_use', payload: { toolName: 't', args: null, result: 'r', isError: false } }] }, cipherFor);
      expect(ids).toHaveLength(2);
      const page = await listEvents(db, { nftId: 'n1', beforeId: ids[1]!, conversationId: null, types: ['message'], limit: 10 });
      expect(page.map((e) => e.payload)).toEqual([{ role: 'user', text: 'hello pglite?' }]);
      expect(await sealConversation(db, { nftId: 'n1', conversationId: 'c1', actorWallet: '0xabc', policy: {}, cipher: cipherFor('c1') })).toMatchObject({ sealedEventCount: 2 });
      await appendEvents(db, { nftId: 'n1', conversationId: 'c1', actorWallet: null, events: [message('after seal')] }, cipherFor);
      const all = await listEvents(db, { nftId: 'n1', beforeId: null, conversationId: 'c1', types: null, limit: 10 });
      expect(all.filter((e) => e.type === 'message').every((e) => e.sealed && e.payload === null)).toBe(true);
      expect(cipherFor('c1').open(all[0]!.sealed!)).toEqual({ role: 'user', text: 'after seal' });
      const inputs = await projectionInputs(db, ['n1', 'n2']);
      expect(inputs.get('n1')).toMatchObject({ conversationCount: 1, sealedConversationCount: 1, messages: [] });
      expect(await deleteConversation(db, { nftId: 'n1', conversationId: 'c1', actorWallet: '0xabc' })).toMatchObject({ erasedEventCount: 4 });
    } finally {
      await db.close();
    }
  });
});
