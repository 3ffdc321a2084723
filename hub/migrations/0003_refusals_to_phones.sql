-- A device's inbox also carries CityFibre's refusals of messages that device pushed: the hub
-- accepted them first, so this is how the refusal reaches the engineer's outbox (the phone
-- parks its copy). Served in `pull` under the same cursor as the envelopes.
ALTER TABLE device_inbox ADD COLUMN kind TEXT NOT NULL DEFAULT 'envelope'
    CHECK (kind IN ('envelope', 'refusal'));
