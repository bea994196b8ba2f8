import { builder } from '../schema/builder.js';
import { AuthPayload, SiweNonce } from '../schema/auth.js';

builder.mutationField('createSiweNonce', (t) =>
  t.field({
    type: SiweNonce,
    authScopes: { public: true },
    resolve: (_root, _args, ctx) => ctx.ds.signIn.createNonce(),
  }),
);

builder.mutationField('signIn', (t) =>
  t.field({
    type: AuthPayload,
    authScopes: { public: true },
    args: {
      message: t.arg.string({ required: true, description: 'The EIP-4361 message, exactly as signed' }),
      signature: t.arg.string({ required: true, description: '0x-prefixed personal_sign signature' }),
    },
    resolve: (_root, { message, signature }, ctx) => ctx.ds.signIn.signIn(message, signature),
  }),
);
