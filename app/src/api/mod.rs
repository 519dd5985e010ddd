//! Server functions: thin doors from form posts and island calls to the
//! domain services, one module per feature, and the view models they return.
//! Each reads the signed-in user the session layer resolved for the request.

use serde::{Deserialize, Serialize};

mod accounts;
mod activity;
mod bulk;
mod notifications;
mod search;
mod tags;
mod tasks;
mod tokens;
mod views;

pub use accounts::*;
pub use activity::*;
pub use bulk::*;
pub use notifications::*;
pub use search::*;
pub use tags::*;
pub use tasks::*;
pub use tokens::*;
pub use views::*;

/// The signed-in user, as the header and the settings page show them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Viewer {
    pub display_name: String,
    pub email: String,
    pub time_zone: String,
    /// The default reminder as the settings form shows it ("15m"; empty for none).
    pub default_reminder: String,
    /// Unread notifications, for the header's count.
    pub unread: i64,
    /// The user's feed number when the page was rendered: where its live stream starts.
    pub feed_seq: i64,
}

#[cfg(feature = "ssr")]
fn services() -> Result<domain::services::Services, crate::error::AppError> {
    Ok(crate::auth::state()?.services)
}

/// A moment in the user's own time zone, as pages show it.
#[cfg(feature = "ssr")]
fn when(at: chrono::DateTime<chrono::Utc>, user: &domain::User) -> String {
    let local = at.with_timezone(&user.time_zone.0).naive_local();
    domain::task::wall_label(local.date(), Some(local.time()))
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
