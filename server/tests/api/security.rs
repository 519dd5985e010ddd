//! Transport-level protections: CSRF origin checks, security headers, probes.

use reqwest::header::{CACHE_CONTROL, CONTENT_SECURITY_POLICY, ORIGIN};
use reqwest::StatusCode;

use server::config::Config;

use crate::helpers::{spawn_app, spawn_with, test_config, TestDb};

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
    db.execute("DROP TABLE task_tags").await;
    let res = app.call("quick_add", &[("title", "boom #tagged")]).await;
    assert_eq!(res.status(), StatusCode::INTERNAL_SERVER_ERROR);
    let body = res.text().await.unwrap();
    assert!(!body.to_lowercase().contains("task_tags") && !body.contains("SQL"), "{body}");
    assert!(body.contains("Internal"));
}

#[tokio::test]
async fn every_script_on_every_page_carries_the_nonce_of_its_policy() {
    let app = spawn_app().await;
    app.sign_up().await;
    let id = app.quick_add("Nonced").await;
    for path in
        ["/tasks", "/tasks/new", &format!("/tasks/{id}"), &format!("/tasks/{id}/edit"), "/activity", "/settings"]
    {
        let res = app.get(path).await;
        assert_eq!(res.status(), StatusCode::OK, "{path}");
        let csp = res.headers()[CONTENT_SECURITY_POLICY].to_str().unwrap().to_owned();
        let nonce = csp.split("'nonce-").nth(1).unwrap_or_else(|| panic!("{path}: no nonce in {csp}"));
        let nonce = nonce.split('\'').next().unwrap().to_owned();
        let body = res.text().await.unwrap();
        let scripts: Vec<&str> = body.split("<script").skip(1).collect();
        assert!(!scripts.is_empty(), "{path} has scripts");
        for script in scripts {
            let tag = &script[..script.find('>').unwrap()];
            assert!(tag.contains(&format!("nonce=\"{nonce}\"")), "{path}: a script without the policy's nonce: {tag}");
        }
    }
    let api = app.call("list_tasks", &[]).await;
    let csp = api.headers()[CONTENT_SECURITY_POLICY].to_str().unwrap();
    assert!(!csp.contains("nonce"), "responses that are not pages allow no inline script: {csp}");
}

#[tokio::test]
async fn a_crafted_link_cannot_put_words_on_a_page() {
    let app = spawn_app().await;
    app.sign_up().await;
    let err = "{\"Invalid\":{\"field\":\"title\",\"message\":\"Your account is locked, call +1 555 0100\"}}";
    let link = format!(
        "/tasks/new?x=1&__path=%2Fapi%2Fcreate_task&__err={}",
        err.bytes().map(|b| format!("%{b:02X}")).collect::<String>()
    );
    let res = app.get(&link).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(res.headers()["location"], "/tasks/new?x=1", "the same page, without the error parameters");
    let page = app.page("/tasks/new?x=1").await;
    assert!(!page.contains("call +1 555"), "no text from the link reaches the page");
}

#[tokio::test]
async fn behind_an_https_ingress_cookies_are_secure_and_only_the_public_origin_may_post() {
    let db = TestDb::for_http().await;
    let config = Config { public_url: Some("https://cadence.example".into()), ..test_config(&db) };
    let app = spawn_with(db, config).await;
    let res = app.sign_up_form("secure@example.com", "correct horse battery", "S", "UTC").await;
    let cookie = res.headers()[reqwest::header::SET_COOKIE].to_str().unwrap().to_owned();
    assert!(cookie.contains("; Secure"), "{cookie}");
    let post = |origin: &'static str| {
        app.client.post(app.url("/api/quick_add")).header(ORIGIN, origin).form(&[("title", "t")]).send()
    };
    assert_eq!(post("https://cadence.example").await.unwrap().status(), StatusCode::OK);
    // The Host an ingress forwards may match the request's own origin; the public origin decides.
    let internal = app.address.clone().leak();
    assert_eq!(post(internal).await.unwrap().status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn static_files_answer_a_revalidation_with_304_and_a_missing_one_with_a_plain_404() {
    let site = std::env::temp_dir().join(format!("cadence-site-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(site.join("pkg")).unwrap();
    std::fs::write(site.join("favicon.svg"), "<svg xmlns=\"http://www.w3.org/2000/svg\"/>").unwrap();
    std::fs::write(site.join("pkg/cadence.css"), "body{}").unwrap();
    let db = TestDb::for_http().await;
    let config = Config { site_root: site.display().to_string(), ..test_config(&db) };
    let app = spawn_with(db, config).await;
    for path in ["/favicon.svg", "/pkg/cadence.css"] {
        let first = app.get(path).await;
        assert_eq!(first.status(), StatusCode::OK, "{path}");
        let modified = first.headers()[reqwest::header::LAST_MODIFIED].clone();
        assert!(first.headers()[CACHE_CONTROL].to_str().unwrap().starts_with("public"), "{path}");
        // A browser revalidating its copy (a reload does) must hear "not modified", not "not found".
        let again =
            app.client.get(app.url(path)).header(reqwest::header::IF_MODIFIED_SINCE, modified).send().await.unwrap();
        assert_eq!(again.status(), StatusCode::NOT_MODIFIED, "{path}");
    }
    assert_eq!(app.get("/pkg/missing.js").await.status(), StatusCode::NOT_FOUND);
    let _ = std::fs::remove_dir_all(&site);
}
