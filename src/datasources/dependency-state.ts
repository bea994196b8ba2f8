import { LogEvent } from '../log-events.js';
import type { Logger } from '../logger.js';

export type DependencyName = 'postgresql' | 'redis' | 'nats';

/**
 * Logs `dependency_unreachable` / `dependency_recovered` once per transition, never per retry.
 * After `closing()` the connection going away is our doing, not an outage: nothing more is logged.
 */
export function createDependencyState(dependency: DependencyName, logger: Logger) {
  let up: boolean | null = null;
  let closing = false;
  return {
    isUp: () => up === true,
    closing() {
      closing = true;
    },
    markUp() {
      if (closing) return;
      if (up === false) logger.info({ event: LogEvent.dependencyRecovered, dependency }, LogEvent.dependencyRecovered);
      up = true;
    },
    markDown(reason: string) {
      if (closing) return;
      if (up !== false) logger.warn({ event: LogEvent.dependencyUnreachable, dependency, reason }, LogEvent.dependencyUnreachable);
      up = false;
    },
  };
}
