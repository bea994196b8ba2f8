import { z } from 'zod';

// Finn's bodies, as finn.md defines them. Unknown extra fields are tolerated and dropped.
// finn.md A.1: any 2xx from /health means reachable, whatever the body (or none).
export const finnHealthSchema = z.unknown();

/** A document count GraphQL's Int can carry: anything else is off the contract, not a 500 later. */
const docCount = z.number().int().min(0).max(2_147_483_647);

export const knowledgeMetadataSchema = z.object({
  domains: z.array(z.object({ name: z.string(), documentCount: docCount, lastUpdated: z.string().nullable().optional() })),
  totalDocuments: docCount,
});
export type KnowledgeMetadata = z.infer<typeof knowledgeMetadataSchema>;

export const createdSessionSchema = z.object({
  sessionId: z.string(),
  created: z.string(),
  wsUrl: z.string().optional(),
});
export type CreatedSession = z.infer<typeof createdSessionSchema>;

export const toolCallSchema = z.object({ name: z.string(), args: z.unknown(), result: z.unknown() });
export const messageReplySchema = z.object({ response: z.string(), toolCalls: z.array(toolCallSchema).default([]) });
export type MessageReply = z.infer<typeof messageReplySchema>;

export const sessionInfoSchema = z.object({
  id: z.string(),
  isStreaming: z.boolean(),
  messageCount: z.number(),
});
export type SessionInfo = z.infer<typeof sessionInfoSchema>;

export const oracleSchema = z.object({
  nftId: z.string(),
  name: z.string(),
  damp96_summary: z.record(z.string(), z.unknown()).nullable().optional(),
  beauvoir_hash: z.string().nullable().optional(),
});
export type Oracle = z.infer<typeof oracleSchema>;

export const nftSchema = z.object({
  nftId: z.string(),
  contractAddress: z.string(),
  tokenId: z.string(),
  ownerWallet: z.string(),
  delegatedWallets: z.array(z.string()).default([]),
});
export const walletNftsSchema = z.object({ nfts: z.array(nftSchema) });
export type Nft = z.infer<typeof nftSchema>;

export const beauvoirSchema = z.object({
  nftId: z.string(),
  name: z.string(),
  traits: z.array(z.string()).default([]),
  antiNarration: z.array(z.string()).default([]),
  damp96Summary: z.record(z.string(), z.number()).default({}),
  version: z.union([z.number(), z.string()]),
  lastEvolved: z.string().nullable().optional(),
});
export type Beauvoir = z.infer<typeof beauvoirSchema>;

export const evolutionSchema = z.array(
  z.object({
    version: z.union([z.number(), z.string()]),
    timestamp: z.string(),
    changes: z.array(z.unknown()).default([]),
    trigger: z.string().nullable().optional(),
  }),
);
export type Evolution = z.infer<typeof evolutionSchema>;

export const stakingSchema = z.object({ wallet: z.string(), bgtStaked: z.number().nonnegative(), stakedSince: z.string().optional() });
export type Staking = z.infer<typeof stakingSchema>;

export const cronRegisteredSchema = z.object({ cronId: z.string().min(1) });
export const anyBodySchema = z.unknown();

export const tbaVerifiedSchema = z.object({
  tbaAddress: z.string(),
  nftContract: z.string(),
  tokenId: z.string(),
  ownerWallet: z.string(),
  verifiedAt: z.string().optional(),
});
export type TbaVerified = z.infer<typeof tbaVerifiedSchema>;
