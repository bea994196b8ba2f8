import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDixie, type TestDixie } from '../helpers/dixie.js';
import { openRawWs } from '../helpers/raw-ws.js';

type Errors = Array<{ message: string; extensions?: Record<string, unknown> }>;

const PERSONALITY = 'query Personality($id: ID!) { personality(nftId: $id) { name } }';
const SUBSCRIPTION = 'subscription Fired($id: ID!) { scheduleFired(nftId: $id) { id } }';
const TYPENAME = '{ __typename }';

describe('GraphQL transport rules (graphql.md §Transport, §Errors)', () => {
  let d: TestDixie;
  beforeAll(async () => {
    d = await startDixie({ env: { DIXIE_RATE_LIMIT_RPM: '0' } });
  });
  afterAll(async () => d?.stop());

  describe('variables that cannot be coerced: BAD_USER_INPUT, 400', () => {
    const post = async (accept: string, query: string, variables: Record<string, unknown>) => {
      const res = await fetch(`${d.url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept },
        body: JSON.stringify({ query, variables }),
      });
      return { status: res.status, body: (await res.json()) as { data?: unknown; errors?: Errors } };
    };

    it.each([
      ['application/graphql-response+json', 'missing', {}],
      ['application/json', 'missing', {}],
      ['application/graphql-response+json', 'null for a non-null type', { id: null }],
      ['application/json', 'wrongly typed', { id: { not: 'an id' } }],
    ])('answers %s with 400 and BAD_USER_INPUT naming the variable (%s)', async (accept, _case, variables) => {
      const res = await post(accept, PERSONALITY, variables);
      expect(res.status).toBe(400);
      expect(res.body.data).toBeUndefined();
      expect(res.body.errors).toHaveLength(1);
      expect(res.body.errors?.[0]?.extensions).toEqual({ code: 'BAD_USER_INPUT', field: '$id' });
      expect(res.body.errors?.[0]?.message).toMatch(/\$id/);
    });

    it('codes every invalid variable of one request', async () => {
      const res = await post(
        'application/graphql-response+json',
        'query Two($id: ID!, $other: ID!) { a: personality(nftId: $id) { name } b: personality(nftId: $other) { name } }',
        { other: ['x'] },
      );
      expect(res.status).toBe(400);
      expect(res.body.errors?.map((e) => e.extensions)).toEqual([
        { code: 'BAD_USER_INPUT', field: '$id' },
        { code: 'BAD_USER_INPUT', field: '$other' },
      ]);
    });

    it('applies to GET requests too', async () => {
      const url = new URL(`${d.url}/graphql`);
      url.searchParams.set('query', PERSONALITY);
      url.searchParams.set('variables', '{}');
      const res = await fetch(url, { headers: { accept: 'application/graphql-response+json', 'x-graphql-csrf': '1' } });
      expect(res.status).toBe(400);
      expect(((await res.json()) as { errors: Errors }).errors[0]?.extensions).toEqual({ code: 'BAD_USER_INPUT', field: '$id' });
    });

    it('leaves validation errors as they were (graphql-http audits)', async () => {
      const res = await post('application/json', 'query CoerceFailure($id: ID!) { __typename }', { id: null });
      expect(res.status).toBe(200);
      expect(res.body.errors?.[0]?.extensions?.['code']).toBe('GRAPHQL_VALIDATION_FAILED');
    });

    it('codes them over graphql-ws, for queries and subscriptions', async () => {
      const ws = await openRawWs(d.wsUrl);
      expect(await ws.init()).toBe('ack');
      ws.subscribe('q', PERSONALITY, {});
      ws.subscribe('s', SUBSCRIPTION, { id: 7.5 });
      for (const id of ['q', 's']) {
        const msg = await ws.waitFor((m) => m.id === id && m.type === 'next');
        expect((msg.payload as { errors: Errors }).errors.map((e) => e.extensions)).toEqual([{ code: 'BAD_USER_INPUT', field: '$id' }]);
        await ws.waitFor((m) => m.id === id && m.type === 'complete');
      }
      ws.close();
    });

    it('codes them over SSE', async () => {
      const res = await fetch(`${d.url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
        body: JSON.stringify({ query: SUBSCRIPTION, variables: {} }),
      });
      const text = await res.text();
      const data = text.split('\n').find((l) => l.startsWith('data: {'));
      expect(data, text).toBeDefined();
      const payload = JSON.parse(data!.slice('data: '.length)) as { errors: Errors };
      expect(payload.errors.map((e) => e.extensions)).toEqual([{ code: 'BAD_USER_INPUT', field: '$id' }]);
    });
  });

  describe('CSRF: operations that are not JSON POSTs need x-graphql-csrf', () => {
    type Req = { method: 'GET' | 'POST'; contentType?: string; body?: string };
    const send = async (req: Req, csrf?: string) => {
      const url = new URL(`${d.url}/graphql`);
      if (req.method === 'GET') url.searchParams.set('query', TYPENAME);
      const headers: Record<string, string> = { accept: 'application/graphql-response+json' };
      if (req.contentType) headers['content-type'] = req.contentType;
      if (csrf !== undefined) headers['x-graphql-csrf'] = csrf;
      const res = await fetch(url, { method: req.method, headers, body: req.body });
      const text = await res.text();
      return { status: res.status, contentType: res.headers.get('content-type'), body: (text ? JSON.parse(text) : null) as unknown };
    };
    const json = JSON.stringify({ query: TYPENAME });
    const expectRefused = async (req: Req) => {
      for (const csrf of [undefined, '', ' ']) {
        const denied = await send(req, csrf);
        expect(denied.status, `x-graphql-csrf: ${JSON.stringify(csrf)}`).toBe(403);
        expect(denied.contentType).toContain('application/graphql-response+json');
        expect(denied.body).toEqual({
          errors: [{ message: 'Required CSRF header x-graphql-csrf not present', extensions: { code: 'FORBIDDEN', reason: 'CSRF_HEADER_REQUIRED' } }],
        });
      }
    };

    it.each<[string, Req]>([
      ['a JSON POST', { method: 'POST', contentType: 'application/json', body: json }],
      ['a JSON POST with a charset', { method: 'POST', contentType: 'application/json; charset=utf-8', body: json }],
    ])('runs %s without the header', async (_name, req) => {
      expect(await send(req)).toMatchObject({ status: 200, body: { data: { __typename: 'Query' } } });
    });

    it.each<[string, Req]>([
      ['a GET without a content type', { method: 'GET' }],
      ['a GET claiming application/json', { method: 'GET', contentType: 'application/json' }],
      ['a POST of application/graphql', { method: 'POST', contentType: 'application/graphql', body: TYPENAME }],
      ['a form POST', { method: 'POST', contentType: 'application/x-www-form-urlencoded', body: `query=${encodeURIComponent(TYPENAME)}` }],
    ])('refuses %s without a non-empty header (403 FORBIDDEN) and runs it with one', async (_name, req) => {
      await expectRefused(req);
      expect(await send(req, '1')).toMatchObject({ status: 200, body: { data: { __typename: 'Query' } } });
    });

    it('refuses a text/plain POST without the header before finding it has no parser', async () => {
      const req: Req = { method: 'POST', contentType: 'text/plain', body: json };
      await expectRefused(req);
      expect((await send(req, '1')).status).toBe(415);
    });

    it('still serves the GraphiQL page to a plain browser GET outside production', async () => {
      const res = await fetch(`${d.url}/graphql`, { headers: { accept: 'text/html,application/xhtml+xml,*/*;q=0.8' } });
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toContain('text/html');
      expect(await res.text()).toContain('<title>Dixie</title>');
    });

    it('does not apply to graphql-ws', async () => {
      const ws = await openRawWs(d.wsUrl);
      expect(await ws.init()).toBe('ack');
      ws.subscribe('q', TYPENAME);
      expect((await ws.waitFor((m) => m.id === 'q' && m.type === 'next')).payload).toEqual({ data: { __typename: 'Query' } });
      ws.close();
    });
  });
});
