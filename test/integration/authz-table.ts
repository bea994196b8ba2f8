/**
 * THE authorization matrix: one row per root field, keyed `Query.x` / `Mutation.x` / `Subscription.x`.
 * authz-matrix.test.ts runs every row for every persona and fails when a root field of the schema
 * has no row (or a row names a field that no longer exists).
 *
 * Adding a field: add a row with a `document` that selects only that field (use `{ __typename }`
 * for object results), `variables` built from the persona's fixtures, and `expect` from a preset:
 *   publicField('ok')                       everyone passes
 *   only(['admin'])                         listed personas pass; anonymous → UNAUTHENTICATED, others FORBIDDEN
 *   only(WALLETS_AND_AGENT, 'allowed')      'allowed' = past authorization: data or a coded error, never an internal one
 *   tierAtLeast('BUILDER')                  wallets at or above the tier and the agent (its owner is ARCHITECT)
 * and override single cells with `{ ...preset, agent: 'FORBIDDEN' }`. A field taking an NFT id that only
 * its owner may use also goes in FOREIGN_DENIALS (below), which runs its row on someone else's NFT.
 */
import type { Tier } from '../../src/domain/tiers.js';
import { meetsTier } from '../../src/domain/tiers.js';

export const PERSONAS = ['anonymous', 'service', 'admin', 'observer', 'participant', 'builder', 'architect', 'sovereign', 'notAllowlisted', 'agent'] as const;
export type Persona = (typeof PERSONAS)[number];

/** Wallet personas and the tier their stake gives them. */
export const WALLET_TIERS = { observer: 'OBSERVER', participant: 'PARTICIPANT', builder: 'BUILDER', architect: 'ARCHITECT', sovereign: 'SOVEREIGN' } as const satisfies Partial<Record<Persona, Tier>>;
export const WALLETS = Object.keys(WALLET_TIERS) as Persona[];
export const WALLETS_AND_AGENT: Persona[] = [...WALLETS, 'agent'];
/** The agent persona acts for an owner wallet staking enough for ARCHITECT. */
export const AGENT_OWNER_TIER: Tier = 'ARCHITECT';

/**
 * 'ok': no error on the field. 'allowed': authorization passed and the resolver answered with data or
 * an expected coded error (never UNAUTHENTICATED, FORBIDDEN or an internal error). Else the exact code.
 */
export type Outcome = 'ok' | 'allowed' | 'UNAUTHENTICATED' | 'FORBIDDEN' | 'NOT_FOUND';

export interface PersonaFixtures {
  /** An NFT the persona's acting wallet owns (Finn B3), or one nobody the persona acts for owns. */
  ownNftId: string;
  /** An NFT owned by a wallet that is not this persona. */
  foreignNftId: string;
  /** A fresh EIP-55 address (for mutations that need a new value). */
  freshWallet: string;
}

export interface AuthzRow {
  document: string;
  variables?: (f: PersonaFixtures) => Record<string, unknown>;
  expect: Record<Persona, Outcome>;
  /** Set for tier-gated rows: a wallet persona's FORBIDDEN must name this requiredTier and its actualTier. */
  requiredTier?: Tier;
}

type Matrix = Record<Persona, Outcome>;

export function publicField(outcome: 'ok' | 'allowed' = 'ok'): Matrix {
  return Object.fromEntries(PERSONAS.map((p) => [p, outcome])) as Matrix;
}

export function only(allowed: readonly Persona[], outcome: 'ok' | 'allowed' = 'ok'): Matrix {
  return Object.fromEntries(
    PERSONAS.map((p) => [p, allowed.includes(p) ? outcome : p === 'anonymous' || p === 'notAllowlisted' ? 'UNAUTHENTICATED' : 'FORBIDDEN']),
  ) as Matrix;
}

export function tierAtLeast(tier: Tier, outcome: 'ok' | 'allowed' = 'allowed', withAgent = true): Matrix {
  const wallets = WALLETS.filter((p) => meetsTier(WALLET_TIERS[p as keyof typeof WALLET_TIERS], tier));
  return only(withAgent && meetsTier(AGENT_OWNER_TIER, tier) ? [...wallets, 'agent'] : wallets, outcome);
}

