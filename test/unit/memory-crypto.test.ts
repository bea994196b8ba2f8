import { describe, expect, it } from 'vitest';
import { conversationCipher, conversationKey } from '../../src/domain/memory-crypto.js';

const KEY = 'memory-seal-key-0123456789abcdef0123456789';
const OTHER = 'another-seal-key-0123456789abcdef012345678';

describe('memory seal crypto', () => {
  it('round-trips a payload with a fresh 12-byte IV each time and no plaintext in the output', () => {
    const c = conversationCipher(KEY, 'conv-1');
    const payload = { role: 'user', text: 'the secret plan' };
    const a = c.seal(payload);
    const b = c.seal(payload);
    expect(a.subarray(0, 12).equals(b.subarray(0, 12))).toBe(false);
    expect(a.length).toBe(12 + 16 + Buffer.byteLength(JSON.stringify(payload)));
    expect(a.toString('latin1')).not.toContain('secret');
    expect(c.open(a)).toEqual(payload);
    expect(conversationCipher(KEY, 'conv-1').open(b)).toEqual(payload);
  });

  it('derives a different key per conversation and per master key (HKDF-SHA256)', () => {
    expect(conversationKey(KEY, 'a')).toHaveLength(32);
    expect(conversationKey(KEY, 'a').equals(conversationKey(KEY, 'b'))).toBe(false);
    expect(conversationKey(KEY, 'a').equals(conversationKey(OTHER, 'a'))).toBe(false);
  });

  it('fails the GCM auth tag under a wrong key, another conversation or tampering', () => {
    const sealed = conversationCipher(KEY, 'conv-1').seal({ text: 'x' });
    expect(() => conversationCipher(OTHER, 'conv-1').open(sealed)).toThrow(/unable to authenticate|auth/i);
    expect(() => conversationCipher(KEY, 'conv-2').open(sealed)).toThrow(/unable to authenticate|auth/i);
    const tampered = Buffer.from(sealed);
    tampered[tampered.length - 1]! ^= 1;
    expect(() => conversationCipher(KEY, 'conv-1').open(tampered)).toThrow(/unable to authenticate|auth/i);
    expect(() => conversationCipher(KEY, 'conv-1').open(Buffer.alloc(10))).toThrow(/too short/);
  });
});
