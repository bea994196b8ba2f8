import { builder } from '../schema/builder.js';
import { Governance, Health } from '../schema/health.js';

builder.queryField('health', (t) =>
  t.field({
    type: Health,
    authScopes: { public: true },
    resolve: (_root, _args, ctx) => ctx.ds.health.report(),
  }),
);

builder.queryField('governance', (t) =>
  t.field({
    type: Governance,
    authScopes: { admin: true },
    resolve: async (_root, _args, ctx) => ({ governors: await ctx.ds.governors.report(), timestamp: new Date().toISOString() }),
  }),
);

builder.subscriptionField('healthChanged', (t) =>
  t.field({
    type: Health,
    authScopes: { public: true },
    subscribe: (_root, _args, ctx) => ctx.ds.health.changes.subscribe('healthChanged'),
    resolve: (report) => report,
  }),
);
