import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Deadline } from '../deadline.js';
import type { Logger } from '../logger.js';
import type { EventBus } from './events.js';
import type { Finn } from './finn/index.js';
import { toClientError } from './finn/errors.js';
import type { Db } from './postgres/index.js';
import { failStalePending } from './postgres/schedule-repo.js';
import {
  claimDue,
  finishFiring,
  reclaimExpired,
  recordSession,
  releaseClaims,
  type Claim,
  type FiringResult,
} from './postgres/schedule-firing-repo.js';
import type { ScheduleExecution } from './postgres/schedule-rows.js';
import type { ScheduleMemory } from './schedule-memory.js';

export const DEFAULT_TICK_MS = 15_000;
const FINISH_RETRY_FIRST_MS = 200;
const FINISH_RETRY_MAX_MS = 5_000;

export interface Scheduler {
  readonly tickMs: number;
  /** Starts ticking (idempotent). */
  start(): void;
  /** Stops ticking, gives back firings not sent yet, and waits for those in progress while `by` allows. */
  stop(by: Deadline): Promise<void>;
  /** One tick: claim due schedules and expired firings, then fire them (not awaited). */
  tick(): Promise<void>;
}

export interface SchedulerDeps {
  db: Db | null;
  finn: Finn;
  events: EventBus;
  /** Appends each recorded execution's schedule_fire event, in the transaction that records it. */
  memory: ScheduleMemory;
  logger: Logger;
  tickMs: number;
  /** Longer than any firing can legitimately take; after it another instance takes the firing over. */
  leaseMs: number;
  maxInFlight?: number;
  maxAttempts?: number;
  /** Longer than any createSchedule can hold a schedule PENDING; older PENDING rows were cut by a crash. */
  pendingStaleMs: number;
}

/** The lease outlives a firing: session creation plus the synchronous message call, plus slack. */
export function firingLeaseMs(finnTimeoutMs: number, messageTimeoutMs: number, tickMs: number): number {
  return finnTimeoutMs + messageTimeoutMs + Math.max(2 * tickMs, 5_000);
}

/** createSchedule holds a schedule PENDING for one B7 call (at most the Finn timeout) and two writes. */
export function pendingStaleMs(finnTimeoutMs: number): number {
  return 2 * finnTimeoutMs + 60_000;
}

const STALE_SWEEP_LIMIT = 100;

interface Firing {
  claim: Claim;
  releasable: boolean;
}

/**
 * Dixie's own firing of schedules Finn does not hold (B7 answered 404), and the sweep of schedules a
 * crash left PENDING. Runs on every instance.
 */
