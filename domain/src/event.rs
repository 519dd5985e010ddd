//! Versioned domain events and the envelope they travel in: written to the
//! outbox with the change that caused them, then published at least once.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::account::{User, UserId};
use crate::notification::Notification;
use crate::task::{Task, TaskId};
use crate::timer::FiredReminder;

/// The version of every payload shape below; bump it when a shape changes.
pub const SCHEMA_VERSION: u32 = 1;

/// The pub/sub topics events are published on when a broker carries them
/// (Dapr in a cluster). Each has a dead-letter topic beside it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Topic {
    /// Task and account lifecycle: what the audit log, the recurrence
    /// generator and the notifier consume.
    TaskEvents,
    /// `reminder.due`, kept apart so a backlog of task changes never delays a reminder.
    Reminders,
    /// Notification changes: what a live view needs; for integrations, as
    /// Cadence's own live streams read the database feed.
    TaskUpdates,
}

impl Topic {
    pub const ALL: [Topic; 3] = [Topic::TaskEvents, Topic::Reminders, Topic::TaskUpdates];

    pub fn name(self) -> &'static str {
        match self {
            Topic::TaskEvents => "task-events",
            Topic::Reminders => "reminders",
            Topic::TaskUpdates => "task-updates",
        }
    }

    /// Where the broker puts a message its consumer dropped or gave up on.
    pub fn dead_letter(self) -> &'static str {
        match self {
            Topic::TaskEvents => "task-events-dlq",
            Topic::Reminders => "reminders-dlq",
            Topic::TaskUpdates => "task-updates-dlq",
        }
    }

    pub fn parse(name: &str) -> Option<Topic> {
        Topic::ALL.into_iter().find(|t| t.name() == name)
    }

    /// The topic an event is published on.
    pub fn of(event: &DomainEvent) -> Topic {
        match event {
            DomainEvent::ReminderDue { .. } => Topic::Reminders,
            DomainEvent::NotificationCreated { .. } | DomainEvent::NotificationsRead { .. } => Topic::TaskUpdates,
            _ => Topic::TaskEvents,
        }
    }
}

/// Where events come from, as a CloudEvents `source`.
pub const SOURCE: &str = "urn:cadence:server";

/// What happened, with the state before and after where that applies.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum DomainEvent {
    AccountCreated {
        user: User,
    },
    AccountUpdated {
        before: User,
        after: User,
    },
    PasswordChanged {
        user_id: UserId,
    },
    TaskCreated {
        after: Box<Task>,
    },
    TaskUpdated {
        before: Box<Task>,
        after: Box<Task>,
    },
    TaskCompleted {
        before: Box<Task>,
        after: Box<Task>,
    },
    TaskReopened {
        before: Box<Task>,
        after: Box<Task>,
    },
    TaskDeleted {
        before: Box<Task>,
    },
    /// A reminder's timer fired (the scheduler writes it with the timer's fired mark).
    ReminderDue {
        reminder: Box<FiredReminder>,
    },
    /// A notification was stored for its user (the live stream sends these).
    NotificationCreated {
        notification: Box<Notification>,
    },
    /// Notifications were read: one (`seq`), or all of the user's (`None`).
    NotificationsRead {
        seq: Option<i64>,
    },
}

impl DomainEvent {
    pub fn event_type(&self) -> &'static str {
        match self {
            Self::AccountCreated { .. } => "account.created",
            Self::AccountUpdated { .. } => "account.updated",
            Self::PasswordChanged { .. } => "account.password_changed",
            Self::TaskCreated { .. } => "task.created",
            Self::TaskUpdated { .. } => "task.updated",
            Self::TaskCompleted { .. } => "task.completed",
            Self::TaskReopened { .. } => "task.reopened",
            Self::TaskDeleted { .. } => "task.deleted",
            Self::ReminderDue { .. } => "reminder.due",
            Self::NotificationCreated { .. } => "notification.created",
            Self::NotificationsRead { .. } => "notifications.read",
        }
    }

    /// Whether the activity log shows it: every change and every reminder,
    /// but not the notification a reminder became (that would say it twice)
    /// nor the reading of notifications.
    pub fn is_audited(&self) -> bool {
        !matches!(self, Self::NotificationCreated { .. } | Self::NotificationsRead { .. })
    }

    /// The task an event is about, if any.
    pub fn task_id(&self) -> Option<TaskId> {
        match self {
            Self::TaskCreated { after } => Some(after.id),
            Self::TaskUpdated { after, .. } | Self::TaskCompleted { after, .. } | Self::TaskReopened { after, .. } => {
                Some(after.id)
            }
            Self::TaskDeleted { before } => Some(before.id),
            Self::ReminderDue { reminder } => Some(reminder.task_id),
            _ => None,
        }
    }

    /// A one-line human summary for the activity page.
    pub fn summary(&self) -> String {
        match self {
            Self::AccountCreated { user } => format!("Created the account {}", user.email.as_str()),
            Self::AccountUpdated { .. } => "Updated account settings".to_owned(),
            Self::PasswordChanged { .. } => "Changed the password".to_owned(),
            Self::TaskCreated { after } => {
                format!("Created \u{201c}{}\u{201d}", after.title.as_str())
            }
            Self::TaskUpdated { before, after } => {
                let mut changed = Vec::new();
                if before.title != after.title {
                    changed.push("title");
                }
                if before.description != after.description {
                    changed.push("description");
                }
                if before.priority != after.priority {
                    changed.push("priority");
                }
                if before.tags != after.tags {
                    changed.push("tags");
                }
                if before.due != after.due {
                    changed.push("due date");
                }
                let what = if changed.is_empty() { "nothing".to_owned() } else { changed.join(", ") };
                format!("Edited \u{201c}{}\u{201d} ({what})", after.title.as_str())
            }
            Self::TaskCompleted { after, .. } => {
                format!("Completed \u{201c}{}\u{201d}", after.title.as_str())
            }
            Self::TaskReopened { after, .. } => {
                format!("Reopened \u{201c}{}\u{201d}", after.title.as_str())
            }
            Self::TaskDeleted { before } => {
                format!("Deleted \u{201c}{}\u{201d}", before.title.as_str())
            }
            Self::ReminderDue { reminder } => {
                format!("Reminded about \u{201c}{}\u{201d} ({})", reminder.title, reminder.label.to_lowercase())
            }
            Self::NotificationCreated { notification } => format!("Notified: {}", notification.title),
            Self::NotificationsRead { .. } => "Read notifications".to_owned(),
        }
    }
}

