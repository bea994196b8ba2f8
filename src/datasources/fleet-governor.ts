import type { Governor } from './governors.js';
import type { Db } from './postgres/index.js';
import { fleetCounts } from './postgres/schedule-firing-repo.js';

/**
 * domain.md `fleet`: active schedules plus live chat streams; stale = Dixie-fired schedules
 * overdue by more than two scheduler ticks; degraded when any is overdue.
 */
export function createFleetGovernor(deps: { db: Db | null; tickMs: number; liveStreams?: () => number }): Governor {
  return {
    resourceType: 'fleet',
    async read() {
      const streams = deps.liveStreams?.() ?? 0;
      const { active, overdue } = deps.db ? await fleetCounts(deps.db, 2 * deps.tickMs) : { active: 0, overdue: 0 };
      return { status: overdue > 0 ? 'degraded' : 'healthy', totalItems: active + streams, staleItems: overdue };
    },
  };
}
