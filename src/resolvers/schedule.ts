import type { Context } from '../context.js';
import type { Schedule, ScheduleExecution } from '../datasources/schedules.js';
import { createAccess } from '../datasources/access.js';
import { actingWallet } from '../domain/viewer.js';
import { dixieError } from '../errors.js';
import { builder } from '../schema/builder.js';
import { guardEach } from '../subscription-guard.js';
import { CreateScheduleInput, CreateSchedulePayload, ScheduleExecutionRef, ScheduleRef } from '../schema/schedule.js';

/** The schedule when the viewer owns its NFT; null otherwise (NOT_FOUND: not visible to the caller). */
async function ownedSchedule(ctx: Context, id: string): Promise<Schedule | null> {
  const s = await ctx.ds.schedules.get(id);
  return s && (await ctx.access.isNftOwner(s.nftId)) ? s : null;
}

const signedIn = { $any: { wallet: true, agent: true } } as const;

/**
 * Ownership now, not as memoised when the subscription opened: NFT lists come from the directory
 * (DIXIE_NFT_OWNERSHIP_TTL) and a wallet must still be allowlisted. A lookup Finn cannot answer
 * keeps the subscription: an outage is not a transfer.
 */
async function stillOwnsNft(ctx: Context, nftId: string): Promise<boolean> {
  if (ctx.viewer.kind === 'wallet' && !ctx.ds.allowlist.hasWallet(ctx.viewer.wallet)) return false;
  return createAccess(ctx.viewer, ctx.ds, ctx.finnCtx).isNftOwner(nftId).catch(() => true);
}

builder.queryField('schedules', (t) =>
  t.field({
    type: [ScheduleRef],
    description: "The NFT's schedules, newest first (NFT owner).",
    args: { nftId: t.arg.id({ required: true }) },
    authScopes: (_root, args) => ({ nftOwner: String(args.nftId) }),
    resolve: (_root, args, ctx) => ctx.ds.schedules.list(String(args.nftId)),
  }),
);

builder.queryField('schedule', (t) =>
  t.field({
    type: ScheduleRef,
    nullable: true,
    description: 'Null unless the viewer owns the NFT of the schedule.',
    args: { id: t.arg.id({ required: true }) },
    authScopes: signedIn,
    resolve: (_root, args, ctx) => ownedSchedule(ctx, String(args.id)),
  }),
);

builder.mutationField('createSchedule', (t) =>
  t.field({
    type: CreateSchedulePayload,
    args: { input: t.arg({ type: CreateScheduleInput, required: true }) },
    authScopes: (_root, args) => ({ $all: { tier: 'BUILDER', nftOwner: String(args.input.nftId) } }),
    resolve: (_root, { input }, ctx) => {
      const wallet = actingWallet(ctx.viewer);
      if (!wallet) throw dixieError('UNAUTHENTICATED', 'A wallet is required');
      return ctx.ds.schedules.create({ ...input, nftId: String(input.nftId) }, wallet, ctx.finnCtx);
    },
  }),
);

builder.mutationField('cancelSchedule', (t) =>
  t.field({
    type: ScheduleRef,
    args: { id: t.arg.id({ required: true }) },
    authScopes: signedIn,
    resolve: async (_root, args, ctx) => {
      const s = await ownedSchedule(ctx, String(args.id));
      if (!s) throw dixieError('NOT_FOUND', 'Schedule not found');
      return ctx.ds.schedules.cancel(s.id, ctx.finnCtx);
    },
  }),
);

builder.subscriptionField('scheduleFired', (t) =>
  t.field({
    type: ScheduleExecutionRef,
    description: 'Every execution of any schedule of the NFT, whichever instance recorded it.',
    args: { nftId: t.arg.id({ required: true }) },
    authScopes: (_root, args) => ({ nftOwner: String(args.nftId) }),
    subscribe: (_root, args, ctx) => {
      const nftId = String(args.nftId);
      return guardEach(
        ctx.ds.events.subscribe('scheduleFired', nftId)[Symbol.asyncIterator](),
        () => stillOwnsNft(ctx, nftId),
        () => dixieError('FORBIDDEN', 'The viewer no longer owns this NFT'),
      );
    },
    resolve: (payload) => payload as ScheduleExecution,
  }),
);
