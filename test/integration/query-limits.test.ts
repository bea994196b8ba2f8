import { readFileSync } from 'node:fs';
import { getIntrospectionQuery } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDixie, type TestDixie } from '../helpers/dixie.js';
import { openRawWs } from '../helpers/raw-ws.js';
import { codeOf } from '../helpers/siwe.js';

/**
 * Mistakes graphql-js answers with a suggestion: a field, an enum literal (validation), and an enum
 * value and an input field given as variables (coerced when the operation starts). `typo` is the
 * misspelt name, which the error names.
 */
const TYPOS: Array<{ typo: string; query: string; variables?: Record<string, unknown> }> = [
  { typo: 'helth', query: '{ helth { status } }' },
  { typo: 'WALET', query: 'mutation { addAllowlistEntry(type: WALET, value: "x") { __typename } }' },
  { typo: 'WALET', query: 'mutation($t: AllowlistEntryType!) { addAllowlistEntry(type: $t, value: "x") { __typename } }', variables: { t: 'WALET' } },
  {
    typo: 'nftid',
    query: 'mutation($i: CreateScheduleInput!) { createSchedule(input: $i) { __typename } }',
    variables: { i: { nftid: '1', expression: 'every morning', prompt: 'hi' } },
  },
];

/** `__type` nesting counts towards the depth: n fields deep (`{ a }` is depth 1). */
function typeDepth(n: number): string {
  let inner = 'name';
  for (let i = 0; i < n - 4; i++) inner = `ofType { ${inner} }`;
  return `{ __type(name: "Query") { fields { type { ${inner} } } } }`;
}

describe('GraphQL limits (graphql.md)', () => {
  let d: TestDixie;
  beforeAll(async () => {
    d = await startDixie({ env: { DIXIE_RATE_LIMIT_RPM: '0' } });
  });
  afterAll(async () => d?.stop());

  const expectTooComplex = async (query: string) => {
    const res = await d.gql(query);
    expect(codeOf(res.body)).toBe('QUERY_TOO_COMPLEX');
    expect(res.status).toBe(400);
    expect(res.body.data ?? null).toBeNull();
  };
  const expectAccepted = async (query: string) => {
    const res = await d.gql(query);
    expect(res.body.errors, JSON.stringify(res.body.errors)).toBeUndefined();
    expect(res.status).toBe(200);
  };

  it('accepts depth 10 and rejects depth 11', async () => {
    await expectAccepted(typeDepth(10));
    await expectTooComplex(typeDepth(11));
    await expectTooComplex(typeDepth(40));
  });

  it('does not count the standard __schema introspection query (GraphiQL works)', async () => {
    await expectAccepted(getIntrospectionQuery());
  });

  it('accepts 15 aliases and rejects 16, __typename ones included', async () => {
    const aliases = (n: number) => `{ ${Array.from({ length: n }, (_, i) => `a${i}: health { status }`).join(' ')} }`;
    await expectAccepted(aliases(15));
    await expectTooComplex(aliases(16));
    const typenames = (n: number) => `{ ${Array.from({ length: n }, (_, i) => `t${i}: __typename`).join(' ')} }`;
    await expectAccepted(typenames(15));
    await expectTooComplex(typenames(16));
  });

  it('rejects a nested alias bomb just under the 15,000-character limit, by its alias count', async () => {
    // Each group aliases four nested fields under long names: few tokens, many characters.
    const name = (kind: string, i: number) => `${kind}${i}_${'x'.repeat(30)}`;
    const group = (i: number) => `${name('h', i)}: health { ${name('s', i)}: services { ${name('f', i)}: loaFinn { ${name('c', i)}: circuitState } } }`;
    let groups = 0;
    while (`{ ${Array.from({ length: groups + 1 }, (_, i) => group(i)).join(' ')} }`.length < 15_000) groups++;
    const bomb = `{ ${Array.from({ length: groups }, (_, i) => group(i)).join(' ')} }`;
    expect(bomb.length).toBeGreaterThan(14_800);
    expect(bomb.length).toBeLessThanOrEqual(15_000);
    const res = await d.gql(bomb);
    expect(res.status).toBe(400);
    expect(res.body.data ?? null).toBeNull();
    expect(res.body.errors).toEqual([
      expect.objectContaining({ message: `Aliases limit of 15 exceeded, found ${groups * 4}.`, extensions: expect.objectContaining({ code: 'QUERY_TOO_COMPLEX' }) }),
    ]);
  });

  it('rejects more than 2000 tokens', async () => {
    await expectTooComplex(`{ health { ${'status '.repeat(2000)} } }`);
  });

  it('rejects more than 50 directives', async () => {
    // Inline fragments carry the directives: no alias, so only the directive limit applies.
    const directives = (n: number) => `{ ${Array.from({ length: n }, () => `... @include(if: true) { __typename }`).join(' ')} }`;
    await expectAccepted(directives(50));
    await expectTooComplex(directives(51));
  });

  it('rejects a document over 15,000 characters', async () => {
    await expectTooComplex(`# ${'x'.repeat(15_000)}\n{ __typename }`);
  });

  it('answers a token bomb over WebSocket with an error instead of closing the socket', async () => {
    const ws = await openRawWs(d.wsUrl);
    expect(await ws.init()).toBe('ack');
    ws.subscribe('bomb', `{ health { ${'status '.repeat(2500)} } }`);
    const msg = await ws.waitFor((m) => m.id === 'bomb');
    expect(msg.type).toBe('error');
    expect((msg.payload as Array<{ extensions: { code: string } }>)[0]?.extensions.code).toBe('QUERY_TOO_COMPLEX');
    ws.subscribe('fine', '{ __typename }');
    expect((await ws.waitFor((m) => m.id === 'fine')).type).toBe('next');
    ws.close();
  });

  it('suggests fields, enum values and input fields outside production', async () => {
    for (const { query, variables } of TYPOS) {
      const res = await d.gql(query, variables);
      expect(res.body.errors?.map((e) => e.message).join('\n'), query).toMatch(/Did you mean/);
    }
  });
});

