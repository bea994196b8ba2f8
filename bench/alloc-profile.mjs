/**
 * Investigation preload (not used by `npm run bench` itself): samples every allocation, including
 * objects the GC has already collected, and writes one `.heapprofile` (Chrome DevTools format) per
 * window to `$BENCH_ALLOC_PROFILE_DIR/<pid>-<epoch ms>.heapprofile`, so that the windows inside a
 * chat run (the bench prints its runs' epoch stamps) show what the streaming path allocates:
 *   BENCH_DIXIE_NODE_OPTIONS="--import $PWD/bench/alloc-profile.mjs" BENCH_ALLOC_PROFILE_DIR=/tmp/alloc \
 *   BENCH_ONLY=chat BENCH_CHAT_BURST=0 BENCH_CHAT_MEMORY=0 npm run bench
 * BENCH_ALLOC_PROFILE_MINOR=0 leaves out what a scavenge collected, so a window shows what survived
 * the young generation (promoted, or still live when the window closed): the objects that make
 * scavenges and mark-compacts expensive. It forces a scavenge at the end of each window so that
 * young garbage not yet collected is not counted.
 * Sampling costs CPU: latencies measured with it loaded are not comparable.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { join } from 'node:path';
import process from 'node:process';
import { setInterval } from 'node:timers';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

const dir = process.env.BENCH_ALLOC_PROFILE_DIR ?? '/tmp/dixie-alloc';
const windowMs = Number(process.env.BENCH_ALLOC_PROFILE_WINDOW_MS ?? 3000);
const withMinor = process.env.BENCH_ALLOC_PROFILE_MINOR !== '0';
/** @type {((opts: { type: 'minor' }) => void) | null} */
let gc = null;
if (!withMinor) {
  setFlagsFromString('--expose-gc');
  gc = runInNewContext('gc');
}
mkdirSync(dir, { recursive: true });
const session = new Session();
session.connect();
await session.post('HeapProfiler.enable');
const start = () =>
  session.post('HeapProfiler.startSampling', { samplingInterval: 4096, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: withMinor });
await start();
setInterval(async () => {
  gc?.({ type: 'minor' });
  const { profile } = await session.post('HeapProfiler.stopSampling');
  writeFileSync(join(dir, `${process.pid}-${Date.now()}.heapprofile`), JSON.stringify(profile));
  await start();
}, windowMs).unref();
