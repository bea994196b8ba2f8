import { checkAdminKey } from '../domain/admin-key.js';
import { ANONYMOUS, type Viewer } from '../domain/viewer.js';
import type { Datasources } from './index.js';

/** Credentials as presented on an HTTP request or in a WebSocket `connection_init` payload. */
export interface Credentials {
  authorization?: string | null;
  tbaAddress?: string | null;
  tbaSignature?: string | null;
  tbaTimestamp?: string | null;
}

/**
 * Resolves who is calling, once per request (HTTP) or per connection (WebSocket). Client-supplied
 * identity headers such as x-wallet-address are never read.
 */
export async function resolveViewer(ds: Datasources, creds: Credentials): Promise<Viewer> {
  const auth = creds.authorization?.trim();
  if (!auth) return ANONYMOUS;
  if (/^Bearer\s+/i.test(auth) && checkAdminKey(auth, ds.config.adminKey) === 'ok') return { kind: 'admin' };
  return ANONYMOUS;
}

export function credentialsFromHeaders(get: (name: string) => string | null | undefined): Credentials {
  return {
    authorization: get('authorization'),
    tbaAddress: get('x-tba-address'),
    tbaSignature: get('x-tba-signature'),
    tbaTimestamp: get('x-tba-timestamp'),
  };
}
