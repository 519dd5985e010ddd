-- What undoing a bulk action needs: each task as it was before the action
-- (a deleted one included) and the tasks the action made, as one JSON
-- record the owner can use once, for a while (maintenance prunes old ones).
CREATE TABLE undo_actions (
    id         UUID PRIMARY KEY,
    user_id    UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at TIMESTAMPTZ NOT NULL,
    payload    TEXT NOT NULL
);
CREATE INDEX undo_actions_created_idx ON undo_actions (created_at);
