/**
 * Issue #4: 1,000 concurrent `chat` subscriptions through Dixie over graphql-ws (50 wallets × 20,
 * the per-identity cap; one socket per wallet) vs the same 1,000 streams straight on the
 * simulator's WebSocket (one socket each). Every delta's receive time since its prompt was sent is
 * recorded (through Dixie the clock includes the subscription set-up and Dixie's Finn connect;
 * direct sockets are opened first); the distributions are compared, the difference being Dixie's
 * added latency, also after the first delta (set-up excluded). Also: deltas/s, Dixie's RSS per open subscription, lost or reordered deltas.
 * Targets: added p99 ≤ 5 ms, ≤ 64 KB RSS per open subscription, zero lost or reordered deltas.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { splitDeltas, startFinnSim, type FinnSim } from '../../test/finn-sim/index.js';
import { newWallet, walletToken, writeAllowlist } from '../../test/helpers/auth.js';
import { MAX_SUBSCRIPTIONS_PER_IDENTITY } from '../../src/ws-guards.js';
import { BENCH_JWT_KEY, gqlOnce, gqlTarget, pool, quantile, rssBytes, startDixie, verdict, withTimeout, type Child, type MemorySample } from '../lib.js';

const WALLETS = Number(process.env.BENCH_CHAT_WALLETS ?? 50);
const PER_WALLET = Math.min(Number(process.env.BENCH_CHAT_PER_WALLET ?? MAX_SUBSCRIPTIONS_PER_IDENTITY), MAX_SUBSCRIPTIONS_PER_IDENTITY);
const DELTAS = 50;
/**
 * 200 ms, not 20: at 20 ms (50,000 deltas/s offered) this 2-core machine cannot keep the pace even
 * without Dixie (the simulator delivered ~12,600/s), so the baseline itself would be saturated.
 */
const DELAY_MS = Number(process.env.BENCH_CHAT_DELAY_MS ?? 200);
const RUN_TIMEOUT_MS = 60_000;
const SUBSCRIPTION = 'subscription($s: ID!, $t: String!) { chat(sessionId: $s, text: $t) { __typename ... on ChatTextDelta { delta } ... on ChatError { code message } } }';

interface Stream {
  sessionId: string;
  text: string;
  expected: string[];
}

/** What one run saw of one stream: each delta's text and ms since the prompt was sent. */
interface Seen {
  sentAt: number;
  deltas: string[];
  at: number[];
  /** First event of any kind received (the subscription is live in Dixie). */
  firstEventAt: number | null;
  done: boolean;
  error: string | null;
}

interface RunStats {
  name: string;
  seen: Seen[];
  wallMs: number;
}

const newSeen = (): Seen => ({ sentAt: 0, deltas: [], at: [], firstEventAt: null, done: false, error: null });

/** A prompt whose echo splits into DELTAS pieces of ~4 characters (a token or so each). */
function promptFor(i: number): string {
  return `bench prompt ${i}: ${'lorem ipsum dolor sit amet '.repeat(8)}`.slice(0, DELTAS * 4 - 6);
}

async function waitAll(seen: Seen[], timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (seen.some((s) => !s.done) && performance.now() < deadline) await sleep(20);
}

