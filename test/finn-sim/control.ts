import type { EventEmitter } from 'node:events';
import { fireCron, type FireCronOptions } from './cron.js';
import { toBeauvoir, toKnowledge, toNft, type NftInput } from './fixtures.js';
import { defaultCode } from './faults.js';
import {
  bump, clearFaults, releaseHangs, resetState, type FaultState, type SimState,
} from './state.js';
import type {
  Beauvoir, CronFiring, CronRegistration, EvolutionEntry, FinnFrame, KnowledgeDomain, OracleIdentity,
  RequestLogEntry, SimSession, StreamConfig, TbaFixture, WsConnectionLog,
} from './types.js';
import { waitForEvent, waitUntil } from './waiters.js';
import type { WsStream } from './ws-stream.js';

/**
 * `path` in the fault setters is a target: omitted or `*` = everything; an endpoint name
 * (`sessions.create`, `sessions` = all session routes, `nfts`, `staking`, `ws`, …, `ecosystem` = all of B);
 * a route pattern (`/api/identity/:nftId/beauvoir`); an exact path; or a `prefix*`.
 */
export interface SimControl {
  setLatency(ms: number, path?: string): void;
  setErrorRate(rate: number, status?: number, path?: string): void;
  /** `null` clears the rule for `path`. `code` defaults by status (429 RATE_LIMITED, 402 BUDGET_EXCEEDED, …). */
  failWith(status: number | null, path?: string, code?: string): void;
  /** Requests matching `path` get no answer until `hang(path, false)`; then they proceed normally. */
  hang(path?: string, on?: boolean): void;
  /** New TCP connections (and reused keep-alive ones) are destroyed; the /__sim API stays reachable. */
  refuseConnections(on: boolean): void;
  /** Terminates the session's sockets (no close frame) once a run has sent `frames` frames. */
  dropStreamAfter(frames: number | null): void;
  /** After `afterFrames` frames, a run sends `error {message, recoverable}` and stops. */
  sendErrorFrame(afterFrames: number | null, opts?: { message?: string; recoverable?: boolean; continues?: boolean }): void;
  ignorePings(on: boolean): void;
  /** After `frames` frames a run goes silent (with ignorePings: a Finn hung mid-stream). */
  stallStreamAfter(frames: number | null): void;
  /** Answers `path` with Finn's plain-text 404, as a Finn that does not serve it. */
  absent(path: string, on?: boolean): void;
  setWsLimitPerIp(n: number): void;
  setStream(config: Partial<StreamConfig>): void;
  clearFaults(): void;
  readonly faults: FaultState;

  setToken(token: string | null): void;
  setCallbackSecret(secret: string): void;

  setNfts(wallet: string, nfts: NftInput[]): void;
  setStaking(wallet: string, bgtStaked: number, stakedSince?: string): void;
  /** Answers `/health` with this status (default 200) and verbatim body (default empty); `null` restores Finn's. */
  setHealthAnswer(answer: { status?: number; body?: string } | null): void;
  /** The next session created gets this id, whatever it is (a misbehaving Finn). */
  issueSessionId(id: string): void;
  setKnowledge(meta: { domains: KnowledgeDomain[]; totalDocuments?: number }): void;
  setOracle(oracle: Partial<OracleIdentity>): void;
  /** `null` removes it: the endpoint then answers a JSON 404 `NOT_FOUND` (unlike `absent`, plain text). */
  setBeauvoir(nftId: string, beauvoir: Partial<Beauvoir> | null): void;
  setEvolution(nftId: string, entries: EvolutionEntry[]): void;
  setTba(tbaAddress: string, entry: TbaFixture | null): void;

  readonly sessions: Map<string, SimSession>;
  /** Forgets one session, or all of them (a Finn restart): later calls get 404 SESSION_NOT_FOUND. */
  evictSession(id?: string): void;
  readonly crons: Map<string, CronRegistration>;
  fireCron(cronId: string, opts?: FireCronOptions): Promise<CronFiring>;

  openSockets(): number;
  broadcast(frame: FinnFrame, sessionId?: string): number;
  disconnectAll(code?: number, reason?: string): void;

  readonly requests: RequestLogEntry[];
  readonly wsConnections: WsConnectionLog[];
  readonly cronFirings: CronFiring[];
  readonly counters: Readonly<Record<string, number>>;
  counter(name: string): number;
  /** `request`, `ws-open`, `ws-close`, `cron-fired`, `run-end`, `closed`. */
  readonly events: EventEmitter;
  waitForSocketClose(timeoutMs?: number, predicate?: (log: WsConnectionLog) => boolean): Promise<WsConnectionLog>;
  waitForSocketOpen(timeoutMs?: number, predicate?: (log: WsConnectionLog) => boolean): Promise<WsConnectionLog>;
  waitForRequest(predicate?: (entry: RequestLogEntry) => boolean, timeoutMs?: number): Promise<RequestLogEntry>;
  waitForOpenSockets(n: number, timeoutMs?: number): Promise<void>;
  stats(): SimStats;
  /** Faults, fixtures, config, sessions, crons, logs and counters back to start-up; sockets stay open. */
  reset(): void;
}

export interface SimStats {
  uptimeSeconds: number;
  sessions: number;
  openSockets: number;
  crons: number;
  requests: number;
  balanceCu: number;
  auth: boolean;
  wsLimitPerIp: number;
  stream: StreamConfig;
  counters: Record<string, number>;
  faults: Record<string, unknown>;
}

