//! The task list: which tasks it shows (the filter), in which order (the list
//! key every task stores), and which slice of them (keyset pages), so that any
//! page costs what the first one does.

use std::collections::BTreeSet;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::account::TimeZone;
use crate::query::{DueDays, Sort, Status, TaskQuery};
use crate::tag::TagColours;
use crate::task::{Due, Priority, Tag, Tags, Task, TaskId, TaskTitle};

/// Which tasks a list shows and in which order, resolved for the store: the
/// search box's query (`TaskQuery`) with its due dates turned into instants of
/// the user's zone. Built anew per request, so "today" is always today.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct TaskFilter {
    pub status: Status,
    /// Any of these priorities; empty for any.
    pub priorities: BTreeSet<Priority>,
    pub tags_all: BTreeSet<Tag>,
    /// At least one of these; empty for no constraint.
    pub tags_any: BTreeSet<Tag>,
    pub tags_none: BTreeSet<Tag>,
    pub due: Option<DueWindow>,
    pub recurring: Option<bool>,
    pub has_reminders: Option<bool>,
    /// Full-text search terms: every one must start a word of the task's
    /// title, description or tags, ignoring case and diacritics.
    pub terms: Vec<String>,
    /// The order: the list's own (`Sort::default()`, which ranks title
    /// matches first when there are terms) or one of the sort keys, ties
    /// broken by the list's own order.
    pub sort: Sort,
}

/// Which due instants a filter selects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum DueWindow {
    /// No due date.
    Undated,
    /// Due at or after `from` and before `to`; a missing end is open.
    Between { from: Option<DateTime<Utc>>, to: Option<DateTime<Utc>> },
}

/// Most search terms a filter keeps: a longer query is a paste, not a search.
const MAX_TERMS: usize = 16;

impl TaskFilter {
    /// The filter a query asks for on `today` in the user's `zone`.
    pub fn of(query: &TaskQuery, today: NaiveDate, zone: TimeZone) -> Self {
        let due = query.due.map(|d| match d.days(today) {
            DueDays::Undated => DueWindow::Undated,
            days => {
                let (from, to) = days.instants(zone);
                DueWindow::Between { from, to }
            }
        });
        // An overdue task is one still to do, whatever the status says.
        let status = if query.due.is_some_and(|d| d.open_only()) { Status::Open } else { query.status };
        Self {
            status,
            priorities: query.priorities.clone(),
            tags_all: query.tags_all.clone(),
            tags_any: query.tags_any.clone(),
            tags_none: query.tags_none.clone(),
            due,
            recurring: query.recurring,
            has_reminders: query.has_reminders,
            terms: search_terms(&query.words),
            sort: query.sort,
        }
    }

    /// Whether search results come ranked (title matches first): when there
    /// are words to match and no other order was asked for.
    pub fn ranked(&self) -> bool {
        !self.terms.is_empty() && self.sort == Sort::default()
    }

    /// The list's older link parameters (`completed`, `tag`, `priority`):
    /// lenient by design, so a stale or hand-edited link shows a list, not an error.
    pub fn from_query(show_completed: Option<&str>, tag: Option<&str>, priority: Option<&str>) -> Self {
        let shown = matches!(show_completed, Some("1" | "true" | "on" | "yes"));
        let tag = tag.filter(|t| !t.trim().is_empty()).and_then(|t| Tag::parse(t).ok());
        let priority = priority.filter(|p| !p.trim().is_empty() && *p != "any").and_then(|p| Priority::parse(p).ok());
        Self {
            status: if shown { Status::All } else { Status::Open },
            tags_all: tag.into_iter().collect(),
            priorities: priority.into_iter().collect(),
            ..Self::default()
        }
    }

    /// This filter narrowed by the older link parameters as well (a tag, a
    /// priority, completed shown), so the filter form and the search box combine.
    pub fn and_legacy(mut self, show_completed: Option<&str>, tag: Option<&str>, priority: Option<&str>) -> Self {
        let legacy = Self::from_query(show_completed, tag, priority);
        self.tags_all.extend(legacy.tags_all);
        self.priorities.extend(legacy.priorities);
        if legacy.status == Status::All && self.status == Status::Open {
            self.status = Status::All;
        }
        self
    }

