import pg from 'pg';
import { expect } from 'vitest';
import { walletAuth } from './auth.js';
import type { TestDixie } from './dixie.js';
import { PG_URL } from './services.js';

export const MEMORY_QUERY = /* GraphQL */ `
  query Memory($n: ID!, $first: Int, $after: String, $c: ID, $types: [MemoryEventType!]) {
    memory(nftId: $n) {
      nftId isOwner
      projection { conversationCount sealedConversationCount lastInteraction recentTopics unresolvedQuestions activeSummary }
      events(first: $first, after: $after, conversationId: $c, types: $types) {
        items { id conversationId type payload encrypted erased actorWallet createdAt }
        nextCursor
      }
      conversations(first: 20) { items { id eventCount sealed deleted } nextCursor }
    }
  }
`;

export interface MemoryEventJson {
  id: string;
  conversationId: string;
  type: string;
  payload: Record<string, unknown> | null;
  encrypted: boolean;
  erased: boolean;
  actorWallet: string | null;
}

export interface MemoryJson {
  nftId: string;
  isOwner: boolean;
  projection: { conversationCount: number; sealedConversationCount: number; lastInteraction: string | null; recentTopics: string[]; unresolvedQuestions: string[]; activeSummary: string | null };
  events: { items: MemoryEventJson[]; nextCursor: string | null };
  conversations: { items: Array<{ id: string; eventCount: number; sealed: boolean; deleted: boolean }>; nextCursor: string | null };
}

/** Raw rows of one test schema, read around Dixie (to see what is really stored). */
export async function rawRows(schema: string, sql: string, params: unknown[] = []): Promise<Array<Record<string, unknown>>> {
  const c = new pg.Client({ connectionString: PG_URL });
  await c.connect();
  try {
    await c.query(`SET search_path TO "${schema}"`);
    return (await c.query(sql, params)).rows as Array<Record<string, unknown>>;
  } finally {
    await c.end();
  }
}

/** The `memory` query as `wallet` (anonymous for null); `vars` adds `c`, `first`, `after`, `types`. */
export async function memoryAs(d: TestDixie, wallet: string | null, nftId: string, vars: Record<string, unknown> = {}) {
  return d.gql<{ memory: MemoryJson | null }>(MEMORY_QUERY, { n: nftId, ...vars }, wallet ? await walletAuth(wallet) : {});
}

/** `memoryAs` for a reader who must see it. */
export async function readMemory(d: TestDixie, wallet: string, nftId: string, vars: Record<string, unknown> = {}): Promise<MemoryJson> {
  const res = await memoryAs(d, wallet, nftId, vars);
  expect(res.body.errors).toBeUndefined();
  return res.body.data!.memory!;
}

/** A chat session of `wallet` on `nftId`, its id. */
export async function startChatOn(d: TestDixie, wallet: string, nftId: string): Promise<string> {
  const res = await d.gql<{ startChat: { id: string } }>('mutation($n: ID) { startChat(nftId: $n) { id } }', { n: nftId }, await walletAuth(wallet));
  expect(res.body.errors).toBeUndefined();
  return res.body.data!.startChat.id;
}
