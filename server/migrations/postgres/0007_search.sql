-- Full-text search over each task's title (weight A) and its description and
-- tags (weight B): a generated tsvector, so it changes in the statement that
-- changes the task, with a GIN index. `cadence_fold` lower-cases and strips
-- diacritics (the unaccent extension, trusted since PostgreSQL 13, so the
-- database owner may create it); the 'simple' configuration neither stems nor
-- drops stop words, so what is typed is what is found, in any language.
CREATE EXTENSION IF NOT EXISTS unaccent SCHEMA public;

-- unaccent() is only STABLE (its dictionary could be changed); naming the
-- dictionary makes the call immutable, as a generated column needs.
CREATE OR REPLACE FUNCTION cadence_fold(text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
    AS $$ SELECT lower(public.unaccent('public.unaccent'::regdictionary, $1)) $$;

ALTER TABLE tasks ADD COLUMN search tsvector GENERATED ALWAYS AS (
    setweight(to_tsvector('simple', cadence_fold(title)), 'A')
    || setweight(to_tsvector('simple', cadence_fold(COALESCE(description, '') || ' ' || replace(tags, ',', ' '))), 'B')
) STORED;

CREATE INDEX tasks_search_idx ON tasks USING GIN (search);
