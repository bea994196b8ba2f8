import { serverAudits } from 'graphql-http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDixie, type TestDixie } from '../helpers/dixie.js';

describe('GraphQL over HTTP conformance (graphql-http serverAudits)', () => {
  let d: TestDixie;
  beforeAll(async () => {
    d = await startDixie({ env: { DIXIE_RATE_LIMIT_RPM: '0' } });
  });
  afterAll(async () => d?.stop());

  it('passes every MUST, SHOULD and MAY audit', async () => {
    const audits = serverAudits({
      url: () => `${d.url}/graphql`,
      fetchFn: (input: RequestInfo | URL, init?: RequestInit) => {
        const headers = new Headers(init?.headers);
        headers.set('x-graphql-csrf', '1');
        return fetch(input, { ...init, headers });
      },
    });
    const failures: string[] = [];
    for (const audit of audits) {
      const result = await audit.fn();
      if (result.status !== 'ok') failures.push(`${audit.name}: ${result.reason}`);
    }
    expect(failures).toEqual([]);
    expect(audits.length).toBeGreaterThan(30);
  });
});
