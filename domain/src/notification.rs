//! Notifications: what Cadence tells a user (a reminder fired, a repeating
//! task's next instance is due today), stored per user with a number that
//! only grows, so a live stream can use it as its event id and resume after it.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::account::UserId;
use crate::reminder::Punctuality;
use crate::task::TaskId;
use crate::ValidationError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NotificationKind {
    /// A reminder fired; it can be snoozed, and its task completed.
    Reminder,
    /// A repeating task's next instance was created, due today.
    NextInstance,
}

impl NotificationKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Reminder => "reminder",
            Self::NextInstance => "next_instance",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "reminder" => Some(Self::Reminder),
            "next_instance" => Some(Self::NextInstance),
            _ => None,
        }
    }
}

/// A notification as stored: `seq` is the user's own counter, 1, 2, 3…
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Notification {
    pub user_id: UserId,
    pub seq: i64,
    pub kind: NotificationKind,
    pub task_id: Option<TaskId>,
    pub title: String,
    pub body: String,
    /// Whether it reached the user on time, late or as missed (reminders only).
    pub punctuality: Option<Punctuality>,
    /// The event it was made from: a redelivered event makes no second one.
    pub source_event: Uuid,
    pub created_at: DateTime<Utc>,
    pub read_at: Option<DateTime<Utc>>,
}

impl Notification {
    pub fn is_unread(&self) -> bool {
        self.read_at.is_none()
    }

    /// Where it leads: its task's page.
    pub fn link(&self) -> Option<String> {
        self.task_id.map(|t| format!("/tasks/{t}"))
    }
}

/// A notification before the store numbers it.
#[derive(Debug, Clone, PartialEq)]
pub struct NewNotification {
    pub user_id: UserId,
    pub kind: NotificationKind,
    pub task_id: Option<TaskId>,
    pub title: String,
    pub body: String,
    pub punctuality: Option<Punctuality>,
    pub source_event: Uuid,
    pub created_at: DateTime<Utc>,
}

impl NewNotification {
    /// The notification as stored under the user's number `seq`, unread.
    pub fn numbered(&self, seq: i64) -> Notification {
        Notification {
            user_id: self.user_id,
            seq,
            kind: self.kind,
            task_id: self.task_id,
            title: self.title.clone(),
            body: self.body.clone(),
            punctuality: self.punctuality,
            source_event: self.source_event,
            created_at: self.created_at,
            read_at: None,
        }
    }
}

/// A page of notifications, newest first, and whether older ones follow.
#[derive(Debug, Clone, PartialEq)]
pub struct NotificationPage {
    pub items: Vec<Notification>,
    pub more: bool,
}

/// Parses a notification number from a form or a URL.
pub fn parse_seq(raw: &str) -> Result<i64, ValidationError> {
    raw.trim()
        .parse::<i64>()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| ValidationError::new("notification", "This is not a notification number."))
}
