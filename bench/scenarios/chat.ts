/**
 * Issue #4: 1,000 concurrent `chat` subscriptions through Dixie over graphql-ws (50 wallets × 20,
 * the per-identity cap; one socket per wallet) vs the same 1,000 streams straight on the
 * simulator's WebSocket (one socket each). The simulator runs in its own process (so that the
 * load generator's pauses are not the sender's) and stamps the wall-clock time it hands each delta
 * to a socket; a delta's latency is its receive time (when the chunk carrying it reached the load
 * generator, `chunkAt`) minus that stamp, so "added
 * latency per delta" is the difference of the two distributions, the first delta of every stream
 * included, and again for the deltas sent while all 1,000 streams are open. Three pairs of runs: the
 * prompts spread over one delta interval, all in the same millisecond (stress), and spread over
 * 2 s (a rate at which the set-up keeps up, so that the streams keep the phases the clients gave
 * them and what is measured is the forwarding); in each pair
 * the direct run opens every stream's Finn socket and starts the stream on the schedule at which the
 * simulator accepted Dixie's socket and started it, so that the simulator does the same work at
 * the same moments in both runs: the same upgrades, the same deltas. Also printed:
 * time to the first delta and to ChatModelSelection (subscription set-up, Dixie's Finn connect),
 * deltas/s, Dixie's CPU per delta and the simulator's and the load generator's in each run (the three
 * share the machine's cores), where the bunches form (how bunched the prompts, the simulator's accepts of
 * Dixie's Finn sockets and the stream starts were), how many socket opens and stream starts the direct
 * run replayed, Dixie's
 * RSS per open subscription (peak while streaming, and after a full GC in a fresh process), lost or
 * reordered deltas.
 * Targets: added p99 ≤ 5 ms, ≤ 64 KB RSS per open subscription, zero lost or reordered deltas.
 * Knobs: BENCH_CHAT_DELAY_MS (200), BENCH_CHAT_WALLETS (50), BENCH_CHAT_PER_WALLET (20),
 * BENCH_CHAT_BURST=0, BENCH_CHAT_STEADY_SPREAD_MS=0 and BENCH_CHAT_MEMORY=0 to skip the burst pair,
 * the 2 s pair (BENCH_CHAT_STEADY_SPREAD_MS sets its spread) or the after-GC process;
 * BENCH_CHAT_HEAP_SNAPSHOT_DIR writes heap snapshots of that process before and with every subscription open;
 * BENCH_SIM_CPUS pins the simulator apart from BENCH_SERVER_CPUS and BENCH_SIM_NODE_ARGS gives its process
 * Node flags (e.g. `--import $PWD/bench/stall-log.mjs`); BENCH_CHAT_SLOW_MS (10) is the latency
 * from which a delta counts as slow in the printed episodes.
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { splitDeltas } from '../../test/finn-sim/index.js';
import type { StreamConfig } from '../../test/finn-sim/types.js';
import { newWallet, walletToken, writeAllowlist } from '../../test/helpers/auth.js';
import { MAX_SUBSCRIPTIONS_PER_IDENTITY } from '../../src/ws-guards.js';
import { epochNow } from '../clock.js';
import { BENCH_JWT_KEY, cpuMs, ownCpuMs, gqlOnce, startChild, gqlTarget, pool, quantile, rssBytes, startDixie, verdict, withTimeout, type Child, type MemorySample } from '../lib.js';

const WALLETS = Number(process.env.BENCH_CHAT_WALLETS ?? 50);
const PER_WALLET = Math.min(Number(process.env.BENCH_CHAT_PER_WALLET ?? MAX_SUBSCRIPTIONS_PER_IDENTITY), MAX_SUBSCRIPTIONS_PER_IDENTITY);
const DELTAS = 50;
/**
 * 200 ms, not 20: at 20 ms (50,000 deltas/s offered) this 2-core machine cannot keep the pace even
 * without Dixie (the simulator delivered ~12,600/s), so the baseline itself would be saturated.
 */
const DELAY_MS = Number(process.env.BENCH_CHAT_DELAY_MS ?? 200);
/**
 * The third pair's spread: 1,000 subscriptions within one delta interval overload the set-up on a
 * small machine (every stream's first delta then follows Dixie's set-up turns, in clumps that the
 * fixed pace keeps for all 50 deltas); over this long the streams start as the prompts arrive.
 */
const STEADY_SPREAD_MS = Number(process.env.BENCH_CHAT_STEADY_SPREAD_MS ?? 2000);
const RUN_TIMEOUT_MS = 60_000;
const SUBSCRIPTION = 'subscription($s: ID!, $t: String!) { chat(sessionId: $s, text: $t) { __typename ... on ChatTextDelta { delta } ... on ChatError { code message } } }';

interface Stream {
  sessionId: string;
  text: string;
  expected: string[];
}

/**
 * What one run saw of one stream. Preallocated and checked as deltas arrive (no array of delta
 * strings), so that the load generator's own GC pauses stay short: they delay the receive stamps.
 */
interface Seen {
  sentAt: number;
  expected: readonly string[];
  /** `epochNow()` when each delta arrived (compared with the simulator's send stamp). */
  recv: Float64Array;
  /** Deltas received. */
  n: number;
  /** Deltas whose text is not the expected one at their position (reordered or altered). */
  mismatched: number;
  /** First event of any kind received (the subscription is live in Dixie). */
  firstEventAt: number | null;
  done: boolean;
  error: string | null;
}

