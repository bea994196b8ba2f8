import { constantTimeEqual } from '../domain/admin-key.js';
import { looksLikeJwt } from '../domain/jwt.js';
import { ANONYMOUS, INVALID_CREDENTIALS, type Viewer } from '../domain/viewer.js';
import type { FinnCallContext } from './finn/index.js';
import type { Datasources } from './index.js';

/** Credentials as presented on an HTTP request or in a WebSocket `connection_init` payload. */
export interface Credentials {
  authorization?: string | null;
  tbaAddress?: string | null;
  tbaSignature?: string | null;
  tbaTimestamp?: string | null;
}

/** Agent (TBA) credentials and no Authorization: checking them costs a Finn call (B9). */
export function presentsAgent(creds: Credentials): boolean {
  return !creds.authorization?.trim() && !!(creds.tbaAddress || creds.tbaSignature || creds.tbaTimestamp);
}

type IdentityDeps = Pick<Datasources, 'config' | 'allowlist' | 'tba' | 'tokens'>;

/**
 * Resolves who is calling, once per request (HTTP) or per connection (WebSocket). Client-supplied
 * identity headers such as x-wallet-address are never read. Presented but invalid credentials give
 * an anonymous viewer marked `invalidCredentials` (UNAUTHENTICATED wherever auth is needed).
 */
export async function resolveViewer(ds: IdentityDeps, creds: Credentials, ctx?: FinnCallContext): Promise<Viewer> {
  const auth = creds.authorization?.trim();
  if (auth) return fromAuthorization(ds, auth);
  if (presentsAgent(creds)) {
    if (!creds.tbaAddress || !creds.tbaSignature || !creds.tbaTimestamp) return INVALID_CREDENTIALS;
    const agent = await ds.tba.verify(creds.tbaAddress, creds.tbaSignature, creds.tbaTimestamp, ctx);
    return agent ? { kind: 'agent', ...agent } : INVALID_CREDENTIALS;
  }
  return ANONYMOUS;
}

async function fromAuthorization(ds: IdentityDeps, auth: string): Promise<Viewer> {
  const m = /^Bearer\s+(\S+)$/i.exec(auth);
  if (!m?.[1]) return INVALID_CREDENTIALS;
  const token = m[1];
  if (ds.config.adminKey !== '' && constantTimeEqual(token, ds.config.adminKey)) return { kind: 'admin' };
  if (token.startsWith('dxk_')) return ds.allowlist.hasApiKey(token) ? { kind: 'service', apiKey: token } : INVALID_CREDENTIALS;
  if (!looksLikeJwt(token)) return INVALID_CREDENTIALS;
  const verified = await ds.tokens.verify(token);
  // Checked on every request, so removing a wallet from the allowlist takes effect at once.
  if (!verified || !ds.allowlist.hasWallet(verified.wallet)) return INVALID_CREDENTIALS;
  return { kind: 'wallet', wallet: verified.wallet, tokenExpiresAt: verified.expiresAt };
}

export function credentialsFromHeaders(get: (name: string) => string | null | undefined): Credentials {
  return {
    authorization: get('authorization'),
    tbaAddress: get('x-tba-address'),
    tbaSignature: get('x-tba-signature'),
    tbaTimestamp: get('x-tba-timestamp'),
  };
}
