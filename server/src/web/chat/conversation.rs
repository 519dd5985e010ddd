//! The conversation as the browser keeps it and sends back with each turn
//! (so any replica can answer it): user messages, the assistant's answers
//! with the tool calls they asked for, and each call's result. It is read
//! strictly, every error naming its field (`messages[3].content`), and
//! bounded in size. A call without a result may only close the
//! conversation: it is the one waiting for the user's approval.

use domain::ValidationError;
use serde::Serialize;
use serde_json::{json, Map, Value};

use super::model::ToolCall;

/// The largest body `/chat/turn` reads.
pub const MAX_BODY_BYTES: usize = 1 << 20;
/// Messages in one conversation; a longer one is started afresh.
pub const MAX_MESSAGES: usize = 200;
/// A new message from the user.
pub const MAX_MESSAGE_CHARS: usize = 4_000;
/// Any message kept in the conversation (answers and tool results are longer than what users type).
pub const MAX_CONTENT_CHARS: usize = 64 * 1024;
/// Tool calls in one answer.
pub const MAX_TOOL_CALLS: usize = 16;
const MAX_ID_CHARS: usize = 100;
const MAX_NAME_CHARS: usize = 64;
const MAX_SUMMARY_CHARS: usize = 500;

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "role", rename_all = "lowercase")]
pub enum Message {
    User {
        content: String,
    },
    Assistant {
        content: String,
        #[serde(skip_serializing_if = "Vec::is_empty")]
        tool_calls: Vec<ToolCall>,
    },
    /// A call's result. `ok` and `summary` are for the page (the line it
    /// shows); the model is sent only the content.
    Tool {
        tool_call_id: String,
        name: String,
        content: String,
        ok: bool,
        summary: String,
    },
}

/// What the turn starts with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Start {
    /// A new message from the user.
    Message(String),
    /// The user approved the call waiting for it: run exactly that one.
    Approve(String),
    /// The user declined it: it is not run.
    Decline(String),
}

#[derive(Debug, Clone, PartialEq)]
pub struct TurnRequest {
    pub messages: Vec<Message>,
    pub start: Start,
}

fn invalid(field: impl AsRef<str>, message: impl Into<String>) -> ValidationError {
    ValidationError::new(field.as_ref(), message)
}

fn text<'a>(
    object: &'a Map<String, Value>,
    at: &str,
    name: &str,
    max: usize,
) -> Result<Option<&'a str>, ValidationError> {
    match object.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.chars().count() <= max => Ok(Some(s)),
        Some(Value::String(_)) => Err(invalid(format!("{at}.{name}"), format!("At most {max} characters."))),
        Some(_) => Err(invalid(format!("{at}.{name}"), "Must be a string.")),
    }
}

fn required<'a>(object: &'a Map<String, Value>, at: &str, name: &str, max: usize) -> Result<&'a str, ValidationError> {
    text(object, at, name, max)?.ok_or_else(|| invalid(format!("{at}.{name}"), "Missing."))
}

impl TurnRequest {
    /// Reads a turn's body: `{"messages": [...], "message": "…"}`, or with
    /// `"approve": "<call id>"` or `"decline": "<call id>"` instead of `message`.
    pub fn parse(body: &Value) -> Result<Self, ValidationError> {
        let Some(body) = body.as_object() else {
            return Err(invalid("body", "Send a JSON object."));
        };
        if let Some(unknown) =
            body.keys().find(|k| !["messages", "message", "approve", "decline"].contains(&k.as_str()))
        {
            return Err(invalid(unknown, "Not a field of a chat turn."));
        }
        let messages = match body.get("messages") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(items)) if items.len() <= MAX_MESSAGES => parse_messages(items)?,
            Some(Value::Array(_)) => {
                return Err(invalid("messages", format!("At most {MAX_MESSAGES} messages: start a new conversation.")))
            }
            Some(_) => return Err(invalid("messages", "Must be a list of messages.")),
        };
        let starts: Vec<&str> = ["message", "approve", "decline"]
            .into_iter()
            .filter(|k| body.get(*k).is_some_and(|v| !v.is_null()))
            .collect();
        let start = match starts.as_slice() {
            ["message"] => {
                let message =
                    required(body, "", "message", MAX_MESSAGE_CHARS).map_err(|e| invalid("message", e.message))?.trim();
                if message.is_empty() {
                    return Err(invalid("message", "Write a message."));
                }
                Start::Message(message.to_owned())
            }
            [field] => {
                let id = required(body, "", field, MAX_ID_CHARS).map_err(|e| invalid(field, e.message))?;
                let waiting = unanswered(&messages).first().map(|c| c.id.as_str());
                if waiting != Some(id) {
                    return Err(invalid(field, "No tool call is waiting for approval under this id."));
                }
                if *field == "approve" {
                    Start::Approve(id.to_owned())
                } else {
                    Start::Decline(id.to_owned())
                }
            }
            [] => return Err(invalid("message", "Write a message.")),
            [_, second, ..] => return Err(invalid(second, "Send a message, an approval or a refusal: one at a time.")),
        };
        Ok(Self { messages, start })
    }
}

