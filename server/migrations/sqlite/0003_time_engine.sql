-- The time engine: repeating tasks and their series, reminders, durable
-- timers, and notifications numbered per user.

-- A repeating task's series and its place in it (the Repeat value as JSON,
-- its local start day and zone the source of truth of every occurrence).
-- One instance per series and scheduled day: the key that makes making the
-- next instance idempotent.
ALTER TABLE tasks ADD COLUMN series_id BLOB;
ALTER TABLE tasks ADD COLUMN occurrence TEXT;
ALTER TABLE tasks ADD COLUMN repeat TEXT;
-- Comma-separated, as the form writes them: "at due, 15m, 2026-12-24 18:00".
ALTER TABLE tasks ADD COLUMN reminders TEXT NOT NULL DEFAULT '';
CREATE UNIQUE INDEX tasks_series_occurrence_idx ON tasks (series_id, occurrence) WHERE series_id IS NOT NULL;

-- A series cut short by deleting "this and all following" has no instance on or after ends_before.
CREATE TABLE task_series (
    id          BLOB PRIMARY KEY NOT NULL,
    user_id     BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    ends_before TEXT,
    created_at  TEXT NOT NULL
);

-- Instants are milliseconds since the epoch, compared as integers on both backends.
CREATE TABLE timers (
    id          BLOB PRIMARY KEY NOT NULL,
    user_id     BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    task_id     BLOB NOT NULL,
    kind        TEXT NOT NULL,
    fire_at     BIGINT NOT NULL,
    title       TEXT NOT NULL,
    label       TEXT NOT NULL,
    attempts    BIGINT NOT NULL DEFAULT 0,
    lease_owner TEXT,
    lease_until BIGINT,
    fired_at    BIGINT
);
CREATE INDEX timers_due_idx ON timers (fire_at) WHERE fired_at IS NULL;
CREATE INDEX timers_task_idx ON timers (task_id) WHERE fired_at IS NULL;
CREATE INDEX timers_fired_idx ON timers (fired_at) WHERE fired_at IS NOT NULL;

ALTER TABLE users ADD COLUMN default_reminder BIGINT;
-- The last notification number given to the user; raised under the user's
-- row lock, so numbers are given in commit order.
ALTER TABLE users ADD COLUMN notification_seq BIGINT NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN unread_notifications BIGINT NOT NULL DEFAULT 0;

CREATE TABLE notifications (
    user_id      BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    seq          BIGINT NOT NULL,
    kind         TEXT NOT NULL,
    task_id      BLOB,
    title        TEXT NOT NULL,
    body         TEXT NOT NULL,
    punctuality  TEXT,
    source_event BLOB NOT NULL UNIQUE,
    created_at   TEXT NOT NULL,
    read_at      TEXT,
    PRIMARY KEY (user_id, seq)
);
CREATE INDEX notifications_unread_idx ON notifications (user_id, seq) WHERE read_at IS NULL;
