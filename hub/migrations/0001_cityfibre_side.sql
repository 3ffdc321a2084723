-- What CityFibre sent us. Every call is committed here before it is answered.
-- jobs: one row per job reference; provider_job_id is fixed at the first createJob and given
-- again on every redelivery.
CREATE TABLE jobs (
    job_ref          TEXT PRIMARY KEY,
    provider_job_id  TEXT NOT NULL UNIQUE,
    pack             TEXT,                      -- the createJob envelope's content (JSON)
    state            TEXT NOT NULL DEFAULT 'received'
                     CHECK (state IN ('received', 'assigned', 'cancelled')),
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL
) STRICT;

-- Every envelope CityFibre delivered, once per (method, id, ref); a redelivery is answered
-- from here and applied nowhere.
CREATE TABLE inbound (
    seq           INTEGER PRIMARY KEY AUTOINCREMENT,
    envelope_key  TEXT NOT NULL UNIQUE,
    job_ref       TEXT NOT NULL,
    method        TEXT NOT NULL,
    sent_at       INTEGER NOT NULL,            -- the envelope's own time
    received_at   INTEGER NOT NULL,
    body          TEXT NOT NULL,
    answer        TEXT NOT NULL,               -- what we answered, replayed on redelivery
    note          TEXT                         -- why it changed nothing, when it did not
) STRICT;
CREATE INDEX inbound_by_job ON inbound(job_ref, seq);

-- Requests we refused (malformed, unknown, oversized), kept for a person to inspect.
CREATE TABLE rejected (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    received_at  INTEGER NOT NULL,
    side         TEXT NOT NULL,                -- cityfibre / device
    path         TEXT NOT NULL,
    code         INTEGER NOT NULL,             -- the JSON-RPC error code we answered
    reason       TEXT NOT NULL,
    size         INTEGER NOT NULL,             -- bytes received (the body may be cut)
    body         BLOB NOT NULL
) STRICT;