describe('production hardening', () => {
  let d: TestDixie;
  beforeAll(async () => {
    d = await startDixie({ env: { NODE_ENV: 'production', DIXIE_RATE_LIMIT_RPM: '0' } });
  });
  afterAll(async () => d?.stop());

  it('hides field suggestions and disables introspection', async () => {
    const typo = await d.gql('{ helth { status } }');
    expect(typo.body.errors?.length).toBeGreaterThan(0);
    expect(JSON.stringify(typo.body)).not.toMatch(/Did you mean|health/);
    const intro = await d.gql('{ __schema { types { name } } }');
    expect(intro.body.errors?.length).toBeGreaterThan(0);
    expect(intro.body.data ?? null).toBeNull();
  });

  it('hides suggestions for enum values and for variables, over HTTP and graphql-ws', async () => {
    const expectNoHint = (errors: Array<{ message: string }> | undefined, { typo, query }: (typeof TYPOS)[number]) => {
      const messages = (errors ?? []).map((e) => e.message).join('\n');
      expect(messages, query).toContain(`"${typo}"`);
      expect(messages, query).not.toMatch(/Did you mean|WALLET|health/);
    };
    const ws = await openRawWs(d.wsUrl);
    try {
      expect(await ws.init()).toBe('ack');
      for (const [i, typo] of TYPOS.entries()) {
        expectNoHint((await d.gql(typo.query, typo.variables)).body.errors, typo);
        ws.subscribe(`typo${i}`, typo.query, typo.variables);
        const answer = await ws.waitFor((m) => m.id === `typo${i}` && (m.type === 'error' || m.type === 'next'));
        const payload = answer.payload as Array<{ message: string }> | { errors?: Array<{ message: string }> };
        expectNoHint(Array.isArray(payload) ? payload : payload.errors, typo);
      }
    } finally {
      ws.close();
    }
  });

  it('disables introspection over graphql-ws too', async () => {
    const ws = await openRawWs(d.wsUrl);
    try {
      expect(await ws.init()).toBe('ack');
      ws.subscribe('intro', '{ __schema { queryType { name } } }');
      const answer = await ws.waitFor((m) => m.id === 'intro' && (m.type === 'error' || m.type === 'next'));
      expect(JSON.stringify(answer.payload)).toMatch(/introspection/i);
      expect(JSON.stringify(answer.payload)).not.toContain('"queryType":{"name"');
    } finally {
      ws.close();
    }
  });

  it('serves no GraphiQL page to a browser', async () => {
    for (const headers of [{ accept: 'text/html' }, { accept: 'text/html', 'x-graphql-csrf': '1' }] as Record<string, string>[]) {
      const res = await fetch(`${d.url}/graphql`, { headers });
      expect(res.status).toBeGreaterThanOrEqual(400);
      expect(res.headers.get('content-type') ?? '').not.toContain('text/html');
      expect(await res.text()).not.toContain('<title>Dixie</title>');
    }
  });
});

describe('trusted documents', () => {
  const healthOp = readFileSync('test/operations/health.graphql', 'utf8');

  it('enforce: runs documents from the manifest (whatever their formatting) and rejects others', async () => {
    const d = await startDixie({ env: { DIXIE_TRUSTED_DOCUMENTS: 'enforce', DIXIE_RATE_LIMIT_RPM: '0' } });
    try {
      const ok = await d.gql(healthOp);
      expect(ok.body.errors).toBeUndefined();
      const reformatted = await d.gql(healthOp.replace(/\s+/g, ' ').replace('status', 'status,'));
      expect(reformatted.body.errors).toBeUndefined();
      const unknown = await d.gql('{ health { status } }');
      expect(codeOf(unknown.body)).toBe('UNTRUSTED_DOCUMENT');
      expect(unknown.status).toBe(400);
      // Refused before execution, yet counted: enforce mode must not hide its rejections from /metrics.
      const counted = (await d.server.ds.metrics.registry.getSingleMetric('dixie_graphql_operations_total')?.get())?.values ?? [];
      expect(counted.find((v) => v.labels['outcome'] === 'error')).toMatchObject({ labels: { operation: 'anonymous', type: 'query' }, value: 1 });
    } finally {
      await d.stop();
    }
  });

  it('log: runs unknown documents and logs them', async () => {
    const d = await startDixie({ env: { DIXIE_TRUSTED_DOCUMENTS: 'log', DIXIE_RATE_LIMIT_RPM: '0' } });
    try {
      expect((await d.gql(healthOp)).body.errors).toBeUndefined();
      expect(d.logs.some((l) => l.event === 'untrusted_document')).toBe(false);
      expect((await d.gql('{ __typename }')).body.errors).toBeUndefined();
      expect(d.logs.some((l) => l.event === 'untrusted_document' && typeof l['hash'] === 'string')).toBe(true);
    } finally {
      await d.stop();
    }
  });
});
