/**
 * Wall-clock epoch ms with sub-ms precision, read in two processes: the simulator stamps each delta
 * it sends (bench/servers/finn-sim.ts) and the load generator each chunk it receives
 * (bench/scenarios/chat.ts). A delta's latency is the difference, so both must read the same clock
 * the same way; both read the system clock through `performance`.
 */
export const epochNow = (): number => performance.timeOrigin + performance.now();
