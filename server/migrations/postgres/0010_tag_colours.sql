-- A colour per tag of a user: a palette name chosen on the tags page. It
-- outlives the tasks that carry the tag, so a tag used again gets it back;
-- renaming moves it, and deleting the tag forgets it.
CREATE TABLE tag_colours (
    user_id UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    tag     TEXT NOT NULL,
    colour  TEXT NOT NULL,
    PRIMARY KEY (user_id, tag)
);
