-- Reputation aggregates per NFT (domain.md); /api/health reports their row count.
CREATE TABLE IF NOT EXISTS reputation_aggregates (
  nft_id text PRIMARY KEY,
  state text NOT NULL DEFAULT 'COLD',
  personal_score double precision NOT NULL DEFAULT 0,
  collection_score double precision NOT NULL DEFAULT 0,
  blended_score double precision NOT NULL DEFAULT 0,
  sample_count integer NOT NULL DEFAULT 0,
  updated_at timestamptz NOT NULL DEFAULT now()
);
