-- Search scoped to its owner and status, and matched without a join.
--
-- Each search row gains a `scope` column of two tokens, `u<user id in hex>` and
-- the same with `o` (open) or `d` (done) after it, so a search names its
-- user and status inside the FTS5 query: FTS5 intersects the hit lists, a
-- user's search never reads another user's hits, and the count of a plain
-- search is read from FTS5 alone. The row is rewritten when its task is
-- completed or reopened (its list key's first character is its status).
--
-- Each task keeps its search row's id (`search_id`), and the list index
-- covers it: walking the list tests a row against a hit list without a
-- lookup per row.
ALTER TABLE tasks ADD COLUMN search_id INTEGER;
UPDATE tasks SET search_id = (SELECT m.id FROM task_search_ids m WHERE m.task_id = tasks.id);
DROP INDEX tasks_list_ids_idx;
CREATE INDEX tasks_list_ids_idx ON tasks (user_id, list_key, id, search_id);

DROP TRIGGER tasks_search_insert;
DROP TRIGGER tasks_search_update;
DROP TRIGGER tasks_search_delete;
DROP TABLE task_search;

CREATE VIRTUAL TABLE task_search USING fts5(
    title,
    body,
    scope,
    tokenize = 'unicode61 remove_diacritics 2',
    prefix = '1 2 3'
);

INSERT INTO task_search (rowid, title, body, scope)
    SELECT t.search_id, t.title, COALESCE(t.description, '') || ' ' || replace(t.tags, ',', ' '),
        'u' || lower(hex(t.user_id)) || ' u' || lower(hex(t.user_id)) || (CASE WHEN t.list_key < '1' THEN 'o' ELSE 'd' END)
    FROM tasks t;

CREATE TRIGGER tasks_search_insert AFTER INSERT ON tasks BEGIN
    INSERT INTO task_search_ids (task_id) VALUES (new.id);
    UPDATE tasks SET search_id = (SELECT id FROM task_search_ids WHERE task_id = new.id) WHERE id = new.id;
    INSERT INTO task_search (rowid, title, body, scope) VALUES (
        (SELECT search_id FROM tasks WHERE id = new.id),
        new.title,
        COALESCE(new.description, '') || ' ' || replace(new.tags, ',', ' '),
        'u' || lower(hex(new.user_id)) || ' u' || lower(hex(new.user_id)) || (CASE WHEN new.list_key < '1' THEN 'o' ELSE 'd' END)
    );
END;

-- Only a change the row shows: a list key that keeps its status (a new due
-- date, say) leaves the search row alone.
CREATE TRIGGER tasks_search_update AFTER UPDATE OF title, description, tags, list_key ON tasks
WHEN old.title IS NOT new.title OR old.description IS NOT new.description OR old.tags IS NOT new.tags
    OR (old.list_key < '1') <> (new.list_key < '1')
BEGIN
    UPDATE task_search
    SET title = new.title,
        body = COALESCE(new.description, '') || ' ' || replace(new.tags, ',', ' '),
        scope = 'u' || lower(hex(new.user_id)) || ' u' || lower(hex(new.user_id)) || (CASE WHEN new.list_key < '1' THEN 'o' ELSE 'd' END)
    WHERE rowid = new.search_id;
END;

CREATE TRIGGER tasks_search_delete AFTER DELETE ON tasks BEGIN
    DELETE FROM task_search WHERE rowid = old.search_id;
    DELETE FROM task_search_ids WHERE task_id = old.id;
END;
