import { dixieError } from '../../errors.js';
import { STALE_AFTER_MS, staleShareStatus } from '../../domain/governor.js';
import type { Governor } from '../governors.js';
import type { Db } from './db.js';

export interface KnowledgePriority {
  sourceId: string;
  averagePriority: number;
  voteCount: number;
  lastVotedAt: Date;
}

/** Sources are whatever voters name (Finn's B1 is absent today), so each wallet may name this many. */
export const MAX_SOURCES_PER_WALLET = 100;

export interface KnowledgeVoteRepo {
  /**
   * One vote per wallet per source: a second vote replaces the first. Returns the source's totals.
   * A vote on a new source past MAX_SOURCES_PER_WALLET is BAD_USER_INPUT.
   */
  vote(sourceId: string, wallet: string, priority: number): Promise<KnowledgePriority>;
  /** Sources by average priority, highest first. */
  priorities(limit: number): Promise<KnowledgePriority[]>;
  /** knowledge_governor (domain.md): sources with votes; stale = no vote for 30 days. */
  governor: Governor;
}

interface Row {
  source_id: string;
  average_priority: number;
  vote_count: number;
  last_voted_at: Date | string;
}

const SUMMARY = `SELECT source_id, avg(priority)::float8 AS average_priority, count(*)::int AS vote_count, max(voted_at) AS last_voted_at
  FROM knowledge_priority_votes`;

const toPriority = (r: Row): KnowledgePriority => ({
  sourceId: r.source_id,
  averagePriority: r.average_priority,
  voteCount: r.vote_count,
  lastVotedAt: new Date(r.last_voted_at),
});

export function createKnowledgeVoteRepo(db: Db): KnowledgeVoteRepo {
  return {
    vote: (sourceId, wallet, priority) =>
      db.transaction(async (tx) => {
        const voter = wallet.toLowerCase();
        // Serialised per wallet: two concurrent votes on new sources cannot both see 99.
        await tx.query(`SELECT pg_advisory_xact_lock(hashtext('dixie:knowledge-votes:' || current_schema() || ':' || $1))`, [voter]);
        const others = await tx.query<{ n: number }>('SELECT count(*)::int AS n FROM knowledge_priority_votes WHERE wallet = $1 AND source_id <> $2', [
          voter,
          sourceId,
        ]);
        if ((others.rows[0]?.n ?? 0) >= MAX_SOURCES_PER_WALLET) {
          throw dixieError('BAD_USER_INPUT', `A wallet can vote on at most ${MAX_SOURCES_PER_WALLET} knowledge sources`, { field: 'sourceId' });
        }
        await tx.query(
          `INSERT INTO knowledge_priority_votes (source_id, wallet, priority, voted_at) VALUES ($1, $2, $3, now())
           ON CONFLICT (source_id, wallet) DO UPDATE SET priority = EXCLUDED.priority, voted_at = EXCLUDED.voted_at`,
          [sourceId, voter, priority],
        );
        const { rows } = await tx.query<Row>(`${SUMMARY} WHERE source_id = $1 GROUP BY source_id`, [sourceId]);
        return toPriority(rows[0]!);
      }),
    async priorities(limit) {
      const { rows } = await db.query<Row>(`${SUMMARY} GROUP BY source_id ORDER BY average_priority DESC, vote_count DESC, source_id LIMIT $1`, [
        limit,
      ]);
      return rows.map(toPriority);
    },
    governor: {
      resourceType: 'knowledge_governor',
      async read() {
        const { rows } = await db.query<{ total: number; stale: number }>(
          `SELECT count(*)::int AS total, count(*) FILTER (WHERE last_voted_at < now() - make_interval(secs => $1))::int AS stale
             FROM (SELECT max(voted_at) AS last_voted_at FROM knowledge_priority_votes GROUP BY source_id) s`,
          [STALE_AFTER_MS / 1000],
        );
        const total = rows[0]?.total ?? 0;
        const stale = rows[0]?.stale ?? 0;
        return { status: staleShareStatus(total, stale), totalItems: total, staleItems: stale };
      },
    },
  };
}
