import type { Duplex } from 'node:stream';
import { targetMatches, type RouteMatch } from './routes.js';
import { bump, sleep, waitForHangRelease, type SimState } from './state.js';

export type FaultOutcome =
  | { kind: 'pass' }
  | { kind: 'fail'; status: number; code: string; fault: string }
  /** The client went away while parked, or the simulator closed. */
  | { kind: 'gone' };

const DEFAULT_CODES: Record<number, string> = {
  402: 'BUDGET_EXCEEDED',
  429: 'RATE_LIMITED',
  502: 'PROVIDER_UNAVAILABLE',
  503: 'SERVICE_UNAVAILABLE',
};

export function defaultCode(status: number): string {
  return DEFAULT_CODES[status] ?? 'INTERNAL_ERROR';
}

function firstMatch<V>(rules: Map<string, V> | Set<string>, match: RouteMatch): string | undefined {
  for (const key of rules.keys()) if (targetMatches(key, match)) return key;
  return undefined;
}

function latencyFor(state: SimState, match: RouteMatch): number {
  let ms = 0;
  for (const [key, value] of state.faults.latency) if (targetMatches(key, match)) ms = Math.max(ms, value);
  return ms;
}

async function parkWhileHung(state: SimState, match: RouteMatch, conn: Duplex): Promise<boolean> {
  for (let key = firstMatch(state.faults.hang, match); key !== undefined; key = firstMatch(state.faults.hang, match)) {
    bump(state, 'fault.hang');
    if (conn.destroyed) return false;
    const parked = waitForHangRelease(state, key);
    const onClose = (): void => parked.abandon();
    conn.once('close', onClose);
    const open = await parked.promise;
    conn.off('close', onClose);
    if (!open || state.closed) return false;
  }
  return true;
}

/** Latency, hang, failWith and error rate, in that order. "Absent" is applied after auth, like a missing route. */
export async function applyFaults(state: SimState, match: RouteMatch, conn: Duplex): Promise<FaultOutcome> {
  const delay = latencyFor(state, match);
  if (delay > 0) {
    bump(state, 'fault.latency');
    if (!(await sleep(state, delay))) return { kind: 'gone' };
  }
  if (!(await parkWhileHung(state, match, conn))) return { kind: 'gone' };
  const failKey = firstMatch(state.faults.failWith, match);
  const fail = failKey === undefined ? undefined : state.faults.failWith.get(failKey);
  if (fail) {
    bump(state, 'fault.fail');
    return { kind: 'fail', status: fail.status, code: fail.code, fault: 'failWith' };
  }
  for (const [key, rule] of state.faults.errorRate) {
    if (!targetMatches(key, match)) continue;
    if (state.options.random() < rule.rate) {
      bump(state, 'fault.errorRate');
      return { kind: 'fail', status: rule.status, code: defaultCode(rule.status), fault: 'errorRate' };
    }
    break;
  }
  return { kind: 'pass' };
}

export function isAbsent(state: SimState, match: RouteMatch): boolean {
  const absent = firstMatch(state.faults.absent, match) !== undefined;
  if (absent) bump(state, 'fault.absent');
  return absent;
}
