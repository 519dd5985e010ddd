//! Notifications: the list, marking read, snoozing a reminder, and
//! completing a reminder's task from it.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::AppError;

/// One notification, as the notifications page shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NotificationRow {
    pub seq: i64,
    pub title: String,
    pub body: String,
    pub link: Option<String>,
    pub created_label: String,
    pub unread: bool,
    /// A reminder: it offers snooze and complete.
    pub reminder: bool,
    /// Fired more than a day late.
    pub missed: bool,
}

/// A page of notifications, newest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NotificationList {
    pub items: Vec<NotificationRow>,
    /// The cursor of the next (older) page, if there is one.
    pub older: Option<String>,
}

#[cfg(feature = "ssr")]
fn seq(raw: &str) -> Result<i64, AppError> {
    Ok(domain::notification::parse_seq(raw)?)
}

#[server(endpoint = "list_notifications")]
pub async fn list_notifications(#[server(default)] before: String) -> Result<NotificationList, AppError> {
    let user = crate::auth::require_user()?;
    let before = if before.trim().is_empty() { None } else { Some(seq(&before)?) };
    let page = super::services()?.notifications(&user, before).await?;
    let older = if page.more { page.items.last().map(|n| n.seq.to_string()) } else { None };
    let items = page
        .items
        .iter()
        .map(|n| NotificationRow {
            seq: n.seq,
            title: n.title.clone(),
            body: n.body.clone(),
            link: n.link(),
            created_label: super::when(n.created_at, &user),
            unread: n.is_unread(),
            reminder: n.kind == domain::notification::NotificationKind::Reminder,
            missed: n.punctuality == Some(domain::reminder::Punctuality::Missed),
        })
        .collect();
    Ok(NotificationList { items, older })
}

/// Marks one notification read (`seq`), or all of them (`seq` empty).
#[server(endpoint = "mark_notifications_read")]
pub async fn mark_notifications_read(#[server(default)] seq: String) -> Result<(), AppError> {
    let user = crate::auth::require_user()?;
    let which = if seq.trim().is_empty() { None } else { Some(self::seq(&seq)?) };
    super::services()?.mark_read(&user, which).await?;
    leptos_axum::redirect("/notifications");
    Ok(())
}

/// Snoozes a reminder: `until` is `10m`, `1h`, `tomorrow`, or `at` with a date and time.
#[server(endpoint = "snooze_notification")]
pub async fn snooze_notification(
    seq: String,
    until: String,
    #[server(default)] snooze_date: String,
    #[server(default)] snooze_time: String,
) -> Result<(), AppError> {
    use domain::reminder::Snooze;
    let user = crate::auth::require_user()?;
    let snooze = match until.as_str() {
        "10m" => Snooze::TenMinutes,
        "1h" => Snooze::OneHour,
        "tomorrow" => Snooze::TomorrowMorning,
        "at" => match domain::reminder::Reminder::at(&snooze_date, &snooze_time) {
            Ok(domain::reminder::Reminder::At(local)) => Snooze::Until(local),
            _ => return Err(domain::ValidationError::new("snooze_until", "Pick a date and a time.").into()),
        },
        _ => return Err(domain::ValidationError::new("snooze_until", "Choose when to be reminded again.").into()),
    };
    super::services()?.snooze(&user, self::seq(&seq)?, snooze).await?;
    leptos_axum::redirect("/notifications?snoozed=1");
    Ok(())
}

/// Completes the task a reminder is about, and marks the reminder read.
#[server(endpoint = "complete_from_notification")]
pub async fn complete_from_notification(seq: String) -> Result<(), AppError> {
    let user = crate::auth::require_user()?;
    super::services()?.complete_from_notification(&user, self::seq(&seq)?).await?;
    leptos_axum::redirect("/notifications");
    Ok(())
}

/// What the bell and the toasts do with a notification, without leaving the
/// page: `read` (one), `read_all`, `complete` (its task) or `snooze_10m`.
/// Answers the user's unread count afterwards.
#[server(endpoint = "notification_action")]
pub async fn notification_action(#[server(default)] seq: String, action: String) -> Result<i64, AppError> {
    let user = crate::auth::require_user()?;
    let svc = super::services()?;
    let one = || self::seq(&seq);
    match action.as_str() {
        "read" => {
            svc.mark_read(&user, Some(one()?)).await?;
        }
        "read_all" => {
            svc.mark_read(&user, None).await?;
        }
        "complete" => {
            svc.complete_from_notification(&user, one()?).await?;
        }
        "snooze_10m" => {
            svc.snooze(&user, one()?, domain::reminder::Snooze::TenMinutes).await?;
        }
        _ => {
            return Err(domain::ValidationError::new("action", "Choose read, read_all, complete or snooze_10m.").into())
        }
    }
    Ok(svc.store.unread_notifications(user.id).await.map_err(domain::ServiceError::from)?)
}
