-- A schedule's soul-memory events (schedule_create, schedule_fire) form a conversation of their own,
-- named by the schedule id, so that it is sealed and deleted like a chat. It is no chat, though: the
-- `conversations` page and the projection read chat conversations only.
-- A constant default adds the column without rewriting the table; the CHECK is added NOT VALID (no
-- scan under this migration's ACCESS EXCLUSIVE lock) and validated by 221 in its own transaction.
ALTER TABLE memory_conversations ADD COLUMN IF NOT EXISTS kind text NOT NULL DEFAULT 'chat';
ALTER TABLE memory_conversations ADD CONSTRAINT memory_conversations_kind_check CHECK (kind IN ('chat', 'schedule')) NOT VALID;
