-- Jobs as the phone holds them, the history of every action, and the outbox of messages
-- those actions produced. A job row and its outbox row are always written in one transaction.
CREATE TABLE jobs (
    job_ref          TEXT PRIMARY KEY,
    provider_job_id  TEXT NOT NULL,
    pack             TEXT NOT NULL,            -- createJob content as JSON, unknown fields kept
    state            TEXT NOT NULL,            -- lifecycle::JobState as JSON
    ont              TEXT,                     -- last scanned OntDevice as JSON
    cancel_reason    TEXT,
    closure          TEXT,                     -- closure rule as JSON once closed
    received_at      INTEGER NOT NULL,         -- ms since the epoch
    updated_at       INTEGER NOT NULL
) STRICT;

CREATE TABLE actions (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    job_ref     TEXT NOT NULL REFERENCES jobs(job_ref),
    action      TEXT NOT NULL,                 -- lifecycle::Action::name
    acted_at    INTEGER NOT NULL,              -- when the engineer acted (ms)
    state_after TEXT NOT NULL
) STRICT;
CREATE INDEX actions_by_job ON actions(job_ref, id);

CREATE TABLE outbox (
    seq              INTEGER PRIMARY KEY AUTOINCREMENT,  -- creation order, per-job FIFO key
    job_ref          TEXT NOT NULL REFERENCES jobs(job_ref),
    method           TEXT NOT NULL,            -- notifyJob / closeJob
    label            TEXT NOT NULL,            -- what the engineer did, for the pending screen
    rpc_id           INTEGER NOT NULL,         -- fixed at creation, reused on every retry
    idempotency_key  TEXT NOT NULL UNIQUE,     -- fixed at creation, reused on every retry
    body             BLOB NOT NULL,            -- the exact request bytes
    acted_at         INTEGER NOT NULL,
    created_at       INTEGER NOT NULL,
    state            TEXT NOT NULL DEFAULT 'queued'
                     CHECK (state IN ('queued', 'sending', 'retrying', 'sent', 'parked', 'discarded')),
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  INTEGER,
    last_error       TEXT,
    parked_reason    TEXT,
    maybe_delivered  INTEGER NOT NULL DEFAULT 0,
    sent_at          INTEGER
) STRICT;
CREATE INDEX outbox_open_by_job ON outbox(job_ref, seq) WHERE state NOT IN ('sent', 'discarded');
