//! The MCP server at `/mcp`, driven by rmcp's own client over streamable
//! HTTP with a personal access token: the ten tools and their effects, seen
//! through the REST API and the services; tool errors that name the field;
//! the 401 before MCP, a read-only token refused every change, another
//! user's task not found; saved views as resources; one client whose
//! requests alternate between two replicas; and the same server in-process
//! over a duplex pipe, as the AI chat uses it.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use chrono::{NaiveDate, Utc};
use reqwest::header::{ACCEPT, CONTENT_TYPE, ORIGIN, WWW_AUTHENTICATE};
use reqwest::StatusCode;
use rmcp::model::{
    CallToolRequestParams, CallToolResult, ClientConfig, ProtocolVersion, ReadResourceRequestParams, ResourceContents,
};
use rmcp::service::{RoleClient, RunningService};
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::{ClientLifecycleMode, ClientServiceExt as _, ServiceExt as _};
use serde_json::{json, Value};

use crate::helpers::{client, eventually, settle, spawn_app, start_server_process, TestApp, TestDb};
use crate::tokens::new_token;

type Client = RunningService<RoleClient, ClientConfig>;

/// An MCP client of the server at `address` that sends `token`, after the
/// `initialize` handshake most clients make today.
async fn connect(address: &str, token: &str) -> Client {
    ClientConfig::default().serve(transport(address, token)).await.expect("the MCP client initializes")
}

fn transport(address: &str, token: &str) -> StreamableHttpClientTransport<reqwest::Client> {
    StreamableHttpClientTransport::from_config(
        StreamableHttpClientTransportConfig::with_uri(format!("{address}/mcp")).auth_header(token),
    )
}

/// A user signed up on `app` and an MCP client with a token of theirs.
async fn agent(app: &TestApp, write: bool) -> Client {
    app.sign_up().await;
    let token = new_token(app, if write { "Agent" } else { "Reader" }, write).await;
    connect(&app.address, &token).await
}

async fn call(client: &Client, tool: &str, arguments: Value) -> CallToolResult {
    let Value::Object(arguments) = arguments else { panic!("arguments are an object") };
    let params = CallToolRequestParams::new(tool.to_owned()).with_arguments(arguments);
    client.call_tool(params).await.unwrap_or_else(|e| panic!("{tool} answers: {e}"))
}

/// A tool's structured result, asserting it succeeded.
async fn ok(client: &Client, tool: &str, arguments: Value) -> Value {
    let result = call(client, tool, arguments).await;
    assert_eq!(result.is_error, Some(false), "{tool}: {}", text(&result));
    assert!(!text(&result).is_empty(), "{tool} says what it did");
    result.structured_content.unwrap_or_else(|| panic!("{tool} answers JSON"))
}

