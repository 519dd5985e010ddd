-- Personal access tokens for the API: a name the user chose, what the token
-- may do (`read`, or `read write`), and when it stops working (NULL: never).
-- Only the SHA-256 of the secret is kept, as for sessions; last use is
-- written at most once a minute per token, so reads do not become writes.
CREATE TABLE api_tokens (
    id           UUID PRIMARY KEY,
    user_id      UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    token_hash   TEXT NOT NULL UNIQUE,
    scopes       TEXT NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    expires_at   TIMESTAMPTZ,
    last_used_at TIMESTAMPTZ
);
CREATE UNIQUE INDEX api_tokens_name_idx ON api_tokens (user_id, name);
