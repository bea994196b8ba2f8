import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newWallet, walletAuth, writeAllowlist } from '../helpers/auth.js';
import { chatOverWs, wsClient } from '../helpers/chat.js';
import { startDixie, waitFor, type TestDixie } from '../helpers/dixie.js';
import { rawRows, readMemory, startChatOn } from '../helpers/memory.js';
import { giveWallet } from '../helpers/schedules.js';
import { createTestSchema, uniqueTag } from '../helpers/services.js';
import { startFinnSim, type FinnSim } from '../finn-sim/index.js';

const tag = uniqueTag('memory_delete_race');
const owner = newWallet();
const NFT = 'mibera:710';
const DELETE = 'mutation($n: ID!, $c: ID!) { deleteConversation(nftId: $n, conversationId: $c) { erasedEventCount } }';
let sim: FinnSim;
let d: TestDixie;
let dir: string;
let schema: Awaited<ReturnType<typeof createTestSchema>>;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dixie-memdel-'));
  await writeAllowlist(join(dir, 'allowlist.json'), [owner]);
  schema = await createTestSchema(tag);
  sim = await startFinnSim();
  giveWallet(sim, owner, 10, [NFT]);
  d = await startDixie({ sim, env: { DATABASE_URL: schema.url, DIXIE_ALLOWLIST_PATH: join(dir, 'allowlist.json') }, memoryWriter: { baseDelayMs: 20, attempts: 3 } });
});

afterAll(async () => {
  await d?.stop();
  await sim?.close();
  await schema?.drop();
  await rm(dir, { recursive: true, force: true });
});

describe('soul memory: a conversation deleted mid-turn', () => {
  it('stores what the turn still says afterwards without payload, and keeps it out of the projection', async () => {
    sim.control.setStream({ deltas: 100, delayMs: 30, tools: true });
    const session = await startChatOn(d, owner, NFT);
    const client = wsClient(d.wsUrl, await walletAuth(owner));
    const turn = chatOverWs(client, { sessionId: session, text: 'zeppelins over marzipan?' });
    // The prompt is written when the turn starts; the answer only once it ends.
    await waitFor(async () => (await rawRows(tag, 'SELECT 1 FROM memory_events WHERE conversation_id = $1', [session])).length > 0, { what: 'the prompt stored' });
    const deleted = await d.gql<{ deleteConversation: { erasedEventCount: number } }>(DELETE, { n: NFT, c: session }, await walletAuth(owner));
    expect(deleted.body.errors).toBeUndefined();
    const res = await turn;
    await client.dispose();
    expect(res.events.at(-1)).toMatchObject({ __typename: 'ChatAgentEnd' });
    await waitFor(() => d.server.ds.memory.writerSessions() === 0, { what: 'the writer to hold no session' });

    const rows = await rawRows(tag, 'SELECT id, type, payload, sealed, erased FROM memory_events WHERE conversation_id = $1 ORDER BY id', [session]);
    const deleteAt = rows.findIndex((r) => r.type === 'delete');
    // The answer and the tool call arrived after the delete and were still recorded, as events.
    expect(rows.slice(deleteAt + 1).map((r) => r.type)).toEqual(['message', 'tool_use']);
    expect(rows.filter((r) => r.type !== 'delete' && (r.payload !== null || r.sealed !== null))).toEqual([]);
    expect(rows.filter((r) => r.type !== 'delete').every((r) => r.erased === true)).toBe(true);
    expect(JSON.stringify(rows)).not.toMatch(/zeppelin|marzipan/);

    const memory = await readMemory(d, owner, NFT);
    expect(memory.projection).toMatchObject({ conversationCount: 0, recentTopics: [], unresolvedQuestions: [] });
    expect(memory.conversations.items).toEqual([expect.objectContaining({ id: session, deleted: true })]);
  });
});
