import { dixieError } from '../errors.js';

/** PostgreSQL's bigint: a larger id reached the database as an out-of-range error (a 500). */
const MAX_BIGINT = 9_223_372_036_854_775_807n;

/** An opaque page cursor over a row id: base64url of `<kind>:<id>`. */
export function encodeIdCursor(kind: string, id: string): string {
  return Buffer.from(`${kind}:${id}`).toString('base64url');
}

/** The row id in `cursor` (null for none); BAD_USER_INPUT (`after`) unless it is one of ours for `kind`. */
export function decodeIdCursor(kind: string, cursor: string | null | undefined): string | null {
  if (!cursor) return null;
  const text = Buffer.from(cursor, 'base64url').toString('utf8');
  const id = text.startsWith(`${kind}:`) ? text.slice(kind.length + 1) : '';
  if (!/^\d{1,19}$/.test(id) || BigInt(id) > MAX_BIGINT) throw dixieError('BAD_USER_INPUT', 'Invalid cursor', { field: 'after' });
  return id;
}
