//! The agent loop of one chat turn: ask the model (with the user's tools),
//! stream its text, run the tool calls it makes as the user and feed their
//! results back, and ask again, for a bounded number of rounds. A call to a
//! destructive tool is never run on the model's word: the turn stops there
//! with a `confirm`, and only a later turn carrying the user's approval of
//! that very call runs it. Everything the user sees is a `ChatEvent`; the
//! last one (`done`, `confirm` or `error`) carries the conversation as it
//! now stands, for the browser to send back with the next turn.

use chrono::{DateTime, Utc};
use domain::User;
use serde::Serialize;
use serde_json::{json, Map, Value};

use super::conversation::{for_model, unanswered, Message, Start, MAX_CONTENT_CHARS};
use super::model::{ModelClient, ToolCall};
use super::summary;
use super::tools::{ToolOutcome, ToolSpec, Tools};

/// Model requests in one turn: enough to look something up, act, and answer.
pub const MAX_ROUNDS: usize = 8;

/// A tool result longer than this is cut before the model reads it.
const MAX_RESULT_CHARS: usize = 16 * 1024;

/// What the page hears during a turn.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ChatEvent {
    /// A piece of the assistant's answer.
    Text {
        delta: String,
    },
    /// A tool call starting.
    ToolCall {
        id: String,
        name: String,
        arguments: Value,
        summary: String,
    },
    /// A tool call's end; `ok` is false when the tool refused.
    ToolResult {
        id: String,
        name: String,
        ok: bool,
        summary: String,
    },
    /// A destructive call waiting for the user: nothing has been done.
    Confirm {
        id: String,
        name: String,
        arguments: Value,
        summary: String,
        messages: Vec<Message>,
    },
    Done {
        messages: Vec<Message>,
    },
    Error {
        message: String,
        messages: Vec<Message>,
    },
}

/// Where the events go; false once nobody listens any more.
pub type Emit<'a> = dyn FnMut(ChatEvent) -> bool + Send + 'a;

/// One turn's fixed parts.
pub struct Turn<'a> {
    pub model: &'a ModelClient,
    pub tools: &'a dyn Tools,
    pub user: &'a User,
    pub now: DateTime<Utc>,
}

/// The result of `Not approved` calls, as the model reads it.
const NOT_RUN: &str = "Not run: the user did not approve this call, so nothing was changed.";

enum Flow {
    Continue,
    Stop,
}

