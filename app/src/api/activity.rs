//! The activity log's server function and rows.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::AppError;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ActivityRow {
    pub when: String,
    pub summary: String,
    pub event_type: String,
    pub task_id: Option<String>,
}

#[cfg(feature = "ssr")]
pub(crate) fn activity_row(entry: &domain::event::AuditEntry, user: &domain::User) -> ActivityRow {
    ActivityRow {
        when: super::when(entry.occurred_at, user),
        summary: entry.summary.clone(),
        event_type: entry.event_type.clone(),
        task_id: entry.task_id.map(|t| t.to_string()),
    }
}

#[server(endpoint = "activity")]
pub async fn activity() -> Result<Vec<ActivityRow>, AppError> {
    let user = crate::auth::require_user()?;
    let entries = super::services()?.activity(&user, None, 200).await?;
    Ok(entries.iter().map(|e| activity_row(e, &user)).collect())
}
