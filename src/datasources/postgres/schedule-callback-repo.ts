import { nextFireAt } from '../../domain/schedule-expression.js';
import { assertTransition, isTerminal, type ScheduleStatus } from '../../domain/schedule-state.js';
import type { Db } from './db.js';
import { EXECUTION_COLUMNS, toExecution, type OnRecorded, type ScheduleExecution } from './schedule-rows.js';

export interface RecordedCallback {
  execution: ScheduleExecution;
  /** False when this callback was already recorded (a redelivery or a concurrent twin). */
  created: boolean;
  /** Set when this firing completed the schedule and Finn still holds its cron. */
  completedCronId: string | null;
  /**
   * The schedule ended without ever becoming active (a failed or interrupted createSchedule, or one
   * cancelled during it), so Dixie never learnt the id of the cron Finn is running for it.
   */
  orphanCron: boolean;
}

interface Locked {
  id: string;
  nft_id: string;
  cron: string;
  status: ScheduleStatus;
  fire_count: number;
  max_fires: number | null;
  finn_cron_id: string | null;
  fired_by: string | null;
}

/**
 * Records one execution for a Finn callback. The (schedule_id, idempotency_key) unique index, not a
 * prior lookup, makes two concurrent deliveries record once. Null for an unknown schedule.
 */
export async function recordCallback(
  db: Db,
  input: { scheduleId: string; idempotencyKey: string; messageId: string | null },
  onRecorded: OnRecorded,
): Promise<RecordedCallback | null> {
  return db.transaction(async (tx) => {
    const { rows } = await tx.query<Locked>(
      'SELECT id, nft_id, cron, status, fire_count, max_fires, finn_cron_id, fired_by FROM schedules WHERE id = $1 FOR UPDATE',
      [input.scheduleId],
    );
    const s = rows[0];
    if (!s) return null;
    const status = s.status === 'ACTIVE' ? 'SUCCESS' : 'SKIPPED';
    const ins = await tx.query(
      `INSERT INTO schedule_executions (schedule_id, nft_id, source, idempotency_key, status, message_id)
       VALUES ($1, $2, 'finn', $3, $4, $5)
       ON CONFLICT (schedule_id, idempotency_key) DO NOTHING RETURNING ${EXECUTION_COLUMNS}`,
      [s.id, s.nft_id, input.idempotencyKey, status, input.messageId],
    );
    if (!ins.rows[0]) {
      const existing = await tx.query(`SELECT ${EXECUTION_COLUMNS} FROM schedule_executions WHERE schedule_id = $1 AND idempotency_key = $2`, [
        s.id,
        input.idempotencyKey,
      ]);
      return { execution: toExecution(existing.rows[0]!), created: false, completedCronId: null, orphanCron: false };
    }
    let completedCronId: string | null = null;
    if (status === 'SUCCESS') {
      const done = s.max_fires !== null && s.fire_count + 1 >= s.max_fires;
      const next = done ? null : nextFireAt(s.cron, new Date());
      const newStatus = next ? s.status : assertTransition(s.status, 'COMPLETED');
      await tx.query(
        `UPDATE schedules SET fire_count = fire_count + 1, last_fired_at = now(), next_fire_at = $2, status = $3, updated_at = now()
         WHERE id = $1`,
        [s.id, next, newStatus],
      );
      if (newStatus === 'COMPLETED') completedCronId = s.finn_cron_id;
    }
    const execution = toExecution(ins.rows[0]);
    await onRecorded(tx, execution);
    return { execution, created: true, completedCronId, orphanCron: s.fired_by === null && isTerminal(s.status) };
  });
}
