import { decodeIdCursor, encodeIdCursor } from '../domain/page-cursor.js';
import { isStorableText } from '../domain/text.js';
import { randomUUID } from 'node:crypto';
import { dixieError } from '../errors.js';
import { LogEvent } from '../log-events.js';
import type { Logger } from '../logger.js';
import { needsConfirmation, nextFireAt, parseScheduleExpression, ScheduleExpressionError } from '../domain/schedule-expression.js';
import { IllegalTransitionError } from '../domain/schedule-state.js';
import type { EventBus } from './events.js';
import type { Finn, FinnCallContext } from './finn/index.js';
import { toClientError } from './finn/errors.js';
import { isValidNftId } from './finn/ids.js';
import type { Db } from './postgres/index.js';
import { recordCallback } from './postgres/schedule-callback-repo.js';
import { cancelSchedule, getSchedule, insertPending, listExecutions, listSchedules, ScheduleLimitError, transition } from './postgres/schedule-repo.js';
import type { Schedule, ScheduleExecution } from './postgres/schedule-rows.js';
import type { ScheduleMemory } from './schedule-memory.js';

export type { Schedule, ScheduleExecution } from './postgres/schedule-rows.js';

export interface CreateScheduleInput {
  nftId: string;
  expression: string;
  prompt: string;
  name?: string | null;
  maxFires?: number | null;
}

export interface CreateScheduleResult {
  parsed: { cron: string; humanReadable: string; nextFireAt: Date | null };
  schedule: Schedule;
  needsConfirmation: boolean;
}

export interface ExecutionPage {
  nodes: ScheduleExecution[];
  endCursor: string | null;
  hasNextPage: boolean;
}

export interface ScheduleService {
  create(input: CreateScheduleInput, ownerWallet: string, ctx?: FinnCallContext): Promise<CreateScheduleResult>;
  cancel(id: string, ctx?: FinnCallContext): Promise<Schedule>;
  get(id: string): Promise<Schedule | null>;
  list(nftId: string): Promise<Schedule[]>;
  executions(scheduleId: string, first: number, after: string | null): Promise<ExecutionPage>;
  /** Records a verified Finn callback once; `null` when the schedule is unknown (nothing recorded). */
  recordCallback(input: { scheduleId: string; messageId: string | null; signature: string }): Promise<ScheduleExecution | null>;
}

const MAX_PROMPT = 4000;
const SCHEDULE_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const MAX_NAME = 100;
const MAX_FIRES = 100_000;
const badInput = (field: string, message: string) => dixieError('BAD_USER_INPUT', message, { field });

function validate(input: CreateScheduleInput): void {
  if (!isValidNftId(input.nftId)) throw badInput('nftId', 'Invalid NFT id');
  if (input.prompt.trim() === '' || input.prompt.length > MAX_PROMPT) throw badInput('prompt', `prompt must be 1–${MAX_PROMPT} characters`);
  if (input.name && input.name.length > MAX_NAME) throw badInput('name', `name must be at most ${MAX_NAME} characters`);
  if (!isStorableText(input.prompt)) throw badInput('prompt', 'prompt contains a NUL character or an unpaired surrogate');
  if (input.name && !isStorableText(input.name)) throw badInput('name', 'name contains a NUL character or an unpaired surrogate');
  const m = input.maxFires;
  if (m !== null && m !== undefined && (!Number.isInteger(m) || m < 1 || m > MAX_FIRES)) throw badInput('maxFires', `maxFires must be 1–${MAX_FIRES}`);
}

