-- A schedule's soul-memory events (schedule_create, schedule_fire) form a conversation of their own,
-- named by the schedule id, so that it is sealed and deleted like a chat. It is no chat, though: the
-- `conversations` page and the projection read chat conversations only.
ALTER TABLE memory_conversations ADD COLUMN IF NOT EXISTS kind text NOT NULL DEFAULT 'chat' CHECK (kind IN ('chat', 'schedule'));
