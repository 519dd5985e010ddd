//! What the task list shows and in which order, as one value with a compact
//! text form: what people type in the search box, what the list's chips
//! remove piece by piece, and the single `q` parameter of a shareable link.
//!
//! The text form, whitespace-separated, keys and values in any case:
//!
//! | Text                                   | Meaning                                      |
//! |----------------------------------------|----------------------------------------------|
//! | `pay` or `"pay rent"`                  | a search word; quotes make a phrase literal  |
//! | `is:open`, `is:done`, `is:all`         | which tasks (open when not given)            |
//! | `!high`, `!high,urgent`, `!none`       | priority, any of those listed                |
//! | `#work`                                | tagged `work` (every such tag)               |
//! | `#work,home`                           | tagged `work` or `home` (one such group)     |
//! | `-#someday`                            | not tagged `someday`                         |
//! | `due:today`, `due:tomorrow`, `due:week`| due today, tomorrow, this Monday to Sunday   |
//! | `due:<7d`                              | due in the next 7 days, today included       |
//! | `due:none`                             | no due date                                  |
//! | `due:2026-12-01..2026-12-31`           | due in that range of days (either end open)  |
//! | `is:overdue`                           | open and due before today                    |
//! | `is:recurring`, `-is:recurring`        | repeating or not                             |
//! | `has:reminder`, `-has:reminder`        | with reminders or without                    |
//! | `sort:title`, `sort:-updated`          | order by a key; `-` for descending           |
//!
//! A `key:value` token whose key is not one of `is`, `has`, `due` and `sort`
//! is a search word, so "meeting at 10:30" searches for `10:30`. A known key
//! with a value it does not take is an error that names the token and shows
//! the right form. Repeating an operator with the same value is harmless;
//! giving two different statuses, date filters, sorts or any-of tag groups is
//! an error, because the search could only guess which one was meant.

use std::collections::BTreeSet;
use std::fmt;

use chrono::{DateTime, Datelike, Days, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::account::TimeZone;
use crate::error::ValidationError;
use crate::task::{resolve_local, wall_label, Priority, Tag};

/// Which tasks the list shows and in which order, parsed from the search box.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct TaskQuery {
    /// Full-text search terms, as typed (trimmed); a task matches when it
    /// contains every one of them.
    pub words: Vec<String>,
    pub status: Status,
    /// Empty means any priority; several mean any of them.
    pub priorities: BTreeSet<Priority>,
    /// The task has every one of these tags.
    pub tags_all: BTreeSet<Tag>,
    /// The task has at least one of these tags; empty means no constraint.
    pub tags_any: BTreeSet<Tag>,
    /// The task has none of these tags.
    pub tags_none: BTreeSet<Tag>,
    pub due: Option<DueFilter>,
    /// Whether the task repeats; `None` means either.
    pub recurring: Option<bool>,
    /// Whether the task has reminders; `None` means either.
    pub has_reminders: Option<bool>,
    pub sort: Sort,
}

/// Whether the list shows open tasks, completed ones or both.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    #[default]
    Open,
    Done,
    All,
}

/// Which due dates the list shows, in days of the user's time zone.
///
/// `Next` takes 1 to 366 days and a `Range` at least one bound, with `from`
/// not after `to`: the text form cannot say anything else, so the parser never
/// builds anything else.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DueFilter {
    /// Open and due on a day before today.
    Overdue,
    Today,
    Tomorrow,
    /// Monday to Sunday of the current week, past days included.
    ThisWeek,
    /// Today and the days after it: `Next(7)` is today and six more days.
    Next(u16),
    /// No due date at all.
    NoDate,
    /// Due between these days, both included; a missing bound is open.
    Range {
        from: Option<NaiveDate>,
        to: Option<NaiveDate>,
    },
}

/// What a due filter selects on a given day: tasks without a due date, or
/// those due within inclusive day bounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum DueDays {
    Undated,
    Within { from: Option<NaiveDate>, to: Option<NaiveDate> },
}

/// The order of the list. The store breaks ties the way the list key does, so
/// only the leading key is modelled here.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Sort {
    pub key: SortKey,
    pub descending: bool,
}

/// What the list is ordered by. Ascending is the smaller first: the soonest
/// due date (undated last), the lowest priority, the oldest creation or
/// update, titles A to Z.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SortKey {
    /// The list's own order: open first, soonest due, then the more pressing
    /// priority, then the newest.
    #[default]
    Due,
    Priority,
    Created,
    Updated,
    Title,
}

/// A part of a query the search box rejected, naming the token and the form
/// that would have worked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
#[error("{message}")]
pub struct QueryError {
    /// The token as typed.
    pub token: String,
    pub message: String,
}

impl QueryError {
    /// The form field the message belongs beside: the search box, `q`.
    pub const FIELD: &'static str = "q";

    fn new(token: &str, message: impl Into<String>) -> Self {
        Self { token: token.to_owned(), message: message.into() }
    }

    pub fn field(&self) -> &'static str {
        Self::FIELD
    }
}

impl From<QueryError> for ValidationError {
    fn from(e: QueryError) -> Self {
        ValidationError::new(QueryError::FIELD, e.message)
    }
}

/// A removable piece of a query as the list shows it: what it says, and the
/// query without it, which the chip's link opens.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Chip {
    pub label: String,
    pub without: TaskQuery,
}

impl TaskQuery {
    /// Parses the search box; the first token it cannot read is the error.
    pub fn parse(text: &str) -> Result<Self, QueryError> {
        let (query, mut errors) = Self::parse_lenient(text);
        if errors.is_empty() {
            Ok(query)
        } else {
            Err(errors.swap_remove(0))
        }
    }

    /// Parses what it can and reports the rest, so that a stale or
    /// hand-edited link still shows a list. Of two conflicting operators the
    /// first one typed is kept.
    pub fn parse_lenient(text: &str) -> (Self, Vec<QueryError>) {
        let mut builder = Builder::default();
        for piece in lex(text) {
            match piece {
                Piece::Phrase(phrase) => {
                    let phrase = phrase.trim();
                    if !phrase.is_empty() {
                        builder.query.words.push(phrase.to_owned());
                    }
                }
                Piece::Bare(token) => match classify(&token) {
                    Ok(None) => builder.query.words.push(token),
                    Ok(Some(op)) => {
                        if let Err(e) = builder.apply(op, &token) {
                            builder.errors.push(e);
                        }
                    }
                    Err(e) => builder.errors.push(e),
                },
            }
        }
        (builder.query, builder.errors)
    }

    /// The query as the `q` parameter of a link: `q=` and the canonical text,
    /// form-encoded. The whole view lives in that one parameter.
    pub fn to_query_string(&self) -> String {
        format!("q={}", encode_component(&self.to_string()))
    }

