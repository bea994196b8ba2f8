export interface GovernorHealth {
  status: 'healthy' | 'degraded';
  totalItems: number;
  staleItems: number;
  version: number;
}

export interface GovernorReport {
  resourceType: string;
  health: GovernorHealth | null;
}

export const STALE_AFTER_MS = 30 * 24 * 3600 * 1000;

/** Degraded when at least half of the items are stale (knowledge governors, domain.md). */
export function staleShareStatus(total: number, stale: number): 'healthy' | 'degraded' {
  return total > 0 && stale / total >= 0.5 ? 'degraded' : 'healthy';
}

export function isStale(lastUpdated: string | Date | null | undefined, now: number): boolean {
  if (!lastUpdated) return true;
  const t = new Date(lastUpdated).getTime();
  return Number.isNaN(t) || now - t > STALE_AFTER_MS;
}
