-- The projection reads an NFT's last 50 `message` events, and events(types) filters by type: without
-- this index both walk every event of the NFT, and schedule_fire adds one per firing.
CREATE INDEX IF NOT EXISTS memory_events_type_idx ON memory_events (nft_id, type, id);
