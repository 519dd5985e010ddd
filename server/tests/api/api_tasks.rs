//! The REST API's tasks over real HTTP with a personal access token: create,
//! read, list with `q` and cursor pages, PATCH that changes only what it
//! names, completing a repeating task, delete, and every error a problem;
//! ETags, with `If-Match` refusing a stale change or delete under the lock;
//! `Idempotency-Key` making a retried create once.

use reqwest::header::{ACCEPT_ENCODING, CONTENT_ENCODING, CONTENT_TYPE, ETAG, IF_MATCH, IF_NONE_MATCH, LOCATION};
use reqwest::{RequestBuilder, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{client, spawn_app, spawn_on, test_config, TestApp, TestDb};
use crate::tokens::{new_token, problem};

/// A caller of the API with one token and no cookies.
struct Api<'a> {
    app: &'a TestApp,
    token: String,
}

impl<'a> Api<'a> {
    async fn new(app: &'a TestApp, write: bool) -> Api<'a> {
        let name = if write { "Writer" } else { "Reader" };
        Api { app, token: new_token(app, name, write).await }
    }

    fn request(&self, method: reqwest::Method, path: &str) -> RequestBuilder {
        client().request(method, self.app.url(path)).bearer_auth(&self.token)
    }

    async fn get(&self, path: &str) -> (StatusCode, Value) {
        read(self.request(reqwest::Method::GET, path)).await
    }

    async fn post(&self, body: Value) -> (StatusCode, Value) {
        read(self.request(reqwest::Method::POST, "/api/v1/tasks").json(&body)).await
    }

    async fn patch(&self, id: &str, body: Value) -> (StatusCode, Value) {
        read(self.request(reqwest::Method::PATCH, &format!("/api/v1/tasks/{id}")).json(&body)).await
    }

    async fn delete(&self, path: &str) -> StatusCode {
        self.request(reqwest::Method::DELETE, path).send().await.unwrap().status()
    }

    /// Creates a task and returns its JSON.
    async fn create(&self, body: Value) -> Value {
        let (status, task) = self.post(body).await;
        assert_eq!(status, StatusCode::CREATED, "{task}");
        task
    }
}

async fn read(req: RequestBuilder) -> (StatusCode, Value) {
    let res = req.send().await.unwrap();
    let status = res.status();
    (status, res.json().await.unwrap_or(Value::Null))
}

/// The fields a 422 problem names, in its order.
async fn named_fields(res: reqwest::Response) -> Vec<String> {
    let body = problem(res, 422).await;
    body["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap().to_owned()).collect()
}

fn titles(list: &Value) -> Vec<&str> {
    list["items"].as_array().unwrap().iter().map(|t| t["title"].as_str().unwrap()).collect()
}

#[tokio::test]
async fn a_task_created_over_the_api_reads_back_with_every_field_and_lists_by_q_in_cursor_pages() {
    let app = spawn_app().await;
    app.sign_up().await;
    let api = Api::new(&app, true).await;

    let res = api
        .request(reqwest::Method::POST, "/api/v1/tasks")
        .json(&json!({
            "title": " Pay rent ",
            "description": "To *Ms* Smith",
            "priority": "high",
            "tags": ["Home", "#money"],
            "due": { "date": "2030-01-01", "time": "09:00" },
            "repeat": "FREQ=MONTHLY;BYMONTHDAY=1",
            "reminders": ["1d", "at due"]
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    let location = res.headers()[LOCATION].to_str().unwrap().to_owned();
    let created: Value = res.json().await.unwrap();
    assert_eq!(location, format!("/api/v1/tasks/{}", created["id"].as_str().unwrap()));
    assert_eq!(created["title"], "Pay rent");
    assert_eq!(created["description"], "To *Ms* Smith");
    assert_eq!(created["priority"], "high");
    assert_eq!(created["tags"], json!(["home", "money"]));
    assert_eq!(created["due"]["date"], "2030-01-01");
    assert_eq!(created["due"]["time"], "09:00");
    assert_eq!(created["due"]["zone"], "Europe/Berlin", "a due date is read in the caller's zone");
    assert_eq!(created["due"]["at"], "2030-01-01T08:00:00.000000Z");
    assert!(created["repeat"].as_str().unwrap().contains("FREQ=MONTHLY"), "{created}");
    assert_eq!(created["repeat_from"], "schedule");
    assert_eq!(created["reminders"], json!(["1d", "at due"]));
    assert_eq!((created["completed"].clone(), created["completed_at"].clone()), (json!(false), Value::Null));

    let (status, read_back) = api.get(&location).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(read_back, created, "a task reads back as it was created");

    for title in ["Buy milk", "Buy bread", "Call mum", "Water plants"] {
        api.create(json!({ "title": title })).await;
    }
    let (status, found) = api.get("/api/v1/tasks?q=buy").await;
    assert_eq!(status, StatusCode::OK);
    let mut bought = titles(&found);
    bought.sort_unstable();
    assert_eq!(bought, ["Buy bread", "Buy milk"]);
    assert_eq!((found["total"].clone(), found["total_exact"].clone()), (json!(2), json!(true)));
    let (_, home) = api.get("/api/v1/tasks?q=%23home%20!high").await;
    assert_eq!(titles(&home), ["Pay rent"]);

    let (mut seen, mut cursor, mut pages) = (Vec::new(), None::<String>, 0);
    loop {
        let path = match &cursor {
            Some(c) => format!("/api/v1/tasks?limit=2&cursor={c}"),
            None => "/api/v1/tasks?limit=2".to_owned(),
        };
        let (status, page) = api.get(&path).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        assert_eq!(page["total"], 5);
        assert!(page["items"].as_array().unwrap().len() <= 2);
        seen.extend(titles(&page).into_iter().map(str::to_owned));
        pages += 1;
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    assert_eq!(pages, 3);
    let (_, all) = api.get("/api/v1/tasks?limit=1000").await;
    let all: Vec<String> = titles(&all).into_iter().map(str::to_owned).collect();
    assert_eq!(seen, all, "the pages hold every task once, in the list's order");
    assert_eq!(all[0], "Pay rent", "dated tasks first, as on the list page");
}

#[tokio::test]
async fn a_patch_changes_only_the_fields_it_names_and_null_clears_them() {
    let app = spawn_app().await;
    app.sign_up().await;
    let api = Api::new(&app, true).await;
    let task = api
        .create(json!({
            "title": "Write report",
            "description": "Quarterly",
            "tags": ["work"],
            "due": { "date": "2030-03-04" },
            "reminders": ["1d"]
        }))
        .await;
    let id = task["id"].as_str().unwrap();

    let (status, patched) = api.patch(id, json!({ "priority": "urgent" })).await;
    assert_eq!(status, StatusCode::OK, "{patched}");
    assert_eq!(patched["priority"], "urgent");
    for field in ["title", "description", "tags", "due", "repeat", "reminders", "created_at"] {
        assert_eq!(patched[field], task[field], "{field} is left alone");
    }
    let (_, stored) = api.get(&format!("/api/v1/tasks/{id}")).await;
    assert_eq!(stored, patched);

    let (status, cleared) = api.patch(id, json!({ "description": null, "tags": null, "due": null })).await;
    assert_eq!(status, StatusCode::OK, "{cleared}");
    assert_eq!((cleared["description"].clone(), cleared["tags"].clone()), (Value::Null, json!([])));
    assert_eq!(cleared["due"], Value::Null);
    assert_eq!((cleared["title"].clone(), cleared["priority"].clone()), (task["title"].clone(), json!("urgent")));

    let path = format!("/api/v1/tasks/{id}");
    let bad = |body: Value| api.request(reqwest::Method::PATCH, &path).json(&body).send();
    assert_eq!(named_fields(bad(json!({ "priority": "asap" })).await.unwrap()).await, ["priority"]);
    assert_eq!(named_fields(bad(json!({ "title": null, "done": true })).await.unwrap()).await, ["done", "title"]);
    assert_eq!(named_fields(bad(json!({ "due": { "time": "09:00" } })).await.unwrap()).await, ["due.date"]);
    let fields =
        named_fields(bad(json!({ "title": "", "reminders": ["soon"], "repeat": "FREQ=DAILY" })).await.unwrap());
    assert_eq!(fields.await, ["title", "due.date", "reminders"], "a repeat needs the due date this patch cleared");
    let (_, unchanged) = api.get(&path).await;
    assert_eq!(unchanged, cleared, "a refused patch writes nothing");
}

#[tokio::test]
async fn completing_a_repeating_task_keeps_its_rule_and_makes_the_next_instance_and_delete_ends_the_series() {
    let app = spawn_app().await;
    app.sign_up().await;
    let api = Api::new(&app, true).await;
    let task = api
        .create(json!({
            "title": "Team sync",
            "due": { "date": "2030-01-07", "time": "10:00" },
            "repeat": "FREQ=WEEKLY;BYDAY=MO",
            "reminders": ["15m"]
        }))
        .await;
    let id = task["id"].as_str().unwrap();

    let (status, done) = api.patch(id, json!({ "completed": true })).await;
    assert_eq!(status, StatusCode::OK, "{done}");
    assert_eq!(done["completed"], true);
    assert!(done["completed_at"].is_string());
    assert_eq!((done["repeat"].clone(), done["title"].clone()), (task["repeat"].clone(), task["title"].clone()));
    app.settle().await;

    let (_, series) = api.get("/api/v1/tasks?q=is:all%20sync").await;
    assert_eq!(series["total"], 2, "{series}");
    let next = series["items"].as_array().unwrap().iter().find(|t| t["completed"] == false).unwrap();
    let next_id = next["id"].as_str().unwrap().to_owned();
    let (_, next) = api.get(&format!("/api/v1/tasks/{next_id}")).await;
    assert_eq!(next["due"]["date"], "2030-01-14");
    assert_eq!((next["repeat"].clone(), next["reminders"].clone()), (task["repeat"].clone(), json!(["15m"])));

    let (status, reopened) = api.patch(id, json!({ "completed": false, "title": "Team sync (moved)" })).await;
    assert_eq!(status, StatusCode::OK, "{reopened}");
    assert_eq!((reopened["completed"].clone(), reopened["title"].clone()), (json!(false), json!("Team sync (moved)")));
    assert_eq!(reopened["repeat"], task["repeat"], "reopening and editing keep the rule");

    let path = format!("/api/v1/tasks/{next_id}");
    let res = api.request(reqwest::Method::DELETE, &format!("{path}?scope=sideways")).send().await.unwrap();
    assert_eq!(named_fields(res).await, ["scope"]);
    assert_eq!(api.delete(&format!("{path}?scope=following")).await, StatusCode::NO_CONTENT);
    problem(api.request(reqwest::Method::GET, &path).send().await.unwrap(), 404).await;
    assert_eq!(api.delete(&format!("/api/v1/tasks/{id}")).await, StatusCode::NO_CONTENT);
    app.settle().await;
    let (_, left) = api.get("/api/v1/tasks?q=is:all").await;
    assert_eq!(left["total"], 0, "the ended series makes no next instance: {left}");
}

#[tokio::test]
async fn a_patch_that_edits_and_completes_keeps_both_changes_or_neither() {
    let db = TestDb::for_http().await;
    let app = spawn_on(&db, test_config(&db)).await;
    app.sign_up().await;
    let api = Api::new(&app, true).await;
    let task = api.create(json!({ "title": "Draft", "priority": "low" })).await;
    let id = task["id"].as_str().unwrap();
    // The database refuses to complete a task titled "Refused": the edit
    // alone would be accepted, the completion after it is not.
    match &db {
        TestDb::Sqlite { .. } => {
            db.execute(
                "CREATE TRIGGER refuse BEFORE UPDATE ON tasks \
                 WHEN NEW.completed_at IS NOT NULL AND NEW.title = 'Refused' \
                 BEGIN SELECT RAISE(ABORT, 'refused'); END",
            )
            .await
        }
        TestDb::Postgres { .. } => {
            db.execute(
                "CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN \
                 IF NEW.completed_at IS NOT NULL AND NEW.title = 'Refused' THEN RAISE EXCEPTION 'refused'; END IF; \
                 RETURN NEW; END $$",
            )
            .await;
            db.execute("CREATE TRIGGER refuse BEFORE UPDATE ON tasks FOR EACH ROW EXECUTE FUNCTION refuse()").await
        }
    }
    let (status, body) = api.patch(id, json!({ "title": "Refused", "priority": "high", "completed": true })).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR, "{body}");
    assert!(!body.to_string().contains("refused"), "no database text reaches the caller: {body}");
    let (_, now) = api.get(&format!("/api/v1/tasks/{id}")).await;
    assert_eq!(
        (now["title"].clone(), now["priority"].clone(), now["completed"].clone()),
        (json!("Draft"), json!("low"), json!(false)),
        "the edit went with the refused completion"
    );
    app.settle().await;
    let (_, activity) = api.get("/api/v1/activity").await;
    let types: Vec<&str> =
        activity["items"].as_array().unwrap().iter().map(|e| e["event_type"].as_str().unwrap()).collect();
    assert_eq!(types, ["task.created", "account.created"], "no event of either change");

    let (status, done) = api.patch(id, json!({ "title": "Final", "completed": true })).await;
    assert_eq!(status, StatusCode::OK, "{done}");
    assert_eq!((done["title"].clone(), done["completed"].clone()), (json!("Final"), json!(true)));
}

#[tokio::test]
async fn bad_requests_are_problems_naming_what_is_wrong_and_write_nothing() {
    let app = spawn_app().await;
    app.sign_up().await;
    let api = Api::new(&app, true).await;
    let post = |body: Value| api.request(reqwest::Method::POST, "/api/v1/tasks").json(&body).send();

    let fields = named_fields(
        post(json!({ "title": " ", "priority": "asap", "due": { "date": "2030-02-30" }, "reminders": ["soon"] }))
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(fields, ["due.date", "title", "priority", "reminders"]);
    let fields = named_fields(post(json!({ "title": 5, "tags": "x", "colour": "red" })).await.unwrap()).await;
    assert_eq!(fields, ["colour", "tags", "title"]);
    assert_eq!(named_fields(post(json!({ "description": "No title" })).await.unwrap()).await, ["title"]);
    assert_eq!(
        named_fields(
            post(json!({ "title": "x", "due": { "date": "2030-01-01" }, "repeat": "FREQ=HOURLY" })).await.unwrap()
        )
        .await,
        ["repeat"]
    );
    assert_eq!(named_fields(post(json!(["title"])).await.unwrap()).await, ["body"]);
    assert_eq!(named_fields(post(json!({ "title": "x", "completed": true })).await.unwrap()).await, ["completed"]);

    let raw = |content_type: &str, body: String| {
        api.request(reqwest::Method::POST, "/api/v1/tasks").header(CONTENT_TYPE, content_type).body(body).send()
    };
    let body = problem(raw("application/json", "{\"title\": ".into()).await.unwrap(), 400).await;
    assert!(body["detail"].as_str().unwrap().contains("not valid JSON"), "{body}");
    problem(raw("application/x-www-form-urlencoded", "title=x".into()).await.unwrap(), 415).await;
    let huge = json!({ "title": "x", "description": "y".repeat(100_000) }).to_string();
    problem(raw("application/json", huge).await.unwrap(), 413).await;

    for query in ["q=is:bogus", "limit=0", "limit=1001", "cursor=NOT%20A%20CURSOR"] {
        let res = api.request(reqwest::Method::GET, &format!("/api/v1/tasks?{query}")).send().await.unwrap();
        let expected = query.split('=').next().unwrap();
        assert_eq!(named_fields(res).await, [expected], "{query}");
    }
    let (_, list) = api.get("/api/v1/tasks?q=is:all").await;
    assert_eq!(list["total"], 0, "nothing was written");
}

#[tokio::test]
async fn a_task_is_closed_to_callers_without_a_token_read_tokens_that_write_and_other_users() {
    let app = spawn_app().await;
    app.sign_up().await;
    let writer = Api::new(&app, true).await;
    let reader = Api::new(&app, false).await;
    let task = writer.create(json!({ "title": "Mine" })).await;
    let path = format!("/api/v1/tasks/{}", task["id"].as_str().unwrap());

    problem(client().get(app.url("/api/v1/tasks")).send().await.unwrap(), 401).await;
    problem(client().post(app.url("/api/v1/tasks")).json(&json!({ "title": "x" })).send().await.unwrap(), 401).await;

    assert_eq!(reader.get(&path).await.0, StatusCode::OK);
    assert_eq!(reader.get("/api/v1/tasks").await.1["total"], 1);
    for res in [
        reader.request(reqwest::Method::POST, "/api/v1/tasks").json(&json!({ "title": "x" })).send().await.unwrap(),
        reader.request(reqwest::Method::PATCH, &path).json(&json!({ "title": "x" })).send().await.unwrap(),
        reader.request(reqwest::Method::DELETE, &path).send().await.unwrap(),
    ] {
        assert_eq!(problem(res, 403).await["type"], "urn:cadence:problem:insufficient_scope");
    }

    let other = TestApp::handle(&app);
    other.sign_up().await;
    let stranger = Api::new(&other, true).await;
    for res in [
        stranger.request(reqwest::Method::GET, &path).send().await.unwrap(),
        stranger.request(reqwest::Method::PATCH, &path).json(&json!({ "completed": true })).send().await.unwrap(),
        stranger.request(reqwest::Method::DELETE, &path).send().await.unwrap(),
        stranger.request(reqwest::Method::GET, "/api/v1/tasks/not-an-id").send().await.unwrap(),
    ] {
        assert_eq!(problem(res, 404).await["type"], "urn:cadence:problem:not_found");
    }
    assert_eq!(stranger.get("/api/v1/tasks").await.1["total"], 0);
    let (_, mine) = writer.get(&path).await;
    assert_eq!(mine, task, "nobody else changed it");
}

/// A task's JSON and its `ETag`, from an answer that shows one task.
async fn tagged(res: reqwest::Response, status: StatusCode) -> (Value, String) {
    assert_eq!(res.status(), status);
    let tag = res.headers()[ETAG].to_str().unwrap().to_owned();
    assert!(tag.starts_with('"') && tag.ends_with('"') && tag.len() > 2, "a strong, quoted ETag: {tag}");
    (res.json().await.unwrap(), tag)
}

#[tokio::test]
async fn a_stale_if_match_is_refused_with_a_412_and_the_task_is_left_as_it_was() {
    let app = spawn_app().await;
    app.sign_up().await;
    let api = Api::new(&app, true).await;
    let created = api.request(reqwest::Method::POST, "/api/v1/tasks").json(&json!({ "title": "Draft" })).send();
    let (task, first) = tagged(created.await.unwrap(), StatusCode::CREATED).await;
    let path = format!("/api/v1/tasks/{}", task["id"].as_str().unwrap());
    let (_, read) = tagged(api.request(reqwest::Method::GET, &path).send().await.unwrap(), StatusCode::OK).await;
    assert_eq!(read, first, "a task reads back with the ETag it was created with");

    let current =
        api.request(reqwest::Method::PATCH, &path).header(IF_MATCH, &first).json(&json!({ "title": "Final" }));
    let (patched, second) = tagged(current.send().await.unwrap(), StatusCode::OK).await;
    assert_eq!(patched["title"], "Final");
    assert_ne!(second, first, "a change gives the task a new ETag");
    let (_, read) = tagged(api.request(reqwest::Method::GET, &path).send().await.unwrap(), StatusCode::OK).await;
    assert_eq!(read, second);

    let stale = |method: reqwest::Method, body: Value| {
        api.request(method, &path).header(IF_MATCH, first.as_str()).json(&body).send()
    };
    for res in [
        stale(reqwest::Method::PATCH, json!({ "title": "Lost update" })).await.unwrap(),
        stale(reqwest::Method::PATCH, json!({ "completed": true })).await.unwrap(),
        stale(reqwest::Method::PATCH, json!({})).await.unwrap(),
        stale(reqwest::Method::DELETE, Value::Null).await.unwrap(),
    ] {
        assert_eq!(problem(res, 412).await["type"], "urn:cadence:problem:precondition_failed");
    }
    let (unchanged, tag) = tagged(api.request(reqwest::Method::GET, &path).send().await.unwrap(), StatusCode::OK).await;
    assert_eq!((unchanged, tag), (patched, second.clone()), "a refused change or delete writes nothing");

    let done = api.request(reqwest::Method::PATCH, &path).header(IF_MATCH, &second).json(&json!({ "completed": true }));
    let (done, third) = tagged(done.send().await.unwrap(), StatusCode::OK).await;
    assert_eq!((done["completed"].clone(), third != second), (json!(true), true));
    let res = api.request(reqwest::Method::DELETE, &path).header(IF_MATCH, &third).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let res = api.request(reqwest::Method::DELETE, &path).header(IF_MATCH, "*").send().await.unwrap();
    problem(res, 404).await;
}

#[tokio::test]
async fn if_match_is_optional_a_star_matches_any_version_and_a_malformed_one_is_a_400() {
    let app = spawn_app().await;
    app.sign_up().await;
    let api = Api::new(&app, true).await;
    let task = api.create(json!({ "title": "Plain" })).await;
    let path = format!("/api/v1/tasks/{}", task["id"].as_str().unwrap());

    let (status, patched) = api.patch(task["id"].as_str().unwrap(), json!({ "title": "No precondition" })).await;
    assert_eq!((status, patched["title"].clone()), (StatusCode::OK, json!("No precondition")));
    let star = api.request(reqwest::Method::PATCH, &path).header(IF_MATCH, "*").json(&json!({ "priority": "high" }));
    let (starred, _) = tagged(star.send().await.unwrap(), StatusCode::OK).await;
    assert_eq!(starred["priority"], "high");

    let send = |value: &'static str| {
        api.request(reqwest::Method::PATCH, &path).header(IF_MATCH, value).json(&json!({ "title": "x" })).send()
    };
    for malformed in ["abc", "\"unclosed", "\"a\" trailing"] {
        assert_eq!(problem(send(malformed).await.unwrap(), 400).await["type"], "urn:cadence:problem:bad_request");
    }
    for never_ours in ["\"someone-elses\"", "W/\"AAAAAAAAAAA\""] {
        problem(send(never_ours).await.unwrap(), 412).await;
    }
    let (_, stored) = api.get(&path).await;
    assert_eq!(stored["title"], "No precondition", "no refused request wrote");
}

#[tokio::test]
async fn a_get_whose_if_none_match_names_the_current_etag_is_a_304_without_a_body() {
    let app = spawn_app().await;
    app.sign_up().await;
    let api = Api::new(&app, true).await;
    let task = api.create(json!({ "title": "Cached" })).await;
    let path = format!("/api/v1/tasks/{}", task["id"].as_str().unwrap());
    let (_, tag) = tagged(api.request(reqwest::Method::GET, &path).send().await.unwrap(), StatusCode::OK).await;

    let res = api.request(reqwest::Method::GET, &path).header(IF_NONE_MATCH, &tag).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::NOT_MODIFIED);
    assert_eq!(res.headers()[ETAG].to_str().unwrap(), tag);
    assert!(res.bytes().await.unwrap().is_empty());

    api.patch(task["id"].as_str().unwrap(), json!({ "title": "Changed" })).await;
    let res = api.request(reqwest::Method::GET, &path).header(IF_NONE_MATCH, &tag).send().await.unwrap();
    let (changed, _) = tagged(res, StatusCode::OK).await;
    assert_eq!(changed["title"], "Changed", "an old ETag gets the task as it is now");
}

#[tokio::test]
async fn of_many_concurrent_patches_sent_with_the_same_if_match_exactly_one_is_written() {
    let app = spawn_app().await;
    app.sign_up().await;
    let api = Api::new(&app, true).await;
    let created = api.request(reqwest::Method::POST, "/api/v1/tasks").json(&json!({ "title": "Race" })).send();
    let (task, tag) = tagged(created.await.unwrap(), StatusCode::CREATED).await;
    let path = format!("/api/v1/tasks/{}", task["id"].as_str().unwrap());

    let sends = (0..8).map(|n| {
        api.request(reqwest::Method::PATCH, &path)
            .header(IF_MATCH, &tag)
            .json(&json!({ "title": format!("Writer {n}") }))
            .send()
    });
    let answers = futures::future::join_all(sends).await;
    let mut won = Vec::new();
    for res in answers {
        let res = res.unwrap();
        match res.status() {
            StatusCode::OK => won.push(res.json::<Value>().await.unwrap()["title"].clone()),
            _ => assert_eq!(problem(res, 412).await["type"], "urn:cadence:problem:precondition_failed"),
        }
    }
    assert_eq!(won.len(), 1, "the version is compared under the task's lock: {won:?}");
    let (_, stored) = api.get(&path).await;
    assert_eq!(stored["title"], won[0]);
}

/// POSTs a task with an `Idempotency-Key`.
fn keyed<'a>(api: &'a Api<'a>, key: &str, body: &Value) -> RequestBuilder {
    api.request(reqwest::Method::POST, "/api/v1/tasks").header("Idempotency-Key", key).json(body)
}

/// A response's status, `Location` and body text.
async fn answer(res: reqwest::Response) -> (StatusCode, Option<String>, String) {
    let location = res.headers().get(LOCATION).map(|l| l.to_str().unwrap().to_owned());
    (res.status(), location, res.text().await.unwrap())
}

#[tokio::test]
async fn a_post_retried_with_the_same_idempotency_key_and_body_gets_the_first_answer_and_makes_one_task() {
    let app = spawn_app().await;
    app.sign_up().await;
    let api = Api::new(&app, true).await;
    let body = json!({ "title": "Once", "tags": ["api"] });

    let first = answer(keyed(&api, "order-7f3a", &body).send().await.unwrap()).await;
    assert_eq!(first.0, StatusCode::CREATED, "{}", first.2);
    let again = answer(keyed(&api, "order-7f3a", &body).send().await.unwrap()).await;
    assert_eq!(again, first, "the same status, Location and body");
    let (_, list) = api.get("/api/v1/tasks?q=is:all").await;
    assert_eq!(list["total"], 1, "no second task: {list}");

    let other = answer(keyed(&api, "order-8b21", &body).send().await.unwrap()).await;
    assert_ne!(other.1, first.1, "another key is another create");
    let someone = TestApp::handle(&app);
    someone.sign_up().await;
    let stranger = Api::new(&someone, true).await;
    let theirs = answer(keyed(&stranger, "order-7f3a", &body).send().await.unwrap()).await;
    assert_eq!(theirs.0, StatusCode::CREATED);
    assert_ne!(theirs.1, first.1, "keys are each user's own");
    assert_eq!(api.get("/api/v1/tasks?q=is:all").await.1["total"], 2);
}

#[tokio::test]
async fn an_idempotency_key_sent_again_with_another_body_or_sent_malformed_is_a_422_naming_it() {
    let app = spawn_app().await;
    app.sign_up().await;
    let api = Api::new(&app, true).await;
    let first = keyed(&api, "k-1", &json!({ "title": "First" })).send().await.unwrap();
    assert_eq!(first.status(), StatusCode::CREATED);

    let reused = keyed(&api, "k-1", &json!({ "title": "Second" })).send().await.unwrap();
    assert_eq!(named_fields(reused).await, ["Idempotency-Key"]);
    let long = "k".repeat(256);
    for bad in ["", "has space", long.as_str()] {
        let res = keyed(&api, bad, &json!({ "title": "x" })).send().await.unwrap();
        assert_eq!(named_fields(res).await, ["Idempotency-Key"], "{bad:?}");
    }
    assert_eq!(api.get("/api/v1/tasks?q=is:all").await.1["total"], 1, "nothing else was written");

    let refused = keyed(&api, "k-2", &json!({ "title": " " })).send().await.unwrap();
    assert_eq!(named_fields(refused).await, ["title"]);
    let fixed = keyed(&api, "k-2", &json!({ "title": "Fixed" })).send().await.unwrap();
    assert_eq!(fixed.status(), StatusCode::CREATED, "a refused create leaves its key free");
}

#[tokio::test]
async fn of_concurrent_posts_with_one_idempotency_key_one_creates_and_the_rest_replay_it_or_are_told_to_wait() {
    let app = spawn_app().await;
    app.sign_up().await;
    let api = Api::new(&app, true).await;
    let body = json!({ "title": "Raced create" });

    let answers = futures::future::join_all((0..8).map(|_| keyed(&api, "race-1", &body).send())).await;
    let mut locations = Vec::new();
    for res in answers {
        let res = res.unwrap();
        if res.status() == StatusCode::CREATED {
            locations.push(res.headers()[LOCATION].to_str().unwrap().to_owned());
        } else {
            let body = problem(res, 409).await;
            assert_eq!(body["errors"][0]["field"], "Idempotency-Key", "{body}");
        }
    }
    assert!(!locations.is_empty());
    assert!(locations.iter().all(|l| *l == locations[0]), "every 201 names the one task: {locations:?}");
    assert_eq!(api.get("/api/v1/tasks?q=is:all").await.1["total"], 1);
}

#[tokio::test]
async fn a_list_read_again_shows_every_change_made_since_and_a_page_of_another_size_is_read_as_asked() {
    let app = spawn_app().await;
    app.sign_up().await;
    let api = Api::new(&app, true).await;
    let first = api.create(json!({ "title": "Water the plants" })).await;
    api.create(json!({ "title": "Call the plumber" })).await;
    let titles = |list: &Value| -> Vec<String> {
        list["items"].as_array().unwrap().iter().map(|t| t["title"].as_str().unwrap().to_owned()).collect()
    };

    // The same page twice: the second may be this replica's copy.
    let (_, before) = api.get("/api/v1/tasks?limit=1000").await;
    let (_, again) = api.get("/api/v1/tasks?limit=1000").await;
    assert_eq!(titles(&again), titles(&before));
    assert_eq!(titles(&before).len(), 2);

    let (_, one) = api.get("/api/v1/tasks?limit=1").await;
    assert_eq!(
        (titles(&one).len(), one["next_cursor"].is_string()),
        (1, true),
        "a page of one is not the copy of 1,000"
    );

    let id = first["id"].as_str().unwrap();
    let (status, _) = api.patch(id, json!({ "title": "Water the ferns" })).await;
    assert_eq!(status, StatusCode::OK);
    let (_, after) = api.get("/api/v1/tasks?limit=1000").await;
    assert!(titles(&after).contains(&"Water the ferns".to_owned()), "{after}");
    assert!(!titles(&after).contains(&"Water the plants".to_owned()), "no stale copy: {after}");

    // A change through the pages raises the same list version.
    assert!(app.call("create_task", &[("title", "Buy stamps")]).await.status().is_success());
    let (_, latest) = api.get("/api/v1/tasks?limit=1000").await;
    assert_eq!(titles(&latest).len(), 3, "{latest}");
}

#[tokio::test]
async fn an_answer_that_fits_in_one_packet_is_sent_uncompressed_and_a_larger_one_compressed() {
    let app = spawn_app().await;
    app.sign_up().await;
    let api = Api::new(&app, true).await;
    let small = api.request(reqwest::Method::POST, "/api/v1/tasks").header(ACCEPT_ENCODING, "br, gzip");
    let res = small.json(&json!({"title": "Small"})).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    assert!(res.headers().get(CONTENT_ENCODING).is_none(), "{:?}", res.headers());
    let body = res.bytes().await.unwrap();
    assert!(body.len() <= 1400 && serde_json::from_slice::<Value>(&body).is_ok(), "plain JSON: {body:?}");
    for i in 0..20 {
        api.create(json!({"title": format!("Task {i}")})).await;
    }
    let large = api.request(reqwest::Method::GET, "/api/v1/tasks").header(ACCEPT_ENCODING, "br, gzip");
    let res = large.send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers().get(CONTENT_ENCODING).map(|v| v.to_str().unwrap()), Some("br"));
}
