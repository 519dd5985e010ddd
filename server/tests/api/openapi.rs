//! The OpenAPI document against the router it describes, over real HTTP:
//! every documented operation is routed and answers as documented, every
//! route is documented, each needs the bearer token and documents its 401,
//! and the JSON sent has the fields its schema names; the reference page
//! lists every operation and loads nothing from elsewhere; an unknown path
//! or a wrong method under `/api/v1/` is a problem, not the pages' 404.

use std::collections::BTreeSet;

use reqwest::header::{ALLOW, CONTENT_SECURITY_POLICY, CONTENT_TYPE};
use reqwest::{Method, RequestBuilder, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{client, spawn_app, TestApp};
use crate::tokens::{new_token, problem};

/// What the router serves under `/api/v1` besides the document and its
/// page: a route added to the router belongs here, and so in the document.
const ROUTED: [(&str, &str); 23] = [
    ("get", "/api/v1/me"),
    ("get", "/api/v1/tasks"),
    ("post", "/api/v1/tasks"),
    ("get", "/api/v1/tasks/{id}"),
    ("patch", "/api/v1/tasks/{id}"),
    ("delete", "/api/v1/tasks/{id}"),
    ("post", "/api/v1/tasks/{id}/complete"),
    ("post", "/api/v1/tasks/{id}/reopen"),
    ("post", "/api/v1/tasks/bulk"),
    ("post", "/api/v1/undo/{id}"),
    ("get", "/api/v1/tags"),
    ("patch", "/api/v1/tags/{name}"),
    ("delete", "/api/v1/tags/{name}"),
    ("get", "/api/v1/views"),
    ("post", "/api/v1/views"),
    ("delete", "/api/v1/views/{id}"),
    ("post", "/api/v1/views/{id}/move"),
    ("get", "/api/v1/views/{id}/tasks"),
    ("get", "/api/v1/notifications"),
    ("post", "/api/v1/notifications/{seq}/read"),
    ("post", "/api/v1/notifications/read-all"),
    ("post", "/api/v1/notifications/{seq}/snooze"),
    ("get", "/api/v1/activity"),
];

const METHODS: [&str; 8] = ["get", "post", "put", "patch", "delete", "options", "head", "trace"];

/// The document as the app serves it, to anyone.
pub(crate) async fn document(app: &TestApp) -> Value {
    let res = client().get(app.url("/api/v1/openapi.json")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()[CONTENT_TYPE], "application/json");
    res.json().await.unwrap()
}

/// Every (method, path, operation) the document lists.
fn operations(doc: &Value) -> Vec<(String, String, Value)> {
    let mut ops = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("the document has paths") {
        for method in METHODS {
            if let Some(op) = item.get(method) {
                ops.push((method.to_owned(), path.clone(), op.clone()));
            }
        }
    }
    ops
}

/// The schema a `$ref` names, or the schema itself.
pub(crate) fn resolve<'a>(doc: &'a Value, schema: &'a Value) -> &'a Value {
    match schema["$ref"].as_str().and_then(|r| r.strip_prefix("#/components/schemas/")) {
        Some(name) => &doc["components"]["schemas"][name],
        None => schema,
    }
}

/// The properties a schema names, following a `$ref` and a nullable `oneOf`.
pub(crate) fn properties(doc: &Value, schema: &Value) -> BTreeSet<String> {
    let schema = resolve(doc, schema);
    if let Some(options) = schema["oneOf"].as_array() {
        let named = options.iter().find(|o| o["type"] != "null").expect("a oneOf with a schema");
        return properties(doc, named);
    }
    schema["properties"].as_object().expect("an object schema").keys().cloned().collect()
}

pub(crate) fn keys(value: &Value) -> BTreeSet<String> {
    value.as_object().unwrap_or_else(|| panic!("an object: {value}")).keys().cloned().collect()
}

/// The schema of an operation's documented JSON answer with this status.
pub(crate) fn answer_schema<'a>(doc: &'a Value, path: &str, method: &str, status: &str) -> &'a Value {
    let schema = &doc["paths"][path][method]["responses"][status]["content"]["application/json"]["schema"];
    assert!(!schema.is_null(), "{method} {path} documents a JSON {status}");
    schema
}

