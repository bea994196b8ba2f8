import { TIERS, type Tier } from '../config.js';

export type { Tier };
export { TIERS };

export type ModelPool = 'pool_observer' | 'pool_standard' | 'pool_premium';

/** domain.md: minimum BGT staked per tier, lowest first. */
export const TIER_THRESHOLDS: Readonly<Record<Tier, number>> = Object.freeze({
  OBSERVER: 0,
  PARTICIPANT: 1,
  BUILDER: 100,
  ARCHITECT: 1_000,
  SOVEREIGN: 10_000,
});

const MODEL_POOLS: Readonly<Record<Tier, ModelPool>> = Object.freeze({
  OBSERVER: 'pool_observer',
  PARTICIPANT: 'pool_standard',
  BUILDER: 'pool_standard',
  ARCHITECT: 'pool_premium',
  SOVEREIGN: 'pool_premium',
});

export function isTier(value: unknown): value is Tier {
  return typeof value === 'string' && (TIERS as readonly string[]).includes(value);
}

/** The highest tier whose threshold is ≤ the stake; anything not a finite non-negative number is OBSERVER. */
export function tierForStake(bgtStaked: number): Tier {
  if (!Number.isFinite(bgtStaked) || bgtStaked < 0) return 'OBSERVER';
  let tier: Tier = 'OBSERVER';
  for (const t of TIERS) if (bgtStaked >= TIER_THRESHOLDS[t]) tier = t;
  return tier;
}

export function tierRank(tier: Tier): number {
  return TIERS.indexOf(tier);
}

export function meetsTier(actual: Tier, required: Tier): boolean {
  return tierRank(actual) >= tierRank(required);
}

export function modelPoolFor(tier: Tier): ModelPool {
  return MODEL_POOLS[tier];
}
