import type { ScheduleStatus } from '../../domain/schedule-state.js';
import type { Queryable } from './db.js';

export type FiredBy = 'finn' | 'dixie';
export type ExecutionStatus = 'RUNNING' | 'SUCCESS' | 'FAILED' | 'SKIPPED';

export interface Schedule {
  id: string;
  nftId: string;
  ownerWallet: string;
  name: string | null;
  expression: string;
  cron: string;
  humanReadable: string;
  prompt: string;
  status: ScheduleStatus;
  firedBy: FiredBy | null;
  finnCronId: string | null;
  maxFires: number | null;
  fireCount: number;
  nextFireAt: Date | null;
  lastFiredAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
}

/** What `scheduleFired` carries: JSON-serialisable (it crosses NATS). */
export type ScheduleExecution = {
  id: string;
  scheduleId: string;
  nftId: string;
  source: FiredBy;
  status: ExecutionStatus;
  /** ISO-8601 */
  firedAt: string;
  /** ISO-8601; the due time for Dixie-fired executions, null for Finn callbacks. */
  fireAt: string | null;
  messageId: string | null;
  error: string | null;
};

/** Runs inside the transaction that records a finished execution, exactly once per execution (soul memory). */
export type OnRecorded = (tx: Queryable, execution: ScheduleExecution) => Promise<void>;

type Row = Record<string, unknown>;

const iso = (v: unknown): string | null => (v === null || v === undefined ? null : new Date(v as string | Date).toISOString());
const date = (v: unknown): Date | null => (v === null || v === undefined ? null : new Date(v as string | Date));
const str = (v: unknown): string | null => (v === null || v === undefined ? null : String(v));

export function toSchedule(r: Row): Schedule {
  return {
    id: String(r.id),
    nftId: String(r.nft_id),
    ownerWallet: String(r.owner_wallet),
    name: str(r.name),
    expression: String(r.expression),
    cron: String(r.cron),
    humanReadable: String(r.human_readable),
    prompt: String(r.prompt),
    status: r.status as ScheduleStatus,
    firedBy: (r.fired_by as FiredBy | null) ?? null,
    finnCronId: str(r.finn_cron_id),
    maxFires: r.max_fires === null || r.max_fires === undefined ? null : Number(r.max_fires),
    fireCount: Number(r.fire_count),
    nextFireAt: date(r.next_fire_at),
    lastFiredAt: date(r.last_fired_at),
    createdAt: date(r.created_at) ?? new Date(0),
    updatedAt: date(r.updated_at) ?? new Date(0),
  };
}

export function toExecution(r: Row): ScheduleExecution {
  return {
    id: String(r.id),
    scheduleId: String(r.schedule_id),
    nftId: String(r.nft_id),
    source: r.source as FiredBy,
    status: r.status as ExecutionStatus,
    firedAt: iso(r.fired_at) ?? new Date(0).toISOString(),
    fireAt: iso(r.fire_at),
    messageId: str(r.message_id),
    error: str(r.error),
  };
}

export const EXECUTION_COLUMNS = 'id, schedule_id, nft_id, source, status, fired_at, fire_at, message_id, error';
