/**
 * Issue #5: `memory(nftId) { events(first: 100) }` on an NFT with 100,000 events (plus as many of
 * other NFTs interleaved, so the index is shared as in production), first page and a deep page (the
 * cursor after event 90,000), and the cached projection vs `{ health { status } }` in the same run.
 * Targets: p99 ≤ 20 ms for any page; cached projection ≥ 0.8 × health throughput.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { startFinnSim } from '../../test/finn-sim/index.js';
import { newWallet, walletToken, writeAllowlist } from '../../test/helpers/auth.js';
import { createTestSchema, uniqueTag } from '../../test/helpers/services.js';
import { encodeIdCursor } from '../../src/domain/page-cursor.js';
import { BENCH_JWT_KEY, LOAD, gqlOnce, gqlTarget, load, printTable, ratio, startDixie, verdict, warm, type Child, type LoadResult } from '../lib.js';

const EVENTS = 100_000;
const DEEP = 90_000;
const SEAL_KEY = 'bench-memory-seal-key-0123456789abcdef';
const PAGE = /* GraphQL */ `query Page($n: ID!, $after: String) { memory(nftId: $n) { events(first: 100, after: $after) {
  items { id conversationId type payload encrypted erased actorWallet createdAt } nextCursor } } }`;
const PROJECTION = 'query Projection($n: ID!) { memory(nftId: $n) { projection { conversationCount } } }';
const HEALTH = '{ health { status } }';

type PageJson = { memory: { events: { items: Array<{ id: string }>; nextCursor: string | null } } };

/** 100k events of `nftId` (100 per conversation, 1 in 10 a tool_use) interleaved with 100k of 199 other NFTs. */
async function seed(db: pg.Client, nftId: string, wallet: string): Promise<void> {
  await db.query(
    `INSERT INTO memory_events (nft_id, conversation_id, type, payload, actor_wallet, created_at)
     SELECT CASE WHEN g % 2 = 0 THEN $1 ELSE 'bench-other:' || (g % 199) END,
            'conv-' || (g / 200),
            CASE WHEN g % 20 = 0 THEN 'tool_use' ELSE 'message' END,
            CASE WHEN g % 20 = 0
              THEN jsonb_build_object('toolName', 'knowledge_search', 'args', jsonb_build_object('query', 'honey ' || g), 'result', 'Found 3 documents about honey ' || g, 'isError', false)
              ELSE jsonb_build_object('role', CASE WHEN g % 4 = 0 THEN 'assistant' ELSE 'user' END,
                                      'text', 'Message ' || g || ': what do the bears think about honey, hives and the long winter ahead?') END,
            $2,
            now() - make_interval(secs => ($3 - g))
     FROM generate_series(1, $3) AS g`,
    [nftId, wallet, EVENTS * 2],
  );
  await db.query(
    `INSERT INTO memory_conversations (nft_id, conversation_id, event_count, started_at, last_event_at)
     SELECT nft_id, conversation_id, count(*), min(created_at), max(created_at) FROM memory_events GROUP BY nft_id, conversation_id`,
  );
  await db.query('ANALYZE memory_events');
  await db.query('ANALYZE memory_conversations');
}