export function faultsToJson(faults: FaultState): Record<string, unknown> {
  return {
    latency: Object.fromEntries(faults.latency),
    errorRate: Object.fromEntries(faults.errorRate),
    failWith: Object.fromEntries(faults.failWith),
    hang: [...faults.hang],
    absent: [...faults.absent],
    refuseConnections: faults.refuseConnections,
    dropStreamAfter: faults.dropStreamAfter,
    errorFrame: faults.errorFrame,
    ignorePings: faults.ignorePings,
    stallStreamAfter: faults.stallStreamAfter,
  };
}

const key = (path?: string): string => path ?? '*';

export function createControl(state: SimState, ws: WsStream, onRefuse: () => void): SimControl {
  const faults = (): FaultState => state.faults;
  return {
    setLatency: (ms, path) => {
      if (ms > 0) faults().latency.set(key(path), ms);
      else faults().latency.delete(key(path));
    },
    setErrorRate: (rate, status = 500, path) => {
      if (rate > 0) faults().errorRate.set(key(path), { rate: Math.min(rate, 1), status });
      else faults().errorRate.delete(key(path));
    },
    failWith: (status, path, code) => {
      if (status === null) faults().failWith.delete(key(path));
      else faults().failWith.set(key(path), { status, code: code ?? defaultCode(status) });
    },
    hang: (path, on = true) => {
      if (on) {
        faults().hang.add(key(path));
      } else {
        faults().hang.delete(key(path));
        releaseHangs(state, key(path));
      }
    },
    refuseConnections: (on) => {
      faults().refuseConnections = on;
      if (on) onRefuse();
    },
    dropStreamAfter: (frames) => { faults().dropStreamAfter = frames; },
    sendErrorFrame: (afterFrames, opts = {}) => {
      faults().errorFrame = afterFrames === null ? null : {
        afterFrames, message: opts.message ?? 'Simulated agent failure', recoverable: opts.recoverable ?? false, continues: opts.continues ?? false,
      };
    },
    ignorePings: (on) => { faults().ignorePings = on; },
    stallStreamAfter: (frames) => { faults().stallStreamAfter = frames; },
    absent: (path, on = true) => {
      if (on) faults().absent.add(path);
      else faults().absent.delete(path);
    },
    setWsLimitPerIp: (n) => { state.config.wsLimitPerIp = n; },
    setStream: (config) => { state.config.stream = { ...state.config.stream, ...config }; },
    clearFaults: () => clearFaults(state),
    get faults() { return state.faults; },

    setToken: (token) => { state.config.token = token; },
    setCallbackSecret: (secret) => { state.config.callbackSecret = secret; },

    setNfts: (wallet, nfts) => { state.fixtures.nfts.set(wallet.toLowerCase(), nfts.map((nft) => toNft(wallet, nft))); },
    setStaking: (wallet, bgtStaked, stakedSince) => {
      state.fixtures.staking.set(wallet.toLowerCase(), stakedSince === undefined ? { bgtStaked } : { bgtStaked, stakedSince });
    },
    setHealthAnswer: (answer) => {
      state.fixtures.healthAnswer = answer && { status: answer.status ?? 200, body: answer.body ?? '' };
    },
    issueSessionId: (id) => { state.fixtures.nextSessionId = id; },
    setKnowledge: (meta) => { state.fixtures.knowledge = toKnowledge(meta); },
    setOracle: (oracle) => { state.fixtures.oracle = { ...state.fixtures.oracle, ...oracle }; },
    setBeauvoir: (nftId, beauvoir) => {
      if (beauvoir === null) state.fixtures.beauvoir.delete(nftId);
      else state.fixtures.beauvoir.set(nftId, toBeauvoir(nftId, beauvoir));
    },
    setEvolution: (nftId, entries) => { state.fixtures.evolution.set(nftId, entries); },
    setTba: (tbaAddress, entry) => {
      if (entry === null) state.fixtures.tba.delete(tbaAddress.toLowerCase());
      else state.fixtures.tba.set(tbaAddress.toLowerCase(), entry);
    },

    get sessions() { return state.sessions; },
    evictSession: (id) => {
      if (id === undefined) state.sessions.clear();
      else state.sessions.delete(id);
      bump(state, 'sessions.evicted');
    },
    get crons() { return state.crons; },
    fireCron: (cronId, opts) => fireCron(state, cronId, opts),

    openSockets: () => ws.openSockets(),
    broadcast: (frame, sessionId) => ws.broadcast(frame, sessionId),
    disconnectAll: (code, reason) => ws.disconnectAll(code, reason),

    get requests() { return state.requests; },
    get wsConnections() { return state.wsConnections; },
    get cronFirings() { return state.cronFirings; },
    get counters() { return state.counters; },
    counter: (name) => state.counters[name] ?? 0,
    get events() { return state.events; },
    waitForSocketClose: (timeoutMs = 2000, predicate = () => true) => waitForEvent(state, 'ws-close', predicate, timeoutMs),
    waitForSocketOpen: (timeoutMs = 2000, predicate = () => true) => waitForEvent(state, 'ws-open', predicate, timeoutMs),
    waitForRequest: (predicate = () => true, timeoutMs = 2000) => waitForEvent(state, 'request', predicate, timeoutMs),
    waitForOpenSockets: (n, timeoutMs = 2000) => waitUntil(state, () => ws.openSockets() === n, `${n} open sockets`, timeoutMs),
    stats: () => ({
      uptimeSeconds: (Date.now() - state.startedAt) / 1000,
      sessions: state.sessions.size,
      openSockets: ws.openSockets(),
      crons: state.crons.size,
      requests: state.counters.http ?? 0,
      balanceCu: state.config.balanceCu,
      auth: state.config.token !== null,
      wsLimitPerIp: state.config.wsLimitPerIp,
      stream: state.config.stream,
      counters: { ...state.counters },
      faults: faultsToJson(state.faults),
    }),
    reset: () => resetState(state),
  };
}
