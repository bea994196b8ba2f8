/**
 * Issue #3: `{ viewer { wallet conviction { tier } } }` with a valid wallet JWT (allowlisted, stake
 * in the simulator, tier cached after the first request) vs the same query anonymous.
 * Target: authenticated ≥ 0.85 × anonymous throughput.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startFinnSim } from '../../test/finn-sim/index.js';
import { newWallet, walletToken, writeAllowlist } from '../../test/helpers/auth.js';
import { BENCH_JWT_KEY, gqlOnce, gqlTarget, load, printTable, ratio, startDixie, warm, type Child } from '../lib.js';

const QUERY = '{ viewer { wallet conviction { tier } } }';

export async function viewerScenario(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'dixie-bench-viewer-'));
  const sim = await startFinnSim({ port: 0 });
  let dixie: Child | undefined;
  try {
    const wallet = newWallet();
    const allowlistPath = join(dir, 'allowlist.json');
    await writeAllowlist(allowlistPath, [wallet]);
    sim.control.setStaking(wallet, 150);
    dixie = await startDixie(sim.url, { DIXIE_ALLOWLIST_PATH: allowlistPath });
    const base = `http://127.0.0.1:${dixie.port}`;
    // One token for the whole run (1 h), as a browser would reuse it.
    const token = await walletToken(wallet, { key: BENCH_JWT_KEY });
    const authed = gqlTarget(base, QUERY, {}, { authorization: `Bearer ${token}` });
    const anon = gqlTarget(base, QUERY);

    const a = await gqlOnce<{ viewer: { wallet: string; conviction: { tier: string } } | null }>(authed);
    if (a.viewer?.conviction.tier !== 'BUILDER') throw new Error(`authenticated viewer answered ${JSON.stringify(a)}`);
    const stakingCalls = sim.control.counter('http');
    const n = await gqlOnce<{ viewer: unknown }>(anon);
    if (n.viewer !== null) throw new Error(`anonymous viewer answered ${JSON.stringify(n)}`);

    await warm(anon);
    const anonymous = await load('viewer anonymous', anon);
    await warm(authed);
    const authenticated = await load('viewer authenticated (JWT, cached tier)', authed);
    printTable([anonymous, authenticated]);
    console.log(`\nFinn calls during the authenticated load: ${sim.control.counter('http') - stakingCalls} (the tier is cached)\n`);
    ratio('authenticated viewer vs anonymous', authenticated, anonymous, 0.85);
  } finally {
    await dixie?.stop();
    await sim.close();
    await rm(dir, { recursive: true, force: true });
  }
}
