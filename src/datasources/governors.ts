import type { GovernorHealth, GovernorReport } from '../domain/governor.js';
import { createCachedProbe, type CachedProbe } from './cached-probe.js';

/** What a governor measures; `null` when it cannot currently report. */
export type GovernorReading = Omit<GovernorHealth, 'version'> | null;

export interface Governor {
  resourceType: string;
  read(): Promise<GovernorReading>;
}

export interface GovernorRegistry {
  register(governor: Governor): void;
  resourceTypes(): string[];
  report(): Promise<GovernorReport[]>;
}

/**
 * Keeps each governor's `version`, bumped whenever its reading changes. Readings are cached and a
 * reader waits at most `waitMs` for a refresh, so a governor whose database hangs cannot make
 * /api/health slow: it reports its last reading (or null).
 */
export function createGovernorRegistry(opts: { ttlMs?: number; waitMs?: number } = {}): GovernorRegistry {
  const governors: Array<{ g: Governor; probe: CachedProbe<GovernorReading> }> = [];
  const last = new Map<string, { key: string; version: number }>();
  return {
    register(g) {
      const probe = createCachedProbe<GovernorReading>({
        run: () => g.read().catch(() => null),
        initial: null,
        ttlMs: opts.ttlMs ?? 0,
        waitMs: opts.waitMs ?? 200,
      });
      governors.push({ g, probe });
    },
    resourceTypes: () => governors.map(({ g }) => g.resourceType),
    async report() {
      return Promise.all(
        governors.map(async ({ g, probe }): Promise<GovernorReport> => {
          const reading = await probe.get();
          if (!reading) return { resourceType: g.resourceType, health: null };
          const key = JSON.stringify(reading);
          const prev = last.get(g.resourceType);
          const version = !prev ? 1 : prev.key === key ? prev.version : prev.version + 1;
          last.set(g.resourceType, { key, version });
          return { resourceType: g.resourceType, health: { ...reading, version } };
        }),
      );
    },
  };
}
