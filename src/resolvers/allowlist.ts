import { dixieError } from '../errors.js';
import { Allowlist, AllowlistEntryType } from '../schema/allowlist.js';
import { builder } from '../schema/builder.js';

builder.queryField('allowlist', (t) =>
  t.field({
    type: Allowlist,
    authScopes: { admin: true },
    resolve: (_root, _args, ctx) => ctx.ds.allowlist.current(),
  }),
);

builder.mutationField('addAllowlistEntry', (t) =>
  t.field({
    type: Allowlist,
    authScopes: { admin: true },
    args: {
      type: t.arg({ type: AllowlistEntryType, required: true }),
      value: t.arg.string({ required: true }),
    },
    resolve: async (_root, { type, value }, ctx) => {
      const added = await ctx.ds.allowlist.add(type, value);
      if (!added.ok) throw dixieError('BAD_USER_INPUT', added.problem.message, { field: 'value', reason: added.problem.error });
      ctx.logger.info({ event: 'allowlist_entry_added', type }, 'allowlist entry added');
      return added.value;
    },
  }),
);

builder.mutationField('removeAllowlistEntry', (t) =>
  t.field({
    type: Allowlist,
    authScopes: { admin: true },
    args: { value: t.arg.string({ required: true, description: 'A wallet (any case) or an API key' }) },
    resolve: async (_root, { value }, ctx) => {
      const removed = await ctx.ds.allowlist.remove(value);
      if (!removed) throw dixieError('NOT_FOUND', 'Entry not found in allowlist');
      ctx.logger.info({ event: 'allowlist_entry_removed' }, 'allowlist entry removed');
      return removed;
    },
  }),
);
