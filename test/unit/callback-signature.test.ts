import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { checkCallback } from '../../src/domain/callback-signature.js';

const now = Math.floor(Date.now() / 1000);
const ts = String(now);
const sign = (secret: string, id: string, t: string) => createHmac('sha256', secret).update(`${id}:${t}`).digest('hex');
const base = { secret: 'test-secret', scheduleId: 'sched-1', timestamp: ts, nowS: now };

describe('checkCallback', () => {
  it('accepts the lowercase hex HMAC of "<scheduleId>:<timestamp>"', () => {
    expect(checkCallback({ ...base, signature: sign('test-secret', 'sched-1', ts) })).toBe('ok');
  });

  it('rejects the same digest upper-cased', () => {
    expect(checkCallback({ ...base, signature: sign('test-secret', 'sched-1', ts).toUpperCase() })).toBe('bad_signature');
  });

  it('rejects a wrong secret, another schedule, a truncated or padded signature', () => {
    const good = sign('test-secret', 'sched-1', ts);
    expect(checkCallback({ ...base, signature: sign('other', 'sched-1', ts) })).toBe('bad_signature');
    expect(checkCallback({ ...base, signature: sign('test-secret', 'sched-2', ts) })).toBe('bad_signature');
    expect(checkCallback({ ...base, signature: good.slice(0, 63) })).toBe('bad_signature');
    expect(checkCallback({ ...base, signature: `${good}00` })).toBe('bad_signature');
  });

  it('rejects everything when the secret is empty', () => {
    expect(checkCallback({ ...base, secret: '', signature: sign('', 'sched-1', ts) })).toBe('no_secret');
  });

  it('accepts ±300 s and rejects beyond, or a timestamp that is not decimal seconds', () => {
    for (const [t, want] of [
      [now - 300, 'ok'],
      [now + 300, 'ok'],
      [now - 301, 'stale_timestamp'],
      [now + 301, 'stale_timestamp'],
    ] as const) {
      expect(checkCallback({ ...base, timestamp: String(t), signature: sign('test-secret', 'sched-1', String(t)) })).toBe(want);
    }
    for (const t of ['1.5e9', '-1', ' 1', 'abc', `${now}.0`]) {
      expect(checkCallback({ ...base, timestamp: t, signature: sign('test-secret', 'sched-1', t) })).toBe('bad_timestamp');
    }
  });
});
