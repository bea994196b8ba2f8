/**
 * Dixie exactly as `npm start` runs it (the compiled dist/src/main.js), plus a bench-only IPC hook
 * (run with --expose-gc):
 * `{ type: 'mem' }` answers `{ rss, heapTotal, heapUsed, external, arrayBuffers, spaces }` after two full GCs
 * (`gc: false`: as they are, no GC);
 * `{ type: 'snapshot', path }` writes a heap snapshot and answers `{ path }`.
 * Never used in production: the GC hook lives only in bench code.
 *
 * Plain JavaScript so that no loader runs: through tsx (esbuild's keepNames) every function Dixie
 * creates had its `name` redefined, which gives each closure a dictionary of properties and a map
 * of its own (~330 bytes) — memory the production build does not have.
 */
import process from 'node:process';
import { getHeapSpaceStatistics, writeHeapSnapshot } from 'node:v8';

/** @type {(() => void) | undefined} */
const gc = /** @type {{ gc?: () => void }} */ (globalThis).gc;

process.on('message', (/** @type {{ type: 'mem'; gc?: boolean } | { type: 'snapshot'; path: string }} */ m) => {
  if (m.type === 'mem') {
    if (m.gc !== false) {
      gc?.();
      gc?.();
    }
    const u = process.memoryUsage();
    const spaces = Object.fromEntries(getHeapSpaceStatistics().map((s) => [s.space_name, s.space_size]));
    process.send?.({ type: 'mem', rss: u.rss, heapTotal: u.heapTotal, heapUsed: u.heapUsed, external: u.external, arrayBuffers: u.arrayBuffers, spaces, gc: !!gc && m.gc !== false });
  } else if (m.type === 'snapshot') {
    gc?.();
    process.send?.({ type: 'snapshot', path: writeHeapSnapshot(m.path) });
  }
});
// Keep the IPC channel from holding the process open after SIGTERM (main.ts exits itself).
process.channel?.unref();

await import('../../dist/src/main.js');
