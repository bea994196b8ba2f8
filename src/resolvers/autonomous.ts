import { actingWallet } from '../domain/viewer.js';
import { isValidNftId } from '../datasources/finn/ids.js';
import { dixieError } from '../errors.js';
import { builder } from '../schema/builder.js';
import { AutonomousModeRef, AutonomousPermissionsInput } from '../schema/autonomous.js';

const nftIdOf = (raw: string | number): string => {
  const nftId = String(raw);
  if (!isValidNftId(nftId)) throw dixieError('BAD_USER_INPUT', 'Invalid NFT id', { field: 'nftId' });
  return nftId;
};

builder.queryField('autonomous', (t) =>
  t.field({
    type: AutonomousModeRef,
    nullable: true,
    description: 'Autonomous mode of an NFT (its owner or a delegate); defaults until the owner configures it.',
    args: { nftId: t.arg.id({ required: true }) },
    authScopes: (_root, args) => ({ nftReader: String(args.nftId) }),
    resolve: (_root, args, ctx) => ctx.ds.autonomous.get(nftIdOf(args.nftId)),
  }),
);

builder.mutationField('updateAutonomousPermissions', (t) =>
  t.field({
    type: AutonomousModeRef,
    description: "Changes an NFT's autonomous permissions and budget. The owner's wallet with tier SOVEREIGN only; an agent acting for it is refused (FORBIDDEN).",
    args: { nftId: t.arg.id({ required: true }), input: t.arg({ type: AutonomousPermissionsInput, required: true }) },
    // The owner's wallet itself: an agent acting for it must not raise its own budget or capabilities.
    authScopes: (_root, args) => ({ $all: { wallet: true, tier: 'SOVEREIGN', nftOwner: String(args.nftId) } }),
    resolve: (_root, args, ctx) => {
      const wallet = actingWallet(ctx.viewer);
      if (!wallet) throw dixieError('UNAUTHENTICATED', 'A wallet is required');
      return ctx.ds.autonomous.update(nftIdOf(args.nftId), args.input, wallet);
    },
  }),
);