/// A tool's error, asserting it is one (a tool error, not a protocol error):
/// its text, and the fields it names.
async fn refused(client: &Client, tool: &str, arguments: Value) -> (String, Vec<String>) {
    let result = call(client, tool, arguments).await;
    assert_eq!(result.is_error, Some(true), "{tool} refuses: {}", text(&result));
    let body = result.structured_content.clone().expect("an error answers JSON too");
    let fields = body["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap().to_owned()).collect();
    (text(&result), fields)
}

fn text(result: &CallToolResult) -> String {
    result.content.iter().filter_map(|c| c.as_text()).map(|t| t.text.as_str()).collect::<Vec<_>>().join("\n")
}

fn today_in_berlin() -> NaiveDate {
    Utc::now().with_timezone(&domain::TimeZone::parse("Europe/Berlin").unwrap().0).date_naive()
}

/// The open tasks titled `title`, as list_tasks finds them.
async fn open_named(client: &Client, title: &str) -> Vec<Value> {
    let list = ok(client, "list_tasks", json!({ "q": format!("\"{title}\"") })).await;
    list["items"].as_array().unwrap().iter().filter(|t| t["title"] == title).cloned().collect()
}

const TOOLS: [&str; 10] = [
    "add_task",
    "complete_task",
    "delete_task",
    "get_task",
    "list_notifications",
    "list_tasks",
    "mark_notifications_read",
    "reopen_task",
    "snooze_reminder",
    "update_task",
];

const WRITE_TOOLS: [&str; 7] = [
    "add_task",
    "update_task",
    "complete_task",
    "reopen_task",
    "delete_task",
    "snooze_reminder",
    "mark_notifications_read",
];

#[tokio::test]
async fn an_mcp_client_initializes_over_http_and_lists_ten_tools_each_described_with_a_schema_and_its_hints() {
    let app = spawn_app().await;
    let client = agent(&app, true).await;
    let info = client.peer_info().expect("the server introduced itself");
    assert_eq!(info.server_info.as_ref().map(|s| s.name.as_str()), Some("cadence"));
    assert!(info.capabilities.tools.is_some() && info.capabilities.resources.is_some());
    assert!(info.instructions.as_deref().unwrap().contains("Europe/Berlin"), "the user's zone is in the instructions");

    let tools = client.list_all_tools().await.unwrap();
    let mut names: Vec<&str> = tools.iter().map(|t| t.name.as_ref()).collect();
    names.sort_unstable();
    assert_eq!(names, TOOLS);
    for tool in &tools {
        let name = tool.name.as_ref();
        assert!(tool.description.as_deref().is_some_and(|d| d.len() > 40), "{name} is described");
        assert_eq!(tool.input_schema["type"], "object", "{name}");
        let properties = tool.input_schema["properties"].as_object().unwrap();
        assert!(!properties.is_empty(), "{name} takes arguments");
        for (field, schema) in properties {
            let described = schema["description"].as_str().is_some_and(|d| !d.is_empty());
            assert!(described, "{name}.{field} says what it means: {schema}");
        }
        let hints = tool.annotations.as_ref().unwrap_or_else(|| panic!("{name} is annotated"));
        let writes = WRITE_TOOLS.contains(&name);
        assert_eq!(hints.read_only_hint, Some(!writes), "{name}");
        if writes {
            assert_eq!(hints.destructive_hint, Some(name == "delete_task"), "{name}");
        }
    }
    let update = tools.iter().find(|t| t.name == "update_task").unwrap();
    assert_eq!(update.input_schema["required"], json!(["id"]));
    assert!(!update.input_schema["properties"].as_object().unwrap().contains_key("completed"));
    client.cancel().await.unwrap();

    // A client of the newer, sessionless protocol (2026-07-28) finds the same tools.
    let token = new_token(&app, "Discoverer", false).await;
    let lifecycle = ClientLifecycleMode::Discover { preferred_versions: vec![ProtocolVersion::V_2026_07_28] };
    let discover = ClientConfig::default().serve_with_lifecycle(transport(&app.address, &token), lifecycle).await;
    let discover = discover.expect("the discover handshake works");
    assert_eq!(discover.list_all_tools().await.unwrap().len(), 10);
    discover.cancel().await.unwrap();
}

#[tokio::test]
async fn a_task_added_by_text_with_a_repeat_and_a_reminder_reads_back_with_both_as_the_rest_api_shows_it() {
    let app = spawn_app().await;
    app.sign_up().await;
    let token = new_token(&app, "Agent", true).await;
    let client = connect(&app.address, &token).await;

    let added = ok(
        &client,
        "add_task",
        json!({ "text": "Water the plants every monday at 9am #home !high remind me 1 hour before" }),
    )
    .await;
    assert_eq!(added["title"], "Water the plants");
    assert_eq!((added["priority"].clone(), added["tags"].clone()), (json!("high"), json!(["home"])));
    let id = added["id"].as_str().unwrap();
    let task = ok(&client, "get_task", json!({ "id": id })).await;
    assert!(task["repeat"].as_str().unwrap().contains("FREQ=WEEKLY"), "{task}");
    assert!(task["repeat_description"].as_str().unwrap().contains("Monday"), "{task}");
    assert_eq!(task["reminders"], json!(["1h"]));
    assert_eq!(task["due"]["time"], "09:00");

    let rest: Value = client_get(&app, &token, &format!("/api/v1/tasks/{id}")).await;
    assert_eq!(rest, task, "the tool answers the REST API's task JSON");

    let (message, fields) = refused(&client, "add_task", json!({ "text": "tomorrow at 5pm #home" })).await;
    assert_eq!(fields, ["text"]);
    assert!(message.contains("quotes"), "{message}");
}

async fn client_get(app: &TestApp, token: &str, path: &str) -> Value {
    let res = client().get(app.url(path)).bearer_auth(token).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    res.json().await.unwrap()
}

#[tokio::test]
async fn a_task_added_by_fields_reads_them_as_the_rest_api_does_and_names_each_bad_one() {
    let app = spawn_app().await;
    let client = agent(&app, true).await;

    let task = ok(
        &client,
        "add_task",
        json!({
            "title": " Team sync ",
            "description": "Agenda *first*",
            "priority": "medium",
            "tags": ["Work"],
            "due": { "date": "2030-01-07", "time": "10:00" },
            "repeat": "every 2 weeks on monday",
            "reminders": ["15m"]
        }),
    )
    .await;
    assert_eq!(task["title"], "Team sync");
    assert_eq!(task["description"], "Agenda *first*");
    assert_eq!(task["tags"], json!(["work"]));
    assert_eq!(
        (task["due"]["date"].as_str(), task["due"]["zone"].as_str()),
        (Some("2030-01-07"), Some("Europe/Berlin"))
    );
    assert_eq!(task["repeat"], "RRULE:FREQ=WEEKLY;INTERVAL=2;BYDAY=MO", "the app's words become its RRULE");
    assert_eq!(task["repeat_from"], "schedule");
    let rrule =
        ok(&client, "add_task", json!({ "title": "Rent", "due": { "date": "2030-01-01" }, "repeat": "FREQ=MONTHLY" }));
    assert_eq!(rrule.await["repeat"], "RRULE:FREQ=MONTHLY");

    let (_, fields) = refused(
        &client,
        "add_task",
        json!({ "title": "X", "priority": "soon", "due": { "date": "someday" }, "reminders": ["later"] }),
    )
    .await;
    assert_eq!(fields, ["due.date", "priority", "reminders"], "every bad field is named at once");
    assert_eq!(refused(&client, "add_task", json!({ "title": "X", "tags": "home" })).await.1, ["tags"]);
    assert_eq!(refused(&client, "add_task", json!({ "title": "X", "colour": "red" })).await.1, ["colour"]);
    assert_eq!(refused(&client, "add_task", json!({ "text": "Buy milk", "title": "Milk" })).await.1, ["text"]);
    assert_eq!(refused(&client, "add_task", json!({ "text": 7 })).await.1, ["text"]);
    assert_eq!(refused(&client, "add_task", json!({ "title": "X", "repeat": "now and then" })).await.1, ["repeat"]);
    let (message, fields) = refused(&client, "add_task", json!({})).await;
    assert_eq!(fields, ["title"]);
    assert!(message.contains("`title`"), "the text names the field too: {message}");
    let list = ok(&client, "list_tasks", json!({ "q": "is:all" })).await;
    assert_eq!(list["total"], 2, "nothing refused was written");
}

#[tokio::test]
async fn completing_a_repeating_task_keeps_its_rule_and_makes_its_next_instance_and_reopening_undoes_the_completion() {
    let app = spawn_app().await;
    let client = agent(&app, true).await;
    let today = today_in_berlin();
    let task = ok(
        &client,
        "add_task",
        json!({ "title": "Stretch", "due": { "date": today.to_string() }, "repeat": "FREQ=DAILY" }),
    )
    .await;
    let id = task["id"].as_str().unwrap();

    let done = call(&client, "complete_task", json!({ "id": id })).await;
    assert!(text(&done).contains("next instance is due"), "{}", text(&done));
    let done = done.structured_content.unwrap();
    assert_eq!(done["completed"], true);
    assert_eq!(done["repeat"], task["repeat"], "the completed instance keeps its rule");
    eventually("the next instance exists", || async { open_named(&client, "Stretch").await.len() == 1 }).await;
    let next = open_named(&client, "Stretch").await.remove(0);
    assert_ne!(next["id"], task["id"]);
    assert_eq!(next["due"]["date"], (today + chrono::Days::new(1)).to_string());
    let next = ok(&client, "get_task", json!({ "id": next["id"] })).await;
    assert_eq!(next["repeat"], task["repeat"], "the next instance has the same rule");

    let again = ok(&client, "complete_task", json!({ "id": id })).await;
    assert_eq!(again["completed_at"], done["completed_at"], "completing a done task changes nothing");
    let reopened = ok(&client, "reopen_task", json!({ "id": id })).await;
    assert_eq!((reopened["completed"].clone(), reopened["repeat"].clone()), (json!(false), task["repeat"].clone()));
    assert_eq!(refused(&client, "complete_task", json!({})).await.1, ["id"]);
}

#[tokio::test]
async fn update_task_changes_only_the_fields_it_is_given_and_null_clears_one() {
    let app = spawn_app().await;
    let client = agent(&app, true).await;
    let task = ok(
        &client,
        "add_task",
        json!({
            "title": "Dentist",
            "description": "Bring the card",
            "priority": "high",
            "tags": ["health"],
            "due": { "date": "2030-03-04", "time": "14:00" },
            "repeat": "FREQ=YEARLY",
            "reminders": ["1d"]
        }),
    )
    .await;
    let id = task["id"].as_str().unwrap();

    let renamed = ok(&client, "update_task", json!({ "id": id, "title": "Dentist, Dr Who" })).await;
    assert_eq!(renamed["title"], "Dentist, Dr Who");
    let unchanged = |mut t: Value| {
        let t = t.as_object_mut().unwrap();
        for changing in ["title", "updated_at"] {
            t.remove(changing);
        }
        Value::Object(t.clone())
    };
    assert_eq!(unchanged(renamed.clone()), unchanged(task.clone()), "every other field stays as it was");

    let cleared = ok(&client, "update_task", json!({ "id": id, "description": null, "tags": [] })).await;
    assert_eq!((cleared["description"].clone(), cleared["tags"].clone()), (Value::Null, json!([])));
    assert_eq!((cleared["priority"].as_str(), cleared["repeat"].as_str()), (Some("high"), Some("RRULE:FREQ=YEARLY")));
    let moved = ok(&client, "update_task", json!({ "id": id, "due": { "date": "2030-03-05" } })).await;
    assert_eq!((moved["due"]["date"].as_str(), moved["due"]["time"].as_str()), (Some("2030-03-05"), None));

    let (_, fields) = refused(&client, "update_task", json!({ "id": id, "completed": true })).await;
    assert_eq!(fields, ["completed"], "completing is complete_task's");
    let (_, fields) = refused(&client, "update_task", json!({ "id": id, "title": "", "priority": "soon" })).await;
    assert_eq!(fields, ["title", "priority"]);
    assert_eq!(refused(&client, "update_task", json!({ "id": id, "priority": 3 })).await.1, ["priority"]);
    assert_eq!(ok(&client, "get_task", json!({ "id": id })).await, moved, "a refused change writes nothing");
    let (message, _) = refused(&client, "update_task", json!({ "id": uuid::Uuid::now_v7(), "title": "X" })).await;
    assert!(message.to_lowercase().contains("not found"), "{message}");
    let (message, _) = refused(&client, "get_task", json!({ "id": "not-a-uuid" })).await;
    assert!(message.to_lowercase().contains("not found"), "{message}");
}

#[tokio::test]
async fn delete_task_takes_this_instance_or_the_rest_of_a_series_by_its_scope() {
    let app = spawn_app().await;
    let client = agent(&app, true).await;
    let today = today_in_berlin();
    let first = ok(
        &client,
        "add_task",
        json!({ "title": "Standup", "due": { "date": today.to_string(), "time": "09:30" }, "repeat": "FREQ=DAILY" }),
    )
    .await;
    let id = first["id"].as_str().unwrap();

    let (_, fields) = refused(&client, "delete_task", json!({ "id": id, "scope": "sideways" })).await;
    assert_eq!(fields, ["scope"]);
    assert_eq!(
        ok(&client, "get_task", json!({ "id": id })).await["id"],
        first["id"],
        "a refused delete deletes nothing"
    );

    let deleted = ok(&client, "delete_task", json!({ "id": id, "scope": "this" })).await;
    assert_eq!((deleted["task"]["id"].clone(), deleted["scope"].clone()), (first["id"].clone(), json!("this")));
    let (message, _) = refused(&client, "get_task", json!({ "id": id })).await;
    assert!(message.to_lowercase().contains("not found"), "{message}");
    let next = open_named(&client, "Standup").await;
    assert_eq!(next.len(), 1, "the series goes on with its next instance");
    assert_eq!(next[0]["due"]["date"], (today + chrono::Days::new(1)).to_string());

    ok(&client, "delete_task", json!({ "id": next[0]["id"], "scope": "following" })).await;
    app.settle().await;
    assert!(open_named(&client, "Standup").await.is_empty(), "the series ended");

    let plain = ok(&client, "add_task", json!({ "title": "Once" })).await;
    assert_eq!(ok(&client, "delete_task", json!({ "id": plain["id"] })).await["scope"], "this");
    assert_eq!(ok(&client, "list_tasks", json!({ "q": "is:all" })).await["total"], 0);
}

#[tokio::test]
async fn list_tasks_reads_q_in_the_search_language_and_pages_by_cursor() {
    let app = spawn_app().await;
    let client = agent(&app, true).await;
    for text in ["Buy milk #home", "Buy bread #home !urgent", "Call mum", "Buy stamps #work"] {
        ok(&client, "add_task", json!({ "text": text })).await;
    }
    let home = ok(&client, "list_tasks", json!({ "q": "buy #home" })).await;
    let titles: Vec<&str> = home["items"].as_array().unwrap().iter().map(|t| t["title"].as_str().unwrap()).collect();
    assert_eq!(titles, ["Buy bread", "Buy milk"], "the list's order: the more pressing first");
    assert_eq!((home["total"].clone(), home["total_exact"].clone()), (json!(2), json!(true)));

    let first = ok(&client, "list_tasks", json!({ "limit": 3 })).await;
    assert_eq!(first["items"].as_array().unwrap().len(), 3);
    let rest = ok(&client, "list_tasks", json!({ "limit": 3, "cursor": first["next_cursor"] })).await;
    assert_eq!(rest["items"].as_array().unwrap().len(), 1);
    assert_eq!(rest["next_cursor"], Value::Null);

    let (_, fields) =
        refused(&client, "list_tasks", json!({ "q": "due:someday", "limit": 0, "cursor": "Not a cursor!" })).await;
    assert_eq!(fields, ["limit", "cursor", "q"]);
    assert_eq!(refused(&client, "list_tasks", json!({ "limit": -1 })).await.1, ["limit"]);
    assert_eq!(refused(&client, "list_tasks", json!({ "page": 2 })).await.1, ["page"]);
}

#[tokio::test]
async fn reminders_that_came_due_are_listed_marked_read_and_snoozed_through_the_tools() {
    let app = spawn_app().await;
    let client = agent(&app, true).await;
    let later = (today_in_berlin() + chrono::Days::new(3)).to_string();
    for title in ["Pay rent", "Call mum"] {
        let task = json!({ "title": title, "due": { "date": later, "time": "09:00" }, "reminders": ["at due"] });
        ok(&client, "add_task", task).await;
    }
    assert_eq!(app.store.pending_timers().await.unwrap(), 2);
    // Bring both reminders' time to now, behind the app's back: the scheduler sees them within its sleep.
    let now = Utc::now().timestamp_millis();
    let db = app.db.as_ref().unwrap();
    db.execute(&format!("UPDATE timers SET fire_at = {now} WHERE label = 'At the due time'")).await;
    eventually("both reminders are notifications", || async {
        ok(&client, "list_notifications", json!({})).await["items"].as_array().unwrap().len() == 2
    })
    .await;
    let list = ok(&client, "list_notifications", json!({})).await;
    assert_eq!(list["unread"], 2);
    let items = list["items"].as_array().unwrap();
    assert!(items.iter().all(|n| n["kind"] == "reminder" && n["read"] == false && n["task_id"].is_string()));
    let (first, second) = (items[0]["id"].as_i64().unwrap(), items[1]["id"].as_i64().unwrap());

    let marked = ok(&client, "mark_notifications_read", json!({ "ids": [first] })).await;
    assert_eq!((marked["marked"].clone(), marked["unread"].clone()), (json!(1), json!(1)));
    let snoozed = ok(&client, "snooze_reminder", json!({ "notification": second, "until": "1h" })).await;
    let until = chrono::DateTime::parse_from_rfc3339(snoozed["until"].as_str().unwrap()).unwrap();
    let ahead = until.with_timezone(&Utc) - Utc::now();
    assert!(ahead > chrono::Duration::minutes(55) && ahead <= chrono::Duration::minutes(60), "{snoozed}");
    assert_eq!(app.store.pending_timers().await.unwrap(), 1, "the snooze waits to remind again");
    assert_eq!(ok(&client, "list_notifications", json!({})).await["unread"], 0, "a snoozed reminder is read");

    let (_, fields) = refused(&client, "snooze_reminder", json!({ "notification": second, "until": "later" })).await;
    assert_eq!(fields, ["until"]);
    let (_, fields) =
        refused(&client, "snooze_reminder", json!({ "notification": second, "until": "2001-01-01 09:00" })).await;
    assert_eq!(fields, ["until"], "a time gone by is refused");
    let (message, _) = refused(&client, "snooze_reminder", json!({ "notification": 999, "until": "10m" })).await;
    assert!(message.to_lowercase().contains("not found"), "{message}");
    assert_eq!(refused(&client, "mark_notifications_read", json!({})).await.1, ["ids"]);
    assert_eq!(refused(&client, "mark_notifications_read", json!({ "ids": [0] })).await.1, ["ids"]);
    assert_eq!(ok(&client, "mark_notifications_read", json!({ "all": true })).await["marked"], 0);
}

/// An MCP `initialize`, as a client posts it.
fn initialize(req: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
    req.header(ACCEPT, "application/json, text/event-stream").header(CONTENT_TYPE, "application/json").body(
        r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}"#,
    )
}

