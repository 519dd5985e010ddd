//! The task tools: add (by a sentence, read as the quick-add box reads it,
//! or by the REST API's fields, read by its `TaskFields`), list with the
//! list page's search, read, change (a true patch), complete and reopen
//! (through `set_completed`, as the list's checkbox) and delete (with the
//! scope of a repeating task). Each answers the REST API's task JSON.

use std::borrow::Cow;

use domain::quick_add::{self, PartKind};
use domain::services::DeleteScope;
use domain::task::TaskInput;
use domain::{recurrence, Due, Task, TaskDraft, TimeZone};
use rmcp::model::JsonObject;
use schemars::{json_schema, JsonSchema, Schema, SchemaGenerator};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::reply::{self, Outcome, Reply, ToolError};
use super::CadenceMcp;
use crate::web::api_tasks::{invalid, list_page, renamed, task_id, ListAsk, TaskFields, TaskJson, TaskListJson};

/// A task's id: malformed, it names no task of the caller's, like an unknown one.
fn id_of(raw: &str) -> Result<domain::TaskId, ToolError> {
    Ok(task_id(raw)?)
}

/// "“Pay rent”, high priority, due Fri 1 Jan 2027, 09:00, every month on day 1": for the summary line.
fn describe(task: &Task, zone: TimeZone) -> String {
    let mut parts = vec![format!("\u{201c}{}\u{201d}", task.title.as_str())];
    if task.priority != domain::Priority::None {
        parts.push(format!("{} priority", task.priority.as_str()));
    }
    if let Some(due) = &task.due {
        parts.push(format!("due {}", due.label(zone)));
    }
    if let Some(repeat) = &task.repeat {
        // "Every week on Monday", within the sentence.
        let rule = repeat.describe();
        let mut chars = rule.chars();
        let first: String = chars.next().map(|c| c.to_lowercase().collect()).unwrap_or_default();
        parts.push(first + chars.as_str());
    }
    match task.reminders.len() {
        0 => {}
        1 => parts.push("1 reminder".to_owned()),
        n => parts.push(format!("{n} reminders")),
    }
    if task.is_completed() {
        parts.push("done".to_owned());
    }
    parts.join(", ")
}

const TEXT: &str = "The task in one English sentence, read exactly as the app's quick-add box reads it: a due date \
and time (\"tomorrow at 5pm\", \"on friday\", \"dec 24\"), a repeat (\"every 2 weeks on monday\", \"every weekday at \
9am\", \"every month on the 1st\"), reminders (\"remind me 1 day before\"), tags (\"#home\") and a priority \
(\"!high\") are taken out, and the rest is the title. Put words in double quotes to keep them in the title. Example: \
\"Pay rent every month on the 1st at 9am #home !high remind me 1 day before\". Send either text or the task's \
fields, not both.";

pub(super) const ADD_TASK: &str = "Adds a task for the user and returns it. Either give `text`, one sentence read \
the way the app's quick-add box reads it, or give the task's fields (`title`, required, and any of the others). \
Dates and times are wall-clock times in the user's time zone.";

pub(super) const UPDATE_TASK: &str = "Changes the fields given of one task and returns it; fields left out stay as \
they are, and `null` clears one. Completing or reopening is done with complete_task and reopen_task.";

/// The task fields `add_task` and `update_task` take, as `POST` and `PATCH
/// /api/v1/tasks` do; `null` clears one (in an update).
fn task_field_schemas() -> JsonObject {
    let properties = json!({
        "title": {
            "type": "string",
            "description": "The task's title: one line, 1 to 200 characters.",
            "examples": ["Pay rent"]
        },
        "description": {
            "type": ["string", "null"],
            "description": "Notes, in plain text or Markdown, up to 10,000 characters."
        },
        "priority": {
            "type": ["string", "null"],
            "enum": ["none", "low", "medium", "high", "urgent", null],
            "description": "How pressing it is; none when left out."
        },
        "tags": {
            "type": ["array", "null"],
            "items": { "type": "string" },
            "description": "Tags, without #, at most 20: letters, digits, - and _ (spaces become -), lower-cased.",
            "examples": [["home", "money"]]
        },
        "due": {
            "type": ["object", "null"],
            "description": "When it is due, on the user's wall clock: a date, and a time or none (due that day).",
            "properties": {
                "date": { "type": "string", "format": "date", "description": "YYYY-MM-DD, e.g. 2026-12-24." },
                "time": {
                    "type": ["string", "null"],
                    "description": "HH:MM on a 24-hour clock, e.g. 09:00; null or left out for none."
                }
            },
            "required": ["date"],
            "additionalProperties": false
        },
        "repeat": {
            "type": ["string", "null"],
            "description": "How it repeats (it then needs a due date, its first occurrence): an RRULE, e.g. \
                FREQ=WEEKLY;BYDAY=MO,WE or FREQ=MONTHLY;BYMONTHDAY=1;COUNT=12 (EXDATE lines of days to skip may \
                follow on new lines, e.g. EXDATE:20261225), or words as the app reads them, e.g. \"every 2 weeks \
                on monday\", \"every weekday\", \"every month on the 1st\". When the task has no due date, words \
                give it the first occurrence. null stops the repeat. Completing an instance makes the next one."
        },
        "repeat_from": {
            "type": ["string", "null"],
            "enum": ["schedule", "completion", null],
            "description": "What the next instance counts from: its schedule (the default) or the day it is completed."
        },
        "reminders": {
            "type": ["array", "null"],
            "items": { "type": "string" },
            "description": "Up to 10 reminders: before the due time as \"at due\", \"15m\", \"2h\", \"1d\", \"1w\", \
                or at a wall-clock time as \"2026-12-24 18:00\".",
            "examples": [["1d", "at due"]]
        }
    });
    match properties {
        Value::Object(map) => map,
        _ => unreachable!("a JSON object literal"),
    }
}

