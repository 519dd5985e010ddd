-- Full-text search over each task's title, and its description and tags (the
-- body), kept by triggers in the transaction that changes the task. FTS5's
-- unicode61 tokenizer ignores case and diacritics; the prefix indexes make
-- "as you type" prefix queries cheap. A search row is keyed by an INTEGER
-- PRIMARY KEY of its own (task_search_ids), because the rowid of `tasks`,
-- which has a BLOB primary key, may change in a VACUUM.
CREATE TABLE task_search_ids (
    id      INTEGER PRIMARY KEY AUTOINCREMENT,
    task_id BLOB NOT NULL UNIQUE
);

CREATE VIRTUAL TABLE task_search USING fts5(
    title,
    body,
    tokenize = 'unicode61 remove_diacritics 2',
    prefix = '1 2 3'
);

INSERT INTO task_search_ids (task_id) SELECT id FROM tasks;
INSERT INTO task_search (rowid, title, body)
    SELECT m.id, t.title, COALESCE(t.description, '') || ' ' || replace(t.tags, ',', ' ')
    FROM tasks t JOIN task_search_ids m ON m.task_id = t.id;

CREATE TRIGGER tasks_search_insert AFTER INSERT ON tasks BEGIN
    INSERT INTO task_search_ids (task_id) VALUES (new.id);
    INSERT INTO task_search (rowid, title, body) VALUES (
        (SELECT id FROM task_search_ids WHERE task_id = new.id),
        new.title,
        COALESCE(new.description, '') || ' ' || replace(new.tags, ',', ' ')
    );
END;

CREATE TRIGGER tasks_search_update AFTER UPDATE OF title, description, tags ON tasks BEGIN
    UPDATE task_search
    SET title = new.title, body = COALESCE(new.description, '') || ' ' || replace(new.tags, ',', ' ')
    WHERE rowid = (SELECT id FROM task_search_ids WHERE task_id = new.id);
END;

CREATE TRIGGER tasks_search_delete AFTER DELETE ON tasks BEGIN
    DELETE FROM task_search WHERE rowid = (SELECT id FROM task_search_ids WHERE task_id = old.id);
    DELETE FROM task_search_ids WHERE task_id = old.id;
END;
