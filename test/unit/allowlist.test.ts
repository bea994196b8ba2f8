import { describe, expect, it } from 'vitest';
import { addEntry, checkEntry, emptyAllowlist, normaliseWallet, parseAllowlist, removeEntry } from '../../src/domain/allowlist.js';

const CHECKSUMMED = '0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed';
const LOWER = CHECKSUMMED.toLowerCase();

describe('wallet normalisation (EIP-55)', () => {
  it('checksums lower- and upper-case addresses', () => {
    expect(normaliseWallet(LOWER)).toBe(CHECKSUMMED);
    expect(normaliseWallet(`0x${LOWER.slice(2).toUpperCase()}`)).toBe(CHECKSUMMED);
    expect(normaliseWallet(CHECKSUMMED)).toBe(CHECKSUMMED);
  });

  it('rejects a mixed-case address with a wrong checksum and malformed addresses', () => {
    expect(normaliseWallet('0x5AAeb6053F3E94C9b9A09f33669435E7Ef1BeAed')).toBeNull();
    expect(normaliseWallet('0x1234')).toBeNull();
    expect(normaliseWallet(`${LOWER}00`)).toBeNull();
    expect(normaliseWallet(`0X${LOWER.slice(2)}`)).toBeNull();
    expect(normaliseWallet(`0x${'g'.repeat(40)}`)).toBeNull();
  });
});

describe('checkEntry (rest.md order of checks)', () => {
  it('requires type and value', () => {
    for (const [type, value] of [[undefined, 'x'], ['wallet', undefined], ['', 'x'], ['wallet', ''], ['wallet', 42]]) {
      expect(checkEntry(type, value)).toEqual({ ok: false, problem: { error: 'invalid_request', message: 'type and value required' } });
    }
  });

  it('requires a known type before looking at the value', () => {
    expect(checkEntry('admin', 'not-an-address')).toEqual({ ok: false, problem: { error: 'invalid_request', message: 'type must be wallet or apiKey' } });
  });

  it('validates wallets and API keys', () => {
    expect(checkEntry('wallet', LOWER)).toEqual({ ok: true, value: { type: 'wallet', value: CHECKSUMMED } });
    expect(checkEntry('wallet', '0xnope')).toMatchObject({ ok: false, problem: { error: 'invalid_address', message: 'Invalid Ethereum address' } });
    expect(checkEntry('apiKey', 'dxk_0123456789abcdef')).toEqual({ ok: true, value: { type: 'apiKey', value: 'dxk_0123456789abcdef' } });
    const short = checkEntry('apiKey', 'dxk_0123456789abcde');
    expect(short).toMatchObject({ ok: false, problem: { error: 'invalid_request', message: 'API keys must start with dxk_ and have at least 16 more characters' } });
    expect(checkEntry('apiKey', 'abc_0123456789abcdefgh')).toMatchObject({ ok: false });
    expect(checkEntry('apiKey', 'dxk_0123456789 abcdefgh')).toMatchObject({ ok: false });
  });
});

describe('add / remove', () => {
  const now = new Date('2026-03-01T00:00:00.000Z');

  it('de-duplicates and stamps updated_at', () => {
    const a = addEntry(emptyAllowlist(new Date(0)), { type: 'wallet', value: CHECKSUMMED }, now);
    expect(a.wallets).toEqual([CHECKSUMMED]);
    expect(a.updated_at).toBe(now.toISOString());
    expect(addEntry(a, { type: 'wallet', value: CHECKSUMMED })).toBe(a);
  });

  it('removes a wallet given in any case, an API key exactly, and reports misses', () => {
    const a = { ...emptyAllowlist(), wallets: [CHECKSUMMED], apiKeys: ['dxk_0123456789abcdef'] };
    expect(removeEntry(a, LOWER, now)?.wallets).toEqual([]);
    expect(removeEntry(a, CHECKSUMMED.toUpperCase(), now)?.wallets).toEqual([]);
    expect(removeEntry(a, 'dxk_0123456789abcdef', now)?.apiKeys).toEqual([]);
    expect(removeEntry(a, 'DXK_0123456789ABCDEF', now)).toBeNull();
    expect(removeEntry(a, `0x${'1'.repeat(40)}`, now)).toBeNull();
  });
});

describe('parseAllowlist', () => {
  it('normalises wallets, de-duplicates and preserves policy', () => {
    const at = '2026-11-27T10:00:00.000Z';
    const parsed = parseAllowlist(JSON.stringify({ version: 1, wallets: [LOWER, CHECKSUMMED], apiKeys: ['k', 'k'], updated_at: at, policy: { mode: 'strict' } }));
    expect(parsed).toEqual({ ok: true, value: { version: 1, wallets: [CHECKSUMMED], apiKeys: ['k'], updated_at: at, policy: { mode: 'strict' } } });
  });

  it('keeps a file whose updated_at is no date, with the epoch in its place', () => {
    for (const updatedAt of ['yesterday', '', 42]) {
      const parsed = parseAllowlist(JSON.stringify({ version: 1, wallets: [], apiKeys: [], updated_at: updatedAt }));
      expect(parsed).toMatchObject({ ok: true, value: { updated_at: '1970-01-01T00:00:00.000Z' } });
    }
  });

  it.each([
    ['garbage', '{not json'],
    ['an array', '[]'],
    ['a wrong version', JSON.stringify({ version: 2, wallets: [], apiKeys: [] })],
    ['missing lists', JSON.stringify({ version: 1 })],
    ['an invalid wallet', JSON.stringify({ version: 1, wallets: ['0x12'], apiKeys: [] })],
    ['a non-object policy', JSON.stringify({ version: 1, wallets: [], apiKeys: [], policy: [] })],
    ['a truncated file', JSON.stringify({ version: 1, wallets: [CHECKSUMMED], apiKeys: [] }).slice(0, 30)],
  ])('rejects %s as a whole', (_name, text) => {
    expect(parseAllowlist(text).ok).toBe(false);
  });
});
