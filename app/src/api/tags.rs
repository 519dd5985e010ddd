//! Tags: the tags page's list (each tag's counts and colour), and renaming
//! (merging when the new name exists), recolouring and deleting a tag
//! across all of the user's tasks.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::AppError;

/// One tag as the tags page shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TagRow {
    pub name: String,
    /// Open tasks carrying it.
    pub open: u64,
    /// All tasks carrying it, completed ones included.
    pub total: u64,
    /// A palette name (`red`, `teal`, …), or `None`.
    pub colour: Option<String>,
}

#[server(endpoint = "list_tags")]
pub async fn list_tags() -> Result<Vec<TagRow>, AppError> {
    let user = crate::auth::require_user()?;
    let counts = super::services()?.tag_counts(&user).await?;
    Ok(counts
        .into_iter()
        .map(|c| TagRow {
            name: c.tag.as_str().to_owned(),
            open: c.open,
            total: c.total,
            colour: c.colour.map(|c| c.as_str().to_owned()),
        })
        .collect())
}

/// Renames `tag` to `to` on every task; a task that has `to` already keeps one.
#[server(endpoint = "rename_tag")]
pub async fn rename_tag(tag: String, #[server(default)] to: String) -> Result<(), AppError> {
    let user = crate::auth::require_user()?;
    super::services()?.rename_tag(&user, &tag, &to).await?;
    leptos_axum::redirect("/tags");
    Ok(())
}

/// Sets a tag's colour from the palette; an empty `colour` takes it away.
#[server(endpoint = "recolour_tag")]
pub async fn recolour_tag(tag: String, #[server(default)] colour: String) -> Result<(), AppError> {
    let user = crate::auth::require_user()?;
    super::services()?.recolour_tag(&user, &tag, &colour).await?;
    leptos_axum::redirect("/tags");
    Ok(())
}

/// Takes a tag off every task (the tasks stay) and forgets its colour.
#[server(endpoint = "delete_tag")]
pub async fn delete_tag(tag: String) -> Result<(), AppError> {
    let user = crate::auth::require_user()?;
    super::services()?.delete_tag(&user, &tag).await?;
    leptos_axum::redirect("/tags?deleted=1");
    Ok(())
}
