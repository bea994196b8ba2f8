import { dixieError } from '../errors.js';
import { builder } from '../schema/builder.js';
import { ViewerRef } from '../schema/viewer.js';

builder.queryField('viewer', (t) =>
  t.field({
    type: ViewerRef,
    nullable: true,
    description: 'null when anonymous; UNAUTHENTICATED when the presented credentials are invalid or expired',
    authScopes: { public: true },
    resolve: (_root, _args, ctx) => {
      if (ctx.viewer.kind !== 'anonymous') return ctx.viewer;
      if (ctx.viewer.invalidCredentials) throw dixieError('UNAUTHENTICATED', 'Invalid or expired credentials');
      return null;
    },
  }),
);
