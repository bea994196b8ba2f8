import type { GovernorHealth, GovernorReport } from '../domain/governor.js';

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

/** Keeps each governor's `version`, bumped whenever its reading changes. */
export function createGovernorRegistry(): GovernorRegistry {
  const governors: Governor[] = [];
  const last = new Map<string, { key: string; version: number }>();
  return {
    register(g) {
      governors.push(g);
    },
    resourceTypes: () => governors.map((g) => g.resourceType),
    async report() {
      return Promise.all(
        governors.map(async (g): Promise<GovernorReport> => {
          const reading = await g.read().catch(() => null);
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
