import { describe, expect, it } from 'vitest';
import {
  assertTransition,
  canTransition,
  IllegalTransitionError,
  isTerminal,
  SCHEDULE_STATUSES,
  type ScheduleStatus,
} from '../../src/domain/schedule-state.js';

const LEGAL: Array<[ScheduleStatus, ScheduleStatus]> = [
  ['PENDING', 'ACTIVE'],
  ['PENDING', 'CANCELLED'],
  ['PENDING', 'FAILED'],
  ['ACTIVE', 'PAUSED'],
  ['ACTIVE', 'COMPLETED'],
  ['ACTIVE', 'CANCELLED'],
  ['ACTIVE', 'FAILED'],
  ['PAUSED', 'ACTIVE'],
  ['PAUSED', 'COMPLETED'],
  ['PAUSED', 'CANCELLED'],
  ['PAUSED', 'FAILED'],
];

describe('schedule state machine', () => {
  it.each(LEGAL)('%s → %s is legal', (from, to) => {
    expect(assertTransition(from, to)).toBe(to);
  });

  const illegal = SCHEDULE_STATUSES.flatMap((from) =>
    SCHEDULE_STATUSES.filter((to) => !LEGAL.some(([f, t]) => f === from && t === to)).map((to) => [from, to] as const),
  );

  it('has exactly 25 illegal moves (every other pair, self-moves and moves out of terminal states included)', () => {
    expect(illegal).toHaveLength(36 - LEGAL.length);
  });

  it.each(illegal)('%s → %s throws IllegalTransitionError', (from, to) => {
    expect(canTransition(from, to)).toBe(false);
    expect(() => assertTransition(from, to)).toThrow(IllegalTransitionError);
    expect(() => assertTransition(from, to)).toThrow(`A ${from} schedule cannot become ${to}`);
  });

  it('terminal states are COMPLETED, CANCELLED and FAILED', () => {
    expect(SCHEDULE_STATUSES.filter(isTerminal)).toEqual(['COMPLETED', 'CANCELLED', 'FAILED']);
  });
});
