-- Question based closure: every answer the engineer gives, and the photos attached to
-- questions. Rows are never updated in place except to mark them superseded or removed, so
-- the history of what was first said stays on the phone for QA and the back office, while
-- only the current rows go into the payload.
CREATE TABLE answers (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    job_ref        TEXT NOT NULL REFERENCES jobs(job_ref),
    journey        TEXT NOT NULL CHECK (journey IN ('visit', 'closure')),
    question_code  TEXT NOT NULL,
    answer         TEXT NOT NULL,           -- the canonical answer string sent to CityFibre
    answered_at    INTEGER NOT NULL,        -- when the engineer answered (ms)
    superseded_at  INTEGER                  -- set when a later answer replaced it
) STRICT;
CREATE UNIQUE INDEX answers_current ON answers(job_ref, journey, question_code)
    WHERE superseded_at IS NULL;
CREATE INDEX answers_by_job ON answers(job_ref, id);

CREATE TABLE photos (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    job_ref        TEXT NOT NULL REFERENCES jobs(job_ref),
    journey        TEXT NOT NULL CHECK (journey IN ('visit', 'closure')),
    question_code  TEXT NOT NULL,
    sha256         TEXT NOT NULL,           -- of the re-encoded JPEG
    file_name      TEXT NOT NULL,           -- FileReference.name
    object_path    TEXT NOT NULL,           -- s3://bucket/key, deterministic from job, question, hash
    upload_seq     INTEGER NOT NULL,        -- outbox item (no foreign key: sent items may be pruned)
    attached_at    INTEGER NOT NULL,
    removed_at     INTEGER
) STRICT;
CREATE UNIQUE INDEX photos_current ON photos(job_ref, journey, question_code, sha256)
    WHERE removed_at IS NULL;
