//! The rows both backends read, and how each becomes a domain value. Stored
//! text is parsed again on the way out, so a row edited by hand cannot smuggle
//! in a value the domain would have refused. Domain types never derive `FromRow`.

use chrono::{DateTime, Utc};
use domain::event::{AuditEntry, EventEnvelope};
use domain::notification::{Notification, NotificationKind};
use domain::ports::{ActiveSession, SessionRecord};
use domain::reminder::{self, Punctuality};
use domain::spine::{DeadLetter, Delivery};
use domain::task::{Due, Priority, Tag, Tags, Task, TaskDescription, TaskId, TaskTitle};
use domain::timer::{Timer, TimerId, TimerKind};
use domain::{DisplayName, Email, StoreError, TaskSummary, TimeZone, User, UserId, ValidationError};
use uuid::Uuid;

/// A stored value that no longer parses: a backend fault, never the user's.
fn corrupt(what: &str, e: ValidationError) -> StoreError {
    StoreError::backend(std::io::Error::other(format!("stored {what} does not parse: {e}")))
}

pub const USER_COLUMNS: &str = "id, email, display_name, time_zone, default_reminder, created_at";

#[derive(sqlx::FromRow)]
pub struct UserRow {
    id: Uuid,
    email: String,
    display_name: String,
    time_zone: String,
    default_reminder: Option<i64>,
    created_at: DateTime<Utc>,
}

impl UserRow {
    pub fn into_user(self) -> Result<User, StoreError> {
        Ok(User {
            id: UserId(self.id),
            email: Email::parse(&self.email).map_err(|e| corrupt("email", e))?,
            display_name: DisplayName::parse(&self.display_name).map_err(|e| corrupt("name", e))?,
            time_zone: TimeZone::parse(&self.time_zone).map_err(|e| corrupt("time zone", e))?,
            default_reminder: self.default_reminder.and_then(|m| u32::try_from(m).ok()),
            created_at: self.created_at,
        })
    }
}

#[derive(sqlx::FromRow)]
pub struct UserWithHashRow {
    #[sqlx(flatten)]
    user: UserRow,
    password_hash: String,
}

impl UserWithHashRow {
    pub fn into_parts(self) -> Result<(User, String), StoreError> {
        Ok((self.user.into_user()?, self.password_hash))
    }
}

/// A session joined with its user: what every signed-in request reads.
#[derive(sqlx::FromRow)]
pub struct SessionUserRow {
    token_hash: String,
    session_created_at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
    list_version: i64,
    unread_notifications: i64,
    feed_seq: i64,
    #[sqlx(flatten)]
    user: UserRow,
}

impl SessionUserRow {
    pub fn into_active(self) -> Result<ActiveSession, StoreError> {
        let user = self.user.into_user()?;
        let session = SessionRecord {
            token_hash: self.token_hash,
            user_id: user.id,
            created_at: self.session_created_at,
            expires_at: self.expires_at,
        };
        Ok(ActiveSession {
            session,
            user,
            list_version: self.list_version,
            unread_notifications: self.unread_notifications,
            feed_seq: self.feed_seq,
        })
    }
}

/// The columns a task is read and written with, in the order the adapters bind them.
pub const TASK_COLUMNS: &str = "id, user_id, title, description, priority, due_at, due_tz, due_has_time, \
     completed_at, created_at, updated_at, tags, list_key, series_id, occurrence, repeat, reminders";

/// A task's repeat as stored: the `Repeat` value as JSON.
pub fn repeat_text(task: &Task) -> Option<String> {
    task.repeat.as_ref().and_then(|r| serde_json::to_string(r).ok())
}

/// The day a series instance is keyed by, as stored.
pub fn occurrence_text(task: &Task) -> Option<String> {
    task.repeat.as_ref().map(|r| r.occurrence.format("%Y-%m-%d").to_string())
}

/// A task's tags as stored beside it: comma-joined in their order (a tag never holds a comma).
pub fn tags_text(tags: &Tags) -> String {
    tags.iter().map(Tag::as_str).collect::<Vec<_>>().join(",")
}

fn tags_from_text(text: &str) -> Result<Tags, StoreError> {
    tags_from(text.split(',').filter(|t| !t.is_empty()).map(str::to_owned))
}

fn due(at: Option<DateTime<Utc>>, zone: Option<String>, has_time: bool) -> Result<Option<Due>, StoreError> {
    match (at, zone) {
        (Some(at), Some(zone)) => {
            let zone = TimeZone::parse(&zone).map_err(|e| corrupt("due zone", e))?;
            Ok(Some(Due::from_stored(at, zone, has_time)))
        }
        _ => Ok(None),
    }
}

fn title(raw: &str) -> Result<TaskTitle, StoreError> {
    TaskTitle::parse(raw).map_err(|e| corrupt("title", e))
}

