-- Validates 220's CHECK: a scan that takes only a SHARE UPDATE EXCLUSIVE lock, so chat appends and
-- reads go on meanwhile.
ALTER TABLE memory_conversations VALIDATE CONSTRAINT memory_conversations_kind_check;
