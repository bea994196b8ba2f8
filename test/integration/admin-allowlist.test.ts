import { spawn } from 'node:child_process';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllowlist } from '../../src/domain/allowlist.js';
import { newWallet, writeAllowlist } from '../helpers/auth.js';
import { startDixie, TEST_ADMIN_KEY, waitFor, type TestDixie } from '../helpers/dixie.js';
import { tempAllowlistPath } from '../helpers/siwe.js';

const API = '/api/admin/allowlist';
const KEY = 'dxk_service_key_0123456789';

describe('/api/admin/allowlist', () => {
  let d: TestDixie;
  let file: Awaited<ReturnType<typeof tempAllowlistPath>>;
  const call = async (method: string, path = API, body?: unknown, auth: string | null = `Bearer ${TEST_ADMIN_KEY}`) => {
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (auth !== null) headers['authorization'] = auth;
    const res = await fetch(`${d.url}${path}`, { method, headers, body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body) });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };
  const onDisk = async () => JSON.parse(await readFile(file.path, 'utf8')) as Record<string, unknown>;

  beforeAll(async () => {
    file = await tempAllowlistPath();
    d = await startDixie({ env: { DIXIE_ALLOWLIST_PATH: file.path, DIXIE_RATE_LIMIT_RPM: '0' } });
  });
  afterAll(async () => {
    await d?.stop();
    await file?.cleanup();
  });

  it('checks the admin key in rest.md order: missing → 401, wrong → 403; bare or Bearer key accepted', async () => {
    for (const method of ['GET', 'POST', 'DELETE']) {
      const path = method === 'DELETE' ? `${API}/x` : API;
      expect(await call(method, path, undefined, null)).toEqual({ status: 401, body: { error: 'unauthorized', message: 'Admin key required' } });
      expect(await call(method, path, undefined, 'Bearer nope')).toEqual({ status: 403, body: { error: 'forbidden', message: 'Invalid admin key' } });
    }
    expect((await call('GET', API, undefined, TEST_ADMIN_KEY)).status).toBe(200);
  });

  it('answers 403 "Admin API not configured" before anything else when no admin key is set', async () => {
    const open = await startDixie({ env: { DIXIE_ALLOWLIST_PATH: file.path, DIXIE_ADMIN_KEY: '' }, sim: d.sim });
    try {
      for (const [method, path] of [['GET', API], ['POST', API], ['DELETE', `${API}/x`]] as const) {
        const res = await fetch(`${open.url}${path}`, { method, headers: { authorization: 'Bearer anything' } });
        expect(res.status).toBe(403);
        expect(await res.json()).toEqual({ error: 'forbidden', message: 'Admin API not configured' });
      }
    } finally {
      await open.stop();
    }
  });

  it('GET returns the allowlist data', async () => {
    const res = await call('GET');
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ version: 1, wallets: expect.any(Array), apiKeys: expect.any(Array), updated_at: expect.any(String) });
  });

  it('POST adds wallets (EIP-55, de-duplicated) and API keys, durably, with 201', async () => {
    const wallet = newWallet();
    const res = await call('POST', API, { type: 'wallet', value: wallet.toLowerCase() });
    expect(res.status).toBe(201);
    expect(res.body['ok']).toBe(true);
    expect((res.body['data'] as { wallets: string[] }).wallets).toContain(wallet);
    await call('POST', API, { type: 'wallet', value: wallet });
    expect(((await onDisk())['wallets'] as string[]).filter((w) => w === wallet)).toHaveLength(1);
    expect((await call('POST', API, { type: 'apiKey', value: KEY })).status).toBe(201);
    expect((await onDisk())['apiKeys']).toContain(KEY);
  });

  it.each([
    [undefined, 'invalid_request', 'type and value required'],
    [{ type: 'wallet' }, 'invalid_request', 'type and value required'],
    [{ value: '0x1' }, 'invalid_request', 'type and value required'],
    [{ type: 'nft', value: 'x' }, 'invalid_request', 'type must be wallet or apiKey'],
    [{ type: 'wallet', value: '0x1234' }, 'invalid_address', 'Invalid Ethereum address'],
    [{ type: 'wallet', value: '0x5AAeb6053F3E94C9b9A09f33669435E7Ef1BeAed' }, 'invalid_address', 'Invalid Ethereum address'],
    [{ type: 'apiKey', value: 'dxk_short' }, 'invalid_request', 'API keys must start with dxk_ and have at least 16 more characters'],
    [{ type: 'apiKey', value: 'key_0123456789abcdefgh' }, 'invalid_request', 'API keys must start with dxk_ and have at least 16 more characters'],
  ])('POST %j → 400 %s', async (body, error, message) => {
    expect(await call('POST', API, body)).toEqual({ status: 400, body: { error, message } });
  });

  it('POST with malformed JSON is the cross-cutting 400', async () => {
    expect(await call('POST', API, '{"type":')).toEqual({ status: 400, body: { error: 'invalid_request', message: 'Malformed JSON body' } });
  });

  it('DELETE removes a wallet given in any case, or an API key; 404 otherwise', async () => {
    const wallet = newWallet();
    await call('POST', API, { type: 'wallet', value: wallet });
    const res = await call('DELETE', `${API}/${wallet.toUpperCase()}`);
    expect(res.status).toBe(200);
    expect(res.body['ok']).toBe(true);
    expect((res.body['data'] as { wallets: string[] }).wallets).not.toContain(wallet);
    expect((await call('DELETE', `${API}/${KEY}`)).status).toBe(200);
    expect(await call('DELETE', `${API}/${wallet}`)).toEqual({ status: 404, body: { error: 'not_found', message: 'Entry not found in allowlist' } });
  });

  it('persists 50 concurrent adds of different wallets, none lost, no temp files left', async () => {
    const wallets = Array.from({ length: 50 }, () => newWallet());
    const results = await Promise.all(wallets.map((value) => call('POST', API, { type: 'wallet', value })));
    expect(results.every((r) => r.status === 201)).toBe(true);
    const stored = (await onDisk())['wallets'] as string[];
    for (const w of wallets) expect(stored).toContain(w);
    expect((await readdir(file.dir)).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('loses no add when two instances share the file and both take concurrent adds', async () => {
    const other = await startDixie({ env: { DIXIE_ALLOWLIST_PATH: file.path, DIXIE_RATE_LIMIT_RPM: '0' } });
    try {
      const wallets = Array.from({ length: 40 }, () => newWallet());
      const post = (base: string, value: string) =>
        fetch(`${base}${API}`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${TEST_ADMIN_KEY}` }, body: JSON.stringify({ type: 'wallet', value }) });
      const results = await Promise.all(wallets.map((value, i) => post(i % 2 ? d.url : other.url, value)));
      expect(results.map((r) => r.status)).toEqual(wallets.map(() => 201));
      const stored = (await onDisk())['wallets'] as string[];
      expect(wallets.filter((w) => !stored.includes(w))).toEqual([]);
    } finally {
      await other.stop();
    }
  });

  it('preserves the optional policy object across writes', async () => {
    const current = await onDisk();
    await writeFile(file.path, JSON.stringify({ ...current, policy: { mode: 'strict', notes: ['a'] } }));
    await d.server.ds.allowlist.refresh();
    await call('POST', API, { type: 'wallet', value: newWallet() });
    expect((await onDisk())['policy']).toEqual({ mode: 'strict', notes: ['a'] });
    expect((await call('GET')).body['policy']).toEqual({ mode: 'strict', notes: ['a'] });
  });

  it('picks up an external edit within 5 s', async () => {
    const wallet = newWallet();
    await writeAllowlist(file.path, [wallet], [KEY]);
    const seen = await waitFor(async () => ((await call('GET')).body['wallets'] as string[]).includes(wallet), { timeoutMs: 5_000, intervalMs: 100 });
    expect(seen).toBe(true);
  });

  it('ignores a corrupt external edit, keeps the last good data and logs an error', async () => {
    const before = (await call('GET')).body;
    await writeFile(file.path, '{"version": 1, "wallets": ["0x12');
    await waitFor(() => d.logs.some((l) => l.event === 'allowlist_invalid' && l.level === 'error'), { timeoutMs: 5_000, what: 'allowlist_invalid log' });
    expect((await call('GET')).body).toEqual(before);
    // A write after the corrupt edit starts from the last good data and repairs the file.
    expect((await call('POST', API, { type: 'apiKey', value: 'dxk_after_corruption_0123' })).status).toBe(201);
    expect(parseAllowlist(await readFile(file.path, 'utf8')).ok).toBe(true);
  });

  it('shares the store with the GraphQL admin fields', async () => {
    const wallet = newWallet();
    const auth = { authorization: `Bearer ${TEST_ADMIN_KEY}` };
    const added = await d.gql('mutation($v: String!) { addAllowlistEntry(type: WALLET, value: $v) { wallets } }', { v: wallet.toLowerCase() }, auth);
    expect(added.body.errors).toBeUndefined();
    expect(((await call('GET')).body['wallets'] as string[])).toContain(wallet);
    const bad = await d.gql('mutation { addAllowlistEntry(type: API_KEY, value: "nope") { wallets } }', {}, auth);
    expect(bad.body.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'value' });
    const removed = await d.gql('mutation($v: String!) { removeAllowlistEntry(value: $v) { wallets } }', { v: wallet }, auth);
    expect(removed.body.errors).toBeUndefined();
    const missing = await d.gql('mutation($v: String!) { removeAllowlistEntry(value: $v) { wallets } }', { v: wallet }, auth);
    expect(missing.body.errors?.[0]?.extensions?.['code']).toBe('NOT_FOUND');
    const listed = await d.gql<{ allowlist: { wallets: string[] } }>('{ allowlist { wallets apiKeys updatedAt policy } }', {}, auth);
    expect(listed.body.data?.allowlist.wallets).not.toContain(wallet);
  });
});

describe('allowlist writes survive kill -9', () => {
  it('leaves the old or the new file, never a torn one', async () => {
    const file = await tempAllowlistPath();
    try {
      // A large policy makes each write big enough for the kill to land mid-write now and then.
      await writeFile(file.path, JSON.stringify({ version: 1, wallets: [], apiKeys: [], updated_at: '', policy: { blob: 'x'.repeat(512 * 1024) } }));
      for (let round = 0; round < 3; round++) {
        const child = spawn(process.execPath, ['--import', 'tsx', 'test/helpers/allowlist-writer.ts', file.path], { stdio: ['ignore', 'pipe', 'inherit'] });
        let written = 0;
        child.stdout.on('data', (b: Buffer) => (written = Number(b.toString().trim().split('\n').at(-1))));
        const target = 5 + round * 7;
        await waitFor(() => written >= target, { timeoutMs: 20_000, intervalMs: 5, what: 'writes' });
        child.kill('SIGKILL');
        await new Promise((r) => child.once('exit', r));
        const parsed = parseAllowlist(await readFile(file.path, 'utf8'));
        expect(parsed.ok).toBe(true);
        if (parsed.ok) {
          expect(parsed.value.wallets.length).toBeGreaterThanOrEqual(written);
          expect(parsed.value.policy).toEqual({ blob: 'x'.repeat(512 * 1024) });
        }
      }
    } finally {
      await file.cleanup();
    }
  });
});
