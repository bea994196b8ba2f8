import type { GovernorHealth, GovernorReport } from '../domain/governor.js';
import { createCachedProbe, type CachedProbe } from './cached-probe.js';
import { withTimeout } from './postgres/db.js';

/** What a governor measures; `null` when it cannot currently report. */
export type GovernorReading = Omit<GovernorHealth, 'version'> | null;

export interface Governor {
  resourceType: string;
  read(): Promise<GovernorReading>;
}

export interface GovernorRegistry {
  register(governor: Governor): void;
  resourceTypes(): string[];
  /** Fresh readings with versions (the admin governance views); each read is bounded by `timeoutMs`. */
  report(): Promise<GovernorReport[]>;
  /** Cached readings for /api/health: never waits more than `waitMs` on a governor's data source. */
  cachedReadings(): Promise<Array<{ resourceType: string; reading: GovernorReading }>>;
}

export interface GovernorRegistryOptions {
  ttlMs: number;
  waitMs: number;
  timeoutMs: number;
}

/**
 * Keeps each governor's `version`, bumped whenever its reading changes. A read that fails or
 * outlives `timeoutMs` is `null` (cannot currently report). /api/health reads the cached readings:
 * while a governor's database hangs it gets the last reading until that read times out.
 */
export function createGovernorRegistry(opts: GovernorRegistryOptions): GovernorRegistry {
  const governors: Array<{ g: Governor; cached: CachedProbe<GovernorReading> }> = [];
  const last = new Map<string, { key: string; version: number }>();
  const read = (g: Governor) => withTimeout(g.read(), opts.timeoutMs, `${g.resourceType} governor`).catch(() => null);
  return {
    register(g) {
      governors.push({ g, cached: createCachedProbe({ run: () => read(g), initial: null, ttlMs: opts.ttlMs, waitMs: opts.waitMs }) });
    },
    resourceTypes: () => governors.map(({ g }) => g.resourceType),
    async report() {
      return Promise.all(
        governors.map(async ({ g }): Promise<GovernorReport> => {
          const reading = await read(g);
          if (!reading) return { resourceType: g.resourceType, health: null };
          const key = JSON.stringify(reading);
          const prev = last.get(g.resourceType);
          const version = !prev ? 1 : prev.key === key ? prev.version : prev.version + 1;
          last.set(g.resourceType, { key, version });
          return { resourceType: g.resourceType, health: { ...reading, version } };
        }),
      );
    },
    cachedReadings: () => Promise.all(governors.map(async ({ g, cached }) => ({ resourceType: g.resourceType, reading: await cached.get() }))),
  };
}
