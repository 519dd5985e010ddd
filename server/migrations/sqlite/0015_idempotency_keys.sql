-- Idempotency keys of the API's creates, per user: the fingerprint of the
-- first request's body, and its answer once it has one (NULL while it is
-- being made, so a concurrent retry can be told to wait). Kept a day.
CREATE TABLE idempotency_keys (
    user_id     BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    key         TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    response    TEXT,
    PRIMARY KEY (user_id, key)
);
CREATE INDEX idempotency_keys_created_idx ON idempotency_keys (created_at);
