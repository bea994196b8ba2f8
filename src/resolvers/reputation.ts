import { builder } from '../schema/builder.js';
import { ReputationRef } from '../schema/reputation.js';

builder.queryField('reputation', (t) =>
  t.field({
    type: ReputationRef,
    nullable: true,
    description: 'Always answers for a valid id: a COLD aggregate with no samples before the first signal.',
    args: { nftId: t.arg.id({ required: true }) },
    authScopes: { tier: 'BUILDER' },
    resolve: (_root, args, ctx) => ctx.ds.reputation.get(String(args.nftId)),
  }),
);
