import type { GraphQLResolveInfo } from 'graphql';
import { AuthScopeFailureType, type AuthFailure } from '@pothos/plugin-scope-auth';
import type { Context } from '../context.js';
import { dixieError } from '../errors.js';

/** Scope loaders, evaluated lazily and at most once per request by scope-auth. */
export function authScopesFor(ctx: Context) {
  const v = ctx.viewer;
  return {
    public: true,
    admin: v.kind === 'admin',
    wallet: v.kind === 'wallet',
    service: v.kind === 'service',
    agent: v.kind === 'agent',
    tier: (required: string) => ctx.access.hasTier(required),
    nftOwner: (nftId: string) => ctx.access.isNftOwner(nftId),
    nftReader: (nftId: string) => ctx.access.canReadNft(nftId),
  };
}

function firstError(failure: AuthFailure): Error | null {
  if ('error' in failure && failure.error instanceof Error) return failure.error;
  if (failure.kind === AuthScopeFailureType.AnyAuthScopes || failure.kind === AuthScopeFailureType.AllAuthScopes) {
    for (const child of failure.failures) {
      const e = firstError(child);
      if (e) return e;
    }
  }
  return null;
}

export function unauthorizedError(
  _parent: unknown,
  ctx: Context,
  _info: GraphQLResolveInfo,
  result: { message: string; failure: AuthFailure },
): Error {
  const thrown = firstError(result.failure);
  if (thrown) return thrown;
  if (ctx.viewer.kind === 'anonymous') return dixieError('UNAUTHENTICATED', 'Authentication required');
  return dixieError('FORBIDDEN', 'Not allowed');
}
