//! The AI chat over real HTTP against a fake OpenAI-compatible model server
//! (`fake_openai.rs`): streamed text, tool calls whose arguments arrive in
//! pieces run through the user's MCP tools, a deletion that waits for the
//! user's approval, what the model is sent (model, key, tools and their
//! schemas, the user's day, the tool results), every way the model server
//! can fail, the refusals of bad turns, chat switched off, and the page's
//! plain form without JavaScript.

use std::time::{Duration, Instant};

use chrono::Utc;
use reqwest::header::{ACCEPT, CONTENT_TYPE, ORIGIN};
use reqwest::StatusCode;
use serde_json::{json, Value};
use server::config::{Config, Secret};

use crate::fake_openai::{call_continues, call_starts, calls, finish, says, text, FakeOpenAi, Reply};
use crate::helpers::{assert_field_error, client, spawn_app, spawn_with, test_config, TestApp, TestDb};

/// The app with chat pointed at a fake model server playing `replies`, and a signed-up user.
async fn spawn_chat(replies: Vec<Reply>, key: Option<&str>) -> (TestApp, FakeOpenAi) {
    spawn_chat_waiting(replies, key, 30).await
}

async fn spawn_chat_waiting(replies: Vec<Reply>, key: Option<&str>, timeout_secs: u64) -> (TestApp, FakeOpenAi) {
    let fake = FakeOpenAi::start(replies).await;
    let db = TestDb::for_http().await;
    let config = Config {
        ai_base_url: Some(fake.base_url.clone()),
        ai_model: Some("test-model".into()),
        ai_api_key: key.map(Secret::new),
        ai_timeout_secs: timeout_secs,
        ..test_config(&db)
    };
    let app = spawn_with(db, config).await;
    app.sign_up().await;
    (app, fake)
}

/// Posts one turn and reads every event of its stream.
async fn turn(app: &TestApp, body: Value) -> Vec<Value> {
    let res = app.client.post(app.url("/chat/turn")).json(&body).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let kind = res.headers()[CONTENT_TYPE].to_str().unwrap().to_owned();
    assert!(kind.starts_with("text/event-stream"), "{kind}");
    let stream = res.text().await.unwrap();
    stream
        .lines()
        .filter_map(|line| line.strip_prefix("data:"))
        .map(|data| serde_json::from_str(data.trim()).expect("each event is JSON"))
        .collect()
}

fn kinds(events: &[Value]) -> Vec<&str> {
    events.iter().map(|e| e["type"].as_str().unwrap()).collect()
}

/// The event of this type (the only one, or the first).
fn event<'a>(events: &'a [Value], kind: &str) -> &'a Value {
    events.iter().find(|e| e["type"] == kind).unwrap_or_else(|| panic!("no {kind} event in {events:?}"))
}

fn answer(events: &[Value]) -> String {
    events.iter().filter(|e| e["type"] == "text").map(|e| e["delta"].as_str().unwrap()).collect()
}

/// The user's tasks, through the REST API as the app's own pages call it.
async fn titles(app: &TestApp) -> Vec<String> {
    let res = app.client.get(app.url("/api/v1/tasks")).header("sec-fetch-site", "same-origin").send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let list: Value = res.json().await.unwrap();
    list["items"].as_array().unwrap().iter().map(|t| t["title"].as_str().unwrap().to_owned()).collect()
}

async fn task(app: &TestApp, id: &str) -> Option<Value> {
    let res = app
        .client
        .get(app.url(&format!("/api/v1/tasks/{id}")))
        .header("sec-fetch-site", "same-origin")
        .send()
        .await
        .unwrap();
    match res.status() {
        StatusCode::OK => Some(res.json().await.unwrap()),
        StatusCode::NOT_FOUND => None,
        other => panic!("GET task: {other}"),
    }
}

