-- Autonomous mode per NFT (domain.md), its daily spend and the audit log of every change.
CREATE TABLE IF NOT EXISTS autonomous_permissions (
  nft_id text PRIMARY KEY,
  enabled boolean NOT NULL DEFAULT false,
  owner_wallet text NOT NULL,
  delegated_wallets text[] NOT NULL DEFAULT '{}',
  capabilities jsonb NOT NULL DEFAULT '{}',
  daily_limit_micro_usd bigint NOT NULL CHECK (daily_limit_micro_usd >= 0),
  updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS autonomous_spend (
  nft_id text NOT NULL,
  day date NOT NULL,
  spent_micro_usd bigint NOT NULL DEFAULT 0,
  PRIMARY KEY (nft_id, day)
);

CREATE TABLE IF NOT EXISTS autonomous_audit (
  id bigserial PRIMARY KEY,
  nft_id text NOT NULL,
  actor_wallet text NOT NULL,
  changed_at timestamptz NOT NULL DEFAULT now(),
  before jsonb,
  after jsonb NOT NULL
);
CREATE INDEX IF NOT EXISTS autonomous_audit_nft_idx ON autonomous_audit (nft_id, id DESC);
