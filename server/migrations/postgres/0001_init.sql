-- Accounts, sessions, tasks, the outbox and the audit log (PostgreSQL).
CREATE TABLE users (
    id            UUID PRIMARY KEY,
    email         TEXT NOT NULL UNIQUE,
    display_name  TEXT NOT NULL,
    time_zone     TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL
);

CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    user_id    UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX sessions_user_idx ON sessions (user_id);

CREATE TABLE tasks (
    id           UUID PRIMARY KEY,
    user_id      UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    title        TEXT NOT NULL,
    description  TEXT,
    priority     BIGINT NOT NULL DEFAULT 0,
    due_at       TIMESTAMPTZ,
    due_tz       TEXT,
    due_has_time BOOLEAN NOT NULL DEFAULT FALSE,
    completed_at TIMESTAMPTZ,
    created_at   TIMESTAMPTZ NOT NULL,
    updated_at   TIMESTAMPTZ NOT NULL
);
CREATE INDEX tasks_user_list_idx ON tasks (user_id, completed_at, due_at);

CREATE TABLE task_tags (
    task_id  UUID NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
    user_id  UUID NOT NULL,
    tag      TEXT NOT NULL,
    position BIGINT NOT NULL,
    PRIMARY KEY (task_id, tag)
);
CREATE INDEX task_tags_user_tag_idx ON task_tags (user_id, tag);

CREATE TABLE outbox (
    seq            BIGSERIAL PRIMARY KEY,
    event_id       UUID NOT NULL UNIQUE,
    event_type     TEXT NOT NULL,
    schema_version BIGINT NOT NULL,
    user_id        UUID NOT NULL,
    occurred_at    TIMESTAMPTZ NOT NULL,
    payload        JSONB NOT NULL,
    published_at   TIMESTAMPTZ
);
CREATE INDEX outbox_pending_idx ON outbox (seq) WHERE published_at IS NULL;

CREATE TABLE audit_log (
    event_id    UUID PRIMARY KEY,
    user_id     UUID NOT NULL,
    task_id     UUID,
    event_type  TEXT NOT NULL,
    summary     TEXT NOT NULL,
    occurred_at TIMESTAMPTZ NOT NULL,
    recorded_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX audit_log_user_idx ON audit_log (user_id, occurred_at DESC);
CREATE INDEX audit_log_task_idx ON audit_log (task_id, occurred_at DESC);
