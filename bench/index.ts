/**
 * `npm run bench`: measures Dixie against baselines, each scenario with the same load settings, and
 * prints its numbers and a PASS/MISS line per target. Not part of the tests; a miss never fails the run.
 * `BENCH_ONLY=health,viewer,chat,memory` selects scenarios (default: all, in that order).
 */
import { machineLine } from './machine.js';
import { chatScenario } from './scenarios/chat.js';
import { healthScenario } from './scenarios/health.js';
import { memoryScenario } from './scenarios/memory.js';
import { viewerScenario } from './scenarios/viewer.js';

const SCENARIOS: Record<string, () => Promise<void>> = {
  health: healthScenario,
  viewer: viewerScenario,
  chat: chatScenario,
  memory: memoryScenario,
};

const wanted = (process.env.BENCH_ONLY ?? '').split(',').map((s) => s.trim()).filter(Boolean);
const unknown = wanted.filter((name) => !(name in SCENARIOS));
if (unknown.length) {
  console.error(`BENCH_ONLY: unknown scenario(s) ${unknown.join(', ')}; known: ${Object.keys(SCENARIOS).join(', ')}`);
  process.exit(2);
}
const selected = wanted.length ? Object.keys(SCENARIOS).filter((name) => wanted.includes(name)) : Object.keys(SCENARIOS);

console.log(machineLine());
for (const name of selected) {
  console.log(`\n## ${name}`);
  try {
    await SCENARIOS[name]!();
  } catch (err) {
    // A crashed scenario is not a miss: report it, go on with the others, and exit non-zero at the end.
    console.log(`ERROR ${name}: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    process.exitCode = 1;
  }
}