/// An event as stored in the outbox and published: CloudEvents-compatible.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventEnvelope {
    pub id: Uuid,
    #[serde(rename = "type")]
    pub event_type: String,
    pub schema_version: u32,
    pub occurred_at: DateTime<Utc>,
    pub user_id: UserId,
    pub task_id: Option<TaskId>,
    pub payload: DomainEvent,
    /// The W3C `traceparent` of the request that caused the event. It is
    /// kept beside the event in the outbox, not in its data, so a trace can
    /// follow the event to its consumers; the domain only carries it.
    #[serde(skip)]
    pub trace_parent: Option<String>,
}

impl EventEnvelope {
    pub fn new(id: Uuid, occurred_at: DateTime<Utc>, user_id: UserId, payload: DomainEvent) -> Self {
        Self {
            id,
            event_type: payload.event_type().to_owned(),
            schema_version: SCHEMA_VERSION,
            occurred_at,
            user_id,
            task_id: payload.task_id(),
            payload,
            trace_parent: None,
        }
    }

    /// The stream the event belongs to: its task, or else its account. Events
    /// of one stream reach every consumer in the order they were committed.
    pub fn stream(&self) -> Uuid {
        self.task_id.map_or(self.user_id.0, |t| t.0)
    }

    /// Reads an envelope as stored in the outbox, refusing schema versions
    /// newer than this build understands rather than misreading them.
    pub fn decode(value: &serde_json::Value) -> Result<Self, String> {
        match value.get("schema_version").and_then(serde_json::Value::as_u64) {
            Some(v) if v > u64::from(SCHEMA_VERSION) => {
                return Err(format!("schema version {v} is newer than this server's {SCHEMA_VERSION}"))
            }
            None => return Err("no schema version".to_owned()),
            Some(_) => {}
        }
        serde_json::from_value(value.clone()).map_err(|e| e.to_string())
    }

    /// The CloudEvents `type`: the event type and its schema version, e.g. `cadence.task.completed.v1`.
    pub fn cloud_event_type(&self) -> String {
        format!("cadence.{}.v{}", self.event_type, self.schema_version)
    }

    /// The CloudEvents 1.0 structured form, as Dapr pub/sub delivers it.
    pub fn to_cloud_event(&self) -> serde_json::Value {
        serde_json::json!({
            "specversion": "1.0",
            "id": self.id.to_string(),
            "source": SOURCE,
            "type": self.cloud_event_type(),
            "subject": self.user_id.to_string(),
            "time": self.occurred_at.to_rfc3339(),
            "datacontenttype": "application/json",
            "data": self,
        })
    }

    /// Reads an envelope back from a CloudEvent (the `data` field) or from itself.
    pub fn from_cloud_event(value: &serde_json::Value) -> Result<Self, serde_json::Error> {
        match value.get("data") {
            Some(data) if value.get("specversion").is_some() => serde_json::from_value(data.clone()),
            _ => serde_json::from_value(value.clone()),
        }
    }
}

/// A line of the audit log, as the activity page shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub event_id: Uuid,
    pub event_type: String,
    pub task_id: Option<TaskId>,
    pub summary: String,
    pub occurred_at: DateTime<Utc>,
}

impl AuditEntry {
    pub fn from_envelope(e: &EventEnvelope) -> Self {
        Self {
            event_id: e.id,
            event_type: e.event_type.clone(),
            task_id: e.task_id,
            summary: e.payload.summary(),
            occurred_at: e.occurred_at,
        }
    }
}

/// Where a page of the activity log ended: the next page holds the entries
/// after this one in the log's order (newest first; at one instant, the
/// larger event id first). Its text form is opaque to callers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ActivityCursor {
    pub occurred_at: DateTime<Utc>,
    pub event_id: Uuid,
}

