import { createClient } from 'graphql-ws';
import { decodeJwt } from 'jose';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeAllowlist } from '../helpers/auth.js';
import { startDixie, waitFor, type TestDixie } from '../helpers/dixie.js';
import { REDIS_URL, uniqueTag } from '../helpers/services.js';
import { codeOf, fetchNonce, newAccount, SIGN_IN, SIWE_DOMAIN, signSiwe, tempAllowlistPath } from '../helpers/siwe.js';

describe('Sign-In with Ethereum', () => {
  const allowed = newAccount();
  const stranger = newAccount();
  let d: TestDixie;
  let file: Awaited<ReturnType<typeof tempAllowlistPath>>;
  const env = () => ({ DIXIE_ALLOWLIST_PATH: file.path, DIXIE_SIWE_DOMAIN: SIWE_DOMAIN, DIXIE_RATE_LIMIT_RPM: '0' });

  beforeAll(async () => {
    file = await tempAllowlistPath();
    await writeAllowlist(file.path, [allowed.address]);
    d = await startDixie({ env: env() });
  });
  afterAll(async () => {
    await d?.stop();
    await file?.cleanup();
  });

  const signIn = async (message: string, signature: string) => (await d.gql(SIGN_IN, { m: message, s: signature })).body;

  it('issues a nonce naming the domain and accepted chains', async () => {
    const res = await d.gql<{ createSiweNonce: { nonce: string; expiresAt: string; domain: string; chainIds: number[] } }>(
      'mutation { createSiweNonce { nonce expiresAt domain chainIds } }',
    );
    const n = res.body.data!.createSiweNonce;
    expect(n.nonce).toMatch(/^[A-Za-z0-9]{8,}$/);
    expect(n.domain).toBe(SIWE_DOMAIN);
    expect(n.chainIds).toEqual([1, 80094]);
    expect(Date.parse(n.expiresAt) - Date.now()).toBeGreaterThan(4 * 60_000);
  });

  it('signs in an allowlisted wallet and returns a usable JWT with the domain.md claims', async () => {
    const { message, signature } = await signSiwe(allowed, await fetchNonce(d));
    const body = (await d.gql<{ signIn: { token: string; wallet: string; expiresAt: string } }>(SIGN_IN, { m: message, s: signature })).body;
    expect(body.errors).toBeUndefined();
    const { token, wallet, expiresAt } = body.data!.signIn;
    expect(wallet).toBe(allowed.address);
    const claims = decodeJwt(token);
    expect(claims).toMatchObject({ sub: allowed.address, iss: 'dixie-bff', aud: 'dixie-bff' });
    expect(claims.exp! - claims.iat!).toBe(3600);
    expect(typeof claims.jti).toBe('string');
    expect(Date.parse(expiresAt)).toBe(claims.exp! * 1000);
    const viewer = await d.gql<{ viewer: { identity: string; wallet: string } }>('{ viewer { identity wallet } }', {}, { authorization: `Bearer ${token}` });
    expect(viewer.body.data?.viewer).toEqual({ identity: 'WALLET', wallet: allowed.address });
  });

  it('rejects a replayed nonce', async () => {
    const { message, signature } = await signSiwe(allowed, await fetchNonce(d));
    expect(codeOf(await signIn(message, signature))).toBe('OK');
    expect(codeOf(await signIn(message, signature))).toBe('UNAUTHENTICATED');
  });

  it('rejects a nonce Dixie never issued', async () => {
    const { message, signature } = await signSiwe(allowed, 'abcdefgh12345678');
    expect(codeOf(await signIn(message, signature))).toBe('UNAUTHENTICATED');
  });

  it('rejects a wrong domain', async () => {
    const { message, signature } = await signSiwe(allowed, await fetchNonce(d), { domain: 'evil.example' });
    expect(codeOf(await signIn(message, signature))).toBe('UNAUTHENTICATED');
  });

  it('rejects a chain id that is not accepted', async () => {
    const { message, signature } = await signSiwe(allowed, await fetchNonce(d), { chainId: 5 });
    expect(codeOf(await signIn(message, signature))).toBe('UNAUTHENTICATED');
  });

  it('rejects an expired or not-yet-valid message', async () => {
    const expired = await signSiwe(allowed, await fetchNonce(d), { expirationTime: new Date(Date.now() - 1000) });
    expect(codeOf(await signIn(expired.message, expired.signature))).toBe('UNAUTHENTICATED');
    const future = await signSiwe(allowed, await fetchNonce(d), { notBefore: new Date(Date.now() + 60_000) });
    expect(codeOf(await signIn(future.message, future.signature))).toBe('UNAUTHENTICATED');
  });

  it('rejects a bad signature: another signer, a flipped byte, garbage', async () => {
    const nonce = await fetchNonce(d);
    const forged = await signSiwe(stranger, nonce, { address: allowed.address });
    expect(codeOf(await signIn(forged.message, forged.signature))).toBe('UNAUTHENTICATED');
    const genuine = await signSiwe(allowed, nonce);
    const flipped = genuine.signature.slice(0, 10) + (genuine.signature[10] === 'a' ? 'b' : 'a') + genuine.signature.slice(11);
    expect(codeOf(await signIn(genuine.message, flipped))).toBe('UNAUTHENTICATED');
    expect(codeOf(await signIn(genuine.message, 'not-a-signature'))).toBe('UNAUTHENTICATED');
    // The failed attempts did not burn the nonce: the genuine signature still works once.
    expect(codeOf(await signIn(genuine.message, genuine.signature))).toBe('OK');
  });

  it('rejects a wallet that is not on the allowlist', async () => {
    const { message, signature } = await signSiwe(stranger, await fetchNonce(d));
    expect(codeOf(await signIn(message, signature))).toBe('FORBIDDEN');
  });

  it('logs a rejection over graphql-ws with the request id of that operation', async () => {
    const { message, signature } = await signSiwe(allowed, 'wsnonce123', { domain: 'elsewhere.test' });
    const client = createClient({ url: d.wsUrl, webSocketImpl: WebSocket, retryAttempts: 0 });
    const before = d.logs.length;
    try {
      for (let i = 0; i < 2; i++) {
        const result = await client.iterate({ query: SIGN_IN, variables: { m: message, s: signature } }).next();
        expect(codeOf(result.value as { errors?: Array<{ extensions?: Record<string, unknown> }> })).toBe('UNAUTHENTICATED');
      }
    } finally {
      await client.dispose();
    }
    const rejected = d.logs.slice(before).filter((l) => l.event === 'sign_in_rejected' && l['reason'] === 'domain');
    expect(rejected).toHaveLength(2);
    expect(rejected.map((l) => l['request_id'])).toEqual([expect.any(String), expect.any(String)]);
    expect(rejected[0]!['request_id']).not.toBe(rejected[1]!['request_id']);
  });

  it('rejects a message that is not EIP-4361 as bad input', async () => {
    expect(codeOf(await signIn('hello', '0x00'))).toBe('BAD_USER_INPUT');
  });

  it('rejects a signed message whose Issued At or Expiration Time is no date, though signature and nonce are good', async () => {
    for (const [from, to] of [[/Issued At: .*/, 'Issued At: garbage'], [/Issued At: (.*)/, 'Issued At: $1\nExpiration Time: never']] as const) {
      const genuine = await signSiwe(allowed, await fetchNonce(d));
      const message = genuine.message.replace(from, to);
      expect(message).not.toBe(genuine.message);
      expect(codeOf(await signIn(message, await allowed.signMessage({ message })))).toBe('BAD_USER_INPUT');
    }
  });

  it('rejects an expired nonce', async () => {
    const short = await startDixie({ env: env(), siweNonceTtlMs: 200 });
    try {
      const { message, signature } = await signSiwe(allowed, await fetchNonce(short));
      await new Promise((r) => setTimeout(r, 400));
      expect(codeOf((await short.gql(SIGN_IN, { m: message, s: signature })).body)).toBe('UNAUTHENTICATED');
    } finally {
      await short.stop();
    }
  });

  it('shares nonces across instances through Redis, still single use', async () => {
    const prefix = `${uniqueTag('siwe')}:`;
    const a = await startDixie({ env: { ...env(), REDIS_URL }, redisKeyPrefix: prefix });
    const b = await startDixie({ env: { ...env(), REDIS_URL }, redisKeyPrefix: prefix, sim: a.sim });
    try {
      await waitFor(() => a.server.ds.redis?.isUp() && b.server.ds.redis?.isUp(), { what: 'Redis' });
      const { message, signature } = await signSiwe(allowed, await fetchNonce(a));
      expect(codeOf((await b.gql(SIGN_IN, { m: message, s: signature })).body)).toBe('OK');
      expect(codeOf((await a.gql(SIGN_IN, { m: message, s: signature })).body)).toBe('UNAUTHENTICATED');
    } finally {
      await b.stop();
      await a.stop();
    }
  });
});
