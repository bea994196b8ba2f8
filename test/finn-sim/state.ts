import { EventEmitter } from 'node:events';
import { defaultFixtures } from './fixtures.js';
import type {
  CronFiring, CronRegistration, Fixtures, RequestLogEntry, SimOptions, SimSession, StreamConfig,
  WsConnectionLog,
} from './types.js';

export const DEFAULT_OPTIONS: SimOptions = {
  port: 0,
  host: '127.0.0.1',
  token: null,
  callbackSecret: 'test-secret',
  wsLimitPerIp: 5,
  idleTimeoutMs: 300_000,
  maxSessions: 100,
  sessionIdleMs: 30 * 60_000,
  maxPayloadBytes: 1024 * 1024,
  model: 'claude-sim-1',
  initialBalanceCu: 1000,
  stream: {},
  logLimit: 10_000,
  frameLogLimit: 1000,
  random: Math.random,
};

export const DEFAULT_STREAM: StreamConfig = { deltas: 3, delayMs: 5, tools: true, costCu: 1, extraFrames: [] };

/** Fault rules are keyed by target: `*` (everything), an endpoint name, a route pattern or a path. */
export interface FaultState {
  latency: Map<string, number>;
  errorRate: Map<string, { rate: number; status: number }>;
  failWith: Map<string, { status: number; code: string }>;
  hang: Set<string>;
  absent: Set<string>;
  refuseConnections: boolean;
  dropStreamAfter: number | null;
  /** `continues`: the run goes on after the error frame (a recoverable error Finn got past). */
  errorFrame: { afterFrames: number; message: string; recoverable: boolean; continues: boolean } | null;
  ignorePings: boolean;
  /** After this many frames a run sends nothing more (a hung agent) until it is aborted or its socket closes. */
  stallStreamAfter: number | null;
}

export interface RuntimeConfig {
  token: string | null;
  callbackSecret: string;
  wsLimitPerIp: number;
  stream: StreamConfig;
  balanceCu: number;
}

interface Waiter {
  key: string;
  resolve: (open: boolean) => void;
}

export interface SimState {
  readonly options: SimOptions;
  config: RuntimeConfig;
  fixtures: Fixtures;
  faults: FaultState;
  sessions: Map<string, SimSession>;
  crons: Map<string, CronRegistration>;
  requests: RequestLogEntry[];
  wsConnections: WsConnectionLog[];
  cronFirings: CronFiring[];
  counters: Record<string, number>;
  /** Emits `request`, `ws-open`, `ws-close`, `cron-fired`, `run-end`, and `closed` on shutdown. */
  events: EventEmitter;
  startedAt: number;
  closed: boolean;
  hangWaiters: Set<Waiter>;
  /** The agent run in progress per session id; `abort()` stops it at once. */
  runs: Map<string, { abort(): void }>;
  sleepers: Set<{ timer: NodeJS.Timeout; resolve: (done: boolean) => void }>;
  /** When idle sessions were last looked for (evictIdleSessions). */
  lastIdleSweep: number;
}

/**
 * Finn forgets a session idle for 30 minutes (finn.md A.2), which also frees its place under the
 * 100-session cap. Looked for at most once a second, before requests are routed.
 */
export function evictIdleSessions(state: SimState, now = Date.now()): void {
  if (now - state.lastIdleSweep < Math.min(1_000, state.options.sessionIdleMs)) return;
  state.lastIdleSweep = now;
  for (const [id, s] of state.sessions) {
    if (!s.isStreaming && now - s.lastActivity >= state.options.sessionIdleMs) state.sessions.delete(id);
  }
}

export function emptyFaults(): FaultState {
  return {
    latency: new Map(), errorRate: new Map(), failWith: new Map(), hang: new Set(), absent: new Set(),
    refuseConnections: false, dropStreamAfter: null, errorFrame: null, ignorePings: false, stallStreamAfter: null,
  };
}

function initialConfig(options: SimOptions): RuntimeConfig {
  return {
    token: options.token,
    callbackSecret: options.callbackSecret,
    wsLimitPerIp: options.wsLimitPerIp,
    stream: { ...DEFAULT_STREAM, ...options.stream },
    balanceCu: options.initialBalanceCu,
  };
}

export function createSimState(options: SimOptions): SimState {
  return {
    options,
    config: initialConfig(options),
    fixtures: defaultFixtures(),
    faults: emptyFaults(),
    sessions: new Map(),
    lastIdleSweep: 0,
    crons: new Map(),
    requests: [],
    wsConnections: [],
    cronFirings: [],
    counters: {},
    events: new EventEmitter(),
    startedAt: Date.now(),
    closed: false,
    hangWaiters: new Set(),
    runs: new Map(),
    sleepers: new Set(),
  };
}

export function bump(state: SimState, key: string): void {
  state.counters[key] = (state.counters[key] ?? 0) + 1;
}

export function pushLog<T>(state: SimState, log: T[], entry: T): void {
  log.push(entry);
  if (log.length > state.options.logLimit) log.shift();
}

/** A timer the simulator can cancel on close; resolves false when cancelled. */
export function sleep(state: SimState, ms: number): Promise<boolean> {
  if (state.closed) return Promise.resolve(false);
  return new Promise((resolve) => {
    const entry = {
      timer: setTimeout(() => {
        state.sleepers.delete(entry);
        resolve(true);
      }, ms),
      resolve,
    };
    state.sleepers.add(entry);
  });
}

/** Parks a request until its hang rule is cleared (resolves true), or it is abandoned / the sim closes (false). */
export function waitForHangRelease(state: SimState, key: string): { promise: Promise<boolean>; abandon(): void } {
  let waiter: Waiter = { key, resolve: () => undefined };
  const promise = new Promise<boolean>((resolve) => {
    waiter = { key, resolve };
    state.hangWaiters.add(waiter);
  });
  return {
    promise,
    abandon: () => {
      state.hangWaiters.delete(waiter);
      waiter.resolve(false);
    },
  };
}

export function releaseHangs(state: SimState, key?: string, open = true): void {
  for (const waiter of [...state.hangWaiters]) {
    if (key !== undefined && waiter.key !== key) continue;
    state.hangWaiters.delete(waiter);
    waiter.resolve(open);
  }
}

export function clearFaults(state: SimState): void {
  state.faults = emptyFaults();
  releaseHangs(state);
}

/** Back to the start-up state; open WebSockets stay open. */
export function resetState(state: SimState): void {
  clearFaults(state);
  state.config = initialConfig(state.options);
  state.fixtures = defaultFixtures();
  state.sessions.clear();
  state.crons.clear();
  state.requests.length = 0;
  state.wsConnections.length = 0;
  state.cronFirings.length = 0;
  state.counters = {};
}

export function shutdownState(state: SimState): void {
  state.closed = true;
  releaseHangs(state, undefined, false);
  for (const run of state.runs.values()) run.abort();
  for (const sleeper of state.sleepers) {
    clearTimeout(sleeper.timer);
    sleeper.resolve(false);
  }
  state.sleepers.clear();
  state.events.emit('closed');
  state.events.removeAllListeners();
}
