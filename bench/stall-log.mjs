/**
 * Investigation preload (not used by `npm run bench` itself): appends to
 * `$BENCH_STALL_LOG_DIR/<pid>.log` every GC pause over 1 ms and every event-loop stall over 12 ms (BENCH_STALL_MS)
 * with wall-clock (epoch ms) stamps, so that the chat scenario's slow-delta episodes (printed with
 * epoch stamps) can be matched with what each process was doing:
 *   NODE_OPTIONS="--import $PWD/bench/stall-log.mjs" BENCH_DIXIE_NODE_OPTIONS="--import $PWD/bench/stall-log.mjs" \
 *   BENCH_STALL_LOG_DIR=/tmp/stalls BENCH_ONLY=chat npm run bench
 * or in the simulator alone with BENCH_SIM_NODE_ARGS="--import $PWD/bench/stall-log.mjs".
 * The 2 ms probe timer costs a little CPU in every process it is loaded into.
 */
import { appendFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { constants, PerformanceObserver, performance } from 'node:perf_hooks';
import process from 'node:process';
import { setInterval } from 'node:timers';

const dir = process.env.BENCH_STALL_LOG_DIR ?? '/tmp/dixie-stalls';
mkdirSync(dir, { recursive: true });
const file = join(dir, `${process.pid}.log`);
appendFileSync(file, `# ${process.argv.slice(1).join(' ')}\n`);
const kinds = {
  [constants.NODE_PERFORMANCE_GC_MINOR]: 'minor',
  [constants.NODE_PERFORMANCE_GC_MAJOR]: 'major',
  [constants.NODE_PERFORMANCE_GC_INCREMENTAL]: 'incremental',
  [constants.NODE_PERFORMANCE_GC_WEAKCB]: 'weak-callbacks',
};
const epoch = (t) => (performance.timeOrigin + t).toFixed(1);
/** @type {string[]} */
let lines = [];
const flush = () => {
  if (lines.length) appendFileSync(file, lines.join('\n') + '\n');
  lines = [];
};
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) {
    const kind = /** @type {{ kind?: number } | undefined} */ (e.detail)?.kind;
    if (e.duration > 1) lines.push(`${epoch(e.startTime)} ${e.duration.toFixed(2)} gc-${kind === undefined ? '?' : (kinds[kind] ?? kind)}`);
  }
}).observe({ entryTypes: ['gc'] });
// BENCH_STALL_MS: the shortest stall logged (12 by default; the probe itself runs every 2 ms).
const stallMs = Number(process.env.BENCH_STALL_MS ?? 12);
let last = performance.now();
setInterval(() => {
  const now = performance.now();
  if (now - last > stallMs) lines.push(`${epoch(last)} ${(now - last).toFixed(2)} stall`);
  last = now;
}, 2).unref();
setInterval(flush, 2000).unref();
process.on('exit', flush);
