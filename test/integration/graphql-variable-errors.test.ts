import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDixie, type TestDixie } from '../helpers/dixie.js';
import { openRawWs } from '../helpers/raw-ws.js';

type Errors = Array<{ message: string; extensions?: Record<string, unknown> }>;

const QUERY = 'query Personality($id: ID!) { personality(nftId: $id) { name } }';
const SUBSCRIPTION = 'subscription Fired($id: ID!) { scheduleFired(nftId: $id) { id } }';

describe('variables that cannot be coerced (graphql.md §Errors: BAD_USER_INPUT, 400)', () => {
  let d: TestDixie;
  beforeAll(async () => {
    d = await startDixie({ env: { DIXIE_RATE_LIMIT_RPM: '0' } });
  });
  afterAll(async () => d?.stop());

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
    const res = await post(accept, QUERY, variables);
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
    url.searchParams.set('query', QUERY);
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
    ws.subscribe('q', QUERY, {});
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
