//! What a tool answers: structured JSON (the REST API's shapes) with a short
//! sentence for the model to read, or a tool error (`isError`) that names
//! each bad field, so a model can correct its call. Errors in the arguments
//! are tool errors too, never protocol errors.

use domain::notification::{Notification, NotificationKind};
use domain::reminder::Punctuality;
use domain::ValidationError;
use rmcp::model::{CallToolResult, ContentBlock, JsonObject};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{json, Value};

use crate::web::api::Problem;
use crate::web::api_task_actions::{read_as, sentence};
use crate::web::api_tasks::{instant, TaskListJson};

/// A tool's answer: a sentence, and the JSON it is about.
pub(super) struct Reply {
    summary: String,
    data: Value,
}

impl Reply {
    pub(super) fn new(summary: impl Into<String>, data: &impl Serialize) -> Self {
        Self { summary: summary.into(), data: serde_json::to_value(data).expect("a reply serialises") }
    }
}

/// A tool's failure as the caller may see it: the API's problem, without
/// its HTTP status.
#[derive(Debug)]
pub(super) struct ToolError(Problem);

impl ToolError {
    pub(super) fn invalid(field: &str, message: impl Into<String>) -> Self {
        Self(Problem::invalid(vec![ValidationError::new(field, message)]))
    }

    /// The same failure with its fields named as this tool names them.
    pub(super) fn renamed(mut self, rename: impl Fn(&str) -> Option<&'static str>) -> Self {
        for error in &mut self.0.errors {
            if let Some(name) = rename(&error.field) {
                error.field = name.to_owned();
            }
        }
        self
    }

    /// "Invalid input: due.date: Send the date as …": every field named, so
    /// a model reading the text alone can correct its call.
    fn text(&self) -> String {
        let Problem { title, detail, errors, .. } = &self.0;
        if errors.is_empty() {
            return format!("{title}: {detail}");
        }
        let each: Vec<String> = errors.iter().map(|e| format!("`{}`: {}", e.field, e.message)).collect();
        format!("{title}: {}", each.join(" "))
    }
}

impl From<Problem> for ToolError {
    fn from(problem: Problem) -> Self {
        Self(problem)
    }
}

impl From<domain::ServiceError> for ToolError {
    fn from(e: domain::ServiceError) -> Self {
        Self(e.into())
    }
}

impl From<ValidationError> for ToolError {
    fn from(e: ValidationError) -> Self {
        Self(Problem::invalid(vec![e]))
    }
}

pub(super) type Outcome = Result<Reply, ToolError>;

/// The MCP result of a tool's outcome. The JSON is also sent as text, for
/// clients that read only text.
pub(super) fn result(outcome: Outcome) -> CallToolResult {
    match outcome {
        Ok(Reply { summary, data }) => {
            let text = data.to_string();
            let mut result = CallToolResult::structured(data);
            result.content = vec![ContentBlock::text(summary), ContentBlock::text(text)];
            result
        }
        Err(error) => {
            let text = error.text();
            let Problem { kind, detail, errors, .. } = error.0;
            let kind = kind.trim_start_matches("urn:cadence:problem:").to_owned();
            let mut result = CallToolResult::structured_error(json!({
                "error": kind,
                "message": detail,
                "errors": errors,
            }));
            result.content = vec![ContentBlock::text(text)];
            result
        }
    }
}

/// A tool's arguments as `T`; one of the wrong shape, missing or unknown is
/// a tool error naming it (`due.date`, `limit`).
pub(super) fn arguments<T: DeserializeOwned>(arguments: JsonObject) -> Result<T, ToolError> {
    Ok(read_as(Value::Object(arguments), "arguments")?)
}

/// One argument as `T`, taken out of `arguments`: absent reads as `null`;
/// one of the wrong shape is a tool error naming it.
pub(super) fn argument<T: DeserializeOwned>(arguments: &mut JsonObject, name: &str) -> Result<T, ToolError> {
    let value = arguments.remove(name).unwrap_or(Value::Null);
    serde_json::from_value(value).map_err(|e| ToolError::invalid(name, sentence(&e.to_string())))
}

/// "3 tasks match.", "50 of 120 tasks that match; …": for the summary line.
pub(super) fn list_summary(page: &TaskListJson) -> String {
    let shown = page.items.len();
    let total = if page.total_exact { page.total.to_string() } else { format!("more than {}", page.total) };
    let whole = page.total_exact && shown as u64 == page.total;
    match (shown, &page.next_cursor) {
        (0, _) => "No tasks match.".to_owned(),
        (1, None) if whole => "1 task matches.".to_owned(),
        (_, None) if whole => format!("{shown} tasks match."),
        (_, None) => format!("The last {shown} of the {total} tasks that match."),
        (_, Some(_)) => {
            format!("{shown} of the {total} tasks that match; pass next_cursor as cursor for the next page.")
        }
    }
}

/// A notification: what Cadence told the user, numbered per user.
#[derive(Debug, Serialize)]
pub(super) struct NotificationJson {
    /// Its number, as `snooze_reminder` and `mark_notifications_read` take it.
    id: i64,
    /// `reminder` (it can be snoozed) or `next_instance`.
    kind: &'static str,
    task_id: Option<String>,
    title: String,
    body: String,
    /// A reminder's: `on_time`, `late`, or `missed` (more than a day late).
    punctuality: Option<&'static str>,
    created_at: String,
    read: bool,
}

impl From<&Notification> for NotificationJson {
    fn from(n: &Notification) -> Self {
        Self {
            id: n.seq,
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

impl NotificationJson {
    pub(super) fn is_reminder(&self) -> bool {
        self.kind == NotificationKind::Reminder.as_str()
    }
}
