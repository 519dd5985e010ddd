-- Each user's live feed: task changes and notifications, numbered per user
-- (seq) when their transaction commits, under the user's row lock, so a
-- stream resuming after n misses nothing. The row number (id) only tells
-- replicas whose feed moved.
ALTER TABLE users ADD COLUMN feed_seq BIGINT NOT NULL DEFAULT 0;

CREATE TABLE user_feed (
    id         BIGSERIAL PRIMARY KEY,
    user_id    UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    seq        BIGINT NOT NULL,
    event_type TEXT NOT NULL,
    data       TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    UNIQUE (user_id, seq)
);
CREATE INDEX user_feed_created_idx ON user_feed (created_at);
