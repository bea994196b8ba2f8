import { storableText } from '../../domain/text.js';
import type { ConversationCipher } from '../../domain/memory-crypto.js';
import type { MemoryEventType, NewMemoryEvent } from '../../domain/memory-events.js';
import { RECENT_MESSAGES, type ProjectionInput, type ProjectionMessage } from '../../domain/memory-projection.js';
import type { Db, Queryable } from './db.js';

export interface MemoryEventRow {
  id: string;
  nftId: string;
  conversationId: string;
  type: MemoryEventType;
  payload: unknown;
  sealed: Buffer | null;
  erased: boolean;
  actorWallet: string | null;
  createdAt: Date;
}

export interface ConversationRow {
  id: string;
  conversationId: string;
  eventCount: number;
  startedAt: Date;
  lastEventAt: Date;
  sealedAt: Date | null;
  deletedAt: Date | null;
}

export type MemoryPolicy = 'none' | 'read_only';

type Raw = Record<string, unknown>;
const date = (v: unknown) => new Date(v as string | Date);
const maybeDate = (v: unknown) => (v === null || v === undefined ? null : date(v));

export const toEventRow = (r: Raw): MemoryEventRow => ({
  id: String(r.id),
  nftId: r.nft_id as string,
  conversationId: r.conversation_id as string,
  type: r.type as MemoryEventType,
  payload: r.payload ?? null,
  sealed: r.sealed ? Buffer.from(r.sealed as Uint8Array) : null,
  erased: r.erased === true,
  actorWallet: (r.actor_wallet as string | null) ?? null,
  createdAt: date(r.created_at),
});

const EVENT_COLUMNS = 'id, nft_id, conversation_id, type, payload, sealed, erased, actor_wallet, created_at';

/** Finn's output can hold U+0000 or unpaired surrogates, which jsonb refuses: the whole batch was lost. */
const storableStrings = (_key: string, value: unknown): unknown => (typeof value === 'string' ? storableText(value) : value);

/** A row to insert: its payload in plaintext, sealed (ciphertext), or erased (neither is stored). */
export type EventToInsert = { type: string; payload: unknown; sealed: Buffer | null; erased?: boolean };

export async function insertEvents(tx: Queryable, nftId: string, conversationId: string, actor: string | null, rows: EventToInsert[]): Promise<string[]> {
  if (!rows.length) return [];
  const params: unknown[] = [nftId, conversationId, actor];
  const values = rows.map((r) => {
    const erased = r.erased === true;
    params.push(r.type, r.sealed || erased ? null : JSON.stringify(r.payload, storableStrings), erased ? null : r.sealed, erased);
    const n = params.length;
    return `($1, $2, $3, $${n - 3}, $${n - 2}::jsonb, $${n - 1}::bytea, $${n}::boolean)`;
  });
  const res = await tx.query<{ id: string }>(
    `INSERT INTO memory_events (nft_id, conversation_id, actor_wallet, type, payload, sealed, erased) VALUES ${values.join(', ')} RETURNING id`,
    params,
  );
  return res.rows.map((r) => String(r.id));
}

/** chat: a chat session's traffic; schedule: a schedule's schedule_create and schedule_fire events (its id names it). */
export type ConversationKind = 'chat' | 'schedule';

export interface AppendBatch {
  nftId: string;
  conversationId: string;
  actorWallet: string | null;
  events: readonly NewMemoryEvent[];
  batchId?: string;
  /** Set when the conversation row is created (default chat). */
  kind?: ConversationKind;
}

/** Appends one batch in one transaction (see appendInTransaction). */
export function appendEvents(db: Db, batch: AppendBatch, cipherFor: (conversationId: string) => ConversationCipher | null): Promise<string[]> {
  if (!batch.events.length) return Promise.resolve([]);
  return db.transaction((tx) => appendInTransaction(tx, batch, cipherFor));
}

/**
 * Appends one batch within the caller's transaction. The conversation row is upserted first: that
 * row lock orders the batch against sealing and deletion, and tells whether the batch must be
 * sealed as well, or stored erased: a turn that goes on after its conversation was deleted (or a
 * batch that waited on the delete's lock, or was retried) must not bring plaintext back.
 */
export async function appendInTransaction(tx: Queryable, batch: AppendBatch, cipherFor: (conversationId: string) => ConversationCipher | null): Promise<string[]> {
  if (!batch.events.length) return [];
  // A batch with an id is appended once: the same id as the conversation's last batch means a
  // retry of a transaction that did commit (its reply was lost), and no row comes back.
  const conv = await tx.query<{ sealed_at: unknown; deleted_at: unknown }>(
    `INSERT INTO memory_conversations (nft_id, conversation_id, event_count, last_batch_id, kind) VALUES ($1, $2, $3, $4, $5)
     ON CONFLICT (nft_id, conversation_id) DO UPDATE
       SET event_count = memory_conversations.event_count + EXCLUDED.event_count, last_event_at = now(), last_batch_id = EXCLUDED.last_batch_id
       WHERE EXCLUDED.last_batch_id IS NULL OR memory_conversations.last_batch_id IS DISTINCT FROM EXCLUDED.last_batch_id
     RETURNING sealed_at, deleted_at`,
    [batch.nftId, batch.conversationId, batch.events.length, batch.batchId ?? null, batch.kind ?? 'chat'],
  );
  if (conv.rowCount === 0) return [];
  if (conv.rows[0]?.deleted_at) {
    return insertEvents(tx, batch.nftId, batch.conversationId, batch.actorWallet, batch.events.map((e) => ({ type: e.type, payload: null, sealed: null, erased: true })));
  }
  let cipher: ConversationCipher | null = null;
  if (conv.rows[0]?.sealed_at) {
    cipher = cipherFor(batch.conversationId);
    if (!cipher) throw new Error('conversation is sealed but no seal key is configured');
  }
  const rows = batch.events.map((e) => ({ type: e.type, payload: e.payload, sealed: cipher ? cipher.seal(e.payload) : null }));
  return insertEvents(tx, batch.nftId, batch.conversationId, batch.actorWallet, rows);
}

