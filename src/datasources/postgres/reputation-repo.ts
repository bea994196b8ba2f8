import { aggregateOf, type QualitySignal, type ReputationAggregate } from '../../domain/reputation.js';
import type { Db, Queryable } from './db.js';

/** The collection score: the mean of every NFT's personal mean (NFTs with at least one signal). */
async function collectionScore(q: Queryable): Promise<number> {
  const { rows } = await q.query<{ c: number | null }>('SELECT avg(score_sum / sample_count) AS c FROM reputation_aggregates WHERE sample_count > 0');
  return Number(rows[0]?.c ?? 0);
}

/**
 * Applies one quality signal exactly once: the message id is inserted in the same transaction as
 * the aggregate update, so a redelivered id (unique violation avoided by DO NOTHING) changes nothing.
 * Returns null for a duplicate.
 */
export async function applySignal(db: Db, msgId: string, s: QualitySignal): Promise<ReputationAggregate | null> {
  return db.transaction(async (tx) => {
    const fresh = await tx.query(
      'INSERT INTO reputation_signals (msg_id, nft_id, score, task_type) VALUES ($1, $2, $3, $4) ON CONFLICT (msg_id) DO NOTHING RETURNING msg_id',
      [msgId, s.nftId, s.score, s.taskType],
    );
    if (fresh.rowCount === 0) return null;
    const { rows } = await tx.query<{ score_sum: number; sample_count: number; updated_at: Date }>(
      `INSERT INTO reputation_aggregates (nft_id, score_sum, sample_count, updated_at) VALUES ($1, $2, 1, now())
       ON CONFLICT (nft_id) DO UPDATE SET score_sum = reputation_aggregates.score_sum + EXCLUDED.score_sum,
         sample_count = reputation_aggregates.sample_count + 1, updated_at = now()
       RETURNING score_sum, sample_count, updated_at`,
      [s.nftId, s.score],
    );
    const r = rows[0]!;
    const agg = aggregateOf({
      nftId: s.nftId,
      scoreSum: Number(r.score_sum),
      sampleCount: Number(r.sample_count),
      collectionScore: await collectionScore(tx),
      updatedAt: new Date(r.updated_at).toISOString(),
    });
    // Snapshot columns for readers of the table; the API recomputes the collection part on read.
    await tx.query(
      `UPDATE reputation_aggregates SET state = $2, personal_score = $3, collection_score = $4, blended_score = $5 WHERE nft_id = $1`,
      [s.nftId, agg.state, agg.personalScore ?? 0, agg.collectionScore, agg.blendedScore],
    );
    return agg;
  });
}

/** The aggregate with the current collection mean; a COLD zero-sample aggregate when none exists. */
export async function readAggregate(q: Queryable, nftId: string): Promise<ReputationAggregate> {
  const { rows } = await q.query<{ score_sum: number; sample_count: number; updated_at: Date }>(
    'SELECT score_sum, sample_count, updated_at FROM reputation_aggregates WHERE nft_id = $1',
    [nftId],
  );
  const r = rows[0];
  return aggregateOf({
    nftId,
    scoreSum: Number(r?.score_sum ?? 0),
    sampleCount: Number(r?.sample_count ?? 0),
    collectionScore: await collectionScore(q),
    updatedAt: r ? new Date(r.updated_at).toISOString() : null,
  });
}
