import { pino, type Logger as PinoLogger, type DestinationStream } from 'pino';
import { currentRequestId } from './request-scope.js';

export type Logger = PinoLogger;

// Anything that may carry a credential is censored wherever it appears in a log object.
const REDACT = [
  'authorization',
  '*.authorization',
  'headers.authorization',
  '*.headers.authorization',
  'token',
  '*.token',
  'password',
  '*.password',
  'secret',
  '*.secret',
  'signature',
  '*.signature',
  '["x-callback-signature"]',
  '*["x-callback-signature"]',
];

/**
 * Logs go to stdout synchronously by default: Dixie logs little per request, and an asynchronous
 * destination let process.exit drop its last lines or put a line still being written after them
 * (startup_failed before the dependency_unreachable that caused it).
 */
export function createLogger(level: string, destination: DestinationStream = pino.destination({ dest: 1, sync: true })): Logger {
  return pino(
    {
      level,
      base: { service: 'dixie' },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      redact: { paths: REDACT, censor: '[redacted]' },
      mixin() {
        const id = currentRequestId();
        return id ? { request_id: id } : {};
      },
    },
    destination,
  );
}
