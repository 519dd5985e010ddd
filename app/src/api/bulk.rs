//! Bulk actions from the list's bar: the selected rows (or every task the
//! list's search selects) completed, reopened, re-prioritised, tagged,
//! untagged or deleted in one action, and that action undone.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::AppError;

/// What an action did, for the notice that offers to undo it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BulkDone {
    pub summary: String,
    /// `None` when nothing changed.
    pub undo: Option<String>,
    pub changed: usize,
}

/// Applies `action` to the tasks `ids` names, or with `all` set to every
/// task the list's search `q` selects (the page folds its filter form into it). A plain form post comes back to `back` (the
/// list it came from) with the undo notice.
#[server(endpoint = "bulk_tasks")]
pub async fn bulk_tasks(
    #[server(default)] ids: Vec<String>,
    #[server(default)] action: String,
    #[server(default)] priority: String,
    #[server(default)] tag: String,
    #[server(default)] all: String,
    #[server(default)] q: String,
    #[server(default)] back: String,
) -> Result<BulkDone, AppError> {
    let user = crate::auth::require_user()?;
    let svc = super::services()?;
    let action = domain::bulk::BulkAction::parse(&action, &priority, &tag)?;
    let ids: Vec<domain::TaskId> = if all.is_empty() {
        // An id that is not a task cannot be the user's: the action fails whole, as for another user's.
        ids.iter().map(|raw| domain::TaskId::parse(raw).map_err(|_| AppError::NotFound)).collect::<Result<_, _>>()?
    } else {
        let (query, _) = super::list_query(&q, "");
        let filter = svc.list_filter(&user, &query);
        matching_ids(&svc, &user, &filter).await?
    };
    let done = svc.bulk(&user, &ids, &action).await?;
    let undo = done.undo.map(|id| id.0.to_string());
    if let Some(id) = &undo {
        leptos_axum::redirect(&with_param(super::safe_next(&back), "undo", id));
    } else {
        leptos_axum::redirect(super::safe_next(&back));
    }
    Ok(BulkDone { summary: done.summary, undo, changed: done.changed })
}

/// Every task the filter selects, at most one more than an action takes (so
/// the service can name the limit).
#[cfg(feature = "ssr")]
async fn matching_ids(
    svc: &domain::services::Services,
    user: &domain::User,
    filter: &domain::TaskFilter,
) -> Result<Vec<domain::TaskId>, AppError> {
    let mut ids = Vec::new();
    let mut page = domain::PageRequest { size: 250, ..domain::PageRequest::first() };
    loop {
        let found = svc.tasks(user, filter, &page).await?;
        ids.extend(found.tasks.iter().map(|t| t.id));
        match found.next() {
            Some(key) if ids.len() <= domain::bulk::MAX_BULK => page.cursor = domain::Cursor::After(key),
            _ => return Ok(ids),
        }
    }
}

/// `path` with `name=value` set (both URL-safe: a path from `safe_next`, a uuid).
pub fn with_param(path: &str, name: &str, value: &str) -> String {
    let (base, query) = path.split_once('?').unwrap_or((path, ""));
    let prefix = format!("{name}=");
    let pair = format!("{name}={value}");
    let params: Vec<&str> =
        query.split('&').filter(|p| !p.is_empty() && !p.starts_with(&prefix)).chain([pair.as_str()]).collect();
    format!("{base}?{}", params.join("&"))
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_parameter_is_set_once_whatever_the_path_had() {
        assert_eq!(super::with_param("/tasks", "undo", "1"), "/tasks?undo=1");
        assert_eq!(super::with_param("/tasks?q=a&undo=0", "undo", "1"), "/tasks?q=a&undo=1");
    }
}

/// What the action `undo` names did, while it can still be undone; `None` once it cannot.
#[server(endpoint = "undo_summary")]
pub async fn undo_summary(undo: String) -> Result<Option<String>, AppError> {
    let user = crate::auth::require_user()?;
    let Some(id) = domain::bulk::UndoId::parse(&undo) else { return Ok(None) };
    Ok(super::services()?.undo_summary(&user, id).await?)
}

/// Undoes the bulk action `undo` names and goes back to `back`.
#[server(endpoint = "undo_bulk")]
pub async fn undo_bulk(undo: String, #[server(default)] back: String) -> Result<String, AppError> {
    let user = crate::auth::require_user()?;
    let id = domain::bulk::UndoId::parse(&undo).ok_or(AppError::NotFound)?;
    let summary = super::services()?.undo(&user, id).await?;
    leptos_axum::redirect(super::safe_next(&back));
    Ok(summary)
}