/// A request for a documented operation, its `{id}` filled with `id` (a
/// tag's `{name}` and a notification's `{seq}` with ones the user has not)
/// and a JSON body where it takes one.
fn request(app: &TestApp, method: &str, path: &str, id: &str) -> RequestBuilder {
    let url = path.replace("{id}", id).replace("{name}", "undocumented").replace("{seq}", "1");
    assert!(!url.contains('{'), "give the test a value for each parameter of {path}");
    let req = client().request(Method::from_bytes(method.to_ascii_uppercase().as_bytes()).unwrap(), app.url(&url));
    match method {
        "post" | "put" | "patch" => req.json(&json!({})),
        _ => req,
    }
}

/// Text as the page escapes it.
fn escaped(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;").replace('\'', "&#39;")
}

/// A new task of the token's user, its id.
async fn new_task(app: &TestApp, token: &str) -> String {
    let body = json!({ "title": "Documented", "due": { "date": "2030-01-01", "time": "09:00" } });
    let res = client().post(app.url("/api/v1/tasks")).bearer_auth(token).json(&body).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    let task: Value = res.json().await.unwrap();
    task["id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn every_operation_in_the_document_is_routed_and_answers_with_a_status_it_documents() {
    let app = spawn_app().await;
    app.sign_up().await;
    let token = new_token(&app, "Writer", true).await;
    let doc = document(&app).await;
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1."), "{}", doc["openapi"]);
    assert_eq!(doc["info"]["title"], "Cadence API");

    let ops = operations(&doc);
    assert!(!ops.is_empty());
    for (method, path, op) in &ops {
        // A task of its own for each, so a DELETE leaves the others theirs.
        let id = new_task(&app, &token).await;
        let res = request(&app, method, path, &id).bearer_auth(&token).send().await.unwrap();
        let status = res.status();
        let media = res.headers().get(CONTENT_TYPE).map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
        let body: Value = res.json().await.unwrap_or(Value::Null);
        assert_ne!(status, StatusCode::METHOD_NOT_ALLOWED, "{method} {path} is routed: {body}");
        assert_ne!(body["type"], "urn:cadence:problem:no_route", "{method} {path} is routed");
        let documented = &op["responses"][status.as_str()];
        assert!(documented.is_object(), "{method} {path} answered {status}, which it does not document: {body}");
        if let Some(content) = documented["content"].as_object() {
            assert!(
                content.contains_key(&media),
                "{method} {path} {status} is documented as {content:?}, sent {media}"
            );
        }
    }
}

#[tokio::test]
async fn every_route_the_router_serves_is_in_the_document() {
    let app = spawn_app().await;
    let doc = document(&app).await;

    let documented: BTreeSet<(String, String)> = operations(&doc).into_iter().map(|(m, p, _)| (m, p)).collect();
    for (method, path) in ROUTED {
        assert!(documented.contains(&(method.to_owned(), path.to_owned())), "{method} {path} is documented");
    }
}

#[tokio::test]
async fn every_operation_needs_the_bearer_token_and_its_documented_401_is_what_it_sends_without_one() {
    let app = spawn_app().await;
    let doc = document(&app).await;
    let scheme = &doc["components"]["securitySchemes"]["bearer"];
    assert_eq!((scheme["type"].as_str(), scheme["scheme"].as_str()), (Some("http"), Some("bearer")));

    for (method, path, op) in operations(&doc) {
        let requirements = op["security"].as_array().unwrap_or_else(|| panic!("{method} {path} declares security"));
        let scopes = requirements
            .iter()
            .find_map(|r| r["bearer"].as_array())
            .unwrap_or_else(|| panic!("{method} {path} requires the bearer scheme"));
        assert!(
            !scopes.is_empty() && scopes.iter().all(|s| s == "read" || s == "write"),
            "{method} {path} names its scope: {scopes:?}"
        );
        let unauthorized = &op["responses"]["401"]["content"]["application/problem+json"]["schema"];
        assert_eq!(unauthorized["$ref"], "#/components/schemas/Problem", "{method} {path} documents its 401");

        let res = request(&app, &method, &path, "0190f3c2-8b1e-7c4e-9a55-000000000000").send().await.unwrap();
        problem(res, 401).await;
    }
    let problem_fields = properties(&doc, &json!({ "$ref": "#/components/schemas/Problem" }));
    assert_eq!(problem_fields, ["detail", "errors", "status", "title", "type"].map(String::from).into());
    let error_fields = properties(&doc, &doc["components"]["schemas"]["Problem"]["properties"]["errors"]["items"]);
    assert_eq!(error_fields, ["field", "message"].map(String::from).into());
}

#[tokio::test]
async fn the_json_the_api_sends_has_exactly_the_fields_its_documented_schemas_name() {
    let app = spawn_app().await;
    app.sign_up().await;
    let token = new_token(&app, "Writer", true).await;
    let id = new_task(&app, &token).await;
    let doc = document(&app).await;
    let get = |path: String| {
        let req = client().get(app.url(&path)).bearer_auth(&token);
        async move {
            let res = req.send().await.unwrap();
            assert_eq!(res.status(), StatusCode::OK);
            res.json::<Value>().await.unwrap()
        }
    };

    let task = get(format!("/api/v1/tasks/{id}")).await;
    let schema = answer_schema(&doc, "/api/v1/tasks/{id}", "get", "200");
    assert_eq!(keys(&task), properties(&doc, schema), "GET /api/v1/tasks/{{id}}: {task}");
    let due = &resolve(&doc, schema)["properties"]["due"];
    assert_eq!(keys(&task["due"]), properties(&doc, due), "a task's due: {task}");

    let list = get("/api/v1/tasks".to_owned()).await;
    let schema = answer_schema(&doc, "/api/v1/tasks", "get", "200");
    assert_eq!(keys(&list), properties(&doc, schema), "GET /api/v1/tasks: {list}");
    let item = &resolve(&doc, schema)["properties"]["items"]["items"];
    assert_eq!(keys(&list["items"][0]), properties(&doc, item), "a list item: {list}");

    let me = get("/api/v1/me".to_owned()).await;
    assert_eq!(keys(&me), properties(&doc, answer_schema(&doc, "/api/v1/me", "get", "200")), "GET /api/v1/me: {me}");
}

#[tokio::test]
async fn the_reference_page_lists_every_operation_and_loads_nothing_from_another_site() {
    let app = spawn_app().await;
    let doc = document(&app).await;

    let res = client().get(app.url("/api/v1/docs")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.headers()[CONTENT_TYPE].to_str().unwrap().starts_with("text/html"));
    let csp = res.headers()[CONTENT_SECURITY_POLICY].to_str().unwrap().to_owned();
    assert!(csp.contains("default-src 'self'") && csp.contains("style-src 'self'"), "{csp}");
    let html = res.text().await.unwrap();

    for (method, path, op) in operations(&doc) {
        let id = op["operationId"].as_str().unwrap_or_else(|| panic!("{method} {path} has an operationId"));
        assert!(html.contains(&format!("id=\"{id}\"")), "the page has {method} {path}");
        let heading = format!("<span class=\"method {method}\">{}</span> <code>{path}</code>", method.to_uppercase());
        assert!(html.contains(&heading), "the page heads {method} {path}");
        let summary = op["summary"].as_str().unwrap_or_else(|| panic!("{method} {path} has a summary"));
        assert!(html.contains(&escaped(summary)), "the page gives {method} {path}'s summary");
    }
    // The CSP allows no inline style or script and nothing from elsewhere: the page needs none.
    for banned in ["<script", "<style", " style=", " src=", "<iframe", "<img"] {
        assert!(!html.contains(banned), "the page has no {banned}");
    }
    for (at, _) in html.match_indices(" href=\"") {
        let target = &html[at + 7..];
        assert!(target.starts_with('#') || target.starts_with('/'), "a link to this site: {}", &target[..40]);
    }
    let css = client().get(app.url("/api/v1/docs.css")).send().await.unwrap();
    assert_eq!(css.status(), StatusCode::OK);
    assert_eq!(css.headers()[CONTENT_TYPE], "text/css; charset=utf-8");
    assert!(!css.text().await.unwrap().contains("http"), "the stylesheet imports nothing");

    app.sign_up().await;
    assert!(app.page("/settings/tokens").await.contains("href=\"/api/v1/docs\""), "the tokens page links to it");
}

#[tokio::test]
async fn an_unknown_api_path_is_a_404_problem_with_or_without_a_token() {
    let app = spawn_app().await;
    app.sign_up().await;
    let token = new_token(&app, "Reader", false).await;
    let id = new_task(&app, &new_token(&app, "Writer", true).await).await;

    for (method, path) in [
        (Method::GET, "/api/v1/nothing".to_owned()),
        (Method::POST, "/api/v1/tasks/batch/run".to_owned()),
        (Method::GET, format!("/api/v1/tasks/{id}/history")),
        (Method::DELETE, "/api/v1/%3Cscript%3E".to_owned()),
    ] {
        for with_token in [false, true] {
            let mut req = client().request(method.clone(), app.url(&path));
            if with_token {
                req = req.bearer_auth(&token);
            }
            let body = problem(req.send().await.unwrap(), 404).await;
            assert_eq!(body["type"], "urn:cadence:problem:no_route", "{method} {path}: {body}");
            assert!(body["detail"].as_str().unwrap().contains(&format!("{method} {path}")), "{body}");
        }
    }
}

#[tokio::test]
async fn a_method_a_path_does_not_take_is_a_405_problem_whose_allow_lists_the_ones_it_does() {
    let app = spawn_app().await;
    app.sign_up().await;
    let token = new_token(&app, "Writer", true).await;
    let id = new_task(&app, &token).await;

    for (method, path, allowed) in [
        (Method::PUT, "/api/v1/tasks".to_owned(), ["GET", "POST"].as_slice()),
        (Method::DELETE, "/api/v1/me".to_owned(), &["GET"]),
        (Method::PUT, format!("/api/v1/tasks/{id}"), &["GET", "PATCH", "DELETE"]),
        (Method::POST, "/api/v1/openapi.json".to_owned(), &["GET"]),
    ] {
        for with_token in [false, true] {
            let mut req = client().request(method.clone(), app.url(&path));
            if with_token {
                req = req.bearer_auth(&token);
            }
            let res = req.send().await.unwrap();
            let allow: BTreeSet<String> =
                res.headers()[ALLOW].to_str().unwrap().split(',').map(|m| m.trim().to_owned()).collect();
            for m in allowed {
                assert!(allow.contains(*m), "{method} {path}: Allow {allow:?} has {m}");
            }
            assert!(!allow.contains(method.as_str()), "{method} {path}: Allow {allow:?}");
            let body = problem(res, 405).await;
            assert_eq!(body["type"], "urn:cadence:problem:method_not_allowed", "{method} {path}: {body}");
        }
    }
    let (status, task) = {
        let res = client().get(app.url(&format!("/api/v1/tasks/{id}"))).bearer_auth(&token).send().await.unwrap();
        (res.status(), res.json::<Value>().await.unwrap())
    };
    assert_eq!((status, task["title"].as_str()), (StatusCode::OK, Some("Documented")), "the PUT changed nothing");
}
