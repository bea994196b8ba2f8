import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newWallet, walletAuth, writeAllowlist } from '../helpers/auth.js';
import { chatOverWs, wsClient } from '../helpers/chat.js';
import { startDixie, waitFor, type TestDixie } from '../helpers/dixie.js';
import { readMemory, startChatOn } from '../helpers/memory.js';
import { giveWallet } from '../helpers/schedules.js';
import { createTestSchema, NATS_URL, REDIS_URL, uniqueTag } from '../helpers/services.js';
import { startFinnSim, type FinnSim } from '../finn-sim/index.js';

const tag = uniqueTag('memown');
const alice = newWallet();
const bob = newWallet();
const NFT = 'mibera:710';
let sim: FinnSim;
let d: TestDixie;
let dir: string;
let schema: Awaited<ReturnType<typeof createTestSchema>>;

const readMemoryOf = (wallet: string, conversationId?: string) => readMemory(d, wallet, NFT, { c: conversationId ?? null });
const startChat = (wallet: string) => startChatOn(d, wallet, NFT);
async function chat(wallet: string, sessionId: string, text: string): Promise<void> {
  const client = wsClient(d.wsUrl, await walletAuth(wallet));
  const res = await chatOverWs(client, { sessionId, text });
  await client.dispose();
  expect(res.errors).toEqual([]);
}
const eventsOf = (reader: string, sessionId: string, n: number) =>
  waitFor(async () => {
    const items = (await readMemoryOf(reader, sessionId)).events.items;
    return items.length >= n ? items : null;
  }, { what: `${n} memory events of ${sessionId}` });
/** The wallet's NFTs as Dixie's ownership cache (the one the memory writer asks) currently sees them. */
async function ownedNfts(wallet: string): Promise<string[]> {
  const res = await d.gql<{ viewer: { nfts: Array<{ nftId: string }> } }>('{ viewer { nfts { nftId } } }', {}, await walletAuth(wallet));
  return res.body.data!.viewer.nfts.map((n) => n.nftId);
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dixie-memown-'));
  await writeAllowlist(join(dir, 'allowlist.json'), [alice, bob]);
  schema = await createTestSchema(tag);
  sim = await startFinnSim();
  giveWallet(sim, alice, 10, [NFT]);
  giveWallet(sim, bob, 10, []);
  sim.control.setStream({ deltas: 3, delayMs: 2, tools: false });
  const env = { DATABASE_URL: schema.url, REDIS_URL, NATS_URL, DIXIE_ALLOWLIST_PATH: join(dir, 'allowlist.json'), DIXIE_NFT_OWNERSHIP_TTL: '1' };
  d = await startDixie({ sim, env, redisKeyPrefix: `${tag}:`, natsSubjectPrefix: `${tag}.`, memoryWriter: { baseDelayMs: 20, attempts: 3 } });
});

afterAll(async () => {
  await d?.stop();
  await sim?.close();
  await schema?.drop();
  await rm(dir, { recursive: true, force: true });
});

describe('soul memory after an NFT transfer', () => {
  it('stops recording the old owner in its open session once the ownership cache sees the transfer, and records the new owner', async () => {
    const session = await startChat(alice);
    await chat(alice, session, 'Where do dragons sleep?');
    const before = await eventsOf(alice, session, 2);
    expect(before.every((e) => e.actorWallet === alice.toLowerCase())).toBe(true);

    giveWallet(sim, alice, 10, []);
    giveWallet(sim, bob, 10, [NFT]);
    await waitFor(async () => !(await ownedNfts(alice)).includes(NFT), { what: 'the transfer in the ownership cache' });

    await chat(alice, session, 'Where is the griffin lair?');
    // Either the writer reports the batch it skipped, or (the bug) the turn lands in Bob's NFT memory.
    const after = await waitFor(async () => {
      const items = (await readMemoryOf(bob, session)).events.items;
      const skipped = d.logs.some((l) => l.event === 'memory_not_owner' && l.session_id === session);
      return skipped || items.length > before.length ? items : null;
    }, { what: "alice's later turn to be skipped" });
    expect(after.map((e) => e.id)).toEqual(before.map((e) => e.id));
    expect(JSON.stringify(after)).not.toContain('griffin');

    const bobSession = await startChat(bob);
    await chat(bob, bobSession, 'Tell me about honeycomb');
    const bobs = await eventsOf(bob, bobSession, 2);
    expect(bobs.every((e) => e.actorWallet === bob.toLowerCase())).toBe(true);
    expect(bobs.map((e) => e.payload)).toContainEqual({ role: 'user', text: 'Tell me about honeycomb' });
    expect((await readMemoryOf(bob, session)).events.items.map((e) => e.id)).toEqual(before.map((e) => e.id));
  });
});
