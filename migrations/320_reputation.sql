-- Reputation (domain.md): reputation_aggregates comes from 001; a running sum makes the mean exact,
-- and every applied quality signal's message id is kept so a redelivery changes nothing.
ALTER TABLE reputation_aggregates ADD COLUMN IF NOT EXISTS score_sum double precision NOT NULL DEFAULT 0;

CREATE TABLE IF NOT EXISTS reputation_signals (
  msg_id text PRIMARY KEY,
  nft_id text NOT NULL,
  score double precision NOT NULL CHECK (score >= 0 AND score <= 1),
  task_type text,
  received_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS reputation_signals_received_idx ON reputation_signals (received_at);
