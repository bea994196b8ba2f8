import { LogEvent } from '../log-events.js';
import type { Logger } from '../logger.js';

export type DependencyName = 'postgresql' | 'redis' | 'nats';

/** Logs `dependency_unreachable` / `dependency_recovered` once per transition, never per retry. */
export function createDependencyState(dependency: DependencyName, logger: Logger) {
  let up: boolean | null = null;
  return {
    isUp: () => up === true,
    markUp() {
      if (up === false) logger.info({ event: LogEvent.dependencyRecovered, dependency }, LogEvent.dependencyRecovered);
      up = true;
    },
    markDown(reason: string) {
      if (up !== false) logger.warn({ event: LogEvent.dependencyUnreachable, dependency, reason }, LogEvent.dependencyUnreachable);
      up = false;
    },
  };
}
