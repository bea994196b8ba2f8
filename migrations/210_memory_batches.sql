-- The memory writer's last batch per conversation: a batch retried after a COMMIT whose reply was
-- lost (it did commit) is recognised and not appended twice.
ALTER TABLE memory_conversations ADD COLUMN IF NOT EXISTS last_batch_id text;
