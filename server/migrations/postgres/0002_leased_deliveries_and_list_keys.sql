-- Per-subscriber leased deliveries replace the outbox's single published flag;
-- tasks get the key their list sorts and pages by and their tags beside them;
-- users get a list version; sessions can be purged by age.
CREATE TABLE subscribers (
    name          TEXT PRIMARY KEY,
    registered_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE outbox_deliveries (
    seq          BIGINT NOT NULL REFERENCES outbox (seq) ON DELETE CASCADE,
    subscriber   TEXT NOT NULL,
    stream       UUID NOT NULL,
    attempts     BIGINT NOT NULL DEFAULT 0,
    available_at BIGINT NOT NULL,
    lease_owner  TEXT,
    lease_until  BIGINT,
    last_error   TEXT,
    done_at      TIMESTAMPTZ,
    dead_at      TIMESTAMPTZ,
    PRIMARY KEY (subscriber, seq)
);
CREATE INDEX outbox_deliveries_open_idx ON outbox_deliveries (subscriber, seq)
    WHERE done_at IS NULL AND dead_at IS NULL;
CREATE INDEX outbox_deliveries_stream_idx ON outbox_deliveries (subscriber, stream, seq)
    WHERE done_at IS NULL AND dead_at IS NULL;
CREATE INDEX outbox_deliveries_dead_idx ON outbox_deliveries (dead_at) WHERE dead_at IS NOT NULL;

-- Events not yet published stay owed to the audit log, the only consumer so far.
INSERT INTO subscribers (name, registered_at) VALUES ('audit-log', now());
INSERT INTO outbox_deliveries (seq, subscriber, stream, available_at)
    SELECT seq, 'audit-log', user_id, 0 FROM outbox WHERE published_at IS NULL;
ALTER TABLE outbox DROP COLUMN published_at;
CREATE INDEX outbox_occurred_idx ON outbox (occurred_at);

-- Filled in by the application at start-up for tasks written before this migration.
ALTER TABLE tasks ADD COLUMN list_key TEXT COLLATE "C" NOT NULL DEFAULT '';
DROP INDEX tasks_user_list_idx;
CREATE INDEX tasks_list_idx ON tasks (user_id, list_key);

CREATE INDEX sessions_expires_idx ON sessions (expires_at);

-- Raised by every change to a user's tasks, in its transaction; read with the
-- session, it tells a replica whether its copy of the user's list is current.
ALTER TABLE users ADD COLUMN list_version BIGINT NOT NULL DEFAULT 0;

-- A task's tags, comma-joined in their order, beside the task: a list row or a
-- task is read from its own row. task_tags stays the index for filters and the
-- list of a user's tags.
ALTER TABLE tasks ADD COLUMN tags TEXT NOT NULL DEFAULT '';
UPDATE tasks SET tags = COALESCE((SELECT string_agg(g.tag, ',' ORDER BY g.position) FROM task_tags g WHERE g.task_id = tasks.id), '');
