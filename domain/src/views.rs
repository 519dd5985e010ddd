//! Views of the task list: the ones every user has (Today, Upcoming, Overdue,
//! No date), the ones a user saves (a name for a search and its order,
//! pinned in the sidebar in the user's order), and the Upcoming week, where
//! repeating tasks also show the occurrences still to come, marked projected.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::account::{TimeZone, UserId};
use crate::error::ValidationError;
use crate::query::TaskQuery;
use crate::recurrence::Anchor;
use crate::task::{Due, Task};
use crate::task_list::TaskSummary;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ViewId(pub Uuid);

impl ViewId {
    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        Uuid::try_parse(raw.trim()).map(Self).map_err(|_| ValidationError::new("view", "That view does not exist."))
    }
}

/// A view's name: 1 to 60 characters once trimmed, one line.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ViewName(String);

impl ViewName {
    pub const MAX_CHARS: usize = 60;

    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        let name = raw.split_whitespace().collect::<Vec<_>>().join(" ");
        if name.is_empty() {
            return Err(ValidationError::new("name", "Give the view a name."));
        }
        if name.chars().count() > Self::MAX_CHARS {
            return Err(ValidationError::new(
                "name",
                format!("A view's name is at most {} characters.", Self::MAX_CHARS),
            ));
        }
        Ok(Self(name))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A search with its order that a user named and pinned, kept in the
/// canonical text form the list's links use.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SavedView {
    pub id: ViewId,
    pub user_id: UserId,
    pub name: ViewName,
    pub query: TaskQuery,
    /// Where it sits in the sidebar, smallest first.
    pub position: i64,
    pub created_at: DateTime<Utc>,
}

impl SavedView {
    /// The list's address for this view.
    pub fn href(&self) -> String {
        list_href(&self.query)
    }
}

/// The list's address for a query: `/tasks`, or `/tasks?q=…` in canonical form.
pub fn list_href(query: &TaskQuery) -> String {
    if *query == TaskQuery::default() {
        "/tasks".to_owned()
    } else {
        format!("/tasks?{}", query.to_query_string())
    }
}

/// A view every user has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BuiltInView {
    pub name: &'static str,
    pub href: &'static str,
}

/// The views every user has, above the ones they save.
pub const BUILT_IN_VIEWS: [BuiltInView; 4] = [
    BuiltInView { name: "Today", href: "/tasks?q=due:today" },
    BuiltInView { name: "Upcoming", href: "/upcoming" },
    BuiltInView { name: "Overdue", href: "/tasks?q=is:overdue" },
    BuiltInView { name: "No date", href: "/tasks?q=due:none" },
];

/// Where a view moves in the sidebar.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Move {
    Up,
    Down,
}

impl Move {
    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        match raw.trim() {
            "up" => Ok(Self::Up),
            "down" => Ok(Self::Down),
            _ => Err(ValidationError::new("direction", "Move a view up or down.")),
        }
    }
}

/// The sidebar's order after moving `id` one place: the views' ids, first
/// to last. Moving the first up or the last down changes nothing.
pub fn reorder(views: &[SavedView], id: ViewId, direction: Move) -> Vec<ViewId> {
    let mut ids: Vec<ViewId> = views.iter().map(|v| v.id).collect();
    if let Some(i) = ids.iter().position(|v| *v == id) {
        match direction {
            Move::Up if i > 0 => ids.swap(i, i - 1),
            Move::Down if i + 1 < ids.len() => ids.swap(i, i + 1),
            _ => {}
        }
    }
    ids
}

/// Days the Upcoming view shows: today and the six after it.
pub const UPCOMING_DAYS: u16 = 7;

/// One line of the Upcoming view.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UpcomingItem {
    pub task: TaskSummary,
    pub due: Due,
    /// A later occurrence of a repeating task, not yet a task of its own: it
    /// becomes one when the one before it is completed.
    pub projected: bool,
}

/// One day of the Upcoming view, in the user's zone.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UpcomingDay {
    pub date: NaiveDate,
    pub items: Vec<UpcomingItem>,
}

