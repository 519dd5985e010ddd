//! Tasks: the list, one task, and every change to a task.

// The task form posts flat fields, and a server function takes each as an
// argument (the client side the `server` macro generates included).
#![allow(clippy::too_many_arguments)]

use std::collections::BTreeMap;

use domain::tag::TagColour;
use domain::Priority;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use super::ActivityRow;
use crate::error::AppError;

/// One line of a task list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskRow {
    pub id: String,
    pub title: String,
    pub completed: bool,
    pub priority: Priority,
    pub due_label: Option<String>,
    pub overdue: bool,
    pub tags: Vec<String>,
    /// The colour of each of `tags` that has one, by tag name: the chips
    /// carry it as `data-colour` (a palette name, never a value typed).
    pub colours: BTreeMap<String, TagColour>,
    /// An instance of a repeating task (the list shows a repeat badge).
    pub recurring: bool,
}

/// A page of the task list and where it sits in the whole.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskList {
    pub rows: Vec<TaskRow>,
    /// Every tag the user has, for the filter.
    pub tags: Vec<String>,
    /// Tasks matching the filter on all pages.
    pub total: u64,
    /// Whether `total` is exact; past `domain::task_list::COUNT_CAP` the list says "more than".
    pub total_exact: bool,
    /// The 1-based position of this page's first row.
    pub first: u64,
    /// Whether `first` is exact (the page starts within the counted part).
    pub first_exact: bool,
    /// Cursors of the neighbouring pages, where there are any.
    pub previous: Option<String>,
    pub next: Option<String>,
    /// The user's IANA time zone, which quick-add reads "tomorrow at 9" in.
    pub time_zone: String,
}

/// One task with what its page and edit form show.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskDetail {
    pub row: TaskRow,
    pub description: String,
    pub description_html: String,
    pub tags_input: String,
    pub due_date: String,
    pub due_time: String,
    pub created_label: String,
    pub completed_label: Option<String>,
    pub history: Vec<ActivityRow>,
    /// The repeat fields as the form shows them (empty `repeat` for none).
    pub repeat: domain::repeat::RepeatInput,
    /// "Every 2 weeks on Monday and Wednesday, until 31 March 2027".
    pub repeat_sentence: Option<String>,
    /// What the next instance is counted from, in words.
    pub repeat_anchor: Option<String>,
    /// This instance and the next ones' due labels (up to five).
    pub upcoming: Vec<String>,
    /// The reminders field: "at due, 15m, 1d".
    pub reminders_input: String,
    /// Each reminder and when it fires, e.g. "15 minutes before: Mon 30 Nov 2026, 08:45".
    pub reminders: Vec<String>,
}

/// A task just added by quick-add, and its list row as the server renders it,
/// so the island inserts exactly what a page load would show.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QuickAdded {
    pub row: TaskRow,
    pub html: String,
}

/// A task's row; `colours` holds (at least) those of its tags that have one.
#[cfg(feature = "ssr")]
pub(crate) fn task_row(
    task: &domain::TaskSummary,
    user: &domain::User,
    colours: &domain::tag::TagColours,
    now: chrono::DateTime<chrono::Utc>,
) -> TaskRow {
    TaskRow {
        id: task.id.to_string(),
        title: task.title.as_str().to_owned(),
        completed: task.is_completed(),
        priority: task.priority,
        due_label: task.due.map(|d| d.label(user.time_zone)),
        overdue: task.is_overdue(now),
        tags: task.tags.iter().map(|t| t.as_str().to_owned()).collect(),
        colours: task.tags.iter().filter_map(|t| Some((t.as_str().to_owned(), colours.of(t)?))).collect(),
        recurring: task.recurring,
    }
}

/// The row of one task rendered alone, its tags' colours read for it.
#[cfg(feature = "ssr")]
async fn full_row(
    svc: &domain::services::Services,
    task: &domain::Task,
    user: &domain::User,
) -> Result<TaskRow, AppError> {
    let colours = svc.task_tag_colours(user, task).await?;
    Ok(task_row(&domain::TaskSummary::from(task), user, &colours, chrono::Utc::now()))
}

