import { spawn, type ChildProcess } from 'node:child_process';
import autocannon from 'autocannon';

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

/** The same tool and settings for every target in one run. */
export async function load(name: string, opts: { url: string; method?: 'GET' | 'POST'; body?: string; headers?: Record<string, string> }): Promise<LoadResult> {
  const r = await autocannon({
    url: opts.url,
    method: opts.method ?? 'GET',
    body: opts.body,
    headers: opts.headers,
    connections: LOAD.connections,
    duration: LOAD.duration,
  });
  return { name, rps: r.requests.average, p50: r.latency.p50, p99: r.latency.p99, errors: r.errors, non2xx: r.non2xx };
}

export async function warm(opts: Parameters<typeof load>[1]): Promise<void> {
  await autocannon({ url: opts.url, method: opts.method ?? 'GET', body: opts.body, headers: opts.headers, connections: 4, amount: 500 });
}

export interface Child {
  port: number;
  stop(): Promise<void>;
}

/** Starts a TypeScript server in its own Node 24 process; it prints `{"port":n}` when listening. */
export function startChild(script: string, env: Record<string, string>, readyPattern?: RegExp): Promise<Child> {
  return new Promise((resolve, reject) => {
    const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', script], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout?.on('data', (c: Buffer) => {
      out += c.toString();
      const m = readyPattern ? readyPattern.exec(out) : /\{"port":(\d+)\}/.exec(out);
      if (m) {
        child.stdout?.removeAllListeners('data');
        child.stdout?.resume();
        resolve({
          port: Number(m[1]),
          stop: () =>
            new Promise<void>((r) => {
              child.once('exit', () => r());
              child.kill('SIGTERM');
            }),
        });
      }
    });
    child.once('exit', (code) => reject(new Error(`${script} exited with ${code}`)));
  });
}

export function printTable(rows: LoadResult[]): void {
  console.log('\n| target | req/s | p50 ms | p99 ms | errors | non-2xx |\n|---|---:|---:|---:|---:|---:|');
  for (const r of rows) console.log(`| ${r.name} | ${r.rps.toFixed(0)} | ${r.p50} | ${r.p99} | ${r.errors} | ${r.non2xx} |`);
}

export function ratio(label: string, a: LoadResult, b: LoadResult, target: number): boolean {
  const x = a.rps / b.rps;
  const ok = x >= target;
  console.log(`${ok ? 'PASS' : 'MISS'}  ${label}: ${x.toFixed(2)} (target ≥ ${target})`);
  return ok;
}
