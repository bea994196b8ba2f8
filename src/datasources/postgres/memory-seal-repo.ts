import type { ConversationCipher } from '../../domain/memory-crypto.js';
import type { Db, Queryable } from './db.js';
import { insertEvents, type MemoryPolicy } from './memory-repo.js';

export interface SealRecord {
  conversationId: string;
  sealedAt: Date;
  sealedEventCount: number;
  policy: Record<string, unknown>;
}

export interface DeleteRecord {
  conversationId: string;
  deletedAt: Date;
  erasedEventCount: number;
}

const CHUNK = 500;

const lockConversation = (tx: Queryable, nftId: string, conversationId: string) =>
  tx.query<Record<string, unknown>>(
    'SELECT sealed_at, seal_policy, sealed_event_count FROM memory_conversations WHERE nft_id = $1 AND conversation_id = $2 FOR UPDATE',
    [nftId, conversationId],
  );

/** Encrypts every plaintext payload of the conversation; a second call returns the first result. null: no such conversation. */
export async function sealConversation(
  db: Db,
  req: { nftId: string; conversationId: string; actorWallet: string; policy: Record<string, unknown>; cipher: ConversationCipher },
): Promise<SealRecord | null> {
  return db.transaction(async (tx) => {
    const conv = (await lockConversation(tx, req.nftId, req.conversationId)).rows[0];
    if (!conv) return null;
    if (conv.sealed_at) {
      const policy = (conv.seal_policy ?? {}) as Record<string, unknown>;
      return { conversationId: req.conversationId, sealedAt: new Date(conv.sealed_at as string), sealedEventCount: Number(conv.sealed_event_count ?? 0), policy };
    }
    const plain = await tx.query<{ id: string; payload: unknown }>(
      'SELECT id, payload FROM memory_events WHERE nft_id = $1 AND conversation_id = $2 AND payload IS NOT NULL AND sealed IS NULL ORDER BY id',
      [req.nftId, req.conversationId],
    );
    for (let i = 0; i < plain.rows.length; i += CHUNK) {
      const chunk = plain.rows.slice(i, i + CHUNK);
      await tx.query(
        `UPDATE memory_events AS e SET payload = NULL, sealed = decode(v.hex, 'hex')
         FROM unnest($1::bigint[], $2::text[]) AS v(id, hex) WHERE e.id = v.id`,
        [chunk.map((r) => String(r.id)), chunk.map((r) => req.cipher.seal(r.payload).toString('hex'))],
      );
    }
    const count = plain.rows.length;
    await insertEvents(tx, req.nftId, req.conversationId, req.actorWallet, [{ type: 'seal', payload: { policy: req.policy, sealedEventCount: count }, sealed: null }]);
    const done = await tx.query<{ sealed_at: string }>(
      `UPDATE memory_conversations SET sealed_at = now(), seal_policy = $3::jsonb, sealed_event_count = $4, event_count = event_count + 1, last_event_at = now()
       WHERE nft_id = $1 AND conversation_id = $2 RETURNING sealed_at`,
      [req.nftId, req.conversationId, JSON.stringify(req.policy), count],
    );
    return { conversationId: req.conversationId, sealedAt: new Date(done.rows[0]!.sealed_at), sealedEventCount: count, policy: req.policy };
  });
}

/** Erases every payload of the conversation (plaintext and sealed) and records a `delete` event. null: no such conversation. */
export async function deleteConversation(db: Db, req: { nftId: string; conversationId: string; actorWallet: string }): Promise<DeleteRecord | null> {
  return db.transaction(async (tx) => {
    if (!(await lockConversation(tx, req.nftId, req.conversationId)).rows[0]) return null;
    const erased = await tx.query(
      `UPDATE memory_events SET payload = NULL, sealed = NULL, erased = true
       WHERE nft_id = $1 AND conversation_id = $2 AND type <> 'delete' AND (payload IS NOT NULL OR sealed IS NOT NULL)`,
      [req.nftId, req.conversationId],
    );
    await insertEvents(tx, req.nftId, req.conversationId, req.actorWallet, [{ type: 'delete', payload: { erasedEventCount: erased.rowCount }, sealed: null }]);
    const done = await tx.query<{ deleted_at: string }>(
      `UPDATE memory_conversations SET deleted_at = now(), event_count = event_count + 1, last_event_at = now()
       WHERE nft_id = $1 AND conversation_id = $2 RETURNING deleted_at`,
      [req.nftId, req.conversationId],
    );
    return { conversationId: req.conversationId, deletedAt: new Date(done.rows[0]!.deleted_at), erasedEventCount: erased.rowCount };
  });
}

/** Sets who besides owner and delegates may read, recorded as an NFT-level `policy_change` event. */
export async function setPolicy(db: Db, req: { nftId: string; access: MemoryPolicy; actorWallet: string }): Promise<void> {
  await db.transaction(async (tx) => {
    await tx.query(
      `INSERT INTO memory_policies (nft_id, access, updated_by) VALUES ($1, $2, $3)
       ON CONFLICT (nft_id) DO UPDATE SET access = EXCLUDED.access, updated_by = EXCLUDED.updated_by, updated_at = now()`,
      [req.nftId, req.access, req.actorWallet],
    );
    await insertEvents(tx, req.nftId, '', req.actorWallet, [{ type: 'policy_change', payload: { access: req.access }, sealed: null }]);
  });
}
