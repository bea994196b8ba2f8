import { generateKeyPair, SignJWT, type JWTPayload } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newWallet, walletToken, writeAllowlist } from '../helpers/auth.js';
import { startDixie, TEST_ADMIN_KEY, TEST_JWT_KEY, type TestDixie } from '../helpers/dixie.js';
import { openRawWs } from '../helpers/raw-ws.js';
import { codeOf, tempAllowlistPath } from '../helpers/siwe.js';

const key = new TextEncoder().encode(TEST_JWT_KEY);
const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
const now = () => Math.floor(Date.now() / 1000);

describe('wallet JWT verification', () => {
  const wallet = newWallet();
  let d: TestDixie;
  let file: Awaited<ReturnType<typeof tempAllowlistPath>>;

  const claims = (over: JWTPayload = {}): JWTPayload => ({ sub: wallet, iss: 'dixie-bff', aud: 'dixie-bff', iat: now(), exp: now() + 3600, jti: 'j1', ...over });
  const hs = (payload: JWTPayload, alg = 'HS256', secret = key) => new SignJWT(payload).setProtectedHeader({ alg, typ: 'JWT' }).sign(secret);
  const viewerCode = async (token: string) => {
    const res = await d.gql('{ viewer { identity wallet } }', {}, { authorization: `Bearer ${token}` });
    expect(res.status).toBeLessThan(500);
    return codeOf(res.body);
  };

  beforeAll(async () => {
    file = await tempAllowlistPath();
    await writeAllowlist(file.path, [wallet]);
    d = await startDixie({ env: { DIXIE_ALLOWLIST_PATH: file.path, DIXIE_RATE_LIMIT_RPM: '0' }, allowlistPollMs: 100 });
  });
  afterAll(async () => {
    await d?.stop();
    await file?.cleanup();
  });

  it('accepts a valid token (control), also just past exp within the 30 s tolerance', async () => {
    expect(await viewerCode(await walletToken(wallet))).toBe('OK');
    expect(await viewerCode(await hs(claims({ iat: now() - 3610, exp: now() - 10 })))).toBe('OK');
  });

  const cases: Array<[string, () => Promise<string> | string]> = [
    ['alg none', () => `${b64({ alg: 'none', typ: 'JWT' })}.${b64(claims())}.`],
    ['alg none with a signature', () => `${b64({ alg: 'none' })}.${b64(claims())}.c2ln`],
    ['HS512 with the right key', () => hs(claims(), 'HS512')],
    ['HS384 with the right key', () => hs(claims(), 'HS384')],
    ['RS256', async () => {
      const { privateKey } = await generateKeyPair('RS256');
      return new SignJWT(claims()).setProtectedHeader({ alg: 'RS256' }).sign(privateKey);
    }],
    ['the wrong key', () => hs(claims(), 'HS256', new TextEncoder().encode('another-key-0123456789abcdef0123456789'))],
    ['a tampered payload', async () => {
      const [h, , s] = (await hs(claims())).split('.');
      return `${h}.${b64(claims({ sub: newWallet() }))}.${s}`;
    }],
    ['a wrong iss', () => hs(claims({ iss: 'someone-else' }))],
    ['a wrong aud', () => hs(claims({ aud: 'other-app' }))],
    ['expired beyond the tolerance', () => hs(claims({ iat: now() - 7200, exp: now() - 60 }))],
    ['not yet valid (nbf)', () => hs(claims({ nbf: now() + 120 }))],
    ['issued in the future', () => hs(claims({ iat: now() + 600, exp: now() + 4200 }))],
    ['no exp', () => hs({ sub: wallet, iss: 'dixie-bff', aud: 'dixie-bff', iat: now(), jti: 'x' })],
    ['no jti', () => hs({ sub: wallet, iss: 'dixie-bff', aud: 'dixie-bff', iat: now(), exp: now() + 60 })],
    ['a lower-case sub', () => hs(claims({ sub: wallet.toLowerCase() }))],
    ['a sub that is not a wallet', () => hs(claims({ sub: 'admin' }))],
    ['garbage', () => 'garbage'],
    ['three dots of garbage', () => 'a.b.c'],
    ['a non-JSON header', () => `${Buffer.from('{{{').toString('base64url')}.${b64(claims())}.abc`],
    ['a huge token', () => `${'a'.repeat(5000)}.${'b'.repeat(5000)}.c`],
  ];

  it.each(cases)('rejects %s with UNAUTHENTICATED', async (_name, make) => {
    expect(await viewerCode(await make())).toBe('UNAUTHENTICATED');
  });

  it('rejects malformed Authorization headers', async () => {
    for (const header of ['Bearer', 'Basic abc', `Token ${await walletToken(wallet)}`, 'Bearer a b']) {
      const res = await d.gql('{ viewer { identity } }', {}, { authorization: header });
      expect(codeOf(res.body)).toBe('UNAUTHENTICATED');
    }
  });

  it('ignores client-supplied identity headers', async () => {
    const res = await d.gql<{ viewer: null }>('{ viewer { identity } }', {}, { 'x-wallet-address': wallet, 'x-user-id': 'admin' });
    expect(res.body).toEqual({ data: { viewer: null } });
  });

  it('rejects a valid token of a wallet that is not (or no longer) allowlisted, from the next request on', async () => {
    const other = newWallet();
    expect(await viewerCode(await walletToken(other))).toBe('UNAUTHENTICATED');
    const token = await walletToken(wallet);
    expect(await viewerCode(token)).toBe('OK');
    const del = await fetch(`${d.url}/api/admin/allowlist/${wallet.toLowerCase()}`, { method: 'DELETE', headers: { authorization: TEST_ADMIN_KEY } });
    expect(del.status).toBe(200);
    expect(await viewerCode(token)).toBe('UNAUTHENTICATED');
    await writeAllowlist(file.path, [wallet]);
    await d.server.ds.allowlist.refresh();
    expect(await viewerCode(token)).toBe('OK');
  });

  it('refuses the next operation of an open WebSocket whose service key was revoked', async () => {
    const serviceKey = 'dxk_revoked_over_ws_0123456789';
    await writeAllowlist(file.path, [wallet], [serviceKey]);
    await d.server.ds.allowlist.refresh();
    const ws = await openRawWs(d.wsUrl);
    try {
      expect(await ws.init({ authorization: `Bearer ${serviceKey}` })).toBe('ack');
      ws.subscribe('before', '{ viewer { identity } }');
      expect((await ws.waitFor((m) => m.id === 'before' && m.type === 'next')).payload).toEqual({ data: { viewer: { identity: 'SERVICE' } } });
      const del = await fetch(`${d.url}/api/admin/allowlist/${serviceKey}`, { method: 'DELETE', headers: { authorization: TEST_ADMIN_KEY } });
      expect(del.status).toBe(200);
      ws.subscribe('after', '{ viewer { identity } }');
      const refused = await ws.waitFor((m) => m.id === 'after' && (m.type === 'error' || m.type === 'next'));
      expect(refused.type).toBe('error');
      expect(JSON.stringify(refused.payload)).toContain('UNAUTHENTICATED');
    } finally {
      ws.close();
      await writeAllowlist(file.path, [wallet]);
      await d.server.ds.allowlist.refresh();
    }
  });

  it('closes a WebSocket with 4403 when connection_init carries an invalid token', async () => {
    const bad = await openRawWs(d.wsUrl);
    expect(await bad.init({ authorization: `Bearer ${await hs(claims({ iss: 'x' }))}` })).toBe(4403);
    const good = await openRawWs(d.wsUrl);
    expect(await good.init({ Authorization: `Bearer ${await walletToken(wallet)}` })).toBe('ack');
    good.close();
  });
});