interface RunStats {
  name: string;
  seen: Seen[];
  wallMs: number;
  /** Per delta: ms from the simulator sending it to the client receiving it. */
  hop: number[];
  /**
   * The same for the deltas sent while every stream of the run was open: after the last stream's
   * first delta and before the first stream's last one (no subscription starting or ending).
   */
  hopSteady: number[];
  /** Steady-state deltas slower than SLOW_MS: [send time (`epochNow()`), latency]. */
  slow: Array<[number, number]>;
  /** Send stamps of the steady-state deltas, ascending: how bunched the simulator sent them. */
  sentSteady: Float64Array;
}

const SLOW_MS = Number(process.env.BENCH_CHAT_SLOW_MS ?? 10);
/** A bunch: BUNCH_OVER or more deltas sent within BUNCH_MS (three times the offered 5 per ms). */
const BUNCH_MS = 5;
const BUNCH_OVER = 75;

/**
 * Groups slow deltas into episodes (gaps over 30 ms split them): a few long episodes point at
 * pauses in one process (GC), many short ones at load bursts.
 */
function episodes(slow: Array<[number, number]>): string {
  const sorted = [...slow].sort((a, b) => a[0] - b[0]);
  const out: Array<{ at: number; span: number; n: number; max: number }> = [];
  for (const [at, latency] of sorted) {
    const last = out.at(-1);
    if (last && at - (last.at + last.span) <= 30) {
      last.span = at - last.at;
      last.n += 1;
      last.max = Math.max(last.max, latency);
    } else out.push({ at, span: 0, n: 1, max: latency });
  }
  const top = [...out].sort((a, b) => b.n - a.n).slice(0, 6).sort((a, b) => a.at - b.at);
  return `${slow.length} deltas over ${SLOW_MS} ms in ${out.length} episodes; largest (at epoch ms): ${top.map((e) => `@${e.at.toFixed(0)} ${e.n}× ≤${e.max.toFixed(0)} ms over ${e.span.toFixed(0)} ms`).join(', ')}`;
}

/** Pairs each received delta with the simulator's send stamp of the same index in its session. */
function hops(seen: Seen[], streams: Stream[]): Pick<RunStats, 'hop' | 'hopSteady' | 'slow' | 'sentSteady'> {
  const none = { t: new Float64Array(0), n: 0 };
  const sentOf = streams.map((st) => sentStamps.get(st.sessionId) ?? none);
  const from = Math.max(...sentOf.map((x) => (x.n ? x.t[0]! : Number.POSITIVE_INFINITY)));
  const to = Math.min(...sentOf.map((x) => (x.n ? x.t[x.n - 1]! : Number.NEGATIVE_INFINITY)));
  const hop: number[] = [];
  const hopSteady: number[] = [];
  const slow: Array<[sentAt: number, latency: number]> = [];
  const sentSteady: number[] = [];
  seen.forEach((s, i) => {
    const { t: sent, n } = sentOf[i]!;
    for (let j = 0; j < Math.min(n, s.n, s.recv.length); j++) {
      const latency = s.recv[j]! - sent[j]!;
      hop.push(latency);
      if (sent[j]! > from && sent[j]! < to) {
        hopSteady.push(latency);
        sentSteady.push(sent[j]!);
        if (latency > SLOW_MS) slow.push([sent[j]!, latency]);
      }
    }
  });
  return { hop, hopSteady, slow, sentSteady: Float64Array.from(sentSteady).sort() };
}

/**
 * How bunched the simulator sent the steady-state deltas: the most sent within any window of
 * `windowMs`, and how many deltas were part of such a window holding `over` or more. A proxy hands
 * on a bunch one delta after another, so its added latency grows with the bunch's size.
 */
function bunching(sent: Float64Array, windowMs: number, over: number): { max: number; inBunches: number } {
  let max = 0;
  let lo = 0;
  const marked = new Uint8Array(sent.length);
  for (let hi = 0; hi < sent.length; hi++) {
    while (sent[hi]! - sent[lo]! >= windowMs) lo++;
    const n = hi - lo + 1;
    if (n > max) max = n;
    if (n >= over) marked.fill(1, lo, hi + 1);
  }
  return { max, inBunches: marked.reduce((a, b) => a + b, 0) };
}

/**
 * How bunched the run's set-up steps were: the load generator sending the prompts, the simulator
 * accepting Dixie's Finn sockets, the simulator starting the streams (first delta less the pace).
 * Every stream keeps its start's phase, so the start bunches recur every pace for all its deltas.
 */
function whereBunchesForm(run: RunStats, streams: Stream[]): { prompts: number; opens: number; starts: number } {
  const most = (times: number[]) => bunching(Float64Array.from(times.filter(Number.isFinite)).sort(), BUNCH_MS, BUNCH_OVER).max;
  return {
    prompts: most(run.seen.map((s) => s.sentAt)),
    opens: most(streams.map((st) => socketOpens.get(st.sessionId) ?? Number.NaN)),
    starts: most(streams.map((st) => firstSentAt(st.sessionId))),
  };
}

const newSeen = (st: Stream): Seen => ({
  sentAt: 0, expected: st.expected, recv: new Float64Array(DELTAS), n: 0, mismatched: 0, firstEventAt: null, done: false, error: null,
});

