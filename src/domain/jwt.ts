import { randomUUID } from 'node:crypto';
import { SignJWT, jwtVerify } from 'jose';
import { normaliseWallet } from './allowlist.js';

export const JWT_ISSUER = 'dixie-bff';
export const JWT_AUDIENCE = 'dixie-bff';
export const JWT_TTL_S = 3600;
export const JWT_CLOCK_TOLERANCE_S = 30;

export interface WalletToken {
  token: string;
  wallet: string;
  /** Epoch milliseconds. */
  expiresAt: number;
}

const encoder = new TextEncoder();

// Importing the HMAC key costs more than verifying a token: import it once per secret.
let cachedKey: { secret: string; key: Promise<CryptoKey> } | null = null;
function hmacKey(secret: string): Promise<CryptoKey> {
  if (cachedKey?.secret !== secret) {
    const key = crypto.subtle.importKey('raw', encoder.encode(secret), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign', 'verify']);
    cachedKey = { secret, key };
  }
  return cachedKey.key;
}

/** domain.md: HS256, sub = EIP-55 wallet, iss = aud = dixie-bff, iat, exp = iat + 1 h, jti. */
export async function issueWalletToken(secret: string, wallet: string, now = Date.now()): Promise<WalletToken> {
  if (!secret) throw new Error('DIXIE_JWT_PRIVATE_KEY is not configured');
  const iat = Math.floor(now / 1000);
  const exp = iat + JWT_TTL_S;
  const token = await new SignJWT({})
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(wallet)
    .setIssuer(JWT_ISSUER)
    .setAudience(JWT_AUDIENCE)
    .setIssuedAt(iat)
    .setExpirationTime(exp)
    .setJti(randomUUID())
    .sign(await hmacKey(secret));
  return { token, wallet, expiresAt: exp * 1000 };
}

/**
 * The wallet a token proves, or null for anything invalid (wrong algorithm, `none`, tampered,
 * wrong iss/aud, expired, not yet valid, garbage). The algorithm is pinned, never taken from the token.
 */
export async function verifyWalletToken(secret: string, token: string, now = Date.now()): Promise<{ wallet: string; expiresAt: number } | null> {
  if (!secret || token.length > 4096) return null;
  try {
    const { payload } = await jwtVerify(token, await hmacKey(secret), {
      algorithms: ['HS256'],
      issuer: JWT_ISSUER,
      audience: JWT_AUDIENCE,
      clockTolerance: JWT_CLOCK_TOLERANCE_S,
      requiredClaims: ['sub', 'iat', 'exp', 'jti'],
      currentDate: new Date(now),
    });
    const { sub, iat, exp } = payload;
    if (typeof sub !== 'string' || normaliseWallet(sub) !== sub) return null;
    if (typeof iat !== 'number' || typeof exp !== 'number' || iat > now / 1000 + JWT_CLOCK_TOLERANCE_S) return null;
    return { wallet: sub, expiresAt: (exp + JWT_CLOCK_TOLERANCE_S) * 1000 };
  } catch {
    return null;
  }
}

/** Looks like a compact JWS (three base64url parts); used to tell tokens from API keys. */
export function looksLikeJwt(value: string): boolean {
  return /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*$/.test(value);
}