impl Turn<'_> {
    /// The system prompt: who the user is, and their day.
    pub fn system_prompt(&self) -> String {
        let local = self.now.with_timezone(&self.user.time_zone.0);
        format!(
            "You are the assistant in Cadence, a task manager. You act for {name}, as them, through the tools \
             you are given, on their own tasks and notifications only. Their time zone is {zone}; there it is \
             now {date} (a {weekday}), {time}. Read every date and time they mention in that zone, and say \
             dates back to them the same way. Look things up with the tools rather than guess; when a change \
             needs a task's id, find it first. Deleting asks the user to confirm, so call delete_task when \
             they ask for a deletion. Never say you did something that no tool result shows. Keep answers \
             short and plain.",
            name = self.user.display_name.as_str(),
            zone = self.user.time_zone.name(),
            date = local.format("%Y-%m-%d"),
            weekday = local.format("%A"),
            time = local.format("%H:%M"),
        )
    }

    fn today(&self) -> chrono::NaiveDate {
        self.now.with_timezone(&self.user.time_zone.0).date_naive()
    }

    /// Runs the turn to its end, telling `emit` everything that happens.
    pub async fn run(&self, mut messages: Vec<Message>, start: Start, emit: &mut Emit<'_>) {
        let specs = match self.tools.list().await {
            Ok(specs) => specs,
            Err(e) => {
                tracing::error!(error = %e, "the chat could not list the task tools");
                let message = "Your tasks cannot be reached right now. Try again in a moment.".to_owned();
                emit(ChatEvent::Error { message, messages });
                return;
            }
        };
        let mut approved = None;
        match start {
            Start::Message(text) => {
                // A call left waiting when the user wrote something else was not approved.
                let waiting: Vec<ToolCall> = unanswered(&messages).into_iter().cloned().collect();
                for call in waiting {
                    let summary = summary::not_run(&call.name, false);
                    messages.push(tool_message(&call, NOT_RUN, false, summary));
                }
                messages.push(Message::User { content: text });
            }
            Start::Approve(id) => approved = Some(id),
            Start::Decline(id) => {
                // `TurnRequest::parse` has checked that this call is the one waiting.
                let Some(call) = unanswered(&messages).first().map(|c| (*c).clone()).filter(|c| c.id == id) else {
                    let message = "Nothing was waiting for approval under this id.".to_owned();
                    emit(ChatEvent::Error { message, messages });
                    return;
                };
                let summary = summary::not_run(&call.name, true);
                messages.push(tool_message(&call, NOT_RUN, false, summary.clone()));
                let event = ChatEvent::ToolResult { id: call.id, name: call.name, ok: false, summary };
                if !emit(event) {
                    return;
                }
            }
        }
        if let Flow::Stop = self.run_calls(&specs, &mut messages, approved.as_deref(), emit).await {
            return;
        }
        let tools: Vec<Value> = specs
            .iter()
            .map(|s| {
                json!({ "type": "function", "function": {
                    "name": s.name, "description": s.description, "parameters": s.input_schema,
                }})
            })
            .collect();
        let system = self.system_prompt();
        for _ in 0..MAX_ROUNDS {
            let mut listening = true;
            let asked = self
                .model
                .complete(for_model(&system, &messages), &tools, |delta| {
                    listening &= emit(ChatEvent::Text { delta: delta.to_owned() });
                })
                .await;
            if !listening {
                return;
            }
            let completion = match asked {
                Ok(completion) => completion,
                Err(e) => {
                    emit(ChatEvent::Error { message: e.to_string(), messages });
                    return;
                }
            };
            let calls = !completion.tool_calls.is_empty();
            messages.push(Message::Assistant { content: completion.text, tool_calls: completion.tool_calls });
            if !calls {
                emit(ChatEvent::Done { messages });
                return;
            }
            if let Flow::Stop = self.run_calls(&specs, &mut messages, None, emit).await {
                return;
            }
        }
        let message = "That took more steps than one message may. Ask again, perhaps one thing at a time.".to_owned();
        emit(ChatEvent::Error { message, messages });
    }

    /// Runs the calls of the last answer that have no result yet, in order,
    /// stopping at a destructive one unless it is the one `approved`.
    async fn run_calls(
        &self,
        specs: &[ToolSpec],
        messages: &mut Vec<Message>,
        mut approved: Option<&str>,
        emit: &mut Emit<'_>,
    ) -> Flow {
        while let Some(call) = unanswered(messages).first().map(|c| (*c).clone()) {
            let spec = specs.iter().find(|s| s.name == call.name);
            let arguments = parse_arguments(&call.arguments);
            let shown = arguments.as_ref().map_or(Value::Null, |a| Value::Object(a.clone()));
            if spec.is_some_and(|s| s.destructive) && arguments.is_ok() && approved != Some(call.id.as_str()) {
                let title = self.title_of(specs, &shown).await;
                let summary = summary::confirm(&call.name, title.as_deref());
                let messages = messages.clone();
                emit(ChatEvent::Confirm { id: call.id, name: call.name, arguments: shown, summary, messages });
                return Flow::Stop;
            }
            // An approval is for exactly one call.
            approved = None;
            let summary = summary::starting(&call.name, &shown);
            let event =
                ChatEvent::ToolCall { id: call.id.clone(), name: call.name.clone(), arguments: shown.clone(), summary };
            if !emit(event) {
                return Flow::Stop;
            }
            let outcome = match (spec, arguments) {
                (None, _) => ToolOutcome::refused(format!("There is no tool named {}.", call.name)),
                (_, Err(why)) => ToolOutcome::refused(why),
                (Some(_), Ok(arguments)) => match self.tools.call(&call.name, arguments).await {
                    Ok(outcome) => outcome,
                    Err(e) => {
                        tracing::error!(error = %e, tool = %call.name, "a chat tool call could not be made");
                        ToolOutcome::refused("The tools could not be reached, so nothing was done.")
                    }
                },
            };
            let summary = summary::finished(&call.name, &shown, &outcome, self.today());
            let ok = !outcome.is_error;
            messages.push(tool_message(&call, &outcome.text, ok, summary.clone()));
            if !emit(ChatEvent::ToolResult { id: call.id, name: call.name, ok, summary }) {
                return Flow::Stop;
            }
        }
        Flow::Continue
    }

    /// The title of the task a call names by id, read through `get_task`
    /// (which changes nothing), so the approval question can say which task.
    async fn title_of(&self, specs: &[ToolSpec], arguments: &Value) -> Option<String> {
        let reader = specs.iter().find(|s| s.name == "get_task" && !s.destructive)?;
        let key = ["id", "task_id"].into_iter().find(|k| arguments.get(*k).is_some_and(Value::is_string))?;
        let mut by_id = Map::new();
        by_id.insert(key.to_owned(), arguments[key].clone());
        let outcome = self.tools.call(&reader.name, by_id).await.ok().filter(|o| !o.is_error)?;
        summary::title_of(&outcome.json?).map(str::to_owned)
    }
}

/// A call's arguments, which must be a JSON object (or nothing).
fn parse_arguments(raw: &str) -> Result<Map<String, Value>, String> {
    if raw.trim().is_empty() {
        return Ok(Map::new());
    }
    match serde_json::from_str::<Value>(raw) {
        Ok(Value::Object(arguments)) => Ok(arguments),
        _ => Err("The arguments were not a JSON object, so nothing was done. Call the tool again with valid JSON."
            .to_owned()),
    }
}

fn tool_message(call: &ToolCall, content: &str, ok: bool, summary: String) -> Message {
    let content = if content.chars().count() > MAX_RESULT_CHARS {
        let cut: String = content.chars().take(MAX_RESULT_CHARS).collect();
        format!("{cut}\n[cut: the result was longer than {MAX_RESULT_CHARS} characters]")
    } else {
        content.to_owned()
    };
    debug_assert!(content.chars().count() <= MAX_CONTENT_CHARS);
    Message::Tool { tool_call_id: call.id.clone(), name: call.name.clone(), content, ok, summary }
}