function recordDelta(s: Seen, delta: string, now: number): void {
  if (s.n < s.recv.length) s.recv[s.n] = now;
  if (s.n < s.expected.length && delta !== s.expected[s.n]) s.mismatched += 1;
  s.n += 1;
}

/**
 * When the TCP chunk being dispatched reached the load generator: set by a `data` listener that
 * runs before the WebSocket parses the chunk, and read by the message handlers, which the parse
 * calls synchronously. Deltas are stamped with it in both runs, so that neither the two clients'
 * different parsing costs (graphql-ws messages vs bare Finn frames) nor the time the load generator
 * spends on the messages ahead of a delta in the same chunk count as latency.
 */
let chunkAt = 0;

/** A ws client whose socket stamps `chunkAt` as each chunk arrives. */
class StampingWebSocket extends WebSocket {
  constructor(...args: ConstructorParameters<typeof WebSocket>) {
    super(...args);
    // 'upgrade' comes before ws attaches its own data listener to the socket, so this one runs first.
    this.once('upgrade', (res) => {
      res.socket.prependListener('data', () => {
        chunkAt = epochNow();
      });
    });
  }
}

/** When the simulator handed each `text_delta` of a session to a socket; loaded after each run. */
const sentStamps = new Map<string, { t: Float64Array; n: number }>();
/** When the simulator accepted each session's stream socket (epoch ms); loaded with the stamps. */
const socketOpens = new Map<string, number>();

/** When the simulator sent the session's first delta in the run last loaded (NaN if it sent none). */
function firstSentAt(sessionId: string): number {
  const x = sentStamps.get(sessionId);
  return x?.n ? x.t[0]! : Number.NaN;
}

/** The simulator in its own process: its pauses are not the load generator's, nor the reverse. */
interface SimProcess {
  url: string;
  wsUrl: string;
  pid: number;
  setStream(stream: Partial<StreamConfig>): Promise<void>;
  setStaking(wallet: string, bgt: number): Promise<void>;
  /** Forgets the send stamps (runs reuse the same sessions). */
  clearStamps(): Promise<void>;
  /** Reads the send stamps of the run into `sentStamps`, and its socket opens into `socketOpens`. */
  loadStamps(): Promise<void>;
  close(): Promise<void>;
}

async function startSimProcess(options: Record<string, unknown>): Promise<SimProcess> {
  // BENCH_SIM_CPUS: the simulator's own CPU list, e.g. `0` with the benchmark under `taskset -c 0` and
  // BENCH_SERVER_CPUS=1: Dixie alone on core 1 while the direct and the Dixie runs share core 0 alike.
  const simCpus = process.env.BENCH_SIM_CPUS;
  // BENCH_SIM_NODE_ARGS: Node flags for the simulator's process only (e.g. `--import $PWD/bench/stall-log.mjs`).
  // --initial-old-space-size: the simulator stands in for a Finn on other machines; no mark-compact of its
  // own (the promotions of 1,000 sockets' state made one fall in some runs and not in their pair) should
  // pause the deltas of one run of a pair and not the other. The load generator starts the same way (package.json).
  const nodeArgs = ['--initial-old-space-size=512', ...(process.env.BENCH_SIM_NODE_ARGS?.split(' ').filter(Boolean) ?? [])];
  const child = await startChild('bench/servers/finn-sim.ts', { FINN_SIM_OPTIONS: JSON.stringify(options) }, undefined, 60_000, { ipc: true, nodeArgs, ...(simCpus ? { cpus: simCpus } : {}) });
  const ask = async (msg: { type: string } & Record<string, unknown>) => {
    await child.request!(msg);
  };
  return {
    url: `http://127.0.0.1:${child.port}`,
    wsUrl: `ws://127.0.0.1:${child.port}`,
    pid: child.pid,
    setStream: (stream) => ask({ type: 'stream', stream }),
    setStaking: (wallet, bgt) => ask({ type: 'staking', wallet, bgt }),
    clearStamps: async () => {
      sentStamps.clear();
      socketOpens.clear();
      await ask({ type: 'clear' });
    },
    loadStamps: async () => {
      const { stamps, opens } = await child.request!<{ stamps: Record<string, number[]>; opens: Record<string, number> }>({ type: 'stamps' });
      sentStamps.clear();
      for (const [id, list] of Object.entries(stamps)) sentStamps.set(id, { t: Float64Array.from(list), n: list.length });
      socketOpens.clear();
      for (const [id, at] of Object.entries(opens)) socketOpens.set(id, at);
    },
    close: () => child.stop(),
  };
}

/** Each subscription gets its own session, owned by its wallet: `PER_WALLET` per token. */
function startSessions(base: string, tokens: string[]): Promise<Stream[][]> {
  return pool(tokens, 4, (token, wi) =>
    pool(Array.from({ length: PER_WALLET }, (_, i) => i), 4, async (i) => {
      const d = await gqlOnce<{ startChat: { id: string } }>(gqlTarget(base, 'mutation { startChat { id } }', {}, { authorization: `Bearer ${token}` }));
      const text = promptFor(wi * PER_WALLET + i);
      return { sessionId: d.startChat.id, text, expected: splitDeltas(`Echo: ${text}`, DELTAS) };
    }),
  );
}

/** A prompt whose echo splits into DELTAS pieces of ~4 characters (a token or so each). */
function promptFor(i: number): string {
  return `bench prompt ${i}: ${'lorem ipsum dolor sit amet '.repeat(8)}`.slice(0, DELTAS * 4 - 6);
}

