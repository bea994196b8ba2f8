import { createHash } from 'node:crypto';
import { normaliseWallet } from '../domain/allowlist.js';
import type { Logger } from '../logger.js';
import type { Cache } from './cache.js';
import { viaFinn } from './finn/call.js';
import { FinnAnswerError } from './finn/errors.js';
import type { FinnBreaker, FinnCallContext, FinnClient } from './finn/index.js';
import { cachedAgent } from './cache-schemas.js';

export interface VerifiedAgent {
  tbaAddress: string;
  ownerWallet: string;
  nftId: string;
}

export interface TbaVerifier {
  /**
   * Verified through Finn B9 and cached 5 min; null when Finn rejects it (a 4xx) or does not serve
   * B9 (404). Throws UPSTREAM_UNAVAILABLE / UPSTREAM_ERROR when Finn cannot answer (finn.md).
   */
  verify(tbaAddress: string, signature: string, timestamp: string, ctx?: FinnCallContext): Promise<VerifiedAgent | null>;
}

export const TBA_CACHE_TTL_S = 300;
export const TBA_MAX_SKEW_S = 300;

/** The text an agent signs: its TBA address (EIP-55) and the x-tba-timestamp it sends. */
export function tbaMessage(tbaAddress: string, timestamp: string): string {
  return `dixie-tba-auth:${tbaAddress}:${timestamp}`;
}

export function createTbaVerifier(deps: { finn: FinnClient; breaker: FinnBreaker; cache: Cache; logger: Logger }): TbaVerifier {
  const { finn, breaker, cache, logger } = deps;

  /** Dixie names NFTs by Finn's nftId; find it through the owner's B3 listing. */
  const nftIdOf = async (owner: string, contract: string, tokenId: string, ctx?: FinnCallContext): Promise<string> => {
    const nfts = await finn.walletNfts(owner, ctx).catch(() => null);
    const hit = nfts?.find((n) => n.contractAddress.toLowerCase() === contract.toLowerCase() && n.tokenId === tokenId);
    return hit?.nftId ?? `${contract.toLowerCase()}:${tokenId}`;
  };

  return {
    async verify(tbaAddress, signature, timestamp, ctx) {
      const address = normaliseWallet(tbaAddress);
      const ts = Number(timestamp);
      if (!address || !/^\d{1,12}$/.test(timestamp) || signature.length === 0 || signature.length > 2048) return null;
      if (Math.abs(Date.now() / 1000 - ts) > TBA_MAX_SKEW_S) return null;
      const key = `tba:v1:${createHash('sha256').update(`${address}|${signature}|${timestamp}`).digest('hex')}`;
      const cached = await cache.get(key, cachedAgent);
      if (cached) return cached;
      // A 4xx is Finn's verdict on the signature; a circuit open, timeout, network error or 5xx
      // says nothing about the agent and must not read as invalid credentials.
      const verified = await viaFinn(breaker, async () => {
        try {
          return await finn.verifyTba({ tbaAddress: address, signature, message: tbaMessage(address, timestamp) }, ctx);
        } catch (err) {
          if (!(err instanceof FinnAnswerError)) throw err;
          logger.info({ event: 'tba_rejected', status: err.status }, 'Finn rejected a TBA signature');
          return null;
        }
      });
      const owner = verified ? normaliseWallet(verified.ownerWallet) : null;
      if (!verified || !owner) return null;
      const agent: VerifiedAgent = { tbaAddress: address, ownerWallet: owner, nftId: await nftIdOf(owner, verified.nftContract, verified.tokenId, ctx) };
      await cache.set(key, agent, TBA_CACHE_TTL_S);
      return agent;
    },
  };
}
