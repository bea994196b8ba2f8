import type { Tier } from '../config.js';
import type { Viewer } from '../domain/viewer.js';

/**
 * Per-request answers to "may this viewer …?", memoised for the request. The foundation knows
 * only anonymous and admin viewers; wallet tiers and NFT ownership come with identity and access.
 */
export interface Access {
  hasTier(required: Tier | string): Promise<boolean>;
  isNftOwner(nftId: string): Promise<boolean>;
  canReadNft(nftId: string): Promise<boolean>;
}

export function createAccess(_viewer: Viewer): Access {
  return {
    hasTier: async () => false,
    isNftOwner: async () => false,
    canReadNft: async () => false,
  };
}
