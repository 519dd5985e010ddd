//! What the tags page knows of a tag beyond its name: a colour from a fixed
//! palette, and how many tasks carry it.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::error::ValidationError;
use crate::task::{Tag, Tags};

/// A tag's colour: one of a fixed palette of names. Only the name is ever
/// stored or written into a page (as a class), so no colour can carry markup
/// or CSS of its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TagColour {
    Red,
    Orange,
    Yellow,
    Green,
    Teal,
    Blue,
    Purple,
    Pink,
    Grey,
}

impl TagColour {
    pub const ALL: [TagColour; 9] = [
        Self::Red,
        Self::Orange,
        Self::Yellow,
        Self::Green,
        Self::Teal,
        Self::Blue,
        Self::Purple,
        Self::Pink,
        Self::Grey,
    ];

    /// Reads a colour select: a palette name in any case, or empty (or
    /// `none`) for no colour. `gray` is read as `grey`.
    pub fn parse(raw: &str) -> Result<Option<Self>, ValidationError> {
        let name = raw.trim().to_ascii_lowercase();
        match name.as_str() {
            "" | "none" => Ok(None),
            "gray" => Ok(Some(Self::Grey)),
            _ => Self::from_name(&name).map(Some).ok_or_else(|| {
                ValidationError::new(
                    "colour",
                    "Choose red, orange, yellow, green, teal, blue, purple, pink, grey or no colour.",
                )
            }),
        }
    }

    /// The colour with this stored name, if the palette still has it.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == name)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Red => "red",
            Self::Orange => "orange",
            Self::Yellow => "yellow",
            Self::Green => "green",
            Self::Teal => "teal",
            Self::Blue => "blue",
            Self::Purple => "purple",
            Self::Pink => "pink",
            Self::Grey => "grey",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Red => "Red",
            Self::Orange => "Orange",
            Self::Yellow => "Yellow",
            Self::Green => "Green",
            Self::Teal => "Teal",
            Self::Blue => "Blue",
            Self::Purple => "Purple",
            Self::Pink => "Pink",
            Self::Grey => "Grey",
        }
    }
}

/// The colours a user gave their tags, looked up by tag: what a task row's
/// chips show. A tag without a colour is simply not in it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TagColours(BTreeMap<Tag, TagColour>);

impl TagColours {
    /// The colour of `tag`, if its owner gave it one.
    pub fn of(&self, tag: &Tag) -> Option<TagColour> {
        self.0.get(tag).copied()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl FromIterator<(Tag, TagColour)> for TagColours {
    fn from_iter<I: IntoIterator<Item = (Tag, TagColour)>>(pairs: I) -> Self {
        Self(pairs.into_iter().collect())
    }
}

/// One of a user's tags with the number of their tasks that carry it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TagCount {
    pub tag: Tag,
    /// Tasks carrying it that are not completed.
    pub open: u64,
    /// Every task carrying it, completed ones included.
    pub total: u64,
    /// `None` until the user picks one.
    pub colour: Option<TagColour>,
}

impl Tags {
    /// These tags with `from` renamed to `to` in its place; when `to` is
    /// among them already, `from` is dropped instead (the two merge).
    pub fn renamed(&self, from: &Tag, to: &Tag) -> Tags {
        if from == to {
            return self.clone();
        }
        let merging = self.iter().any(|t| t == to);
        let tags = self
            .iter()
            .filter(|t| !(merging && *t == from))
            .map(|t| if t == from { to.clone() } else { t.clone() })
            .collect();
        Tags::from_tags(tags).expect("a rename never adds a tag")
    }

    /// These tags without `tag`.
    pub fn without(&self, tag: &Tag) -> Tags {
        Tags::from_tags(self.iter().filter(|t| *t != tag).cloned().collect()).expect("fewer tags than before")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn palette_names_parse_in_any_case_and_empty_means_no_colour() {
        assert_eq!(TagColour::parse(" Teal ").unwrap(), Some(TagColour::Teal));
        assert_eq!(TagColour::parse("gray").unwrap(), Some(TagColour::Grey));
        assert_eq!(TagColour::parse("").unwrap(), None);
        assert_eq!(TagColour::parse("none").unwrap(), None);
    }

    #[test]
    fn anything_outside_the_palette_is_refused_naming_the_colour_field() {
        for raw in ["#ff0000", "red; background: url(x)", "\"><script>", "magenta"] {
            assert_eq!(TagColour::parse(raw).unwrap_err().field, "colour", "{raw}");
        }
    }

    #[test]
    fn every_colour_round_trips_through_its_stored_name() {
        for c in TagColour::ALL {
            assert_eq!(TagColour::from_name(c.as_str()), Some(c));
            assert_eq!(TagColour::parse(c.as_str()).unwrap(), Some(c));
        }
    }

    fn names(tags: &Tags) -> Vec<&str> {
        tags.iter().map(Tag::as_str).collect()
    }

    fn tag(name: &str) -> Tag {
        Tag::parse(name).unwrap()
    }

    #[test]
    fn a_renamed_tag_keeps_its_place_among_the_tasks_tags() {
        let tags = Tags::parse("home, work, errands").unwrap();
        assert_eq!(names(&tags.renamed(&tag("work"), &tag("office"))), ["home", "office", "errands"]);
    }

    #[test]
    fn renaming_onto_a_tag_the_task_has_merges_the_tags_keeping_the_targets_place() {
        let tags = Tags::parse("work, home, office").unwrap();
        assert_eq!(names(&tags.renamed(&tag("work"), &tag("office"))), ["home", "office"]);
        let tags = Tags::parse("office, home, work").unwrap();
        assert_eq!(names(&tags.renamed(&tag("work"), &tag("office"))), ["office", "home"]);
    }

    #[test]
    fn tags_without_one_keep_the_others_in_order() {
        let tags = Tags::parse("a, b, c").unwrap();
        assert_eq!(names(&tags.without(&tag("b"))), ["a", "c"]);
        assert_eq!(tags.without(&tag("zzz")), tags, "a tag it does not have changes nothing");
    }

    proptest! {
        #[test]
        fn a_parsed_colour_is_always_a_plain_palette_name(s in "\\PC{0,30}") {
            if let Ok(Some(c)) = TagColour::parse(&s) {
                prop_assert!(c.as_str().bytes().all(|b| b.is_ascii_lowercase()));
            }
        }

        #[test]
        fn renamed_tags_never_hold_the_old_name_and_hold_the_new_one_once(
            raw in proptest::collection::vec("[a-e]", 0..6),
            from in "[a-e]",
            to in "[a-f]",
        ) {
            let tags = Tags::parse(&raw.join(",")).unwrap();
            let (from, to) = (tag(&from), tag(&to));
            let after = tags.renamed(&from, &to);
            let had = tags.iter().any(|t| *t == from);
            prop_assert_eq!(after.iter().filter(|t| **t == to).count(), usize::from(had || tags.iter().any(|t| *t == to)));
            if from == to {
                prop_assert_eq!(&after, &tags, "a rename to the same name changes nothing");
            } else {
                prop_assert!(!after.iter().any(|t| *t == from));
            }
            prop_assert!(after.len() <= tags.len());
        }
    }
}
