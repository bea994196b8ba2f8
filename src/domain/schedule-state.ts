export const SCHEDULE_STATUSES = ['PENDING', 'ACTIVE', 'PAUSED', 'COMPLETED', 'CANCELLED', 'FAILED'] as const;
export type ScheduleStatus = (typeof SCHEDULE_STATUSES)[number];

export const TERMINAL_STATUSES: readonly ScheduleStatus[] = ['COMPLETED', 'CANCELLED', 'FAILED'];

/** PENDING → ACTIVE → (PAUSED) → COMPLETED | CANCELLED | FAILED; terminal states never move. */
const ALLOWED: Record<ScheduleStatus, readonly ScheduleStatus[]> = {
  PENDING: ['ACTIVE', 'CANCELLED', 'FAILED'],
  ACTIVE: ['PAUSED', 'COMPLETED', 'CANCELLED', 'FAILED'],
  PAUSED: ['ACTIVE', 'COMPLETED', 'CANCELLED', 'FAILED'],
  COMPLETED: [],
  CANCELLED: [],
  FAILED: [],
};

export class IllegalTransitionError extends Error {
  constructor(
    readonly from: ScheduleStatus,
    readonly to: ScheduleStatus,
  ) {
    super(`A ${from} schedule cannot become ${to}`);
    this.name = 'IllegalTransitionError';
  }
}

export function isTerminal(status: ScheduleStatus): boolean {
  return TERMINAL_STATUSES.includes(status);
}

export function canTransition(from: ScheduleStatus, to: ScheduleStatus): boolean {
  return ALLOWED[from].includes(to);
}

/** Throws IllegalTransitionError for any move the state machine does not allow (including to itself). */
export function assertTransition(from: ScheduleStatus, to: ScheduleStatus): ScheduleStatus {
  if (!canTransition(from, to)) throw new IllegalTransitionError(from, to);
  return to;
}

export function isScheduleStatus(s: string): s is ScheduleStatus {
  return (SCHEDULE_STATUSES as readonly string[]).includes(s);
}

/** At most this many non-terminal schedules per NFT (domain.md). */
export const MAX_ACTIVE_SCHEDULES_PER_NFT = 50;