/** Offsets that spread `n` starts evenly over `spreadMs` (all at 0 when 0). */
function spreadOffsets(n: number, spreadMs: number): number[] {
  return Array.from({ length: n }, (_, i) => (spreadMs > 0 ? (i * spreadMs) / n : 0));
}

/**
 * Calls `starts[i]` `offsetsMs[i]` after now (1 ms timer resolution; those due now synchronously).
 * Spread over one delta interval, 1,000 streams are concurrent without their deltas landing in the
 * same millisecond.
 */
function startAt(starts: Array<() => void>, offsetsMs: number[]): void {
  const order = starts.map((_, i) => i).sort((a, b) => offsetsMs[a]! - offsetsMs[b]!);
  const t0 = performance.now();
  let next = 0;
  const tick = (): void => {
    const elapsed = performance.now() - t0;
    while (next < order.length && offsetsMs[order[next]!]! <= elapsed) starts[order[next++]!]!();
    if (next < order.length) setTimeout(tick, 1);
  };
  tick();
}

/** When the direct run opens each stream's socket and sends its prompt, ms after it starts; `streams` order. */
interface Schedule {
  openMs: number[];
  promptMs: number[];
}

/** Every socket opened at once, each prompt sent as soon as its socket is open (warm-up). */
function allAtOnce(n: number): Schedule {
  return { openMs: new Array<number>(n).fill(0), promptMs: new Array<number>(n).fill(0) };
}

/**
 * What the simulator did in the run it last streamed, as a schedule to replay: when it accepted
 * each stream's socket, and when it started the stream (its first delta's send stamp less the
 * pace: the first delta follows the prompt by one delay), as offsets from the first socket. A
 * stream the simulator has no record of is opened and prompted at 0.
 */
function replaySchedule(streams: Stream[]): Schedule {
  const prompted = streams.map((st) => firstSentAt(st.sessionId) - DELAY_MS);
  const opened = streams.map((st, k) => socketOpens.get(st.sessionId) ?? prompted[k]!);
  const t0 = Math.min(...opened.filter((t) => !Number.isNaN(t)));
  const openMs = opened.map((t) => (Number.isNaN(t) ? 0 : t - t0));
  return { openMs, promptMs: prompted.map((t, k) => (Number.isNaN(t) ? openMs[k]! : Math.max(openMs[k]!, t - t0))) };
}

async function waitAll(seen: Seen[], timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (seen.some((s) => !s.done) && performance.now() < deadline) await sleep(20);
}

/** Dixie: one graphql-ws client per wallet, `PER_WALLET` subscriptions on each. */
async function runDixie(name: string, sim: SimProcess, clients: Client[], streams: Stream[][], staggerMs: number, onTick?: (open: number) => Promise<void>): Promise<RunStats> {
  const seen = streams.map((ws) => ws.map((st) => newSeen(st)));
  const flat = seen.flat();
  await sim.clearStamps();
  const disposers: Array<() => void> = [];
  let open = 0;
  let sampling = true;
  const sampler = (async () => {
    while (sampling && onTick) {
      await onTick(open);
      await sleep(10);
    }
  })();
  const start = epochNow();
  const starts: Array<() => void> = [];
  try {
    streams.forEach((ws, w) => ws.forEach((st, i) => starts[i * streams.length + w] = () => {
      const s = seen[w]![i]!;
      s.sentAt = epochNow();
      disposers.push(clients[w]!.subscribe<{ chat: { __typename: string; delta?: string; code?: string; message?: string } }>(
        { query: SUBSCRIPTION, variables: { s: st.sessionId, t: st.text } },
        {
          next: (r) => {
            const now = chunkAt;
            if (s.firstEventAt === null) {
              s.firstEventAt = now;
              open += 1;
            }
            const e = r.data?.chat;
            if (r.errors) s.error = JSON.stringify(r.errors);
            if (e?.__typename === 'ChatTextDelta') {
              recordDelta(s, e.delta ?? '', now);
            } else if (e?.__typename === 'ChatError') {
              s.error = `${e.code}: ${e.message}`;
            }
          },
          error: (err) => {
            s.error = err instanceof Error ? err.message : JSON.stringify(err);
            if (s.firstEventAt !== null && !s.done) open -= 1;
            s.done = true;
          },
          complete: () => {
            if (s.firstEventAt !== null && !s.done) open -= 1;
            s.done = true;
          },
        },
      ));
    }));
    const ordered = starts.filter(Boolean);
    startAt(ordered, spreadOffsets(ordered.length, staggerMs));
    await waitAll(flat, RUN_TIMEOUT_MS);
    await sim.loadStamps();
    return { name, seen: flat, wallMs: epochNow() - start, ...hops(flat, streams.flat()) };
  } finally {
    sampling = false;
    await sampler;
    for (const dispose of disposers) dispose();
  }
}

/**
 * Opens every stream's subscription and resolves once each has received its first text delta (its
 * Finn socket is open and streaming); `dispose` ends them all. Untimed: for the memory sample.
 */
