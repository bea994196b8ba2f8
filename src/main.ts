import { ConfigError, loadConfig, type LoadedConfig } from './config.js';
import { deadlineIn } from './deadline.js';
import { LogEvent } from './log-events.js';
import { createLogger } from './logger.js';
import { startServer } from './server.js';

function configOrExit(): LoadedConfig {
  try {
    return loadConfig();
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    for (const problem of err.problems) console.error(`config error: ${problem}`);
    process.exit(1);
  }
}

const { config, warnings } = configOrExit();
const logger = createLogger(config.logLevel);
for (const warning of warnings) logger.warn({ event: 'config_warning' }, warning);

// Not awaited: the signal handlers below must be in place while it starts.
const starting = startServer(config, logger, { readinessDelayMs: config.nodeEnv === 'production' ? 2_000 : 0 }).catch(
  (err: unknown) => {
    logger.error({ event: 'startup_failed', err: err instanceof Error ? err.message : String(err) }, 'startup_failed');
    process.exit(1);
  },
);

/** The steps of stop() end this long before the backstop, so a step that uses all its time never races it. */
const EXIT_MARGIN_MS = 100;

let shuttingDown = false;
async function shutdown(signal: string): Promise<void> {
  if (shuttingDown) return;
  shuttingDown = true;
  // One deadline from the signal on: every step of stop() is bounded by what it leaves.
  const deadline = deadlineIn(config.shutdownGraceMs - EXIT_MARGIN_MS);
  logger.info({ event: LogEvent.shutdownStarted, signal }, LogEvent.shutdownStarted);
  const backstop = setTimeout(() => {
    logger.error({ event: 'shutdown_forced', grace_ms: config.shutdownGraceMs }, 'shutdown exceeded the grace period');
    process.exit(1);
  }, config.shutdownGraceMs);
  backstop.unref();
  // A signal during startup stops the server once it is up, within the same deadline.
  const running = await starting;
  await running.stop(deadline);
  logger.info({ event: LogEvent.shutdownFinished }, LogEvent.shutdownFinished);
  process.exit(0);
}

process.on('SIGTERM', () => void shutdown('SIGTERM'));
process.on('SIGINT', () => void shutdown('SIGINT'));
process.on('unhandledRejection', (reason) => {
  logger.error({ event: 'unhandled_rejection', err: reason instanceof Error ? reason.message : String(reason) }, 'unhandled rejection');
});
