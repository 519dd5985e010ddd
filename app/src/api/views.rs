//! Views: the sidebar's links (the views every user has, then the ones they
//! saved, in their order), saving the list's current search as a view,
//! moving and deleting saved views, and the Upcoming week.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use super::TaskRow;
use crate::error::AppError;

/// One link of the sidebar.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ViewLink {
    /// Empty for the views every user has, which cannot be moved or deleted.
    pub id: String,
    pub name: String,
    pub href: String,
}

/// One line of the Upcoming week.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UpcomingRow {
    pub row: TaskRow,
    /// A later occurrence of a repeating task, not a task of its own yet.
    pub projected: bool,
}

/// One day of the Upcoming week.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UpcomingDayView {
    /// "Today", "Tomorrow", then "Saturday 28 March".
    pub label: String,
    pub rows: Vec<UpcomingRow>,
}

/// The sidebar: every user's views first, then the user's own.
#[server(endpoint = "list_views")]
pub async fn list_views() -> Result<Vec<ViewLink>, AppError> {
    let user = crate::auth::require_user()?;
    let saved = super::services()?.saved_views(&user).await?;
    let built_in = domain::views::BUILT_IN_VIEWS.iter().map(|v| ViewLink {
        id: String::new(),
        name: v.name.to_owned(),
        href: v.href.to_owned(),
    });
    let own =
        saved.iter().map(|v| ViewLink { id: v.id.0.to_string(), name: v.name.as_str().to_owned(), href: v.href() });
    Ok(built_in.chain(own).collect())
}

/// Saves `q` (the list's search and order, in its text form) as a view named
/// `name`, pinned last in the sidebar, and opens it.
#[server(endpoint = "save_view")]
pub async fn save_view(#[server(default)] name: String, #[server(default)] q: String) -> Result<(), AppError> {
    let user = crate::auth::require_user()?;
    let q: String = q.chars().take(super::MAX_QUERY).collect();
    let view = super::services()?.save_view(&user, &name, &q).await?;
    leptos_axum::redirect(&view.href());
    Ok(())
}

#[server(endpoint = "delete_view")]
pub async fn delete_view(id: String) -> Result<(), AppError> {
    let user = crate::auth::require_user()?;
    let id = domain::views::ViewId::parse(&id).map_err(|_| AppError::NotFound)?;
    super::services()?.delete_view(&user, id).await?;
    leptos_axum::redirect("/views");
    Ok(())
}

/// Moves a view one place `up` or `down` the sidebar.
#[server(endpoint = "move_view")]
pub async fn move_view(id: String, #[server(default)] direction: String) -> Result<(), AppError> {
    let user = crate::auth::require_user()?;
    let id = domain::views::ViewId::parse(&id).map_err(|_| AppError::NotFound)?;
    let direction = domain::views::Move::parse(&direction)?;
    super::services()?.move_view(&user, id, direction).await?;
    leptos_axum::redirect("/views");
    Ok(())
}

#[server(endpoint = "upcoming")]
pub async fn upcoming() -> Result<Vec<UpcomingDayView>, AppError> {
    let user = crate::auth::require_user()?;
    let (days, colours) = super::services()?.upcoming(&user).await?;
    let now = chrono::Utc::now();
    let today = days.first().map(|d| d.date);
    Ok(days
        .into_iter()
        .map(|day| UpcomingDayView {
            label: match today.map(|t| (day.date - t).num_days()) {
                Some(0) => "Today".to_owned(),
                Some(1) => "Tomorrow".to_owned(),
                _ => day.date.format("%A %-d %B").to_string(),
            },
            rows: day
                .items
                .iter()
                .map(|item| UpcomingRow {
                    row: super::tasks::task_row(&item.task, &user, &colours, now),
                    projected: item.projected,
                })
                .collect(),
        })
        .collect())
}
