-- Views a user saved: a name for a search and its order, in the canonical
-- text form of the list's `q`, kept in the order of the sidebar.
CREATE TABLE saved_views (
    id         UUID PRIMARY KEY,
    user_id    UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name       TEXT NOT NULL,
    query      TEXT NOT NULL,
    position   BIGINT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);
CREATE UNIQUE INDEX saved_views_name_idx ON saved_views (user_id, name);
CREATE INDEX saved_views_order_idx ON saved_views (user_id, position);