/// `add_task`'s arguments: read by [`TaskFields::read`], so its schema is written out.
pub(super) struct AddTask;

impl JsonSchema for AddTask {
    fn schema_name() -> Cow<'static, str> {
        "AddTask".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        let mut properties = task_field_schemas();
        properties.insert("text".to_owned(), json!({ "type": "string", "description": TEXT }));
        json_schema!({ "type": "object", "properties": properties, "additionalProperties": false })
    }
}

/// `update_task`'s arguments: read by [`TaskFields::read`], so its schema is written out.
pub(super) struct UpdateTask;

impl JsonSchema for UpdateTask {
    fn schema_name() -> Cow<'static, str> {
        "UpdateTask".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        let mut properties = task_field_schemas();
        properties.insert("id".to_owned(), json!({ "type": "string", "description": ID }));
        json_schema!({
            "type": "object",
            "properties": properties,
            "required": ["id"],
            "additionalProperties": false
        })
    }
}

const ID: &str = "The task's id, a UUID, as list_tasks and add_task give it.";

pub(super) async fn add_task(s: &CadenceMcp, mut args: JsonObject) -> Outcome {
    let (svc, user) = (&s.state.services, &s.api.user);
    let task = match reply::argument::<Option<String>>(&mut args, "text")? {
        Some(text) => {
            if let Some(other) = args.keys().next() {
                return Err(ToolError::invalid(
                    "text",
                    format!("Send either text or the task's fields, not both (`{other}` was sent too)."),
                ));
            }
            let read = quick_add::understand(&text, s.now_local());
            if read.input.title.trim().is_empty() && !read.parts.is_empty() {
                return Err(ToolError::invalid(
                    "text",
                    format!(
                        "Add a title: all of \u{201c}{}\u{201d} was read as the task's details. Put words in \
                         double quotes to keep them in the title.",
                        text.trim()
                    ),
                ));
            }
            // Whatever the service refuses came from the one sentence.
            svc.create_task(user, &read.input).await.map_err(|e| ToolError::from(e).renamed(|_| Some("text")))?
        }
        None => {
            repeat_words(s, &mut args, None)?;
            let fields = TaskFields::read(Value::Object(args), false)?;
            let input = fields.patch.apply(TaskInput::default());
            // Parsed once here only to name every bad field at once; the service parses what it writes.
            TaskDraft::parse_each(&input, s.zone()).map_err(|errors| invalid(errors.into_iter()))?;
            svc.create_task(user, &input).await.map_err(renamed)?
        }
    };
    Ok(Reply::new(format!("Added {}.", describe(&task, s.zone())), &TaskJson::from(&task)))
}

