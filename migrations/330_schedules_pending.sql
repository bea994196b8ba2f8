-- The scheduler tick's sweep of schedules left PENDING by a createSchedule cut by a crash.
CREATE INDEX IF NOT EXISTS schedules_pending_idx ON schedules (created_at) WHERE status = 'PENDING';
