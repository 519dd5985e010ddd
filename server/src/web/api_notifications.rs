//! The REST API's notifications, `/api/v1/notifications`: what Cadence told
//! the user (a reminder came due, a repeating task's next instance is due
//! today), newest first a page at a time with the unread count; marking one
//! or all read, and snoozing a reminder, as the bell and the notifications
//! page do.

use app::auth::AppState;
use axum::extract::{DefaultBodyLimit, Path, RawQuery};
use axum::{Extension, Json};
use domain::notification::{parse_seq, Notification};
use domain::reminder::{Punctuality, Reminder, Snooze};
use domain::{ServiceError, User, ValidationError};
use serde::{Deserialize, Serialize};
use utoipa::openapi::Object;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::api::{ApiUser, Problem, PROBLEM_JSON, READ_ONLY, UNAUTHENTICATED};
use super::api_task_actions::read_body;
use super::api_tasks::{instant, param, query_pairs, ApiJson, MAX_BODY};
use super::openapi;

/// The tag the notifications' operations are grouped under.
const TAG: &str = "Notifications";

pub fn routes() -> OpenApiRouter {
    let about = "What Cadence told you: reminders that came due and repeating tasks' next instances due today. \
                 Mark them read, and snooze a reminder.";
    OpenApiRouter::with_openapi(openapi::resource(TAG, about))
        .routes(routes!(list))
        .routes(routes!(read_one))
        .routes(routes!(read_all))
        .routes(routes!(snooze))
        .layer(DefaultBodyLimit::max(MAX_BODY))
}

/// A notification.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct NotificationJson {
    /// Its number, your own counter: 1, 2, 3…; it only grows.
    seq: i64,
    #[schema(schema_with = kind_schema)]
    kind: &'static str,
    /// The task it is about, or null.
    #[schema(required = true)]
    task_id: Option<String>,
    /// The task's title.
    title: String,
    /// What happened: "Reminder: at the due time", "Snoozed reminder (late by 3 minutes)".
    body: String,
    #[schema(schema_with = punctuality_schema, required = true)]
    punctuality: Option<&'static str>,
    /// RFC 3339, to the microsecond.
    created_at: String,
    read: bool,
}

fn kind_schema() -> Object {
    let about = "`reminder` (it can be snoozed), or `next_instance`: a repeating task's next one, due today.";
    openapi::one_of(about, &["reminder", "next_instance"], false)
}

fn punctuality_schema() -> Object {
    let about = "A reminder's: `on_time`, `late` (within a day), or `missed` (more than a day late, while Cadence \
                 was down); null for other kinds.";
    openapi::one_of(about, &["on_time", "late", "missed"], true)
}

impl From<&Notification> for NotificationJson {
    fn from(n: &Notification) -> Self {
        Self {
            seq: n.seq,
            kind: n.kind.as_str(),
            task_id: n.task_id.map(|t| t.to_string()),
            title: n.title.clone(),
            body: n.body.clone(),
            punctuality: n.punctuality.map(Punctuality::as_str),
            created_at: instant(n.created_at),
            read: !n.is_unread(),
        }
    }
}

/// A page of notifications.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct NotificationListJson {
    /// Newest first, 30 a page.
    items: Vec<NotificationJson>,
    /// Send it back as `before` for the next (older) page; null on the last.
    #[schema(required = true)]
    next_before: Option<i64>,
    /// How many of all your notifications are unread.
    unread: i64,
}

async fn unread(state: &AppState, user: &User) -> Result<i64, Problem> {
    Ok(state.services.store.unread_notifications(user.id).await.map_err(ServiceError::from)?)
}

/// List your notifications
///
/// Your notifications, newest first, 30 a page, with how many are unread
/// in all. Pass a page's `next_before` back as `before` for the next, older
/// one (it is null on the last).
#[utoipa::path(
    get,
    path = "/api/v1/notifications",
    operation_id = "listNotifications",
    tag = TAG,
    security(("bearer" = ["read"])),
    params(("before" = Option<i64>, Query, minimum = 1,
        description = "The `next_before` of the page before: only notifications numbered below it.")),
    responses(
        (status = 200, description = "A page of your notifications.", body = NotificationListJson),
        (status = 400, description = "The query string is not form-encoded.", body = Problem, content_type = PROBLEM_JSON),
        (status = 401, description = UNAUTHENTICATED, body = Problem, content_type = PROBLEM_JSON),
        (status = 422, description = "`before` is not a notification number.", body = Problem, content_type = PROBLEM_JSON),
    )
)]
async fn list(
    api: ApiUser,
    Extension(state): Extension<AppState>,
    RawQuery(raw): RawQuery,
) -> Result<Json<NotificationListJson>, Problem> {
    let pairs = query_pairs(raw)?;
    let before = match param(&pairs, "before").map(str::trim) {
        None | Some("") => None,
        Some(raw) => {
            Some(parse_seq(raw).map_err(|e| Problem::invalid(vec![ValidationError { field: "before".into(), ..e }]))?)
        }
    };
    let page = state.services.notifications(&api.user, before).await?;
    let next_before = if page.more { page.items.last().map(|n| n.seq) } else { None };
    Ok(Json(NotificationListJson {
        items: page.items.iter().map(NotificationJson::from).collect(),
        next_before,
        unread: unread(&state, &api.user).await?,
    }))
}