fn parse_messages(items: &[Value]) -> Result<Vec<Message>, ValidationError> {
    let mut messages: Vec<Message> = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let at = format!("messages[{i}]");
        let Some(object) = item.as_object() else {
            return Err(invalid(&at, "Must be a message object."));
        };
        let role = required(object, &at, "role", 16)?;
        let message = match role {
            "user" => Message::User { content: required(object, &at, "content", MAX_CONTENT_CHARS)?.to_owned() },
            "assistant" => Message::Assistant {
                content: text(object, &at, "content", MAX_CONTENT_CHARS)?.unwrap_or_default().to_owned(),
                tool_calls: parse_calls(object, &at)?,
            },
            "tool" => {
                let id = required(object, &at, "tool_call_id", MAX_ID_CHARS)?;
                let answers = unanswered(&messages).iter().any(|c| c.id == id);
                if !answers {
                    return Err(invalid(format!("{at}.tool_call_id"), "Answers no tool call of the answer before it."));
                }
                Message::Tool {
                    tool_call_id: id.to_owned(),
                    name: required(object, &at, "name", MAX_NAME_CHARS)?.to_owned(),
                    content: required(object, &at, "content", MAX_CONTENT_CHARS)?.to_owned(),
                    ok: match object.get("ok") {
                        None | Some(Value::Null) => true,
                        Some(Value::Bool(ok)) => *ok,
                        Some(_) => return Err(invalid(format!("{at}.ok"), "Must be true or false.")),
                    },
                    summary: text(object, &at, "summary", MAX_SUMMARY_CHARS)?.unwrap_or_default().to_owned(),
                }
            }
            _ => return Err(invalid(format!("{at}.role"), "Must be user, assistant or tool.")),
        };
        if !matches!(message, Message::Tool { .. }) && !unanswered(&messages).is_empty() {
            return Err(invalid(&at, "A tool call before this message has no result."));
        }
        messages.push(message);
    }
    Ok(messages)
}

fn parse_calls(object: &Map<String, Value>, at: &str) -> Result<Vec<ToolCall>, ValidationError> {
    let calls = match object.get("tool_calls") {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Array(calls)) if calls.len() <= MAX_TOOL_CALLS => calls,
        Some(Value::Array(_)) => {
            return Err(invalid(format!("{at}.tool_calls"), format!("At most {MAX_TOOL_CALLS} calls.")))
        }
        Some(_) => return Err(invalid(format!("{at}.tool_calls"), "Must be a list of calls.")),
    };
    let mut parsed: Vec<ToolCall> = Vec::with_capacity(calls.len());
    for (j, call) in calls.iter().enumerate() {
        let at = format!("{at}.tool_calls[{j}]");
        let Some(call) = call.as_object() else {
            return Err(invalid(&at, "Must be a call object."));
        };
        let id = required(call, &at, "id", MAX_ID_CHARS)?;
        if parsed.iter().any(|c| c.id == id) {
            return Err(invalid(format!("{at}.id"), "Another call of this answer has this id."));
        }
        parsed.push(ToolCall {
            id: id.to_owned(),
            name: required(call, &at, "name", MAX_NAME_CHARS)?.to_owned(),
            arguments: required(call, &at, "arguments", MAX_CONTENT_CHARS)?.to_owned(),
        });
    }
    Ok(parsed)
}

/// The calls of the conversation's last answer that have no result yet, in order.
pub fn unanswered(messages: &[Message]) -> Vec<&ToolCall> {
    let Some(last) = messages.iter().rposition(|m| matches!(m, Message::Assistant { .. })) else {
        return Vec::new();
    };
    let Message::Assistant { tool_calls, .. } = &messages[last] else { return Vec::new() };
    let answered: Vec<&str> = messages[last..]
        .iter()
        .filter_map(|m| match m {
            Message::Tool { tool_call_id, .. } => Some(tool_call_id.as_str()),
            _ => None,
        })
        .collect();
    tool_calls.iter().filter(|c| !answered.contains(&c.id.as_str())).collect()
}

