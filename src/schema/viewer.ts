import type { Conviction } from '../datasources/conviction.js';
import type { Nft } from '../datasources/finn/schemas.js';
import { TIERS } from '../domain/tiers.js';
import type { Viewer as ViewerModel } from '../domain/viewer.js';
import { builder } from './builder.js';

export const ConvictionTier = builder.enumType('ConvictionTier', {
  description: `domain.md conviction tiers, lowest to highest: ${TIERS.join(', ')} (the printed schema sorts the values by name)`,
  values: TIERS,
});

export const ConvictionSource = builder.enumType('ConvictionSource', {
  values: {
    STAKING: { description: 'From the BGT staked reported by Finn' },
    LEGACY_ALLOWLIST: { description: 'Finn had no staking data; the allowlist fallback tier applies' },
    DEFAULT: { description: 'Finn had no staking data and the wallet is not allowlisted' },
  } as const,
});

export const ModelPool = builder.enumType('ModelPool', { values: ['pool_observer', 'pool_standard', 'pool_premium'] as const });

export const IdentityKind = builder.enumType('IdentityKind', { values: ['WALLET', 'SERVICE', 'ADMIN', 'AGENT'] as const });

export const ConvictionRef = builder.objectRef<Conviction>('Conviction').implement({
  fields: (t) => ({
    tier: t.field({ type: ConvictionTier, resolve: (c) => c.tier }),
    bgtStaked: t.float({ nullable: true, resolve: (c) => c.bgtStaked }),
    source: t.field({ type: ConvictionSource, resolve: (c) => c.source }),
    modelPool: t.field({ type: ModelPool, resolve: (c) => c.modelPool }),
  }),
});

export const OwnedNft = builder.objectRef<Nft>('OwnedNft').implement({
  description: 'An NFT as Finn B3 lists it for the acting wallet',
  fields: (t) => ({
    nftId: t.exposeID('nftId'),
    contractAddress: t.exposeString('contractAddress'),
    tokenId: t.exposeString('tokenId'),
    ownerWallet: t.exposeString('ownerWallet'),
    delegatedWallets: t.exposeStringList('delegatedWallets'),
  }),
});

type KnownViewer = Exclude<ViewerModel, { kind: 'anonymous' }>;

export const ViewerRef = builder.objectRef<KnownViewer>('Viewer').implement({
  description: 'Who is calling. Conviction and NFTs belong to the acting wallet (an agent acts for its owner).',
  fields: (t) => ({
    identity: t.field({ type: IdentityKind, resolve: (v) => v.kind.toUpperCase() as 'WALLET' | 'SERVICE' | 'ADMIN' | 'AGENT' }),
    wallet: t.string({ nullable: true, resolve: (_v, _a, ctx) => ctx.access.actingWallet }),
    tbaAddress: t.string({ nullable: true, resolve: (v) => (v.kind === 'agent' ? v.tbaAddress : null) }),
    agentNftId: t.id({ nullable: true, resolve: (v) => (v.kind === 'agent' ? v.nftId : null) }),
    conviction: t.field({ type: ConvictionRef, nullable: true, resolve: (_v, _a, ctx) => ctx.access.conviction() }),
    nfts: t.field({ type: [OwnedNft], resolve: (_v, _a, ctx) => ctx.access.nfts() }),
  }),
});