/// A `repeat` given as words ("every 2 weeks on monday"), read as the
/// quick-add box reads them, becomes the RRULE the API's field takes, counted
/// from the task's due date (`current`'s, unless `args` gives one; when
/// there is none, the words give it one). RRULE lines, `null` and anything
/// not read as a repeat are left for the field's own parser to take or name.
fn repeat_words(s: &CadenceMcp, args: &mut JsonObject, current: Option<Due>) -> Result<(), ToolError> {
    let Some(Value::String(text)) = args.get("repeat") else { return Ok(()) };
    if text.trim().is_empty() || text.contains('=') || recurrence::parse_lines(text).is_ok() {
        return Ok(());
    }
    let read = quick_add::understand(text, s.now_local());
    let only_a_repeat = read.input.title.trim().is_empty()
        && read.parts.iter().any(|p| p.kind == PartKind::Repeat)
        && read.parts.iter().all(|p| matches!(p.kind, PartKind::Repeat | PartKind::Due | PartKind::Time));
    if !only_a_repeat {
        return Err(ToolError::invalid(
            "repeat",
            "Give an RRULE such as FREQ=WEEKLY;BYDAY=MO, or words such as \u{201c}every 2 weeks on monday\u{201d}.",
        ));
    }
    let zone = s.zone();
    let due = match args.get("due") {
        Some(Value::Object(due)) => {
            let text = |name: &str| due.get(name).and_then(Value::as_str).unwrap_or("").to_owned();
            match Due::parse(&text("date"), &text("time"), zone) {
                Ok(due) => due,
                // The due field's own parser names it; the repeat waits for a date it can count from.
                Err(_) => return Ok(()),
            }
        }
        Some(_) => None,
        None => current,
    };
    let due = match due {
        Some(due) => due,
        None if args.get("due").is_some() => return Ok(()),
        None => {
            let Ok(Some(due)) = Due::parse(&read.input.due_date, &read.input.due_time, zone) else { return Ok(()) };
            let time = (!read.input.due_time.is_empty()).then(|| read.input.due_time.clone());
            args.insert("due".to_owned(), json!({ "date": read.input.due_date, "time": time }));
            due
        }
    };
    // The words' own parts (every, days, end) are all this one field.
    let draft = read.input.repeat.parse(Some(&due)).map_err(|e| ToolError::invalid("repeat", e.message))?;
    let Some(draft) = draft else { return Ok(()) };
    args.insert("repeat".to_owned(), Value::String(format!("RRULE:{}", draft.rule)));
    if !read.input.repeat.repeat_from.is_empty() && !args.contains_key("repeat_from") {
        args.insert("repeat_from".to_owned(), Value::String(read.input.repeat.repeat_from.clone()));
    }
    Ok(())
}

pub(super) const LIST_TASKS: &str = "Lists the user's tasks, a page at a time, in the app's order: open before done, \
then the soonest due, then the most pressing priority, then the newest. Each item is a summary (get_task reads every \
field). Search and filter with `q`.";

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct ListTasks {
    /// Search and filters in the app's search language, parts separated by spaces (empty: every open task).
    /// Words find tasks with a word starting with them in the title, description or tags, ignoring case and
    /// accents ("quotes" keep a phrase together). `#work` tagged work; `#work,home` either; `-#someday` not
    /// tagged someday. `!high` or `!high,urgent` by priority (none, low, medium, high, urgent). `due:today`,
    /// `due:tomorrow`, `due:week` (this Monday to Sunday), `due:<7d` (the next 7 days), `due:none`,
    /// `due:2026-12-01..2026-12-31` (either end may be left out). `is:overdue`; `is:open` (the default),
    /// `is:done`, `is:all`; `is:recurring`, `-is:recurring`; `has:reminder`, `-has:reminder`. `sort:due`,
    /// `sort:priority`, `sort:created`, `sort:updated` or `sort:title`, with `-` for descending
    /// (`sort:-updated`). Example: `#work !high due:week`.
    #[serde(default)]
    q: Option<String>,
    /// How many tasks a page holds: 1 to 1000; 50 when left out.
    #[serde(default)]
    limit: Option<u32>,
    /// Where the page starts: the `next_cursor` of the page before; left out for the first page.
    #[serde(default)]
    cursor: Option<String>,
}

pub(super) async fn list_tasks(s: &CadenceMcp, args: JsonObject) -> Outcome {
    let ListTasks { q, limit, cursor } = reply::arguments(args)?;
    let limit = limit.map(|n| n.to_string());
    let ask = ListAsk::read(q.as_deref(), limit.as_deref(), cursor.as_deref())?;
    let page = TaskListJson::from(&*list_page(&s.state, &s.api.user, &ask).await?.page);
    Ok(Reply::new(reply::list_summary(&page), &page))
}

/// The task a tool acts on.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct TaskRef {
    /// The task's id, a UUID, as list_tasks and add_task give it.
    id: String,
}

pub(super) const GET_TASK: &str = "Reads one task with every field: its description, priority, tags, due date and \
time, repeat rule (as an RRULE and as a sentence), reminders and completion.";

