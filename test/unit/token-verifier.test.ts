import { afterEach, describe, expect, it, vi } from 'vitest';
import { issueWalletToken } from '../../src/domain/jwt.js';
import { createTokenVerifier } from '../../src/datasources/token-verifier.js';

const SECRET = 'unit-test-secret-0123456789abcdef0123';
const WALLET = '0x6666397DFe9a8c469BF65dc744CB1C733416c420';

describe('token verifier cache', () => {
  afterEach(() => vi.useRealTimers());

  it('answers a verified token again and rejects a tampered one', async () => {
    const v = createTokenVerifier(SECRET);
    const { token } = await issueWalletToken(SECRET, WALLET);
    expect((await v.verify(token))?.wallet).toBe(WALLET);
    expect((await v.verify(token))?.wallet).toBe(WALLET);
    expect(await v.verify(`${token.slice(0, -2)}xx`)).toBeNull();
  });

  it('forgets a cached token once it expires (with the 30 s tolerance)', async () => {
    const v = createTokenVerifier(SECRET);
    const { token } = await issueWalletToken(SECRET, WALLET);
    expect(await v.verify(token)).not.toBeNull();
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(Date.now() + 3600_000 + 31_000);
    expect(await v.verify(token)).toBeNull();
  });

  it('never caches a token signed with another key', async () => {
    const v = createTokenVerifier(SECRET);
    const { token } = await issueWalletToken('another-secret-0123456789abcdef01234', WALLET);
    expect(await v.verify(token)).toBeNull();
    expect(await v.verify(token)).toBeNull();
  });
});
