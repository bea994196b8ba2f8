import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { freePort } from '../test/helpers/spawn-dixie.js';

export interface LoadResult {
  name: string;
  rps: number;
  p50: number;
  p99: number;
  errors: number;
  non2xx: number;
}

export const LOAD = {
  connections: Number(process.env.BENCH_CONNECTIONS ?? 32),
  duration: Number(process.env.BENCH_DURATION_S ?? 5),
};

export interface LoadTarget {
  url: string;
  method?: 'GET' | 'POST';
  body?: string;
  headers?: Record<string, string>;
}

/** The same tool and settings for every target in one run (`connections` overrides for latency-only runs). */
export async function load(name: string, opts: LoadTarget, connections = LOAD.connections): Promise<LoadResult> {
  const r = await autocannon({
    url: opts.url,
    method: opts.method ?? 'GET',
    body: opts.body,
    headers: opts.headers,
    connections,
    duration: LOAD.duration,
  });
  return { name, rps: r.requests.average, p50: r.latency.p50, p99: r.latency.p99, errors: r.errors, non2xx: r.non2xx };
}

export async function warm(opts: LoadTarget): Promise<void> {
  await autocannon({ url: opts.url, method: opts.method ?? 'GET', body: opts.body, headers: opts.headers, connections: 4, amount: 500 });
}

/** A POST /graphql load target. */
export function gqlTarget(base: string, query: string, variables: Record<string, unknown> = {}, headers: Record<string, string> = {}): LoadTarget {
  return { url: `${base}/graphql`, method: 'POST', body: JSON.stringify({ query, variables }), headers: { 'content-type': 'application/json', ...headers } };
}

/** Sends one request of a target and returns the parsed GraphQL body; throws on errors (a benchmark of errors is worthless). */
export async function gqlOnce<T>(t: LoadTarget): Promise<T> {
  const res = await fetch(t.url, { method: t.method ?? 'GET', body: t.body ?? null, headers: t.headers ?? {}, signal: AbortSignal.timeout(10_000) });
  const body = (await res.json()) as { data?: T; errors?: unknown[] };
  if (res.status !== 200 || body.errors || !body.data) throw new Error(`unexpected answer ${res.status}: ${JSON.stringify(body).slice(0, 500)}`);
  return body.data;
}

export interface Child {
  port: number;
  pid: number;
  stop(): Promise<void>;
  /** Only for children started with `memoryHook` (bench/servers/dixie-mem.mjs): memory after two full GCs. */
  memoryAfterGc?(): Promise<MemorySample>;
  /** Only with an IPC channel (`ipc` or `memoryHook`): sends `msg` and resolves with the child's answer of the same `type`. */
  request?<T>(msg: { type: string } & Record<string, unknown>): Promise<T>;
}

export interface MemorySample {
  rss: number;
  heapUsed: number;
  external: number;
  arrayBuffers: number;
}

export interface ChildOptions {
  /** Extra Node flags before `--import tsx`. */
  nodeArgs?: string[];
  /** A compiled .js entry: started without the tsx loader. */
  compiled?: boolean;
  /** Opens an IPC channel and exposes `memoryAfterGc` (the script must answer `{ type: 'mem' }`). */
  memoryHook?: boolean;
  /** Opens an IPC channel and exposes `request`. */
  ipc?: boolean;
  /** CPU list for this child (taskset), instead of BENCH_SERVER_CPUS. */
  cpus?: string;
}

const live = new Set<ChildProcess>();
// Last resort when the benchmark dies between start and stop: no orphaned servers.
process.once('exit', () => {
  for (const c of live) c.kill('SIGKILL');
});