pub(super) async fn get_task(s: &CadenceMcp, args: JsonObject) -> Outcome {
    let TaskRef { id } = reply::arguments(args)?;
    let task = s.state.services.task(&s.api.user, id_of(&id)?).await?;
    Ok(Reply::new(format!("{}.", describe(&task, s.zone())), &TaskJson::from(&task)))
}

pub(super) async fn update_task(s: &CadenceMcp, mut args: JsonObject) -> Outcome {
    let (svc, user) = (&s.state.services, &s.api.user);
    let Some(id) = reply::argument::<Option<String>>(&mut args, "id")? else {
        return Err(ToolError::invalid("id", ID));
    };
    if args.contains_key("completed") {
        return Err(ToolError::invalid("completed", "Complete or reopen a task with complete_task or reopen_task."));
    }
    let id = id_of(&id)?;
    let current = svc.task(user, id).await?;
    repeat_words(s, &mut args, current.due)?;
    let patch = TaskFields::read(Value::Object(args), true)?.patch;
    if patch.is_empty() {
        return Ok(Reply::new(
            format!("Nothing to change: {}.", describe(&current, s.zone())),
            &TaskJson::from(&current),
        ));
    }
    // Checked against the task as it is only to name every bad field at
    // once; the service applies the patch to the task under its lock.
    TaskDraft::parse_each(&patch.apply(TaskInput::of(&current)), s.zone())
        .map_err(|errors| invalid(errors.into_iter()))?;
    let task = svc.patch_task(user, id, &patch, None).await.map_err(renamed)?;
    Ok(Reply::new(format!("Changed {}.", describe(&task, s.zone())), &TaskJson::from(&task)))
}

pub(super) const COMPLETE_TASK: &str = "Marks a task done and returns it. A repeating task keeps its rule, and its \
next instance is created (list_tasks shows it a moment later). Completing a done task changes nothing.";

pub(super) const REOPEN_TASK: &str = "Marks a done task open again and returns it; its reminders still ahead are set \
again. Reopening an open task changes nothing.";

/// Completes or reopens, as the list's checkbox does (`set_completed`), so a
/// repeating task's next instance follows and its rule stays.
pub(super) async fn set_completed(s: &CadenceMcp, args: JsonObject, completed: bool) -> Outcome {
    let TaskRef { id } = reply::arguments(args)?;
    let (svc, zone) = (&s.state.services, s.zone());
    let task = svc.set_completed(&s.api.user, id_of(&id)?, completed, None).await?;
    let mut summary = format!("{} {}.", if completed { "Completed" } else { "Reopened" }, describe(&task, zone));
    let next = task
        .repeat
        .as_ref()
        .zip(task.due)
        .zip(task.completed_at)
        .and_then(|((repeat, due), done)| repeat.next(&due, done.with_timezone(&due.zone.0).date_naive()));
    if let Some((_, occurrence)) = next {
        summary.push_str(&format!(" Its next instance is due {}.", occurrence.due.label(zone)));
    }
    Ok(Reply::new(summary, &TaskJson::from(&task)))
}

pub(super) const DELETE_TASK: &str = "Deletes a task for good. For an instance of a repeating task, `scope` says \
what goes with it: `this` (the default; the series goes on, with its next instance in its place) or `following` \
(this and every later instance, and the series ends). Returns the task deleted.";

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct DeleteTask {
    /// The task's id, a UUID, as list_tasks and add_task give it.
    id: String,
    /// For a repeating task: `this` (the default) deletes this instance only and the series goes on;
    /// `following` deletes it and every later instance, ending the series.
    #[serde(default)]
    #[schemars(extend("enum" = ["this", "following"]))]
    scope: Option<String>,
}

/// A task deleted, and what went with it.
#[derive(Debug, Serialize)]
struct Deleted {
    task: TaskJson,
    scope: &'static str,
}

pub(super) async fn delete_task(s: &CadenceMcp, args: JsonObject) -> Outcome {
    let DeleteTask { id, scope } = reply::arguments(args)?;
    let id = id_of(&id)?;
    let scope = DeleteScope::parse(scope.as_deref().unwrap_or(""))?;
    let task = s.state.services.delete_task(&s.api.user, id, scope, None).await?;
    let title = describe(&task, s.zone());
    let (summary, scope) = match (task.repeat.is_some(), scope) {
        (false, DeleteScope::This) => (format!("Deleted {title}."), "this"),
        (true, DeleteScope::This) => (format!("Deleted this instance of {title}; the series goes on."), "this"),
        (_, DeleteScope::Following) => (format!("Deleted {title} and every later instance."), "following"),
    };
    Ok(Reply::new(summary, &Deleted { task: TaskJson::from(&task), scope }))
}
