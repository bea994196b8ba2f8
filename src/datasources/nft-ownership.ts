import type { Cache } from './cache.js';
import type { FinnCallContext, FinnClient } from './finn/index.js';
import type { Nft } from './finn/schemas.js';
import { createSingleFlight } from './single-flight.js';
import { cachedNfts } from './cache-schemas.js';

export interface NftDirectory {
  /** The wallet's NFTs (Finn B3; [] when Finn does not serve it), cached briefly per wallet. */
  forWallet(wallet: string, ctx?: FinnCallContext): Promise<Nft[]>;
}

const keyOf = (wallet: string) => `nfts:v1:${wallet.toLowerCase()}`;

/**
 * Ownership is checked on every NFT-scoped request, so the list is cached for
 * DIXIE_NFT_OWNERSHIP_TTL seconds (a transfer takes at most that long to show); 0 turns it off.
 * Failures are never cached.
 */
export function createNftDirectory(deps: { finn: FinnClient; cache: Cache; ttlSeconds: number }): NftDirectory {
  const loads = createSingleFlight<Nft[]>();
  return {
    async forWallet(wallet, ctx) {
      const key = keyOf(wallet);
      if (deps.ttlSeconds > 0) {
        const hit = await deps.cache.get(key, cachedNfts);
        if (hit) return hit;
      }
      return loads.run(key, async () => {
        const list = (await deps.finn.walletNfts(wallet, ctx)) ?? [];
        await deps.cache.set(key, list, deps.ttlSeconds);
        return list;
      });
    },
  };
}
