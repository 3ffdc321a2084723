-- Dispatch, devices and the phones' side.

CREATE TABLE engineers (
    engineer_id  TEXT PRIMARY KEY,
    name         TEXT NOT NULL,
    phone        TEXT NOT NULL,
    company      TEXT
) STRICT;

ALTER TABLE jobs ADD COLUMN engineer_id TEXT REFERENCES engineers(engineer_id);

-- Per-engineer inbox the phones pull; the cursor is the last seq handed out.
CREATE TABLE device_inbox (
    seq          INTEGER PRIMARY KEY AUTOINCREMENT,
    engineer_id  TEXT NOT NULL,
    job_ref      TEXT NOT NULL,
    envelope     TEXT NOT NULL,
    created_at   INTEGER NOT NULL
) STRICT;
CREATE INDEX device_inbox_by_engineer ON device_inbox(engineer_id, seq);

-- Client certificates the hub CA issued; a device is known by its certificate's SHA-256.
CREATE TABLE devices (
    device_id    TEXT PRIMARY KEY,
    engineer_id  TEXT,                         -- NULL for a back-office certificate
    role         TEXT NOT NULL CHECK (role IN ('device', 'office')),
    fingerprint  TEXT NOT NULL UNIQUE,
    issued_at    INTEGER NOT NULL,
    revoked_at   INTEGER
) STRICT;

-- Pushes from phones, once per Idempotency-Key, with the answer given.
CREATE TABLE pushes (
    idempotency_key  TEXT PRIMARY KEY,
    engineer_id      TEXT NOT NULL,
    job_ref          TEXT NOT NULL,
    method           TEXT NOT NULL,
    outbox_seq       INTEGER NOT NULL,
    received_at      INTEGER NOT NULL,
    answer           TEXT NOT NULL
) STRICT;

-- The hub's outbox to CityFibre: the same table jobpack-core's outbox module reads and
-- writes on a phone (core/src/store/migrations 0001, 0003, 0004, 0007), so delivery, order,
-- retries and parking are the core's code.
CREATE TABLE outbox (
    seq                 INTEGER PRIMARY KEY AUTOINCREMENT,
    job_ref             TEXT NOT NULL REFERENCES jobs(job_ref),
    method              TEXT NOT NULL,
    label               TEXT NOT NULL,
    rpc_id              INTEGER NOT NULL,
    idempotency_key     TEXT NOT NULL UNIQUE,
    body                BLOB NOT NULL,
    acted_at            INTEGER NOT NULL,
    created_at          INTEGER NOT NULL,
    state               TEXT NOT NULL DEFAULT 'queued'
                        CHECK (state IN ('queued', 'sending', 'retrying', 'sent', 'parked', 'discarded')),
    attempts            INTEGER NOT NULL DEFAULT 0,
    next_attempt_at     INTEGER,
    last_error          TEXT,
    parked_reason       TEXT,
    maybe_delivered     INTEGER NOT NULL DEFAULT 0,
    sent_at             INTEGER,
    kind                TEXT NOT NULL DEFAULT 'rpc' CHECK (kind IN ('rpc', 'upload')),
    device_acted_at     INTEGER,
    time_source         TEXT,
    clock_check_age_ms  INTEGER
) STRICT;
CREATE INDEX outbox_open_by_job ON outbox(job_ref, seq) WHERE state NOT IN ('sent', 'discarded');
CREATE INDEX outbox_open_lanes ON outbox(job_ref, kind, seq) WHERE state NOT IN ('sent', 'discarded');
CREATE TABLE outbox_dependencies (
    item        INTEGER NOT NULL REFERENCES outbox(seq) ON DELETE CASCADE,
    depends_on  INTEGER NOT NULL REFERENCES outbox(seq),
    PRIMARY KEY (item, depends_on)
) STRICT;
CREATE INDEX outbox_dependents ON outbox_dependencies(depends_on);
