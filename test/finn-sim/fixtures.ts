import type { Beauvoir, Fixtures, KnowledgeDomain, KnowledgeMetadata, NftFixture } from './types.js';

export function defaultFixtures(): Fixtures {
  const indexed = '2026-02-28T10:00:00.000Z';
  const damp = { curiosity: 0.82, warmth: 0.64, candor: 0.71, playfulness: 0.38 };
  return {
    healthAnswer: null,
    nextSessionId: null,
    knowledge: {
      domains: [
        { name: 'honeyjar-lore', documentCount: 24, lastUpdated: indexed },
        { name: 'berachain', documentCount: 12, lastUpdated: indexed },
        { name: 'mibera', documentCount: 6, lastUpdated: indexed },
      ],
      totalDocuments: 42,
    },
    oracle: { nftId: 'oracle', name: 'The Oracle', damp96_summary: damp, beauvoir_hash: 'sha256:0f1e2d3c4b5a' },
    nfts: new Map(),
    beauvoir: new Map([['oracle', {
      nftId: 'oracle', name: 'The Oracle', traits: ['patient', 'precise'], antiNarration: ['no prophecy'],
      damp96Summary: damp, version: 3, lastEvolved: indexed,
    }]]),
    evolution: new Map([['oracle', [
      { version: 1, timestamp: '2026-01-01T00:00:00.000Z', changes: ['genesis'], trigger: 'mint' },
      { version: 3, timestamp: indexed, changes: ['warmth +0.1'], trigger: 'conversation' },
    ]]]),
    staking: new Map(),
    tba: new Map(),
  };
}

/** What `setNfts` accepts: the nftId is required, the rest defaults from the wallet and the id. */
export type NftInput = Partial<NftFixture> & { nftId: string };

export const DEFAULT_NFT_CONTRACT = '0x6666397dfe9a8c469bf65dc744cb1c733416c420';

export function toNft(wallet: string, input: NftInput): NftFixture {
  return {
    nftId: input.nftId,
    contractAddress: input.contractAddress ?? DEFAULT_NFT_CONTRACT,
    tokenId: input.tokenId ?? (input.nftId.split(':').at(-1) ?? input.nftId),
    ownerWallet: input.ownerWallet ?? wallet,
    delegatedWallets: input.delegatedWallets ?? [],
  };
}

export function toBeauvoir(nftId: string, input: Partial<Beauvoir>): Beauvoir {
  return {
    nftId,
    name: input.name ?? `Agent ${nftId}`,
    traits: input.traits ?? [],
    antiNarration: input.antiNarration ?? [],
    damp96Summary: input.damp96Summary ?? {},
    version: input.version ?? 1,
    lastEvolved: input.lastEvolved ?? new Date(0).toISOString(),
  };
}

export function toKnowledge(input: { domains: KnowledgeDomain[]; totalDocuments?: number }): KnowledgeMetadata {
  const total = input.domains.reduce((sum, domain) => sum + domain.documentCount, 0);
  return { domains: input.domains, totalDocuments: input.totalDocuments ?? total };
}
