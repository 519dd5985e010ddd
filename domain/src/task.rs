//! Tasks and the parsed values they are made of: title, description, priority,
//! tags, and a due date that is interpreted in the user's time zone.

use std::fmt;

use chrono::{
    DateTime, Datelike, Duration, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, Offset as _, TimeZone as _,
    Timelike, Utc,
};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::account::{TimeZone, UserId};
use crate::error::ValidationError;
use crate::reminder::Reminder;
use crate::repeat::{Repeat, RepeatDraft, RepeatInput};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct TaskId(pub Uuid);

impl fmt::Display for TaskId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl TaskId {
    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        Uuid::parse_str(raw.trim()).map(Self).map_err(|_| ValidationError::new("id", "This is not a task id."))
    }
}

/// A task title: trimmed, 1 to 200 characters, on one line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskTitle(String);

impl TaskTitle {
    pub const MAX: usize = 200;

    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        let value = raw.trim();
        let n = value.chars().count();
        if n == 0 {
            return Err(ValidationError::new("title", "Give the task a title."));
        }
        if n > Self::MAX {
            return Err(ValidationError::new(
                "title",
                format!("A title has at most {} characters (this one has {n}).", Self::MAX),
            ));
        }
        if value.chars().any(char::is_control) {
            return Err(ValidationError::new("title", "A title must fit on one line."));
        }
        Ok(Self(value.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Free text or Markdown, up to 10,000 characters; empty input means no description.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskDescription(String);

impl TaskDescription {
    pub const MAX: usize = 10_000;

    pub fn parse(raw: &str) -> Result<Option<Self>, ValidationError> {
        let value = raw.trim_end();
        if value.trim().is_empty() {
            return Ok(None);
        }
        if value.chars().count() > Self::MAX {
            return Err(ValidationError::new(
                "description",
                format!("A description has at most {} characters.", Self::MAX),
            ));
        }
        Ok(Some(Self(value.replace("\r\n", "\n"))))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "lowercase")]
pub enum Priority {
    #[default]
    None,
    Low,
    Medium,
    High,
    Urgent,
}

impl Priority {
    pub const ALL: [Priority; 5] = [Self::None, Self::Low, Self::Medium, Self::High, Self::Urgent];

    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        match raw.trim().to_ascii_lowercase().as_str() {
            "" | "none" => Ok(Self::None),
            "low" => Ok(Self::Low),
            "medium" => Ok(Self::Medium),
            "high" => Ok(Self::High),
            "urgent" => Ok(Self::Urgent),
            _ => Err(ValidationError::new("priority", "Choose none, low, medium, high or urgent.")),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Low => "low",
            Self::Medium => "medium",
            Self::High => "high",
            Self::Urgent => "urgent",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::None => "No priority",
            Self::Low => "Low",
            Self::Medium => "Medium",
            Self::High => "High",
            Self::Urgent => "Urgent",
        }
    }

    /// Sort rank stored alongside the task: higher is more pressing.
    pub fn rank(self) -> i64 {
        self as i64
    }

    pub fn from_rank(rank: i64) -> Self {
        Self::ALL.get(rank.clamp(0, 4) as usize).copied().unwrap_or_default()
    }
}

/// A normalised tag: lower case, `#` and surrounding space dropped, inner spaces
/// turned into `-`, 1 to 32 letters, digits, `-` or `_`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Tag(String);

impl Tag {
    pub const MAX: usize = 32;

    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        let trimmed = raw.trim().trim_start_matches('#').trim();
        let value: String = trimmed.split_whitespace().collect::<Vec<_>>().join("-").to_lowercase();
        if value.is_empty() {
            return Err(ValidationError::new("tags", "A tag cannot be empty."));
        }
        if value.chars().count() > Self::MAX {
            return Err(ValidationError::new("tags", format!("A tag has at most {} characters.", Self::MAX)));
        }
        if let Some(bad) = value.chars().find(|c| !(c.is_alphanumeric() || *c == '-' || *c == '_')) {
            return Err(ValidationError::new(
                "tags",
                format!("Tags may use letters, digits, - and _ (not \u{201c}{bad}\u{201d})."),
            ));
        }
        Ok(Self(value))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A task's tags: at most 20, unique regardless of case, in the order first given.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Tags(Vec<Tag>);

impl Tags {
    pub const MAX: usize = 20;

    /// Parses a comma-separated list such as `work, Home office, #errands`.
    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        let mut tags: Vec<Tag> = Vec::new();
        for part in raw.split(',').filter(|p| !p.trim().is_empty()) {
            let tag = Tag::parse(part)?;
            if !tags.contains(&tag) {
                tags.push(tag);
            }
        }
        Self::from_tags(tags)
    }

    pub fn from_tags(tags: Vec<Tag>) -> Result<Self, ValidationError> {
        if tags.len() > Self::MAX {
            return Err(ValidationError::new("tags", format!("A task has at most {} tags.", Self::MAX)));
        }
        let mut unique: Vec<Tag> = Vec::with_capacity(tags.len());
        for t in tags {
            if !unique.contains(&t) {
                unique.push(t);
            }
        }
        Ok(Self(unique))
    }

    pub fn iter(&self) -> impl Iterator<Item = &Tag> {
        self.0.iter()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn joined(&self) -> String {
        self.0.iter().map(Tag::as_str).collect::<Vec<_>>().join(", ")
    }
}

/// When a task is due: a local date, optionally a local time, the zone they were
/// given in, and the UTC instant that sorts and compares them. A date without a
/// time is due at the end of that day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Due {
    pub date: NaiveDate,
    pub time: Option<NaiveTime>,
    pub zone: TimeZone,
    pub at: DateTime<Utc>,
}

/// Resolves a wall-clock time in `tz`: the earlier instant when the clock falls
/// back, and the first valid instant after a spring-forward gap.
pub fn resolve_local(tz: Tz, local: NaiveDateTime) -> DateTime<Utc> {
    match tz.from_local_datetime(&local) {
        LocalResult::Single(t) => t.with_timezone(&Utc),
        LocalResult::Ambiguous(early, _) => early.with_timezone(&Utc),
        LocalResult::None => {
            // A wall time that a DST gap skips is read with the UTC offset in
            // force before the gap, as RFC 5545 §3.3.5 says: 02:30 on a
            // spring-forward night is 03:30, moved forward by the gap's length.
            // Gaps are at most a few hours; step through them minute by minute
            // to find where the clock exists again, and the offset just before.
            let mut probe = local;
            for _ in 0..(24 * 60) {
                probe += Duration::minutes(1);
                if let Some(after) = tz.from_local_datetime(&probe).earliest() {
                    let before = tz.offset_from_utc_datetime(&(after.naive_utc() - Duration::seconds(1))).fix();
                    return Utc.from_utc_datetime(&(local - Duration::seconds(i64::from(before.local_minus_utc()))));
                }
            }
            Utc.from_utc_datetime(&local)
        }
    }
}

impl Due {
    /// Parses an HTML date (`YYYY-MM-DD`) and optional time (`HH:MM`) in `zone`.
    pub fn parse(date: &str, time: &str, zone: TimeZone) -> Result<Option<Self>, ValidationError> {
        let (date, time) = (date.trim(), time.trim());
        if date.is_empty() {
            if !time.is_empty() {
                return Err(ValidationError::new("due_date", "Pick a date for this time."));
            }
            return Ok(None);
        }
        let date = NaiveDate::parse_from_str(date, "%Y-%m-%d")
            .map_err(|_| ValidationError::new("due_date", "Use a date like 2026-03-29."))?;
        if !(1900..=9999).contains(&chrono::Datelike::year(&date)) {
            return Err(ValidationError::new("due_date", "Pick a year between 1900 and 9999."));
        }
        let time = if time.is_empty() {
            None
        } else {
            Some(
                NaiveTime::parse_from_str(time, "%H:%M")
                    .or_else(|_| NaiveTime::parse_from_str(time, "%H:%M:%S"))
                    .map_err(|_| ValidationError::new("due_time", "Use a time like 17:30."))?,
            )
        };
        Ok(Some(Self::new(date, time, zone)))
    }

    pub fn new(date: NaiveDate, time: Option<NaiveTime>, zone: TimeZone) -> Self {
        let wall = match time {
            Some(t) => date.and_time(t),
            None => date.and_hms_opt(23, 59, 59).expect("valid end of day"),
        };
        Self { date, time, zone, at: resolve_local(zone.0, wall) }
    }

    /// Rebuilds a stored due date from its instant, zone and whether it had a time.
    pub fn from_stored(at: DateTime<Utc>, zone: TimeZone, has_time: bool) -> Self {
        let local = at.with_timezone(&zone.0);
        Self { date: local.date_naive(), time: has_time.then(|| local.time()), zone, at }
    }

    pub fn date_input(&self) -> String {
        self.date.format("%Y-%m-%d").to_string()
    }

    pub fn time_input(&self) -> String {
        self.time.map(|t| t.format("%H:%M").to_string()).unwrap_or_default()
    }

    /// A short human label in the viewer's zone, e.g. `Mon 30 Mar 2026, 09:00`.
    pub fn label(&self, viewer: TimeZone) -> String {
        match self.time {
            None => wall_label(self.date, None),
            Some(_) => {
                let local = self.at.with_timezone(&viewer.0);
                let mut s = wall_label(local.date_naive(), Some(local.time()));
                if viewer != self.zone {
                    s.push_str(" (");
                    s.push_str(viewer.name());
                    s.push(')');
                }
                s
            }
        }
    }
}

/// The app's short label for a day and an optional wall-clock time:
/// `Mon 30 Mar 2026`, `Mon 30 Mar 2026, 09:00`. Written field by field:
/// chrono's `format` parses its pattern on every call, and the list page
/// writes fifty of these per render.
pub fn wall_label(date: NaiveDate, time: Option<NaiveTime>) -> String {
    use std::fmt::Write as _;
    const WEEKDAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
    const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    let mut s = String::with_capacity(48);
    let weekday = WEEKDAYS[date.weekday().num_days_from_monday() as usize];
    let _ = write!(s, "{weekday} {} {} {:04}", date.day(), MONTHS[date.month0() as usize], date.year());
    if let Some(t) = time {
        let _ = write!(s, ", {:02}:{:02}", t.hour(), t.minute());
    }
    s
}

/// A task's version, for optimistic concurrency: the instant of its last
/// write to the microsecond, which both databases keep, so a version read
/// and a version compared under the task's lock agree.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TaskVersion(i64);

impl TaskVersion {
    pub fn of(task: &Task) -> Self {
        Self(task.updated_at.timestamp_micros())
    }

    pub fn from_micros(micros: i64) -> Self {
        Self(micros)
    }

    pub fn micros(self) -> i64 {
        self.0
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Task {
    pub id: TaskId,
    pub user_id: UserId,
    pub title: TaskTitle,
    pub description: Option<TaskDescription>,
    pub priority: Priority,
    pub tags: Tags,
    pub due: Option<Due>,
    /// How the task repeats, if it does: its series and rule.
    #[serde(default)]
    pub repeat: Option<Repeat>,
    #[serde(default)]
    pub reminders: Vec<Reminder>,
    pub completed_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Task {
    pub fn is_completed(&self) -> bool {
        self.completed_at.is_some()
    }

    /// When each reminder fires, for the task as it is now: none once it is
    /// completed, and none that a task without a due date cannot place.
    pub fn reminder_times(&self) -> Vec<(Reminder, DateTime<Utc>)> {
        if self.is_completed() {
            return Vec::new();
        }
        let zone = self.due.map_or_else(TimeZone::default, |d| d.zone);
        self.reminders.iter().filter_map(|r| Some((*r, r.fires_at(self.due.as_ref(), zone)?))).collect()
    }

    pub fn is_overdue(&self, now: DateTime<Utc>) -> bool {
        !self.is_completed() && self.due.is_some_and(|d| d.at < now)
    }
}

/// The raw text of a task form, exactly as a browser posts it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskInput {
    pub title: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub priority: String,
    #[serde(default)]
    pub tags: String,
    #[serde(default)]
    pub due_date: String,
    #[serde(default)]
    pub due_time: String,
    #[serde(flatten)]
    pub repeat: RepeatInput,
    /// Comma-separated: `at due, 15m, 1d, 2026-12-24 18:00`.
    #[serde(default)]
    pub reminders: String,
}

impl TaskInput {
    /// The fields that give `task` back when parsed: what a partial change
    /// starts from. A repeat is written as its rule's lines, so an unchanged
    /// one parses to the same rule and keeps its series.
    pub fn of(task: &Task) -> Self {
        let repeat = task.repeat.as_ref().map_or_else(RepeatInput::default, |r| RepeatInput {
            repeat: "custom".to_owned(),
            repeat_from: r.anchor.as_str().to_owned(),
            recurrence: r.lines(),
            ..RepeatInput::default()
        });
        Self {
            title: task.title.as_str().to_owned(),
            description: task.description.as_ref().map(|d| d.as_str().to_owned()).unwrap_or_default(),
            priority: task.priority.as_str().to_owned(),
            tags: task.tags.joined(),
            due_date: task.due.map(|d| d.date_input()).unwrap_or_default(),
            due_time: task.due.map(|d| d.time_input()).unwrap_or_default(),
            repeat,
            reminders: crate::reminder::format_list(&task.reminders),
        }
    }
}

/// A partial change to a task, as raw text: a field left `None` is left
/// alone, and an empty one clears what can be cleared (the description, the
/// tags, the due date, the repeat, the reminders).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TaskPatch {
    pub title: Option<String>,
    pub description: Option<String>,
    pub priority: Option<String>,
    pub tags: Option<String>,
    /// The due date and time go together: a new date without a time is due that day.
    pub due: Option<(String, String)>,
    /// The repeat's RRULE and EXDATE lines; empty for none.
    pub repeat: Option<String>,
    /// What the repeat counts from: `schedule` or `completion`.
    pub repeat_from: Option<String>,
    pub reminders: Option<String>,
}

impl TaskPatch {
    /// Whether it changes nothing.
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }

    /// `input` with this patch's fields in place of its own.
    pub fn apply(&self, mut input: TaskInput) -> TaskInput {
        let set = |field: &mut String, new: &Option<String>| {
            if let Some(new) = new {
                field.clone_from(new);
            }
        };
        set(&mut input.title, &self.title);
        set(&mut input.description, &self.description);
        set(&mut input.priority, &self.priority);
        set(&mut input.tags, &self.tags);
        set(&mut input.reminders, &self.reminders);
        if let Some((date, time)) = &self.due {
            (input.due_date, input.due_time) = (date.clone(), time.clone());
        }
        if let Some(lines) = &self.repeat {
            input.repeat = if lines.trim().is_empty() {
                RepeatInput::default()
            } else {
                RepeatInput {
                    repeat: "custom".to_owned(),
                    recurrence: lines.clone(),
                    repeat_from: std::mem::take(&mut input.repeat.repeat_from),
                    ..RepeatInput::default()
                }
            };
        }
        set(&mut input.repeat.repeat_from, &self.repeat_from);
        input
    }
}

/// A task's editable fields, all parsed.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskDraft {
    pub title: TaskTitle,
    pub description: Option<TaskDescription>,
    pub priority: Priority,
    pub tags: Tags,
    pub due: Option<Due>,
    pub repeat: Option<RepeatDraft>,
    pub reminders: Vec<Reminder>,
}

impl TaskDraft {
    /// Parses the fields; the first that does not parse is the error.
    pub fn parse(input: &TaskInput, zone: TimeZone) -> Result<Self, ValidationError> {
        Self::parse_each(input, zone).map_err(|mut errors| errors.swap_remove(0))
    }

