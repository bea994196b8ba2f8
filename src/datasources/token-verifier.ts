import { verifyWalletToken } from '../domain/jwt.js';

export interface TokenVerifier {
  /** The wallet a JWT proves, or null; a token verified once is remembered until it expires. */
  verify(token: string): Promise<{ wallet: string; expiresAt: number } | null>;
}

/**
 * Process-scoped: the rate limiter and identity resolution both verify the same token on every
 * request. Keyed by the token itself, so a hit can only ever answer for whoever holds that token;
 * the allowlist is still checked by the caller on every request.
 */
export function createTokenVerifier(secret: string, maxEntries = 10_000): TokenVerifier {
  const verified = new Map<string, { wallet: string; expiresAt: number }>();
  return {
    async verify(token) {
      const hit = verified.get(token);
      if (hit) {
        if (hit.expiresAt > Date.now()) return hit;
        verified.delete(token);
      }
      const result = await verifyWalletToken(secret, token);
      if (result) {
        if (verified.size >= maxEntries) {
          const oldest = verified.keys().next();
          if (!oldest.done) verified.delete(oldest.value);
        }
        verified.set(token, result);
      }
      return result;
    },
  };
}
