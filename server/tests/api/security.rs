//! Transport-level protections: CSRF origin checks, security headers, probes.

use reqwest::header::{CACHE_CONTROL, CONTENT_SECURITY_POLICY, ORIGIN};
use reqwest::StatusCode;

use crate::helpers::spawn_app;

#[tokio::test]
async fn a_form_post_from_another_site_is_refused() {
    let app = spawn_app().await;
    app.sign_up().await;
    let res = app
        .client
        .post(app.url("/api/quick_add"))
        .header(ORIGIN, "https://evil.example")
        .form(&[("title", "forged")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let cross = app
        .client
        .post(app.url("/api/quick_add"))
        .header("sec-fetch-site", "cross-site")
        .form(&[("title", "forged")])
        .send()
        .await
        .unwrap();
    assert_eq!(cross.status(), StatusCode::FORBIDDEN);
    assert!(!app.page("/tasks").await.contains("forged"));
}

#[tokio::test]
async fn a_same_origin_post_passes_the_csrf_check() {
    let app = spawn_app().await;
    app.sign_up().await;
    let res = app
        .client
        .post(app.url("/api/quick_add"))
        .header(ORIGIN, app.address.clone())
        .header("sec-fetch-site", "same-origin")
        .form(&[("title", "legit")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
}

#[tokio::test]
async fn pages_carry_a_nonce_csp_and_security_headers() {
    let app = spawn_app().await;
    let res = app.get("/signin").await;
    assert_eq!(res.status(), StatusCode::OK);
    let h = res.headers().clone();
    let csp = h[CONTENT_SECURITY_POLICY].to_str().unwrap().to_owned();
    assert!(csp.contains("'nonce-") && csp.contains("'wasm-unsafe-eval'") && !csp.contains("unsafe-inline"), "{csp}");
    assert_eq!(h["x-content-type-options"], "nosniff");
    assert_eq!(h["x-frame-options"], "DENY");
    assert_eq!(h[CACHE_CONTROL], "no-store");
    let body = res.text().await.unwrap();
    let nonce = csp.split("'nonce-").nth(1).unwrap().split('\'').next().unwrap();
    for script in body.split("<script").skip(1) {
        assert!(
            script.starts_with(&format!(" type=\"module\" nonce=\"{nonce}\""))
                || script.contains(&format!("nonce=\"{nonce}\"")),
            "every inline script carries the nonce"
        );
    }
}

#[tokio::test]
async fn an_unknown_page_is_a_404_page() {
    let app = spawn_app().await;
    let res = app.get("/no/such/page").await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    assert!(res.text().await.unwrap().contains("Not found"));
}

#[tokio::test]
async fn health_and_readiness_probes_answer() {
    let app = spawn_app().await;
    assert_eq!(app.get("/healthz").await.status(), StatusCode::OK);
    let ready = app.get("/readyz").await;
    assert_eq!(ready.status(), StatusCode::OK);
    let detail: serde_json::Value = ready.json().await.unwrap();
    assert_eq!(detail["status"], "ready");
    assert_eq!(detail["deliveries"]["dead_letters"], 0, "{detail}");
}

#[tokio::test]
async fn database_errors_never_reach_the_browser() {
    let app = spawn_app().await;
    app.sign_up().await;
    let db = app.db.as_ref().unwrap();
    let pool = sqlx::SqlitePool::connect(&db.url()).await.unwrap();
    sqlx::query("DROP TABLE task_tags").execute(&pool).await.unwrap();
    let res = app.call("quick_add", &[("title", "boom")]).await;
    assert_eq!(res.status(), StatusCode::INTERNAL_SERVER_ERROR);
    let body = res.text().await.unwrap();
    assert!(!body.to_lowercase().contains("task_tags") && !body.contains("SQL"), "{body}");
    assert!(body.contains("Internal"));
}
