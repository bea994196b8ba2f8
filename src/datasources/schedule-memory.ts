import { scheduleCreateEvent, scheduleFireEvent, type NewMemoryEvent } from '../domain/memory-events.js';
import { LogEvent } from '../log-events.js';
import type { Logger } from '../logger.js';
import type { MemoryService } from './memory.js';
import type { Queryable } from './postgres/index.js';
import { getSchedule } from './postgres/schedule-repo.js';
import type { Schedule, ScheduleExecution } from './postgres/schedule-rows.js';

/**
 * A schedule's soul memory: one `schedule_create` when it becomes ACTIVE and one `schedule_fire` per
 * recorded execution (SUCCESS, FAILED or SKIPPED), appended in the very transaction that records the
 * activation or the execution. Exactly once follows from the record's own: a redelivered callback, its
 * twin on another instance, a firing taken over or a retry after a lost COMMIT reply records nothing
 * new, so it appends nothing; and no crash separates an event from its record.
 * The events form the conversation named by the schedule id (kind schedule, not a chat): sealed or
 * erased like a chat's once the owner seals or deletes it.
 */
export interface ScheduleMemory {
  created(tx: Queryable, schedule: Schedule): Promise<void>;
  fired(tx: Queryable, execution: ScheduleExecution): Promise<void>;
  /** After that transaction committed: the NFT's cached projection goes, on every instance. */
  committed(nftId: string): void;
}

const SAVEPOINT = 'schedule_memory';

export function createScheduleMemory(deps: { memory: MemoryService; logger: Logger }): ScheduleMemory {
  const { memory, logger } = deps;

  /** Under a savepoint: a failed append is rolled back alone and logged, and the schedule's own write commits. */
  async function contained(tx: Queryable, about: { nft_id: string; schedule_id: string; execution_id?: string; type: string }, work: () => Promise<unknown>): Promise<void> {
    await tx.query(`SAVEPOINT ${SAVEPOINT}`);
    try {
      await work();
      await tx.query(`RELEASE SAVEPOINT ${SAVEPOINT}`);
    } catch (err) {
      await tx.query(`ROLLBACK TO SAVEPOINT ${SAVEPOINT}`);
      const fields = { event: LogEvent.memoryAppendFailed, ...about, err: err instanceof Error ? err.message : String(err) };
      logger.error(fields, 'soul memory append failed; the schedule was recorded without it');
    }
  }

  // The actor is the schedule's owner, as every event of a chat carries the session's wallet. Firings
  // after a transfer are still recorded: they happened to this NFT, and its new owner may cancel them.
  const appendFor = (tx: Queryable, schedule: Schedule, event: NewMemoryEvent) =>
    memory.appendWithin(tx, { nftId: schedule.nftId, conversationId: schedule.id, actorWallet: schedule.ownerWallet.toLowerCase(), events: [event], kind: 'schedule' });

  return {
    created: (tx, schedule) =>
      contained(tx, { nft_id: schedule.nftId, schedule_id: schedule.id, type: 'schedule_create' }, () => appendFor(tx, schedule, scheduleCreateEvent(schedule))),
    fired: (tx, execution) =>
      contained(tx, { nft_id: execution.nftId, schedule_id: execution.scheduleId, execution_id: execution.id, type: 'schedule_fire' }, async () => {
        const schedule = await getSchedule(tx, execution.scheduleId);
        // A schedule that never became active has no schedule_create: the firings of a cron Finn
        // kept for it (schedule_orphan_cron) are Finn's noise, not this NFT's memory.
        if (schedule?.firedBy) await appendFor(tx, schedule, scheduleFireEvent(schedule, execution));
      }),
    committed(nftId) {
      memory.invalidate(nftId).catch((err: unknown) =>
        logger.warn({ event: 'memory_invalidate_failed', nft_id: nftId, err: err instanceof Error ? err.message : String(err) }, 'projection not invalidated'),
      );
    },
  };
}
