import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFinnSim, type FinnSim } from '../finn-sim/index.js';
import { TEST_ADMIN_KEY, TEST_JWT_KEY, waitFor } from '../helpers/dixie.js';
import { freePort, spawnDixie, type DixieProcess } from '../helpers/spawn-dixie.js';

/** The status of one probe call, or `refused` when nothing accepts connections any more. */
async function probe(url: string): Promise<number | 'refused'> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(1_000) });
    await res.arrayBuffer();
    return res.status;
  } catch {
    return 'refused';
  }
}

describe('probes across a SIGTERM (real process, NODE_ENV=production)', () => {
  let sim: FinnSim;
  let proc: DixieProcess;
  let base: string;

  beforeAll(async () => {
    sim = await startFinnSim();
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    proc = spawnDixie({
      FINN_URL: sim.url,
      NODE_ENV: 'production',
      DIXIE_JWT_PRIVATE_KEY: TEST_JWT_KEY,
      DIXIE_ADMIN_KEY: TEST_ADMIN_KEY,
      DIXIE_PORT: String(port),
      DIXIE_SHUTDOWN_GRACE_MS: '8000',
    });
    await waitFor(async () => (await probe(`${base}/readyz`)) === 200, { timeoutMs: 30_000, intervalMs: 100, what: 'ready' });
  }, 40_000);

  afterAll(async () => {
    if (proc?.child.exitCode === null) proc.child.kill('SIGKILL');
    await sim?.close();
  });

  it('/livez and /readyz answer 200 while serving', async () => {
    expect(await probe(`${base}/livez`)).toBe(200);
    const res = await fetch(`${base}/readyz`);
    expect(await res.json()).toEqual({ status: 'ready' });
  });

  it('/readyz turns 503 before the listener closes, then the process exits 0', async () => {
    const seen: Array<number | 'refused'> = [];
    const livez: Array<number | 'refused'> = [];
    proc.child.kill('SIGTERM');
    const deadline = Date.now() + 15_000;
    while (Date.now() < deadline) {
      const status = await probe(`${base}/readyz`);
      if (seen.at(-1) !== status) seen.push(status);
      if (status === 'refused') break;
      if (status === 503) livez.push(await probe(`${base}/livez`));
      await new Promise((r) => setTimeout(r, 50));
    }
    // Possibly one more 200 before the signal lands; then 503 while still accepting; then closed.
    expect(seen.filter((s) => s !== 200)).toEqual([503, 'refused']);
    // Still alive and accepting while not ready. The window may end between a /readyz probe and the
    // /livez probe after it, so only the last /livez probe may find the listener closed.
    expect(livez[0]).toBe(200);
    expect(livez.slice(0, -1).every((s) => s === 200)).toBe(true);
    expect(livez.filter((s) => s !== 200 && s !== 'refused')).toEqual([]);

    const code = await Promise.race([proc.exited, new Promise<string>((r) => setTimeout(() => r('timeout'), 15_000))]);
    expect(code).toBe(0);
    const events = proc
      .stdout()
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => (JSON.parse(l) as { event?: string }).event);
    expect(events).toContain('shutdown_started');
    expect(events.indexOf('shutdown_finished')).toBeGreaterThan(events.indexOf('shutdown_started'));
  }, 40_000);
});
