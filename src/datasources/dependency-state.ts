import type { Logger } from '../logger.js';

export type DependencyName = 'postgresql' | 'redis' | 'nats';

/** Logs `dependency_unreachable` / `dependency_recovered` once per transition, never per retry. */
export function createDependencyState(dependency: DependencyName, logger: Logger) {
  let up: boolean | null = null;
  return {
    isUp: () => up === true,
    markUp() {
      if (up === false) logger.info({ event: 'dependency_recovered', dependency }, 'dependency_recovered');
      up = true;
    },
    markDown(reason: string) {
      if (up !== false) logger.warn({ event: 'dependency_unreachable', dependency, reason }, 'dependency_unreachable');
      up = false;
    },
  };
}