    /// Parses every field, and names each one that does not parse (never an
    /// empty list), so an API can report them all at once.
    pub fn parse_each(input: &TaskInput, zone: TimeZone) -> Result<Self, Vec<ValidationError>> {
        fn keep<T>(errors: &mut Vec<ValidationError>, result: Result<T, ValidationError>) -> Option<T> {
            result.map_err(|e| errors.push(e)).ok()
        }
        let mut errors = Vec::new();
        let due = keep(&mut errors, Due::parse(&input.due_date, &input.due_time, zone));
        let title = keep(&mut errors, TaskTitle::parse(&input.title));
        let description = keep(&mut errors, TaskDescription::parse(&input.description));
        let priority = keep(&mut errors, Priority::parse(&input.priority));
        let tags = keep(&mut errors, Tags::parse(&input.tags));
        // A repeat needs the due date it starts on; a bad date is named once, as the date.
        let repeat = match &due {
            Some(due) => keep(&mut errors, input.repeat.parse(due.as_ref())),
            None => None,
        };
        let reminders = keep(&mut errors, crate::reminder::parse_list(&input.reminders));
        match (title, description, priority, tags, due, repeat, reminders) {
            (Some(title), Some(description), Some(priority), Some(tags), Some(due), Some(repeat), Some(reminders)) => {
                Ok(Self { title, description, priority, tags, due, repeat, reminders })
            }
            _ => Err(errors),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn zone(name: &str) -> TimeZone {
        TimeZone::parse(name).unwrap()
    }

    #[test]
    fn titles_are_trimmed() {
        assert_eq!(TaskTitle::parse("  Buy milk ").unwrap().as_str(), "Buy milk");
    }

    #[test]
    fn empty_and_overlong_titles_name_the_title_field() {
        assert_eq!(TaskTitle::parse("   ").unwrap_err().field, "title");
        assert_eq!(TaskTitle::parse(&"x".repeat(201)).unwrap_err().field, "title");
        assert!(TaskTitle::parse(&"é".repeat(200)).is_ok(), "length counts characters, not bytes");
    }

    #[test]
    fn tags_are_normalised_and_deduplicated_case_insensitively() {
        let tags = Tags::parse("Work, #work,  home office , WORK").unwrap();
        let names: Vec<_> = tags.iter().map(Tag::as_str).collect();
        assert_eq!(names, ["work", "home-office"]);
    }

    #[test]
    fn more_than_twenty_tags_are_rejected() {
        let raw: Vec<String> = (0..21).map(|i| format!("t{i}")).collect();
        assert_eq!(Tags::parse(&raw.join(",")).unwrap_err().field, "tags");
        assert!(Tags::parse(&raw[..20].join(",")).is_ok());
    }

    #[test]
    fn tags_with_punctuation_are_rejected() {
        assert_eq!(Tag::parse("a/b").unwrap_err().field, "tags");
    }

    #[test]
    fn unknown_priorities_are_rejected() {
        assert_eq!(Priority::parse("asap").unwrap_err().field, "priority");
        assert_eq!(Priority::parse("HIGH").unwrap(), Priority::High);
    }

    #[test]
    fn parsing_each_field_names_every_bad_one_and_parse_keeps_the_first() {
        let input =
            TaskInput { title: " ".into(), priority: "asap".into(), reminders: "soon".into(), ..TaskInput::default() };
        let fields: Vec<String> =
            TaskDraft::parse_each(&input, zone("UTC")).unwrap_err().into_iter().map(|e| e.field).collect();
        assert_eq!(fields, ["title", "priority", "reminders"]);
        assert_eq!(TaskDraft::parse(&input, zone("UTC")).unwrap_err().field, "title");
    }

    #[test]
    fn a_task_written_back_as_input_parses_to_the_same_fields_and_a_patch_changes_only_its_own() {
        let berlin = zone("Europe/Berlin");
        let input = TaskInput {
            title: "Pay rent".into(),
            description: "To *Ms* Smith".into(),
            priority: "high".into(),
            tags: "home, money".into(),
            due_date: "2026-12-01".into(),
            due_time: "09:00".into(),
            repeat: RepeatInput { repeat: "monthly".into(), ..RepeatInput::default() },
            reminders: "1d, 2026-11-30 18:00".into(),
        };
        let draft = TaskDraft::parse(&input, berlin).unwrap();
        let due = draft.due.unwrap();
        let repeat = draft.repeat.clone().map(|r| Repeat::first(crate::repeat::SeriesId(Uuid::nil()), r, &due));
        let now = Utc::now();
        let task = Task {
            id: TaskId(Uuid::nil()),
            user_id: UserId(Uuid::nil()),
            title: draft.title.clone(),
            description: draft.description.clone(),
            priority: draft.priority,
            tags: draft.tags.clone(),
            due: Some(due),
            repeat,
            reminders: draft.reminders.clone(),
            completed_at: None,
            created_at: now,
            updated_at: now,
        };
        let rule = |d: &TaskDraft| d.repeat.as_ref().map(|r| (r.rule.to_string(), r.anchor));
        let again = TaskDraft::parse(&TaskInput::of(&task), berlin).unwrap();
        assert_eq!(rule(&again), rule(&draft));
        assert_eq!(TaskDraft { repeat: None, ..again }, TaskDraft { repeat: None, ..draft.clone() });

        let patch = TaskPatch { priority: Some("low".into()), tags: Some(String::new()), ..TaskPatch::default() };
        let patched = TaskDraft::parse(&patch.apply(TaskInput::of(&task)), berlin).unwrap();
        assert_eq!((patched.priority, patched.tags.is_empty()), (Priority::Low, true));
        assert_eq!(rule(&patched), rule(&draft));
        assert_eq!((patched.title, patched.due), (draft.title, draft.due));
        let cleared = TaskPatch { repeat: Some(String::new()), ..TaskPatch::default() };
        assert_eq!(TaskDraft::parse(&cleared.apply(TaskInput::of(&task)), berlin).unwrap().repeat, None);
        assert!(TaskPatch::default().is_empty() && !cleared.is_empty());
    }

    #[test]
    fn a_due_time_without_a_date_is_rejected() {
        assert_eq!(Due::parse("", "10:00", zone("UTC")).unwrap_err().field, "due_date");
    }

    #[test]
    fn a_date_only_due_is_the_end_of_that_local_day() {
        let due = Due::parse("2026-03-29", "", zone("Europe/Berlin")).unwrap().unwrap();
        // 23:59:59 CEST (UTC+2) on the day the clocks go forward.
        assert_eq!(due.at.to_rfc3339(), "2026-03-29T21:59:59+00:00");
    }

    #[test]
    fn a_time_in_the_spring_forward_gap_moves_forward_by_the_gap_as_rfc_5545_reads_it() {
        // 02:30 does not exist in Berlin on 2026-03-29: read with the offset
        // before the gap (UTC+1) it is 01:30 UTC, which is 03:30 CEST.
        let due = Due::parse("2026-03-29", "02:30", zone("Europe/Berlin")).unwrap().unwrap();
        assert_eq!(due.at.to_rfc3339(), "2026-03-29T01:30:00+00:00");
        // Lord Howe Island moves its clock by 30 minutes: 02:15 becomes 02:45.
        let due = Due::parse("2026-10-04", "02:15", zone("Australia/Lord_Howe")).unwrap().unwrap();
        assert_eq!(due.at.with_timezone(&zone("Australia/Lord_Howe").0).format("%H:%M").to_string(), "02:45");
    }

    #[test]
    fn an_ambiguous_time_at_fall_back_takes_the_earlier_instant() {
        // 02:30 happens twice in Berlin on 2026-10-25: first in CEST (UTC+2).
        let due = Due::parse("2026-10-25", "02:30", zone("Europe/Berlin")).unwrap().unwrap();
        assert_eq!(due.at.to_rfc3339(), "2026-10-25T00:30:00+00:00");
    }

    #[test]
    fn the_same_wall_time_moves_in_utc_across_a_dst_change() {
        let before = Due::parse("2026-03-07", "09:00", zone("America/New_York")).unwrap().unwrap();
        let after = Due::parse("2026-03-09", "09:00", zone("America/New_York")).unwrap().unwrap();
        assert_eq!(before.at.format("%H:%M").to_string(), "14:00");
        assert_eq!(after.at.format("%H:%M").to_string(), "13:00");
    }

    #[test]
    fn malformed_dates_and_times_name_their_field() {
        assert_eq!(Due::parse("29/03/2026", "", zone("UTC")).unwrap_err().field, "due_date");
        assert_eq!(Due::parse("2026-02-30", "", zone("UTC")).unwrap_err().field, "due_date");
        assert_eq!(Due::parse("2026-03-29", "25:00", zone("UTC")).unwrap_err().field, "due_time");
    }

    const ZONES: [&str; 8] = [
        "UTC",
        "Europe/Berlin",
        "America/New_York",
        "Australia/Lord_Howe",
        "Asia/Kolkata",
        "America/Sao_Paulo",
        "Pacific/Chatham",
        "Europe/London",
    ];

    proptest! {
        #[test]
        fn due_dates_round_trip_through_storage(
            zi in 0usize..ZONES.len(),
            days in 0i64..(366 * 30),
            minutes in proptest::option::of(0u32..(24 * 60)),
        ) {
            let z = zone(ZONES[zi]);
            let date = NaiveDate::from_ymd_opt(2010, 1, 1).unwrap() + Duration::days(days);
            let time = minutes.map(|m| NaiveTime::from_hms_opt(m / 60, m % 60, 0).unwrap());
            let due = Due::new(date, time, z);
            let restored = Due::from_stored(due.at, z, time.is_some());
            prop_assert_eq!(restored.at, due.at);
            if let Some(t) = time {
                // Either the wall time exists, or it was moved forward out of a gap by at most 3 hours.
                let local = due.at.with_timezone(&z.0).naive_local();
                let asked = date.and_time(t);
                prop_assert!(local >= asked && local - asked <= Duration::hours(3), "{} vs {}", local, asked);
            } else {
                prop_assert_eq!(restored.date, date);
            }
        }

        #[test]
        fn due_labels_read_as_chrono_formats_them_in_the_viewers_zone(
            zi in 0usize..ZONES.len(),
            vi in 0usize..ZONES.len(),
            days in 0i64..(366 * 30),
            minutes in proptest::option::of(0u32..(24 * 60)),
        ) {
            let (z, viewer) = (zone(ZONES[zi]), zone(ZONES[vi]));
            let date = NaiveDate::from_ymd_opt(2010, 1, 1).unwrap() + Duration::days(days);
            let time = minutes.map(|m| NaiveTime::from_hms_opt(m / 60, m % 60, 0).unwrap());
            let due = Due::new(date, time, z);
            let expected = match time {
                None => date.format("%a %-d %b %Y").to_string(),
                Some(_) => {
                    let local = due.at.with_timezone(&viewer.0).format("%a %-d %b %Y, %H:%M").to_string();
                    if zi == vi { local } else { format!("{local} ({})", viewer.name()) }
                }
            };
            prop_assert_eq!(due.label(viewer), expected);
        }

        #[test]
        fn any_title_that_parses_is_trimmed_and_within_bounds(s in "\\PC{0,260}") {
            if let Ok(t) = TaskTitle::parse(&s) {
                let n = t.as_str().chars().count();
                prop_assert!((1..=200).contains(&n));
                prop_assert_eq!(t.as_str().trim(), t.as_str());
            }
        }

        #[test]
        fn parsed_tags_are_idempotent(s in "[ #a-zA-Z0-9_-]{0,40}") {
            if let Ok(tag) = Tag::parse(&s) {
                prop_assert_eq!(Tag::parse(tag.as_str()).unwrap(), tag.clone());
                prop_assert_eq!(tag.as_str().to_lowercase(), tag.as_str());
            }
        }
    }
}
