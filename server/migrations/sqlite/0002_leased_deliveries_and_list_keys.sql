-- Per-subscriber leased deliveries replace the outbox's single published flag;
-- tasks get the key their list sorts and pages by and their tags beside them;
-- users get a list version; sessions can be purged by age.
CREATE TABLE subscribers (
    name          TEXT PRIMARY KEY NOT NULL,
    registered_at TEXT NOT NULL
);

CREATE TABLE outbox_deliveries (
    seq          INTEGER NOT NULL REFERENCES outbox (seq) ON DELETE CASCADE,
    subscriber   TEXT NOT NULL,
    stream       BLOB NOT NULL,
    attempts     INTEGER NOT NULL DEFAULT 0,
    available_at INTEGER NOT NULL,
    lease_owner  TEXT,
    lease_until  INTEGER,
    last_error   TEXT,
    done_at      TEXT,
    dead_at      TEXT,
    PRIMARY KEY (subscriber, seq)
);
CREATE INDEX outbox_deliveries_open_idx ON outbox_deliveries (subscriber, seq)
    WHERE done_at IS NULL AND dead_at IS NULL;
CREATE INDEX outbox_deliveries_stream_idx ON outbox_deliveries (subscriber, stream, seq)
    WHERE done_at IS NULL AND dead_at IS NULL;
CREATE INDEX outbox_deliveries_dead_idx ON outbox_deliveries (dead_at) WHERE dead_at IS NOT NULL;

-- Events not yet published stay owed to the audit log, the only consumer so far.
INSERT INTO subscribers (name, registered_at) VALUES ('audit-log', strftime('%Y-%m-%dT%H:%M:%fZ', 'now'));
INSERT INTO outbox_deliveries (seq, subscriber, stream, available_at)
    SELECT seq, 'audit-log', user_id, 0 FROM outbox WHERE published_at IS NULL;
DROP INDEX outbox_pending_idx;
ALTER TABLE outbox DROP COLUMN published_at;
CREATE INDEX outbox_occurred_idx ON outbox (occurred_at);

-- Filled in by the application at start-up for tasks written before this migration.
ALTER TABLE tasks ADD COLUMN list_key TEXT NOT NULL DEFAULT '';
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
UPDATE tasks SET tags = COALESCE((SELECT group_concat(tag, ',') FROM (SELECT g.tag FROM task_tags g WHERE g.task_id = tasks.id ORDER BY g.position)), '');