    /// The list keys this filter can select lie strictly between these
    /// bounds: open tasks' keys start with `0`, completed ones with `1`.
    pub fn key_bounds(&self) -> (&'static str, &'static str) {
        match self.status {
            Status::Open => ("", "1"),
            Status::Done => ("1", "2"),
            Status::All => ("", "2"),
        }
    }
}

/// The words of a search, as the store matches them: runs of letters and
/// digits, lower-cased and without diacritics ("Crème brûlée" → `creme`,
/// `brulee`), each matching the start of a word.
pub fn search_terms(words: &[String]) -> Vec<String> {
    let mut terms: Vec<String> = Vec::new();
    for word in words {
        for run in word.split(|c: char| !c.is_alphanumeric()).filter(|r| !r.is_empty()) {
            let term = fold(run);
            if !term.is_empty() && !terms.contains(&term) && terms.len() < MAX_TERMS {
                terms.push(term);
            }
        }
    }
    terms
}

/// Where in `text` the search `terms` matched: for each word that starts
/// with a term (folded as the stores fold), the byte range of that start, so
/// a list can mark it. Ranges are in order and never overlap.
pub fn highlights(text: &str, terms: &[String]) -> Vec<std::ops::Range<usize>> {
    let mut marks = Vec::new();
    if terms.is_empty() {
        return marks;
    }
    let mut chars = text.char_indices().peekable();
    while let Some(&(start, c)) = chars.peek() {
        if !c.is_alphanumeric() {
            chars.next();
            continue;
        }
        // One word: fold it a character at a time, noting where each folded length ends.
        let mut folded = String::new();
        let mut ends: Vec<(usize, usize)> = Vec::new();
        while let Some(&(i, c)) = chars.peek().filter(|(_, c)| c.is_alphanumeric()) {
            folded.push_str(&fold(c.encode_utf8(&mut [0; 4])));
            ends.push((folded.len(), i + c.len_utf8()));
            chars.next();
        }
        let longest = terms.iter().filter(|t| folded.starts_with(t.as_str())).map(String::len).max();
        if let Some(end) = longest.and_then(|len| ends.iter().find(|(f, _)| *f >= len).map(|(_, end)| *end)) {
            marks.push(start..end);
        }
    }
    marks
}

/// Lower case without diacritics, as both stores index text.
pub fn fold(text: &str) -> String {
    use unicode_normalization::char::is_combining_mark;
    use unicode_normalization::UnicodeNormalization;
    text.nfkd().filter(|c| !is_combining_mark(*c)).flat_map(char::to_lowercase).collect()
}

/// A task's place in the list, as one string that sorts like the list does:
/// open before completed, then by due instant (undated last), then the more
/// pressing priority, then the newest, then the id (so the order is total).
///
/// Stored with every task and indexed with its owner, so a page is a range
/// read of one index on either database, and a cursor is just a key.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ListKey(String);

impl ListKey {
    /// Longer than any key `of` makes; cursors beyond it are not ours.
    const MAX_LEN: usize = 80;

    pub fn of(
        completed: bool,
        due: Option<DateTime<Utc>>,
        priority: Priority,
        created_at: DateTime<Utc>,
        id: TaskId,
    ) -> Self {
        let mut key = String::with_capacity(72);
        key.push(if completed { '1' } else { '0' });
        match due {
            // Due years are 1900..=9999, so this is always 20 digits.
            Some(at) => {
                key.push('d');
                key.push_str(&at.format("%Y%m%d%H%M%S%6f").to_string());
            }
            None => key.push('n'),
        }
        key.push(char::from(b'4' - priority.rank() as u8));
        // Newest first: the complement of the creation time sorts descending.
        let micros = u64::try_from(created_at.timestamp_micros()).unwrap_or(0);
        key.push_str(&format!("{:016x}", u64::MAX - micros));
        key.push_str(&id.0.simple().to_string());
        Self(key)
    }

