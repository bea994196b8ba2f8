import { hash, timingSafeEqual } from 'node:crypto';

export type AdminKeyCheck = 'ok' | 'missing' | 'wrong' | 'unconfigured';

/** `Authorization: <key>` or `Authorization: Bearer <key>`, compared in constant time. */
export function checkAdminKey(authorization: string | undefined | null, adminKey: string): AdminKeyCheck {
  if (!adminKey) return 'unconfigured';
  if (!authorization) return 'missing';
  const presented = authorization.replace(/^Bearer\s+/i, '').trim();
  return constantTimeEqual(presented, adminKey) ? 'ok' : 'wrong';
}

const sha256 = (s: string): Buffer => hash('sha256', s, 'buffer');

// `secret` is the same key on every call (the admin key): its digest is kept, not recomputed per request.
let lastSecret: string | null = null;
let lastDigest: Buffer = sha256('');

/** `presented` equals `secret`, compared in constant time; hashing first makes it length-independent. */
export function constantTimeEqual(presented: string, secret: string): boolean {
  if (secret !== lastSecret) {
    lastDigest = sha256(secret);
    lastSecret = secret;
  }
  return timingSafeEqual(sha256(presented), lastDigest);
}