#[derive(sqlx::FromRow)]
pub struct TaskRow {
    id: Uuid,
    user_id: Uuid,
    title: String,
    description: Option<String>,
    priority: i64,
    due_at: Option<DateTime<Utc>>,
    due_tz: Option<String>,
    due_has_time: bool,
    completed_at: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    tags: String,
    repeat: Option<String>,
    reminders: String,
}

impl TaskRow {
    pub fn into_task(self) -> Result<Task, StoreError> {
        Ok(Task {
            id: TaskId(self.id),
            user_id: UserId(self.user_id),
            title: title(&self.title)?,
            description: match self.description {
                Some(d) => TaskDescription::parse(&d).map_err(|e| corrupt("description", e))?,
                None => None,
            },
            priority: Priority::from_rank(self.priority),
            tags: tags_from_text(&self.tags)?,
            due: due(self.due_at, self.due_tz, self.due_has_time)?,
            repeat: match self.repeat {
                Some(text) => Some(serde_json::from_str(&text).map_err(|e| {
                    StoreError::backend(std::io::Error::other(format!("stored repeat does not parse: {e}")))
                })?),
                None => None,
            },
            reminders: reminder::parse_list(&self.reminders).map_err(|e| corrupt("reminders", e))?,
            completed_at: self.completed_at,
            created_at: self.created_at,
            updated_at: self.updated_at,
        })
    }
}

fn tags_from(names: impl IntoIterator<Item = String>) -> Result<Tags, StoreError> {
    let tags =
        names.into_iter().map(|n| Tag::parse(&n)).collect::<Result<Vec<_>, _>>().map_err(|e| corrupt("tag", e))?;
    Tags::from_tags(tags).map_err(|e| corrupt("tags", e))
}

pub fn tag(name: String) -> Result<Tag, StoreError> {
    Tag::parse(&name).map_err(|e| corrupt("tag", e))
}

/// A list row: a task without its description.
#[derive(sqlx::FromRow)]
pub struct SummaryRow {
    id: Uuid,
    title: String,
    priority: i64,
    due_at: Option<DateTime<Utc>>,
    due_tz: Option<String>,
    due_has_time: bool,
    completed_at: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
    tags: String,
    recurring: bool,
}

impl SummaryRow {
    pub fn into_summary(self) -> Result<TaskSummary, StoreError> {
        Ok(TaskSummary {
            id: TaskId(self.id),
            title: title(&self.title)?,
            priority: Priority::from_rank(self.priority),
            tags: tags_from_text(&self.tags)?,
            due: due(self.due_at, self.due_tz, self.due_has_time)?,
            recurring: self.recurring,
            completed_at: self.completed_at,
            created_at: self.created_at,
        })
    }
}

#[derive(sqlx::FromRow)]
pub struct AuditRow {
    event_id: Uuid,
    event_type: String,
    task_id: Option<Uuid>,
    summary: String,
    occurred_at: DateTime<Utc>,
}

impl AuditRow {
    pub fn into_entry(self) -> Result<AuditEntry, StoreError> {
        Ok(AuditEntry {
            event_id: self.event_id,
            event_type: self.event_type,
            task_id: self.task_id.map(TaskId),
            summary: self.summary,
            occurred_at: self.occurred_at,
        })
    }
}

/// A claimed delivery, with its event as stored.
pub fn delivery(seq: i64, attempts: i64, payload: &serde_json::Value, trace_parent: Option<String>) -> Delivery {
    let event = EventEnvelope::decode(payload).map(|event| EventEnvelope { trace_parent, ..event });
    Delivery { seq, attempts: u32::try_from(attempts).unwrap_or(u32::MAX), event }
}

/// A claimed delivery whose stored text is not even JSON.
pub fn delivery_from_text(seq: i64, attempts: i64, payload: &str, trace_parent: Option<String>) -> Delivery {
    match serde_json::from_str::<serde_json::Value>(payload) {
        Ok(value) => delivery(seq, attempts, &value, trace_parent),
        Err(e) => Delivery { seq, attempts: u32::try_from(attempts).unwrap_or(u32::MAX), event: Err(e.to_string()) },
    }
}

#[derive(sqlx::FromRow)]
pub struct DeadLetterRow {
    seq: i64,
    subscriber: String,
    event_id: Uuid,
    event_type: String,
    attempts: i64,
    last_error: Option<String>,
    dead_at: DateTime<Utc>,
}

impl DeadLetterRow {
    pub fn into_dead_letter(self) -> Result<DeadLetter, StoreError> {
        Ok(DeadLetter {
            seq: self.seq,
            subscriber: self.subscriber,
            event_id: self.event_id,
            event_type: self.event_type,
            attempts: u32::try_from(self.attempts).unwrap_or(u32::MAX),
            reason: self.last_error.unwrap_or_default(),
            dead_at: self.dead_at,
        })
    }
}

