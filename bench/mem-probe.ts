/**
 * Retained memory per open chat subscription, measured after GC inside Dixie
 * (bench/servers/dixie-mem.ts). Opens N chat subscriptions (50 wallets × 20) on a very slow
 * stream, waits until each got its first delta, then reads heap/RSS; optional heap snapshots.
 *   node --import tsx bench/mem-probe.ts [--snapshots DIR]
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { startFinnSim } from '../test/finn-sim/index.js';
import { newWallet, walletToken, writeAllowlist } from '../test/helpers/auth.js';
import { freePort } from '../test/helpers/spawn-dixie.js';
import { BENCH_JWT_KEY, gqlOnce, gqlTarget, pool, withTimeout } from './lib.js';

const WALLETS = Number(process.env.BENCH_CHAT_WALLETS ?? 50);
const PER_WALLET = Number(process.env.BENCH_CHAT_PER_WALLET ?? 20);
const SNAP_DIR = process.argv.includes('--snapshots') ? process.argv[process.argv.indexOf('--snapshots') + 1] : undefined;
const SUBSCRIPTION = 'subscription($s: ID!, $t: String!) { chat(sessionId: $s, text: $t) { __typename ... on ChatTextDelta { delta } ... on ChatError { code message } } }';

interface Mem { rss: number; heapTotal: number; heapUsed: number; external: number; arrayBuffers: number; spaces: Record<string, number> }

function ask<T>(child: ChildProcess, msg: object, type: string): Promise<T> {
  return withTimeout(new Promise<T>((resolve) => {
    const on = (m: { type: string } & T) => {
      if (m.type !== type) return;
      child.off('message', on);
      resolve(m);
    };
    child.on('message', on);
    child.send(msg);
  }), 120_000, `ask ${type}`);
}

async function startDixieMem(finnUrl: string, env: Record<string, string>): Promise<{ child: ChildProcess; port: number }> {
  const port = await freePort();
  const child = spawn(process.execPath, ['--expose-gc', '--import', 'tsx', 'bench/servers/dixie-mem.ts'], {
    env: { ...process.env, FINN_URL: finnUrl, NODE_ENV: 'production', LOG_LEVEL: 'info', DIXIE_PORT: String(port), DIXIE_JWT_PRIVATE_KEY: BENCH_JWT_KEY, DIXIE_ADMIN_KEY: 'bench-admin-key', DIXIE_RATE_LIMIT_RPM: '0', DIXIE_TRUST_PROXY_HOPS: '0', DIXIE_SHUTDOWN_GRACE_MS: '5000', ...env },
    stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
  });
  process.once('exit', () => child.kill('SIGKILL'));
  await withTimeout(new Promise<void>((resolve, reject) => {
    let out = '';
    child.stdout?.on('data', (c: Buffer) => {
      out += c.toString();
      if (/"event":"listening"/.test(out)) {
        child.stdout?.removeAllListeners('data');
        child.stdout?.resume();
        resolve();
      }
    });
    child.once('exit', (code) => reject(new Error(`dixie-mem exited ${code}: ${out.slice(-2000)}`)));
  }), 60_000, 'dixie-mem start');
  return { child, port };
}

function connect(url: string, token: string): Promise<Client> {
  return withTimeout(new Promise<Client>((resolve, reject) => {
    const client = createClient({
      url, webSocketImpl: WebSocket, connectionParams: { authorization: `Bearer ${token}` }, lazy: false, retryAttempts: 0,
      on: { connected: () => resolve(client), closed: (e) => reject(new Error(`closed: ${JSON.stringify(e)}`)) },
    });
  }), 10_000, 'graphql-ws connect');
}

const kb = (n: number) => `${(n / 1024).toFixed(1)} KB`;
const mb = (n: number) => `${(n / 2 ** 20).toFixed(1)} MB`;

async function main(): Promise<void> {
  const total = WALLETS * PER_WALLET;
  const dir = await mkdtemp(join(tmpdir(), 'dixie-mem-probe-'));
  const sim = await startFinnSim({ port: 0, wsLimitPerIp: 100_000, maxSessions: total + 100, stream: { deltas: 50, delayMs: 2000, tools: false } });
  const clients: Client[] = [];
  let child: ChildProcess | undefined;
  const disposers: Array<() => void> = [];
  try {
    const wallets = Array.from({ length: WALLETS }, () => newWallet());
    const allowlistPath = join(dir, 'allowlist.json');
    await writeAllowlist(allowlistPath, wallets);
    for (const w of wallets) sim.control.setStaking(w, 150);
    const started = await startDixieMem(sim.url, { DIXIE_ALLOWLIST_PATH: allowlistPath });
    child = started.child;
    const base = `http://127.0.0.1:${started.port}`;
    const tokens = await Promise.all(wallets.map((w) => walletToken(w, { key: BENCH_JWT_KEY })));
    const sessions = await pool(wallets, 4, async (_w, wi) =>
      pool(Array.from({ length: PER_WALLET }, (_, i) => i), 4, async () =>
        (await gqlOnce<{ startChat: { id: string } }>(gqlTarget(base, 'mutation { startChat { id } }', {}, { authorization: `Bearer ${tokens[wi]}` }))).startChat.id));
    clients.push(...(await pool(tokens, 10, (t) => connect(`ws://127.0.0.1:${started.port}/graphql`, t))));

    // Warm-up: one short subscription per wallet on a fast stream, so lazy code paths are loaded.
    sim.control.setStream({ deltas: 3, delayMs: 10, tools: false });
    await Promise.all(clients.map((c, w) => new Promise<void>((resolve) => {
      c.subscribe({ query: SUBSCRIPTION, variables: { s: sessions[w]![0], t: 'warm up' } }, { next: () => undefined, error: () => resolve(), complete: () => resolve() });
    })));
    sim.control.setStream({ deltas: 50, delayMs: 2000, tools: false });
    await sleep(1000);

    const before = await ask<Mem>(child, { type: 'mem' }, 'mem');
    if (SNAP_DIR) await ask(child, { type: 'snapshot', path: join(SNAP_DIR, 'before.heapsnapshot') }, 'snapshot');

    let open = 0;
    let failed = 0;
    clients.forEach((c, w) => sessions[w]!.forEach((s, i) => {
      let first = true;
      disposers.push(c.subscribe<{ chat: { __typename: string } }>({ query: SUBSCRIPTION, variables: { s, t: `probe ${w} ${i} ${'lorem ipsum '.repeat(16)}` } }, {
        next: (r) => {
          if (r.data?.chat.__typename === 'ChatTextDelta' && first) {
            first = false;
            open += 1;
          }
        },
        error: (e) => { failed += 1; console.error('error', JSON.stringify(e).slice(0, 300)); },
        complete: () => undefined,
      }));
    }));
    const deadline = performance.now() + 60_000;
    while (open + failed < total && performance.now() < deadline) await sleep(50);
    console.log(`open with a first delta: ${open} of ${total} (${failed} failed)`);
    const raw = await ask<Mem>(child, { type: 'mem', gc: false }, 'mem');
    const during = await ask<Mem>(child, { type: 'mem' }, 'mem');
    if (SNAP_DIR) await ask(child, { type: 'snapshot', path: join(SNAP_DIR, 'during.heapsnapshot') }, 'snapshot');
    console.log(`during, before GC: rss ${mb(raw.rss)} heapTotal ${mb(raw.heapTotal)} heapUsed ${mb(raw.heapUsed)}; spaces ${Object.entries(raw.spaces).map(([k, v]) => `${k} ${mb(v)}`).join(', ')}`);
    console.log(`before, after GC: heapTotal ${mb(before.heapTotal)}; spaces ${Object.entries(before.spaces).map(([k, v]) => `${k} ${mb(v)}`).join(', ')}`);
    const per = (k: 'rss' | 'heapUsed' | 'external' | 'arrayBuffers') => (during[k] - before[k]) / open;
    console.log(`before: rss ${mb(before.rss)} heap ${mb(before.heapUsed)} external ${mb(before.external)} arrayBuffers ${mb(before.arrayBuffers)}`);
    console.log(`during: rss ${mb(during.rss)} heap ${mb(during.heapUsed)} external ${mb(during.external)} arrayBuffers ${mb(during.arrayBuffers)}`);
    console.log(`per open subscription (after GC): rss ${kb(per('rss'))}, heapUsed ${kb(per('heapUsed'))}, external ${kb(per('external'))}, arrayBuffers ${kb(per('arrayBuffers'))}`);
  } finally {
    for (const d of disposers) d();
    for (const c of clients) await c.dispose();
    child?.kill('SIGTERM');
    await sim.close();
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
process.exit(0);