    /// Reads the `q` parameter of a query string (with or without its `?`)
    /// leniently; without one it is the default list.
    pub fn from_query_string(query_string: &str) -> (Self, Vec<QueryError>) {
        let raw = query_string.strip_prefix('?').unwrap_or(query_string);
        let q = raw.split('&').find_map(|pair| {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            (decode_component(key) == "q").then(|| decode_component(value))
        });
        q.map_or_else(|| (Self::default(), Vec::new()), |text| Self::parse_lenient(&text))
    }

    /// The query's parts in canonical order, each with the query that remains
    /// when it is removed.
    pub fn chips(&self) -> Vec<Chip> {
        let mut chips = Vec::new();
        let mut chip = |label: String, change: &dyn Fn(&mut TaskQuery)| {
            let mut without = self.clone();
            change(&mut without);
            chips.push(Chip { label, without });
        };
        match self.status {
            Status::Open => {}
            Status::Done => chip("Done".to_owned(), &|q| q.status = Status::Open),
            Status::All => chip("Open and done".to_owned(), &|q| q.status = Status::Open),
        }
        if !self.priorities.is_empty() {
            let names: Vec<&str> = self.priorities.iter().map(|p| p.as_str()).collect();
            chip(format!("Priority: {}", or_list(&names)), &|q| q.priorities.clear());
        }
        for tag in &self.tags_all {
            chip(format!("Tag: {}", tag.as_str()), &|q| {
                q.tags_all.remove(tag);
            });
        }
        if !self.tags_any.is_empty() {
            let names: Vec<&str> = self.tags_any.iter().map(Tag::as_str).collect();
            chip(format!("Tag: {}", or_list(&names)), &|q| q.tags_any.clear());
        }
        for tag in &self.tags_none {
            chip(format!("Not tagged: {}", tag.as_str()), &|q| {
                q.tags_none.remove(tag);
            });
        }
        if let Some(due) = self.due {
            chip(due.label(), &|q| q.due = None);
        }
        if let Some(recurring) = self.recurring {
            let label = if recurring { "Recurring" } else { "Not recurring" };
            chip(label.to_owned(), &|q| q.recurring = None);
        }
        if let Some(has) = self.has_reminders {
            let label = if has { "With reminders" } else { "Without reminders" };
            chip(label.to_owned(), &|q| q.has_reminders = None);
        }
        if self.sort != Sort::default() {
            chip(self.sort.label(), &|q| q.sort = Sort::default());
        }
        for (i, word) in self.words.iter().enumerate() {
            chip(format!("Search: {word}"), &|q| {
                q.words.remove(i);
            });
        }
        chips
    }
}

impl fmt::Display for TaskQuery {
    /// The canonical text: status, priorities, tags, due, `is:`/`has:`, sort,
    /// then the words, so equal queries print alike and a link is stable.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts: Vec<String> = Vec::new();
        match self.status {
            Status::Open => {}
            Status::Done => parts.push("is:done".to_owned()),
            Status::All => parts.push("is:all".to_owned()),
        }
        if !self.priorities.is_empty() {
            let names: Vec<&str> = self.priorities.iter().map(|p| p.as_str()).collect();
            parts.push(format!("!{}", names.join(",")));
        }
        parts.extend(self.tags_all.iter().map(|t| format!("#{}", t.as_str())));
        if !self.tags_any.is_empty() {
            let names: Vec<&str> = self.tags_any.iter().map(Tag::as_str).collect();
            // A lone tag keeps its comma: it is still an any-of group.
            let comma = if names.len() == 1 { "," } else { "" };
            parts.push(format!("#{}{comma}", names.join(",")));
        }
        parts.extend(self.tags_none.iter().map(|t| format!("-#{}", t.as_str())));
        if let Some(due) = self.due {
            parts.push(due.to_string());
        }
        match self.recurring {
            Some(true) => parts.push("is:recurring".to_owned()),
            Some(false) => parts.push("-is:recurring".to_owned()),
            None => {}
        }
        match self.has_reminders {
            Some(true) => parts.push("has:reminder".to_owned()),
            Some(false) => parts.push("-has:reminder".to_owned()),
            None => {}
        }
        if self.sort != Sort::default() {
            parts.push(self.sort.to_string());
        }
        parts.extend(self.words.iter().map(|w| quote_if_needed(w)));
        f.write_str(&parts.join(" "))
    }
}

impl DueFilter {
    /// The days this filter selects when it is `today` in the user's zone.
    /// Overdue is every day before today, and only open tasks (see
    /// [`DueFilter::open_only`]): a task due earlier today is due today, not
    /// overdue, because the filter counts days while the list's red badge
    /// compares instants. A bound past the calendar's end is left open.
    pub fn days(&self, today: NaiveDate) -> DueDays {
        let within = |from, to| DueDays::Within { from, to };
        match *self {
            Self::Overdue => within(None, today.pred_opt()),
            Self::Today => within(Some(today), Some(today)),
            Self::Tomorrow => {
                let tomorrow = today.succ_opt();
                within(tomorrow, tomorrow)
            }
            Self::ThisWeek => {
                let back = u64::from(today.weekday().num_days_from_monday());
                let monday = today.checked_sub_days(Days::new(back));
                within(monday, monday.and_then(|m| m.checked_add_days(Days::new(6))))
            }
            Self::Next(n) => within(Some(today), today.checked_add_days(Days::new(u64::from(n.max(1)) - 1))),
            Self::NoDate => DueDays::Undated,
            Self::Range { from, to } => within(from, to),
        }
    }

    /// Whether the filter also requires the task to be open, whatever the
    /// query's status says: an overdue task is one still to do.
    pub fn open_only(&self) -> bool {
        matches!(self, Self::Overdue)
    }

    fn label(&self) -> String {
        let day = |d: NaiveDate| wall_label(d, None);
        match *self {
            Self::Overdue => "Overdue".to_owned(),
            Self::Today => "Due: today".to_owned(),
            Self::Tomorrow => "Due: tomorrow".to_owned(),
            Self::ThisWeek => "Due: this week".to_owned(),
            Self::Next(1) => "Due: next 1 day".to_owned(),
            Self::Next(n) => format!("Due: next {n} days"),
            Self::NoDate => "No due date".to_owned(),
            Self::Range { from: Some(a), to: Some(b) } if a == b => format!("Due: {}", day(a)),
            Self::Range { from: Some(a), to: Some(b) } => format!("Due: {} to {}", day(a), day(b)),
            Self::Range { from: Some(a), to: None } => format!("Due: from {}", day(a)),
            Self::Range { from: None, to: Some(b) } => format!("Due: by {}", day(b)),
            Self::Range { from: None, to: None } => "Due: any day".to_owned(),
        }
    }
}

