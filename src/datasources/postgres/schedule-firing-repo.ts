import { nextFireAt } from '../../domain/schedule-expression.js';
import { assertTransition, type ScheduleStatus } from '../../domain/schedule-state.js';
import type { Db, Queryable } from './db.js';
import { EXECUTION_COLUMNS, toExecution, type OnRecorded, type ScheduleExecution } from './schedule-rows.js';

/** One due firing held by this instance until `lease_until` (its token proves it still holds it). */
export interface Claim {
  executionId: string;
  scheduleId: string;
  nftId: string;
  prompt: string;
  token: string;
  /** The Finn session a previous holder stored before sending the prompt (takeovers only). */
  sessionId: string | null;
  /** When the lease ends at the latest (epoch ms, this instance's clock, taken before the claim). */
  leaseEndsAt: number;
}

export interface FiringResult {
  status: 'SUCCESS' | 'FAILED';
  messageId?: string | null;
  sessionId?: string | null;
  error?: string | null;
}

const LEASE = `now() + ($LEASE::double precision * interval '1 millisecond')`;
const lease = (param: number) => LEASE.replace('$LEASE', `$${param}`);

interface DueRow {
  id: string;
  nft_id: string;
  prompt: string;
  cron: string;
  status: ScheduleStatus;
  next_fire_at: Date;
  fire_count: number;
  max_fires: number | null;
  db_now: Date;
}

/** After a claimed firing: the next due time, or COMPLETED when maxFires is reached or the cron ends. */
function advance(row: DueRow): { next: Date | null; status: ScheduleStatus } {
  const fired = row.fire_count + 1;
  const next = row.max_fires !== null && fired >= row.max_fires ? null : nextFireAt(row.cron, new Date(row.db_now));
  return { next, status: next ? row.status : assertTransition(row.status, 'COMPLETED') };
}

/**
 * Claims due Dixie-fired schedules in one transaction: the rows are locked (SKIP LOCKED, so other
 * instances take other rows), an execution is inserted RUNNING under a lease (unique per
 * (schedule_id, fire_at)) and next_fire_at moves on before the lock is released.
 */
export async function claimDue(db: Db, opts: { limit: number; leaseMs: number; token: string }): Promise<Claim[]> {
  if (opts.limit <= 0) return [];
  const leaseEndsAt = Date.now() + opts.leaseMs;
  return db.transaction(async (tx) => {
    const { rows } = await tx.query<DueRow>(
      `SELECT id, nft_id, prompt, cron, status, next_fire_at, fire_count, max_fires, now() AS db_now FROM schedules
       WHERE status = 'ACTIVE' AND fired_by = 'dixie' AND next_fire_at <= now()
       ORDER BY next_fire_at LIMIT $1 FOR UPDATE SKIP LOCKED`,
      [opts.limit],
    );
    const claims: Claim[] = [];
    for (const row of rows) {
      const ins = await tx.query<{ id: string }>(
        `INSERT INTO schedule_executions (schedule_id, nft_id, source, fire_at, status, claim_token, lease_until)
         VALUES ($1, $2, 'dixie', $3, 'RUNNING', $4, ${lease(5)})
         ON CONFLICT (schedule_id, fire_at) DO NOTHING RETURNING id`,
        [row.id, row.nft_id, row.next_fire_at, opts.token, opts.leaseMs],
      );
      const { next, status } = advance(row);
      await tx.query(
        `UPDATE schedules SET next_fire_at = $2, status = $3, fire_count = fire_count + $4, last_fired_at = $5, updated_at = now()
         WHERE id = $1`,
        [row.id, next, status, ins.rows[0] ? 1 : 0, row.next_fire_at],
      );
      if (ins.rows[0]) claims.push({ executionId: String(ins.rows[0].id), scheduleId: row.id, nftId: row.nft_id, prompt: row.prompt, token: opts.token, sessionId: null, leaseEndsAt });
    }
    return claims;
  });
}

/**
 * Whose orphaned firings are still sent: an ACTIVE schedule, or the COMPLETED one whose last firing
 * it is. PAUSED, CANCELLED or FAILED came after the claim: the user (or Dixie) stopped the schedule.
 */
const STILL_FIRING: readonly ScheduleStatus[] = ['ACTIVE', 'COMPLETED'];

/**
 * Takes over firings whose holder vanished (lease expired): a new token and lease, same execution
 * row. Those of a schedule stopped meanwhile are SKIPPED, and after `maxAttempts` an execution is
 * given up as FAILED; both are returned in `ended`, to be published.
 */
