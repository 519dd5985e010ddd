//! The MCP tools' registry: each tool's name, schema, description and
//! hints, and the one place that runs them, where a tool that changes
//! something is refused to a token without the write scope. The tools
//! themselves are thin calls onto the services, in `tasks` and
//! `notifications`.

use std::sync::LazyLock;

use rmcp::handler::server::tool::schema_for_input;
use rmcp::model::{CallToolResult, JsonObject, Tool, ToolAnnotations};
use schemars::JsonSchema;

use super::notifications::{self, ListNotifications, MarkRead, SnoozeReminder};
use super::reply;
use super::tasks::{self, AddTask, DeleteTask, ListTasks, TaskRef, UpdateTask};
use super::CadenceMcp;
use crate::web::api::Problem;

/// Every tool, as `tools/list` shows it.
pub(super) fn all() -> &'static [Tool] {
    static TOOLS: LazyLock<Vec<Tool>> = LazyLock::new(|| {
        vec![
            tool::<AddTask>("add_task", "Add a task", tasks::ADD_TASK, Effect::Adds),
            tool::<ListTasks>("list_tasks", "List tasks", tasks::LIST_TASKS, Effect::Reads),
            tool::<TaskRef>("get_task", "Read a task", tasks::GET_TASK, Effect::Reads),
            tool::<UpdateTask>("update_task", "Change a task", tasks::UPDATE_TASK, Effect::Changes),
            tool::<TaskRef>("complete_task", "Complete a task", tasks::COMPLETE_TASK, Effect::Changes),
            tool::<TaskRef>("reopen_task", "Reopen a task", tasks::REOPEN_TASK, Effect::Changes),
            tool::<DeleteTask>("delete_task", "Delete a task", tasks::DELETE_TASK, Effect::Destroys),
            tool::<SnoozeReminder>("snooze_reminder", "Snooze a reminder", notifications::SNOOZE, Effect::Adds),
            tool::<ListNotifications>("list_notifications", "List notifications", notifications::LIST, Effect::Reads),
            tool::<MarkRead>(
                "mark_notifications_read",
                "Mark notifications read",
                notifications::MARK_READ,
                Effect::Changes,
            ),
        ]
    });
    &TOOLS
}

/// What a tool does to the user's data, as its annotations tell a client
/// (which asks the user to confirm a destructive one).
enum Effect {
    Reads,
    /// Makes something new each time it is called.
    Adds,
    /// Sets a state: calling it again with the same arguments changes nothing more.
    Changes,
    Destroys,
}

fn tool<T: JsonSchema + 'static>(name: &'static str, title: &str, description: &'static str, effect: Effect) -> Tool {
    // The schemas are written beside the tools: one that is not an object is
    // a mistake there, caught by the tests that list the tools.
    let schema = schema_for_input::<T>().unwrap_or_else(|e| panic!("the input schema of {name}: {e}"));
    let hints = ToolAnnotations::with_title(title).open_world(false);
    let hints = match effect {
        Effect::Reads => hints.read_only(true),
        Effect::Adds => hints.read_only(false).destructive(false).idempotent(false),
        Effect::Changes => hints.read_only(false).destructive(false).idempotent(true),
        Effect::Destroys => hints.read_only(false).destructive(true).idempotent(true),
    };
    Tool::new(name, description, schema).with_title(title).with_annotations(hints)
}

/// Runs the tool `name`, or `None` when there is none by that name.
pub(super) async fn call(server: &CadenceMcp, name: &str, args: JsonObject) -> Option<CallToolResult> {
    let tool = all().iter().find(|t| t.name == name)?;
    // The hint a client reads is the rule the server keeps: one list says which tools write.
    let reads_only = tool.annotations.as_ref().and_then(|a| a.read_only_hint) == Some(true);
    if !reads_only && !server.api.scopes.can_write() {
        return Some(reply::result(Err(Problem::insufficient_scope().into())));
    }
    let outcome = match name {
        "add_task" => tasks::add_task(server, args).await,
        "list_tasks" => tasks::list_tasks(server, args).await,
        "get_task" => tasks::get_task(server, args).await,
        "update_task" => tasks::update_task(server, args).await,
        "complete_task" => tasks::set_completed(server, args, true).await,
        "reopen_task" => tasks::set_completed(server, args, false).await,
        "delete_task" => tasks::delete_task(server, args).await,
        "snooze_reminder" => notifications::snooze_reminder(server, args).await,
        "list_notifications" => notifications::list_notifications(server, args).await,
        "mark_notifications_read" => notifications::mark_read(server, args).await,
        _ => return None,
    };
    Some(reply::result(outcome))
}