/// The columns a timer is read with.
pub const TIMER_COLUMNS: &str = "id, user_id, task_id, kind, fire_at, title, label";

#[derive(sqlx::FromRow)]
pub struct TimerRow {
    id: Uuid,
    user_id: Uuid,
    task_id: Uuid,
    kind: String,
    fire_at: i64,
    title: String,
    label: String,
}

impl TimerRow {
    pub fn into_timer(self) -> Result<Timer, StoreError> {
        Ok(Timer {
            id: TimerId(self.id),
            user_id: UserId(self.user_id),
            task_id: TaskId(self.task_id),
            kind: TimerKind::parse(&self.kind).ok_or_else(|| {
                StoreError::backend(std::io::Error::other(format!("stored timer kind {} is unknown", self.kind)))
            })?,
            fire_at: DateTime::from_timestamp_millis(self.fire_at).unwrap_or_default(),
            title: self.title,
            label: self.label,
        })
    }
}

pub fn punctuality_text(p: Option<Punctuality>) -> Option<&'static str> {
    p.map(Punctuality::as_str)
}

/// The columns a notification is read with.
pub const NOTIFICATION_COLUMNS: &str =
    "user_id, seq, kind, task_id, title, body, punctuality, source_event, created_at, read_at";

#[derive(sqlx::FromRow)]
pub struct NotificationRow {
    user_id: Uuid,
    seq: i64,
    kind: String,
    task_id: Option<Uuid>,
    title: String,
    body: String,
    punctuality: Option<String>,
    source_event: Uuid,
    created_at: DateTime<Utc>,
    read_at: Option<DateTime<Utc>>,
}

impl NotificationRow {
    pub fn into_notification(self) -> Result<Notification, StoreError> {
        Ok(Notification {
            user_id: UserId(self.user_id),
            seq: self.seq,
            kind: NotificationKind::parse(&self.kind).ok_or_else(|| {
                StoreError::backend(std::io::Error::other(format!("stored notification kind {} is unknown", self.kind)))
            })?,
            task_id: self.task_id.map(TaskId),
            title: self.title,
            body: self.body,
            punctuality: match self.punctuality.as_deref() {
                Some("on_time") => Some(Punctuality::OnTime),
                Some("late") => Some(Punctuality::Late),
                Some("missed") => Some(Punctuality::Missed),
                _ => None,
            },
            source_event: self.source_event,
            created_at: self.created_at,
            read_at: self.read_at,
        })
    }
}

/// Each subscriber's backlog, on both backends: the registered subscribers and
/// any retired one whose deliveries are still open. The oldest pending event
/// is found through the open-deliveries index (lowest open sequence number).
pub const SUBSCRIBER_STATS: &str = "SELECT n.name, \
       (SELECT COUNT(*) FROM outbox_deliveries d \
         WHERE d.subscriber = n.name AND d.done_at IS NULL AND d.dead_at IS NULL), \
       (SELECT COUNT(*) FROM outbox_deliveries d \
         WHERE d.subscriber = n.name AND d.done_at IS NULL AND d.dead_at IS NOT NULL), \
       (SELECT o.occurred_at FROM outbox o WHERE o.seq = (SELECT MIN(d.seq) FROM outbox_deliveries d \
         WHERE d.subscriber = n.name AND d.done_at IS NULL AND d.dead_at IS NULL)) \
     FROM (SELECT name FROM subscribers UNION SELECT subscriber FROM outbox_deliveries WHERE done_at IS NULL) n \
     ORDER BY n.name";

pub fn subscriber_stats(
    (subscriber, pending, dead, oldest_pending): (String, i64, i64, Option<DateTime<Utc>>),
) -> domain::spine::SubscriberStats {
    domain::spine::SubscriberStats {
        subscriber,
        pending: u64::try_from(pending).unwrap_or(0),
        dead: u64::try_from(dead).unwrap_or(0),
        oldest_pending,
    }
}

/// A tag with its task counts and colour, as both backends count them.
#[derive(sqlx::FromRow)]
pub struct TagCountRow {
    tag: String,
    total_count: i64,
    open_count: i64,
    colour: Option<String>,
}

