-- voteKnowledgePriority counts the sources a wallet has voted on (at most 100 each).
CREATE INDEX IF NOT EXISTS knowledge_priority_votes_wallet_idx ON knowledge_priority_votes (wallet);