async function holdOpen(clients: Client[], streams: Stream[][], timeoutMs: number): Promise<{ open: number; dispose(): void }> {
  const disposers: Array<() => void> = [];
  let open = 0;
  let ended = 0;
  streams.forEach((ws, w) => ws.forEach((st) => {
    let first = true;
    const end = () => {
      ended += 1;
      if (!first) open -= 1;
    };
    disposers.push(clients[w]!.subscribe<{ chat: { __typename: string } }>(
      { query: SUBSCRIPTION, variables: { s: st.sessionId, t: st.text } },
      {
        next: (r) => {
          if (first && r.data?.chat.__typename === 'ChatTextDelta') {
            first = false;
            open += 1;
          }
        },
        error: () => end(),
        complete: () => end(),
      },
    ));
  }));
  const total = streams.reduce((n, ws) => n + ws.length, 0);
  const deadline = performance.now() + timeoutMs;
  while (open + ended < total && performance.now() < deadline) await sleep(20);
  return { open, dispose: () => disposers.forEach((d) => d()) };
}

/**
 * Straight on the simulator: one Finn socket per stream, opened `schedule.openMs[k]` after the run
 * starts (when Dixie opened its socket for that stream in the run replayed), its prompt sent at
 * `schedule.promptMs[k]` or as soon as the socket is open, and the socket closed after `agent_end`
 * as Dixie closes its own. The simulator then accepts the same sockets and sends the same deltas at
 * the same moments as in the run through Dixie, and its work for them (upgrades, the garbage they
 * leave) weighs on both runs alike.
 */
async function runDirect(name: string, sim: SimProcess, streams: Stream[], schedule: Schedule): Promise<RunStats> {
  const seen = streams.map(newSeen);
  const sockets: WebSocket[] = [];
  const due: boolean[] = streams.map(() => false);
  const prompt = (k: number): void => {
    seen[k]!.sentAt = epochNow();
    sockets[k]!.send(JSON.stringify({ type: 'prompt', text: streams[k]!.text }));
  };
  // A socket's error after its stream ended (closing after agent_end) is not the stream's.
  const fail = (s: Seen, error: string): void => {
    if (s.done) return;
    s.error = error;
    s.done = true;
  };
  const opens = streams.map((st, k) => () => {
    const s = seen[k]!;
    const ws = new StampingWebSocket(`${sim.wsUrl}/ws/${st.sessionId}`);
    sockets[k] = ws;
    ws.on('error', (err) => fail(s, `Finn socket ${k}: ${err.message}`));
    ws.once('unexpected-response', (_req, res) => fail(s, `Finn socket ${k}: upgrade ${res.statusCode}`));
    ws.once('open', () => {
      if (due[k]) prompt(k);
    });
    ws.on('message', (data) => {
      const now = chunkAt;
      s.firstEventAt ??= now;
      const frame = JSON.parse(String(data)) as { type: string; data?: { delta?: string; message?: string } };
      if (frame.type === 'text_delta') {
        recordDelta(s, frame.data?.delta ?? '', now);
      } else if (frame.type === 'error') {
        fail(s, frame.data?.message ?? 'error');
      } else if (frame.type === 'agent_end') {
        s.done = true;
        ws.close();
      }
    });
  });
  const prompts = streams.map((_, k) => () => {
    due[k] = true;
    if (sockets[k]?.readyState === WebSocket.OPEN) prompt(k);
  });
  try {
    await sim.clearStamps();
    const start = epochNow();
    startAt(opens, schedule.openMs);
    startAt(prompts, schedule.promptMs);
    await waitAll(seen, RUN_TIMEOUT_MS);
    await sim.loadStamps();
    return { name, seen, wallMs: epochNow() - start, ...hops(seen, streams) };
  } finally {
    for (const ws of sockets) ws?.terminate();
  }
}

interface Summary {
  name: string;
  deltas: number;
  perSecond: number;
  e2e: { p50: number; p99: number };
  hop: { p50: number; p99: number; max: number };
  hopSteady: { p50: number; p99: number; max: number; n: number };
  slow: Array<[number, number]>;
  /** Most steady-state deltas the simulator sent within BUNCH_MS, and how many were sent in bunches of BUNCH_OVER or more. */
  bunches: { max: number; inBunches: number };
  first: { p50: number; p99: number };
  /** Prompt → first event of any kind (through Dixie: ChatModelSelection, before Finn is involved). */
  firstEvent: { p50: number; p99: number };
  sinceFirst: { p50: number; p99: number };
  gap: { p50: number; p99: number };
  lost: number;
  reordered: number;
  incomplete: number;
  errors: string[];
}

function summarise(run: RunStats, streams: Stream[]): Summary {
  const e2e: number[] = [];
  const first: number[] = [];
  const sinceFirst: number[] = [];
  const gap: number[] = [];
  let lost = 0;
  let reordered = 0;
  let incomplete = 0;
  let lastAt = 0;
  const errors: string[] = [];
  run.seen.forEach((s, i) => {
    const expected = streams[i]!.expected;
    const at = Array.from(s.recv.subarray(0, Math.min(s.n, s.recv.length)), (t) => t - s.sentAt);
    e2e.push(...at);
    if (at.length) first.push(at[0]!);
    for (let j = 1; j < at.length; j++) {
      gap.push(at[j]! - at[j - 1]!);
      sinceFirst.push(at[j]! - at[0]!);
    }
    if (at.length) lastAt = Math.max(lastAt, s.sentAt + at.at(-1)!);
    lost += Math.max(0, expected.length - s.n);
    reordered += s.mismatched;
    if (!s.done) incomplete += 1;
    if (s.error && errors.length < 5) errors.push(s.error);
  });
  const firstSent = Math.min(...run.seen.map((s) => s.sentAt));
  const sort = (xs: number[]) => xs.sort((a, b) => a - b);
  const q = (xs: number[]) => ({ p50: quantile(xs, 0.5), p99: quantile(xs, 0.99) });
  return {
    name: run.name,
    deltas: e2e.length,
    perSecond: e2e.length / ((lastAt - firstSent) / 1000),
    e2e: q(sort(e2e)),
    hop: { ...q(sort(run.hop)), max: run.hop.at(-1) ?? Number.NaN },
    hopSteady: { ...q(sort(run.hopSteady)), max: run.hopSteady.at(-1) ?? Number.NaN, n: run.hopSteady.length },
    slow: run.slow,
    bunches: bunching(run.sentSteady, BUNCH_MS, BUNCH_OVER),
    first: q(sort(first)),
    firstEvent: q(sort(run.seen.flatMap((s) => (s.firstEventAt === null ? [] : [s.firstEventAt - s.sentAt])))),
    sinceFirst: q(sort(sinceFirst)),
    gap: q(sort(gap)),
    lost,
    reordered,
    incomplete,
    errors,
  };
}