impl fmt::Display for DueFilter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let day = |d: Option<NaiveDate>| d.map(|d| d.format("%Y-%m-%d").to_string()).unwrap_or_default();
        match *self {
            Self::Overdue => f.write_str("is:overdue"),
            Self::Today => f.write_str("due:today"),
            Self::Tomorrow => f.write_str("due:tomorrow"),
            Self::ThisWeek => f.write_str("due:week"),
            Self::Next(n) => write!(f, "due:<{n}d"),
            Self::NoDate => f.write_str("due:none"),
            Self::Range { from, to } if from == to => write!(f, "due:{}", day(from)),
            Self::Range { from, to } => write!(f, "due:{}..{}", day(from), day(to)),
        }
    }
}

impl DueDays {
    /// The UTC instants that bound these days in `zone`: from the start of
    /// the first day (included) to the start of the day after the last one
    /// (excluded), so a store can compare them with the due instants it keeps.
    /// `None` for an undated filter or an open end.
    pub fn instants(&self, zone: TimeZone) -> (Option<DateTime<Utc>>, Option<DateTime<Utc>>) {
        let start_of = |d: NaiveDate| d.and_hms_opt(0, 0, 0).map(|t| resolve_local(zone.0, t));
        match *self {
            Self::Undated => (None, None),
            Self::Within { from, to } => (from.and_then(start_of), to.and_then(|d| d.succ_opt()).and_then(start_of)),
        }
    }
}

impl Sort {
    /// Every order the list offers, in the order a menu lists them.
    pub const ALL: [Sort; 10] = [
        Sort { key: SortKey::Due, descending: false },
        Sort { key: SortKey::Due, descending: true },
        Sort { key: SortKey::Priority, descending: true },
        Sort { key: SortKey::Priority, descending: false },
        Sort { key: SortKey::Created, descending: true },
        Sort { key: SortKey::Created, descending: false },
        Sort { key: SortKey::Updated, descending: true },
        Sort { key: SortKey::Updated, descending: false },
        Sort { key: SortKey::Title, descending: false },
        Sort { key: SortKey::Title, descending: true },
    ];

    /// Reads the value of a link's or menu's `sort` parameter (`priority`,
    /// `-updated`); `None` for anything else.
    pub fn from_param(value: &str) -> Option<Self> {
        sort("sort", &value.trim().to_ascii_lowercase()).ok()
    }

    /// The value `from_param` reads back.
    pub fn param(&self) -> String {
        self.to_string().trim_start_matches("sort:").to_owned()
    }

    /// "Priority, highest first": the sort menu's words.
    pub fn menu_label(&self) -> String {
        let label = self.label();
        let rest = label.trim_start_matches("Sorted by ");
        let mut chars = rest.chars();
        chars.next().map(|c| c.to_uppercase().chain(chars).collect()).unwrap_or_default()
    }

    /// "Sorted by priority, highest first".
    pub fn label(&self) -> String {
        let (name, ascending, descending) = match self.key {
            SortKey::Due => ("due date", "soonest first", "latest first"),
            SortKey::Priority => ("priority", "lowest first", "highest first"),
            SortKey::Created => ("creation", "oldest first", "newest first"),
            SortKey::Updated => ("last change", "oldest first", "most recent first"),
            SortKey::Title => ("title", "A to Z", "Z to A"),
        };
        format!("Sorted by {name}, {}", if self.descending { descending } else { ascending })
    }
}

impl fmt::Display for Sort {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let key = match self.key {
            SortKey::Due => "due",
            SortKey::Priority => "priority",
            SortKey::Created => "created",
            SortKey::Updated => "updated",
            SortKey::Title => "title",
        };
        write!(f, "sort:{}{key}", if self.descending { "-" } else { "" })
    }
}

/// "a", "a or b", "a, b or c".
fn or_list(items: &[&str]) -> String {
    match items {
        [] => String::new(),
        [one] => (*one).to_owned(),
        [rest @ .., last] => format!("{} or {last}", rest.join(", ")),
    }
}

/// A token of the search box before it is read: a quoted phrase is always a
/// word, a bare token may be an operator.
enum Piece {
    Phrase(String),
    Bare(String),
}

/// Splits on whitespace, reading `"…"` as one phrase in which `\"` and `\\`
/// stand for `"` and `\`. A quote opens a phrase only at the start of a token;
/// an unterminated phrase runs to the end of the text.
fn lex(text: &str) -> Vec<Piece> {
    let mut pieces = Vec::new();
    let mut chars = text.chars().peekable();
    loop {
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        match chars.peek() {
            None => return pieces,
            Some('"') => {
                chars.next();
                let mut phrase = String::new();
                while let Some(c) = chars.next() {
                    match c {
                        '"' => break,
                        '\\' => match chars.next_if(|n| matches!(n, '"' | '\\')) {
                            Some(escaped) => phrase.push(escaped),
                            None => phrase.push('\\'),
                        },
                        _ => phrase.push(c),
                    }
                }
                pieces.push(Piece::Phrase(phrase));
            }
            Some(_) => {
                let mut token = String::new();
                while let Some(c) = chars.next_if(|c| !c.is_whitespace()) {
                    token.push(c);
                }
                pieces.push(Piece::Bare(token));
            }
        }
    }
}

/// A word prints bare only when it would read back as the same word.
fn quote_if_needed(word: &str) -> String {
    let bare = !word.is_empty()
        && !word.starts_with('"')
        && !word.chars().any(char::is_whitespace)
        && matches!(classify(word), Ok(None));
    if bare {
        return word.to_owned();
    }
    let mut quoted = String::with_capacity(word.len() + 2);
    quoted.push('"');
    for c in word.chars() {
        if matches!(c, '"' | '\\') {
            quoted.push('\\');
        }
        quoted.push(c);
    }
    quoted.push('"');
    quoted
}

/// One operator, read from one token.
enum Op {
    Status(Status),
    Priorities(BTreeSet<Priority>),
    TagAll(Tag),
    TagAny(BTreeSet<Tag>),
    TagNone(BTreeSet<Tag>),
    Due(DueFilter),
    Recurring(bool),
    Reminders(bool),
    Sort(Sort),
}

const KNOWN_KEYS: [&str; 4] = ["is", "has", "due", "sort"];