    pub fn for_task(task: &Task) -> Self {
        Self::of(task.is_completed(), task.due.map(|d| d.at), task.priority, task.created_at, task.id)
    }

    /// Reads a cursor back from a URL; anything that is not the shape of a key
    /// is dropped, and the list starts from the top.
    pub fn from_cursor(raw: &str) -> Option<Self> {
        let raw = raw.trim();
        let plausible = !raw.is_empty()
            && raw.len() <= Self::MAX_LEN
            && raw.bytes().all(|b| b.is_ascii_digit() || b.is_ascii_lowercase());
        plausible.then(|| Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The task whose key this is: every key ends with its task's id.
    pub fn task_id(&self) -> Option<TaskId> {
        let tail = self.0.len().checked_sub(32).and_then(|start| self.0.get(start..))?;
        uuid::Uuid::try_parse(tail).ok().map(TaskId)
    }
}

/// Where a page starts: at the top, after a key (the next page), or before
/// one (the previous page).
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Cursor {
    #[default]
    Start,
    After(ListKey),
    Before(ListKey),
}

/// One page of a list: where it starts and how many rows it holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PageRequest {
    pub cursor: Cursor,
    pub size: u32,
}

impl PageRequest {
    /// Rows per page of the task list: enough to scan, small enough to render fast.
    pub const DEFAULT_SIZE: u32 = 50;

    pub fn first() -> Self {
        Self { cursor: Cursor::Start, size: Self::DEFAULT_SIZE }
    }

    /// Lenient like the filters: a missing or garbled cursor is the first page.
    pub fn from_query(after: Option<&str>, before: Option<&str>) -> Self {
        let cursor = match (after.and_then(ListKey::from_cursor), before.and_then(ListKey::from_cursor)) {
            (Some(key), _) => Cursor::After(key),
            (None, Some(key)) => Cursor::Before(key),
            (None, None) => Cursor::Start,
        };
        Self { cursor, ..Self::first() }
    }
}

/// What a list row shows of a task: everything but the description.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskSummary {
    pub id: TaskId,
    pub title: TaskTitle,
    pub priority: Priority,
    pub tags: Tags,
    pub due: Option<Due>,
    /// Whether it is an instance of a repeating series (the list's badge).
    pub recurring: bool,
    pub completed_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

impl TaskSummary {
    pub fn is_completed(&self) -> bool {
        self.completed_at.is_some()
    }

    pub fn is_overdue(&self, now: DateTime<Utc>) -> bool {
        !self.is_completed() && self.due.is_some_and(|d| d.at < now)
    }

    pub fn list_key(&self) -> ListKey {
        ListKey::of(self.is_completed(), self.due.map(|d| d.at), self.priority, self.created_at, self.id)
    }
}

impl From<&Task> for TaskSummary {
    fn from(t: &Task) -> Self {
        Self {
            id: t.id,
            title: t.title.clone(),
            priority: t.priority,
            tags: t.tags.clone(),
            due: t.due,
            recurring: t.repeat.is_some(),
            completed_at: t.completed_at,
            created_at: t.created_at,
        }
    }
}

/// How far a list counts its matches: past this many it says "more than",
/// rather than reading every match of a huge list on every page.
pub const COUNT_CAP: u64 = 1000;

/// A page of tasks, with where it sits in the whole filtered list.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskPage {
    pub tasks: Vec<TaskSummary>,
    /// Tasks the filter selects on all pages, up to one past `COUNT_CAP`.
    pub total: u64,
    /// Tasks the filter selects before this page's first row, up to one past `COUNT_CAP`.
    pub offset: u64,
    /// Whether rows follow this page.
    pub more_after: bool,
    /// Every tag the user has, for the list's filter: read with the page, on
    /// the same connection.
    pub tags: Vec<Tag>,
    /// The colours of those tags that have one, for the rows' chips: read in
    /// the same query as `tags`, so the two always agree.
    pub colours: TagColours,
}