/// The Upcoming view: each of `days` days from `today` in `zone`, with the
/// open tasks due on it (`dated`, in the list's order) and the occurrences
/// still to come of each open repeating task (`repeating`) that fall on it.
/// A series counted from completion has no dates to project: its next date
/// depends on when this one is done.
pub fn upcoming(
    today: NaiveDate,
    days: u16,
    zone: TimeZone,
    dated: &[TaskSummary],
    repeating: &[Task],
) -> Vec<UpcomingDay> {
    let dates: Vec<NaiveDate> = today.iter_days().take(usize::from(days)).collect();
    let mut out: Vec<UpcomingDay> = dates.iter().map(|d| UpcomingDay { date: *d, items: Vec::new() }).collect();
    let last = dates.last().copied().unwrap_or(today);
    let day_of = |due: &Due| due.at.with_timezone(&zone.0).date_naive();
    let slot = |date: NaiveDate| (date >= today && date <= last).then(|| (date - today).num_days() as usize);
    for task in dated.iter().filter(|t| !t.is_completed()) {
        let Some(due) = task.due else { continue };
        if let Some(i) = slot(day_of(&due)) {
            out[i].items.push(UpcomingItem { task: task.clone(), due, projected: false });
        }
    }
    for task in repeating.iter().filter(|t| !t.is_completed()) {
        let (Some(repeat), Some(due)) = (&task.repeat, &task.due) else { continue };
        if repeat.anchor == Anchor::Completion {
            continue;
        }
        // Enough occurrences to cover the window from this instance on; a daily
        // series overdue for a year still projects only into the window.
        let span = (last - due.date).num_days().max(0) as usize;
        for occurrence in repeat.upcoming(due, span + 2).into_iter().skip(1) {
            let date = day_of(&occurrence.due);
            if date > last {
                break;
            }
            if let Some(i) = slot(date) {
                let summary = TaskSummary { due: Some(occurrence.due), ..TaskSummary::from(task) };
                out[i].items.push(UpcomingItem { task: summary, due: occurrence.due, projected: true });
            }
        }
    }
    for day in &mut out {
        // Real tasks before projections at the same instant; otherwise by time.
        day.items.sort_by(|a, b| a.due.at.cmp(&b.due.at).then(a.projected.cmp(&b.projected)));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::recurrence::RecurrenceRule;
    use crate::repeat::{Repeat, RepeatDraft};
    use crate::task::{Priority, TaskId, TaskTitle};
    use chrono::NaiveTime;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    fn task(title: &str, due: Option<Due>) -> Task {
        let created = DateTime::<Utc>::from_timestamp(1_700_000_000, 0).unwrap();
        Task {
            id: TaskId(Uuid::now_v7()),
            user_id: UserId(Uuid::nil()),
            title: TaskTitle::parse(title).unwrap(),
            description: None,
            priority: Priority::None,
            tags: Default::default(),
            due,
            repeat: None,
            reminders: Vec::new(),
            completed_at: None,
            created_at: created,
            updated_at: created,
        }
    }

    fn repeating(title: &str, rrule: &str, due: Due, anchor: Anchor) -> Task {
        let rule = RecurrenceRule::parse(rrule).unwrap();
        let draft = RepeatDraft { rule, anchor, skipped: None };
        let series = crate::repeat::SeriesId(Uuid::now_v7());
        Task { repeat: Some(Repeat::first(series, draft, &due)), ..task(title, Some(due)) }
    }

    fn titles(day: &UpcomingDay) -> Vec<(String, bool)> {
        day.items.iter().map(|i| (i.task.title.as_str().to_owned(), i.projected)).collect()
    }

    #[test]
    fn the_week_holds_each_days_tasks_and_the_occurrences_repeating_tasks_will_have() {
        let berlin = TimeZone::parse("Europe/Berlin").unwrap();
        let today = date(2026, 3, 26);
        let nine = NaiveTime::from_hms_opt(9, 0, 0);
        let at = |d: NaiveDate, t| Due::new(d, t, berlin);
        let dentist = task("Dentist", Some(at(date(2026, 3, 28), NaiveTime::from_hms_opt(8, 0, 0))));
        let later = task("Later", Some(at(date(2026, 4, 2), None)));
        let yesterday = task("Yesterday", Some(at(date(2026, 3, 25), None)));
        let daily = repeating("Stretch", "FREQ=DAILY", at(date(2026, 3, 27), nine), Anchor::Schedule);
        let weekly = repeating("Bins", "FREQ=WEEKLY", at(date(2026, 3, 20), nine), Anchor::Schedule);
        let loose = repeating("Haircut", "FREQ=DAILY;INTERVAL=2", at(date(2026, 3, 26), None), Anchor::Completion);
        let dated: Vec<TaskSummary> =
            [&dentist, &later, &yesterday, &daily, &loose].into_iter().map(TaskSummary::from).collect();
        let week = upcoming(today, UPCOMING_DAYS, berlin, &dated, &[daily.clone(), weekly, loose]);
        assert_eq!(week.len(), 7);
        assert_eq!(week[0].date, today);
        assert_eq!(week[6].date, date(2026, 4, 1), "seven days, today first");
        assert_eq!(titles(&week[0]), [("Haircut".to_owned(), false)], "a series from completion projects nothing");
        assert_eq!(
            titles(&week[1]),
            [("Stretch".to_owned(), false), ("Bins".to_owned(), true)],
            "the instance itself is not projected; an overdue weekly series projects its next date"
        );
        assert_eq!(
            titles(&week[2]),
            [("Dentist".to_owned(), false), ("Stretch".to_owned(), true)],
            "by time, the projection marked"
        );
        // Across the night the clocks go forward (29 March), still 09:00 on the wall clock.
        let sunday = &week[3].items[0];
        assert_eq!((sunday.task.title.as_str(), sunday.projected), ("Stretch", true));
        assert_eq!(sunday.due.at.with_timezone(&berlin.0).time(), NaiveTime::from_hms_opt(9, 0, 0).unwrap());
        let stretches = week.iter().flat_map(|d| &d.items).filter(|i| i.task.title.as_str() == "Stretch").count();
        assert_eq!(stretches, 6, "the instance and one projection a day after it");
        let bins: Vec<NaiveDate> =
            week.iter().filter(|d| d.items.iter().any(|i| i.task.title.as_str() == "Bins")).map(|d| d.date).collect();
        assert_eq!(bins, [date(2026, 3, 27)], "and nothing past the window");
        assert!(week.iter().all(|d| d.items.iter().all(|i| i.task.title.as_str() != "Later")));
        assert!(week.iter().all(|d| d.items.iter().all(|i| i.task.title.as_str() != "Yesterday")));
    }

    #[test]
    fn views_are_named_in_one_line_and_move_one_place_at_a_time() {
        assert_eq!(ViewName::parse("  Work\n this  week ").unwrap().as_str(), "Work this week");
        assert_eq!(ViewName::parse(" ").unwrap_err().field, "name");
        assert!(ViewName::parse(&"x".repeat(61)).is_err());
        let view = |n: u128| SavedView {
            id: ViewId(Uuid::from_u128(n)),
            user_id: UserId(Uuid::nil()),
            name: ViewName::parse("v").unwrap(),
            query: TaskQuery::default(),
            position: n as i64,
            created_at: DateTime::<Utc>::from_timestamp(0, 0).unwrap(),
        };
        let views = [view(1), view(2), view(3)];
        let ids = |ns: [u128; 3]| ns.map(|n| ViewId(Uuid::from_u128(n))).to_vec();
        assert_eq!(reorder(&views, views[2].id, Move::Up), ids([1, 3, 2]));
        assert_eq!(reorder(&views, views[0].id, Move::Up), ids([1, 2, 3]));
        assert_eq!(reorder(&views, views[2].id, Move::Down), ids([1, 2, 3]));
        assert_eq!(views[0].href(), "/tasks");
        for built_in in BUILT_IN_VIEWS.iter().filter(|v| v.href.starts_with("/tasks?")) {
            let (query, problems) = TaskQuery::from_query_string(&built_in.href["/tasks".len()..]);
            assert!(problems.is_empty());
            assert_eq!(list_href(&query), built_in.href, "built-in links are canonical, so the sidebar can mark them");
        }
        assert_eq!(Move::parse("sideways").unwrap_err().field, "direction");
    }
}
