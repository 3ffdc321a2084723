-- What CityFibre sent us through the inbox, stored with the cursor in one transaction so a
-- redelivered page is recognised and ignored; what could not be read is kept in quarantine.
CREATE TABLE inbox (
    envelope_key  TEXT PRIMARY KEY,            -- method:id:ref, stable across redeliveries
    job_ref       TEXT NOT NULL,
    method        TEXT NOT NULL,
    received_at   INTEGER NOT NULL,
    body          TEXT NOT NULL,
    note          TEXT                         -- why it changed nothing (late, unknown job)
) STRICT;

CREATE TABLE quarantine (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    received_at  INTEGER NOT NULL,
    body         TEXT NOT NULL,
    reason       TEXT NOT NULL
) STRICT;

CREATE TABLE sync_state (
    key    TEXT PRIMARY KEY,                   -- inbox_cursor, healthy_endpoint
    value  TEXT NOT NULL
) STRICT;
