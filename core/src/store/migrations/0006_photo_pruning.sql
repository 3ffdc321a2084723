-- Retention: a photo's local file is removed once it is uploaded and the message that
-- references it is sent; the row stays (the payload history names it) and says when.
ALTER TABLE photos ADD COLUMN pruned_at INTEGER;