export async function reclaimExpired(
  db: Db,
  opts: { limit: number; leaseMs: number; token: string; maxAttempts: number },
  onRecorded: OnRecorded,
): Promise<{ claims: Claim[]; ended: ScheduleExecution[] }> {
  if (opts.limit <= 0) return { claims: [], ended: [] };
  const leaseEndsAt = Date.now() + opts.leaseMs;
  return db.transaction(async (tx) => {
    const { rows } = await tx.query<{
      id: string;
      schedule_id: string;
      nft_id: string;
      attempts: number;
      session_id: string | null;
      prompt: string;
      schedule_status: ScheduleStatus;
    }>(
      `SELECT e.id, e.schedule_id, e.nft_id, e.attempts, e.session_id, s.prompt, s.status AS schedule_status
       FROM schedule_executions e JOIN schedules s ON s.id = e.schedule_id
       WHERE e.status = 'RUNNING' AND e.lease_until < now() ORDER BY e.lease_until LIMIT $1 FOR UPDATE OF e SKIP LOCKED`,
      [opts.limit],
    );
    const claims: Claim[] = [];
    const ended: ScheduleExecution[] = [];
    const end = async (id: string, status: 'SKIPPED' | 'FAILED', error: string) => {
      const res = await tx.query(
        `UPDATE schedule_executions SET status = $2, error = $3, claim_token = NULL, lease_until = NULL
         WHERE id = $1 RETURNING ${EXECUTION_COLUMNS}`,
        [id, status, error],
      );
      ended.push(toExecution(res.rows[0]!));
    };
    for (const row of rows) {
      if (!STILL_FIRING.includes(row.schedule_status)) {
        await end(row.id, 'SKIPPED', `The schedule was ${row.schedule_status} before this firing was done`);
        continue;
      }
      if (row.attempts >= opts.maxAttempts) {
        await end(row.id, 'FAILED', `Abandoned after ${row.attempts} attempts`);
        continue;
      }
      await tx.query(
        `UPDATE schedule_executions SET claim_token = $2, lease_until = ${lease(3)}, attempts = attempts + 1, fired_at = now()
         WHERE id = $1`,
        [row.id, opts.token, opts.leaseMs],
      );
      claims.push({
        executionId: String(row.id),
        scheduleId: row.schedule_id,
        nftId: row.nft_id,
        prompt: row.prompt,
        token: opts.token,
        sessionId: row.session_id,
        leaseEndsAt,
      });
    }
    // In schedule order on every instance: two ticks lock the same schedules' memory rows in one order, never a deadlock.
    for (const e of [...ended].sort((x, y) => x.scheduleId.localeCompare(y.scheduleId))) await onRecorded(tx, e);
    return { claims, ended };
  });
}

/** Stores the firing's Finn session before its prompt is sent; false when this claim no longer holds it. */
export async function recordSession(q: Queryable, claim: Claim, sessionId: string): Promise<boolean> {
  const res = await q.query(
    `UPDATE schedule_executions SET session_id = $3 WHERE id = $1 AND claim_token = $2 AND status = 'RUNNING'`,
    [claim.executionId, claim.token, sessionId],
  );
  return res.rowCount > 0;
}

/**
 * Records the outcome, only while this claim still holds the execution; null when it lost it.
 * Idempotent: the finished row keeps the claim's token, so a retry after a COMMIT whose reply was
 * lost finds the outcome this claim recorded instead of taking it for another instance's (and
 * `onRecorded` ran once, in the transaction that did commit).
 */
export async function finishFiring(db: Db, claim: Claim, result: FiringResult, onRecorded: OnRecorded): Promise<ScheduleExecution | null> {
  return db.transaction(async (tx) => {
    const res = await tx.query(
      `UPDATE schedule_executions SET status = $3, message_id = $4, session_id = $5, error = $6, lease_until = NULL
       WHERE id = $1 AND claim_token = $2 AND status = 'RUNNING' RETURNING ${EXECUTION_COLUMNS}`,
      [claim.executionId, claim.token, result.status, result.messageId ?? null, result.sessionId ?? null, result.error ?? null],
    );
    if (res.rows[0]) {
      const execution = toExecution(res.rows[0]);
      await onRecorded(tx, execution);
      return execution;
    }
    const done = await tx.query(
      `SELECT ${EXECUTION_COLUMNS} FROM schedule_executions WHERE id = $1 AND claim_token = $2 AND status <> 'RUNNING'`,
      [claim.executionId, claim.token],
    );
    return done.rows[0] ? toExecution(done.rows[0]) : null;
  });
}

/**
 * Gives back firings this instance claimed but never sent (shutdown): due at once for any instance,
 * and the attempt is not counted. Clearing the token makes a second release a no-op.
 */
export async function releaseClaims(q: Queryable, claims: readonly Claim[]): Promise<number> {
  if (claims.length === 0) return 0;
  const res = await q.query(
    `UPDATE schedule_executions e SET lease_until = now(), attempts = e.attempts - 1, claim_token = NULL
     FROM unnest($1::bigint[], $2::text[]) AS c(id, token)
     WHERE e.id = c.id AND e.claim_token = c.token AND e.status = 'RUNNING'`,
    [claims.map((c) => c.executionId), claims.map((c) => c.token)],
  );
  return res.rowCount;
}

/** Active schedules, and Dixie-fired ones whose due time passed more than `overdueMs` ago. */
export async function fleetCounts(q: Queryable, overdueMs: number): Promise<{ active: number; overdue: number }> {
  const { rows } = await q.query<{ active: string; overdue: string }>(
    `SELECT count(*) FILTER (WHERE status = 'ACTIVE') AS active,
            count(*) FILTER (WHERE status = 'ACTIVE' AND fired_by = 'dixie'
                             AND next_fire_at < now() - ($1::double precision * interval '1 millisecond')) AS overdue
     FROM schedules`,
    [overdueMs],
  );
  return { active: Number(rows[0]?.active ?? 0), overdue: Number(rows[0]?.overdue ?? 0) };
}
