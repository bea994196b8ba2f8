import type { Cache } from './cache.js';
import type { FinnCallContext, FinnClient } from './finn/index.js';
import type { Nft } from './finn/schemas.js';

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
  return {
    async forWallet(wallet, ctx) {
      if (deps.ttlSeconds > 0) {
        const hit = await deps.cache.get<Nft[]>(keyOf(wallet));
        if (hit) return hit;
      }
      const list = (await deps.finn.walletNfts(wallet, ctx)) ?? [];
      await deps.cache.set(keyOf(wallet), list, deps.ttlSeconds);
      return list;
    },
  };
}
