import { parse, type ExecutionResult, type GraphQLError } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { schema } from '../../src/schema/index.js';
import { newWallet, walletToken, writeAllowlist } from '../helpers/auth.js';
import { startDixie, TEST_ADMIN_KEY, type TestDixie } from '../helpers/dixie.js';
import { sql } from '../helpers/schedules.js';
import { createTestSchema, uniqueTag } from '../helpers/services.js';
import { tempAllowlistPath } from '../helpers/siwe.js';
import { AUTHZ_TABLE, FOREIGN_NFT_TABLE, PERSONAS, WALLET_TIERS, type AuthzRow, type Outcome, type Persona, type PersonaFixtures } from './authz-table.js';

const SERVICE_KEY = 'dxk_authz_matrix_service_0123456789';
const STAKE = { observer: 0, participant: 1, builder: 100, architect: 1_000, sovereign: 10_000 } as const;
const TBA = newWallet();
const AGENT_OWNER = newWallet();
const CONTRACT = '0x6666397dfe9a8c469bf65dc744cb1c733416c420';
type FieldError = { message: string; path?: readonly (string | number)[]; extensions?: Record<string, unknown> };

function rootFields(): string[] {
  return [schema.getQueryType(), schema.getMutationType(), schema.getSubscriptionType()].flatMap((t) =>
    t ? Object.keys(t.getFields()).map((f) => `${t.name}.${f}`) : [],
  );
}

