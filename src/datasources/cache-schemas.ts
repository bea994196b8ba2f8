import { z } from 'zod';
import { CAPABILITIES, type Capabilities } from '../domain/autonomous.js';
import type { MemoryProjection } from '../domain/memory-projection.js';
import { TIERS } from '../domain/tiers.js';
import type { OracleView, PersonalityView } from './agent.js';
import type { AutonomousMode } from './autonomous.js';
import type { Conviction } from './conviction.js';
import type { Nft } from './finn/schemas.js';
import type { VerifiedAgent } from './tba.js';

// What each cached value must look like when it is read back. A value that does not (written by
// another release under the same key, or edited in Redis by hand) is a miss, not a wrong answer.
// Each schema is typed against the type it caches, so the two cannot drift apart.

const nft: z.ZodType<Nft> = z.object({
  nftId: z.string(),
  contractAddress: z.string(),
  tokenId: z.string(),
  ownerWallet: z.string(),
  delegatedWallets: z.array(z.string()),
});
export const cachedNfts: z.ZodType<Nft[]> = z.array(nft);

export const cachedAgent: z.ZodType<VerifiedAgent> = z.object({ tbaAddress: z.string(), ownerWallet: z.string(), nftId: z.string() });

export const cachedConviction: z.ZodType<Conviction> = z.object({
  tier: z.enum(TIERS),
  bgtStaked: z.number().nullable(),
  source: z.enum(['STAKING', 'LEGACY_ALLOWLIST', 'DEFAULT']),
  modelPool: z.enum(['pool_observer', 'pool_standard', 'pool_premium']),
});

export const cachedOracle: z.ZodType<OracleView> = z.object({
  nftId: z.string(),
  name: z.string(),
  damp96Summary: z.record(z.string(), z.unknown()).nullable(),
  beauvoirHash: z.string().nullable(),
});

const personality: z.ZodType<PersonalityView> = z.object({
  nftId: z.string(),
  name: z.string(),
  traits: z.array(z.string()),
  antiNarration: z.array(z.string()),
  damp96Summary: z.record(z.string(), z.number()),
  version: z.string(),
  lastEvolved: z.string().nullable(),
  evolution: z.array(z.object({ version: z.string(), timestamp: z.string(), changes: z.array(z.unknown()), trigger: z.string().nullable() })),
});
export const cachedPersonality: z.ZodType<{ value: PersonalityView | null }> = z.object({ value: personality.nullable() });

export const cachedProjection: z.ZodType<MemoryProjection> = z.object({
  conversationCount: z.number().int().nonnegative(),
  sealedConversationCount: z.number().int().nonnegative(),
  lastInteraction: z.string().nullable(),
  recentTopics: z.array(z.string()),
  unresolvedQuestions: z.array(z.string()),
  activeSummary: z.string().nullable(),
});

const capabilities = z.object(Object.fromEntries(CAPABILITIES.map((c) => [c, z.boolean()]))) as unknown as z.ZodType<Capabilities>;
export const cachedAutonomous: z.ZodType<AutonomousMode> = z.object({
  nftId: z.string(),
  enabled: z.boolean(),
  ownerWallet: z.string().nullable(),
  delegatedWallets: z.array(z.string()),
  capabilities,
  dailyLimitMicroUsd: z.number().int().nonnegative(),
  updatedAt: z.string().nullable(),
  spentTodayMicroUsd: z.number().nonnegative(),
});
