-- A new task's search row is written at the end of its transaction, in one
-- statement with every other new task's of that transaction, by the store
-- (`Deferred::index_search`), no longer by this trigger.
--
-- FTS5 writes its pending rows to disk as a new segment at every savepoint,
-- and every statement after a search row opened one (each insert of a task,
-- with its trigger, does). So a group commit of 100 creates wrote 100
-- one-row segments and merged them again: seven of every eight pages the
-- database wrote under a stream of creates. Written last, the rows of a
-- transaction make one segment.
--
-- The trigger still gives each task its search id in the statement that
-- inserts it.
DROP TRIGGER tasks_search_insert;
CREATE TRIGGER tasks_search_insert AFTER INSERT ON tasks BEGIN
    INSERT INTO task_search_ids (task_id) VALUES (new.id);
    UPDATE tasks SET search_id = (SELECT id FROM task_search_ids WHERE task_id = new.id) WHERE id = new.id;
END;