const own = (f: PersonaFixtures) => ({ nftId: f.ownNftId });

export const AUTHZ_TABLE: Record<string, AuthzRow> = {
  // ── identity and access (#3) ────────────────────────────────────────────────
  'Query.viewer': { document: '{ viewer { identity } }', expect: { ...publicField('ok'), notAllowlisted: 'UNAUTHENTICATED' } },
  'Query.allowlist': { document: '{ allowlist { version } }', expect: only(['admin']) },
  'Mutation.createSiweNonce': { document: 'mutation { createSiweNonce { nonce } }', expect: publicField('ok') },
  'Mutation.signIn': { document: 'mutation { signIn(message: "not siwe", signature: "0x00") { token } }', expect: publicField('allowed') },
  'Mutation.addAllowlistEntry': {
    document: 'mutation($v: String!) { addAllowlistEntry(type: WALLET, value: $v) { version } }',
    variables: (f) => ({ v: f.freshWallet }),
    expect: only(['admin']),
  },
  'Mutation.removeAllowlistEntry': {
    document: 'mutation($v: String!) { removeAllowlistEntry(value: $v) { version } }',
    variables: (f) => ({ v: f.freshWallet }),
    expect: only(['admin'], 'allowed'),
  },
  // ── health (foundation) ─────────────────────────────────────────────────────
  'Query.health': { document: '{ health { status } }', expect: publicField('ok') },
  'Query.governance': { document: '{ governance { __typename } }', expect: only(['admin']) },
  'Subscription.healthChanged': { document: 'subscription { healthChanged { status } }', expect: publicField('ok') },
  // ── agent ───────────────────────────────────────────────────────────────────
  'Query.agent': { document: '{ agent { __typename } }', expect: only(WALLETS_AND_AGENT, 'allowed') },
  'Query.oracle': { document: '{ oracle { __typename } }', expect: only([...WALLETS, 'service'], 'allowed') },
  'Query.personality': { document: 'query($nftId: ID!) { personality(nftId: $nftId) { __typename } }', variables: own, expect: only(WALLETS, 'allowed') },
  'Mutation.agentQuery': {
    document: 'mutation { agentQuery(input: { query: "hello" }) { __typename } }',
    expect: tierAtLeast('ARCHITECT'),
    requiredTier: 'ARCHITECT',
  },
  'Mutation.voteKnowledgePriority': {
    document: 'mutation { voteKnowledgePriority(sourceId: "src-1", priority: 3) { __typename } }',
    expect: tierAtLeast('PARTICIPANT'),
    requiredTier: 'PARTICIPANT',
  },
  // ── chat ────────────────────────────────────────────────────────────────────
  'Query.chatSessions': { document: '{ chatSessions { __typename } }', expect: only(WALLETS, 'allowed') },
  'Query.chatSession': { document: '{ chatSession(id: "nope") { __typename } }', expect: only(WALLETS, 'allowed') },
  'Mutation.startChat': { document: 'mutation { startChat { __typename } }', expect: only(WALLETS, 'allowed') },
  'Mutation.sendMessage': { document: 'mutation { sendMessage(sessionId: "nope", text: "hi") { __typename } }', expect: only(WALLETS, 'allowed') },
  'Subscription.chat': { document: 'subscription { chat(sessionId: "nope", text: "hi") { __typename } }', expect: only(WALLETS, 'allowed') },
  // ── schedules ───────────────────────────────────────────────────────────────
  'Query.schedules': { document: 'query($nftId: ID!) { schedules(nftId: $nftId) { __typename } }', variables: own, expect: only(WALLETS_AND_AGENT, 'allowed') },
  'Query.schedule': { document: '{ schedule(id: "nope") { __typename } }', expect: only(WALLETS_AND_AGENT, 'allowed') },
  'Mutation.createSchedule': {
    document: 'mutation($nftId: ID!) { createSchedule(input: { nftId: $nftId, expression: "every morning", prompt: "hi" }) { __typename } }',
    variables: own,
    expect: tierAtLeast('BUILDER'),
    requiredTier: 'BUILDER',
  },
  'Mutation.cancelSchedule': { document: 'mutation { cancelSchedule(id: "nope") { __typename } }', expect: only(WALLETS_AND_AGENT, 'allowed') },
  'Subscription.scheduleFired': {
    document: 'subscription($nftId: ID!) { scheduleFired(nftId: $nftId) { __typename } }',
    variables: own,
    expect: only(WALLETS_AND_AGENT, 'allowed'),
  },
  // ── autonomous and reputation ───────────────────────────────────────────────
  'Query.autonomous': { document: 'query($nftId: ID!) { autonomous(nftId: $nftId) { __typename } }', variables: own, expect: only(WALLETS_AND_AGENT, 'allowed') },
  'Mutation.updateAutonomousPermissions': {
    document: 'mutation($nftId: ID!) { updateAutonomousPermissions(nftId: $nftId, input: { enabled: false }) { __typename } }',
    variables: own,
    expect: tierAtLeast('SOVEREIGN'),
    requiredTier: 'SOVEREIGN',
  },
  'Query.reputation': { document: 'query($nftId: ID!) { reputation(nftId: $nftId) { __typename } }', variables: own, expect: tierAtLeast('BUILDER'), requiredTier: 'BUILDER' },
  // ── soul memory (#5): tier PARTICIPANT, then owner / delegate / policy (existence hidden as NOT_FOUND) ──
  'Query.memory': { document: 'query($nftId: ID!) { memory(nftId: $nftId) { __typename } }', variables: own, expect: tierAtLeast('PARTICIPANT'), requiredTier: 'PARTICIPANT' },
  'Mutation.sealConversation': {
    document: 'mutation($nftId: ID!) { sealConversation(nftId: $nftId, conversationId: "conv-1", policy: { reason: "private" }) { __typename } }',
    variables: own,
    expect: tierAtLeast('PARTICIPANT'),
    requiredTier: 'PARTICIPANT',
  },
  'Mutation.deleteConversation': {
    document: 'mutation($nftId: ID!) { deleteConversation(nftId: $nftId, conversationId: "conv-1") { __typename } }',
    variables: own,
    expect: tierAtLeast('PARTICIPANT'),
    requiredTier: 'PARTICIPANT',
  },
  'Mutation.setMemoryPolicy': {
    document: 'mutation($nftId: ID!) { setMemoryPolicy(nftId: $nftId, access: READ_ONLY) }',
    variables: own,
    expect: tierAtLeast('PARTICIPANT'),
    requiredTier: 'PARTICIPANT',
  },
};

