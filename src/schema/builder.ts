import SchemaBuilder from '@pothos/core';
import ScopeAuthPlugin from '@pothos/plugin-scope-auth';
import type { Tier } from '../config.js';
import type { Context } from '../context.js';
import { authScopesFor, unauthorizedError } from './auth-scopes.js';

export interface DixieAuthScopes {
  public: boolean;
  admin: boolean;
  wallet: boolean;
  service: boolean;
  agent: boolean;
  tier: Tier;
  nftOwner: string;
  nftReader: string;
}

export const builder = new SchemaBuilder<{
  Context: Context;
  AuthScopes: DixieAuthScopes;
  DefaultFieldNullability: false;
  Scalars: {
    DateTime: { Input: string; Output: string | Date };
    JSON: { Input: unknown; Output: unknown };
  };
}>({
  plugins: [ScopeAuthPlugin],
  defaultFieldNullability: false,
  scopeAuth: {
    authorizeOnSubscribe: true,
    treatErrorsAsUnauthorized: true,
    authScopes: authScopesFor,
    unauthorizedError,
  },
});

builder.queryType({});
builder.mutationType({});
builder.subscriptionType({});

builder.scalarType('DateTime', {
  description: 'ISO-8601 date-time in UTC',
  serialize: (v) => (v instanceof Date ? v.toISOString() : new Date(v).toISOString()),
  parseValue: (v) => {
    if (typeof v !== 'string' || Number.isNaN(Date.parse(v))) throw new TypeError('DateTime must be an ISO-8601 string');
    return v;
  },
});

builder.scalarType('JSON', {
  description: 'Arbitrary JSON value',
  serialize: (v) => v,
  parseValue: (v) => v,
});
