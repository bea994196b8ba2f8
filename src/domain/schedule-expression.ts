import { Cron } from 'croner';

/** A schedule expression turned into a 5-field UTC cron (domain.md, Schedules). */
export interface ParsedExpression {
  cron: string;
  humanReadable: string;
  /** `natural` for the phrases of domain.md, `cron` for a raw 5-field expression. */
  kind: 'natural' | 'cron';
}

export class ScheduleExpressionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ScheduleExpressionError';
  }
}

const DAYS = ['sunday', 'monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday'] as const;
const DAY = `(${DAYS.join('|')})`;
const title = (day: string) => day.charAt(0).toUpperCase() + day.slice(1);
const MORNING = { hour: 9, text: '9:00 AM' };
const EVENING = { hour: 18, text: '6:00 PM' };

type Rule = [RegExp, (m: RegExpExecArray) => Omit<ParsedExpression, 'kind'>];

function inRange(n: number, min: number, max: number, what: string): number {
  if (!Number.isInteger(n) || n < min || n > max) throw new ScheduleExpressionError(`${what} must be between ${min} and ${max}`);
  return n;
}

function hour12(hour: number, meridiem: string): number {
  inRange(hour, 1, 12, 'Hour');
  return (hour % 12) + (meridiem === 'pm' ? 12 : 0);
}

const RULES: Rule[] = [
  [/^every morning$/, () => ({ cron: `0 ${MORNING.hour} * * *`, humanReadable: `Every day at ${MORNING.text}` })],
  [/^every evening$/, () => ({ cron: `0 ${EVENING.hour} * * *`, humanReadable: `Every day at ${EVENING.text}` })],
  [
    new RegExp(`^every ${DAY} (morning|evening)$`),
    (m) => {
      const at = m[2] === 'evening' ? EVENING : MORNING;
      return { cron: `0 ${at.hour} * * ${DAYS.indexOf(m[1] as (typeof DAYS)[number])}`, humanReadable: `Every ${title(m[1]!)} at ${at.text}` };
    },
  ],
  [
    /^daily at (\d{1,2}) ?(am|pm)$/,
    (m) => ({ cron: `0 ${hour12(Number(m[1]), m[2]!)} * * *`, humanReadable: `Every day at ${Number(m[1])}${m[2]!.toUpperCase()}` }),
  ],
  [
    /^every (\d{1,2}) hours?$/,
    (m) => {
      const n = inRange(Number(m[1]), 1, 23, 'Hours');
      return { cron: `0 */${n} * * *`, humanReadable: n === 1 ? 'Every 1 hour' : `Every ${n} hours` };
    },
  ],
  [
    /^every (\d{1,2}) minutes?$/,
    (m) => {
      const n = inRange(Number(m[1]), 1, 59, 'Minutes');
      return { cron: `*/${n} * * * *`, humanReadable: n === 1 ? 'Every 1 minute' : `Every ${n} minutes` };
    },
  ],
  [
    new RegExp(`^weekly on ${DAY}$`),
    (m) => ({ cron: `0 9 * * ${DAYS.indexOf(m[1] as (typeof DAYS)[number])}`, humanReadable: `Every ${title(m[1]!)} at 9:00 AM` }),
  ],
  [
    /^every day at (\d{1,2}):(\d{2})$/,
    (m) => {
      const h = inRange(Number(m[1]), 0, 23, 'Hour');
      const min = inRange(Number(m[2]), 0, 59, 'Minute');
      return { cron: `${min} ${h} * * *`, humanReadable: `Every day at ${String(h).padStart(2, '0')}:${m[2]}` };
    },
  ],
];

const CRON_FIELD = /^[0-9A-Za-z*,/-]+$/;

function compile(cron: string): Cron {
  try {
    return new Cron(cron, { timezone: 'UTC', paused: true, mode: '5-part' });
  } catch {
    throw new ScheduleExpressionError('Invalid cron expression');
  }
}

function parseRawCron(expr: string): ParsedExpression | null {
  const fields = expr.split(/\s+/);
  if (fields.length !== 5 || !fields.every((f) => CRON_FIELD.test(f))) return null;
  const cron = fields.join(' ');
  if (!compile(cron).nextRun(new Date())) throw new ScheduleExpressionError('Cron expression never fires');
  return { cron, humanReadable: `Cron: ${cron} (UTC)`, kind: 'cron' };
}

/** Natural-language phrases (case-insensitive, trimmed) or a raw 5-field cron; anything else throws. */
export function parseScheduleExpression(input: string): ParsedExpression {
  const expr = input.trim().replace(/\s+/g, ' ');
  if (expr === '') throw new ScheduleExpressionError('Expression is empty');
  if (expr.length > 100) throw new ScheduleExpressionError('Expression is too long');
  const lower = expr.toLowerCase();
  for (const [regex, build] of RULES) {
    const m = regex.exec(lower);
    if (m) return { ...build(m), kind: 'natural' };
  }
  const raw = parseRawCron(expr);
  if (raw) return raw;
  throw new ScheduleExpressionError(`Unsupported schedule expression "${expr}"`);
}

/** The first fire time strictly after `from`, in UTC; null when the cron never fires again. */
export function nextFireAt(cron: string, from: Date): Date | null {
  return compile(cron).nextRun(from);
}

/**
 * Whether a client should confirm before relying on the schedule: raw cron expressions (no
 * phrase to check them against) and schedules firing more often than every 15 minutes.
 */
export function needsConfirmation(parsed: ParsedExpression, from: Date): boolean {
  if (parsed.kind === 'cron') return true;
  const [a, b] = compile(parsed.cron).nextRuns(2, from);
  return !!a && !!b && b.getTime() - a.getTime() < 15 * 60_000;
}