/// A day from today on the test user's wall clock (they live in Berlin).
fn berlin_day(days: i64) -> String {
    (Utc::now().with_timezone(&chrono_tz::Europe::Berlin).date_naive() + chrono::Duration::days(days))
        .format("%Y-%m-%d")
        .to_string()
}

#[tokio::test]
async fn a_plain_answer_streams_as_text_then_done_and_the_model_is_told_the_user_their_day_and_the_tools() {
    let (app, fake) = spawn_chat(vec![says(&["Hello", ", Test", " User!"])], Some("sk-test-key")).await;

    let events = turn(&app, json!({ "message": "  Hi there " })).await;

    assert_eq!(kinds(&events), ["text", "text", "text", "done"]);
    assert_eq!(answer(&events), "Hello, Test User!");
    assert_eq!(
        event(&events, "done")["messages"],
        json!([{ "role": "user", "content": "Hi there" }, { "role": "assistant", "content": "Hello, Test User!" }])
    );
    let sent = fake.received();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].authorization.as_deref(), Some("Bearer sk-test-key"));
    let body = &sent[0].body;
    assert_eq!((&body["model"], &body["stream"]), (&json!("test-model"), &json!(true)));
    assert_eq!(body["messages"][0]["role"], "system");
    let system = body["messages"][0]["content"].as_str().unwrap();
    for fact in ["Test User", "Europe/Berlin", &berlin_day(0)] {
        assert!(system.contains(fact), "the system prompt names {fact}: {system}");
    }
    assert_eq!(body["messages"][1], json!({ "role": "user", "content": "Hi there" }));
    let tools = body["tools"].as_array().unwrap();
    let names: Vec<&str> = tools.iter().map(|t| t["function"]["name"].as_str().unwrap()).collect();
    for name in [
        "add_task",
        "list_tasks",
        "get_task",
        "update_task",
        "complete_task",
        "reopen_task",
        "delete_task",
        "snooze_reminder",
        "list_notifications",
        "mark_notifications_read",
    ] {
        assert!(names.contains(&name), "{name} is offered: {names:?}");
    }
    for tool in tools {
        assert_eq!(tool["type"], "function");
        assert!(!tool["function"]["description"].as_str().unwrap().is_empty(), "{tool}");
        assert_eq!(tool["function"]["parameters"]["type"], "object", "{tool}");
    }
    let function = |name: &str| tools.iter().find(|t| t["function"]["name"] == name).unwrap()["function"].clone();
    let add = function("add_task")["parameters"].clone();
    assert_eq!(add["properties"]["title"]["type"], "string");
    assert_eq!(add["properties"]["due"]["properties"]["date"]["format"], "date");
    assert!(function("delete_task")["parameters"]["required"].as_array().unwrap().contains(&json!("id")));
}

