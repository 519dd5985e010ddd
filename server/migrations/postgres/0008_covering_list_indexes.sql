-- The list's index holds each task's id too, and a user's tag index the
-- tagged task: a list filtered by tags or words tests each row with the index
-- alone (the id against the set of matches) instead of reading the row.
CREATE INDEX tasks_list_ids_idx ON tasks (user_id, list_key, id);
DROP INDEX tasks_list_idx;
CREATE INDEX task_tags_user_tag_task_idx ON task_tags (user_id, tag, task_id);
DROP INDEX task_tags_user_tag_idx;
