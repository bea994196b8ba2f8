import { describe, expect, it } from 'vitest';
import { needsConfirmation, nextFireAt, parseScheduleExpression, ScheduleExpressionError } from '../../src/domain/schedule-expression.js';

describe('parseScheduleExpression: the domain.md table', () => {
  it.each([
    ['every morning', '0 9 * * *', 'Every day at 9:00 AM'],
    ['every evening', '0 18 * * *', 'Every day at 6:00 PM'],
    ['every monday morning', '0 9 * * 1', 'Every Monday at 9:00 AM'],
    ['daily at 7am', '0 7 * * *', 'Every day at 7AM'],
    ['daily at 11 pm', '0 23 * * *', 'Every day at 11PM'],
    ['daily at 12am', '0 0 * * *', 'Every day at 12AM'],
    ['daily at 12pm', '0 12 * * *', 'Every day at 12PM'],
    ['every 2 hours', '0 */2 * * *', 'Every 2 hours'],
    ['every 23 hours', '0 */23 * * *', 'Every 23 hours'],
    ['every 15 minutes', '*/15 * * * *', 'Every 15 minutes'],
    ['every 59 minutes', '*/59 * * * *', 'Every 59 minutes'],
    ['weekly on friday', '0 9 * * 5', 'Every Friday at 9:00 AM'],
    ['weekly on sunday', '0 9 * * 0', 'Every Sunday at 9:00 AM'],
    ['every day at 14:30', '30 14 * * *', 'Every day at 14:30'],
  ])('%s → %s', (expression, cron, humanReadable) => {
    expect(parseScheduleExpression(expression)).toEqual({ cron, humanReadable, kind: 'natural' });
  });

  it('is case-insensitive and trims', () => {
    expect(parseScheduleExpression('  Every   MONDAY Morning ').cron).toBe('0 9 * * 1');
    expect(parseScheduleExpression('DAILY AT 7AM').cron).toBe('0 7 * * *');
  });

  it('accepts a raw 5-field cron expression', () => {
    expect(parseScheduleExpression('5 4 * * 1-5')).toEqual({ cron: '5 4 * * 1-5', humanReadable: 'Cron: 5 4 * * 1-5 (UTC)', kind: 'cron' });
    expect(parseScheduleExpression(' */10  *  * * * ').cron).toBe('*/10 * * * *');
  });

  it.each([
    '',
    '   ',
    'every now and then',
    'every 0 minutes',
    'every 60 minutes',
    'every 0 hours',
    'every 24 hours',
    'daily at 13pm',
    'daily at 0am',
    'every day at 24:00',
    'every day at 12:60',
    'weekly on funday',
    '* * * *',
    '0 0 9 * * *',
    '61 * * * *',
    '0 25 * * *',
    '@daily',
    '0 9 ? * *',
    'DROP TABLE schedules',
    'x'.repeat(200),
  ])('rejects %j', (expression) => {
    expect(() => parseScheduleExpression(expression)).toThrow(ScheduleExpressionError);
  });
});

describe('nextFireAt (UTC)', () => {
  it('is the first fire time strictly after the given instant', () => {
    const from = new Date('2026-03-02T08:59:59.000Z'); // a Monday
    expect(nextFireAt('0 9 * * *', from)?.toISOString()).toBe('2026-03-02T09:00:00.000Z');
    expect(nextFireAt('0 9 * * *', new Date('2026-03-02T09:00:00.000Z'))?.toISOString()).toBe('2026-03-03T09:00:00.000Z');
    expect(nextFireAt('0 9 * * 5', from)?.toISOString()).toBe('2026-03-06T09:00:00.000Z');
    expect(nextFireAt('*/15 * * * *', new Date('2026-03-02T10:07:00.000Z'))?.toISOString()).toBe('2026-03-02T10:15:00.000Z');
  });
});

describe('needsConfirmation', () => {
  const now = new Date('2026-03-02T00:00:00.000Z');
  it('asks for raw cron and for schedules firing more often than every 15 minutes', () => {
    expect(needsConfirmation(parseScheduleExpression('0 9 * * *'), now)).toBe(true);
    expect(needsConfirmation(parseScheduleExpression('every 5 minutes'), now)).toBe(true);
    expect(needsConfirmation(parseScheduleExpression('every 15 minutes'), now)).toBe(false);
    expect(needsConfirmation(parseScheduleExpression('every morning'), now)).toBe(false);
  });
});