const f = (n: number) => n.toFixed(1);

function printSummaries(rows: Summary[]): void {
  console.log('\n| run | deltas | deltas/s | Finn send → client p50 / p99 / max ms | same, all streams open: deltas, p50 / p99 / max ms | since prompt p50 / p99 ms | first delta p50 / p99 ms | since first delta p50 / p99 ms | inter-arrival p50 / p99 ms | lost | reordered | unfinished |');
  console.log('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const r of rows) {
    console.log(`| ${r.name} | ${r.deltas} | ${r.perSecond.toFixed(0)} | ${f(r.hop.p50)} / ${f(r.hop.p99)} / ${f(r.hop.max)} | ${r.hopSteady.n}: ${f(r.hopSteady.p50)} / ${f(r.hopSteady.p99)} / ${f(r.hopSteady.max)} | ${f(r.e2e.p50)} / ${f(r.e2e.p99)} | ${f(r.first.p50)} / ${f(r.first.p99)} | ${f(r.sinceFirst.p50)} / ${f(r.sinceFirst.p99)} | ${f(r.gap.p50)} / ${f(r.gap.p99)} | ${r.lost} | ${r.reordered} | ${r.incomplete} |`);
  }
  for (const r of rows) if (r.errors.length) console.log(`${r.name} errors (first ${r.errors.length}): ${r.errors.join(' | ')}`);
}

function connect(url: string, token: string): Promise<Client> {
  return withTimeout(new Promise<Client>((resolve, reject) => {
    const client = createClient({
      url,
      webSocketImpl: StampingWebSocket,
      connectionParams: { authorization: `Bearer ${token}` },
      lazy: false,
      retryAttempts: 0,
      on: {
        connected: () => resolve(client),
        closed: (e) => reject(new Error(`graphql-ws closed before connecting: ${JSON.stringify(e)}`)),
      },
    });
  }), 10_000, 'graphql-ws connect');
}

/**
 * Retained memory per open subscription, read after full GCs inside a fresh Dixie (the same start
 * through bench/servers/dixie-mem.mjs: the compiled build with --expose-gc and an IPC channel):
 * warm-up, sample, every subscription open on a slow stream with its first delta received, sample.
 * A separate, untimed process: no GC pause touches the latency runs, and RSS starts from a process
 * that has not already grown through them.
 */
async function retainedMemory(sim: SimProcess, tokens: string[], allowlistPath: string): Promise<{ gcBefore: MemorySample; gcOpen: MemorySample; held: { open: number } }> {
  const dixie = await startDixie(sim.url, { DIXIE_ALLOWLIST_PATH: allowlistPath }, { memoryHook: true });
  const clients: Client[] = [];
  try {
    const base = `http://127.0.0.1:${dixie.port}`;
    const streams = await startSessions(base, tokens);
    clients.push(...(await pool(tokens, 10, (t) => connect(`ws://127.0.0.1:${dixie.port}/graphql`, t))));
    await sim.setStream({ deltas: 3, delayMs: 10, tools: false });
    await runDixie('warm-up', sim, clients, streams.map((ws) => ws.slice(0, 1)), 0);
    await sim.setStream({ deltas: DELTAS, delayMs: 2000, tools: false });
    await sleep(500);
    const snapshotDir = process.env.BENCH_CHAT_HEAP_SNAPSHOT_DIR;
    if (snapshotDir) await mkdir(snapshotDir, { recursive: true });
    const snapshot = async (name: string) => {
      if (snapshotDir) await dixie.request!({ type: 'snapshot', path: join(snapshotDir, `${name}.heapsnapshot`) });
    };
    // Writing a snapshot grows RSS for good (the writer's native buffers): write it before the
    // baseline is measured, so that the RSS per subscription stays comparable.
    await snapshot('before');
    const gcBefore = await dixie.memoryAfterGc!();
    const held = await holdOpen(clients, streams, RUN_TIMEOUT_MS);
    try {
      const gcOpen = await dixie.memoryAfterGc!();
      await snapshot('open');
      return { gcBefore, gcOpen, held };
    } finally {
      held.dispose();
    }
  } finally {
    for (const c of clients) await c.dispose();
    await dixie.stop();
  }
}