/// Reads a bare token: `Ok(None)` for a search word, the operator it names,
/// or why a token that looks like an operator is not a valid one.
fn classify(token: &str) -> Result<Option<Op>, QueryError> {
    let lower = token.to_ascii_lowercase();
    if let Some(rest) = token.strip_prefix('-') {
        let rest_lower = &lower[1..];
        return match rest_lower {
            "is:recurring" => Ok(Some(Op::Recurring(false))),
            "has:reminder" | "has:reminders" => Ok(Some(Op::Reminders(false))),
            _ if rest.len() > 1 && rest.starts_with('#') => tags(token, &rest[1..]).map(|t| Some(Op::TagNone(t))),
            _ if is_priority_token(rest) || known_key(rest_lower).is_some() => Err(QueryError::new(
                token,
                format!(
                    "`{token}` cannot be negated: a leading - only excludes a tag (-#someday), \
                     recurring tasks (-is:recurring) or reminders (-has:reminder)."
                ),
            )),
            _ => Ok(None),
        };
    }
    if token.len() > 1 && token.starts_with('#') {
        let mut found = tags(token, &token[1..])?;
        // Without a comma there is exactly one tag; with one, it is a group.
        if !token.contains(',') {
            if let Some(only) = found.pop_first() {
                return Ok(Some(Op::TagAll(only)));
            }
        }
        return Ok(Some(Op::TagAny(found)));
    }
    if is_priority_token(token) {
        return priorities(token).map(|p| Some(Op::Priorities(p)));
    }
    let Some((key, value)) = known_key(&lower) else { return Ok(None) };
    if value.is_empty() {
        return Err(QueryError::new(token, format!("`{token}` needs a value, as in {}.", example(key))));
    }
    let op = match (key, value) {
        ("is", "open") => Op::Status(Status::Open),
        ("is", "done") => Op::Status(Status::Done),
        ("is", "all") => Op::Status(Status::All),
        ("is", "overdue") => Op::Due(DueFilter::Overdue),
        ("is", "recurring") => Op::Recurring(true),
        ("is", _) => {
            return Err(QueryError::new(
                token,
                format!("`{token}` is not a state: use is:open, is:done, is:all, is:overdue or is:recurring."),
            ))
        }
        ("has", "reminder" | "reminders") => Op::Reminders(true),
        ("has", _) => {
            return Err(QueryError::new(
                token,
                format!("`{token}` is not something a task has: use has:reminder (or -has:reminder)."),
            ))
        }
        ("due", _) => Op::Due(due(token, value)?),
        _ => Op::Sort(sort(token, value)?),
    };
    Ok(Some(op))
}

/// `!` followed by something with a letter in it: `!` alone or `!!!` are words.
fn is_priority_token(token: &str) -> bool {
    token.strip_prefix('!').is_some_and(|rest| rest.chars().any(|c| c.is_ascii_alphabetic()))
}

/// Splits a lower-cased `key:value` token whose key is one of ours.
fn known_key(lower: &str) -> Option<(&str, &str)> {
    lower.split_once(':').filter(|(key, _)| KNOWN_KEYS.contains(key))
}

fn example(key: &str) -> &'static str {
    match key {
        "is" => "is:done",
        "has" => "has:reminder",
        "due" => "due:today",
        _ => "sort:-updated",
    }
}

/// The tags of `#a` or `#a,b` (`list` is what follows the `#`); empty items
/// between commas are skipped, and each may repeat its own `#`.
fn tags(token: &str, list: &str) -> Result<BTreeSet<Tag>, QueryError> {
    let mut found = BTreeSet::new();
    for part in list.split(',').filter(|p| !p.is_empty()) {
        let tag =
            Tag::parse(part).map_err(|e| QueryError::new(token, format!("`{token}` is not a tag: {}", e.message)))?;
        found.insert(tag);
    }
    if found.is_empty() {
        return Err(QueryError::new(
            token,
            format!("`{token}` names no tag: write it as #work, or #work,home for either."),
        ));
    }
    Ok(found)
}

fn priorities(token: &str) -> Result<BTreeSet<Priority>, QueryError> {
    let bad = || {
        QueryError::new(
            token,
            format!(
                "`{token}` is not a priority: use !none, !low, !medium, !high or !urgent, or several as !high,urgent."
            ),
        )
    };
    let list = token.get(1..).unwrap_or_default();
    let mut found = BTreeSet::new();
    for part in list.split(',').filter(|p| !p.is_empty()) {
        found.insert(Priority::parse(part).map_err(|_| bad())?);
    }
    Ok(found)
}

fn due(token: &str, value: &str) -> Result<DueFilter, QueryError> {
    const FORMS: &str = "use today, tomorrow, week, <7d, none or a range like 2026-12-01..2026-12-31";
    let filter = match value {
        "today" => DueFilter::Today,
        "tomorrow" => DueFilter::Tomorrow,
        "week" => DueFilter::ThisWeek,
        "none" => DueFilter::NoDate,
        "overdue" => DueFilter::Overdue,
        _ if value.starts_with('<') => {
            let digits = value[1..].strip_suffix('d').unwrap_or(&value[1..]);
            let days = digits
                .parse::<u16>()
                .ok()
                .filter(|n| digits.bytes().all(|b| b.is_ascii_digit()) && (1..=366).contains(n))
                .ok_or_else(|| {
                    QueryError::new(token, format!("`{token}` needs 1 to 366 days, as in due:<7d for the next week."))
                })?;
            DueFilter::Next(days)
        }
        _ if value.starts_with(|c: char| c.is_ascii_digit()) || value.starts_with("..") => {
            let (from, to) = value.split_once("..").unwrap_or((value, value));
            let date = |raw: &str| -> Result<Option<NaiveDate>, QueryError> {
                if raw.is_empty() {
                    return Ok(None);
                }
                NaiveDate::parse_from_str(raw, "%Y-%m-%d")
                    .ok()
                    .filter(|d| (1900..=9999).contains(&d.year()))
                    .map(Some)
                    .ok_or_else(|| {
                        QueryError::new(
                            token,
                            format!("`{token}`: {raw} is not a date; write days as 2026-12-01 (years 1900 to 9999)."),
                        )
                    })
            };
            let (from, to) = (date(from)?, date(to)?);
            match (from, to) {
                (None, None) => {
                    return Err(QueryError::new(
                        token,
                        format!("`{token}` needs a date on at least one side, as in due:..2026-12-31."),
                    ))
                }
                (Some(a), Some(b)) if b < a => {
                    return Err(QueryError::new(
                        token,
                        format!("`{token}` ends before it starts: put the earlier date first, as in due:{b}..{a}."),
                    ))
                }
                _ => DueFilter::Range { from, to },
            }
        }
        _ => return Err(QueryError::new(token, format!("`{token}` is not a date filter: {FORMS}."))),
    };
    Ok(filter)
}

fn sort(token: &str, value: &str) -> Result<Sort, QueryError> {
    let (descending, name) = match value.strip_prefix('-') {
        Some(name) => (true, name),
        None => (false, value),
    };
    let key = match name {
        "due" => SortKey::Due,
        "priority" => SortKey::Priority,
        "created" => SortKey::Created,
        "updated" => SortKey::Updated,
        "title" => SortKey::Title,
        _ => {
            return Err(QueryError::new(
                token,
                format!(
                    "`{token}` is not a sort: use sort:due, sort:priority, sort:created, sort:updated or \
                     sort:title, with a - for descending as in sort:-updated."
                ),
            ))
        }
    };
    Ok(Sort { key, descending })
}

