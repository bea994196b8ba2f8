/**
 * `npm run bench`: measures Dixie against baselines in one run, with the same load settings, and
 * prints requests/s, p50, p99 and the ratios the issues set as targets. Not part of the tests.
 */
import { startFinnSim } from '../test/finn-sim/index.js';
import { load, printTable, ratio, startChild, warm, type LoadResult } from './lib.js';
import { freePort } from '../test/helpers/spawn-dixie.js';

const sim = await startFinnSim({ port: 0 });
const dixiePort = await freePort();
const dixie = await startChild(
  'src/main.ts',
  {
    FINN_URL: sim.url,
    NODE_ENV: 'production',
    LOG_LEVEL: 'info',
    DIXIE_PORT: String(dixiePort),
    DIXIE_JWT_PRIVATE_KEY: 'bench-jwt-key-0123456789abcdef0123456789',
    DIXIE_ADMIN_KEY: 'bench-admin-key',
    DIXIE_RATE_LIMIT_RPM: '0',
    DIXIE_TRUST_PROXY_HOPS: '0',
  },
  /"event":"listening","port":(\d+)/,
).catch(async (err: unknown) => {
  await sim.close();
  throw err;
});
const base = `http://127.0.0.1:${dixie.port}`;
const healthBody = await (await fetch(`${base}/api/health`)).text();
const yoga = await startChild('bench/servers/bare-yoga.ts', {});
const raw = await startChild('bench/servers/raw-node.ts', { BODY: healthBody });

const gqlReq = { method: 'POST' as const, body: JSON.stringify({ query: '{ health { status } }' }), headers: { 'content-type': 'application/json' } };
const targets = {
  dixieGraphql: { url: `${base}/graphql`, ...gqlReq },
  bareYoga: { url: `http://127.0.0.1:${yoga.port}/graphql`, ...gqlReq },
  dixieRest: { url: `${base}/api/health` },
  rawNode: { url: `http://127.0.0.1:${raw.port}/api/health` },
};

const results: Record<string, LoadResult> = {};
try {
  for (const [name, t] of Object.entries(targets)) {
    await warm(t);
    results[name] = await load(name, t);
  }
  printTable(Object.values(results));
  console.log('');
  const r = results as Record<keyof typeof targets, LoadResult>;
  ratio('GraphQL { health { status } } vs bare yoga', r.dixieGraphql, r.bareYoga, 0.8);
  ratio('REST /api/health vs raw node:http', r.dixieRest, r.rawNode, 0.5);
} finally {
  await Promise.all([dixie.stop(), yoga.stop(), raw.stop()]);
  await sim.close();
}
