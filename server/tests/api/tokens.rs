//! Personal access tokens over HTTP: made with the settings page's plain form
//! (the secret shown once), `GET /api/v1/me` with one, the 401s and 403s as
//! problem details, session cookies only from our own pages, revoking, and
//! last use in the list.

use axum::routing::post;
use axum::Router;
use reqwest::header::{ACCEPT, CONTENT_TYPE, ORIGIN, WWW_AUTHENTICATE};
use reqwest::{Response, StatusCode};
use serde_json::Value;
use server::startup::Application;
use server::web::api::ApiUser;

use crate::helpers::{client, serve, spawn_app, test_config, TestApp, TestDb};

/// Posts the create form the way a browser does, without JavaScript.
async fn create(app: &TestApp, form: &[(&str, &str)]) -> Response {
    app.client.post(app.url("/settings/tokens")).header(ACCEPT, "text/html").form(form).send().await.unwrap()
}

/// The token secret a page shows, if it shows one.
fn secret_in(page: &str) -> Option<String> {
    page.match_indices("cad_").find_map(|(at, _)| {
        let body: String = page[at + 4..].chars().take_while(char::is_ascii_alphanumeric).collect();
        (body.len() >= 40).then(|| format!("cad_{body}"))
    })
}

/// Makes a token through the form and returns its secret.
pub(crate) async fn new_token(app: &TestApp, name: &str, write: bool) -> String {
    let mut form = vec![("name", name), ("expires", "30")];
    if write {
        form.push(("write", "on"));
    }
    let res = create(app, &form).await;
    assert_eq!(res.status(), StatusCode::OK);
    secret_in(&res.text().await.unwrap()).expect("the new secret is shown")
}

/// `GET /api/v1/me` from a client with no cookies.
pub(crate) async fn me_with(app: &TestApp, authorization: Option<&str>) -> Response {
    let mut req = client().get(app.url("/api/v1/me"));
    if let Some(value) = authorization {
        req = req.header("authorization", value);
    }
    req.send().await.unwrap()
}

/// Asserts a problem+json answer and returns its body.
pub(crate) async fn problem(res: Response, status: u16) -> Value {
    assert_eq!(res.status().as_u16(), status);
    assert_eq!(res.headers()[CONTENT_TYPE], "application/problem+json");
    if status == 401 {
        assert!(res.headers()[WWW_AUTHENTICATE].to_str().unwrap().starts_with("Bearer"), "a 401 names its scheme");
    }
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["status"], status);
    assert!(body["type"].is_string() && body["title"].is_string() && body["detail"].is_string(), "{body}");
    body
}

/// The user's tokens as (id, name), from the list's server function.
pub(crate) async fn token_ids(app: &TestApp) -> Vec<(String, String)> {
    let list: Value = app.call("list_tokens", &[]).await.json().await.unwrap();
    list.as_array()
        .unwrap()
        .iter()
        .map(|t| (t["id"].as_str().unwrap().to_owned(), t["name"].as_str().unwrap().to_owned()))
        .collect()
}