impl TaskPage {
    /// Whether `total` is the exact count (not cut off at `COUNT_CAP`).
    pub fn total_exact(&self) -> bool {
        self.total <= COUNT_CAP
    }

    /// Whether `offset` is the exact place of the first row.
    pub fn offset_exact(&self) -> bool {
        self.offset <= COUNT_CAP
    }

    /// The cursor of the page before this one, if there is one.
    pub fn previous(&self) -> Option<ListKey> {
        (self.offset > 0).then(|| self.tasks.first().map(TaskSummary::list_key)).flatten()
    }

    /// The cursor of the page after this one, if there is one.
    pub fn next(&self) -> Option<ListKey> {
        self.more_after.then(|| self.tasks.last().map(TaskSummary::list_key)).flatten()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_terms_are_folded_word_starts_and_matches_are_marked_where_they_are() {
        let terms = search_terms(&["Crème".to_owned(), "brûl,\u{e9}e".to_owned(), "CREME".to_owned()]);
        assert_eq!(terms, ["creme", "brul", "ee"]);
        let text = "Crème brûlée, not crème anglaise";
        let marked: Vec<&str> = highlights(text, &terms).into_iter().map(|r| &text[r]).collect();
        assert_eq!(marked, ["Crème", "brûl", "crème"]);
        assert!(highlights("Pay rent", &[]).is_empty());
        assert!(highlights("present", &["rent".to_owned()]).is_empty(), "only the start of a word");
    }
    use crate::account::TimeZone;
    use chrono::TimeZone as _;
    use proptest::prelude::*;
    use uuid::Uuid;

    fn at(y: i32, m: u32, d: u32, h: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, m, d, h, 0, 0).unwrap()
    }

    fn key(done: bool, due: Option<DateTime<Utc>>, p: Priority, created: DateTime<Utc>, id: u128) -> ListKey {
        ListKey::of(done, due, p, created, TaskId(Uuid::from_u128(id)))
    }

    #[test]
    fn filters_ignore_garbage_in_the_query_string() {
        let f = TaskFilter::from_query(Some("1"), Some("a/b"), Some("nope"));
        assert_eq!(f, TaskFilter { status: Status::All, ..TaskFilter::default() });
    }

    #[test]
    fn a_query_resolves_its_due_days_to_instants_of_the_users_zone_and_overdue_means_open() {
        let berlin = TimeZone::parse("Europe/Berlin").unwrap();
        let today = NaiveDate::from_ymd_opt(2026, 3, 29).unwrap();
        let query = TaskQuery::parse("due:today is:all #home").unwrap();
        let filter = TaskFilter::of(&query, today, berlin);
        // The night the clocks go forward: midnight is 23:00 UTC before, 22:00 UTC after.
        let (from, to) = (at(2026, 3, 28, 23), at(2026, 3, 29, 22));
        assert_eq!(filter.due, Some(DueWindow::Between { from: Some(from), to: Some(to) }));
        assert_eq!((filter.status, filter.tags_all.len()), (Status::All, 1));
        let overdue = TaskFilter::of(&TaskQuery::parse("is:overdue is:done").unwrap(), today, berlin);
        assert_eq!(overdue.status, Status::Open);
        let legacy = TaskFilter::of(&TaskQuery::parse("!high").unwrap(), today, berlin).and_legacy(
            Some("1"),
            Some("work"),
            Some("low"),
        );
        assert_eq!((legacy.status, legacy.priorities.len(), legacy.tags_all.len()), (Status::All, 2, 1));
    }