/** Starts a TypeScript server in its own Node 24 process; it prints `{"port":n}` when listening. */
export function startChild(script: string, env: Record<string, string>, readyPattern?: RegExp, readyTimeoutMs = 60_000, opts: ChildOptions = {}): Promise<Child> {
  return new Promise((resolve, reject) => {
    const args = [...(opts.nodeArgs ?? []), ...(opts.compiled ? [] : ['--import', 'tsx']), script];
    // BENCH_SERVER_CPUS (e.g. `1`, with the benchmark itself under `taskset -c 0`): servers run on
    // their own core(s), apart from the load generator, as they would on separate hosts.
    const cpus = opts.cpus ?? process.env.BENCH_SERVER_CPUS;
    const child: ChildProcess = spawn(cpus ? 'taskset' : process.execPath, cpus ? ['-c', cpus, process.execPath, ...args] : args, {
      env: { ...process.env, ...env },
      stdio: opts.memoryHook || opts.ipc ? ['ignore', 'pipe', 'inherit', 'ipc'] : ['ignore', 'pipe', 'inherit'],
    });
    const request = <T>(msg: { type: string } & Record<string, unknown>): Promise<T> =>
      withTimeout(new Promise<T>((answer) => {
        const onMessage = (m: { type?: string }) => {
          if (m.type !== msg.type) return;
          child.off('message', onMessage);
          answer(m as T);
        };
        child.on('message', onMessage);
        child.send(msg);
      }), 30_000, `${script} ${msg.type}`);
    const memoryAfterGc = (): Promise<MemorySample> => request<MemorySample>({ type: 'mem' });
    live.add(child);
    const exited = new Promise<void>((r) => child.once('exit', () => {
      live.delete(child);
      r();
    }));
    const stop = async (): Promise<void> => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(timer);
    };
    const timer = setTimeout(() => {
      reject(new Error(`${script} not ready within ${readyTimeoutMs} ms`));
      void stop();
    }, readyTimeoutMs);
    let out = '';
    child.stdout?.on('data', (c: Buffer) => {
      out += c.toString();
      const m = readyPattern ? readyPattern.exec(out) : /\{"port":(\d+)\}/.exec(out);
      if (m) {
        clearTimeout(timer);
        out = '';
        child.stdout?.removeAllListeners('data');
        // BENCH_CHILD_STDOUT_DIR keeps each server's output (logs, --trace-gc) in <dir>/<pid>.log.
        const keep = process.env.BENCH_CHILD_STDOUT_DIR;
        if (keep && child.stdout) {
          mkdirSync(keep, { recursive: true });
          child.stdout.pipe(createWriteStream(join(keep, `${child.pid ?? 0}.log`)));
        } else {
          child.stdout?.resume();
        }
        resolve({ port: Number(m[1]), pid: child.pid ?? 0, stop, ...(opts.memoryHook ? { memoryAfterGc } : {}), ...(opts.memoryHook || opts.ipc ? { request } : {}) });
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${script} exited with ${code}: ${out.slice(-2000)}`));
    });
  });
}

export const BENCH_JWT_KEY = 'bench-jwt-key-0123456789abcdef0123456789';

/** The build `npm start` and the container run; `npm run bench` runs `npm run build` first. */
const COMPILED_MAIN = 'dist/src/main.js';

/** The Node flags of `npm start` (and the container's CMD), so that the benchmark runs Dixie as production does. */
function startFlags(): string[] {
  const start = (JSON.parse(readFileSync('package.json', 'utf8')) as { scripts: { start: string } }).scripts.start.split(' ');
  return start.slice(1, start.indexOf(COMPILED_MAIN));
}

/**
 * Dixie as in production (the compiled dist/src/main.js, NODE_ENV=production, LOG_LEVEL=info)
 * against a Finn URL, plus `env`.
 * `memoryHook`: the same compiled build through bench/servers/dixie-mem.mjs with `--expose-gc` and
 * an IPC channel, so the benchmark can read memory after a full GC (`Child.memoryAfterGc`).
 */
export async function startDixie(finnUrl: string, env: Record<string, string> = {}, opts: { memoryHook?: boolean } = {}): Promise<Child> {
  if (!existsSync(COMPILED_MAIN)) throw new Error(`${COMPILED_MAIN} is missing: run \`npm run build\` (npm run bench does)`);
  return startChild(
    opts.memoryHook ? 'bench/servers/dixie-mem.mjs' : COMPILED_MAIN,
    {
      FINN_URL: finnUrl,
      NODE_ENV: 'production',
      LOG_LEVEL: 'info',
      DIXIE_PORT: String(await freePort()),
      DIXIE_JWT_PRIVATE_KEY: BENCH_JWT_KEY,
      DIXIE_ADMIN_KEY: 'bench-admin-key',
      DIXIE_RATE_LIMIT_RPM: '0',
      DIXIE_TRUST_PROXY_HOPS: '0',
      DIXIE_SHUTDOWN_GRACE_MS: '5000',
      // e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof` to profile Dixie under a scenario.
      ...(process.env.BENCH_DIXIE_NODE_OPTIONS ? { NODE_OPTIONS: process.env.BENCH_DIXIE_NODE_OPTIONS } : {}),
      ...env,
    },
    /"event":"listening","port":(\d+)/,
    60_000,
    {
      // BENCH_DIXIE_NODE_ARGS: V8 flags NODE_OPTIONS refuses (e.g. `--trace-gc`), space-separated.
      nodeArgs: [...startFlags(), ...(opts.memoryHook ? ['--expose-gc'] : []), ...(process.env.BENCH_DIXIE_NODE_ARGS?.split(' ').filter(Boolean) ?? [])],
      memoryHook: opts.memoryHook ?? false,
      compiled: true,
    },
  );
}

/** User + system CPU time a process has used, in ms (from /proc, 10 ms resolution). */
export async function cpuMs(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  // Fields after the parenthesised command name: state is field 3, utime 14, stime 15.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

/** This process's CPU time (user + system) in ms. */
export function ownCpuMs(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
}

/** VmRSS of a process in bytes. */
export async function rssBytes(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kb = /^VmRSS:\s+(\d+)\s+kB/m.exec(status)?.[1];
  if (!kb) throw new Error(`no VmRSS for ${pid}`);
  return Number(kb) * 1024;
}

/** Rejects after `ms` (the timer never keeps the process alive). */
export function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no result within ${ms} ms`)), ms);
    timer.unref();
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

/** Runs `fn` over `items` with at most `limit` in flight. */
export async function pool<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

/** The q-quantile (0..1) of a sorted array, nearest rank. */
export function quantile(sorted: readonly number[], q: number): number {
  if (!sorted.length) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

export function printTable(rows: LoadResult[]): void {
  console.log('\n| target | req/s | p50 ms | p99 ms | errors | non-2xx |\n|---|---:|---:|---:|---:|---:|');
  for (const r of rows) console.log(`| ${r.name} | ${r.rps.toFixed(0)} | ${r.p50} | ${r.p99} | ${r.errors} | ${r.non2xx} |`);
}

/** Prints a PASS/MISS line; a miss never fails the process. */
export function verdict(ok: boolean, label: string, detail: string): boolean {
  console.log(`${ok ? 'PASS' : 'MISS'}  ${label}: ${detail}`);
  return ok;
}

export function ratio(label: string, a: LoadResult, b: LoadResult, target: number): boolean {
  const x = a.rps / b.rps;
  return verdict(x >= target, label, `${x.toFixed(2)} (target ≥ ${target})`);
}
