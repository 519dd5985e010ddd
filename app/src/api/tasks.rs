//! Tasks: the list, one task, and every change to a task.

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
}

/// A page of the task list and where it sits in the whole.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskList {
    pub rows: Vec<TaskRow>,
    /// Every tag the user has, for the filter.
    pub tags: Vec<String>,
    /// Tasks matching the filter on all pages.
    pub total: u64,
    /// The 1-based position of this page's first row.
    pub first: u64,
    /// Cursors of the neighbouring pages, where there are any.
    pub previous: Option<String>,
    pub next: Option<String>,
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
}

/// A task just added by quick-add, and its list row as the server renders it,
/// so the island inserts exactly what a page load would show.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QuickAdded {
    pub row: TaskRow,
    pub html: String,
}

#[cfg(feature = "ssr")]
pub(crate) fn task_row(task: &domain::TaskSummary, user: &domain::User, now: chrono::DateTime<chrono::Utc>) -> TaskRow {
    TaskRow {
        id: task.id.to_string(),
        title: task.title.as_str().to_owned(),
        completed: task.is_completed(),
        priority: task.priority,
        due_label: task.due.map(|d| d.label(user.time_zone)),
        overdue: task.is_overdue(now),
        tags: task.tags.iter().map(|t| t.as_str().to_owned()).collect(),
    }
}

#[cfg(feature = "ssr")]
fn full_row(task: &domain::Task, user: &domain::User) -> TaskRow {
    task_row(&domain::TaskSummary::from(task), user, chrono::Utc::now())
}

#[cfg(feature = "ssr")]
fn task_input(
    title: String,
    description: String,
    priority: String,
    tags: String,
    due_date: String,
    due_time: String,
) -> domain::task::TaskInput {
    domain::task::TaskInput { title, description, priority, tags, due_date, due_time }
}

#[cfg(feature = "ssr")]
fn task_id(raw: &str) -> Result<domain::TaskId, AppError> {
    // A malformed id is reported like a missing task: there is nothing to find.
    domain::TaskId::parse(raw).map_err(|_| AppError::NotFound)
}

#[server(endpoint = "list_tasks")]
pub async fn list_tasks(
    #[server(default)] completed: String,
    #[server(default)] tag: String,
    #[server(default)] priority: String,
    #[server(default)] after: String,
    #[server(default)] before: String,
) -> Result<TaskList, AppError> {
    let session = crate::auth::current_session().ok_or(AppError::Unauthenticated)?;
    let user = &session.user;
    let filter = domain::TaskFilter::from_query(Some(&completed), Some(&tag), Some(&priority));
    let request = domain::PageRequest::from_query(Some(&after), Some(&before));
    let st = crate::auth::state()?;
    let cached = st.list_cache.get(user.id, &filter, &request.cursor, session.list_version);
    let page = match cached {
        Some(page) => page,
        None => {
            let page = std::sync::Arc::new(st.services.tasks(user, &filter, &request).await?);
            st.list_cache.put(user.id, &filter, &request.cursor, session.list_version, page.clone());
            page
        }
    };
    let now = chrono::Utc::now();
    Ok(TaskList {
        rows: page.tasks.iter().map(|t| task_row(t, user, now)).collect(),
        tags: page.tags.iter().map(|t| t.as_str().to_owned()).collect(),
        total: page.total,
        first: page.offset + 1,
        previous: page.previous().map(|k| k.as_str().to_owned()),
        next: page.next().map(|k| k.as_str().to_owned()),
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
        row: full_row(&task, &user),
        description_html: domain::markdown::render(&description),
        description,
        tags_input: task.tags.joined(),
        due_date: task.due.map(|d| d.date_input()).unwrap_or_default(),
        due_time: task.due.map(|d| d.time_input()).unwrap_or_default(),
        created_label: super::when(task.created_at, &user),
        completed_label: task.completed_at.map(|at| super::when(at, &user)),
        history: history.iter().map(|e| super::activity::activity_row(e, &user)).collect(),
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
) -> Result<(), AppError> {
    let user = crate::auth::require_user()?;
    let input = task_input(title, description, priority, tags, due_date, due_time);
    let task = super::services()?.create_task(&user, &input).await?;
    leptos_axum::redirect(&format!("/tasks/{}", task.id));
    Ok(())
}

/// Adds a task from just a title; the task list island calls this.
#[server(endpoint = "quick_add")]
pub async fn quick_add(title: String) -> Result<QuickAdded, AppError> {
    let user = crate::auth::require_user()?;
    let input = domain::task::TaskInput { title, ..Default::default() };
    let task = super::services()?.create_task(&user, &input).await?;
    let row = full_row(&task, &user);
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
) -> Result<(), AppError> {
    let user = crate::auth::require_user()?;
    let input = task_input(title, description, priority, tags, due_date, due_time);
    let task = super::services()?.update_task(&user, task_id(&id)?, &input).await?;
    leptos_axum::redirect(&format!("/tasks/{}", task.id));
    Ok(())
}

/// Completes or reopens a task; the task list island calls this.
#[server(endpoint = "set_completed")]
pub async fn set_completed(id: String, completed: bool) -> Result<TaskRow, AppError> {
    let user = crate::auth::require_user()?;
    let task = super::services()?.set_completed(&user, task_id(&id)?, completed).await?;
    Ok(full_row(&task, &user))
}

#[server(endpoint = "delete_task")]
pub async fn delete_task(id: String) -> Result<(), AppError> {
    let user = crate::auth::require_user()?;
    super::services()?.delete_task(&user, task_id(&id)?).await?;
    leptos_axum::redirect("/tasks?deleted=1");
    Ok(())
}