/** The server-side time of the page query alone (EXPLAIN ANALYZE), as a floor for the GraphQL numbers. */
async function sqlMs(db: pg.Client, nftId: string, beforeId: string | null): Promise<string> {
  const where = beforeId === null ? 'nft_id = $1' : 'nft_id = $1 AND id < $2';
  const params = beforeId === null ? [nftId] : [nftId, beforeId];
  const res = await db.query<{ 'QUERY PLAN': string }>(
    `EXPLAIN (ANALYZE, FORMAT TEXT) SELECT id, nft_id, conversation_id, type, payload, sealed, erased, actor_wallet, created_at
     FROM memory_events WHERE ${where} ORDER BY id DESC LIMIT 101`,
    params,
  );
  const lines = res.rows.map((r) => r['QUERY PLAN']);
  const scan = lines.find((l) => /Scan/.test(l))?.trim().replace(/\s+\(cost.*$/, '') ?? '?';
  const exec = lines.find((l) => l.startsWith('Execution Time'))?.replace('Execution Time: ', '') ?? '?';
  return `${exec} (${scan.replace(/^->\s*/, '')})`;
}

export async function memoryScenario(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'dixie-bench-memory-'));
  const schema = await createTestSchema(uniqueTag('bench_memory'));
  const sim = await startFinnSim({ port: 0 });
  const db = new pg.Client({ connectionString: schema.url });
  let dixie: Child | undefined;
  try {
    const owner = newWallet();
    const nftId = `mibera:${parseInt(randomBytes(3).toString('hex'), 16)}`;
    const allowlistPath = join(dir, 'allowlist.json');
    await writeAllowlist(allowlistPath, [owner]);
    sim.control.setStaking(owner, 10);
    sim.control.setNfts(owner, [{ nftId, ownerWallet: owner }]);
    // Dixie runs the migrations before it listens; the events go in behind its back afterwards.
    dixie = await startDixie(sim.url, { DATABASE_URL: schema.url, DIXIE_ALLOWLIST_PATH: allowlistPath, DIXIE_MEMORY_SEAL_KEY: SEAL_KEY });
    await db.connect();
    const seedStart = performance.now();
    await seed(db, nftId, owner);
    const deepId = (await db.query<{ id: string }>('SELECT id FROM memory_events WHERE nft_id = $1 ORDER BY id DESC OFFSET $2 LIMIT 1', [nftId, DEEP - 1])).rows[0]!.id;
    console.log(`seeded ${EVENTS} events for ${nftId} (+${EVENTS} of other NFTs) in ${((performance.now() - seedStart) / 1000).toFixed(1)} s; deep cursor after event ${DEEP} (id ${deepId})`);

    const base = `http://127.0.0.1:${dixie.port}`;
    const auth = { authorization: `Bearer ${await walletToken(owner, { key: BENCH_JWT_KEY })}` };
    const targets = {
      health: gqlTarget(base, HEALTH),
      projection: gqlTarget(base, PROJECTION, { n: nftId }, auth),
      firstPage: gqlTarget(base, PAGE, { n: nftId }, auth),
      deepPage: gqlTarget(base, PAGE, { n: nftId, after: encodeIdCursor('m', deepId) }, auth),
    };
    const first = await gqlOnce<PageJson>(targets.firstPage);
    const deep = await gqlOnce<PageJson>(targets.deepPage);
    const proj = await gqlOnce<{ memory: { projection: { conversationCount: number } } }>(targets.projection);
    if (first.memory.events.items.length !== 100 || deep.memory.events.items.length !== 100 || BigInt(deep.memory.events.items[0]!.id) >= BigInt(deepId)) {
      throw new Error(`unexpected pages: first ${first.memory.events.items.length} items, deep ${deep.memory.events.items.length} from id ${deep.memory.events.items[0]?.id}`);
    }
    console.log(`projection: ${proj.memory.projection.conversationCount} conversations (cached from here on)`);
    console.log(`SQL alone (EXPLAIN ANALYZE): first page ${await sqlMs(db, nftId, null)}; deep page ${await sqlMs(db, nftId, deepId)}`);

    const rows: Record<string, LoadResult> = {};
    for (const [name, t] of Object.entries(targets)) {
      await warm(t);
      rows[name] = await load(name, t);
    }
    // The same pages one at a time: the latency of a page itself, without queueing behind 31 others.
    rows.firstPage1 = await load('firstPage (1 connection)', targets.firstPage, 1);
    rows.deepPage1 = await load('deepPage (1 connection)', targets.deepPage, 1);
    printTable(Object.values(rows));
    console.log('');
    const r = rows as Record<'health' | 'projection' | 'firstPage' | 'deepPage' | 'firstPage1' | 'deepPage1', LoadResult>;
    ratio('cached memory projection vs { health { status } }', r.projection, r.health, 0.8);
    const pages: Array<[LoadResult, string]> = [
      [r.firstPage1, 'first page, 1 connection'],
      [r.deepPage1, 'deep page, 1 connection'],
      [r.firstPage, `first page, ${LOAD.connections} connections`],
      [r.deepPage, `deep page, ${LOAD.connections} connections`],
    ];
    for (const [p, label] of pages) verdict(p.p99 <= 20, `memory events p99 (${label})`, `${p.p99} ms (target ≤ 20 ms)`);
  } finally {
    await dixie?.stop();
    await sim.close();
    await db.end().catch(() => undefined);
    await schema.drop();
    await rm(dir, { recursive: true, force: true });
  }
}