describe('wallet JWT expiry during a subscription', () => {
  it('completes the subscription with UNAUTHENTICATED and refuses new ones', async () => {
    const wallet = newWallet();
    const file = await tempAllowlistPath();
    await writeAllowlist(file.path, [wallet]);
    const d = await startDixie({ env: { DIXIE_ALLOWLIST_PATH: file.path, DIXIE_RATE_LIMIT_RPM: '0' } });
    try {
      // Valid for ~2 more seconds: past exp, inside the 30 s clock tolerance.
      const t = now();
      const token = await new SignJWT({ sub: wallet, iss: 'dixie-bff', aud: 'dixie-bff', iat: t - 3600, exp: t - 28, jti: 'short' })
        .setProtectedHeader({ alg: 'HS256' })
        .sign(key);
      const ws = await openRawWs(d.wsUrl);
      expect(await ws.init({ authorization: `Bearer ${token}` })).toBe('ack');
      ws.subscribe('h', 'subscription { healthChanged { status } }');
      const ended = await ws.waitFor((m) => m.id === 'h' && m.type === 'next', 10_000);
      expect((ended.payload as { errors: Array<{ extensions: { code: string } }> }).errors[0]?.extensions.code).toBe('UNAUTHENTICATED');
      await ws.waitFor((m) => m.id === 'h' && m.type === 'complete');
      ws.subscribe('again', '{ __typename }');
      const refused = await ws.waitFor((m) => m.id === 'again');
      expect(refused.type).toBe('error');
      expect((refused.payload as Array<{ extensions: { code: string } }>)[0]?.extensions.code).toBe('UNAUTHENTICATED');
      ws.close();
    } finally {
      await d.stop();
      await file.cleanup();
    }
  });
});
