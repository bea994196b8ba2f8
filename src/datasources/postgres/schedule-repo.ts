import { assertTransition, MAX_ACTIVE_SCHEDULES_PER_NFT, TERMINAL_STATUSES, type ScheduleStatus } from '../../domain/schedule-state.js';
import type { Db, Queryable } from './db.js';
import { EXECUTION_COLUMNS, toExecution, toSchedule, type FiredBy, type Schedule, type ScheduleExecution } from './schedule-rows.js';

export class ScheduleLimitError extends Error {
  constructor(readonly limit: number) {
    super(`At most ${limit} active schedules per NFT`);
    this.name = 'ScheduleLimitError';
  }
}

export type NewSchedule = Pick<Schedule, 'id' | 'nftId' | 'ownerWallet' | 'name' | 'expression' | 'cron' | 'humanReadable' | 'prompt' | 'maxFires'>;

const TERMINAL_SQL = TERMINAL_STATUSES.map((s) => `'${s}'`).join(', ');

/** Inserts a PENDING schedule unless the NFT already has 50 non-terminal ones (serialised per NFT). */
export async function insertPending(db: Db, s: NewSchedule): Promise<Schedule> {
  return db.transaction(async (tx) => {
    // A per-NFT transaction lock: two concurrent creations cannot both see 49.
    await tx.query(`SELECT pg_advisory_xact_lock(hashtext('dixie:schedules:' || current_schema() || ':' || $1))`, [s.nftId]);
    const { rows } = await tx.query<{ n: string }>(
      `SELECT count(*) AS n FROM schedules WHERE nft_id = $1 AND status NOT IN (${TERMINAL_SQL})`,
      [s.nftId],
    );
    if (Number(rows[0]?.n ?? 0) >= MAX_ACTIVE_SCHEDULES_PER_NFT) throw new ScheduleLimitError(MAX_ACTIVE_SCHEDULES_PER_NFT);
    const res = await tx.query(
      `INSERT INTO schedules (id, nft_id, owner_wallet, name, expression, cron, human_readable, prompt, max_fires)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING *`,
      [s.id, s.nftId, s.ownerWallet, s.name, s.expression, s.cron, s.humanReadable, s.prompt, s.maxFires],
    );
    return toSchedule(res.rows[0]!);
  });
}

/**
 * Moves a schedule from one status to another; the state machine decides what is legal and the
 * `WHERE status` guard makes a concurrent move lose instead of overwrite.
 */
export async function transition(
  q: Queryable,
  id: string,
  from: ScheduleStatus,
  to: ScheduleStatus,
  set: { firedBy?: FiredBy; finnCronId?: string | null; nextFireAt?: Date | null } = {},
): Promise<Schedule | null> {
  assertTransition(from, to);
  const res = await q.query(
    `UPDATE schedules SET status = $3, updated_at = now(),
       fired_by = COALESCE($4, fired_by),
       finn_cron_id = CASE WHEN $5::boolean THEN $6 ELSE finn_cron_id END,
       next_fire_at = CASE WHEN $7::boolean THEN $8::timestamptz ELSE next_fire_at END
     WHERE id = $1 AND status = $2 RETURNING *`,
    [id, from, to, set.firedBy ?? null, 'finnCronId' in set, set.finnCronId ?? null, 'nextFireAt' in set, set.nextFireAt ?? null],
  );
  return res.rows[0] ? toSchedule(res.rows[0]) : null;
}

/** Locks the row, checks the transition, cancels; returns the schedule as it was and as it is. */
export async function cancelSchedule(db: Db, id: string): Promise<{ before: Schedule; after: Schedule } | null> {
  return db.transaction(async (tx) => {
    const { rows } = await tx.query('SELECT * FROM schedules WHERE id = $1 FOR UPDATE', [id]);
    if (!rows[0]) return null;
    const before = toSchedule(rows[0]);
    const after = await transition(tx, id, before.status, 'CANCELLED', { nextFireAt: null });
    return after ? { before, after } : null;
  });
}

export async function getSchedule(q: Queryable, id: string): Promise<Schedule | null> {
  const { rows } = await q.query('SELECT * FROM schedules WHERE id = $1', [id]);
  return rows[0] ? toSchedule(rows[0]) : null;
}

export async function listSchedules(q: Queryable, nftId: string): Promise<Schedule[]> {
  const { rows } = await q.query('SELECT * FROM schedules WHERE nft_id = $1 ORDER BY created_at DESC, id LIMIT 200', [nftId]);
  return rows.map(toSchedule);
}

/** Finished executions, newest first; `afterId` is the last id of the previous page. */
export async function listExecutions(
  q: Queryable,
  scheduleId: string,
  first: number,
  afterId: string | null,
): Promise<{ nodes: ScheduleExecution[]; hasNextPage: boolean }> {
  const { rows } = await q.query(
    `SELECT ${EXECUTION_COLUMNS} FROM schedule_executions
     WHERE schedule_id = $1 AND status <> 'RUNNING' AND ($2::bigint IS NULL OR id < $2::bigint)
     ORDER BY id DESC LIMIT $3`,
    [scheduleId, afterId, first + 1],
  );
  return { nodes: rows.slice(0, first).map(toExecution), hasNextPage: rows.length > first };
}

/**
 * Fails PENDING schedules older than `olderThanMs`: a createSchedule cut by a crash between its
 * insert and its activation. They no longer count against the NFT's limit. Concurrent sweeps on
 * several instances each fail a row once (the `WHERE status` guard).
 */
export async function failStalePending(q: Queryable, olderThanMs: number, limit: number): Promise<Array<{ id: string; nftId: string }>> {
  const { rows } = await q.query<{ id: string; nft_id: string }>(
    `UPDATE schedules SET status = 'FAILED', next_fire_at = NULL, updated_at = now()
     WHERE id IN (
       SELECT id FROM schedules WHERE status = 'PENDING' AND created_at < now() - make_interval(secs => $1::double precision / 1000)
       ORDER BY created_at LIMIT $2 FOR UPDATE SKIP LOCKED
     ) AND status = 'PENDING'
     RETURNING id, nft_id`,
    [olderThanMs, limit],
  );
  return rows.map((r) => ({ id: r.id, nftId: r.nft_id }));
}