/** The persona acts on `foreignNftId`, an NFT another wallet owns. */
const foreign = (f: PersonaFixtures) => ({ nftId: f.foreignNftId });

/**
 * What acting on someone else's NFT gets where `row` would pass: soul memory hides the NFT
 * (NOT_FOUND, domain.md), the other NFT-owner fields deny (FORBIDDEN).
 */
const FOREIGN_DENIALS: Record<string, 'FORBIDDEN' | 'NOT_FOUND'> = {
  'Query.memory': 'NOT_FOUND',
  'Mutation.sealConversation': 'NOT_FOUND',
  'Mutation.deleteConversation': 'NOT_FOUND',
  'Mutation.setMemoryPolicy': 'NOT_FOUND',
  'Query.schedules': 'FORBIDDEN',
  'Mutation.createSchedule': 'FORBIDDEN',
  'Subscription.scheduleFired': 'FORBIDDEN',
  'Query.autonomous': 'FORBIDDEN',
  'Mutation.updateAutonomousPermissions': 'FORBIDDEN',
};

/** The rows of AUTHZ_TABLE above, run on `foreignNftId`: every cell that passed there is denied here. */
export const FOREIGN_NFT_TABLE: Record<string, AuthzRow> = Object.fromEntries(
  Object.entries(FOREIGN_DENIALS).map(([key, denial]) => {
    const row = AUTHZ_TABLE[key]!;
    const expect = Object.fromEntries(PERSONAS.map((p) => [p, row.expect[p] === 'ok' || row.expect[p] === 'allowed' ? denial : row.expect[p]])) as Matrix;
    return [key, { document: row.document, variables: foreign, expect }];
  }),
);
