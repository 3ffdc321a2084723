-- An outbox item can wait for others: a closeJob waits for the uploads of the photos it
-- references. Uploads are outbox items too, so they share retries, parking and crash safety.
ALTER TABLE outbox ADD COLUMN kind TEXT NOT NULL DEFAULT 'rpc' CHECK (kind IN ('rpc', 'upload'));

CREATE TABLE outbox_dependencies (
    item        INTEGER NOT NULL REFERENCES outbox(seq) ON DELETE CASCADE,
    depends_on  INTEGER NOT NULL REFERENCES outbox(seq),
    PRIMARY KEY (item, depends_on)
) STRICT;
CREATE INDEX outbox_dependents ON outbox_dependencies(depends_on);
