import { startFinnSim } from './index.js';

// `npm run finn-sim`: a standalone Finn for local dev and the benchmark.
const env = process.env;
const port = Number(env.FINN_SIM_PORT ?? 4000);
const wsLimit = Number(env.FINN_SIM_WS_LIMIT ?? 5);

const sim = await startFinnSim({
  port,
  host: env.FINN_SIM_HOST ?? '127.0.0.1',
  token: env.FINN_SIM_TOKEN || null,
  callbackSecret: env.FINN_SIM_CALLBACK_SECRET ?? 'test-secret',
  wsLimitPerIp: Number.isFinite(wsLimit) ? wsLimit : 5,
});

console.log(`finn-sim listening on ${sim.url} (ws ${sim.wsUrl}, control ${sim.url}/__sim/stats)`
  + `${env.FINN_SIM_TOKEN ? ', token auth on' : ''}`);

let stopping = false;
const stop = (signal: string): void => {
  if (stopping) return;
  stopping = true;
  console.log(`finn-sim: ${signal}, closing`);
  sim.close().then(() => process.exit(0), (err: unknown) => {
    console.error(err);
    process.exit(1);
  });
};
process.on('SIGINT', () => stop('SIGINT'));
process.on('SIGTERM', () => stop('SIGTERM'));
