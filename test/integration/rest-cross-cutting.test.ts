import { createServer, request as httpRequest, type Server } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/logger.js';
import { applyCommonHeaders, applyCors, requestIdOf, sendJson } from '../../src/rest/http.js';
import { createRestRouter } from '../../src/rest/router.js';
import { newWallet } from '../helpers/auth.js';
import { startDixie, TEST_ADMIN_KEY, type TestDixie } from '../helpers/dixie.js';
import { newAccount, SIGN_IN, signSiwe, tempAllowlistPath } from '../helpers/siwe.js';

/** POSTs `head` then 10 KB chunks up to about `totalBytes`, chunked (no Content-Length). */
function postChunked(url: string, headers: Record<string, string>, head: string, totalBytes: number): Promise<{ status: number; contentType: string; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method: 'POST', headers: { ...headers, 'transfer-encoding': 'chunked' } }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, contentType: String(res.headers['content-type']), body }));
    });
    req.on('error', reject);
    const chunk = 'y'.repeat(10_000);
    let sent = head.length;
    req.write(head);
    const pump = () => {
      while (sent < totalBytes) {
        sent += chunk.length;
        if (!req.write(chunk)) return req.once('drain', pump);
      }
      req.end();
    };
    pump();
  });
}

describe('cross-cutting rules on the real Dixie server', () => {
  let d: TestDixie;
  let file: Awaited<ReturnType<typeof tempAllowlistPath>>;
  beforeAll(async () => {
    file = await tempAllowlistPath();
    d = await startDixie({ env: { DIXIE_CORS_ORIGINS: 'https://app.honeyjar.xyz,https://admin.honeyjar.xyz', DIXIE_ALLOWLIST_PATH: file.path } });
  });
  afterAll(async () => {
    await d?.stop();
    await file?.cleanup();
  });

  it('echoes a valid X-Request-Id and generates a UUID otherwise', async () => {
    const echoed = await fetch(`${d.url}/api/health`, { headers: { 'x-request-id': 'abc.DEF_123-x' } });
    expect(echoed.headers.get('x-request-id')).toBe('abc.DEF_123-x');
    for (const bad of ['has space', 'a'.repeat(129), 'semi;colon']) {
      const res = await fetch(`${d.url}/api/health`, { headers: { 'x-request-id': bad } });
      expect(res.headers.get('x-request-id')).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    }
  });

  it("writes a request's log lines as JSON with service, level, time and the request id it echoed", async () => {
    // A sign-in for another domain is refused with a sign_in_rejected line, logged inside the request.
    const { message, signature } = await signSiwe(newAccount(), 'lognonce123', { domain: 'elsewhere.test' });
    const logged = async (headers: Record<string, string>) => {
      const res = await d.gql(SIGN_IN, { m: message, s: signature }, headers);
      const id = res.headers.get('x-request-id');
      return { id, lines: d.logs.filter((l) => l['request_id'] === id) };
    };
    const given = await logged({ 'x-request-id': 'trace-me.42' });
    expect(given.id).toBe('trace-me.42');
    const generated = await logged({});
    expect(generated.id).toMatch(/^[0-9a-f-]{36}$/);
    for (const { id, lines } of [given, generated]) {
      expect(lines).toEqual([
        expect.objectContaining({ event: 'sign_in_rejected', service: 'dixie', level: 'info', time: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/), request_id: id }),
      ]);
    }
  });

  it('sets the protocol version and security headers, and no X-Powered-By', async () => {
    for (const path of ['/api/health', '/api/nope', '/graphql?query=%7B__typename%7D']) {
      const res = await fetch(`${d.url}${path}`, { headers: { 'x-graphql-csrf': '1' } });
      expect(res.headers.get('x-protocol-version')).toBe('8.2.0');
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
      expect(res.headers.get('x-frame-options')).toBe('DENY');
      expect(res.headers.get('referrer-policy')).toBe('strict-origin-when-cross-origin');
      expect(res.headers.get('strict-transport-security')).toBe('max-age=31536000; includeSubDomains');
      expect(res.headers.get('x-powered-by')).toBeNull();
    }
  });

  it('answers unknown routes with 404 JSON', async () => {
    const res = await fetch(`${d.url}/api/does-not-exist`, { method: 'POST', body: 'x' });
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({ error: 'not_found', message: 'Route not found' });
  });

  it('answers what Node hands over raw (an upgrade it does not serve, an unparsable request) with JSON and the usual headers', async () => {
    const port = Number(new URL(d.url).port);
    const raw = (text: string) =>
      new Promise<{ status: number; headers: Record<string, string>; body: string }>((resolve, reject) => {
        // Written, not ended: a half-closed client may lose the answer to a request served asynchronously.
        const socket = connect(port, '127.0.0.1', () => socket.write(text));
        let got = '';
        socket.on('data', (c: Buffer) => (got += c.toString()));
        socket.on('error', reject);
        socket.on('close', () => {
          const [head = '', body = ''] = got.split('\r\n\r\n');
          const [statusLine = '', ...lines] = head.split('\r\n');
          const headers = Object.fromEntries(lines.map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]));
          resolve({ status: Number(statusLine.split(' ')[1]), headers, body });
        });
      });
    const common = { 'content-type': 'application/json; charset=utf-8', 'x-protocol-version': '8.2.0', 'x-content-type-options': 'nosniff', 'x-frame-options': 'DENY' };

    // An h2c probe (curl --http2) is served as the plain request it also is.
    const h2c = await raw('GET /api/health HTTP/1.1\r\nHost: x\r\nConnection: Upgrade, close\r\nUpgrade: h2c\r\nX-Request-Id: up-1\r\n\r\n');
    expect(h2c.status).toBe(200);
    expect(h2c.headers).toMatchObject({ ...common, 'x-request-id': 'up-1' });
    expect(JSON.parse(h2c.body)).toMatchObject({ status: expect.any(String) });
    // A WebSocket upgrade anywhere but /graphql is an unknown route.
    const ws = await raw('GET /api/socket HTTP/1.1\r\nHost: x\r\nConnection: Upgrade, close\r\nUpgrade: websocket\r\nX-Request-Id: up-2\r\n\r\n');
    expect(ws.status).toBe(404);
    expect(ws.headers).toMatchObject({ ...common, 'x-request-id': 'up-2' });
    expect(JSON.parse(ws.body)).toEqual({ error: 'not_found', message: 'Route not found' });

    const garbled = await raw('NOT HTTP AT ALL\r\n\r\n');
    expect(garbled.status).toBe(400);
    expect(garbled.headers).toMatchObject({ ...common, 'x-request-id': expect.any(String) });
    expect(JSON.parse(garbled.body)).toEqual({ error: 'invalid_request', message: 'Malformed HTTP request' });

    const huge = await raw(`GET /api/health HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`);
    expect(huge.status).toBe(431);
    expect(huge.headers).toMatchObject(common);
    expect(JSON.parse(huge.body)).toEqual({ error: 'invalid_request', message: 'Request headers too large' });
  });

  it('allows configured origins, denies others, and answers preflight with 204', async () => {
    const ok = await fetch(`${d.url}/api/health`, { headers: { origin: 'https://app.honeyjar.xyz' } });
    expect(ok.headers.get('access-control-allow-origin')).toBe('https://app.honeyjar.xyz');
    expect(ok.headers.get('access-control-expose-headers')).toContain('X-Request-Id');
    const denied = await fetch(`${d.url}/api/health`, { headers: { origin: 'https://evil.example' } });
    expect(denied.headers.get('access-control-allow-origin')).toBeNull();
    const pre = await fetch(`${d.url}/api/admin/allowlist`, {
      method: 'OPTIONS',
      headers: { origin: 'https://admin.honeyjar.xyz', 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' },
    });
    expect(pre.status).toBe(204);
    expect(pre.headers.get('access-control-allow-origin')).toBe('https://admin.honeyjar.xyz');
    expect(pre.headers.get('access-control-allow-methods')).toBe('GET, POST, PUT, DELETE, OPTIONS');
    expect(pre.headers.get('access-control-allow-headers')).toMatch(/Content-Type, Authorization, X-Request-Id/);
    expect(pre.headers.get('access-control-max-age')).toBe('3600');
  });

  it('rejects an oversized GraphQL body with 413', async () => {
    const res = await fetch(`${d.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: `{ health { status } }`, variables: { pad: 'x'.repeat(110_000) } }),
    });
    expect(res.status).toBe(413);
  });

  it('rejects ~110 KB chunked (no Content-Length) on POST /api/admin/allowlist and POST /graphql with 413, acting on nothing', async () => {
    const admin = { authorization: `Bearer ${TEST_ADMIN_KEY}`, 'content-type': 'application/json' };
    const [restWallet, gqlWallet] = [newWallet(), newWallet()];
    const rest = await postChunked(`${d.url}/api/admin/allowlist`, admin, `{"type":"wallet","value":"${restWallet}","pad":"`, 110_000);
    expect(rest.status).toBe(413);
    expect(rest.contentType).toMatch(/^application\/json/);
    expect(JSON.parse(rest.body)).toEqual({ error: 'payload_too_large', message: 'Body exceeds 102400 bytes' });

    const query = 'mutation($v: String!) { addAllowlistEntry(type: WALLET, value: $v) { version } }';
    const gql = await postChunked(`${d.url}/graphql`, admin, `{"query":${JSON.stringify(query)},"variables":{"v":"${gqlWallet}","pad":"`, 110_000);
    expect(gql.status).toBe(413);
    expect(gql.contentType).toMatch(/^application\/json/);
    // graphql.md: every error a client can act on carries extensions.code.
    expect(JSON.parse(gql.body)).toEqual({ errors: [{ message: 'Body exceeds 102400 bytes', extensions: { code: 'BAD_USER_INPUT' } }] });

    const list = (await (await fetch(`${d.url}/api/admin/allowlist`, { headers: admin })).json()) as { wallets: string[] };
    expect(list.wallets).not.toContain(restWallet);
    expect(list.wallets).not.toContain(gqlWallet);
  });
});

describe('the REST router over a real HTTP server', () => {
  let server: Server;
  let base: string;
  const logger = createLogger('error');
  beforeAll(async () => {
    const router = createRestRouter([
      { method: 'POST', path: '/api/echo/:id', rateLimited: false, handle: ({ res, body, params }) => sendJson(res, 200, { body, params }) },
    ]);
    server = createServer((req, res) => {
      const requestId = requestIdOf(req);
      applyCommonHeaders(res, requestId);
      if (applyCors(req, res, ['*'])) return;
      void router.handle(req, res, { requestId, clientIp: '127.0.0.1', logger, path: (req.url ?? '/').split('?')[0] ?? '/' });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
  });

  it('parses JSON bodies and path params', async () => {
    const res = await fetch(`${base}/api/echo/a%20b`, { method: 'POST', body: JSON.stringify({ x: 1 }) });
    expect(await res.json()).toEqual({ body: { x: 1 }, params: { id: 'a b' } });
  });

  it('answers malformed JSON with 400 JSON, never 500', async () => {
    for (const body of ['{', '{"a":', 'not json', '\u0000']) {
      const res = await fetch(`${base}/api/echo/1`, { method: 'POST', body });
      expect(res.status).toBe(400);
      expect(await res.json()).toEqual({ error: 'invalid_request', message: 'Malformed JSON body' });
    }
  });

  it('rejects an oversized body declared in Content-Length with 413', async () => {
    const res = await fetch(`${base}/api/echo/1`, { method: 'POST', body: 'x'.repeat(102_401) });
    expect(res.status).toBe(413);
    expect(await res.json()).toEqual({ error: 'payload_too_large', message: 'Body exceeds 102400 bytes' });
  });

  it('accepts exactly 102,400 bytes', async () => {
    const res = await fetch(`${base}/api/echo/1`, { method: 'POST', body: JSON.stringify({ s: 'x'.repeat(102_400 - 8) }) });
    expect(res.status).toBe(200);
  });

  it('counts the bytes of a chunked body without Content-Length (413)', async () => {
    const res = await postChunked(`${base}/api/echo/1`, {}, '', 150_000);
    expect(res.status).toBe(413);
    expect(JSON.parse(res.body)).toEqual({ error: 'payload_too_large', message: 'Body exceeds 102400 bytes' });
  });

  it('answers unknown paths and methods with 404 JSON', async () => {
    const res = await fetch(`${base}/api/echo/1`, { method: 'GET' });
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({ error: 'not_found', message: 'Route not found' });
  });
});
