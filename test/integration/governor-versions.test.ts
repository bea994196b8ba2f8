import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDixie, TEST_ADMIN_KEY, waitFor, type TestDixie } from '../helpers/dixie.js';
import { sql } from '../helpers/schedules.js';
import { createTestSchema, REDIS_URL, uniqueTag } from '../helpers/services.js';
import { startFinnSim, type FinnSim } from '../finn-sim/index.js';

/** domain.md: a governor's version increases whenever its data changes — the same on every instance. */
const tag = uniqueTag('gov_versions');
let sim: FinnSim;
let a: TestDixie;
let b: TestDixie;
let schema: Awaited<ReturnType<typeof createTestSchema>>;

beforeAll(async () => {
  schema = await createTestSchema(tag);
  sim = await startFinnSim();
  const env = { DATABASE_URL: schema.url, REDIS_URL };
  a = await startDixie({ sim, env, redisKeyPrefix: `${tag}:` });
  b = await startDixie({ sim, env, redisKeyPrefix: `${tag}:` });
  await waitFor(() => a.server.ds.redis?.isUp() && b.server.ds.redis?.isUp(), { what: 'Redis up' });
});

afterAll(async () => {
  await a?.stop();
  await b?.stop();
  await sim?.close();
  await schema?.drop();
});

async function versionOn(d: TestDixie): Promise<{ version: number; totalItems: number }> {
  const res = await d.gql<{ governance: { governors: Array<{ resourceType: string; health: { version: number; totalItems: number } | null }> } }>(
    '{ governance { governors { resourceType health { version totalItems } } } }', {}, { authorization: `Bearer ${TEST_ADMIN_KEY}` },
  );
  expect(res.body.errors).toBeUndefined();
  return res.body.data!.governance.governors.find((g) => g.resourceType === 'knowledge_governor')!.health!;
}

const vote = (source: string) =>
  sql(schema.url, `INSERT INTO knowledge_priority_votes (source_id, wallet, priority) VALUES ($1, '0x1111111111111111111111111111111111111111', 3)`, [source]);

describe('governor versions across instances (shared Redis)', () => {
  it('moves once per change of the data, whichever instance sees it, and never goes back', async () => {
    await vote('gov.a');
    const first = await versionOn(a);
    expect(await versionOn(b)).toEqual(first);

    // Two changes only B reads: A, reading next, must not answer an older version than B did.
    await vote('gov.b');
    expect(await versionOn(b)).toEqual({ version: first.version + 1, totalItems: first.totalItems + 1 });
    await vote('gov.c');
    const onB = await versionOn(b);
    expect(onB).toEqual({ version: first.version + 2, totalItems: first.totalItems + 2 });
    expect(await versionOn(a)).toEqual(onB);
    expect(await versionOn(b), 'unchanged data keeps its version').toEqual(onB);
  });
});
