/**
 * Dixie exactly as src/main.ts starts it, plus a bench-only IPC hook (run with --expose-gc):
 * `{ type: 'mem' }` answers `{ rss, heapTotal, heapUsed, external, arrayBuffers, spaces }` after two full GCs
 * (`gc: false`: as they are, no GC);
 * `{ type: 'snapshot', path }` writes a heap snapshot and answers `{ path }`.
 * Never used in production: the GC hook lives only in bench code.
 */
import { getHeapSpaceStatistics, writeHeapSnapshot } from 'node:v8';

type Request = { type: 'mem'; gc?: boolean } | { type: 'snapshot'; path: string };

const gc = (globalThis as { gc?: () => void }).gc;

process.on('message', (m: Request) => {
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

await import('../../src/main.js');
