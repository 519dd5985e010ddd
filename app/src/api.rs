//! Server functions: thin adapters from form posts and island calls to the
//! domain services, plus the view models they return.

use domain::Priority;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

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

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskList {
    pub rows: Vec<TaskRow>,
    /// Every tag the user has, for the filter.
    pub tags: Vec<String>,
    /// This page's number (1-based), the rows per page and the number of pages.
    pub page: u32,
    pub page_size: u32,
    pub pages: u32,
    /// Tasks matching the filter on all pages.
    pub total: u64,
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

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ActivityRow {
    pub when: String,
    pub summary: String,
    pub event_type: String,
    pub task_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Viewer {
    pub display_name: String,
    pub email: String,
    pub time_zone: String,
}

#[cfg(feature = "ssr")]
mod convert {
    use super::*;
    use chrono::{DateTime, Utc};
    use domain::event::AuditEntry;
    use domain::{Task, User};

    pub fn when(at: DateTime<Utc>, user: &User) -> String {
        at.with_timezone(&user.time_zone.0).format("%a %-d %b %Y, %H:%M").to_string()
    }

    pub fn row(task: &Task, user: &User) -> TaskRow {
        TaskRow {
            id: task.id.to_string(),
            title: task.title.as_str().to_owned(),
            completed: task.is_completed(),
            priority: task.priority,
            due_label: task.due.map(|d| d.label(user.time_zone)),
            overdue: task.is_overdue(Utc::now()),
            tags: task.tags.iter().map(|t| t.as_str().to_owned()).collect(),
        }
    }

    pub fn activity(entry: &AuditEntry, user: &User) -> ActivityRow {
        ActivityRow {
            when: when(entry.occurred_at, user),
            summary: entry.summary.clone(),
            event_type: entry.event_type.clone(),
            task_id: entry.task_id.map(|t| t.to_string()),
        }
    }

    pub fn me(user: &User) -> Viewer {
        Viewer {
            display_name: user.display_name.as_str().to_owned(),
            email: user.email.as_str().to_owned(),
            time_zone: user.time_zone.name().to_owned(),
        }
    }
}

#[cfg(feature = "ssr")]
fn services() -> Result<domain::service::Services, AppError> {
    Ok(crate::auth::state()?.services)
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

/// Only same-site paths may be redirect targets, so links cannot bounce users elsewhere.
pub fn safe_next(next: &str) -> &str {
    let printable = next.bytes().all(|b| (0x21..0x7f).contains(&b));
    if printable && next.starts_with('/') && !next.starts_with("//") && !next.contains('\\') {
        next
    } else {
        "/tasks"
    }
}

// ---- accounts ----

#[server(endpoint = "sign_up")]
pub async fn sign_up(email: String, password: String, display_name: String, time_zone: String) -> Result<(), AppError> {
    let st = crate::auth::state()?;
    let user = st.services.sign_up(domain::service::SignUp { email, password, display_name, time_zone }).await?;
    crate::auth::start_session(&user).await?;
    leptos_axum::redirect("/tasks");
    Ok(())
}

#[server(endpoint = "sign_in")]
pub async fn sign_in(email: String, password: String, #[server(default)] next: String) -> Result<(), AppError> {
    let st = crate::auth::state()?;
    let ip = crate::auth::client_ip();
    st.limiter.check(ip, &email).map_err(|retry_after_secs| AppError::RateLimited { retry_after_secs })?;
    match st.services.verify_credentials(&email, &password).await {
        Ok(user) => {
            st.limiter.record_success(&email);
            crate::auth::start_session(&user).await?;
            leptos_axum::redirect(safe_next(&next));
            Ok(())
        }
        Err(domain::ServiceError::InvalidCredentials) => {
            st.limiter.record_failure(ip, &email);
            Err(AppError::InvalidCredentials)
        }
        Err(other) => Err(other.into()),
    }
}

#[server(endpoint = "sign_out")]
pub async fn sign_out() -> Result<(), AppError> {
    crate::auth::end_session().await?;
    leptos_axum::redirect("/signin");
    Ok(())
}

#[server(endpoint = "me")]
pub async fn me() -> Result<Option<Viewer>, AppError> {
    Ok(crate::auth::current_user().await?.as_ref().map(convert::me))
}

#[server(endpoint = "update_profile")]
pub async fn update_profile(display_name: String, time_zone: String) -> Result<(), AppError> {
    let user = crate::auth::require_user().await?;
    services()?.update_profile(&user, &display_name, &time_zone).await?;
    leptos_axum::redirect("/settings?saved=profile");
    Ok(())
}

#[server(endpoint = "change_password")]
pub async fn change_password(current_password: String, new_password: String) -> Result<(), AppError> {
    let user = crate::auth::require_user().await?;
    let token = crate::auth::session_token().ok_or(AppError::Unauthenticated)?;
    services()?.change_password(&user, &current_password, &new_password, &crate::auth::hash_token(&token)).await?;
    leptos_axum::redirect("/settings?saved=password");
    Ok(())
}

// ---- tasks ----

#[server(endpoint = "list_tasks")]
pub async fn list_tasks(
    #[server(default)] completed: String,
    #[server(default)] tag: String,
    #[server(default)] priority: String,
    #[server(default)] page: String,
) -> Result<TaskList, AppError> {
    let user = crate::auth::require_user().await?;
    let filter = domain::TaskFilter::from_query(Some(&completed), Some(&tag), Some(&priority));
    let request = domain::PageRequest::from_query(Some(&page));
    let svc = services()?;
    let found = svc.tasks(&user, &filter, request).await?;
    let tags = svc.tags(&user).await?;
    Ok(TaskList {
        rows: found.tasks.iter().map(|t| convert::row(t, &user)).collect(),
        tags: tags.iter().map(|t| t.as_str().to_owned()).collect(),
        page: request.number,
        page_size: request.size,
        pages: found.page_count(request.size),
        total: found.total,
    })
}

#[server(endpoint = "get_task")]
pub async fn get_task(id: String) -> Result<TaskDetail, AppError> {
    let user = crate::auth::require_user().await?;
    let svc = services()?;
    let task = svc.task(&user, task_id(&id)?).await?;
    let history = svc.activity(&user, Some(task.id), 100).await?;
    let description = task.description.as_ref().map(|d| d.as_str().to_owned()).unwrap_or_default();
    Ok(TaskDetail {
        row: convert::row(&task, &user),
        description_html: domain::markdown::render(&description),
        description,
        tags_input: task.tags.joined(),
        due_date: task.due.map(|d| d.date_input()).unwrap_or_default(),
        due_time: task.due.map(|d| d.time_input()).unwrap_or_default(),
        created_label: convert::when(task.created_at, &user),
        completed_label: task.completed_at.map(|at| convert::when(at, &user)),
        history: history.iter().map(|e| convert::activity(e, &user)).collect(),
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
    let user = crate::auth::require_user().await?;
    let input = task_input(title, description, priority, tags, due_date, due_time);
    let task = services()?.create_task(&user, &input).await?;
    leptos_axum::redirect(&format!("/tasks/{}", task.id));
    Ok(())
}

/// Adds a task from just a title; the quick-add island calls this.
#[server(endpoint = "quick_add")]
pub async fn quick_add(title: String) -> Result<TaskRow, AppError> {
    let user = crate::auth::require_user().await?;
    let input = domain::task::TaskInput { title, ..Default::default() };
    let task = services()?.create_task(&user, &input).await?;
    Ok(convert::row(&task, &user))
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
    let user = crate::auth::require_user().await?;
    let input = task_input(title, description, priority, tags, due_date, due_time);
    let task = services()?.update_task(&user, task_id(&id)?, &input).await?;
    leptos_axum::redirect(&format!("/tasks/{}", task.id));
    Ok(())
}

/// Completes or reopens a task; the toggle island calls this.
#[server(endpoint = "set_completed")]
pub async fn set_completed(id: String, completed: bool) -> Result<TaskRow, AppError> {
    let user = crate::auth::require_user().await?;
    let task = services()?.set_completed(&user, task_id(&id)?, completed).await?;
    Ok(convert::row(&task, &user))
}

#[server(endpoint = "delete_task")]
pub async fn delete_task(id: String) -> Result<(), AppError> {
    let user = crate::auth::require_user().await?;
    services()?.delete_task(&user, task_id(&id)?).await?;
    leptos_axum::redirect("/tasks?deleted=1");
    Ok(())
}

#[server(endpoint = "activity")]
pub async fn activity() -> Result<Vec<ActivityRow>, AppError> {
    let user = crate::auth::require_user().await?;
    let entries = services()?.activity(&user, None, 200).await?;
    Ok(entries.iter().map(|e| convert::activity(e, &user)).collect())
}
