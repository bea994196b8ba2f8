import { cpus } from 'node:os';

const FRAME = JSON.stringify({ type: 'text_delta', data: { delta: 'lore' } });
const ROUNDS = 7;
const PER_ROUND = 20_000;

/**
 * One chat delta's worth of plain JavaScript, as Dixie does it: parse Finn's frame, build the
 * GraphQL result and serialise the graphql-ws `next` message.
 */
function deltaWork(i: number): number {
  const frame = JSON.parse(FRAME) as { data: { delta: string } };
  const message = { id: String(i), type: 'next', payload: { data: { chat: { __typename: 'ChatTextDelta', delta: frame.data.delta } } } };
  return JSON.stringify(message).length;
}

/**
 * What the numbers of a run were measured on. The same build has measured 2–3 times faster or
 * slower from one VM to the next (Dixie's CPU per chat delta 28–42 µs on one, 80–110 µs on
 * another, both "AMD EPYC, 2 vCPUs"), so every run prints the machine and a calibration: the
 * median time of `deltaWork` on an idle machine, before any scenario starts.
 */
export function machineLine(): string {
  let sink = 0;
  for (let i = 0; i < PER_ROUND; i++) sink += deltaWork(i);
  const rounds: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const t0 = performance.now();
    for (let i = 0; i < PER_ROUND; i++) sink += deltaWork(i);
    rounds.push(((performance.now() - t0) * 1000) / PER_ROUND);
  }
  if (sink === 0) throw new Error('calibration: the work was optimised away');
  rounds.sort((a, b) => a - b);
  const list = cpus();
  const model = list[0]?.model.trim() ?? 'unknown CPU';
  return `machine: ${model}, ${list.length} CPUs, Node ${process.version}; calibration ${rounds[ROUNDS >> 1]!.toFixed(2)} µs per frame parse + result serialise (median of ${ROUNDS}, idle)`;
}