impl TagCountRow {
    /// Decodes the rows in name order, byte by byte, so both backends (and
    /// any database collation) list tags alike. A colour the palette no
    /// longer has reads as none.
    pub fn into_counts(rows: Vec<Self>) -> Result<Vec<domain::tag::TagCount>, StoreError> {
        let mut counts = rows
            .into_iter()
            .map(|row| {
                Ok(domain::tag::TagCount {
                    tag: tag(row.tag)?,
                    open: u64::try_from(row.open_count).unwrap_or(0),
                    total: u64::try_from(row.total_count).unwrap_or(0),
                    colour: row.colour.as_deref().and_then(domain::tag::TagColour::from_name),
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        counts.sort_by(|a, b| a.tag.as_str().cmp(b.tag.as_str()));
        Ok(counts)
    }
}

/// A tag and the colour its owner gave it, if any.
#[derive(sqlx::FromRow)]
pub struct TagColourRow {
    tag: String,
    colour: Option<String>,
}

impl TagColourRow {
    /// The tags in the rows' order, and the colours of those that have one.
    /// A colour the palette no longer has reads as none, as on the tags page.
    pub fn into_tags(rows: Vec<Self>) -> Result<(Vec<Tag>, domain::tag::TagColours), StoreError> {
        let (mut tags, mut coloured) = (Vec::with_capacity(rows.len()), Vec::new());
        for row in rows {
            let name = tag(row.tag)?;
            if let Some(colour) = row.colour.as_deref().and_then(domain::tag::TagColour::from_name) {
                coloured.push((name.clone(), colour));
            }
            tags.push(name);
        }
        Ok((tags, coloured.into_iter().collect()))
    }
}

pub const VIEW_COLUMNS: &str = "id, user_id, name, query, position, created_at";

#[derive(sqlx::FromRow)]
pub struct ViewRow {
    id: Uuid,
    user_id: Uuid,
    name: String,
    query: String,
    position: i64,
    created_at: DateTime<Utc>,
}

impl ViewRow {
    pub fn into_view(self) -> Result<domain::views::SavedView, StoreError> {
        let query = domain::query::TaskQuery::parse(&self.query)
            .map_err(|e| corrupt("view query", ValidationError::new("query", e.message)))?;
        Ok(domain::views::SavedView {
            id: domain::views::ViewId(self.id),
            user_id: UserId(self.user_id),
            name: domain::views::ViewName::parse(&self.name).map_err(|e| corrupt("view name", e))?,
            query,
            position: self.position,
            created_at: self.created_at,
        })
    }
}

/// The columns a token is listed with; never its hash.
pub const TOKEN_COLUMNS: &str = "id, user_id, name, scopes, created_at, expires_at, last_used_at";

#[derive(sqlx::FromRow)]
pub struct TokenRow {
    id: Uuid,
    user_id: Uuid,
    name: String,
    scopes: String,
    created_at: DateTime<Utc>,
    expires_at: Option<DateTime<Utc>>,
    last_used_at: Option<DateTime<Utc>>,
}

impl TokenRow {
    pub fn into_token(self) -> Result<domain::tokens::ApiToken, StoreError> {
        use domain::tokens::{ApiToken, TokenId, TokenName, TokenScopes};
        Ok(ApiToken {
            id: TokenId(self.id),
            user_id: UserId(self.user_id),
            name: TokenName::parse(&self.name).map_err(|e| corrupt("token name", e))?,
            scopes: TokenScopes::parse(&self.scopes).map_err(|e| corrupt("token scopes", e))?,
            created_at: self.created_at,
            expires_at: self.expires_at,
            last_used_at: self.last_used_at,
        })
    }
}

/// The token columns beside a user's, as the bearer lookup's join names them.
pub const TOKEN_USER_COLUMNS: &str = "t.id AS token_id, t.user_id AS token_user_id, t.name AS token_name, t.scopes, \
     t.created_at AS token_created_at, t.expires_at, t.last_used_at, \
     u.id, u.email, u.display_name, u.time_zone, u.default_reminder, u.created_at";

/// A token joined with its user: what every request with a bearer token reads.
#[derive(sqlx::FromRow)]
pub struct TokenUserRow {
    token_id: Uuid,
    token_user_id: Uuid,
    token_name: String,
    scopes: String,
    token_created_at: DateTime<Utc>,
    expires_at: Option<DateTime<Utc>>,
    last_used_at: Option<DateTime<Utc>>,
    #[sqlx(flatten)]
    user: UserRow,
}

impl TokenUserRow {
    pub fn into_parts(self) -> Result<(domain::tokens::ApiToken, User), StoreError> {
        let token = TokenRow {
            id: self.token_id,
            user_id: self.token_user_id,
            name: self.token_name,
            scopes: self.scopes,
            created_at: self.token_created_at,
            expires_at: self.expires_at,
            last_used_at: self.last_used_at,
        }
        .into_token()?;
        Ok((token, self.user.into_user()?))
    }
}

/// A unique violation on inserting a token: its name is taken (or, against
/// all odds, its secret's hash is).
pub fn token_insert_error(e: sqlx::Error) -> StoreError {
    match &e {
        sqlx::Error::Database(db) if db.is_unique_violation() => {
            let text = format!("{} {}", db.constraint().unwrap_or_default(), db.message());
            StoreError::Conflict { field: if text.contains("token_hash") { "id" } else { "name" } }
        }
        _ => crate::store::map_err(e),
    }
}