#[tokio::test]
async fn a_request_without_a_token_is_a_401_before_mcp_and_a_session_cookie_is_not_enough() {
    let app = spawn_app().await;
    app.sign_up().await;
    let token = new_token(&app, "Agent", true).await;
    let url = app.url("/mcp");

    for (who, req) in [
        ("no credentials", initialize(client().post(&url))),
        ("the session cookie", initialize(app.client.post(&url))),
        (
            "an unknown token",
            initialize(client().post(&url)).bearer_auth("cad_0000000000000000000000000000000000000000000"),
        ),
        ("another scheme", initialize(client().post(&url)).basic_auth("me", Some("pw"))),
    ] {
        let res = req.send().await.unwrap();
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "{who}");
        assert!(res.headers()[WWW_AUTHENTICATE].to_str().unwrap().starts_with("Bearer"), "{who}");
        assert_eq!(res.headers()[CONTENT_TYPE], "application/problem+json", "{who}");
    }
    assert!(ClientConfig::default().serve(transport(&app.address, "cad_nope")).await.is_err());

    // The CSRF guard still refuses a cookie sent from another site's page…
    let res = initialize(app.client.post(&url)).header(ORIGIN, "https://evil.example").send().await.unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    // …but a bearer request carries no cookie's authority, whatever page it came from.
    let res = initialize(client().post(&url)).bearer_auth(&token).header(ORIGIN, "https://evil.example");
    assert_eq!(res.send().await.unwrap().status(), StatusCode::OK);
    // And a Host that is not this server's (DNS rebinding) is refused after the token is checked.
    let res = initialize(client().post(&url)).bearer_auth(&token).header("host", "attacker.example");
    assert_eq!(res.send().await.unwrap().status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn a_read_only_token_reads_and_every_tool_that_writes_is_refused_naming_the_write_scope() {
    let app = spawn_app().await;
    let reader = agent(&app, false).await;
    let writer = connect(&app.address, &new_token(&app, "Writer", true).await).await;
    let task = ok(&writer, "add_task", json!({ "title": "Mine" })).await;

    assert_eq!(ok(&reader, "list_tasks", json!({})).await["total"], 1);
    assert_eq!(ok(&reader, "get_task", json!({ "id": task["id"] })).await["title"], "Mine");
    ok(&reader, "list_notifications", json!({})).await;
    let arguments = json!({ "id": task["id"], "title": "Changed", "notification": 1, "until": "10m", "all": true });
    for tool in WRITE_TOOLS {
        let result = call(&reader, tool, arguments.clone()).await;
        assert_eq!(result.is_error, Some(true), "{tool}");
        assert!(text(&result).contains("write scope"), "{tool}: {}", text(&result));
    }
    let still = ok(&reader, "get_task", json!({ "id": task["id"] })).await;
    assert_eq!(still, task, "nothing was changed, completed or deleted");
}

#[tokio::test]
async fn another_users_task_is_not_found_by_any_tool_and_stays_as_it_was() {
    let app = spawn_app().await;
    let owner = agent(&app, true).await;
    let task = ok(&owner, "add_task", json!({ "title": "Private", "due": { "date": "2030-01-01" } })).await;
    let other = TestApp::handle(&app);
    let stranger = agent(&other, true).await;

    for (tool, arguments) in [
        ("get_task", json!({ "id": task["id"] })),
        ("update_task", json!({ "id": task["id"], "title": "Mine now" })),
        ("complete_task", json!({ "id": task["id"] })),
        ("reopen_task", json!({ "id": task["id"] })),
        ("delete_task", json!({ "id": task["id"] })),
    ] {
        let (message, _) = refused(&stranger, tool, arguments).await;
        assert!(message.to_lowercase().contains("not found"), "{tool}: {message}");
    }
    assert_eq!(ok(&stranger, "list_tasks", json!({ "q": "is:all" })).await["total"], 0);
    assert_eq!(ok(&owner, "get_task", json!({ "id": task["id"] })).await, task);
}

#[tokio::test]
async fn each_saved_view_is_a_resource_whose_content_is_the_first_page_of_its_tasks() {
    let app = spawn_app().await;
    let client = agent(&app, true).await;
    for text in ["Pay rent #home !high", "Fix the sink #home", "Call mum"] {
        ok(&client, "add_task", json!({ "text": text })).await;
    }
    assert_eq!(app.call("save_view", &[("name", "Home"), ("q", "#home")]).await.status(), StatusCode::OK);

    let resources = client.list_all_resources().await.unwrap();
    assert_eq!(resources.len(), 1);
    let view = &resources[0];
    assert!(view.uri.starts_with("cadence://views/"), "{}", view.uri);
    assert_eq!((view.name.as_str(), view.description.as_deref()), ("Home", Some("#home")));
    assert_eq!(view.mime_type.as_deref(), Some("application/json"));

    let read = client.read_resource(ReadResourceRequestParams::new(view.uri.clone())).await.unwrap();
    let Some(ResourceContents::TextResourceContents { text, uri, .. }) = read.contents.first() else {
        panic!("a view reads as text: {read:?}")
    };
    assert_eq!(uri, &view.uri);
    let page: Value = serde_json::from_str(text).unwrap();
    let titles: Vec<&str> = page["items"].as_array().unwrap().iter().map(|t| t["title"].as_str().unwrap()).collect();
    assert_eq!(titles, ["Pay rent", "Fix the sink"]);

    let other = TestApp::handle(&app);
    let stranger = agent(&other, true).await;
    assert!(stranger.list_all_resources().await.unwrap().is_empty());
    assert!(stranger.read_resource(ReadResourceRequestParams::new(view.uri.clone())).await.is_err());
    assert!(client.read_resource(ReadResourceRequestParams::new("cadence://views/nope")).await.is_err());
}

/// A load balancer that sends each request to the next replica in turn,
/// counting what each one served.
struct RoundRobin {
    address: String,
    served: Arc<[AtomicUsize; 2]>,
}

impl RoundRobin {
    async fn start(replicas: [String; 2]) -> Self {
        use axum::body::{to_bytes, Body};
        use axum::extract::Request;
        use axum::response::Response;
        let served: Arc<[AtomicUsize; 2]> = Arc::default();
        let next = Arc::new(AtomicUsize::new(0));
        let replicas = Arc::new(replicas);
        let proxy = {
            let served = served.clone();
            move |req: Request| async move {
                let turn = next.fetch_add(1, Ordering::SeqCst) % 2;
                served[turn].fetch_add(1, Ordering::SeqCst);
                let (parts, body) = req.into_parts();
                let mut headers = parts.headers.clone();
                headers.remove("host");
                let url = format!("{}{}", replicas[turn], parts.uri.path());
                let body = to_bytes(body, 1 << 20).await.unwrap();
                let res = client().request(parts.method, url).headers(headers).body(body).send().await.unwrap();
                let mut out = Response::builder().status(res.status());
                for (name, value) in res.headers() {
                    if name != "transfer-encoding" && name != "connection" {
                        out = out.header(name, value);
                    }
                }
                out.body(Body::from_stream(res.bytes_stream())).unwrap()
            }
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, axum::Router::new().fallback(proxy)).await });
        Self { address, served }
    }
}

