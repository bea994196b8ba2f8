/**
 * `npm run dev`: the zero-setup local stack. Starts the Finn simulator and Dixie in this process
 * with embedded PostgreSQL (PGlite in ./.dixie/pg), in-process cache and events, and prints where
 * to go. Any variable already set in the environment wins over these defaults.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { ConfigError, loadConfig } from '../src/config.js';
import { createLogger } from '../src/logger.js';
import { startServer } from '../src/server.js';
import { startFinnSim } from '../test/finn-sim/index.js';

mkdirSync('.dixie', { recursive: true });
const keyFile = '.dixie/dev-jwt-key';
if (!existsSync(keyFile)) writeFileSync(keyFile, randomBytes(32).toString('hex'), { mode: 0o600 });

const simPort = Number(process.env.FINN_SIM_PORT ?? 4000);
const sim = await startFinnSim({ port: simPort, host: '127.0.0.1' });

let loaded;
try {
  loaded = loadConfig({
    NODE_ENV: 'development',
    FINN_URL: sim.url,
    DATABASE_URL: 'pglite:./.dixie/pg',
    DIXIE_ALLOWLIST_PATH: './.dixie/allowlist.json',
    DIXIE_JWT_PRIVATE_KEY: readFileSync(keyFile, 'utf8').trim(),
    DIXIE_SCHEDULE_CALLBACK_SECRET: 'test-secret',
    DIXIE_MEMORY_SEAL_KEY: 'dev-only-seal-key-0123456789abcdef0123',
    ...process.env,
  });
} catch (err) {
  if (err instanceof ConfigError) for (const p of err.problems) console.error(`config error: ${p}`);
  await sim.close();
  process.exit(1);
}

const logger = createLogger(loaded.config.logLevel);
const server = await startServer(loaded.config, logger);
console.log(`
  Dixie ${loaded.config.version} is running (development)
  GraphiQL:     ${server.url}/graphql
  Health:       ${server.url}/api/health
  Finn (sim):   ${sim.url}   control API: ${sim.url}/__sim/stats
  Data:         ./.dixie (embedded PostgreSQL, allowlist)
  Stop with Ctrl-C.
`);

let stopping = false;
const stop = async () => {
  if (stopping) return;
  stopping = true;
  await server.stop();
  await sim.close();
  process.exit(0);
};
process.on('SIGINT', () => void stop());
process.on('SIGTERM', () => void stop());