#[tokio::test]
async fn a_token_made_on_the_settings_page_is_shown_once_and_reads_the_api_as_its_owner() {
    let app = spawn_app().await;
    let account = app.sign_up().await;
    assert!(app.page("/settings").await.contains(r#"href="/settings/tokens""#), "settings link to the tokens");
    let empty = app.page("/settings/tokens").await;
    assert!(empty.contains("Can change tasks (write)") && empty.contains("None yet."));

    let res = create(&app, &[("name", " Backup  script "), ("expires", "90")]).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["cache-control"], "no-store");
    let page = res.text().await.unwrap();
    assert!(page.contains("Copy it now: it is not shown again"));
    let secret = secret_in(&page).expect("the secret is on the page");
    assert!(page.contains("Backup script"), "the list shows the new token");

    let again = app.page("/settings/tokens").await;
    assert_eq!(secret_in(&again), None, "a reload never shows the secret");
    assert!(again.contains("Backup script") && again.contains(r#"class="last-used">never<"#));

    let res = me_with(&app, Some(&format!("Bearer {secret}"))).await;
    assert_eq!(res.status(), StatusCode::OK);
    let me: Value = res.json().await.unwrap();
    assert_eq!(me["email"], account.email.as_str());
    assert_eq!(me["display_name"], "Test User");
    assert_eq!(me["time_zone"], "Europe/Berlin");
    assert_eq!(me["scopes"], serde_json::json!(["read"]), "without the box ticked a token only reads");
    assert!(uuid::Uuid::parse_str(me["id"].as_str().unwrap()).is_ok());
    let listed = app.page("/settings/tokens").await;
    assert!(!listed.contains(r#"class="last-used">never<"#), "the list shows the last use after a call");

    let writer = new_token(&app, "Sync", true).await;
    let me: Value = me_with(&app, Some(&format!("bearer {writer}"))).await.json().await.unwrap();
    assert_eq!(me["scopes"], serde_json::json!(["read", "write"]));
}

#[tokio::test]
async fn a_missing_garbage_unknown_revoked_or_expired_token_gets_a_401_problem() {
    let app = spawn_app().await;
    app.sign_up().await;
    let body = problem(me_with(&app, None).await, 401).await;
    assert_eq!(body["type"], "urn:cadence:problem:unauthenticated");
    for bad in
        ["Bearer nonsense", "Bearer ", "Basic dXNlcjpwYXNz", "Bearer cad_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"]
    {
        let res = me_with(&app, Some(bad)).await;
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "{bad}");
        problem(res, 401).await;
    }

    let revoked = new_token(&app, "Revoked", false).await;
    assert_eq!(me_with(&app, Some(&format!("Bearer {revoked}"))).await.status(), StatusCode::OK);
    let (id, _) = token_ids(&app).await.into_iter().find(|(_, n)| n == "Revoked").unwrap();
    let res = app.post_html("revoke_token", &[("id", &id)], "/settings/tokens").await;
    assert_eq!(res.status(), StatusCode::FOUND);
    assert_eq!(res.headers()["location"], "/settings/tokens?revoked=1");
    assert!(app.page("/settings/tokens?revoked=1").await.contains("Token revoked."));
    let body = problem(me_with(&app, Some(&format!("Bearer {revoked}"))).await, 401).await;
    assert_eq!(body["type"], "urn:cadence:problem:invalid_token");

    let expired = new_token(&app, "Expired", false).await;
    app.db.as_ref().unwrap().execute("UPDATE api_tokens SET expires_at = '2000-01-01T00:00:00+00:00'").await;
    let res = me_with(&app, Some(&format!("Bearer {expired}"))).await;
    assert!(res.headers()[WWW_AUTHENTICATE].to_str().unwrap().contains(r#"error="invalid_token""#));
    problem(res, 401).await;
    assert!(app.page("/settings/tokens").await.contains("expired "), "the list marks it expired");
}

#[tokio::test]
async fn a_session_cookie_reads_the_api_only_from_this_sites_own_pages() {
    let app = spawn_app().await;
    app.sign_up().await;
    let me = || app.client.get(app.url("/api/v1/me"));
    problem(me().send().await.unwrap(), 401).await;
    problem(me().header("sec-fetch-site", "cross-site").send().await.unwrap(), 401).await;
    problem(me().header(ORIGIN, "https://evil.example").send().await.unwrap(), 401).await;

    let res = me().header("sec-fetch-site", "same-origin").send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["scopes"], serde_json::json!(["read", "write"]), "our own pages may do everything");
    assert_eq!(me().header(ORIGIN, app.address.as_str()).send().await.unwrap().status(), StatusCode::OK);

    let res = me().header("sec-fetch-site", "same-origin").bearer_auth("cad_nope").send().await.unwrap();
    problem(res, 401).await;
}

#[tokio::test]
async fn another_users_token_cannot_be_revoked_and_the_form_names_its_bad_fields() {
    let app = spawn_app().await;
    app.sign_up().await;
    let secret = new_token(&app, "Mine", false).await;
    let (id, _) = token_ids(&app).await.remove(0);
    let other = TestApp::handle(&app);
    other.sign_up().await;
    assert!(token_ids(&other).await.is_empty(), "nobody sees another user's tokens");
    assert_eq!(other.call("revoke_token", &[("id", &id)]).await.status(), StatusCode::NOT_FOUND);
    assert_eq!(other.call("revoke_token", &[("id", "not-an-id")]).await.status(), StatusCode::NOT_FOUND);
    assert_eq!(me_with(&app, Some(&format!("Bearer {secret}"))).await.status(), StatusCode::OK, "still works");

    let res = create(&app, &[("name", "  "), ("expires", "30")]).await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = res.text().await.unwrap();
    assert!(page.contains("Give the token a name") && page.contains(r#"id="name-error""#), "{page}");
    assert_eq!(secret_in(&page), None);

    let res = create(&app, &[("name", "Mine"), ("expires", "30")]).await;
    assert_eq!(res.status(), StatusCode::CONFLICT);
    assert!(res.text().await.unwrap().contains("You already have a token with this name."));

    let res = create(&app, &[("name", "Dated"), ("expires", "date"), ("expires_on", "")]).await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = res.text().await.unwrap();
    assert!(page.contains(r#"id="expires_on-error""#) && page.contains(r#"value="Dated""#), "what was typed stays");

    let res =
        create(&app, &[("name", "Dated"), ("expires", "date"), ("expires_on", "2999-12-31"), ("write", "on")]).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(app.page("/settings/tokens").await.contains("read, write"));

    let visitor = TestApp::handle(&app);
    let res = create(&visitor, &[("name", "Sneaky"), ("expires", "30")]).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER, "a visitor is sent to sign in");
}

#[tokio::test]
async fn a_bearer_request_needs_no_csrf_check_and_a_read_only_token_may_not_write() {
    let db = TestDb::for_http().await;
    let routes = Router::new()
        .route("/api/v1/test/write", post(|api: ApiUser| async move { api.require_write().map(|()| "written") }));
    let built = Application::build_with_routes(test_config(&db), db.store().await, routes).await.unwrap();
    let app = serve(built, db).await;
    app.sign_up().await;
    let (reader, writer) = (new_token(&app, "Reader", false).await, new_token(&app, "Writer", true).await);
    let write = |token: &str| {
        client().post(app.url("/api/v1/test/write")).bearer_auth(token).header(ORIGIN, "https://elsewhere.example")
    };

    let body = problem(write(&reader).send().await.unwrap(), 403).await;
    assert_eq!(body["type"], "urn:cadence:problem:insufficient_scope");
    let res = write(&writer).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK, "a bearer request from anywhere passes the CSRF check");
    assert_eq!(res.text().await.unwrap(), "written");

    let cookie = app.client.post(app.url("/api/v1/test/write")).header(ORIGIN, "https://elsewhere.example");
    let res = cookie.send().await.unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN, "a cookie from another site is stopped by the CSRF guard");
}
