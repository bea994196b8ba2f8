import type { ReputationAggregate } from '../datasources/reputation.js';
import { REPUTATION_STATES } from '../domain/reputation.js';
import { builder } from './builder.js';

const ReputationStateEnum = builder.enumType('ReputationState', {
  description: 'COLD < 5 samples ≤ WARMING < 20 ≤ ESTABLISHED < 100 ≤ AUTHORITATIVE',
  values: REPUTATION_STATES,
});

export const ReputationRef = builder.objectRef<ReputationAggregate>('Reputation').implement({
  fields: (t) => ({
    nftId: t.exposeID('nftId'),
    state: t.field({ type: ReputationStateEnum, resolve: (r) => r.state }),
    personalScore: t.float({ nullable: true, description: 'Mean of the NFT’s quality signals; null before the first', resolve: (r) => r.personalScore }),
    collectionScore: t.float({ description: 'Mean of the personal scores of all NFTs', resolve: (r) => r.collectionScore }),
    blendedScore: t.float({ description: '(3·collection + n·personal) / (3 + n)', resolve: (r) => r.blendedScore }),
    sampleCount: t.exposeInt('sampleCount'),
    updatedAt: t.field({ type: 'DateTime', nullable: true, resolve: (r) => r.updatedAt }),
  }),
});