/// The fields of the task form, as posted: the server functions that take
/// it list them one by one (a form posts flat names), then gather them here.
#[derive(Debug, Clone, Default)]
pub struct TaskFields {
    pub title: String,
    pub description: String,
    pub priority: String,
    pub tags: String,
    pub due_date: String,
    pub due_time: String,
    pub repeat: String,
    pub repeat_every: String,
    /// One checkbox per weekday, Monday first; any value means checked.
    pub repeat_on: [String; 7],
    pub repeat_end: String,
    pub repeat_until: String,
    pub repeat_count: String,
    pub repeat_from: String,
    pub recurrence: String,
    pub reminders: String,
}

/// The weekday checkboxes' names and codes, Monday first.
pub const WEEKDAY_FIELDS: [(&str, &str, &str); 7] = [
    ("repeat_mo", "MO", "Mon"),
    ("repeat_tu", "TU", "Tue"),
    ("repeat_we", "WE", "Wed"),
    ("repeat_th", "TH", "Thu"),
    ("repeat_fr", "FR", "Fri"),
    ("repeat_sa", "SA", "Sat"),
    ("repeat_su", "SU", "Sun"),
];

#[cfg(feature = "ssr")]
impl TaskFields {
    fn into_input(self) -> domain::task::TaskInput {
        let days: Vec<&str> = WEEKDAY_FIELDS
            .iter()
            .zip(&self.repeat_on)
            .filter(|(_, value)| !value.is_empty())
            .map(|((_, code, _), _)| *code)
            .collect();
        domain::task::TaskInput {
            title: self.title,
            description: self.description,
            priority: self.priority,
            tags: self.tags,
            due_date: self.due_date,
            due_time: self.due_time,
            repeat: domain::repeat::RepeatInput {
                repeat: self.repeat,
                repeat_every: self.repeat_every,
                repeat_days: days.join(","),
                repeat_end: self.repeat_end,
                repeat_until: self.repeat_until,
                repeat_count: self.repeat_count,
                repeat_from: self.repeat_from,
                recurrence: self.recurrence,
            },
            reminders: self.reminders,
        }
    }
}

#[cfg(feature = "ssr")]
fn task_id(raw: &str) -> Result<domain::TaskId, AppError> {
    // A malformed id is reported like a missing task: there is nothing to find.
    domain::TaskId::parse(raw).map_err(|_| AppError::NotFound)
}

/// The longest search the list reads; the rest of a longer one is ignored.
pub const MAX_QUERY: usize = 500;

/// The list's search as a link gives it: the words of `q` (leniently, naming
/// what it skipped) and the sort menu's choice, which wins over a `sort:` typed
/// among the words.
pub fn list_query(q: &str, sort: &str) -> (domain::query::TaskQuery, Vec<domain::query::QueryError>) {
    let q: String = q.chars().take(MAX_QUERY).collect();
    let (mut query, problems) = domain::query::TaskQuery::parse_lenient(&q);
    if let Some(sort) = domain::query::Sort::from_param(sort) {
        query.sort = sort;
    }
    (query, problems)
}

#[server(endpoint = "list_tasks")]
pub async fn list_tasks(
    #[server(default)] completed: String,
    #[server(default)] tag: String,
    #[server(default)] priority: String,
    #[server(default)] after: String,
    #[server(default)] before: String,
    #[server(default)] q: String,
    #[server(default)] sort: String,
) -> Result<TaskList, AppError> {
    let session = crate::auth::current_session().ok_or(AppError::Unauthenticated)?;
    let user = &session.user;
    // What the search box says, leniently: a stale link still shows a list (the page names what it skipped).
    let (query, _) = list_query(&q, &sort);
    let st = crate::auth::state()?;
    let filter = st.services.list_filter(user, &query).and_legacy(Some(&completed), Some(&tag), Some(&priority));
    let request = domain::PageRequest::from_query(Some(&after), Some(&before));
    let cached = st.list_cache.get(user.id, &filter, &request, session.list_version);
    let page = match cached {
        Some(kept) => kept.page,
        None => {
            let page = std::sync::Arc::new(st.services.tasks(user, &filter, &request).await?);
            st.list_cache.put(user.id, &filter, &request, session.list_version, page).page
        }
    };
    let now = chrono::Utc::now();
    Ok(TaskList {
        rows: page.tasks.iter().map(|t| task_row(t, user, &page.colours, now)).collect(),
        tags: page.tags.iter().map(|t| t.as_str().to_owned()).collect(),
        total: page.total.min(domain::task_list::COUNT_CAP),
        total_exact: page.total_exact(),
        first: page.offset + 1,
        first_exact: page.offset_exact(),
        previous: page.previous().map(|k| k.as_str().to_owned()),
        next: page.next().map(|k| k.as_str().to_owned()),
        time_zone: user.time_zone.name().to_owned(),
    })
}