#[tokio::test]
async fn one_client_whose_requests_alternate_between_two_replicas_keeps_working() {
    let db = TestDb::postgres().await;
    let (a, _a) = start_server_process(&db.url(), &[]).await;
    let (b, _b) = start_server_process(&db.url(), &[]).await;
    let store = db.store().await;
    let app = TestApp::attach(&a, store.clone());
    app.sign_up().await;
    let token = new_token(&app, "Agent", true).await;
    let balancer = RoundRobin::start([a, b]).await;

    let client = connect(&balancer.address, &token).await;
    assert_eq!(client.list_all_tools().await.unwrap().len(), 10);
    let mut ids = Vec::new();
    for n in 0..6 {
        let task = ok(&client, "add_task", json!({ "text": format!("Task {n} every day #replicas") })).await;
        ids.push(task["id"].as_str().unwrap().to_owned());
    }
    for id in &ids {
        assert_eq!(ok(&client, "get_task", json!({ "id": id })).await["id"], id.as_str());
        assert_eq!(ok(&client, "complete_task", json!({ "id": id })).await["completed"], true);
    }
    settle(&store).await;
    let list = ok(&client, "list_tasks", json!({ "q": "#replicas" })).await;
    assert_eq!(list["total"], 6, "each completed task has its next instance, made once");
    let served = [balancer.served[0].load(Ordering::SeqCst), balancer.served[1].load(Ordering::SeqCst)];
    assert!(served[0] >= 10 && served[1] >= 10, "both replicas served the one client: {served:?}");
}

