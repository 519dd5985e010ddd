//! The REST API's other resources over real HTTP with personal access tokens:
//! tags (rename, merge, recolour, delete), saved views (save, move, delete,
//! their tasks paged as the task list pages), notifications (a reminder that
//! came due, read, read all, snoozed), the activity log, complete and
//! reopen with `If-Match`, bulk actions and their undo. Every error a problem
//! naming its field; a read-only token refused every write; another user's
//! things not found and left as they were; and the JSON each sends exactly
//! what the OpenAPI document says.

use std::time::Duration;

use reqwest::header::{ETAG, IF_MATCH};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{client, spawn_app, TestApp};
use crate::openapi::{answer_schema, document, keys, properties, resolve};
use crate::tokens::{new_token, problem};

/// A caller of the API with one token and no cookies.
struct Api<'a> {
    app: &'a TestApp,
    token: String,
}

impl<'a> Api<'a> {
    /// A token of the user signed in on `app`'s client.
    async fn new(app: &'a TestApp, write: bool) -> Api<'a> {
        let name = if write { "Writer" } else { "Reader" };
        Api { app, token: new_token(app, name, write).await }
    }

    async fn send(&self, method: Method, path: &str, body: Option<Value>) -> reqwest::Response {
        let mut req = client().request(method, self.app.url(path)).bearer_auth(&self.token);
        if let Some(body) = body {
            req = req.json(&body);
        }
        req.send().await.unwrap()
    }

    /// A call that must succeed with `status`; its JSON.
    async fn ok(&self, method: Method, path: &str, body: Option<Value>, status: StatusCode) -> Value {
        let res = self.send(method.clone(), path, body).await;
        let got = res.status();
        let json = res.json().await.unwrap_or(Value::Null);
        assert_eq!(got, status, "{method} {path}: {json}");
        json
    }

    async fn get(&self, path: &str) -> Value {
        self.ok(Method::GET, path, None, StatusCode::OK).await
    }

    async fn post(&self, path: &str, body: Value) -> Value {
        self.ok(Method::POST, path, Some(body), StatusCode::OK).await
    }

    async fn patch(&self, path: &str, body: Value) -> Value {
        self.ok(Method::PATCH, path, Some(body), StatusCode::OK).await
    }

    /// The fields a 422 problem names, in its order.
    async fn refused(&self, method: Method, path: &str, body: Option<Value>) -> Vec<String> {
        let body = problem(self.send(method, path, body).await, 422).await;
        assert_eq!(body["type"], "urn:cadence:problem:invalid", "{body}");
        body["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap().to_owned()).collect()
    }

    /// Asserts a 404 problem.
    async fn not_found(&self, method: Method, path: &str, body: Option<Value>) {
        let body = problem(self.send(method.clone(), path, body).await, 404).await;
        assert_eq!(body["type"], "urn:cadence:problem:not_found", "{method} {path}: {body}");
    }

    /// Creates a task and returns its id.
    async fn task(&self, body: Value) -> String {
        let task = self.ok(Method::POST, "/api/v1/tasks", Some(body), StatusCode::CREATED).await;
        task["id"].as_str().unwrap().to_owned()
    }
}

/// A second user, signed up on their own client, and their write token.
async fn stranger(app: &TestApp) -> (TestApp, String) {
    let other = TestApp::handle(app);
    other.sign_up().await;
    let token = new_token(&other, "Stranger", true).await;
    (other, token)
}

fn titles(list: &Value) -> Vec<&str> {
    list["items"].as_array().unwrap().iter().map(|t| t["title"].as_str().unwrap()).collect()
}

fn names(list: &Value) -> Vec<&str> {
    list["items"].as_array().unwrap().iter().map(|t| t["name"].as_str().unwrap()).collect()
}

#[tokio::test]
async fn tags_are_listed_with_colours_and_counts_renamed_merged_recoloured_and_deleted_over_the_api() {
    let app = spawn_app().await;
    app.sign_up().await;
    let api = Api::new(&app, true).await;
    let rent = api.task(json!({ "title": "Pay rent", "tags": ["money", "home"] })).await;
    let milk = api.task(json!({ "title": "Buy milk", "tags": ["shopping"] })).await;
    let bill = api.task(json!({ "title": "Old bill", "tags": ["money"] })).await;
    api.post(&format!("/api/v1/tasks/{bill}/complete"), json!({})).await;

    let tags = api.get("/api/v1/tags").await;
    assert_eq!(
        tags["items"],
        json!([
            { "name": "home", "colour": null, "open": 1, "total": 1 },
            { "name": "money", "colour": null, "open": 1, "total": 2 },
            { "name": "shopping", "colour": null, "open": 1, "total": 1 },
        ])
    );

    let money = api.patch("/api/v1/tags/Money", json!({ "colour": "Teal" })).await;
    assert_eq!(money, json!({ "name": "money", "colour": "teal", "open": 1, "total": 2 }));
    let errands = api.patch("/api/v1/tags/shopping", json!({ "name": "#Errands" })).await;
    assert_eq!(errands, json!({ "name": "errands", "colour": null, "open": 1, "total": 1 }));
    assert_eq!(api.get(&format!("/api/v1/tasks/{milk}")).await["tags"], json!(["errands"]));

    // Renaming onto a tag the task has already merges the two, and the target keeps its colour.
    let merged = api.patch("/api/v1/tags/home", json!({ "name": "money" })).await;
    assert_eq!(merged, json!({ "name": "money", "colour": "teal", "open": 1, "total": 2 }));
    assert_eq!(api.get(&format!("/api/v1/tasks/{rent}")).await["tags"], json!(["money"]));
    assert_eq!(names(&api.get("/api/v1/tags").await), ["errands", "money"]);
    let both = api.patch("/api/v1/tags/errands", json!({ "name": "chores", "colour": "red" })).await;
    assert_eq!((both["name"].as_str(), both["colour"].as_str()), (Some("chores"), Some("red")));
    assert_eq!(api.patch("/api/v1/tags/money", json!({ "colour": null })).await["colour"], Value::Null);

    let deleted = api.ok(Method::DELETE, "/api/v1/tags/money", None, StatusCode::OK).await;
    assert_eq!(deleted, json!({ "changed": 2 }));
    assert_eq!(api.get(&format!("/api/v1/tasks/{rent}")).await["tags"], json!([]), "the task stays, untagged");
    assert_eq!(api.get(&format!("/api/v1/tasks/{bill}")).await["title"], "Old bill");
    assert_eq!(names(&api.get("/api/v1/tags").await), ["chores"]);

    let path = "/api/v1/tags/chores";
    let bad = json!({ "name": "a/b", "colour": "mauve" });
    assert_eq!(api.refused(Method::PATCH, path, Some(bad)).await, ["name", "colour"], "both named at once");
    assert_eq!(api.refused(Method::PATCH, path, Some(json!({}))).await, ["body"]);
    assert_eq!(api.refused(Method::PATCH, path, Some(json!({ "name": null }))).await, ["name"]);
    assert_eq!(api.refused(Method::PATCH, path, Some(json!({ "name": 7 }))).await, ["name"]);
    assert_eq!(api.refused(Method::PATCH, path, Some(json!({ "size": 1 }))).await, ["size"]);
    assert_eq!(api.refused(Method::PATCH, path, Some(json!({ "name": "x", "colour": "mauve" }))).await, ["colour"]);
    assert_eq!(
        api.get("/api/v1/tags").await["items"],
        json!([{ "name": "chores", "colour": "red", "open": 1, "total": 1 }]),
        "a refused change writes nothing, not even its valid half"
    );
    api.not_found(Method::PATCH, "/api/v1/tags/nothing", Some(json!({ "colour": "red" }))).await;
    api.not_found(Method::DELETE, "/api/v1/tags/nothing", None).await;
    api.not_found(Method::DELETE, "/api/v1/tags/a%2Fb", None).await;
}

#[tokio::test]
async fn saved_views_are_saved_listed_moved_paged_like_the_task_list_and_deleted() {
    let app = spawn_app().await;
    app.sign_up().await;
    let api = Api::new(&app, true).await;
    for (title, tags) in [("Fix the sink", ["home"]), ("Pay rent", ["home"]), ("Call mum", ["family"])] {
        api.task(json!({ "title": title, "tags": tags })).await;
    }
    api.task(json!({ "title": "Air the rooms", "tags": ["home"] })).await;

    let res =
        api.send(Method::POST, "/api/v1/views", Some(json!({ "name": " Home ", "query": "sort:title #HOME" }))).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let home: Value = res.json().await.unwrap();
    assert_eq!((home["name"].as_str(), home["query"].as_str()), (Some("Home"), Some("#home sort:title")));
    let calls = api
        .ok(Method::POST, "/api/v1/views", Some(json!({ "name": "Calls", "query": "call" })), StatusCode::CREATED)
        .await;
    let listed = api.get("/api/v1/views").await;
    assert_eq!(names(&listed), ["Home", "Calls"]);
    assert_eq!(listed["items"][0]["id"], home["id"], "a view lists as it was saved");
    assert_eq!(listed["items"][0]["query"], home["query"]);

    let (home_id, calls_id) = (home["id"].as_str().unwrap(), calls["id"].as_str().unwrap());
    let moved = api.post(&format!("/api/v1/views/{calls_id}/move"), json!({ "direction": "up" })).await;
    assert_eq!(names(&moved), ["Calls", "Home"]);
    assert_eq!(api.get("/api/v1/views").await, moved, "the move is kept");
    let top = api.post(&format!("/api/v1/views/{calls_id}/move"), json!({ "direction": "up" })).await;
    assert_eq!(names(&top), ["Calls", "Home"], "the first stays first");

    // A view's pages are the task list's pages for its query, cursor and all.
    let view_tasks = format!("/api/v1/views/{home_id}/tasks");
    let first = api.get(&format!("{view_tasks}?limit=2")).await;
    assert_eq!(titles(&first), ["Air the rooms", "Fix the sink"]);
    assert_eq!(first, api.get("/api/v1/tasks?q=%23home%20sort%3Atitle&limit=2").await);
    let cursor = first["next_cursor"].as_str().unwrap();
    let rest = api.get(&format!("{view_tasks}?limit=2&cursor={cursor}")).await;
    assert_eq!(
        (titles(&rest), rest["next_cursor"].clone(), rest["total"].clone()),
        (vec!["Pay rent"], Value::Null, json!(3))
    );
    assert_eq!(titles(&api.get(&format!("/api/v1/views/{calls_id}/tasks")).await), ["Call mum"]);

    let views = "/api/v1/views";
    let bad = json!({ "name": "", "query": "due:someday" });
    assert_eq!(api.refused(Method::POST, views, Some(bad)).await, ["name", "query"], "both named at once");
    assert_eq!(api.refused(Method::POST, views, Some(json!({ "name": "Home", "query": "" }))).await, ["name"], "taken");
    assert_eq!(
        api.refused(Method::POST, views, Some(json!({ "name": "Long", "query": "a".repeat(501) }))).await,
        ["query"]
    );
    assert_eq!(api.refused(Method::POST, views, Some(json!({ "name": "No query" }))).await, ["query"]);
    let sideways = Some(json!({ "direction": "sideways" }));
    assert_eq!(api.refused(Method::POST, &format!("{views}/{home_id}/move"), sideways).await, ["direction"]);
    assert_eq!(
        api.refused(Method::GET, &format!("{view_tasks}?limit=0&cursor=Not%20a%20cursor%21"), None).await,
        ["limit", "cursor"]
    );
    assert_eq!(api.refused(Method::GET, &format!("{view_tasks}?q=mum"), None).await, ["q"]);
    assert_eq!(names(&api.get(views).await), ["Calls", "Home"], "nothing refused was saved");

    let res = api.send(Method::DELETE, &format!("{views}/{calls_id}"), None).await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert_eq!(names(&api.get(views).await), ["Home"]);
    api.not_found(Method::DELETE, &format!("{views}/{calls_id}"), None).await;
    api.not_found(Method::GET, &format!("{views}/{calls_id}/tasks"), None).await;
    api.not_found(Method::POST, &format!("{views}/not-an-id/move"), Some(json!({ "direction": "up" }))).await;
}

/// The user's notifications once there are `count` of them: a reminder's
/// timer is brought to now behind the app's back, and the scheduler fires it.
async fn notifications_once(api: &Api<'_>, count: usize) -> Value {
    for _ in 0..500 {
        let list = api.get("/api/v1/notifications").await;
        if list["items"].as_array().unwrap().len() >= count {
            return list;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("timed out waiting for {count} notifications");
}

#[tokio::test]
async fn reminders_that_came_due_are_listed_paged_marked_read_and_snoozed_over_the_api() {
    let app = spawn_app().await;
    app.sign_up().await;
    let api = Api::new(&app, true).await;
    let later = (chrono::Utc::now().date_naive() + chrono::Days::new(3)).to_string();
    let mut tasks = Vec::new();
    for title in ["Pay rent", "Call mum"] {
        let due = json!({ "date": later, "time": "09:00" });
        tasks.push(api.task(json!({ "title": title, "due": due, "reminders": ["at due"] })).await);
    }
    assert!(api.get("/api/v1/notifications").await["items"].as_array().unwrap().is_empty());
    let now = chrono::Utc::now().timestamp_millis();
    let db = app.db.as_ref().unwrap();
    db.execute(&format!("UPDATE timers SET fire_at = {now} WHERE label = 'At the due time'")).await;

    let list = notifications_once(&api, 2).await;
    assert_eq!((list["unread"].clone(), list["next_before"].clone()), (json!(2), Value::Null));
    let items = list["items"].as_array().unwrap();
    assert!(items.iter().all(|n| n["kind"] == "reminder" && n["read"] == false), "{list}");
    let mut about: Vec<&str> = items.iter().map(|n| n["task_id"].as_str().unwrap()).collect();
    about.sort_unstable();
    tasks.sort_unstable();
    assert_eq!(about, tasks);
    let (newer, older) = (items[0]["seq"].as_i64().unwrap(), items[1]["seq"].as_i64().unwrap());
    assert!(newer > older, "newest first: {list}");
    let page = api.get(&format!("/api/v1/notifications?before={newer}")).await;
    assert_eq!(page["items"].as_array().unwrap().len(), 1);
    assert_eq!((page["items"][0]["seq"].as_i64(), page["next_before"].clone()), (Some(older), Value::Null));

    let read = api.post(&format!("/api/v1/notifications/{older}/read"), json!({})).await;
    assert_eq!(read, json!({ "marked": 1, "unread": 1 }));
    let again = api.post(&format!("/api/v1/notifications/{older}/read"), json!({})).await;
    assert_eq!(again, json!({ "marked": 0, "unread": 1 }), "read already");

    let snooze = format!("/api/v1/notifications/{newer}/snooze");
    assert_eq!(api.refused(Method::POST, &snooze, Some(json!({ "for": "later" }))).await, ["for"]);
    assert_eq!(api.refused(Method::POST, &snooze, Some(json!({}))).await, ["for"]);
    assert_eq!(api.refused(Method::POST, &snooze, Some(json!({ "until": "2001-01-01 09:00" }))).await, ["until"]);
    assert_eq!(api.refused(Method::POST, &snooze, Some(json!({ "until": "soon" }))).await, ["until"]);
    assert_eq!(api.refused(Method::POST, &snooze, Some(json!({ "for": "1h", "until": "soon" }))).await, ["until"]);
    assert_eq!(api.refused(Method::POST, &snooze, Some(json!({ "for": 10 }))).await, ["for"]);
    assert_eq!(api.get("/api/v1/notifications").await["unread"], 1, "a refused snooze marks nothing read");

    let snoozed = api.post(&snooze, json!({ "for": "1h" })).await;
    assert_eq!(snoozed["seq"].as_i64(), Some(newer));
    let until = chrono::DateTime::parse_from_rfc3339(snoozed["until"].as_str().unwrap()).unwrap();
    let ahead = until.with_timezone(&chrono::Utc) - chrono::Utc::now();
    assert!(ahead > chrono::Duration::minutes(55) && ahead <= chrono::Duration::minutes(60), "{snoozed}");
    assert!(snoozed["until_local"].as_str().unwrap().contains(':'), "{snoozed}");
    assert_eq!(app.store.pending_timers().await.unwrap(), 1, "the snooze waits to remind again");
    let after = api.get("/api/v1/notifications").await;
    assert_eq!(after["unread"], 0, "a snoozed reminder is read: {after}");
    assert!(after["items"].as_array().unwrap().iter().all(|n| n["read"] == true));

    api.ok(Method::POST, &format!("/api/v1/tasks/{}/complete", tasks[0]), None, StatusCode::OK).await;
    api.ok(Method::POST, &format!("/api/v1/tasks/{}/complete", tasks[1]), None, StatusCode::OK).await;
    assert_eq!(api.refused(Method::POST, &snooze, Some(json!({ "for": "10m" }))).await, ["seq"], "its task is done");

    assert_eq!(api.post("/api/v1/notifications/read-all", json!({})).await, json!({ "marked": 0, "unread": 0 }));
    assert_eq!(api.refused(Method::GET, "/api/v1/notifications?before=0", None).await, ["before"]);
    assert_eq!(api.refused(Method::GET, "/api/v1/notifications?before=soon", None).await, ["before"]);
    api.not_found(Method::POST, "/api/v1/notifications/999/read", None).await;
    api.not_found(Method::POST, "/api/v1/notifications/first/read", None).await;
    api.not_found(Method::POST, "/api/v1/notifications/999/snooze", Some(json!({ "for": "10m" }))).await;

    let (other, token) = stranger(&app).await;
    let stranger = Api { app: &other, token };
    assert_eq!(stranger.get("/api/v1/notifications").await, json!({ "items": [], "next_before": null, "unread": 0 }));
    stranger.not_found(Method::POST, &format!("/api/v1/notifications/{newer}/read"), None).await;
    stranger.not_found(Method::POST, &snooze, Some(json!({ "for": "10m" }))).await;
}

#[tokio::test]
async fn read_all_marks_every_unread_notification_read() {
    let app = spawn_app().await;
    app.sign_up().await;
    let api = Api::new(&app, true).await;
    let later = (chrono::Utc::now().date_naive() + chrono::Days::new(3)).to_string();
    for title in ["Water plants", "Feed the cat"] {
        let due = json!({ "date": later, "time": "09:00" });
        api.task(json!({ "title": title, "due": due, "reminders": ["at due"] })).await;
    }
    let now = chrono::Utc::now().timestamp_millis();
    let db = app.db.as_ref().unwrap();
    db.execute(&format!("UPDATE timers SET fire_at = {now} WHERE label = 'At the due time'")).await;
    assert_eq!(notifications_once(&api, 2).await["unread"], 2);

    assert_eq!(api.post("/api/v1/notifications/read-all", json!({})).await, json!({ "marked": 2, "unread": 0 }));
    let list = api.get("/api/v1/notifications").await;
    assert!(list["items"].as_array().unwrap().iter().all(|n| n["read"] == true), "{list}");
}

#[tokio::test]
async fn the_activity_log_is_read_a_page_at_a_time_with_each_entry_on_one_page() {
    let app = spawn_app().await;
    app.sign_up().await;
    let api = Api::new(&app, true).await;
    for i in 0..6 {
        api.task(json!({ "title": format!("Task {i}") })).await;
    }
    // Recorded or not yet, an entry keeps its place in the pages.
    let whole = api.get("/api/v1/activity").await;
    let ids = |page: &Value| -> Vec<String> {
        page["items"].as_array().unwrap().iter().map(|e| e["id"].as_str().unwrap().to_owned()).collect()
    };
    assert_eq!(ids(&whole).len(), 7, "six tasks and the account: {whole}");
    assert_eq!(whole["next_cursor"], Value::Null, "one page holds it all");

    let mut paged = Vec::new();
    let mut path = "/api/v1/activity?limit=3".to_owned();
    let mut pages = 0;
    loop {
        let page = api.get(&path).await;
        pages += 1;
        paged.extend(ids(&page));
        match page["next_cursor"].as_str() {
            Some(cursor) => path = format!("/api/v1/activity?limit=3&cursor={cursor}"),
            None => break,
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(paged, ids(&whole), "the pages hold the log once, in order");

    let refused = api.refused(Method::GET, "/api/v1/activity?limit=0&cursor=yesterday", None).await;
    assert_eq!(refused, ["limit", "cursor"], "every bad parameter is named at once");
}

#[tokio::test]
async fn the_activity_log_lists_changes_newest_first_for_all_tasks_or_one_even_after_it_is_deleted() {
    let app = spawn_app().await;
    app.sign_up().await;
    let api = Api::new(&app, true).await;
    let id = api.task(json!({ "title": "Draft" })).await;
    let other = api.task(json!({ "title": "Other" })).await;
    api.patch(&format!("/api/v1/tasks/{id}"), json!({ "title": "Final" })).await;
    api.post(&format!("/api/v1/tasks/{id}/complete"), json!({})).await;
    // The store reads the log and the events not yet recorded in two
    // statements, so an event recorded between them is missed; wait until
    // every one is recorded.
    app.settle().await;

    let types = |log: &Value| -> Vec<String> {
        log["items"].as_array().unwrap().iter().map(|e| e["event_type"].as_str().unwrap().to_owned()).collect()
    };
    let log = api.get("/api/v1/activity").await;
    assert_eq!(types(&log)[..4], ["task.completed", "task.updated", "task.created", "task.created"]);
    let newest = &log["items"][0];
    assert_eq!(newest["task_id"].as_str(), Some(id.as_str()));
    assert!(newest["summary"].as_str().unwrap().contains("Final"), "{newest}");
    assert!(newest["id"].is_string() && newest["occurred_at"].as_str().unwrap().ends_with('Z'), "{newest}");

    let one = api.get(&format!("/api/v1/activity?task={id}")).await;
    assert_eq!(types(&one), ["task.completed", "task.updated", "task.created"]);
    assert_eq!(api.get("/api/v1/activity?limit=1").await["items"].as_array().unwrap().len(), 1);

    let res = api.send(Method::DELETE, &format!("/api/v1/tasks/{id}"), None).await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    app.settle().await;
    let history = api.get(&format!("/api/v1/activity?task={id}")).await;
    assert_eq!(types(&history), ["task.deleted", "task.completed", "task.updated", "task.created"]);
    assert_eq!(types(&api.get(&format!("/api/v1/activity?task={other}")).await), ["task.created"]);

    assert_eq!(api.refused(Method::GET, "/api/v1/activity?limit=0", None).await, ["limit"]);
    assert_eq!(api.refused(Method::GET, "/api/v1/activity?limit=201", None).await, ["limit"]);
    api.not_found(Method::GET, "/api/v1/activity?task=0190f3c2-8b1e-7c4e-9a55-000000000000", None).await;
    api.not_found(Method::GET, "/api/v1/activity?task=draft", None).await;

    let (other_app, token) = stranger(&app).await;
    let stranger = Api { app: &other_app, token };
    stranger.not_found(Method::GET, &format!("/api/v1/activity?task={other}"), None).await;
    let theirs = stranger.get("/api/v1/activity").await;
    assert!(!theirs.to_string().contains(&other), "none of the first user's entries: {theirs}");
}

#[tokio::test]
async fn complete_and_reopen_answer_the_task_with_its_etag_and_refuse_a_stale_if_match() {
    let app = spawn_app().await;
    app.sign_up().await;
    let api = Api::new(&app, true).await;
    let id = api.task(json!({ "title": "Water plants" })).await;
    let path = format!("/api/v1/tasks/{id}");
    let etag_of = |res: &reqwest::Response| res.headers()[ETAG].to_str().unwrap().to_owned();
    let first = etag_of(&api.send(Method::GET, &path, None).await);

    let res = api.send(Method::POST, &format!("{path}/complete"), None).await;
    assert_eq!(res.status(), StatusCode::OK);
    let done_tag = etag_of(&res);
    let done: Value = res.json().await.unwrap();
    assert_eq!((done["completed"].clone(), done["completed_at"].is_string()), (json!(true), true));
    let res = api.send(Method::GET, &path, None).await;
    assert_eq!(etag_of(&res), done_tag, "the answer's ETag is the task's");
    assert_eq!(res.json::<Value>().await.unwrap(), done);
    assert_ne!(done_tag, first);

    let again = api.send(Method::POST, &format!("{path}/complete"), None).await;
    assert_eq!((again.status(), etag_of(&again)), (StatusCode::OK, done_tag.clone()), "done already: unchanged");

    let stale = client().post(app.url(&format!("{path}/reopen"))).bearer_auth(&api.token).header(IF_MATCH, &first);
    let body = problem(stale.send().await.unwrap(), 412).await;
    assert_eq!(body["type"], "urn:cadence:problem:precondition_failed");
    assert_eq!(api.get(&path).await["completed"], true, "a stale reopen writes nothing");

    let current = client().post(app.url(&format!("{path}/reopen"))).bearer_auth(&api.token).header(IF_MATCH, &done_tag);
    let res = current.send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_ne!(etag_of(&res), done_tag);
    let open: Value = res.json().await.unwrap();
    assert_eq!((open["completed"].clone(), open["completed_at"].clone()), (json!(false), Value::Null));
    let bad = client().post(app.url(&format!("{path}/complete"))).bearer_auth(&api.token).header(IF_MATCH, "nope");
    problem(bad.send().await.unwrap(), 400).await;

    api.not_found(Method::POST, "/api/v1/tasks/0190f3c2-8b1e-7c4e-9a55-000000000000/complete", None).await;
    api.not_found(Method::POST, "/api/v1/tasks/not-an-id/reopen", None).await;
}

#[tokio::test]
async fn a_bulk_action_changes_every_task_named_answers_its_undo_and_the_undo_puts_them_back_once() {
    let app = spawn_app().await;
    app.sign_up().await;
    let api = Api::new(&app, true).await;
    let mut ids = Vec::new();
    for title in ["Pay rent", "Buy milk", "Call mum"] {
        ids.push(api.task(json!({ "title": title, "priority": "low" })).await);
    }
    let priority = |id: &str| {
        let path = format!("/api/v1/tasks/{id}");
        let api = &api;
        async move { api.get(&path).await["priority"].as_str().unwrap().to_owned() }
    };

    let high = json!({ "ids": [ids[0], ids[1], ids[0]], "action": { "type": "priority", "priority": "high" } });
    let done = api.post("/api/v1/tasks/bulk", high.clone()).await;
    assert_eq!((done["changed"].clone(), done["summary"].clone()), (json!(2), json!("2 tasks set to high priority")));
    let undo = done["undo"].as_str().unwrap().to_owned();
    assert_eq!(
        (priority(&ids[0]).await, priority(&ids[1]).await, priority(&ids[2]).await),
        ("high".into(), "high".into(), "low".into())
    );
    let nothing = api.post("/api/v1/tasks/bulk", high).await;
    assert_eq!(
        (nothing["changed"].clone(), nothing["undo"].clone()),
        (json!(0), Value::Null),
        "nothing left to change"
    );

    let later = json!({ "ids": [ids[1], ids[2]], "action": { "type": "tag", "tag": "#Urgent" } });
    assert_eq!(api.post("/api/v1/tasks/bulk", later).await["summary"], "#urgent added to 2 tasks");
    assert_eq!(api.get(&format!("/api/v1/tasks/{}", ids[2])).await["tags"], json!(["urgent"]));

    let undone = api.post(&format!("/api/v1/undo/{undo}"), json!({})).await;
    assert_eq!(undone, json!({ "summary": "2 tasks set to high priority" }));
    assert_eq!(priority(&ids[0]).await, "low", "back as it was");
    let changed_since = api.get(&format!("/api/v1/tasks/{}", ids[1])).await;
    assert_eq!(
        (changed_since["priority"].as_str(), changed_since["tags"].clone()),
        (Some("high"), json!(["urgent"])),
        "a task changed again since keeps that change"
    );
    api.not_found(Method::POST, &format!("/api/v1/undo/{undo}"), None).await;
    api.not_found(Method::POST, "/api/v1/undo/not-an-id", None).await;

    // All or nothing: one id that is not a task of the caller's fails the lot.
    let unknown = "0190f3c2-8b1e-7c4e-9a55-000000000000";
    for bad in [unknown, "not-an-id"] {
        let body = json!({ "ids": [ids[0], bad], "action": { "type": "complete" } });
        let problem = problem(api.send(Method::POST, "/api/v1/tasks/bulk", Some(body)).await, 404).await;
        assert!(problem["detail"].as_str().unwrap().contains("ids"), "{problem}");
    }
    assert_eq!(api.get(&format!("/api/v1/tasks/{}", ids[0])).await["completed"], false, "nothing was completed");

    let bulk = "/api/v1/tasks/bulk";
    let body = |ids: Value, action: Value| Some(json!({ "ids": ids, "action": action }));
    let one = json!([ids[0]]);
    assert_eq!(api.refused(Method::POST, bulk, body(json!([]), json!({ "type": "complete" }))).await, ["ids"]);
    let many: Vec<String> = (0..1001).map(|_| uuid::Uuid::now_v7().to_string()).collect();
    assert_eq!(api.refused(Method::POST, bulk, body(json!(many), json!({ "type": "delete" }))).await, ["ids"]);
    assert_eq!(api.refused(Method::POST, bulk, body(json!([5]), json!({ "type": "complete" }))).await, ["ids[0]"]);
    assert_eq!(api.refused(Method::POST, bulk, body(one.clone(), json!({ "type": "explode" }))).await, ["action.type"]);
    let loud = json!({ "type": "priority", "priority": "loud" });
    assert_eq!(api.refused(Method::POST, bulk, body(one.clone(), loud)).await, ["action.priority"]);
    assert_eq!(
        api.refused(Method::POST, bulk, body(one.clone(), json!({ "type": "untag", "tag": "a/b" }))).await,
        ["action.tag"]
    );
    assert_eq!(
        api.refused(Method::POST, bulk, body(one, json!({ "type": "complete", "tag": "x" }))).await,
        ["action.tag"]
    );
    assert_eq!(api.refused(Method::POST, bulk, Some(json!({ "ids": [] }))).await, ["action"]);
}

#[tokio::test]
async fn another_users_tags_views_tasks_and_undo_ids_are_not_found_and_stay_as_they_were() {
    let app = spawn_app().await;
    app.sign_up().await;
    let owner = Api::new(&app, true).await;
    let id = owner.task(json!({ "title": "Private", "tags": ["money"] })).await;
    let view = owner
        .ok(Method::POST, "/api/v1/views", Some(json!({ "name": "Money", "query": "#money" })), StatusCode::CREATED)
        .await;
    let view_id = view["id"].as_str().unwrap();
    let done = owner
        .post("/api/v1/tasks/bulk", json!({ "ids": [id], "action": { "type": "priority", "priority": "high" } }))
        .await;
    let undo = done["undo"].as_str().unwrap();
    let task_before = owner.get(&format!("/api/v1/tasks/{id}")).await;

    let (other, token) = stranger(&app).await;
    let stranger = Api { app: &other, token };
    for (method, path, body) in [
        (Method::PATCH, "/api/v1/tags/money".to_owned(), Some(json!({ "name": "mine", "colour": "red" }))),
        (Method::DELETE, "/api/v1/tags/money".to_owned(), None),
        (Method::GET, format!("/api/v1/views/{view_id}/tasks"), None),
        (Method::POST, format!("/api/v1/views/{view_id}/move"), Some(json!({ "direction": "down" }))),
        (Method::DELETE, format!("/api/v1/views/{view_id}"), None),
        (Method::POST, format!("/api/v1/tasks/{id}/complete"), None),
        (Method::POST, format!("/api/v1/tasks/{id}/reopen"), None),
        (Method::POST, "/api/v1/tasks/bulk".to_owned(), Some(json!({ "ids": [id], "action": { "type": "delete" } }))),
        (Method::POST, format!("/api/v1/undo/{undo}"), None),
    ] {
        stranger.not_found(method, &path, body).await;
    }
    assert_eq!(stranger.get("/api/v1/tags").await, json!({ "items": [] }));
    assert_eq!(stranger.get("/api/v1/views").await, json!({ "items": [] }));

    assert_eq!(owner.get(&format!("/api/v1/tasks/{id}")).await, task_before, "the task is as it was");
    assert_eq!(names(&owner.get("/api/v1/tags").await), ["money"]);
    assert_eq!(owner.get("/api/v1/views").await["items"][0]["id"], view["id"]);
    let undone = owner.post(&format!("/api/v1/undo/{undo}"), json!({})).await;
    assert_eq!(undone["summary"], "1 task set to high priority", "the stranger's try left the undo for its owner");
}

#[tokio::test]
async fn a_read_only_token_reads_every_resource_and_is_refused_every_write_with_a_403() {
    let app = spawn_app().await;
    app.sign_up().await;
    let writer = Api::new(&app, true).await;
    let reader = Api::new(&app, false).await;
    let id = writer.task(json!({ "title": "Pay rent", "tags": ["money"] })).await;
    let view = writer
        .ok(Method::POST, "/api/v1/views", Some(json!({ "name": "Money", "query": "#money" })), StatusCode::CREATED)
        .await;
    let view_id = view["id"].as_str().unwrap();
    let done = writer
        .post("/api/v1/tasks/bulk", json!({ "ids": [id], "action": { "type": "priority", "priority": "high" } }))
        .await;
    let undo = done["undo"].as_str().unwrap();
    let before = writer.get(&format!("/api/v1/tasks/{id}")).await;

    for path in [
        "/api/v1/tags".to_owned(),
        "/api/v1/views".to_owned(),
        format!("/api/v1/views/{view_id}/tasks"),
        "/api/v1/notifications".to_owned(),
        "/api/v1/activity".to_owned(),
    ] {
        reader.get(&path).await;
    }
    for (method, path, body) in [
        (Method::PATCH, "/api/v1/tags/money".to_owned(), Some(json!({ "colour": "red" }))),
        (Method::DELETE, "/api/v1/tags/money".to_owned(), None),
        (Method::POST, "/api/v1/views".to_owned(), Some(json!({ "name": "Mine", "query": "" }))),
        (Method::POST, format!("/api/v1/views/{view_id}/move"), Some(json!({ "direction": "down" }))),
        (Method::DELETE, format!("/api/v1/views/{view_id}"), None),
        (Method::POST, "/api/v1/notifications/1/read".to_owned(), None),
        (Method::POST, "/api/v1/notifications/read-all".to_owned(), None),
        (Method::POST, "/api/v1/notifications/1/snooze".to_owned(), Some(json!({ "for": "10m" }))),
        (Method::POST, format!("/api/v1/tasks/{id}/complete"), None),
        (Method::POST, format!("/api/v1/tasks/{id}/reopen"), None),
        (Method::POST, "/api/v1/tasks/bulk".to_owned(), Some(json!({ "ids": [id], "action": { "type": "delete" } }))),
        (Method::POST, format!("/api/v1/undo/{undo}"), None),
    ] {
        let body = problem(reader.send(method.clone(), &path, body).await, 403).await;
        assert_eq!(body["type"], "urn:cadence:problem:insufficient_scope", "{method} {path}");
    }
    assert_eq!(writer.get(&format!("/api/v1/tasks/{id}")).await, before, "nothing was changed");
    assert_eq!(writer.get("/api/v1/tags").await["items"][0]["colour"], Value::Null);
    assert_eq!(names(&writer.get("/api/v1/views").await), ["Money"]);
    assert_eq!(writer.post(&format!("/api/v1/undo/{undo}"), json!({})).await["summary"], "1 task set to high priority");
}

#[tokio::test]
async fn the_json_each_new_resource_sends_has_exactly_the_fields_its_documented_schema_names() {
    let app = spawn_app().await;
    app.sign_up().await;
    let api = Api::new(&app, true).await;
    let id = api.task(json!({ "title": "Pay rent", "tags": ["money"] })).await;
    let view = api
        .ok(Method::POST, "/api/v1/views", Some(json!({ "name": "Money", "query": "#money" })), StatusCode::CREATED)
        .await;
    let doc = document(&app).await;
    let check = |value: &Value, path: &str, method: &str, status: &str| {
        let schema = answer_schema(&doc, path, method, status);
        assert_eq!(keys(value), properties(&doc, schema), "{method} {path}: {value}");
        resolve(&doc, schema).clone()
    };
    let item_of = |schema: &Value, field: &str| schema["properties"][field]["items"].clone();

    let tags = api.get("/api/v1/tags").await;
    let schema = check(&tags, "/api/v1/tags", "get", "200");
    assert_eq!(keys(&tags["items"][0]), properties(&doc, &item_of(&schema, "items")), "a tag: {tags}");
    let patched = api.patch("/api/v1/tags/money", json!({ "colour": "red" })).await;
    check(&patched, "/api/v1/tags/{name}", "patch", "200");

    check(&view, "/api/v1/views", "post", "201");
    let views = api.get("/api/v1/views").await;
    let schema = check(&views, "/api/v1/views", "get", "200");
    assert_eq!(keys(&views["items"][0]), properties(&doc, &item_of(&schema, "items")), "a view: {views}");
    let view_id = view["id"].as_str().unwrap();
    let moved = api.post(&format!("/api/v1/views/{view_id}/move"), json!({ "direction": "up" })).await;
    check(&moved, "/api/v1/views/{id}/move", "post", "200");
    let page = api.get(&format!("/api/v1/views/{view_id}/tasks")).await;
    let schema = check(&page, "/api/v1/views/{id}/tasks", "get", "200");
    assert_eq!(keys(&page["items"][0]), properties(&doc, &item_of(&schema, "items")), "a view's task: {page}");

    let done = api.post(&format!("/api/v1/tasks/{id}/complete"), json!({})).await;
    check(&done, "/api/v1/tasks/{id}/complete", "post", "200");
    let bulk = api.post("/api/v1/tasks/bulk", json!({ "ids": [id], "action": { "type": "reopen" } })).await;
    check(&bulk, "/api/v1/tasks/bulk", "post", "200");
    let undone = api.post(&format!("/api/v1/undo/{}", bulk["undo"].as_str().unwrap()), json!({})).await;
    check(&undone, "/api/v1/undo/{id}", "post", "200");

    let log = api.get("/api/v1/activity").await;
    let schema = check(&log, "/api/v1/activity", "get", "200");
    assert_eq!(keys(&log["items"][0]), properties(&doc, &item_of(&schema, "items")), "an entry: {log}");
    check(&api.get("/api/v1/notifications").await, "/api/v1/notifications", "get", "200");
    check(
        &api.post("/api/v1/notifications/read-all", json!({})).await,
        "/api/v1/notifications/read-all",
        "post",
        "200",
    );
    let deleted = api.ok(Method::DELETE, "/api/v1/tags/money", None, StatusCode::OK).await;
    check(&deleted, "/api/v1/tags/{name}", "delete", "200");
}