/// The query being read, and which token set each single-valued part, so a
/// conflict can name both.
#[derive(Default)]
struct Builder {
    query: TaskQuery,
    errors: Vec<QueryError>,
    status_by: Option<String>,
    any_by: Option<String>,
    due_by: Option<String>,
    recurring_by: Option<String>,
    reminders_by: Option<String>,
    sort_by: Option<String>,
}

/// Sets a single-valued part unless an earlier token set it differently.
fn set_once<T: PartialEq>(
    slot: &mut T,
    by: &mut Option<String>,
    value: T,
    token: &str,
    advice: &str,
) -> Result<(), QueryError> {
    match by {
        Some(earlier) if *slot != value => {
            Err(QueryError::new(token, format!("`{token}` conflicts with `{earlier}`: {advice}")))
        }
        Some(_) => Ok(()),
        None => {
            *slot = value;
            *by = Some(token.to_owned());
            Ok(())
        }
    }
}

impl Builder {
    fn apply(&mut self, op: Op, token: &str) -> Result<(), QueryError> {
        let q = &mut self.query;
        match op {
            Op::Status(s) => set_once(
                &mut q.status,
                &mut self.status_by,
                s,
                token,
                "a search shows open, done or all tasks; keep one.",
            ),
            Op::Priorities(p) => {
                q.priorities.extend(p);
                Ok(())
            }
            Op::TagAll(t) => {
                q.tags_all.insert(t);
                Ok(())
            }
            Op::TagAny(t) => set_once(
                &mut q.tags_any,
                &mut self.any_by,
                t,
                token,
                "a search takes one any-of tag group; list every tag in it, as in #work,home,errands.",
            ),
            Op::TagNone(t) => {
                q.tags_none.extend(t);
                Ok(())
            }
            Op::Due(d) => {
                set_once(&mut q.due, &mut self.due_by, Some(d), token, "a search takes one date filter; keep one.")
            }
            Op::Recurring(r) => set_once(
                &mut q.recurring,
                &mut self.recurring_by,
                Some(r),
                token,
                "keep is:recurring or -is:recurring.",
            ),
            Op::Reminders(r) => set_once(
                &mut q.has_reminders,
                &mut self.reminders_by,
                Some(r),
                token,
                "keep has:reminder or -has:reminder.",
            ),
            Op::Sort(s) => {
                set_once(&mut q.sort, &mut self.sort_by, s, token, "a list is sorted by one key; keep one sort:.")
            }
        }
    }
}

/// Form-encodes a query-string value: unreserved characters and the few
/// that make a query readable (`:`, `,`, `!`) stay as they are, a space
/// becomes `+`, anything else its UTF-8 bytes as `%XX`.
fn encode_component(text: &str) -> String {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut out = String::with_capacity(text.len());
    for &b in text.as_bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b':' | b',' | b'!' => {
                out.push(char::from(b))
            }
            b' ' => out.push('+'),
            _ => {
                out.push('%');
                out.push(char::from(HEX[usize::from(b >> 4)]));
                out.push(char::from(HEX[usize::from(b & 0xF)]));
            }
        }
    }
    out
}