export function createScheduleService(deps: { db: Db | null; finn: Finn; events: EventBus; memory: ScheduleMemory; logger: Logger; publicUrl: string }): ScheduleService {
  const { finn, events, memory, logger } = deps;
  const requireDb = (): Db => {
    if (!deps.db) throw dixieError('FEATURE_DISABLED', 'Schedules need a database (DATABASE_URL)');
    return deps.db;
  };
  const retryAfterS = () => Math.ceil(finn.breaker.retryAfterMs() / 1000);
  const dropCron = (cronId: string, ctx?: FinnCallContext) =>
    finn.client.deleteCron(cronId, ctx).catch((err: unknown) =>
      logger.warn({ event: 'schedule_cron_delete_failed', cron_id: cronId, err: err instanceof Error ? err.message : String(err) }, 'B8 failed'),
    );

  /**
   * The activation write failed, or only its reply was lost (its COMMIT may even still be under
   * way). The schedule is failed first: that write waits on the row lock of a COMMIT in progress
   * and then matches nothing, so only a schedule that is surely not ACTIVE loses the cron (Dixie
   * alone knows its id). Committed: carry on. Unknown (the database still away): the cron stays,
   * for an ACTIVE schedule must not lose it; the sweep fails a schedule still PENDING later, and
   * the cron's callbacks are then logged as orphans.
   */
  async function afterFailedActivation(db: Db, id: string, cronId: string | null, err: unknown, ctx?: FinnCallContext): Promise<Schedule> {
    try {
      const failed = await transition(db, id, 'PENDING', 'FAILED');
      const stored = failed ?? (await getSchedule(db, id));
      if (stored?.status === 'ACTIVE') return stored;
      if (cronId) await dropCron(cronId, ctx);
    } catch {
      if (cronId) logger.warn({ event: 'schedule_activation_unknown', schedule_id: id, cron_id: cronId }, 'could not tell whether the schedule became active; its Finn cron was kept');
    }
    throw err;
  }

  return {
    async create(input, ownerWallet, ctx) {
      const db = requireDb();
      validate(input);
      let parsed;
      try {
        parsed = parseScheduleExpression(input.expression);
      } catch (err) {
        if (err instanceof ScheduleExpressionError) throw badInput('expression', err.message);
        throw err;
      }
      const now = new Date();
      const next = nextFireAt(parsed.cron, now);
      let pending: Schedule;
      try {
        pending = await insertPending(db, {
          id: randomUUID(),
          ...input,
          name: input.name ?? null,
          maxFires: input.maxFires ?? null,
          ownerWallet,
          cron: parsed.cron,
          humanReadable: parsed.humanReadable,
        });
      } catch (err) {
        if (err instanceof ScheduleLimitError) throw badInput('nftId', err.message);
        throw err;
      }
      let cronId: string | null;
      try {
        cronId = await finn.client.registerCron(
          { scheduleId: pending.id, nftId: pending.nftId, cron: parsed.cron, callbackUrl: `${deps.publicUrl}/api/schedule/callback`, prompt: input.prompt },
          ctx,
        );
      } catch (err) {
        await transition(db, pending.id, 'PENDING', 'FAILED');
        throw toClientError(err, retryAfterS());
      }
      // Finn answered 404 to B7: Dixie's own scheduler tick fires it.
      let schedule: Schedule | null;
      try {
        schedule = await db.transaction(async (tx) => {
          const active = await transition(tx, pending.id, 'PENDING', 'ACTIVE', { firedBy: cronId ? 'finn' : 'dixie', finnCronId: cronId, nextFireAt: next });
          if (active) await memory.created(tx, active);
          return active;
        });
      } catch (err) {
        schedule = await afterFailedActivation(db, pending.id, cronId, err, ctx);
      }
      if (!schedule) {
        // The sweep failed it (B7 outlasted pendingStaleMs) or the owner cancelled it meanwhile: Finn must not keep its cron.
        if (cronId) await dropCron(cronId, ctx);
        throw dixieError('UPSTREAM_UNAVAILABLE', 'Finn took too long to register the schedule; it was not created', { retryAfter: retryAfterS() });
      }
      memory.committed(schedule.nftId);
      logger.info({ event: 'schedule_created', schedule_id: schedule.id, nft_id: schedule.nftId, fired_by: schedule.firedBy }, 'schedule created');
      return { parsed: { cron: parsed.cron, humanReadable: parsed.humanReadable, nextFireAt: next }, schedule, needsConfirmation: needsConfirmation(parsed, now) };
    },

    async cancel(id, ctx) {
      let res;
      try {
        res = await cancelSchedule(requireDb(), id);
      } catch (err) {
        if (err instanceof IllegalTransitionError) throw badInput('id', `The schedule is already ${err.from}`);
        throw err;
      }
      if (!res) throw dixieError('NOT_FOUND', 'Schedule not found');
      if (res.before.firedBy === 'finn' && res.before.finnCronId) await dropCron(res.before.finnCronId, ctx);
      return res.after;
    },

    // Ids are UUIDs: anything else is no schedule, and never reaches PostgreSQL.
    get: async (id) => {
      const db = requireDb();
      return SCHEDULE_ID.test(id) ? getSchedule(db, id) : null;
    },
    list: async (nftId) => listSchedules(requireDb(), nftId),

    async executions(scheduleId, first, after) {
      const page = await listExecutions(requireDb(), scheduleId, Math.max(0, Math.min(first, 100)), decodeIdCursor('e', after));
      const last = page.nodes.at(-1);
      return { ...page, endCursor: last ? encodeIdCursor('e', last.id) : null };
    },

    async recordCallback(input) {
      if (!deps.db) return null;
      const idempotencyKey = input.messageId ? `msg:${input.messageId}` : `sig:${input.signature}`;
      const rec = await recordCallback(deps.db, { scheduleId: input.scheduleId, idempotencyKey, messageId: input.messageId }, memory.fired);
      if (!rec) return null;
      if (rec.created) {
        memory.committed(rec.execution.nftId);
        if (rec.orphanCron) {
          logger.warn(
            { event: LogEvent.scheduleOrphanCron, schedule_id: input.scheduleId, nft_id: rec.execution.nftId },
            'Finn fired a cron for a schedule that never became active; Dixie does not know its cron id, delete it on Finn',
          );
        }
        events.publish('scheduleFired', rec.execution.nftId, rec.execution);
        if (rec.completedCronId) await dropCron(rec.completedCronId);
      }
      return rec.execution;
    },
  };
}
