import { createHash, timingSafeEqual } from 'node:crypto';

export type AdminKeyCheck = 'ok' | 'missing' | 'wrong' | 'unconfigured';

/** `Authorization: <key>` or `Authorization: Bearer <key>`, compared in constant time. */
export function checkAdminKey(authorization: string | undefined | null, adminKey: string): AdminKeyCheck {
  if (!adminKey) return 'unconfigured';
  if (!authorization) return 'missing';
  const presented = authorization.replace(/^Bearer\s+/i, '').trim();
  return constantTimeEqual(presented, adminKey) ? 'ok' : 'wrong';
}

/** Hashing first makes the comparison length-independent. */
export function constantTimeEqual(a: string, b: string): boolean {
  const ha = createHash('sha256').update(a).digest();
  const hb = createHash('sha256').update(b).digest();
  return timingSafeEqual(ha, hb);
}
