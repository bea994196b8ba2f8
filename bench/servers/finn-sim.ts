/**
 * The Finn simulator in its own process for the chat benchmark, so that the load generator's pauses
 * (its clients) are not also the sender's pauses. Options come as JSON in FINN_SIM_OPTIONS; prints
 * `{"port":n}`. IPC requests, each answered with a message of the same `type`:
 * `stream` (setStream), `staking` (setStaking), `clear` (forget send stamps), `stamps` (the send time
 * of every text_delta per session, and when each session's stream socket was accepted, epoch ms from
 * bench/clock.ts, the clock the load generator stamps receipts with).
 */
import { startFinnSim } from '../../test/finn-sim/index.js';
import { epochNow } from '../clock.js';
import type { StreamConfig } from '../../test/finn-sim/types.js';

type Request =
  | { type: 'stream'; stream: Partial<StreamConfig> }
  | { type: 'staking'; wallet: string; bgt: number }
  | { type: 'clear' }
  | { type: 'stamps' };

/** Per session, preallocated: a growing array of numbers per stream would be copied and promoted by the simulator's scavenges. */
let stamps = new Map<string, { t: Float64Array; n: number }>();
let opens = new Map<string, number>();
const stampLists = () => Object.fromEntries([...stamps].map(([id, { t, n }]) => [id, Array.from(t.subarray(0, n))]));
const sim = await startFinnSim({
  ...(JSON.parse(process.env.FINN_SIM_OPTIONS ?? '{}') as Record<string, unknown>),
  onFrameSent: (sessionId, frame) => {
    if (frame.type !== 'text_delta') return;
    let list = stamps.get(sessionId);
    if (!list) stamps.set(sessionId, (list = { t: new Float64Array(64), n: 0 }));
    if (list.n === list.t.length) {
      const grown = new Float64Array(list.t.length * 2);
      grown.set(list.t);
      list.t = grown;
    }
    list.t[list.n++] = epochNow();
  },
  onSocketOpened: (sessionId) => {
    opens.set(sessionId, epochNow());
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
      process.send?.({ type: 'stamps', stamps: stampLists(), opens: Object.fromEntries(opens) });
      return;
  }
  process.send?.({ type: m.type });
});
process.channel?.unref();
process.on('SIGTERM', () => void sim.close().then(() => process.exit(0)));
console.log(JSON.stringify({ port: Number(new URL(sim.url).port) }));
