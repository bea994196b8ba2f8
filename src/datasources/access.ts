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

/**
 * A class: one Access lives per GraphQL operation, also for as long as a subscription stays
 * open, and prototype methods cost nothing per instance where eight closures and their context did.
 */
class RequestAccess implements Access {
  readonly actingWallet: string | null;
  #conviction: Promise<Conviction | null> | undefined;
  #nfts: Promise<Nft[]> | undefined;

  constructor(
    readonly viewer: Viewer,
    private readonly ds: AccessDeps,
    private readonly finnCtx: FinnCallContext | undefined,
  ) {
    this.actingWallet = actingWallet(viewer);
  }

  conviction(): Promise<Conviction | null> {
    const wallet = this.actingWallet;
    return (this.#conviction ??= wallet ? this.ds.conviction.forWallet(wallet, this.finnCtx) : Promise.resolve(null));
  }

  async tier(): Promise<Tier | null> {
    return (await this.conviction())?.tier ?? null;
  }

  nfts(): Promise<Nft[]> {
    const { actingWallet: wallet, ds } = this;
    return (this.#nfts ??= !wallet
      ? Promise.resolve([])
      : ds.nfts.forWallet(wallet, this.finnCtx).then(
          (list) => list,
          (err: unknown) => Promise.reject(toClientError(err, Math.ceil(ds.finn.breaker.retryAfterMs() / 1000))),
        ));
  }

  /** An agent acts only for its own NFT. */
  async #findNft(nftId: string): Promise<Nft | undefined> {
    const { viewer, actingWallet: wallet } = this;
    if (!wallet || (viewer.kind === 'agent' && viewer.nftId !== nftId)) return undefined;
    return (await this.nfts()).find((n) => n.nftId === nftId);
  }

  async hasTier(required: Tier | string): Promise<boolean> {
    if (!isTier(required)) throw new Error(`unknown tier ${required}`);
    if (this.viewer.kind === 'anonymous') throw dixieError('UNAUTHENTICATED', 'Authentication required');
    const actual = (await this.conviction())?.tier ?? null;
    if (actual && meetsTier(actual, required)) return true;
    throw dixieError('FORBIDDEN', `Requires conviction tier ${required}`, { requiredTier: required, actualTier: actual });
  }

  async isNftOwner(nftId: string): Promise<boolean> {
    const nft = await this.#findNft(nftId);
    const wallet = this.actingWallet;
    return !!nft && !!wallet && sameAddress(nft.ownerWallet, wallet);
  }

  async canReadNft(nftId: string): Promise<boolean> {
    const nft = await this.#findNft(nftId);
    const wallet = this.actingWallet;
    if (!nft || !wallet) return false;
    return sameAddress(nft.ownerWallet, wallet) || nft.delegatedWallets.some((d) => sameAddress(d, wallet));
  }
}

export function createAccess(viewer: Viewer, ds: AccessDeps, finnCtx?: FinnCallContext): Access {
  return new RequestAccess(viewer, ds, finnCtx);
}
