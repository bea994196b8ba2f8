import type { Tier } from '../config.js';
import { dixieError } from '../errors.js';
import { isTier, meetsTier } from '../domain/tiers.js';
import { actingWallet, type Viewer } from '../domain/viewer.js';
import type { Conviction } from './conviction.js';
import { toClientError } from './finn/errors.js';
import type { FinnCallContext } from './finn/index.js';
import type { Nft } from './finn/schemas.js';
import type { Datasources } from './index.js';

/**
 * Per-request answers to "may this viewer …?". Each lookup (conviction, the acting wallet's NFTs
 * from Finn B3) runs at most once per request and is shared by every field.
 */
export interface Access {
  readonly viewer: Viewer;
  /** The wallet whose tier and ownership apply: the wallet's own, or an agent's owner. */
  readonly actingWallet: string | null;
  conviction(): Promise<Conviction | null>;
  /** The acting wallet's tier, null without one. Never throws for a denial. */
  tier(): Promise<Tier | null>;
  /** The acting wallet's NFTs (Finn B3); [] when Finn does not serve B3 or there is no wallet. */
  nfts(): Promise<Nft[]>;
  /** true, or throws UNAUTHENTICATED / FORBIDDEN (with requiredTier and actualTier). */
  hasTier(required: Tier | string): Promise<boolean>;
  isNftOwner(nftId: string): Promise<boolean>;
  canReadNft(nftId: string): Promise<boolean>;
}

type AccessDeps = Pick<Datasources, 'conviction' | 'finn' | 'nfts'>;

const sameAddress = (a: string, b: string) => a.toLowerCase() === b.toLowerCase();

export function createAccess(viewer: Viewer, ds: AccessDeps, finnCtx?: FinnCallContext): Access {
  const wallet = actingWallet(viewer);
  let conviction: Promise<Conviction | null> | undefined;
  let nfts: Promise<Nft[]> | undefined;

  const loadConviction = () => (conviction ??= wallet ? ds.conviction.forWallet(wallet, finnCtx) : Promise.resolve(null));
  const loadNfts = () =>
    (nfts ??= !wallet
      ? Promise.resolve([])
      : ds.nfts.forWallet(wallet, finnCtx).then(
          (list) => list,
          (err: unknown) => Promise.reject(toClientError(err, Math.ceil(ds.finn.breaker.retryAfterMs() / 1000))),
        ));
  /** An agent acts only for its own NFT. */
  const findNft = async (nftId: string) => {
    if (!wallet || (viewer.kind === 'agent' && viewer.nftId !== nftId)) return undefined;
    return (await loadNfts()).find((n) => n.nftId === nftId);
  };

  return {
    viewer,
    actingWallet: wallet,
    conviction: loadConviction,
    tier: async () => (await loadConviction())?.tier ?? null,
    nfts: loadNfts,
    async hasTier(required) {
      if (!isTier(required)) throw new Error(`unknown tier ${required}`);
      if (viewer.kind === 'anonymous') throw dixieError('UNAUTHENTICATED', 'Authentication required');
      const actual = (await loadConviction())?.tier ?? null;
      if (actual && meetsTier(actual, required)) return true;
      throw dixieError('FORBIDDEN', `Requires conviction tier ${required}`, { requiredTier: required, actualTier: actual });
    },
    async isNftOwner(nftId) {
      const nft = await findNft(nftId);
      return !!nft && !!wallet && sameAddress(nft.ownerWallet, wallet);
    },
    async canReadNft(nftId) {
      const nft = await findNft(nftId);
      if (!nft || !wallet) return false;
      return sameAddress(nft.ownerWallet, wallet) || nft.delegatedWallets.some((d) => sameAddress(d, wallet));
    },
  };
}