/// What marking read did.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct MarkedRead {
    /// How many were unread and are read now (0 for one read already).
    marked: u64,
    /// How many of all your notifications are still unread.
    unread: i64,
}

/// The number in a path: a malformed one names no notification of the caller's, a 404.
fn seq(raw: &str) -> Result<i64, Problem> {
    parse_seq(raw).map_err(|_| Problem::not_found())
}

/// Mark a notification read
///
/// Marks one notification read (one read already stays so) and answers how
/// many are still unread. Your other tabs and devices hear of it.
#[utoipa::path(
    post,
    path = "/api/v1/notifications/{seq}/read",
    operation_id = "readNotification",
    tag = TAG,
    security(("bearer" = ["write"])),
    params(("seq" = i64, Path, description = "The notification's number.")),
    responses(
        (status = 200, description = "Marked read.", body = MarkedRead),
        (status = 401, description = UNAUTHENTICATED, body = Problem, content_type = PROBLEM_JSON),
        (status = 403, description = READ_ONLY, body = Problem, content_type = PROBLEM_JSON),
        (status = 404, description = "No notification of yours has this number.", body = Problem, content_type = PROBLEM_JSON),
    )
)]
async fn read_one(
    api: ApiUser,
    Extension(state): Extension<AppState>,
    Path(raw): Path<String>,
) -> Result<Json<MarkedRead>, Problem> {
    api.require_write()?;
    let seq = seq(&raw)?;
    let svc = &state.services;
    // Marking is scoped to the caller already; this makes a number that is
    // not theirs a 404 rather than a quiet nothing.
    svc.store.notification(api.user.id, seq).await.map_err(ServiceError::from)?;
    let marked = svc.mark_read(&api.user, Some(seq)).await?;
    Ok(Json(MarkedRead { marked, unread: unread(&state, &api.user).await? }))
}

/// Mark every notification read
///
/// Marks all your notifications read.
#[utoipa::path(
    post,
    path = "/api/v1/notifications/read-all",
    operation_id = "readAllNotifications",
    tag = TAG,
    security(("bearer" = ["write"])),
    responses(
        (status = 200, description = "All read.", body = MarkedRead),
        (status = 401, description = UNAUTHENTICATED, body = Problem, content_type = PROBLEM_JSON),
        (status = 403, description = READ_ONLY, body = Problem, content_type = PROBLEM_JSON),
    )
)]
async fn read_all(api: ApiUser, Extension(state): Extension<AppState>) -> Result<Json<MarkedRead>, Problem> {
    api.require_write()?;
    let marked = state.services.mark_read(&api.user, None).await?;
    Ok(Json(MarkedRead { marked, unread: unread(&state, &api.user).await? }))
}

/// The body `POST /api/v1/notifications/{seq}/snooze` takes: `for` or `until`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(examples(json!({ "for": "1h" }), json!({ "until": "2026-12-24 18:00" })))]
pub(crate) struct SnoozeBody {
    #[serde(rename = "for", default)]
    #[schema(schema_with = for_schema, required = false)]
    span: Option<String>,
    /// Instead of `for`: a wall-clock time in your zone, `YYYY-MM-DD HH:MM`, in the future and within a year.
    #[serde(default)]
    until: Option<String>,
}

fn for_schema() -> Object {
    let about = "How long: `10m`, `1h`, or `tomorrow` (09:00 tomorrow in your zone).";
    openapi::one_of(about, &["10m", "1h", "tomorrow"], false)
}

/// A reminder snoozed.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Snoozed {
    /// The notification's number; it is now read.
    seq: i64,
    /// When the task reminds you again (RFC 3339).
    until: String,
    /// The same on your wall clock: "Thu 24 Dec 18:00".
    until_local: String,
}