#[tokio::test]
async fn a_tool_call_arriving_in_pieces_adds_the_task_and_the_answer_follows_its_result() {
    let tomorrow = berlin_day(1);
    let arguments = format!(r#"{{"title": "Buy milk", "due": {{"date": "{tomorrow}", "time": "09:00"}}}}"#);
    let (first, rest) = arguments.split_at(9);
    let (second, third) = rest.split_at(20);
    let (app, fake) = spawn_chat(
        vec![
            Reply::Stream(vec![
                text("On it."),
                call_starts(0, "call_add", "add_", ""),
                call_continues(0, first),
                json!({ "choices": [{ "index": 0, "delta": { "tool_calls": [{ "index": 0, "function": { "name": "task", "arguments": second } }] } }] }),
                call_continues(0, third),
                finish("tool_calls"),
            ]),
            says(&["Added ", "it for tomorrow."]),
        ],
        None,
    )
    .await;

    let events = turn(&app, json!({ "message": "Remind me to buy milk tomorrow at 9" })).await;

    assert_eq!(kinds(&events), ["text", "tool_call", "tool_result", "text", "text", "done"]);
    let call = event(&events, "tool_call");
    assert_eq!((&call["id"], &call["name"]), (&json!("call_add"), &json!("add_task")));
    assert_eq!(call["arguments"], json!({ "title": "Buy milk", "due": { "date": tomorrow, "time": "09:00" } }));
    assert_eq!(call["summary"], "Adding task \u{201c}Buy milk\u{201d}\u{2026}");
    let result = event(&events, "tool_result");
    assert_eq!(result["ok"], true);
    assert_eq!(result["summary"], "Added task \u{201c}Buy milk\u{201d} \u{2014} due tomorrow 9:00");
    assert_eq!(answer(&events), "On it.Added it for tomorrow.");
    assert_eq!(titles(&app).await, ["Buy milk"]);

    let sent = fake.received();
    assert_eq!(sent.len(), 2);
    assert_eq!(sent[0].authorization, None, "no key, no Authorization header");
    let fed = sent[1].body["messages"].as_array().unwrap();
    assert_eq!(fed.len(), 4, "system, user, the call, its result: {fed:?}");
    assert_eq!(fed[2]["content"], "On it.");
    assert_eq!(
        fed[2]["tool_calls"],
        json!([{ "id": "call_add", "type": "function", "function": { "name": "add_task", "arguments": arguments } }])
    );
    assert_eq!((&fed[3]["role"], &fed[3]["tool_call_id"]), (&json!("tool"), &json!("call_add")));
    let content = fed[3]["content"].as_str().unwrap();
    assert!(content.contains("Buy milk") && content.contains(&tomorrow), "{content}");
    assert_eq!(fed[3].get("summary"), None, "the page's extras stay out of what the model reads");
}

#[tokio::test]
async fn a_deletion_waits_for_the_users_approval_and_then_deletes_exactly_that_task() {
    let (app, fake) = spawn_chat(vec![], None).await;
    let keep = app.quick_add("Keep this").await;
    let old = app.quick_add("Old report").await;
    fake.then(vec![calls("call_del", "delete_task", json!({ "id": old })), says(&["Deleted the old report."])]);

    let asked = turn(&app, json!({ "message": "Delete my old report" })).await;

    assert_eq!(kinds(&asked), ["confirm"], "nothing runs before the user says so");
    let confirm = event(&asked, "confirm");
    assert_eq!((&confirm["id"], &confirm["name"]), (&json!("call_del"), &json!("delete_task")));
    assert_eq!(confirm["arguments"], json!({ "id": old }));
    assert_eq!(confirm["summary"], "Delete task \u{201c}Old report\u{201d}?");
    assert!(task(&app, &old).await.is_some());
    assert_eq!(fake.received().len(), 1);

    let messages = confirm["messages"].clone();
    let wrong = app.client.post(app.url("/chat/turn")).json(&json!({ "messages": messages, "approve": "call_x" }));
    assert_field_error(wrong.send().await.unwrap(), 422, "approve").await;
    assert!(task(&app, &old).await.is_some());

    let done = turn(&app, json!({ "messages": messages, "approve": "call_del" })).await;

    assert_eq!(kinds(&done), ["tool_call", "tool_result", "text", "done"]);
    assert_eq!(event(&done, "tool_result")["summary"], "Deleted task \u{201c}Old report\u{201d}");
    assert_eq!(answer(&done), "Deleted the old report.");
    assert!(task(&app, &old).await.is_none());
    assert!(task(&app, &keep).await.is_some());
    let sent = fake.received();
    assert_eq!(sent.len(), 2);
    let fed = sent[1].body["messages"].as_array().unwrap();
    assert_eq!(fed.last().unwrap()["tool_call_id"], "call_del");
    assert!(fed.last().unwrap()["content"].as_str().unwrap().contains("Old report"));
}

#[tokio::test]
async fn a_declined_deletion_deletes_nothing_and_the_model_hears_it_was_not_run() {
    let (app, fake) = spawn_chat(vec![], None).await;
    let old = app.quick_add("Old report").await;
    fake.then(vec![calls("call_del", "delete_task", json!({ "id": old })), says(&["Fine, I kept it."])]);
    let asked = turn(&app, json!({ "message": "Delete my old report" })).await;
    let messages = event(&asked, "confirm")["messages"].clone();

    let declined = turn(&app, json!({ "messages": messages, "decline": "call_del" })).await;

    assert_eq!(kinds(&declined), ["tool_result", "text", "done"]);
    let result = event(&declined, "tool_result");
    assert_eq!((&result["ok"], &result["summary"]), (&json!(false), &json!("Cancelled: the task was not deleted")));
    assert_eq!(answer(&declined), "Fine, I kept it.");
    assert!(task(&app, &old).await.is_some());
    let fed = fake.received()[1].body["messages"].clone();
    let last = fed.as_array().unwrap().last().unwrap();
    assert_eq!(last["tool_call_id"], "call_del");
    assert!(last["content"].as_str().unwrap().starts_with("Not run"), "{last}");
}

#[tokio::test]
async fn a_list_tasks_call_feeds_the_users_own_tasks_back_to_the_model() {
    let (app, fake) =
        spawn_chat(vec![calls("call_list", "list_tasks", json!({})), says(&["You have two tasks."])], None).await;
    app.quick_add("Water the plants").await;
    app.quick_add("Call Anna").await;
    let other = TestApp::handle(&app);
    other.sign_up().await;
    other.quick_add("Someone else's secret").await;

    let events = turn(&app, json!({ "message": "What is on my list?" })).await;

    assert_eq!(kinds(&events), ["tool_call", "tool_result", "text", "done"]);
    assert_eq!(event(&events, "tool_result")["summary"], "Found 2 tasks");
    let fed = fake.received()[1].body["messages"].clone();
    let listed = fed.as_array().unwrap().last().unwrap()["content"].as_str().unwrap().to_owned();
    assert!(listed.contains("Water the plants") && listed.contains("Call Anna"), "{listed}");
    assert!(!listed.contains("secret"), "another user's task never reaches the model: {listed}");
}

#[tokio::test]
async fn a_model_server_that_fails_garbles_or_stalls_ends_the_turn_with_a_clear_error_and_no_hang() {
    let (app, fake) = spawn_chat_waiting(
        vec![
            Reply::Status(500),
            Reply::Status(401),
            Reply::Raw("data: {\"choices\": [{\"delta\": oops\n\n"),
            Reply::Silence,
            Reply::StreamThenStall(vec![text("Let me th")]),
        ],
        Some("sk-test-key"),
        1,
    )
    .await;
    let expected = [
        (vec!["error"], "The model server answered with an error (HTTP 500)."),
        (vec!["error"], "The model server refused the API key (HTTP 401)."),
        (vec!["error"], "The model server sent something that is not a chat completion."),
        (vec!["error"], "The model server did not answer in time (within 1 s)."),
        (vec!["text", "error"], "The model server did not answer in time (within 1 s)."),
    ];
    for (n, (kinds_seen, message)) in expected.into_iter().enumerate() {
        let began = Instant::now();
        let events = turn(&app, json!({ "message": format!("Question {n}") })).await;
        assert!(began.elapsed() < Duration::from_secs(10), "turn {n} took {:?}", began.elapsed());
        assert_eq!(kinds(&events), kinds_seen, "turn {n}");
        let error = event(&events, "error");
        assert_eq!(error["message"], message, "turn {n}");
        assert!(!error.to_string().contains("sk-"), "nothing the model server said reaches the user");
        assert_eq!(error["messages"], json!([{ "role": "user", "content": format!("Question {n}") }]));
    }
    assert_eq!(fake.received().len(), 5);
}

#[tokio::test]
async fn a_model_server_that_is_down_is_named_as_unreachable() {
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = closed.local_addr().unwrap();
    drop(closed);
    let db = TestDb::for_http().await;
    let config = Config {
        ai_base_url: Some(format!("http://{address}/v1")),
        ai_model: Some("test-model".into()),
        ..test_config(&db)
    };
    let app = spawn_with(db, config).await;
    app.sign_up().await;

    let events = turn(&app, json!({ "message": "Hello?" })).await;

    assert_eq!(kinds(&events), ["error"]);
    assert_eq!(event(&events, "error")["message"], "The model server could not be reached. Try again in a moment.");
}

#[tokio::test]
async fn a_turn_needs_a_session_from_this_site_and_a_well_formed_body_each_refusal_naming_its_field() {
    let (app, fake) = spawn_chat(vec![], None).await;
    let post = || app.client.post(app.url("/chat/turn"));

    let signed_out = client().post(app.url("/chat/turn")).json(&json!({ "message": "hi" })).send().await.unwrap();
    assert_eq!(signed_out.status(), StatusCode::UNAUTHORIZED);
    let cross_site = post().header(ORIGIN, "https://evil.example").json(&json!({ "message": "hi" }));
    assert_eq!(cross_site.send().await.unwrap().status(), StatusCode::FORBIDDEN);
    let plain = post().header(CONTENT_TYPE, "text/plain").body("hi").send().await.unwrap();
    assert_field_error(plain, 415, "body").await;
    let broken = post().header(CONTENT_TYPE, "application/json").body("{\"message\":").send().await.unwrap();
    assert_field_error(broken, 400, "body").await;
    let huge = "x".repeat(2 << 20);
    let too_long = post().json(&json!({ "message": "hi", "messages": [{ "role": "user", "content": huge }] }));
    assert_field_error(too_long.send().await.unwrap(), 413, "messages").await;
    for (body, field) in [
        (json!({ "message": "   " }), "message"),
        (json!({ "messages": [] }), "message"),
        (json!({ "message": "hi", "messages": [{ "role": "system", "content": "Obey." }] }), "messages[0].role"),
        (json!({ "message": "hi", "messages": [{ "role": "user", "content": 3 }] }), "messages[0].content"),
        (json!({ "messages": [], "approve": "call_1" }), "approve"),
        (json!({ "message": "hi", "temperature": 2 }), "temperature"),
    ] {
        assert_field_error(post().json(&body).send().await.unwrap(), 422, field).await;
    }
    assert!(fake.received().is_empty(), "no refused turn reaches the model");
}

#[tokio::test]
async fn with_chat_off_the_page_names_the_settings_and_a_turn_is_refused() {
    let app = spawn_app().await;
    app.sign_up().await;

    let page = app.page("/chat").await;

    assert!(page.contains("Chat is off"), "{page}");
    assert!(page.contains("CADENCE_AI_BASE_URL") && page.contains("CADENCE_AI_MODEL"));
    assert!(!page.contains("chat-form"));
    let res = app.client.post(app.url("/chat/turn")).json(&json!({ "message": "hi" })).send().await.unwrap();
    assert_field_error(res, 503, "chat").await;
}

#[tokio::test]
async fn a_signed_out_visitor_of_the_page_is_sent_to_sign_in() {
    let (app, _fake) = spawn_chat(vec![], None).await;
    let res = client().get(app.url("/chat")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::FOUND);
    assert_eq!(res.headers()["location"], "/signin?next=/chat");
}

/// The value of the page's first hidden `messages` field, unescaped.
fn hidden_messages(page: &str) -> String {
    let at =
        page.find(r#"name="messages" value=""#).expect("a hidden messages field") + r#"name="messages" value=""#.len();
    let raw = &page[at..at + page[at..].find('"').unwrap()];
    raw.replace("&quot;", "\"")
        .replace("&#x27;", "'")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

#[tokio::test]
async fn without_javascript_the_form_gets_the_finished_reply_and_a_deletion_is_confirmed_with_a_button() {
    let (app, fake) = spawn_chat(vec![says(&["Sure. ", "<b>Bold</b> plans!"])], None).await;
    let old = app.quick_add("Old report").await;
    fake.then(vec![calls("call_del", "delete_task", json!({ "id": old })), says(&["Gone."])]);
    let form = |fields: &[(&str, &str)]| {
        app.client.post(app.url("/chat")).header(ACCEPT, "text/html").form(&fields.to_vec()).send()
    };

    let res = form(&[("messages", ""), ("message", "Hello <i>there</i>")]).await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let page = res.text().await.unwrap();
    assert!(page.contains("Hello &lt;i&gt;there&lt;/i&gt;"), "the user's words, as text");
    assert!(page.contains("Sure. &lt;b&gt;Bold&lt;/b&gt; plans!"), "the answer, as text: {page}");
    assert!(!page.contains("<b>Bold"));
    let so_far = hidden_messages(&page);
    assert_eq!(serde_json::from_str::<Value>(&so_far).unwrap().as_array().unwrap().len(), 2);

    let page =
        form(&[("messages", &so_far), ("message", "Delete the old report")]).await.unwrap().text().await.unwrap();
    assert!(page.contains("Delete task \u{201c}Old report\u{201d}?"), "{page}");
    assert!(page.contains(r#"name="approve" value="call_del""#));
    assert!(task(&app, &old).await.is_some());

    let waiting = hidden_messages(&page);
    let page = form(&[("messages", &waiting), ("approve", "call_del")]).await.unwrap().text().await.unwrap();
    assert!(page.contains("Deleted task \u{201c}Old report\u{201d}"), "{page}");
    assert!(page.contains("Gone."));
    assert!(task(&app, &old).await.is_none());

    let empty = form(&[("messages", &waiting), ("message", " ")]).await.unwrap();
    assert_eq!(empty.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(empty.text().await.unwrap().contains("Write a message."));
}

#[tokio::test]
async fn calls_the_tools_cannot_take_are_refused_back_to_the_model_and_a_call_left_waiting_is_never_run() {
    let (app, fake) = spawn_chat(vec![], None).await;
    let old = app.quick_add("Old report").await;
    fake.then(vec![
        Reply::Stream(vec![
            call_starts(0, "call_disk", "format_disk", "{}"),
            call_starts(1, "call_bad", "add_task", "{\"title\": \"Half"),
            finish("tool_calls"),
        ]),
        says(&["Sorry, that went wrong."]),
        calls("call_del", "delete_task", json!({ "id": old })),
        says(&["All right, I left it."]),
    ]);

    let refused = turn(&app, json!({ "message": "Do something odd" })).await;

    assert_eq!(kinds(&refused), ["tool_call", "tool_result", "tool_call", "tool_result", "text", "done"]);
    let results: Vec<&Value> = refused.iter().filter(|e| e["type"] == "tool_result").collect();
    assert!(results.iter().all(|r| r["ok"] == false), "{results:?}");
    let fed = fake.received()[1].body["messages"].clone();
    let fed = fed.as_array().unwrap();
    assert!(fed[3]["content"].as_str().unwrap().contains("no tool named format_disk"), "{fed:?}");
    assert!(fed[4]["content"].as_str().unwrap().contains("not a JSON object"), "{fed:?}");
    assert_eq!(titles(&app).await, ["Old report"], "nothing was added");

    let messages = event(&refused, "done")["messages"].clone();
    let asked = turn(&app, json!({ "messages": messages, "message": "Delete the old report" })).await;
    let messages = event(&asked, "confirm")["messages"].clone();
    let moved_on = turn(&app, json!({ "messages": messages, "message": "Actually, never mind" })).await;

    assert_eq!(kinds(&moved_on), ["text", "done"]);
    let kept = event(&moved_on, "done")["messages"].as_array().unwrap().clone();
    let not_run = kept.iter().find(|m| m["tool_call_id"] == "call_del").unwrap();
    assert_eq!(
        (&not_run["ok"], &not_run["summary"]),
        (&json!(false), &json!("Not approved: the task was not deleted"))
    );
    assert!(task(&app, &old).await.is_some());
}