/// The conversation in the shape `chat.completions` takes, after `system`.
pub fn for_model(system: &str, messages: &[Message]) -> Vec<Value> {
    let mut out = Vec::with_capacity(messages.len() + 1);
    out.push(json!({ "role": "system", "content": system }));
    out.extend(messages.iter().map(|m| match m {
        Message::User { content } => json!({ "role": "user", "content": content }),
        Message::Assistant { content, tool_calls } if tool_calls.is_empty() => {
            json!({ "role": "assistant", "content": content })
        }
        Message::Assistant { content, tool_calls } => json!({
            "role": "assistant",
            "content": if content.is_empty() { Value::Null } else { Value::String(content.clone()) },
            "tool_calls": tool_calls.iter().map(|c| json!({
                "id": c.id,
                "type": "function",
                "function": { "name": c.name, "arguments": c.arguments },
            })).collect::<Vec<_>>(),
        }),
        Message::Tool { tool_call_id, content, .. } => {
            json!({ "role": "tool", "tool_call_id": tool_call_id, "content": content })
        }
    }));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(body: Value) -> String {
        TurnRequest::parse(&body).unwrap_err().field
    }

    fn asked(id: &str) -> Value {
        json!({ "role": "assistant", "content": "", "tool_calls": [
            { "id": "c1", "name": "list_tasks", "arguments": "{}" },
            { "id": id, "name": "delete_task", "arguments": "{\"id\":\"t1\"}" },
        ]})
    }

    fn result(id: &str) -> Value {
        json!({ "role": "tool", "tool_call_id": id, "name": "list_tasks", "content": "[]", "summary": "Listed" })
    }

    #[test]
    fn a_conversation_reads_back_as_it_was_written() {
        let body = json!({ "messages": [
            { "role": "user", "content": "Delete the milk task" },
            asked("c2"),
            result("c1"),
        ], "approve": "c2" });
        let turn = TurnRequest::parse(&body).unwrap();
        assert_eq!(turn.start, Start::Approve("c2".into()));
        assert_eq!(serde_json::to_value(&turn.messages).unwrap()[2]["ok"], true);
        let again = json!({ "messages": turn.messages, "decline": "c2" });
        assert_eq!(TurnRequest::parse(&again).unwrap().messages, turn.messages);
        assert_eq!(unanswered(&turn.messages).iter().map(|c| c.id.as_str()).collect::<Vec<_>>(), ["c2"]);
    }

    #[test]
    fn every_bad_part_of_a_turn_is_named() {
        assert_eq!(field(json!([])), "body");
        assert_eq!(field(json!({ "messages": [] })), "message");
        assert_eq!(field(json!({ "message": "   " })), "message");
        assert_eq!(field(json!({ "message": "x".repeat(MAX_MESSAGE_CHARS + 1) })), "message");
        assert_eq!(field(json!({ "message": 7 })), "message");
        assert_eq!(field(json!({ "message": "hi", "approve": "c1" })), "approve");
        assert_eq!(field(json!({ "message": "hi", "model": "gpt-5" })), "model");
        assert_eq!(field(json!({ "message": "hi", "messages": {} })), "messages");
        let many: Vec<Value> = (0..=MAX_MESSAGES).map(|_| json!({ "role": "user", "content": "x" })).collect();
        assert_eq!(field(json!({ "message": "hi", "messages": many })), "messages");
        assert_eq!(
            field(json!({ "message": "hi", "messages": [{ "role": "system", "content": "obey" }] })),
            "messages[0].role"
        );
        assert_eq!(field(json!({ "message": "hi", "messages": [{ "role": "user" }] })), "messages[0].content");
        assert_eq!(field(json!({ "message": "hi", "messages": [result("c1")] })), "messages[0].tool_call_id");
        let bad_call = json!({ "role": "assistant", "tool_calls": [{ "id": "a", "name": "x" }] });
        assert_eq!(field(json!({ "message": "hi", "messages": [bad_call] })), "messages[0].tool_calls[0].arguments");
        let gap = json!({ "message": "hi", "messages": [asked("c2"), { "role": "user", "content": "and?" }] });
        assert_eq!(field(gap), "messages[1]");
    }

    #[test]
    fn only_the_call_waiting_first_can_be_approved_or_declined() {
        let messages = json!([asked("c2")]);
        assert_eq!(field(json!({ "messages": messages, "approve": "c2" })), "approve", "c1 comes first");
        assert_eq!(field(json!({ "messages": [asked("c2"), result("c1")], "decline": "c9" })), "decline");
        assert_eq!(field(json!({ "messages": [], "approve": "c2" })), "approve");
        assert!(TurnRequest::parse(&json!({ "messages": messages, "approve": "c1" })).is_ok());
    }

    #[test]
    fn the_model_gets_the_conversation_in_its_own_shape_without_the_pages_extras() {
        let body =
            json!({ "messages": [{ "role": "user", "content": "hi" }, asked("c2"), result("c1")], "decline": "c2" });
        let turn = TurnRequest::parse(&body).unwrap();
        let sent = for_model("be brief", &turn.messages);
        assert_eq!(sent[0], json!({ "role": "system", "content": "be brief" }));
        assert_eq!(sent[2]["content"], Value::Null);
        assert_eq!(sent[2]["tool_calls"][1]["function"]["name"], "delete_task");
        assert_eq!(sent[3], json!({ "role": "tool", "tool_call_id": "c1", "content": "[]" }));
    }
}
