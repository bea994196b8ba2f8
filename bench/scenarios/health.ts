/** `{ health { status } }` and `/api/health` against a bare graphql-yoga and a raw node:http server. */
import { startFinnSim } from '../../test/finn-sim/index.js';
import { load, printTable, ratio, startChild, startDixie, warm, type Child, type LoadResult } from '../lib.js';

export async function healthScenario(): Promise<void> {
  const sim = await startFinnSim({ port: 0 });
  const children: Child[] = [];
  try {
    const dixie = await startDixie(sim.url);
    children.push(dixie);
    const base = `http://127.0.0.1:${dixie.port}`;
    const healthBody = await (await fetch(`${base}/api/health`, { signal: AbortSignal.timeout(10_000) })).text();
    const yoga = await startChild('bench/servers/bare-yoga.ts', {});
    children.push(yoga);
    const raw = await startChild('bench/servers/raw-node.ts', { BODY: healthBody });
    children.push(raw);

    const gqlReq = { method: 'POST' as const, body: JSON.stringify({ query: '{ health { status } }' }), headers: { 'content-type': 'application/json' } };
    const targets = {
      dixieGraphql: { url: `${base}/graphql`, ...gqlReq },
      bareYoga: { url: `http://127.0.0.1:${yoga.port}/graphql`, ...gqlReq },
      dixieRest: { url: `${base}/api/health` },
      rawNode: { url: `http://127.0.0.1:${raw.port}/api/health` },
    };
    const results: Record<string, LoadResult> = {};
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
    await Promise.all(children.map((c) => c.stop()));
    await sim.close();
  }
}
