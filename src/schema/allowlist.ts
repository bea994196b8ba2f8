import type { AllowlistData } from '../domain/allowlist.js';
import { builder } from './builder.js';

export const AllowlistEntryType = builder.enumType('AllowlistEntryType', {
  values: { WALLET: { value: 'wallet' }, API_KEY: { value: 'apiKey' } } as const,
});

export const Allowlist = builder.objectRef<AllowlistData>('Allowlist').implement({
  description: 'The allowlist file (rest.md); the same store as /api/admin/allowlist',
  fields: (t) => ({
    version: t.exposeInt('version'),
    wallets: t.exposeStringList('wallets', { description: 'EIP-55 checksummed' }),
    apiKeys: t.exposeStringList('apiKeys'),
    updatedAt: t.field({ type: 'DateTime', resolve: (a) => a.updated_at }),
    policy: t.field({ type: 'JSON', nullable: true, resolve: (a) => a.policy ?? null }),
  }),
});