/// Snooze a reminder
///
/// Its task reminds you again at the time chosen (a later snooze of the same
/// task replaces this one), and the notification is marked read. Only a
/// reminder of a task still open can be snoozed.
#[utoipa::path(
    post,
    path = "/api/v1/notifications/{seq}/snooze",
    operation_id = "snoozeNotification",
    tag = TAG,
    security(("bearer" = ["write"])),
    params(("seq" = i64, Path, description = "The reminder's notification number.")),
    request_body(content = SnoozeBody, content_type = "application/json", description = "`for` or `until`."),
    responses(
        (status = 200, description = "Snoozed: when it will remind you again.", body = Snoozed),
        (status = 400, description = "The body is not JSON.", body = Problem, content_type = PROBLEM_JSON),
        (status = 401, description = UNAUTHENTICATED, body = Problem, content_type = PROBLEM_JSON),
        (status = 403, description = READ_ONLY, body = Problem, content_type = PROBLEM_JSON),
        (status = 404, description = "No notification of yours has this number.", body = Problem, content_type = PROBLEM_JSON),
        (status = 413, description = "The body is over 64 KiB.", body = Problem, content_type = PROBLEM_JSON),
        (status = 415, description = "The body is not sent as `application/json`.", body = Problem, content_type = PROBLEM_JSON),
        (status = 422, description = "`for` or `until` is not right (or both or neither were sent), or `seq` is not \
            a reminder of an open task; `errors` names it.", body = Problem, content_type = PROBLEM_JSON),
    )
)]
async fn snooze(
    api: ApiUser,
    Extension(state): Extension<AppState>,
    Path(raw): Path<String>,
    ApiJson(body): ApiJson,
) -> Result<Json<Snoozed>, Problem> {
    api.require_write()?;
    let seq = seq(&raw)?;
    let SnoozeBody { span, until } = read_body(body)?;
    let choice = match (span.as_deref().map(str::trim), until.as_deref().map(str::trim)) {
        (Some("10m"), None) => Snooze::TenMinutes,
        (Some("1h"), None) => Snooze::OneHour,
        (Some("tomorrow"), None) => Snooze::TomorrowMorning,
        (Some(_), None) => return Err(invalid("for", "Snooze for 10m, 1h or tomorrow, or send `until` instead.")),
        (None, Some(at)) => match at.split_once(' ').map(|(date, time)| Reminder::at(date, time)) {
            Some(Ok(Reminder::At(local))) => Snooze::Until(local),
            _ => return Err(invalid("until", "Write the time as YYYY-MM-DD HH:MM, e.g. 2026-12-24 18:00.")),
        },
        (Some(_), Some(_)) => return Err(invalid("until", "Send `for` or `until`, not both.")),
        (None, None) => return Err(invalid("for", "Say how long to snooze for: 10m, 1h or tomorrow.")),
    };
    let at = state.services.snooze(&api.user, seq, choice).await.map_err(|e| match e {
        ServiceError::Invalid(v) => {
            // The service names its form's fields; this body names them so.
            let field = match v.field.as_str() {
                "snooze_until" => "until",
                "notification" => "seq",
                other => other,
            };
            invalid(field, v.message)
        }
        other => other.into(),
    })?;
    let local = at.with_timezone(&api.user.time_zone.0).naive_local();
    let until_local = domain::task::wall_label(local.date(), Some(local.time()));
    Ok(Json(Snoozed { seq, until: instant(at), until_local }))
}

fn invalid(field: &str, message: impl Into<String>) -> Problem {
    Problem::invalid(vec![ValidationError::new(field, message)])
}

#[cfg(test)]
mod tests {
    use super::*;
    use domain::notification::NotificationKind;

    #[test]
    fn a_notification_shows_its_kind_and_punctuality_by_the_names_the_schema_lists() {
        let n = Notification {
            user_id: domain::UserId(uuid::Uuid::nil()),
            seq: 7,
            kind: NotificationKind::Reminder,
            task_id: None,
            title: "Pay rent".into(),
            body: "Reminder: at the due time".into(),
            punctuality: Some(Punctuality::Missed),
            source_event: uuid::Uuid::nil(),
            created_at: chrono::DateTime::from_timestamp(1_800_000_000, 0).unwrap(),
            read_at: None,
        };
        let json = serde_json::to_value(NotificationJson::from(&n)).unwrap();
        assert_eq!(json["kind"], "reminder");
        assert_eq!(json["punctuality"], "missed");
        assert_eq!(json["read"], false);
        assert_eq!(json["created_at"], "2027-01-15T08:00:00.000000Z");
    }
}
