-- Soul memory (domain.md): an append-only event log per NFT. Payloads are only ever rewritten by
-- sealing (encrypted into `sealed`) or deletion (erased); rows are never removed.
CREATE TABLE IF NOT EXISTS memory_events (
  id bigserial PRIMARY KEY,
  nft_id text NOT NULL,
  conversation_id text NOT NULL,
  type text NOT NULL CHECK (type IN ('message', 'tool_use', 'seal', 'delete', 'policy_change', 'schedule_create', 'schedule_fire')),
  payload jsonb,
  -- AES-256-GCM: 12-byte IV, 16-byte tag, ciphertext (payload is then NULL).
  sealed bytea,
  erased boolean NOT NULL DEFAULT false,
  actor_wallet text,
  created_at timestamptz NOT NULL DEFAULT now()
);
-- Keyset pagination (WHERE nft_id = $1 AND id < $2 ORDER BY id DESC) is an index scan at any depth.
CREATE INDEX IF NOT EXISTS memory_events_nft_idx ON memory_events (nft_id, id);
CREATE INDEX IF NOT EXISTS memory_events_conversation_idx ON memory_events (nft_id, conversation_id, id);

CREATE TABLE IF NOT EXISTS memory_conversations (
  id bigserial UNIQUE,
  nft_id text NOT NULL,
  conversation_id text NOT NULL,
  event_count integer NOT NULL DEFAULT 0,
  started_at timestamptz NOT NULL DEFAULT now(),
  last_event_at timestamptz NOT NULL DEFAULT now(),
  sealed_at timestamptz,
  seal_policy jsonb,
  sealed_event_count integer,
  deleted_at timestamptz,
  PRIMARY KEY (nft_id, conversation_id)
);
CREATE INDEX IF NOT EXISTS memory_conversations_nft_idx ON memory_conversations (nft_id, id);

-- What wallets other than the owner and delegates may see (domain.md); absent means 'none'.
CREATE TABLE IF NOT EXISTS memory_policies (
  nft_id text PRIMARY KEY,
  access text NOT NULL DEFAULT 'none' CHECK (access IN ('none', 'read_only')),
  updated_by text,
  updated_at timestamptz NOT NULL DEFAULT now()
);