#[server(endpoint = "get_task")]
pub async fn get_task(id: String) -> Result<TaskDetail, AppError> {
    let user = crate::auth::require_user()?;
    let svc = super::services()?;
    let task = svc.task(&user, task_id(&id)?).await?;
    let history = svc.activity(&user, Some(task.id), 100).await?;
    let description = task.description.as_ref().map(|d| d.as_str().to_owned()).unwrap_or_default();
    Ok(TaskDetail {
        row: full_row(&svc, &task, &user).await?,
        description_html: domain::markdown::render(&description),
        description,
        tags_input: task.tags.joined(),
        due_date: task.due.map(|d| d.date_input()).unwrap_or_default(),
        due_time: task.due.map(|d| d.time_input()).unwrap_or_default(),
        created_label: super::when(task.created_at, &user),
        completed_label: task.completed_at.map(|at| super::when(at, &user)),
        history: history.iter().map(|e| super::activity::activity_row(e, &user)).collect(),
        repeat: task.repeat.as_ref().map(domain::repeat::RepeatInput::of).unwrap_or_default(),
        repeat_sentence: task.repeat.as_ref().map(|r| r.describe()),
        repeat_anchor: task.repeat.as_ref().map(|r| r.anchor.explain().to_owned()),
        upcoming: match (&task.repeat, &task.due) {
            (Some(r), Some(due)) if !task.is_completed() => {
                r.upcoming(due, 5).iter().map(|o| o.due.label(user.time_zone)).collect()
            }
            _ => Vec::new(),
        },
        reminders_input: domain::reminder::format_list(&task.reminders),
        reminders: task
            .reminders
            .iter()
            .map(|r| {
                let zone = task.due.map_or(user.time_zone, |d| d.zone);
                match r.fires_at(task.due.as_ref(), zone) {
                    Some(at) => format!("{}: {}", r.label(), super::when(at, &user)),
                    None => format!("{} (needs a due date)", r.label()),
                }
            })
            .collect(),
    })
}

#[server(endpoint = "create_task")]
pub async fn create_task(
    title: String,
    #[server(default)] description: String,
    #[server(default)] priority: String,
    #[server(default)] tags: String,
    #[server(default)] due_date: String,
    #[server(default)] due_time: String,
    #[server(default)] repeat: String,
    #[server(default)] repeat_every: String,
    #[server(default)] repeat_mo: String,
    #[server(default)] repeat_tu: String,
    #[server(default)] repeat_we: String,
    #[server(default)] repeat_th: String,
    #[server(default)] repeat_fr: String,
    #[server(default)] repeat_sa: String,
    #[server(default)] repeat_su: String,
    #[server(default)] repeat_end: String,
    #[server(default)] repeat_until: String,
    #[server(default)] repeat_count: String,
    #[server(default)] repeat_from: String,
    #[server(default)] recurrence: String,
    #[server(default)] reminders: String,
) -> Result<(), AppError> {
    let user = crate::auth::require_user()?;
    let input = TaskFields {
        title,
        description,
        priority,
        tags,
        due_date,
        due_time,
        repeat,
        repeat_every,
        repeat_on: [repeat_mo, repeat_tu, repeat_we, repeat_th, repeat_fr, repeat_sa, repeat_su],
        repeat_end,
        repeat_until,
        repeat_count,
        repeat_from,
        recurrence,
        reminders,
    }
    .into_input();
    let task = super::services()?.create_task(&user, &input).await?;
    leptos_axum::redirect(&format!("/tasks/{}", task.id));
    Ok(())
}