export async function chatScenario(): Promise<void> {
  const total = WALLETS * PER_WALLET;
  const dir = await mkdtemp(join(tmpdir(), 'dixie-bench-chat-'));
  const sim = await startSimProcess({ port: 0, wsLimitPerIp: 100_000, maxSessions: 2 * total + 100, stream: { deltas: DELTAS, delayMs: DELAY_MS, tools: false }, frameLogLimit: 0, logLimit: 100 });
  const clients: Client[] = [];
  let dixie: Child | undefined;
  try {
    const wallets = Array.from({ length: WALLETS }, () => newWallet());
    const allowlistPath = join(dir, 'allowlist.json');
    await writeAllowlist(allowlistPath, wallets);
    for (const w of wallets) await sim.setStaking(w, 150);
    dixie = await startDixie(sim.url, { DIXIE_ALLOWLIST_PATH: allowlistPath });
    const base = `http://127.0.0.1:${dixie.port}`;
    const tokens = await Promise.all(wallets.map((w) => walletToken(w, { key: BENCH_JWT_KEY })));

    const streams = await startSessions(base, tokens);
    const flat = streams.flat();
    const wsUrl = `ws://127.0.0.1:${dixie.port}/graphql`;
    clients.push(...(await pool(tokens, 10, (t) => connect(wsUrl, t))));

    // Warm-up at full scale on short streams (JIT, cached tiers, socket paths, heap grown to its
    // working size), so that the first measured run does not pay for them.
    await sim.setStream({ deltas: 10, delayMs: 50, tools: false });
    await runDixie('warm-up', sim, clients, streams, 0);
    await runDirect('warm-up', sim, flat, allAtOnce(flat.length));
    await sim.setStream({ deltas: DELTAS, delayMs: DELAY_MS, tools: false });
    await sleep(1000);

    const pid = dixie.pid;
    /**
     * One pair of runs: through Dixie with the prompts started over `staggerMs`, then direct on the
     * schedule at which the simulator accepted Dixie's Finn sockets and started those streams.
     * Dixie's set-up decides when each socket opens and each prompt reaches the simulator, and the
     * simulator keeps every stream on its start's phase for all 50 deltas: replaying the schedule
     * sends the same deltas in the same bunches both times, and puts the simulator's 1,000 socket
     * upgrades (and their garbage) in both runs, where they used to be in the run through Dixie only.
     */
    /** The simulator's and the load generator's CPU ms, or what they used since `before`. */
    const othersCpu = async (before = { sim: 0, lg: 0 }) => ({ sim: (await cpuMs(sim.pid)) - before.sim, lg: ownCpuMs() - before.lg });
    const pairOfRuns = async (mode: string, staggerMs: number) => {
      const rssBefore = await rssBytes(pid);
      const cpuBefore = await cpuMs(pid);
      const othersBefore = await othersCpu();
      let rssPeak = { rss: 0, open: 0 };
      const viaDixie = await runDixie(`through Dixie (${WALLETS} sockets × ${PER_WALLET}), ${mode}`, sim, clients, streams, staggerMs, async (open) => {
        if (open < rssPeak.open) return;
        const rss = await rssBytes(pid).catch(() => 0);
        if (open > rssPeak.open || rss > rssPeak.rss) rssPeak = { rss, open };
      });
      const cpuUsed = (await cpuMs(pid)) - cpuBefore;
      const others = await othersCpu(othersBefore);
      const schedule = replaySchedule(flat);
      const formed = whereBunchesForm(viaDixie, flat);
      const replayed = { opens: flat.filter((st) => socketOpens.has(st.sessionId)).length, starts: flat.filter((st) => Number.isFinite(firstSentAt(st.sessionId))).length };
      await sleep(1000);
      const rssAfter = await rssBytes(pid);
      const othersBeforeDirect = await othersCpu();
      const direct = await runDirect(`direct to simulator (${total} sockets), ${mode}: the Dixie run's socket and start schedule`, sim, flat, schedule);
      const othersDirect = await othersCpu(othersBeforeDirect);
      await sleep(500);
      return { mode, d: summarise(direct, flat), x: summarise(viaDixie, flat), cpuUsed, others, othersDirect, replayed, formed, rssBefore, rssPeak, rssAfter };
    };
    // BENCH_CHAT_BURST=0 / BENCH_CHAT_STEADY_SPREAD_MS=0 / BENCH_CHAT_MEMORY=0 skip a pair / the after-GC memory process (quicker experiments).
    const runs = [await pairOfRuns(`prompts spread over ${DELAY_MS} ms`, DELAY_MS)];
    if (process.env.BENCH_CHAT_BURST !== '0') runs.push(await pairOfRuns('all prompts at once', 0));
    if (STEADY_SPREAD_MS > 0) runs.push(await pairOfRuns(`prompts spread over ${STEADY_SPREAD_MS} ms (a rate the set-up keeps up with)`, STEADY_SPREAD_MS));

    // Clients first: a non-lazy graphql-ws client reports its socket closing under it on stderr.
    for (const c of clients.splice(0)) await c.dispose();
    await dixie.stop();
    dixie = undefined;
    const memory = process.env.BENCH_CHAT_MEMORY === '0' ? null : await retainedMemory(sim, tokens, allowlistPath);

    printSummaries(runs.flatMap((r) => [r.d, r.x]));
    const mb = (n: number) => `${(n / 2 ** 20).toFixed(1)} MB`;
    const kb = (n: number) => `${(n / 1024).toFixed(1)} KB`;
    console.log(`\nstream: ${DELTAS} deltas every ${DELAY_MS} ms per prompt, ${total} prompts (offered ${((total * 1000) / DELAY_MS).toFixed(0)} deltas/s)`);
    for (const r of runs) {
      const { d, x } = r;
      console.log(`\n${r.mode}:`);
      console.log(`  added latency per delta, Finn send → client receive, while all ${total} streams are open: p50 ${f(x.hopSteady.p50 - d.hopSteady.p50)} ms, p99 ${f(x.hopSteady.p99 - d.hopSteady.p99)} ms (${x.hopSteady.n} and ${d.hopSteady.n} deltas)`);
      console.log(`  slow deltas through Dixie: ${episodes(x.slow)}`);
      console.log(`  slow deltas direct: ${episodes(d.slow)}`);
      const b = (r: Summary) => `at most ${r.bunches.max} within ${BUNCH_MS} ms, ${r.bunches.inBunches} deltas in bunches of ${BUNCH_OVER}+`;
      console.log(`  simulator send bunching, all streams open: through Dixie ${b(x)}; direct ${b(d)}`);
      const { prompts, opens, starts } = r.formed;
      console.log(`  where the bunches form, through Dixie (most within ${BUNCH_MS} ms): prompts sent ${prompts}, Finn sockets accepted by the simulator ${opens}, streams started ${starts}`);
      console.log(`  the direct run replayed ${r.replayed.opens} socket opens and ${r.replayed.starts} stream starts of the run through Dixie`);
      console.log(`  added latency per delta, every delta (subscriptions starting and ending included): p50 ${f(x.hop.p50 - d.hop.p50)} ms, p99 ${f(x.hop.p99 - d.hop.p99)} ms`);
      console.log(`  added time to the first delta since the prompt: p50 ${f(x.first.p50 - d.first.p50)} ms, p99 ${f(x.first.p99 - d.first.p99)} ms (through Dixie: subscribe, auth, Dixie opening its Finn socket; the direct sockets are open before the prompt)`);
      console.log(`  through Dixie, prompt → ChatModelSelection (GraphQL subscribe done, before the Finn socket): p50 ${f(x.firstEvent.p50)} ms, p99 ${f(x.firstEvent.p99)} ms`);
      const perDelta = (ms: number, n: number) => `${((ms * 1000) / Math.max(1, n)).toFixed(0)} µs`;
      console.log(`  Dixie CPU: ${(r.cpuUsed / 1000).toFixed(1)} s, ${perDelta(r.cpuUsed, x.deltas)} per delta forwarded (subscription set-up included)`);
      console.log(`  the other processes' CPU per delta, through Dixie vs direct: simulator ${perDelta(r.others.sim, x.deltas)} vs ${perDelta(r.othersDirect.sim, d.deltas)}, load generator ${perDelta(r.others.lg, x.deltas)} vs ${perDelta(r.othersDirect.lg, d.deltas)}`);
      const perSub = r.rssPeak.open ? (r.rssPeak.rss - r.rssBefore) / r.rssPeak.open : Number.NaN;
      console.log(`  Dixie RSS: ${mb(r.rssBefore)} before, peak ${mb(r.rssPeak.rss)} with ${r.rssPeak.open} open (${kb(perSub)} per open subscription, no GC: garbage and heap headroom included), ${mb(r.rssAfter)} 1 s after`);
    }
    console.log('');
    for (const r of runs) {
      const added = r.x.hopSteady.p99 - r.d.hopSteady.p99;
      verdict(added <= 5, `chat added p99 latency per delta with ${total} subscriptions open, ${r.mode}`, `${f(added)} ms, p50 ${f(r.x.hopSteady.p50 - r.d.hopSteady.p50)} ms (target ≤ 5 ms; every delta incl. start-up: p99 ${f(r.x.hop.p99 - r.d.hop.p99)} ms)`);
    }
    if (memory) {
      const { gcBefore, gcOpen, held } = memory;
      const gcPer = (k: keyof MemorySample) => (held.open ? (gcOpen[k] - gcBefore[k]) / held.open : Number.NaN);
      console.log(`Dixie after full GC (fresh process, untimed, slow stream): RSS ${mb(gcBefore.rss)} → ${mb(gcOpen.rss)}, heap used ${mb(gcBefore.heapUsed)} → ${mb(gcOpen.heapUsed)} with ${held.open} subscriptions open`);
      console.log(`per open subscription after GC: RSS ${kb(gcPer('rss'))}, heap used ${kb(gcPer('heapUsed'))}, external ${kb(gcPer('external'))}`);
      verdict(held.open === total && gcPer('rss') <= 64 * 1024, 'Dixie RSS per open subscription (after GC)', `${kb(gcPer('rss'))} over ${held.open} open, heap used ${kb(gcPer('heapUsed'))} (target ≤ 64 KB with all ${total} open)`);
    }
    const sum = (k: 'lost' | 'reordered' | 'incomplete') => runs.reduce((n, r) => n + r.x[k], 0);
    verdict(sum('lost') + sum('reordered') + sum('incomplete') === 0, 'lost or reordered deltas through Dixie (every run)', `${sum('lost')} lost, ${sum('reordered')} out of order, ${sum('incomplete')} streams unfinished (target 0)`);
  } finally {
    for (const c of clients) await c.dispose();
    await dixie?.stop();
    await sim.close();
    await rm(dir, { recursive: true, force: true });
  }
}
