//! The notification tools: list them (reminders that came due, next
//! instances due today), mark some or all read, and snooze a reminder, as
//! the bell and the notifications page do.

use domain::notification::parse_seq;
use domain::reminder::{Reminder, Snooze};
use rmcp::model::JsonObject;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::reply::{self, NotificationJson, Outcome, Reply, ToolError};
use super::CadenceMcp;
use crate::web::api_tasks::instant;

pub(super) const SNOOZE: &str = "Snoozes a reminder notification: its task reminds the user again at the time \
chosen, and the notification is marked read. Only reminders (kind `reminder` in list_notifications) of open tasks \
can be snoozed.";

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct SnoozeReminder {
    /// The reminder's notification id, from list_notifications.
    notification: i64,
    /// When to remind again: `10m`, `1h`, `tomorrow` (09:00 tomorrow), or a wall-clock time in the user's zone
    /// as `YYYY-MM-DD HH:MM`, e.g. `2026-12-24 18:00` (in the future, within a year).
    until: String,
}

/// A reminder snoozed.
#[derive(Debug, Serialize)]
struct Snoozed {
    notification: i64,
    /// The instant it reminds again.
    until: String,
    /// The same, on the user's wall clock.
    until_local: String,
}

pub(super) async fn snooze_reminder(s: &CadenceMcp, args: JsonObject) -> Outcome {
    let SnoozeReminder { notification, until } = reply::arguments(args)?;
    let seq = number(notification, "notification")?;
    let snooze = match until.trim() {
        "10m" => Snooze::TenMinutes,
        "1h" => Snooze::OneHour,
        "tomorrow" => Snooze::TomorrowMorning,
        at => match at.split_once(' ').map(|(date, time)| Reminder::at(date, time)) {
            Some(Ok(Reminder::At(local))) => Snooze::Until(local),
            _ => {
                return Err(ToolError::invalid(
                    "until",
                    "Choose 10m, 1h, tomorrow, or a time as YYYY-MM-DD HH:MM, e.g. 2026-12-24 18:00.",
                ))
            }
        },
    };
    let at = s.state.services.snooze(&s.api.user, seq, snooze).await.map_err(|e| {
        ToolError::from(e).renamed(|field| match field {
            "snooze_until" => Some("until"),
            _ => None,
        })
    })?;
    let local = at.with_timezone(&s.zone().0).naive_local();
    let until_local = domain::task::wall_label(local.date(), Some(local.time()));
    let summary = format!("Snoozed: it reminds again {until_local}.");
    Ok(Reply::new(summary, &Snoozed { notification: seq, until: instant(at), until_local }))
}

pub(super) const LIST: &str = "Lists the user's notifications, newest first, 30 a page: reminders that came due and \
repeating tasks' next instances due today. Each has an id for snooze_reminder and mark_notifications_read.";

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct ListNotifications {
    /// Older ones: the `older` value the page before gave; left out for the newest.
    #[serde(default)]
    before: Option<i64>,
}

/// A page of notifications.
#[derive(Debug, Serialize)]
struct Notifications {
    items: Vec<NotificationJson>,
    /// Pass as `before` for the next (older) page; absent on the last one.
    older: Option<i64>,
    /// How many of all the user's notifications are unread.
    unread: i64,
}

pub(super) async fn list_notifications(s: &CadenceMcp, args: JsonObject) -> Outcome {
    let ListNotifications { before } = reply::arguments(args)?;
    let before = match before {
        Some(n) => Some(number(n, "before")?),
        None => None,
    };
    let (svc, user) = (&s.state.services, &s.api.user);
    let page = svc.notifications(user, before).await?;
    let unread = unread(s).await?;
    let older = if page.more { page.items.last().map(|n| n.seq) } else { None };
    let items: Vec<NotificationJson> = page.items.iter().map(NotificationJson::from).collect();
    let reminders = items.iter().filter(|n| n.is_reminder()).count();
    let summary = format!("{} notifications ({reminders} reminders); {unread} unread in all.", items.len());
    Ok(Reply::new(summary, &Notifications { items, older, unread }))
}

/// A notification's number, read as the notifications page reads one (1, 2, 3…).
fn number(n: i64, field: &str) -> Result<i64, ToolError> {
    parse_seq(&n.to_string()).map_err(|e| ToolError::invalid(field, e.message))
}

async fn unread(s: &CadenceMcp) -> Result<i64, ToolError> {
    let count = s.state.services.store.unread_notifications(s.api.user.id).await;
    Ok(count.map_err(domain::ServiceError::from)?)
}

/// The most notifications `mark_notifications_read` marks by id, each in its own transaction.
const MAX_IDS: usize = 100;

pub(super) const MARK_READ: &str = "Marks notifications read: the ones whose ids are given, or all of them with \
`all: true`.";

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct MarkRead {
    /// The ids of the notifications to mark read (at most 100), from list_notifications.
    #[serde(default)]
    ids: Option<Vec<i64>>,
    /// True to mark every notification read (and leave `ids` out).
    #[serde(default)]
    all: Option<bool>,
}

/// Notifications marked read.
#[derive(Debug, Serialize)]
struct Marked {
    /// How many were unread and are read now.
    marked: u64,
    unread: i64,
}

pub(super) async fn mark_read(s: &CadenceMcp, args: JsonObject) -> Outcome {
    let MarkRead { ids, all } = reply::arguments(args)?;
    let (svc, user) = (&s.state.services, &s.api.user);
    let which = match (ids, all.unwrap_or(false)) {
        (Some(ids), _) if ids.len() > MAX_IDS => {
            return Err(ToolError::invalid("ids", format!("Mark at most {MAX_IDS} at once, or all: true.")))
        }
        (Some(ids), false) if !ids.is_empty() => {
            Some(ids.into_iter().map(|n| number(n, "ids")).collect::<Result<Vec<i64>, _>>()?)
        }
        (None, true) => None,
        _ => return Err(ToolError::invalid("ids", "Give the ids of the notifications to mark read, or all: true.")),
    };
    let mut marked = 0;
    match which {
        Some(seqs) => {
            for seq in seqs {
                marked += svc.mark_read(user, Some(seq)).await?;
            }
        }
        None => marked = svc.mark_read(user, None).await?,
    }
    let unread = unread(s).await?;
    Ok(Reply::new(format!("Marked {marked} read; {unread} unread."), &Marked { marked, unread }))
}