export function createScheduler(deps: SchedulerDeps): Scheduler {
  const { db, finn, events, memory, logger } = deps;
  const maxInFlight = deps.maxInFlight ?? 10;
  /** Firings in progress; `releasable` until the prompt may have reached Finn or the outcome is being recorded. */
  const inFlight = new Map<Promise<void>, Firing>();
  let timer: NodeJS.Timeout | undefined;
  let ticking: Promise<void> | null = null;
  let stopped = false;
  /** After stop() has waited: the stores are closing, nothing is retried any more. */
  let closed = false;

  /** A session of this firing on Finn: the one a previous holder stored if Finn still has it, else a new one. */
  async function openSession(claim: Claim, ctx: { requestId: string }): Promise<{ id: string; reached: boolean }> {
    if (claim.sessionId) {
      const known = await finn.client.getSession(claim.sessionId, ctx);
      // A fresh session holds nothing but this firing's prompt: any message or a run means it got there.
      if (known) return { id: claim.sessionId, reached: known.messageCount > 0 || known.isStreaming };
    }
    // The schedule's NFT gives the session its personality, as startChat(nftId) does.
    return { id: (await finn.client.createSession({ token_id: claim.nftId }, ctx)).sessionId, reached: false };
  }

  /**
   * The outcome, or null when there is nothing to record: shutdown began before the prompt was sent
   * (stop() released the claim), or another instance holds the firing now.
   */
  async function run(database: Db, firing: Firing): Promise<FiringResult | null> {
    const { claim } = firing;
    const ctx = { requestId: `schedule-${claim.executionId}` };
    const failed = (err: unknown, sessionId: string | null): FiringResult | null =>
      firing.releasable && stopped
        ? null
        : { status: 'FAILED', sessionId, error: toClientError(err, Math.ceil(finn.breaker.retryAfterMs() / 1000)).message };
    let session: { id: string; reached: boolean };
    try {
      session = await openSession(claim, ctx);
    } catch (err) {
      return failed(err, claim.sessionId);
    }
    if (stopped) return null;
    if (session.reached) {
      logger.info({ event: 'schedule_firing_already_sent', execution_id: claim.executionId }, 'the prompt had reached Finn before the takeover: not sent again');
      return { status: 'SUCCESS', sessionId: session.id, messageId: `msg_${randomUUID()}` };
    }
    // Stored before sending, so that whoever takes this firing over asks Finn about it first.
    if (session.id !== claim.sessionId && !(await recordSession(database, claim, session.id))) {
      // Lost to a takeover, or released by stop() meanwhile (not worth a warning).
      if (!stopped) logger.warn({ event: 'schedule_firing_superseded', execution_id: claim.executionId }, 'another instance took this firing over');
      return null;
    }
    if (stopped) return null;
    firing.releasable = false;
    try {
      await finn.client.sendMessage(session.id, claim.prompt, ctx);
      return { status: 'SUCCESS', sessionId: session.id, messageId: `msg_${randomUUID()}` };
    } catch (err) {
      return failed(err, session.id);
    }
  }

  function publish(execution: ScheduleExecution): void {
    memory.committed(execution.nftId);
    events.publish('scheduleFired', execution.nftId, execution);
    logger.info(
      { event: 'schedule_fired', schedule_id: execution.scheduleId, execution_id: execution.id, status: execution.status, source: 'dixie' },
      'schedule fired',
    );
  }

  async function fire(database: Db, firing: Firing): Promise<void> {
    const { claim } = firing;
    const result = await run(database, firing);
    if (!result) return;
    firing.releasable = false;
    const execution = await finish(database, claim, result);
    if (execution) publish(execution);
    else logger.warn({ event: 'schedule_firing_superseded', execution_id: claim.executionId }, 'another instance took this firing over');
  }

  /**
   * The prompt has gone out: a lost outcome would let another instance send it again once the lease
   * ends, so a failed write (a failover, a timeout) is retried while the lease lasts.
   */
  async function finish(database: Db, claim: Claim, result: FiringResult): Promise<ScheduleExecution | null> {
    for (let attempt = 1, delayMs = FINISH_RETRY_FIRST_MS; ; attempt++, delayMs = Math.min(2 * delayMs, FINISH_RETRY_MAX_MS)) {
      try {
        return await finishFiring(database, claim, result, memory.fired);
      } catch (err) {
        const waitMs = Math.min(delayMs, claim.leaseEndsAt - Date.now());
        if (closed || waitMs <= 0) throw err;
        const message = err instanceof Error ? err.message : String(err);
        logger.warn({ event: 'schedule_firing_finish_retry', execution_id: claim.executionId, attempt, err: message }, 'recording the outcome failed; retrying');
        // Unreferenced: a retry never holds the process open.
        await sleep(waitMs, undefined, { ref: false });
        if (closed) throw err;
      }
    }
  }

  function track(database: Db, claim: Claim): void {
    const firing: Firing = { claim, releasable: true };
    const p = fire(database, firing)
      .catch((err: unknown) =>
        logger.error({ event: 'schedule_firing_failed', execution_id: claim.executionId, err: err instanceof Error ? err.message : String(err) }, 'firing failed'),
      )
      .finally(() => inFlight.delete(p));
    inFlight.set(p, firing);
  }

  /** Claims this instance will not send go back at once (shutdown), so no deploy burns an attempt. */
  async function release(database: Db, claims: Claim[]): Promise<void> {
    if (claims.length === 0) return;
    const ids = claims.map((c) => c.executionId);
    try {
      const released = await releaseClaims(database, claims);
      logger.info({ event: 'schedule_firing_released', execution_ids: ids, released }, 'gave back firings not sent before shutdown');
    } catch (err) {
      // They stay RUNNING until their lease ends; then another instance takes them over.
      logger.warn({ event: 'schedule_firing_release_failed', execution_ids: ids, err: err instanceof Error ? err.message : String(err) }, 'release failed');
    }
  }

  /**
   * A createSchedule cut by a crash left its schedule PENDING, counting against the NFT's limit for
   * ever; Finn may hold a cron for it whose id Dixie never stored (its callbacks are then logged as
   * schedule_orphan_cron).
   */
  async function sweepStalePending(database: Db): Promise<void> {
    let stale: Array<{ id: string; nftId: string }>;
    try {
      stale = await failStalePending(database, deps.pendingStaleMs, STALE_SWEEP_LIMIT);
    } catch (err) {
      // Never in the way of the firings that follow in this tick.
      logger.warn({ event: 'schedule_sweep_failed', err: err instanceof Error ? err.message : String(err) }, 'the stale PENDING sweep failed');
      return;
    }
    for (const s of stale) {
      logger.warn(
        { event: 'schedule_pending_abandoned', schedule_id: s.id, nft_id: s.nftId },
        'a schedule was left PENDING by an interrupted createSchedule; marked FAILED',
      );
    }
  }

  async function tickOnce(database: Db): Promise<void> {
    await sweepStalePending(database);
    const token = randomUUID();
    const base = { leaseMs: deps.leaseMs, token };
    // stop() may begin during any await of a tick: what is claimed after it is given back unsent.
    const due = await claimDue(database, { ...base, limit: maxInFlight - inFlight.size });
    if (stopped) return release(database, due);
    for (const claim of due) track(database, claim);
    const orphans = await reclaimExpired(database, { ...base, limit: maxInFlight - inFlight.size, maxAttempts: deps.maxAttempts ?? 3 }, memory.fired);
    for (const e of orphans.ended) publish(e);
    if (stopped) return release(database, orphans.claims);
    for (const claim of orphans.claims) {
      logger.warn({ event: 'schedule_firing_taken_over', execution_id: claim.executionId }, 'took over a firing whose lease expired');
      track(database, claim);
    }
  }

  const scheduler: Scheduler = {
    tickMs: deps.tickMs,
    tick() {
      if (!db || stopped) return Promise.resolve();
      // Ticks never overlap; firings started by a tick run on in the background.
      ticking ??= tickOnce(db)
        .catch((err: unknown) => logger.warn({ event: 'scheduler_tick_failed', err: err instanceof Error ? err.message : String(err) }, 'tick failed'))
        .finally(() => (ticking = null));
      return ticking;
    },
    start() {
      if (!db || timer || stopped) return;
      timer = setInterval(() => void scheduler.tick(), deps.tickMs);
      timer.unref();
      void scheduler.tick();
    },
    async stop(by) {
      stopped = true;
      clearInterval(timer);
      timer = undefined;
      // A firing that has not sent its prompt will not (run() checks `stopped`): give it back now.
      const unsent = [...inFlight.values()].filter((f) => f.releasable).map((f) => f.claim);
      const released = db ? release(db, unsent) : Promise.resolve();
      await by.within(Promise.allSettled([released, ticking, ...inFlight.keys()]));
      closed = true;
    },
  };
  return scheduler;
}