#[tokio::test]
async fn in_process_over_a_duplex_pipe_the_server_lists_its_tools_and_adds_a_task_for_its_user() {
    use app::auth::{AppState, Limits};
    use domain::ports::SystemClock;
    use domain::services::{Services, SignUp};
    use server::web::api::ApiUser;
    use server::web::mcp::CadenceMcp;

    // The state the app builds at startup, on a fresh database.
    let db = TestDb::for_http().await;
    let hasher = Arc::new(server::hasher::Argon2Hasher::new());
    let services = Services::new(db.store().await, Arc::new(SystemClock), hasher);
    let state = AppState {
        services: services.clone(),
        limits: Arc::new(Limits::new(Duration::from_secs(60), 10, 10, 10)),
        list_cache: Arc::new(app::list_cache::ListCache::new(16)),
        public_origin: None,
    };
    let sign_up = SignUp {
        email: "chat@example.com".into(),
        password: "correct horse battery".into(),
        display_name: "Chat".into(),
        time_zone: "Europe/Berlin".into(),
    };
    let user = services.sign_up(sign_up).await.unwrap();

    // The chat's side: the user's server on one end of a pipe, an rmcp client on the other.
    let api = ApiUser { user: user.clone(), scopes: domain::tokens::TokenScopes::ReadWrite };
    let (server_io, client_io) = tokio::io::duplex(64 * 1024);
    let server = tokio::spawn(async move {
        let running = CadenceMcp::for_user(state, api).serve(server_io).await.expect("the server starts");
        running.waiting().await.expect("the server stops when the client goes")
    });
    let client = ().serve(client_io).await.expect("the client initializes");
    let tools = client.list_all_tools().await.unwrap();
    assert_eq!(tools.len(), 10);
    let delete = tools.iter().find(|t| t.name == "delete_task").unwrap();
    assert_eq!(delete.annotations.as_ref().unwrap().destructive_hint, Some(true), "the chat asks before deleting");

    let params = CallToolRequestParams::new("add_task")
        .with_arguments(json!({ "text": "Book the car service friday at 10am" }).as_object().unwrap().clone());
    let result = client.call_tool(params).await.unwrap();
    assert_eq!(result.is_error, Some(false), "{}", text(&result));
    let added = result.structured_content.unwrap();
    let id = domain::TaskId::parse(added["id"].as_str().unwrap()).unwrap();
    let task = services.task(&user, id).await.unwrap();
    assert_eq!(task.title.as_str(), "Book the car service");
    assert_eq!(task.due.unwrap().time_input(), "10:00");

    client.cancel().await.unwrap();
    server.await.unwrap();
}