impl ActivityCursor {
    /// The cursor of a page whose last entry is `entry`.
    pub fn after(entry: &AuditEntry) -> Self {
        Self { occurred_at: entry.occurred_at, event_id: entry.event_id }
    }

    /// Whether `entry` comes after the cursor, on a later page.
    pub fn precedes(&self, entry: &AuditEntry) -> bool {
        (entry.occurred_at, entry.event_id) < (self.occurred_at, self.event_id)
    }

    /// Nanoseconds since the epoch and the event id: the instant exactly, as the log keeps it.
    pub fn encode(&self) -> String {
        let nanos = self.occurred_at.timestamp_nanos_opt().unwrap_or(i64::MAX);
        format!("{nanos}.{}", self.event_id.simple())
    }

    /// Reads [`Self::encode`]'s form; `None` for anything else.
    pub fn parse(raw: &str) -> Option<Self> {
        let (nanos, id) = raw.split_once('.')?;
        let nanos: i64 = nanos.parse().ok()?;
        let event_id = Uuid::try_parse(id).ok()?;
        Some(Self { occurred_at: DateTime::from_timestamp_nanos(nanos), event_id })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::account::{DisplayName, Email, TimeZone};

    #[test]
    fn an_activity_cursor_reads_back_what_it_wrote_and_nothing_else() {
        let entry = AuditEntry {
            event_id: Uuid::now_v7(),
            event_type: "task.created".into(),
            task_id: None,
            summary: String::new(),
            occurred_at: DateTime::from_timestamp_nanos(1_795_000_000_123_456_789),
        };
        let cursor = ActivityCursor::after(&entry);
        assert_eq!(ActivityCursor::parse(&cursor.encode()), Some(cursor), "to the nanosecond");
        for bad in ["", "12", "x.y", "12.not-a-uuid", "1.2.3"] {
            assert_eq!(ActivityCursor::parse(bad), None, "{bad}");
        }
        assert!(!cursor.precedes(&entry), "the cursor's own entry is on its page");
        let tie = AuditEntry { event_id: Uuid::nil(), ..entry.clone() };
        assert!(cursor.precedes(&tie), "at one instant, a smaller id comes later");
    }

    fn user() -> User {
        User {
            id: UserId(Uuid::nil()),
            email: Email::parse("a@example.com").unwrap(),
            display_name: DisplayName::parse("A").unwrap(),
            time_zone: TimeZone::default(),
            default_reminder: None,
            created_at: DateTime::<Utc>::UNIX_EPOCH,
        }
    }

    #[test]
    fn envelopes_survive_a_cloud_event_round_trip() {
        let u = user();
        let e = EventEnvelope::new(Uuid::now_v7(), Utc::now(), u.id, DomainEvent::AccountCreated { user: u });
        let ce = e.to_cloud_event();
        assert_eq!(ce["type"], "cadence.account.created.v1");
        assert_eq!(ce["specversion"], "1.0");
        assert_eq!(EventEnvelope::from_cloud_event(&ce).unwrap(), e);
        let plain = serde_json::to_value(&e).unwrap();
        assert_eq!(EventEnvelope::from_cloud_event(&plain).unwrap(), e);
    }

    #[test]
    fn every_event_has_one_topic_and_topics_are_found_by_name() {
        let u = user();
        assert_eq!(Topic::of(&DomainEvent::AccountCreated { user: u.clone() }), Topic::TaskEvents);
        assert_eq!(Topic::of(&DomainEvent::NotificationsRead { seq: None }), Topic::TaskUpdates);
        for t in Topic::ALL {
            assert_eq!(Topic::parse(t.name()), Some(t));
            assert_eq!(t.dead_letter(), format!("{}-dlq", t.name()));
        }
        assert_eq!(Topic::parse("task-events-dlq"), None);
    }

    #[test]
    fn the_wire_format_names_type_and_schema_version() {
        let u = user();
        let e = EventEnvelope::new(
            Uuid::nil(),
            DateTime::<Utc>::UNIX_EPOCH,
            u.id,
            DomainEvent::PasswordChanged { user_id: u.id },
        );
        let v = serde_json::to_value(&e).unwrap();
        assert_eq!(v["type"], "account.password_changed");
        assert_eq!(v["schema_version"], 1);
        assert_eq!(v["payload"]["kind"], "password_changed");
    }

    #[test]
    fn decoding_refuses_unknown_schema_versions_and_shapes() {
        let u = user();
        let e = EventEnvelope::new(Uuid::now_v7(), Utc::now(), u.id, DomainEvent::PasswordChanged { user_id: u.id });
        let mut v = serde_json::to_value(&e).unwrap();
        assert_eq!(EventEnvelope::decode(&v).unwrap(), e);
        assert_eq!(e.stream(), u.id.0, "an account event's stream is its account");
        v["schema_version"] = serde_json::json!(SCHEMA_VERSION + 1);
        assert!(EventEnvelope::decode(&v).unwrap_err().contains("newer"));
        assert!(EventEnvelope::decode(&serde_json::json!({"schema_version": 1, "type": "x"})).is_err());
    }
}
