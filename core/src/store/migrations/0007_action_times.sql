-- Trusted action times (core/src/clock.rs): each outbox message and each answer keeps the
-- device's own time beside the time it carries, and how that time was decided, so a time
-- corrected for a wrong phone clock (or clamped after the clock was set back) can be shown
-- and audited. Rows written before this version have neither: NULL means "not recorded".
ALTER TABLE outbox ADD COLUMN device_acted_at INTEGER;
ALTER TABLE outbox ADD COLUMN time_source TEXT;        -- unchecked, checked, corrected, clamped
ALTER TABLE outbox ADD COLUMN clock_check_age_ms INTEGER;
ALTER TABLE answers ADD COLUMN device_answered_at INTEGER;
ALTER TABLE answers ADD COLUMN time_source TEXT;
