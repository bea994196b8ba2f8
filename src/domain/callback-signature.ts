import { createHmac, timingSafeEqual } from 'node:crypto';

/** How far a callback's timestamp may be from now, and how long an accepted signature is remembered. */
export const CALLBACK_WINDOW_S = 300;
export const REPLAY_TTL_S = 600;
/** How long a signature is held while its callback is being recorded (an instance may die meanwhile). */
export const REPLAY_PENDING_S = 30;

export type CallbackCheck = 'ok' | 'no_secret' | 'bad_timestamp' | 'bad_signature' | 'stale_timestamp';

const LOWER_HEX_SHA256 = /^[0-9a-f]{64}$/;

/** rest.md: lowercase hex HMAC-SHA256 of `<scheduleId>:<timestamp>` keyed with the UTF-8 secret. */
export function callbackSignature(secret: string, scheduleId: string, timestamp: string): string {
  return createHmac('sha256', Buffer.from(secret, 'utf8')).update(`${scheduleId}:${timestamp}`, 'utf8').digest('hex');
}

/**
 * Checks a Finn callback's HMAC (constant time; upper-case hex is rejected) and its timestamp
 * window. Replay is checked separately, only for callbacks that pass this.
 */
export function checkCallback(input: {
  secret: string;
  scheduleId: string;
  timestamp: string;
  signature: string;
  nowS: number;
}): CallbackCheck {
  if (input.secret === '') return 'no_secret';
  if (!/^\d{1,12}$/.test(input.timestamp)) return 'bad_timestamp';
  const expected = Buffer.from(callbackSignature(input.secret, input.scheduleId, input.timestamp), 'utf8');
  // Same length either way, so the comparison itself does not leak where a mismatch starts.
  const given = Buffer.alloc(expected.length);
  const shapeOk = LOWER_HEX_SHA256.test(input.signature);
  if (shapeOk) given.write(input.signature, 'utf8');
  if (!timingSafeEqual(expected, given) || !shapeOk) return 'bad_signature';
  if (Math.abs(input.nowS - Number(input.timestamp)) > CALLBACK_WINDOW_S) return 'stale_timestamp';
  return 'ok';
}