/** Dixie: one graphql-ws client per wallet, `PER_WALLET` subscriptions on each. */
async function runDixie(name: string, clients: Client[], streams: Stream[][], onTick?: (open: number) => Promise<void>): Promise<RunStats> {
  const seen = streams.map((ws) => ws.map(newSeen));
  const flat = seen.flat();
  const disposers: Array<() => void> = [];
  let open = 0;
  let sampling = true;
  const sampler = (async () => {
    while (sampling && onTick) {
      await onTick(open);
      await sleep(10);
    }
  })();
  const start = performance.now();
  try {
    streams.forEach((ws, w) => ws.forEach((st, i) => {
      const s = seen[w]![i]!;
      s.sentAt = performance.now();
      disposers.push(clients[w]!.subscribe<{ chat: { __typename: string; delta?: string; code?: string; message?: string } }>(
        { query: SUBSCRIPTION, variables: { s: st.sessionId, t: st.text } },
        {
          next: (r) => {
            const now = performance.now();
            if (s.firstEventAt === null) {
              s.firstEventAt = now;
              open += 1;
            }
            const e = r.data?.chat;
            if (r.errors) s.error = JSON.stringify(r.errors);
            if (e?.__typename === 'ChatTextDelta') {
              s.deltas.push(e.delta ?? '');
              s.at.push(now - s.sentAt);
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
    await waitAll(flat, RUN_TIMEOUT_MS);
    return { name, seen: flat, wallMs: performance.now() - start };
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

/** Straight on the simulator: one Finn socket per stream, opened before the clock starts at the prompt. */
async function runDirect(name: string, sim: FinnSim, streams: Stream[]): Promise<RunStats> {
  const seen = streams.map(newSeen);
  const sockets: WebSocket[] = [];
  try {
    await pool(streams, 50, async (st, i) => {
      const ws = new WebSocket(`${sim.wsUrl}/ws/${st.sessionId}`);
      sockets[i] = ws;
      ws.on('error', () => undefined);
      await withTimeout(new Promise<void>((resolve, reject) => {
        ws.once('open', () => resolve());
        ws.once('error', reject);
        ws.once('unexpected-response', (_req, res) => reject(new Error(`upgrade ${res.statusCode}`)));
      }), 10_000, `open Finn socket ${i}`);
      const s = seen[i]!;
      ws.on('message', (data) => {
        const now = performance.now();
        s.firstEventAt ??= now;
        const frame = JSON.parse(String(data)) as { type: string; data?: { delta?: string; message?: string } };
        if (frame.type === 'text_delta') {
          s.deltas.push(frame.data?.delta ?? '');
          s.at.push(now - s.sentAt);
        } else if (frame.type === 'error') {
          s.error = frame.data?.message ?? 'error';
          s.done = true;
        } else if (frame.type === 'agent_end') {
          s.done = true;
        }
      });
    });
    const start = performance.now();
    streams.forEach((st, i) => {
      seen[i]!.sentAt = performance.now();
      sockets[i]!.send(JSON.stringify({ type: 'prompt', text: st.text }));
    });
    await waitAll(seen, RUN_TIMEOUT_MS);
    return { name, seen, wallMs: performance.now() - start };
  } finally {
    for (const ws of sockets) ws?.terminate();
  }
}

interface Summary {
  name: string;
  deltas: number;
  perSecond: number;
  e2e: { p50: number; p99: number };
  first: { p50: number; p99: number };
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
    e2e.push(...s.at);
    if (s.at.length) first.push(s.at[0]!);
    for (let j = 1; j < s.at.length; j++) {
      gap.push(s.at[j]! - s.at[j - 1]!);
      sinceFirst.push(s.at[j]! - s.at[0]!);
    }
    if (s.at.length) lastAt = Math.max(lastAt, s.sentAt + s.at.at(-1)!);
    lost += Math.max(0, expected.length - s.deltas.length);
    for (let j = 0; j < Math.min(expected.length, s.deltas.length); j++) if (s.deltas[j] !== expected[j]) reordered += 1;
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
    first: q(sort(first)),
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
  console.log('\n| run | deltas | deltas/s | since prompt p50 / p99 ms | first delta p50 / p99 ms | since first delta p50 / p99 ms | inter-arrival p50 / p99 ms | lost | reordered | unfinished |');
  console.log('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const r of rows) {
    console.log(`| ${r.name} | ${r.deltas} | ${r.perSecond.toFixed(0)} | ${f(r.e2e.p50)} / ${f(r.e2e.p99)} | ${f(r.first.p50)} / ${f(r.first.p99)} | ${f(r.sinceFirst.p50)} / ${f(r.sinceFirst.p99)} | ${f(r.gap.p50)} / ${f(r.gap.p99)} | ${r.lost} | ${r.reordered} | ${r.incomplete} |`);
  }
  for (const r of rows) if (r.errors.length) console.log(`${r.name} errors (first ${r.errors.length}): ${r.errors.join(' | ')}`);
}

function connect(url: string, token: string): Promise<Client> {
  return withTimeout(new Promise<Client>((resolve, reject) => {
    const client = createClient({
      url,
      webSocketImpl: WebSocket,
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
 * through bench/servers/dixie-mem.ts: --expose-gc and an IPC channel; Dixie's code is unchanged):
 * warm-up, sample, every subscription open on a slow stream with its first delta received, sample.
 * A separate, untimed process: no GC pause touches the latency runs, and RSS starts from a process
 * that has not already grown through them.
 */
async function retainedMemory(sim: FinnSim, wallets: string[], tokens: string[], allowlistPath: string): Promise<{ gcBefore: MemorySample; gcOpen: MemorySample; held: { open: number } }> {
  const dixie = await startDixie(sim.url, { DIXIE_ALLOWLIST_PATH: allowlistPath }, { memoryHook: true });
  const clients: Client[] = [];
  try {
    const base = `http://127.0.0.1:${dixie.port}`;
    const streams: Stream[][] = await pool(wallets, 4, async (_w, wi) =>
      pool(Array.from({ length: PER_WALLET }, (_, i) => i), 4, async (i) => {
        const d = await gqlOnce<{ startChat: { id: string } }>(gqlTarget(base, 'mutation { startChat { id } }', {}, { authorization: `Bearer ${tokens[wi]}` }));
        return { sessionId: d.startChat.id, text: promptFor(wi * PER_WALLET + i), expected: [] };
      }),
    );
    clients.push(...(await pool(tokens, 10, (t) => connect(`ws://127.0.0.1:${dixie.port}/graphql`, t))));
    sim.control.setStream({ deltas: 3, delayMs: 10, tools: false });
    await runDixie('warm-up', clients, streams.map((ws) => ws.slice(0, 1)));
    sim.control.setStream({ deltas: DELTAS, delayMs: 2000, tools: false });
    await sleep(500);
    const gcBefore = await dixie.memoryAfterGc!();
    const held = await holdOpen(clients, streams, RUN_TIMEOUT_MS);
    try {
      return { gcBefore, gcOpen: await dixie.memoryAfterGc!(), held };
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
  const sim = await startFinnSim({ port: 0, wsLimitPerIp: 100_000, maxSessions: 2 * total + 100, stream: { deltas: DELTAS, delayMs: DELAY_MS, tools: false } });
  const clients: Client[] = [];
  let dixie: Child | undefined;
  try {
    const wallets = Array.from({ length: WALLETS }, () => newWallet());
    const allowlistPath = join(dir, 'allowlist.json');
    await writeAllowlist(allowlistPath, wallets);
    for (const w of wallets) sim.control.setStaking(w, 150);
    dixie = await startDixie(sim.url, { DIXIE_ALLOWLIST_PATH: allowlistPath });
    const base = `http://127.0.0.1:${dixie.port}`;
    const tokens = await Promise.all(wallets.map((w) => walletToken(w, { key: BENCH_JWT_KEY })));

    // Each subscription gets its own session, owned by its wallet.
    const streams: Stream[][] = await pool(wallets, 4, async (_w, wi) =>
      pool(Array.from({ length: PER_WALLET }, (_, i) => i), 4, async (i) => {
        const d = await gqlOnce<{ startChat: { id: string } }>(gqlTarget(base, 'mutation { startChat { id } }', {}, { authorization: `Bearer ${tokens[wi]}` }));
        const text = promptFor(wi * PER_WALLET + i);
        return { sessionId: d.startChat.id, text, expected: splitDeltas(`Echo: ${text}`, DELTAS) };
      }),
    );
    const flat = streams.flat();
    const wsUrl = `ws://127.0.0.1:${dixie.port}/graphql`;
    clients.push(...(await pool(tokens, 10, (t) => connect(wsUrl, t))));

    // Warm-up (JIT, cached tiers, socket paths): one stream per wallet on each side.
    await runDixie('warm-up', clients, streams.map((ws) => ws.slice(0, 1)));
    await runDirect('warm-up', sim, streams.map((ws) => ws[0]!));
    await sleep(500);

    const direct = await runDirect(`direct to simulator (${total} sockets)`, sim, flat);
    await sleep(500);
    const rssBefore = await rssBytes(dixie.pid);
    const pid = dixie.pid;
    let rssPeak = { rss: 0, open: 0 };
    const viaDixie = await runDixie(`through Dixie (${WALLETS} sockets × ${PER_WALLET})`, clients, streams, async (open) => {
      if (open < rssPeak.open) return;
      const rss = await rssBytes(pid).catch(() => 0);
      if (open > rssPeak.open || rss > rssPeak.rss) rssPeak = { rss, open };
    });

    await sleep(1000);
    const rssAfter = await rssBytes(pid);
    // Clients first: a non-lazy graphql-ws client reports its socket closing under it on stderr.
    for (const c of clients.splice(0)) await c.dispose();
    await dixie.stop();
    dixie = undefined;
    const { gcBefore, gcOpen, held } = await retainedMemory(sim, wallets, tokens, allowlistPath);

    const d = summarise(direct, flat);
    const x = summarise(viaDixie, flat);
    printSummaries([d, x]);
    const perSub = rssPeak.open ? (rssPeak.rss - rssBefore) / rssPeak.open : Number.NaN;
    const mb = (n: number) => `${(n / 2 ** 20).toFixed(1)} MB`;
    console.log(`\nstream: ${DELTAS} deltas every ${DELAY_MS} ms per prompt, ${total} prompts at once (offered ${((total * 1000) / DELAY_MS).toFixed(0)} deltas/s)`);
    console.log(`Dixie RSS: ${mb(rssBefore)} before, ${mb(rssPeak.rss)} with ${rssPeak.open} subscriptions open, ${mb(rssAfter)} 1 s after they all ended`);
    console.log(`added latency since prompt: p50 ${f(x.e2e.p50 - d.e2e.p50)} ms, p99 ${f(x.e2e.p99 - d.e2e.p99)} ms; first delta p50 ${f(x.first.p50 - d.first.p50)} ms, p99 ${f(x.first.p99 - d.first.p99)} ms`);
    console.log(`added latency per delta after the first (forwarding only): p50 ${f(x.sinceFirst.p50 - d.sinceFirst.p50)} ms, p99 ${f(x.sinceFirst.p99 - d.sinceFirst.p99)} ms; inter-arrival p99 ${f(x.gap.p99 - d.gap.p99)} ms\n`);
    const added = x.e2e.p99 - d.e2e.p99;
    const forwarding = x.sinceFirst.p99 - d.sinceFirst.p99;
    verdict(added <= 5, 'chat added p99 latency per delta, since the prompt', `${f(added)} ms (target ≤ 5 ms)`);
    verdict(forwarding <= 5, 'chat added p99 latency per delta, after the first (subscription set-up excluded)', `${f(forwarding)} ms (target ≤ 5 ms)`);
    const gcPer = (k: keyof MemorySample) => (held.open ? (gcOpen[k] - gcBefore[k]) / held.open : Number.NaN);
    const kb = (n: number) => `${(n / 1024).toFixed(1)} KB`;
    console.log(`Dixie after full GC (fresh process, untimed, slow stream): RSS ${mb(gcBefore.rss)} → ${mb(gcOpen.rss)}, heap used ${mb(gcBefore.heapUsed)} → ${mb(gcOpen.heapUsed)} with ${held.open} subscriptions open`);
    console.log(`per open subscription after GC: RSS ${kb(gcPer('rss'))}, heap used ${kb(gcPer('heapUsed'))}, external ${kb(gcPer('external'))}`);
    console.log(`previous measure (peak RSS while streaming, no GC: includes uncollected garbage and heap headroom): ${kb(perSub)} per open subscription over ${rssPeak.open} open`);
    verdict(held.open === total && gcPer('rss') <= 64 * 1024, 'Dixie RSS per open subscription (after GC)', `${kb(gcPer('rss'))} over ${held.open} open, heap used ${kb(gcPer('heapUsed'))} (target ≤ 64 KB with all ${total} open; peak RSS without GC: ${kb(perSub)})`);
    verdict(x.lost + x.reordered + x.incomplete === 0, 'lost or reordered deltas through Dixie', `${x.lost} lost, ${x.reordered} out of order, ${x.incomplete} streams unfinished (target 0)`);
  } finally {
    for (const c of clients) await c.dispose();
    await dixie?.stop();
    await sim.close();
    await rm(dir, { recursive: true, force: true });
  }
}