export interface EventsQuery {
  nftId: string;
  beforeId: string | null;
  conversationId: string | null;
  types: readonly string[] | null;
  limit: number;
}

/** Keyset pagination, newest first; only the conditions in use are in the SQL so the index applies. */
export function eventsPageQuery(q: EventsQuery): { text: string; params: unknown[] } {
  const params: unknown[] = [q.nftId];
  const where = ['nft_id = $1'];
  if (q.conversationId !== null) where.push(`conversation_id = $${params.push(q.conversationId)}`);
  if (q.beforeId !== null) where.push(`id < $${params.push(q.beforeId)}`);
  if (q.types?.length) where.push(`type = ANY($${params.push([...q.types])}::text[])`);
  return { text: `SELECT ${EVENT_COLUMNS} FROM memory_events WHERE ${where.join(' AND ')} ORDER BY id DESC LIMIT $${params.push(q.limit)}`, params };
}

export async function listEvents(db: Queryable, q: EventsQuery): Promise<MemoryEventRow[]> {
  const { text, params } = eventsPageQuery(q);
  return (await db.query<Raw>(text, params)).rows.map(toEventRow);
}

export async function listConversations(db: Queryable, q: { nftId: string; beforeId: string | null; includeSealed: boolean; limit: number }): Promise<ConversationRow[]> {
  const params: unknown[] = [q.nftId];
  // Chat conversations only: a schedule's events are no conversation with anyone (and are read by events()).
  const where = ['nft_id = $1', "kind = 'chat'"];
  if (q.beforeId !== null) where.push(`id < $${params.push(q.beforeId)}`);
  if (!q.includeSealed) where.push('sealed_at IS NULL');
  const res = await db.query<Raw>(
    `SELECT id, conversation_id, event_count, started_at, last_event_at, sealed_at, deleted_at FROM memory_conversations
     WHERE ${where.join(' AND ')} ORDER BY id DESC LIMIT $${params.push(q.limit)}`,
    params,
  );
  return res.rows.map((r) => ({
    id: String(r.id),
    conversationId: r.conversation_id as string,
    eventCount: Number(r.event_count),
    startedAt: date(r.started_at),
    lastEventAt: date(r.last_event_at),
    sealedAt: maybeDate(r.sealed_at),
    deletedAt: maybeDate(r.deleted_at),
  }));
}

/**
 * What the projections of several NFTs are computed from, in two queries: chat conversations and
 * message events only, so a schedule's events never count as conversations, topics or questions.
 */
export async function projectionInputs(db: Queryable, nftIds: readonly string[]): Promise<Map<string, ProjectionInput>> {
  const out = new Map<string, ProjectionInput>(nftIds.map((id) => [id, { conversationCount: 0, sealedConversationCount: 0, lastInteraction: null, messages: [] }]));
  const counts = await db.query<Raw>(
    `SELECT nft_id, count(*) AS total, count(sealed_at) AS sealed, max(last_event_at) AS last FROM memory_conversations
     WHERE nft_id = ANY($1::text[]) AND deleted_at IS NULL AND kind = 'chat' GROUP BY nft_id`,
    [[...nftIds]],
  );
  for (const r of counts.rows) {
    const p = out.get(r.nft_id as string)!;
    p.conversationCount = Number(r.total);
    p.sealedConversationCount = Number(r.sealed);
    p.lastInteraction = r.last ? date(r.last).toISOString() : null;
  }
  const messages = await db.query<Raw>(
    `SELECT n.nft_id, m.conversation_id, m.payload, m.created_at FROM unnest($1::text[]) AS n(nft_id)
     CROSS JOIN LATERAL (SELECT conversation_id, payload, created_at, id FROM memory_events e
       WHERE e.nft_id = n.nft_id AND e.type = 'message' ORDER BY e.id DESC LIMIT ${RECENT_MESSAGES}) m
     WHERE m.payload IS NOT NULL ORDER BY m.id`,
    [[...nftIds]],
  );
  for (const r of messages.rows) {
    const payload = r.payload as { role?: unknown; text?: unknown };
    if ((payload.role !== 'user' && payload.role !== 'assistant') || typeof payload.text !== 'string') continue;
    const m: ProjectionMessage = { conversationId: r.conversation_id as string, role: payload.role, text: payload.text, createdAt: date(r.created_at).toISOString() };
    out.get(r.nft_id as string)!.messages.push(m);
  }
  return out;
}

export async function getPolicy(db: Queryable, nftId: string): Promise<MemoryPolicy> {
  const res = await db.query<{ access: string }>('SELECT access FROM memory_policies WHERE nft_id = $1', [nftId]);
  return res.rows[0]?.access === 'read_only' ? 'read_only' : 'none';
}
