/**
 * The Finn simulator in its own process for the chat benchmark, so that the load generator's pauses
 * (its clients) are not also the sender's pauses. Options come as JSON in FINN_SIM_OPTIONS; prints
 * `{"port":n}`. IPC requests, each answered with a message of the same `type`:
 * `stream` (setStream), `staking` (setStaking), `clear` (forget send stamps), `stamps` (the send time
 * of every text_delta per session, and when each session's stream socket was accepted, epoch ms as
 * `performance.timeOrigin + performance.now()`).
 */
import { startFinnSim } from '../../test/finn-sim/index.js';
import type { StreamConfig } from '../../test/finn-sim/types.js';

type Request =
  | { type: 'stream'; stream: Partial<StreamConfig> }
  | { type: 'staking'; wallet: string; bgt: number }
  | { type: 'clear' }
  | { type: 'stamps' };

let stamps = new Map<string, number[]>();
let opens = new Map<string, number>();
const epochNow = () => performance.timeOrigin + performance.now();
const sim = await startFinnSim({
  ...(JSON.parse(process.env.FINN_SIM_OPTIONS ?? '{}') as Record<string, unknown>),
  onFrameSent: (sessionId, frame) => {
    if (frame.type !== 'text_delta') return;
    const now = epochNow();
    const list = stamps.get(sessionId);
    if (list) list.push(now);
    else stamps.set(sessionId, [now]);
  },
});

process.on('message', (m: Request) => {
  switch (m.type) {
    case 'stream':
      sim.control.setStream(m.stream);
      break;
    case 'staking':
      sim.control.setStaking(m.wallet, m.bgt);
      break;
    case 'clear':
      stamps = new Map();
      opens = new Map();
      break;
    case 'stamps':
      process.send?.({ type: 'stamps', stamps: Object.fromEntries(stamps), opens: Object.fromEntries(opens) });
      return;
  }
  process.send?.({ type: m.type });
});
process.channel?.unref();
process.on('SIGTERM', () => void sim.close().then(() => process.exit(0)));
console.log(JSON.stringify({ port: Number(new URL(sim.url).port) }));