    #[test]
    fn list_keys_sort_open_first_then_due_then_priority_then_newest_then_id() {
        let t0 = at(2026, 1, 1, 0);
        let expected = [
            key(false, Some(at(2026, 3, 1, 9)), Priority::None, t0, 1),
            key(false, Some(at(2026, 3, 2, 9)), Priority::Urgent, t0, 1),
            key(false, None, Priority::Urgent, t0, 1),
            key(false, None, Priority::Low, at(2026, 2, 1, 0), 1),
            key(false, None, Priority::Low, t0, 1),
            key(false, None, Priority::Low, t0, 2),
            key(false, None, Priority::None, t0, 1),
            key(true, Some(at(1999, 1, 1, 0)), Priority::Urgent, t0, 1),
        ];
        let mut sorted = expected.to_vec();
        sorted.sort();
        assert_eq!(sorted, expected);
        assert!(expected.iter().all(|k| k.as_str() < "2"));
        assert!(expected[..7].iter().all(|k| k.as_str() < "1"), "open keys sit below the open bound");
    }

    #[test]
    fn a_cursor_that_is_not_a_key_starts_from_the_top() {
        for raw in ["", "  ", "0d<script>", &"0".repeat(81), "ABC"] {
            assert_eq!(PageRequest::from_query(Some(raw), None).cursor, Cursor::Start, "{raw:?}");
        }
        let k = key(false, None, Priority::High, at(2026, 1, 1, 0), 7);
        assert_eq!(PageRequest::from_query(Some(k.as_str()), None).cursor, Cursor::After(k.clone()));
        assert_eq!(PageRequest::from_query(None, Some(k.as_str())).cursor, Cursor::Before(k.clone()));
        assert_eq!(k.task_id(), Some(TaskId(Uuid::from_u128(7))), "a key names its task");
        assert_eq!(ListKey::from_cursor("0n3zz").and_then(|k| k.task_id()), None);
    }

    #[test]
    fn a_page_offers_neighbours_only_where_rows_exist() {
        let z = TimeZone::default();
        let row = |n: u128| TaskSummary {
            id: TaskId(Uuid::from_u128(n)),
            title: TaskTitle::parse("t").unwrap(),
            priority: Priority::None,
            tags: Tags::default(),
            due: Some(Due::new(chrono::NaiveDate::from_ymd_opt(2026, 1, 1).unwrap(), None, z)),
            recurring: false,
            completed_at: None,
            created_at: at(2026, 1, 1, 0),
        };
        let first = TaskPage {
            tasks: vec![row(1), row(2)],
            total: 5,
            offset: 0,
            more_after: true,
            tags: Vec::new(),
            colours: TagColours::default(),
        };
        assert_eq!((first.previous(), first.next()), (None, Some(row(2).list_key())));
        let last = TaskPage {
            tasks: vec![row(5)],
            total: 5,
            offset: 4,
            more_after: false,
            tags: Vec::new(),
            colours: TagColours::default(),
        };
        assert_eq!((last.previous(), last.next()), (Some(row(5).list_key()), None));
    }

    proptest! {
        #[test]
        fn list_keys_order_like_the_fields_they_encode(
            a in (any::<bool>(), proptest::option::of(0i64..4_000_000_000), 0usize..5, 0i64..4_000_000_000_000_000, any::<u128>()),
            b in (any::<bool>(), proptest::option::of(0i64..4_000_000_000), 0usize..5, 0i64..4_000_000_000_000_000, any::<u128>()),
        ) {
            let make = |(done, due, p, created, id): (bool, Option<i64>, usize, i64, u128)| {
                let due = due.map(|s| Utc.timestamp_opt(s, 0).unwrap());
                let created = Utc.timestamp_micros(created).unwrap();
                let k = key(done, due, Priority::ALL[p], created, id);
                // The list's order, field by field: what the key must reproduce.
                let order = (done, due.is_none(), due, std::cmp::Reverse(p), std::cmp::Reverse(created), id);
                (k, order)
            };
            let (ka, oa) = make(a);
            let (kb, ob) = make(b);
            prop_assert_eq!(ka.cmp(&kb), oa.cmp(&ob));
            prop_assert!(ListKey::from_cursor(ka.as_str()).is_some(), "every key is a valid cursor");
        }
    }
}
