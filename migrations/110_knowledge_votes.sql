-- One priority vote per wallet per knowledge source (upserted); the knowledge_governor reads it.
CREATE TABLE IF NOT EXISTS knowledge_priority_votes (
  source_id text NOT NULL,
  wallet text NOT NULL,
  priority smallint NOT NULL CHECK (priority BETWEEN 1 AND 5),
  voted_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (source_id, wallet)
);
CREATE INDEX IF NOT EXISTS knowledge_priority_votes_voted_at_idx ON knowledge_priority_votes (voted_at);
