export const REPUTATION_STATES = ['COLD', 'WARMING', 'ESTABLISHED', 'AUTHORITATIVE'] as const;
export type ReputationState = (typeof REPUTATION_STATES)[number];

/** Weight of the collection prior in the blend: it counts as this many samples. */
export const COLLECTION_PRIOR_WEIGHT = 3;

export interface ReputationAggregate {
  nftId: string;
  state: ReputationState;
  /** Mean of this NFT's signals; null before the first one. */
  personalScore: number | null;
  collectionScore: number;
  blendedScore: number;
  sampleCount: number;
  updatedAt: string | null;
}

/** COLD < 5 samples ≤ WARMING < 20 ≤ ESTABLISHED < 100 ≤ AUTHORITATIVE. */
export function reputationState(sampleCount: number): ReputationState {
  if (sampleCount < 5) return 'COLD';
  if (sampleCount < 20) return 'WARMING';
  if (sampleCount < 100) return 'ESTABLISHED';
  return 'AUTHORITATIVE';
}

/** blended = (3·collection + n·personal) / (3 + n): the collection mean until the NFT has its own history. */
export function blendedScore(collection: number, personal: number, n: number): number {
  if (n <= 0) return collection;
  return (COLLECTION_PRIOR_WEIGHT * collection + n * personal) / (COLLECTION_PRIOR_WEIGHT + n);
}

export function mean(values: readonly number[]): number {
  return values.length === 0 ? 0 : values.reduce((a, b) => a + b, 0) / values.length;
}

/** The aggregate as reported, from a running sum and the collection mean. */
export function aggregateOf(input: {
  nftId: string;
  scoreSum: number;
  sampleCount: number;
  collectionScore: number;
  updatedAt: string | null;
}): ReputationAggregate {
  const n = input.sampleCount;
  const personal = n > 0 ? input.scoreSum / n : null;
  return {
    nftId: input.nftId,
    state: reputationState(n),
    personalScore: personal,
    collectionScore: input.collectionScore,
    blendedScore: blendedScore(input.collectionScore, personal ?? 0, n),
    sampleCount: n,
    updatedAt: input.updatedAt,
  };
}

export interface QualitySignal {
  nftId: string;
  score: number;
  taskType: string | null;
}

const NFT_ID = /^[A-Za-z0-9_:-]{1,128}$/;

/** Validates a `dixie.signal.quality` body; returns the reason it is invalid as a string. */
export function parseQualitySignal(data: unknown): QualitySignal | string {
  if (!data || typeof data !== 'object' || Array.isArray(data)) return 'not_an_object';
  const { nftId, score, taskType } = data as Record<string, unknown>;
  if (typeof nftId !== 'string' || !NFT_ID.test(nftId)) return 'invalid_nft_id';
  if (typeof score !== 'number' || !Number.isFinite(score) || score < 0 || score > 1) return 'invalid_score';
  if (taskType !== undefined && taskType !== null && (typeof taskType !== 'string' || taskType.length > 64)) return 'invalid_task_type';
  return { nftId, score, taskType: typeof taskType === 'string' ? taskType : null };
}
