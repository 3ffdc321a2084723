-- The sync engine asks for the head of every lane (job, kind) of open items; index exactly
-- that, so claiming a batch of heads stays cheap with a backlog of thousands.
DROP INDEX outbox_open_by_job;
CREATE INDEX outbox_open_lanes ON outbox(job_ref, kind, seq) WHERE state NOT IN ('sent', 'discarded');