/// Adds a task from just a title; the task list island calls this.
/// Adds a task from one sentence ("Pay rent every month on the 1st at 9am
/// #home !high remind me 1 day before"), read in the user's time zone by the
/// same parser the page's chips preview it with.
#[server(endpoint = "quick_add")]
pub async fn quick_add(title: String) -> Result<QuickAdded, AppError> {
    let user = crate::auth::require_user()?;
    let now = chrono::Utc::now().with_timezone(&user.time_zone.0).naive_local();
    let read = domain::quick_add::understand(&title, now);
    if read.input.title.trim().is_empty() && !read.parts.is_empty() {
        let phrase = title.trim();
        return Err(AppError::Invalid {
            field: "title".into(),
            message: format!(
                "Add a title: all of \u{201c}{phrase}\u{201d} was read as the task's details. \
                 Put words in quotes to keep them in the title."
            ),
        });
    }
    let svc = super::services()?;
    let task = svc.create_task(&user, &read.input).await?;
    let row = full_row(&svc, &task, &user).await?;
    let html = crate::pages::task_rows::rows_html(std::slice::from_ref(&row));
    Ok(QuickAdded { row, html })
}

#[server(endpoint = "update_task")]
pub async fn update_task(
    id: String,
    title: String,
    #[server(default)] description: String,
    #[server(default)] priority: String,
    #[server(default)] tags: String,
    #[server(default)] due_date: String,
    #[server(default)] due_time: String,
    #[server(default)] repeat: String,
    #[server(default)] repeat_every: String,
    #[server(default)] repeat_mo: String,
    #[server(default)] repeat_tu: String,
    #[server(default)] repeat_we: String,
    #[server(default)] repeat_th: String,
    #[server(default)] repeat_fr: String,
    #[server(default)] repeat_sa: String,
    #[server(default)] repeat_su: String,
    #[server(default)] repeat_end: String,
    #[server(default)] repeat_until: String,
    #[server(default)] repeat_count: String,
    #[server(default)] repeat_from: String,
    #[server(default)] recurrence: String,
    #[server(default)] reminders: String,
) -> Result<(), AppError> {
    let user = crate::auth::require_user()?;
    let input = TaskFields {
        title,
        description,
        priority,
        tags,
        due_date,
        due_time,
        repeat,
        repeat_every,
        repeat_on: [repeat_mo, repeat_tu, repeat_we, repeat_th, repeat_fr, repeat_sa, repeat_su],
        repeat_end,
        repeat_until,
        repeat_count,
        repeat_from,
        recurrence,
        reminders,
    }
    .into_input();
    let task = super::services()?.update_task(&user, task_id(&id)?, &input).await?;
    leptos_axum::redirect(&format!("/tasks/{}", task.id));
    Ok(())
}

/// One task's list row as HTML, as a page load renders it: the task board
/// island fetches it for a task created or edited in another tab.
#[server(endpoint = "task_row_html")]
pub async fn task_row_html(id: String) -> Result<String, AppError> {
    let user = crate::auth::require_user()?;
    let svc = super::services()?;
    let task = svc.task(&user, task_id(&id)?).await?;
    Ok(crate::pages::task_rows::rows_html(std::slice::from_ref(&full_row(&svc, &task, &user).await?)))
}

/// Completes or reopens a task; the task list island calls this.
#[server(endpoint = "set_completed")]
pub async fn set_completed(id: String, completed: bool) -> Result<TaskRow, AppError> {
    let user = crate::auth::require_user()?;
    let svc = super::services()?;
    let task = svc.set_completed(&user, task_id(&id)?, completed, None).await?;
    full_row(&svc, &task, &user).await
}

/// Deletes a task; `scope` is `this` (the default) or `following` (this
/// instance of a repeating task and all later ones).
#[server(endpoint = "delete_task")]
pub async fn delete_task(id: String, #[server(default)] scope: String) -> Result<(), AppError> {
    let user = crate::auth::require_user()?;
    let scope = domain::services::DeleteScope::parse(&scope)?;
    super::services()?.delete_task(&user, task_id(&id)?, scope, None).await?;
    leptos_axum::redirect("/tasks?deleted=1");
    Ok(())
}
