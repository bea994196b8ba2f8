-- Which wallet owns which Finn session (finn.md A.2: Finn's own list is not scoped to any user).
CREATE TABLE IF NOT EXISTS chat_sessions (
  id text PRIMARY KEY,
  owner_wallet text NOT NULL,
  nft_id text,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS chat_sessions_owner_idx ON chat_sessions (owner_wallet, created_at DESC);
