-- Schedules (domain.md): who fires them (Finn through B7, or Dixie's own scheduler tick) and
-- every execution, recorded exactly once.
CREATE TABLE IF NOT EXISTS schedules (
  id text PRIMARY KEY,
  nft_id text NOT NULL,
  owner_wallet text NOT NULL,
  name text,
  expression text NOT NULL,
  cron text NOT NULL,
  human_readable text NOT NULL,
  prompt text NOT NULL,
  status text NOT NULL DEFAULT 'PENDING'
    CHECK (status IN ('PENDING', 'ACTIVE', 'PAUSED', 'COMPLETED', 'CANCELLED', 'FAILED')),
  fired_by text CHECK (fired_by IN ('finn', 'dixie')),
  finn_cron_id text,
  max_fires integer CHECK (max_fires IS NULL OR max_fires > 0),
  fire_count integer NOT NULL DEFAULT 0,
  next_fire_at timestamptz,
  last_fired_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS schedules_nft_idx ON schedules (nft_id, created_at);
-- The scheduler tick's claim query: due rows that Dixie fires itself.
CREATE INDEX IF NOT EXISTS schedules_due_idx ON schedules (next_fire_at) WHERE status = 'ACTIVE' AND fired_by = 'dixie';

CREATE TABLE IF NOT EXISTS schedule_executions (
  id bigserial PRIMARY KEY,
  schedule_id text NOT NULL REFERENCES schedules (id) ON DELETE CASCADE,
  nft_id text NOT NULL,
  source text NOT NULL CHECK (source IN ('finn', 'dixie')),
  -- Dixie-fired: the due time this execution is for. Finn callbacks: null.
  fire_at timestamptz,
  -- Finn callbacks: the messageId, else the signature.
  idempotency_key text,
  status text NOT NULL CHECK (status IN ('RUNNING', 'SUCCESS', 'FAILED', 'SKIPPED')),
  fired_at timestamptz NOT NULL DEFAULT now(),
  message_id text,
  session_id text,
  error text,
  -- While RUNNING: who holds the firing and until when; another instance takes over after that.
  claim_token text,
  lease_until timestamptz,
  attempts integer NOT NULL DEFAULT 1
);
-- Exactly once per due firing, and once per callback, whatever the number of instances.
CREATE UNIQUE INDEX IF NOT EXISTS schedule_executions_fire_uq ON schedule_executions (schedule_id, fire_at);
CREATE UNIQUE INDEX IF NOT EXISTS schedule_executions_key_uq ON schedule_executions (schedule_id, idempotency_key);
CREATE INDEX IF NOT EXISTS schedule_executions_list_idx ON schedule_executions (schedule_id, id DESC);
CREATE INDEX IF NOT EXISTS schedule_executions_lease_idx ON schedule_executions (lease_until) WHERE status = 'RUNNING';
