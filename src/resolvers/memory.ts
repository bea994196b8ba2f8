import { isValidNftId } from '../datasources/finn/ids.js';
import { actingWallet } from '../domain/viewer.js';
import { dixieError } from '../errors.js';
import { builder } from '../schema/builder.js';
import { DeleteConversationResultRef, MemoryAccessPolicyEnum, MemoryRef, SealResultRef, SealingPolicyInput } from '../schema/memory.js';
import type { Context } from '../context.js';

const CONVERSATION_ID = /^[A-Za-z0-9_-]{1,128}$/;

function nftIdOf(raw: string | number): string {
  const nftId = String(raw);
  if (!isValidNftId(nftId)) throw dixieError('BAD_USER_INPUT', 'Invalid NFT id', { field: 'nftId' });
  return nftId;
}

function conversationIdOf(raw: string | number): string {
  const id = String(raw);
  if (!CONVERSATION_ID.test(id)) throw dixieError('BAD_USER_INPUT', 'Invalid conversation id', { field: 'conversationId' });
  return id;
}

/** The owner's wallet after the NFT-owner check (NOT_FOUND for strangers, FORBIDDEN for readers). */
async function ownerWallet(ctx: Context, nftId: string): Promise<string> {
  await ctx.memory.requireOwner(nftId);
  const wallet = actingWallet(ctx.viewer);
  if (!wallet) throw dixieError('UNAUTHENTICATED', 'A wallet is required');
  return wallet.toLowerCase();
}

builder.queryField('memory', (t) =>
  t.field({
    type: MemoryRef,
    nullable: true,
    description: "An NFT's soul memory (tier PARTICIPANT and read access; NOT_FOUND otherwise).",
    args: { nftId: t.arg.id({ required: true }) },
    authScopes: { tier: 'PARTICIPANT' },
    resolve: async (_root, args, ctx) => {
      const nftId = nftIdOf(args.nftId);
      return { nftId, role: await ctx.memory.role(nftId) };
    },
  }),
);

builder.mutationField('sealConversation', (t) =>
  t.field({
    type: SealResultRef,
    description: 'Encrypts a conversation at rest (AES-256-GCM); idempotent. NFT owner only.',
    args: {
      nftId: t.arg.id({ required: true }),
      conversationId: t.arg.id({ required: true }),
      policy: t.arg({ type: SealingPolicyInput, required: true }),
    },
    authScopes: { tier: 'PARTICIPANT' },
    resolve: async (_root, args, ctx) => {
      const nftId = nftIdOf(args.nftId);
      const conversationId = conversationIdOf(args.conversationId);
      const reason = args.policy.reason ?? null;
      if (reason !== null && reason.length > 500) throw dixieError('BAD_USER_INPUT', 'reason is too long', { field: 'policy.reason' });
      const wallet = await ownerWallet(ctx, nftId);
      return ctx.ds.memory.seal(nftId, conversationId, wallet, { reason });
    },
  }),
);

builder.mutationField('deleteConversation', (t) =>
  t.field({
    type: DeleteConversationResultRef,
    description: 'Erases the payloads of a conversation; a `delete` event remains. NFT owner only.',
    args: { nftId: t.arg.id({ required: true }), conversationId: t.arg.id({ required: true }) },
    authScopes: { tier: 'PARTICIPANT' },
    resolve: async (_root, args, ctx) => {
      const nftId = nftIdOf(args.nftId);
      const conversationId = conversationIdOf(args.conversationId);
      return ctx.ds.memory.deleteConversation(nftId, conversationId, await ownerWallet(ctx, nftId));
    },
  }),
);

builder.mutationField('setMemoryPolicy', (t) =>
  t.field({
    type: MemoryAccessPolicyEnum,
    description: 'Who besides the owner and delegates may read the memory. NFT owner only.',
    args: { nftId: t.arg.id({ required: true }), access: t.arg({ type: MemoryAccessPolicyEnum, required: true }) },
    authScopes: { tier: 'PARTICIPANT' },
    resolve: async (_root, args, ctx) => {
      const nftId = nftIdOf(args.nftId);
      await ctx.ds.memory.setPolicy(nftId, args.access, await ownerWallet(ctx, nftId));
      return args.access;
    },
  }),
);
