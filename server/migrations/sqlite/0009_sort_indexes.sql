-- One index per order the list can be sorted by, each ending with the list
-- key that breaks its ties: a sorted page is a seek and a short range read,
-- so page 20 costs what page 1 does. The expressions are the ones the list
-- reads by (store::Lead), character for character.
CREATE INDEX tasks_priority_sort_idx ON tasks (user_id, priority, list_key);
CREATE INDEX tasks_created_sort_idx ON tasks (user_id, created_at, list_key);
CREATE INDEX tasks_updated_sort_idx ON tasks (user_id, updated_at, list_key);
CREATE INDEX tasks_title_sort_idx ON tasks (user_id, lower(title), list_key);
CREATE INDEX tasks_due_desc_sort_idx ON tasks (user_id, COALESCE(due_at, ''), list_key);