describe('authorization matrix', () => {
  let d: TestDixie;
  let file: Awaited<ReturnType<typeof tempAllowlistPath>>;
  let schema: Awaited<ReturnType<typeof createTestSchema>>;
  const wallets = Object.fromEntries(Object.keys(STAKE).map((p) => [p, newWallet()])) as Record<keyof typeof STAKE, string>;
  const headers = {} as Record<Persona, Record<string, string>>;

  beforeAll(async () => {
    file = await tempAllowlistPath();
    await writeAllowlist(file.path, Object.values(wallets), [SERVICE_KEY]);
    // A database, so allowed cells run their resolvers for real instead of answering FEATURE_DISABLED.
    schema = await createTestSchema(uniqueTag('authz'));
    d = await startDixie({ env: { DIXIE_ALLOWLIST_PATH: file.path, DIXIE_RATE_LIMIT_RPM: '0', DATABASE_URL: schema.url } });
    for (const [p, w] of Object.entries(wallets)) {
      d.sim.control.setStaking(w, STAKE[p as keyof typeof STAKE]);
      d.sim.control.setNfts(w, [{ nftId: `nft-${p}` }]);
    }
    const foreignOwner = newWallet();
    d.sim.control.setNfts(foreignOwner, [{ nftId: 'nft-foreign' }]);
    // A conversation of the foreign NFT, so that a delete or seal that got through would change something.
    await sql(schema.url, "INSERT INTO memory_conversations (nft_id, conversation_id, event_count) VALUES ('nft-foreign', 'conv-1', 1)");
    await sql(schema.url, "INSERT INTO memory_events (nft_id, conversation_id, type, payload, actor_wallet) VALUES ('nft-foreign', 'conv-1', 'message', $1, $2)", [
      { role: 'user', text: 'mine' },
      foreignOwner.toLowerCase(),
    ]);
    d.sim.control.setStaking(AGENT_OWNER, 1_500);
    d.sim.control.setNfts(AGENT_OWNER, [{ nftId: 'nft-agent', contractAddress: CONTRACT, tokenId: '7' }]);
    d.sim.control.setTba(TBA, { nftContract: CONTRACT, tokenId: '7', ownerWallet: AGENT_OWNER, signature: 'agent-sig' });
    headers.anonymous = {};
    headers.service = { authorization: `Bearer ${SERVICE_KEY}` };
    headers.admin = { authorization: `Bearer ${TEST_ADMIN_KEY}` };
    for (const [p, w] of Object.entries(wallets)) headers[p as Persona] = { authorization: `Bearer ${await walletToken(w)}` };
    headers.notAllowlisted = { authorization: `Bearer ${await walletToken(newWallet())}` };
    headers.agent = { 'x-tba-address': TBA, 'x-tba-signature': 'agent-sig', 'x-tba-timestamp': String(Math.floor(Date.now() / 1000)) };
  });
  afterAll(async () => {
    await d?.stop();
    await file?.cleanup();
    await schema?.drop();
  });

  it('has exactly one row per root field of the schema', () => {
    const fields = rootFields();
    expect(fields.filter((f) => !(f in AUTHZ_TABLE)), 'root fields without a row in test/integration/authz-table.ts').toEqual([]);
    expect(Object.keys(AUTHZ_TABLE).filter((k) => !fields.includes(k)), 'rows for fields that no longer exist').toEqual([]);
    expect(Object.keys(FOREIGN_NFT_TABLE).filter((k) => !fields.includes(k)), 'foreign-NFT rows for fields that no longer exist').toEqual([]);
  });

  const fixturesFor = (p: Persona): PersonaFixtures => ({
    ownNftId: p === 'agent' ? 'nft-agent' : p in STAKE ? `nft-${p}` : 'nft-nobody',
    foreignNftId: 'nft-foreign',
    freshWallet: newWallet(),
  });

  /** The field's errors (graphql-js located errors carry the root field as path[0]). */
  async function run(key: string, row: AuthzRow, p: Persona): Promise<{ errors: FieldError[]; unlocated: FieldError[] }> {
    const field = key.split('.')[1]!;
    const variables = row.variables?.(fixturesFor(p)) ?? {};
    let errors: FieldError[];
    if (key.startsWith('Subscription.')) {
      const env = d.server.app.yoga.getEnveloped({
        request: new Request(`${d.url}/graphql`, { method: 'POST', headers: headers[p] }),
        requestId: `authz-${p}`,
        clientIp: '127.0.0.1',
      });
      const result = await env.subscribe({ schema: env.schema, document: parse(row.document), variableValues: variables, contextValue: await env.contextFactory() });
      if (Symbol.asyncIterator in result) {
        await (result as AsyncGenerator).return(undefined);
        errors = [];
      } else {
        errors = ((result as ExecutionResult).errors ?? []).map((e: GraphQLError) => ({ message: e.message, path: e.path, extensions: e.extensions }));
      }
    } else {
      errors = (await d.gql(row.document, variables, headers[p])).body.errors ?? [];
    }
    return { errors: errors.filter((e) => e.path?.[0] === field), unlocated: errors.filter((e) => !e.path) };
  }

  const cases = Object.entries(AUTHZ_TABLE).flatMap(([key, row]) => PERSONAS.map((p) => [key, p, row.expect[p]] as const));

  /** `row` is the field's AUTHZ_TABLE row: a cell it denies for want of a tier must name the tiers. */
  const expectOutcome = (row: AuthzRow, persona: Persona, expected: Outcome, errors: FieldError[]) => {
    const code = errors[0]?.extensions?.['code'];
    if (expected === 'ok') expect(errors, JSON.stringify(errors)).toEqual([]);
    else if (expected === 'allowed') {
      // Past authorization the resolver must answer: data, or a coded error a client can act on.
      for (const e of errors) {
        expect(e.extensions?.['code'], JSON.stringify(errors)).toEqual(expect.any(String));
        expect(['UNAUTHENTICATED', 'FORBIDDEN', 'INTERNAL_SERVER_ERROR'], JSON.stringify(errors)).not.toContain(e.extensions?.['code']);
        expect(e.message, JSON.stringify(errors)).not.toBe('Unexpected error.');
      }
    } else expect(code, JSON.stringify(errors)).toBe(expected);
    if (expected === 'FORBIDDEN' && row.expect[persona] === 'FORBIDDEN' && row.requiredTier && persona in WALLET_TIERS) {
      expect(errors[0]?.extensions).toMatchObject({ requiredTier: row.requiredTier, actualTier: WALLET_TIERS[persona as keyof typeof WALLET_TIERS] });
    }
  };

  it.each(cases)('%s as %s → %s', async (key, persona, expected: Outcome) => {
    const row = AUTHZ_TABLE[key]!;
    const { errors, unlocated } = await run(key, row, persona);
    expect(unlocated, 'document or request errors').toEqual([]);
    expectOutcome(row, persona, expected, errors);
  });

  const foreignCases = Object.entries(FOREIGN_NFT_TABLE).flatMap(([key, row]) => PERSONAS.map((p) => [key, p, row.expect[p]] as const));

  it.each(foreignCases)("%s on someone else's NFT as %s → %s", async (key, persona, expected: Outcome) => {
    const row = FOREIGN_NFT_TABLE[key]!;
    const { errors, unlocated } = await run(key, row, persona);
    expect(unlocated, 'document or request errors').toEqual([]);
    expectOutcome(AUTHZ_TABLE[key]!, persona, expected, errors);
  });

  it("leaves someone else's soul memory as it was", async () => {
    expect(await sql(schema.url, "SELECT sealed_at, deleted_at FROM memory_conversations WHERE nft_id = 'nft-foreign'")).toEqual([{ sealed_at: null, deleted_at: null }]);
    expect(await sql(schema.url, "SELECT type, payload, erased FROM memory_events WHERE nft_id = 'nft-foreign'")).toEqual([
      { type: 'message', payload: { role: 'user', text: 'mine' }, erased: false },
    ]);
    expect(await sql(schema.url, "SELECT * FROM memory_policies WHERE nft_id = 'nft-foreign'")).toEqual([]);
  });
});