/// Decodes a form-encoded value; a `%` not followed by two hex digits is kept
/// as it is, and bytes that are not UTF-8 become U+FFFD.
fn decode_component(raw: &str) -> String {
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |j: usize| bytes.get(j).and_then(|b| char::from(*b).to_digit(16));
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => match (hex(i + 1), hex(i + 2)) {
                (Some(hi), Some(lo)) => {
                    out.push(u8::try_from(hi * 16 + lo).unwrap_or(b'?'));
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn tag(name: &str) -> Tag {
        Tag::parse(name).unwrap()
    }

    fn tags(names: &[&str]) -> BTreeSet<Tag> {
        names.iter().map(|n| tag(n)).collect()
    }

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    /// The default query with one change.
    fn with(change: impl FnOnce(&mut TaskQuery)) -> TaskQuery {
        let mut q = TaskQuery::default();
        change(&mut q);
        q
    }

    #[test]
    fn every_sort_on_the_menu_reads_back_from_its_parameter() {
        for sort in Sort::ALL {
            assert_eq!(Sort::from_param(&sort.param()), Some(sort));
        }
        assert_eq!(Sort::from_param(" -Priority "), Some(Sort { key: SortKey::Priority, descending: true }));
        assert_eq!(Sort::from_param("size"), None);
        assert_eq!(Sort::ALL[2].menu_label(), "Priority, highest first");
        assert_eq!(Sort::ALL.iter().collect::<std::collections::HashSet<_>>().len(), 10);
    }

    #[test]
    fn each_operator_reads_as_its_part_of_the_query() {
        let cases: Vec<(&str, TaskQuery)> = vec![
            ("", TaskQuery::default()),
            ("pay rent", with(|q| q.words = vec!["pay".into(), "rent".into()])),
            ("is:open", TaskQuery::default()),
            ("is:done", with(|q| q.status = Status::Done)),
            ("is:all", with(|q| q.status = Status::All)),
            ("!high", with(|q| q.priorities = [Priority::High].into())),
            ("!high,urgent", with(|q| q.priorities = [Priority::High, Priority::Urgent].into())),
            ("!high !urgent", with(|q| q.priorities = [Priority::High, Priority::Urgent].into())),
            ("!none", with(|q| q.priorities = [Priority::None].into())),
            ("#work #home", with(|q| q.tags_all = tags(&["work", "home"]))),
            ("-#someday", with(|q| q.tags_none = tags(&["someday"]))),
            ("-#a,b", with(|q| q.tags_none = tags(&["a", "b"]))),
            ("due:today", with(|q| q.due = Some(DueFilter::Today))),
            ("due:tomorrow", with(|q| q.due = Some(DueFilter::Tomorrow))),
            ("due:week", with(|q| q.due = Some(DueFilter::ThisWeek))),
            ("due:<7d", with(|q| q.due = Some(DueFilter::Next(7)))),
            ("due:<366d", with(|q| q.due = Some(DueFilter::Next(366)))),
            ("due:none", with(|q| q.due = Some(DueFilter::NoDate))),
            ("is:overdue", with(|q| q.due = Some(DueFilter::Overdue))),
            ("due:overdue", with(|q| q.due = Some(DueFilter::Overdue))),
            (
                "due:2026-12-01..2026-12-31",
                with(|q| {
                    q.due = Some(DueFilter::Range { from: Some(date(2026, 12, 1)), to: Some(date(2026, 12, 31)) })
                }),
            ),
            ("due:..2026-12-31", with(|q| q.due = Some(DueFilter::Range { from: None, to: Some(date(2026, 12, 31)) }))),
            ("due:2026-12-01..", with(|q| q.due = Some(DueFilter::Range { from: Some(date(2026, 12, 1)), to: None }))),
            (
                "due:2026-12-01",
                with(|q| q.due = Some(DueFilter::Range { from: Some(date(2026, 12, 1)), to: Some(date(2026, 12, 1)) })),
            ),
            ("is:recurring", with(|q| q.recurring = Some(true))),
            ("-is:recurring", with(|q| q.recurring = Some(false))),
            ("has:reminder", with(|q| q.has_reminders = Some(true))),
            ("-has:reminder", with(|q| q.has_reminders = Some(false))),
            ("sort:due", TaskQuery::default()),
            ("sort:-due", with(|q| q.sort = Sort { key: SortKey::Due, descending: true })),
            ("sort:priority", with(|q| q.sort = Sort { key: SortKey::Priority, descending: false })),
            ("sort:created", with(|q| q.sort = Sort { key: SortKey::Created, descending: false })),
            ("sort:-updated", with(|q| q.sort = Sort { key: SortKey::Updated, descending: true })),
            ("sort:title", with(|q| q.sort = Sort { key: SortKey::Title, descending: false })),
        ];
        for (text, expected) in cases {
            assert_eq!(TaskQuery::parse(text), Ok(expected), "{text:?}");
        }
    }

    #[test]
    fn a_tag_with_a_comma_means_any_of_them() {
        assert_eq!(TaskQuery::parse("#work,home"), Ok(with(|q| q.tags_any = tags(&["work", "home"]))));
        assert_eq!(TaskQuery::parse("#work,#home"), Ok(with(|q| q.tags_any = tags(&["work", "home"]))));
        assert_eq!(TaskQuery::parse("#work,"), Ok(with(|q| q.tags_any = tags(&["work"]))), "a lone tag in a group");
        assert_eq!(TaskQuery::parse("#work"), Ok(with(|q| q.tags_all = tags(&["work"]))));
    }

    #[test]
    fn a_quoted_phrase_is_one_word_and_stays_literal() {
        let q = TaskQuery::parse(r#"call "pay rent" "is:done #work" "say \"hi\"""#).unwrap();
        assert_eq!(q.words, ["call", "pay rent", "is:done #work", "say \"hi\""]);
        assert_eq!(q.status, Status::Open);
        assert!(q.tags_all.is_empty());
    }

    #[test]
    fn an_unterminated_quote_runs_to_the_end_of_the_text() {
        assert_eq!(TaskQuery::parse("buy \"milk #now").unwrap().words, ["buy", "milk #now"]);
        assert_eq!(TaskQuery::parse("\"").unwrap(), TaskQuery::default(), "an empty phrase is no word");
    }

    #[test]
    fn words_are_kept_as_typed() {
        assert_eq!(TaskQuery::parse("  Pay   RENT  ").unwrap().words, ["Pay", "RENT"]);
    }

    #[test]
    fn a_key_we_do_not_know_makes_a_search_word() {
        let cases = [
            ("meeting at 10:30", vec!["meeting", "at", "10:30"]),
            ("https://example.com", vec!["https://example.com"]),
            ("-todo C# ! !!! # - -#", vec!["-todo", "C#", "!", "!!!", "#", "-", "-#"]),
            ("-foo:bar", vec!["-foo:bar"]),
        ];
        for (text, words) in cases {
            assert_eq!(TaskQuery::parse(text).unwrap().words, words, "{text:?}");
        }
    }

    #[test]
    fn keys_and_values_are_case_insensitive() {
        let q = TaskQuery::parse("IS:Done !HIGH #Work DUE:Today Sort:-Title -HAS:Reminder").unwrap();
        assert_eq!(q.status, Status::Done);
        assert_eq!(q.priorities, [Priority::High].into());
        assert_eq!(q.tags_all, tags(&["work"]));
        assert_eq!(q.due, Some(DueFilter::Today));
        assert_eq!(q.sort, Sort { key: SortKey::Title, descending: true });
        assert_eq!(q.has_reminders, Some(false));
    }

    #[test]
    fn errors_name_the_token_and_show_the_right_form() {
        let cases = [
            ("due:tomorow", "`due:tomorow` is not a date filter: use today, tomorrow, week, <7d, none or a range like 2026-12-01..2026-12-31."),
            ("due:<0d", "`due:<0d` needs 1 to 366 days"),
            ("due:<367d", "`due:<367d` needs 1 to 366 days"),
            ("due:<+7d", "`due:<+7d` needs 1 to 366 days"),
            ("due:2026-02-30", "`due:2026-02-30`: 2026-02-30 is not a date"),
            ("due:1899-12-31..", "years 1900 to 9999"),
            ("due:..", "`due:..` needs a date on at least one side"),
            ("due:2026-12-31..2026-12-01", "ends before it starts: put the earlier date first, as in due:2026-12-01..2026-12-31."),
            ("due:", "`due:` needs a value, as in due:today."),
            ("!hihg", "`!hihg` is not a priority: use !none, !low, !medium, !high or !urgent"),
            ("!high,asap", "`!high,asap` is not a priority"),
            ("#a/b", "`#a/b` is not a tag: Tags may use letters"),
            ("#,", "`#,` names no tag"),
            ("is:closed", "`is:closed` is not a state: use is:open, is:done"),
            ("has:notes", "`has:notes` is not something a task has: use has:reminder"),
            ("sort:name", "`sort:name` is not a sort: use sort:due"),
            ("-is:done", "`-is:done` cannot be negated"),
            ("-!high", "`-!high` cannot be negated"),
            ("-sort:due", "`-sort:due` cannot be negated"),
            ("is:open is:done", "`is:done` conflicts with `is:open`: a search shows open, done or all tasks"),
            ("due:today is:overdue", "`is:overdue` conflicts with `due:today`: a search takes one date filter"),
            ("sort:title sort:-due", "`sort:-due` conflicts with `sort:title`"),
            ("#a,b #c,d", "`#c,d` conflicts with `#a,b`: a search takes one any-of tag group"),
            ("is:recurring -is:recurring", "`-is:recurring` conflicts with `is:recurring`"),
            ("has:reminder -has:reminder", "`-has:reminder` conflicts with `has:reminder`"),
        ];
        for (text, expected) in cases {
            let err = TaskQuery::parse(text).unwrap_err();
            assert!(err.message.contains(expected), "{text:?} gave {:?}", err.message);
            assert!(text.contains(&err.token), "{text:?} named {:?}", err.token);
        }
    }

    #[test]
    fn repeating_an_operator_with_the_same_value_is_harmless() {
        let q = TaskQuery::parse("is:done is:done due:today due:today sort:title sort:title #a,b #b,a").unwrap();
        assert_eq!(q.to_string(), "is:done #a,b due:today sort:title");
    }

    #[test]
    fn query_errors_belong_to_the_search_box() {
        let err = TaskQuery::parse("due:someday").unwrap_err();
        assert_eq!(err.field(), "q");
        let v = ValidationError::from(err.clone());
        assert_eq!((v.field.as_str(), v.message), ("q", err.to_string()));
    }

    #[test]
    fn a_lenient_parse_keeps_what_it_can_and_reports_the_rest() {
        let (q, errors) = TaskQuery::parse_lenient("#work due:someday is:done is:open !asap rent");
        assert_eq!(
            q,
            with(|q| {
                q.tags_all = tags(&["work"]);
                q.status = Status::Done;
                q.words = vec!["rent".into()];
            })
        );
        let bad: Vec<&str> = errors.iter().map(|e| e.token.as_str()).collect();
        assert_eq!(bad, ["due:someday", "is:open", "!asap"]);
        assert_eq!(TaskQuery::parse("#work due:someday is:done").unwrap_err().token, "due:someday", "the first error");
    }

    #[test]
    fn the_canonical_form_puts_every_part_in_a_fixed_order() {
        let text =
            "rent -is:recurring sort:-updated due:<7d -#someday #work,home #errands !urgent,high is:all has:reminder";
        assert_eq!(
            TaskQuery::parse(text).unwrap().to_string(),
            "is:all !high,urgent #errands #home,work -#someday due:<7d -is:recurring has:reminder sort:-updated rent"
        );
        assert_eq!(TaskQuery::default().to_string(), "");
    }

    #[test]
    fn words_that_would_read_as_something_else_are_quoted() {
        let words =
            ["pay rent", "#work", "is:done", "-is:recurring", "!high", "due:soon", "\"hi\"", r"a\b c", "IS:DONE"];
        let q = with(|q| q.words = words.iter().map(|w| (*w).to_owned()).collect());
        assert_eq!(
            q.to_string(),
            r##""pay rent" "#work" "is:done" "-is:recurring" "!high" "due:soon" "\"hi\"" "a\\b c" "IS:DONE""##
        );
        assert_eq!(TaskQuery::parse(&q.to_string()), Ok(q));
        let plain = with(|q| q.words = vec!["10:30".into(), "C#".into(), "a\"b".into(), "-x".into()]);
        assert_eq!(plain.to_string(), "10:30 C# a\"b -x");
    }

    #[test]
    fn chips_label_each_part_and_link_to_the_query_without_it() {
        let q = TaskQuery::parse(
            "is:done !high,urgent #work #a,b -#someday due:<7d is:recurring -has:reminder sort:title rent",
        )
        .unwrap();
        let chips = q.chips();
        let labels: Vec<&str> = chips.iter().map(|c| c.label.as_str()).collect();
        assert_eq!(
            labels,
            [
                "Done",
                "Priority: high or urgent",
                "Tag: work",
                "Tag: a or b",
                "Not tagged: someday",
                "Due: next 7 days",
                "Recurring",
                "Without reminders",
                "Sorted by title, A to Z",
                "Search: rent",
            ]
        );
        let links: Vec<String> = chips.iter().map(|c| c.without.to_string()).collect();
        assert_eq!(links[0], "!high,urgent #work #a,b -#someday due:<7d is:recurring -has:reminder sort:title rent");
        assert_eq!(links[2], "is:done !high,urgent #a,b -#someday due:<7d is:recurring -has:reminder sort:title rent");
        assert_eq!(links[9], "is:done !high,urgent #work #a,b -#someday due:<7d is:recurring -has:reminder sort:title");
        assert!(TaskQuery::default().chips().is_empty());
    }

    #[test]
    fn due_chips_read_as_sentences() {
        let cases = [
            ("is:overdue", "Overdue"),
            ("due:today", "Due: today"),
            ("due:week", "Due: this week"),
            ("due:<1d", "Due: next 1 day"),
            ("due:none", "No due date"),
            ("due:2026-12-01", "Due: Tue 1 Dec 2026"),
            ("due:2026-12-01..2026-12-31", "Due: Tue 1 Dec 2026 to Thu 31 Dec 2026"),
            ("due:2026-12-01..", "Due: from Tue 1 Dec 2026"),
            ("due:..2026-12-31", "Due: by Thu 31 Dec 2026"),
            ("is:all", "Open and done"),
            ("sort:-updated", "Sorted by last change, most recent first"),
            ("!none", "Priority: none"),
            ("!low,medium,high", "Priority: low, medium or high"),
        ];
        for (text, label) in cases {
            assert_eq!(TaskQuery::parse(text).unwrap().chips()[0].label, label, "{text:?}");
        }
    }

    #[test]
    fn due_filters_become_inclusive_days_around_today() {
        // A Wednesday.
        let today = date(2026, 3, 18);
        let within = |from: Option<NaiveDate>, to: Option<NaiveDate>| DueDays::Within { from, to };
        let cases = [
            (DueFilter::Overdue, within(None, Some(date(2026, 3, 17)))),
            (DueFilter::Today, within(Some(today), Some(today))),
            (DueFilter::Tomorrow, within(Some(date(2026, 3, 19)), Some(date(2026, 3, 19)))),
            (DueFilter::ThisWeek, within(Some(date(2026, 3, 16)), Some(date(2026, 3, 22)))),
            (DueFilter::Next(1), within(Some(today), Some(today))),
            (DueFilter::Next(7), within(Some(today), Some(date(2026, 3, 24)))),
            (DueFilter::NoDate, DueDays::Undated),
            (DueFilter::Range { from: None, to: Some(today) }, within(None, Some(today))),
        ];
        for (filter, days) in cases {
            assert_eq!(filter.days(today), days, "{filter:?}");
        }
        assert_eq!(
            DueFilter::ThisWeek.days(date(2026, 3, 22)),
            within(Some(date(2026, 3, 16)), Some(date(2026, 3, 22)))
        );
        assert!(DueFilter::Overdue.open_only() && !DueFilter::Today.open_only());
        assert_eq!(DueFilter::Next(7).days(NaiveDate::MAX), within(Some(NaiveDate::MAX), None), "no overflow");
    }

    #[test]
    fn due_days_become_utc_instants_in_the_users_zone() {
        let berlin = TimeZone::parse("Europe/Berlin").unwrap();
        // The clocks go forward in Berlin on 2026-03-29: that day has 23 hours.
        let (from, to) = DueFilter::Today.days(date(2026, 3, 29)).instants(berlin);
        assert_eq!(from.unwrap().to_rfc3339(), "2026-03-28T23:00:00+00:00");
        assert_eq!(to.unwrap().to_rfc3339(), "2026-03-29T22:00:00+00:00");
        assert_eq!(DueDays::Undated.instants(berlin), (None, None));
    }

    #[test]
    fn a_link_carries_the_whole_query_in_q() {
        let q = TaskQuery::parse("#work due:<7d \"pay rent\" 100%+").unwrap();
        assert_eq!(q.to_query_string(), "q=%23work+due:%3C7d+%22pay+rent%22+100%25%2B");
        assert_eq!(TaskQuery::from_query_string(&format!("?page=2&{}", q.to_query_string())), (q, Vec::new()));
        assert_eq!(TaskQuery::default().to_query_string(), "q=");
        assert_eq!(TaskQuery::from_query_string("after=abc"), (TaskQuery::default(), Vec::new()));
        assert_eq!(TaskQuery::from_query_string("q=caf%C3%A9%2").0.words, ["café%2"], "a broken escape is kept");
        let (stale, errors) = TaskQuery::from_query_string("q=is%3Adone+due%3Asoon");
        assert_eq!((stale.status, errors.len()), (Status::Done, 1));
    }

    fn any_tag() -> impl Strategy<Value = Tag> {
        prop_oneof!["[a-z0-9_-]{1,8}", Just("é-tâche".to_owned())].prop_map(|s| tag(&s))
    }

    fn any_date() -> impl Strategy<Value = NaiveDate> {
        let first = date(1900, 1, 1);
        let span = (date(9999, 12, 31) - first).num_days() as u64;
        (0..=span).prop_map(move |d| first + Days::new(d))
    }

    fn any_due() -> impl Strategy<Value = DueFilter> {
        prop_oneof![
            Just(DueFilter::Overdue),
            Just(DueFilter::Today),
            Just(DueFilter::Tomorrow),
            Just(DueFilter::ThisWeek),
            (1u16..=366).prop_map(DueFilter::Next),
            Just(DueFilter::NoDate),
            (proptest::option::of(any_date()), proptest::option::of(any_date()))
                .prop_filter("a range has a bound", |(a, b)| a.is_some() || b.is_some())
                .prop_map(|(a, b)| match (a, b) {
                    (Some(a), Some(b)) if b < a => DueFilter::Range { from: Some(b), to: Some(a) },
                    (from, to) => DueFilter::Range { from, to },
                }),
        ]
    }

    /// Words as people might type or quote them, operator look-alikes included.
    fn any_word() -> impl Strategy<Value = String> {
        prop_oneof![
            "\\PC{1,12}",
            "[a-zA-Z0-9 #:!,.<\"\\\\-]{1,12}",
            prop::sample::select(vec![
                "#work",
                "is:done",
                "-#x",
                "\"",
                "\\",
                "due:",
                "10:30",
                "!high",
                "-",
                "!",
                "#",
                "sort:-title"
            ])
            .prop_map(str::to_owned),
        ]
        .prop_map(|w| w.trim().to_owned())
        .prop_filter("a word is not empty", |w| !w.is_empty())
    }

    fn any_query() -> impl Strategy<Value = TaskQuery> {
        let status = prop::sample::select(vec![Status::Open, Status::Done, Status::All]);
        let keys = vec![SortKey::Due, SortKey::Priority, SortKey::Created, SortKey::Updated, SortKey::Title];
        let sort = (prop::sample::select(keys), any::<bool>()).prop_map(|(key, descending)| Sort { key, descending });
        let priorities = prop::collection::btree_set(prop::sample::select(Priority::ALL.to_vec()), 0..=5);
        let tag_set = || prop::collection::btree_set(any_tag(), 0..4);
        (
            prop::collection::vec(any_word(), 0..4),
            status,
            priorities,
            (tag_set(), tag_set(), tag_set()),
            proptest::option::of(any_due()),
            proptest::option::of(any::<bool>()),
            proptest::option::of(any::<bool>()),
            sort,
        )
            .prop_map(
                |(words, status, priorities, (tags_all, tags_any, tags_none), due, recurring, has_reminders, sort)| {
                    TaskQuery {
                        words,
                        status,
                        priorities,
                        tags_all,
                        tags_any,
                        tags_none,
                        due,
                        recurring,
                        has_reminders,
                        sort,
                    }
                },
            )
    }

    /// Text made of real operators, near misses and words, so the fuzzing
    /// reaches the operators' code and not only the word path.
    fn query_like_text() -> impl Strategy<Value = String> {
        let token = prop_oneof![
            prop::sample::select(vec![
                "is:open",
                "is:done",
                "IS:ALL",
                "is:overdue",
                "is:recurring",
                "-is:recurring",
                "has:reminder",
                "-has:reminder",
                "due:today",
                "due:tomorrow",
                "due:week",
                "due:<7d",
                "due:<0d",
                "due:none",
                "due:2026-12-01..2026-12-31",
                "due:..2026-01-01",
                "due:2026-02-30..",
                "due:..",
                "sort:title",
                "sort:-due",
                "sort:nope",
                "!high",
                "!high,urgent",
                "!nope",
                "#work",
                "#a,b",
                "#b,a,",
                "-#x",
                "#",
                "-#",
                "#,",
                "\"",
                "\\\"",
                "\"a b",
                "10:30",
                "-",
                "!",
                "foo:bar",
            ])
            .prop_map(str::to_owned),
            "\\PC{0,6}",
        ];
        prop::collection::vec(token, 0..8).prop_map(|tokens| tokens.join(" "))
    }

    fn assert_fixpoint(text: &str) -> Result<(), TestCaseError> {
        let (lenient, _) = TaskQuery::parse_lenient(text);
        prop_assert_eq!(TaskQuery::parse(&lenient.to_string()), Ok(lenient.clone()), "lenient {:?}", text);
        if let Ok(q) = TaskQuery::parse(text) {
            prop_assert_eq!(&q, &lenient);
            prop_assert_eq!(TaskQuery::parse(&q.to_string()), Ok(q));
        }
        Ok(())
    }

    proptest! {
        #[test]
        fn any_query_prints_and_parses_back_to_itself(q in any_query()) {
            prop_assert_eq!(TaskQuery::parse(&q.to_string()), Ok(q.clone()), "{}", q);
            prop_assert_eq!(TaskQuery::from_query_string(&q.to_query_string()), (q.clone(), Vec::new()));
            for chip in q.chips() {
                prop_assert_ne!(&chip.without, &q);
            }
        }

        #[test]
        fn any_text_parses_without_panicking_to_a_fixpoint(text in "\\PC{0,60}") {
            assert_fixpoint(&text)?;
        }

        #[test]
        fn any_query_like_text_parses_to_a_fixpoint(text in query_like_text()) {
            assert_fixpoint(&text)?;
        }

        #[test]
        fn any_query_string_decodes_without_panicking(raw in "[%+=&?qa-f0-9\\PC]{0,40}") {
            let _ = TaskQuery::from_query_string(&raw);
        }
    }
}
