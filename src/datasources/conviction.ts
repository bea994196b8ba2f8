import type { Config } from '../config.js';
import { normaliseWallet } from '../domain/allowlist.js';
import { modelPoolFor, tierForStake, type ModelPool, type Tier } from '../domain/tiers.js';
import type { Logger } from '../logger.js';
import type { AllowlistStore } from './allowlist-file.js';
import type { Cache } from './cache.js';
import type { FinnCallContext, FinnClient } from './finn/index.js';
import type { NatsHandle } from './nats.js';
import { createSingleFlight } from './single-flight.js';
import { cachedConviction } from './cache-schemas.js';

export type ConvictionSource = 'STAKING' | 'LEGACY_ALLOWLIST' | 'DEFAULT';

export interface Conviction {
  tier: Tier;
  /** null when Finn had no staking data. */
  bgtStaked: number | null;
  source: ConvictionSource;
  modelPool: ModelPool;
}

export interface ConvictionService {
  /** The wallet's tier: from the shared cache, else from Finn B6, else the fallback of domain.md. */
  forWallet(wallet: string, ctx?: FinnCallContext): Promise<Conviction>;
  /** Drops the cached tier here and, through NATS, on every instance. */
  invalidate(wallet: string): Promise<void>;
  close(): void;
}

export const STAKING_CHANGED_SUBJECT = 'dixie.staking.changed';
const FALLBACK_TTL_S = 60;
const keyOf = (wallet: string) => `conviction:v1:${wallet.toLowerCase()}`;

export function createConviction(deps: {
  config: Pick<Config, 'convictionTierTtl' | 'convictionFallbackTier'>;
  finn: FinnClient;
  cache: Cache;
  allowlist: AllowlistStore;
  nats: NatsHandle | null;
  logger: Logger;
}): ConvictionService {
  const { config, finn, cache, allowlist, nats, logger } = deps;

  const fallback = (wallet: string): Conviction =>
    allowlist.hasWallet(wallet)
      ? { tier: config.convictionFallbackTier, bgtStaked: null, source: 'LEGACY_ALLOWLIST', modelPool: modelPoolFor(config.convictionFallbackTier) }
      : { tier: 'OBSERVER', bgtStaked: null, source: 'DEFAULT', modelPool: modelPoolFor('OBSERVER') };

  const fromStake = (bgtStaked: number): Conviction => {
    const tier = tierForStake(bgtStaked);
    return { tier, bgtStaked, source: 'STAKING', modelPool: modelPoolFor(tier) };
  };

  /** In-flight Finn lookups per cache key; an invalidation forgets the key's (see single-flight.ts). */
  const loads = createSingleFlight<Conviction>();
  const unsubscribe = nats?.subscribe(STAKING_CHANGED_SUBJECT, async (data) => {
    const wallet = data && typeof data === 'object' ? (data as Record<string, unknown>)['wallet'] : undefined;
    const normalised = typeof wallet === 'string' ? normaliseWallet(wallet) : null;
    if (!normalised) {
      logger.warn({ event: 'staking_changed_invalid' }, `ignored a malformed ${STAKING_CHANGED_SUBJECT} message`);
      return;
    }
    await forgetHere(normalised);
  });

  /** Drops this instance's cached tier and retires a lookup in flight for it. */
  async function forgetHere(wallet: string): Promise<void> {
    loads.forget(keyOf(wallet));
    await cache.delete(keyOf(wallet));
  }

  async function load(wallet: string, key: string, ctx: FinnCallContext | undefined, current: () => boolean): Promise<Conviction> {
    let staking;
    try {
      staking = await finn.staking(wallet, ctx);
    } catch (err) {
      logger.warn({ event: 'conviction_fallback', reason: err instanceof Error ? err.name : 'error' }, 'Finn staking unavailable; fallback tier');
      staking = null;
    }
    const result = staking ? fromStake(staking.bgtStaked) : fallback(wallet);
    const ttl = staking ? config.convictionTierTtl : Math.min(FALLBACK_TTL_S, config.convictionTierTtl);
    if (current()) await cache.set(key, result, ttl);
    return result;
  }

  return {
    async forWallet(wallet, ctx) {
      const key = keyOf(wallet);
      const cached = await cache.get(key, cachedConviction);
      return cached ?? loads.run(key, (current) => load(wallet, key, ctx, current));
    },
    async invalidate(wallet) {
      await forgetHere(wallet);
      if (nats?.isUp()) nats.publish(STAKING_CHANGED_SUBJECT, { wallet });
    },
    close: () => unsubscribe?.(),
  };
}
