//! Sign-up, sign-in, sign-out, sessions, throttling and settings.

use reqwest::header::{LOCATION, SET_COOKIE};
use reqwest::StatusCode;

use server::config::Config;

use crate::helpers::{assert_field_error, client, spawn_app, spawn_with, test_config, TestDb};

#[tokio::test]
async fn signing_up_starts_a_session_and_opens_the_task_list() {
    let app = spawn_app().await;
    app.sign_up().await;
    let page = app.page("/tasks").await;
    assert!(page.contains("Tasks"));
    assert!(page.contains("Test User"), "the header names the signed-in user");
}

#[tokio::test]
async fn signing_up_with_a_malformed_email_names_the_email_field() {
    let app = spawn_app().await;
    let res = app.sign_up_form("not-an-email", "long enough pw", "A", "UTC").await;
    assert_field_error(res, 422, "email").await;
}

#[tokio::test]
async fn signing_up_with_a_short_password_or_unknown_zone_names_the_field() {
    let app = spawn_app().await;
    let res = app.sign_up_form("a@example.com", "short", "A", "UTC").await;
    assert_field_error(res, 422, "password").await;
    let res = app.sign_up_form("a@example.com", "long enough pw", "A", "Mars/Base").await;
    assert_field_error(res, 422, "time_zone").await;
}

#[tokio::test]
async fn signing_up_twice_with_one_email_is_a_conflict_not_a_server_error() {
    let app = spawn_app().await;
    let account = app.sign_up().await;
    let other = client();
    let res = other
        .post(app.url("/api/sign_up"))
        .form(&[
            ("email", account.email.to_uppercase().as_str()),
            ("password", "another password"),
            ("display_name", "B"),
            ("time_zone", "UTC"),
        ])
        .send()
        .await
        .unwrap();
    assert_field_error(res, 409, "email").await;
}

#[tokio::test]
async fn a_wrong_password_and_an_unknown_email_get_the_same_answer() {
    let app = spawn_app().await;
    let account = app.sign_up().await;
    let fresh = client();
    let wrong = app.sign_in_as(&fresh, account.email.as_str(), "wrong password").await;
    let unknown = app.sign_in_as(&fresh, "nobody@example.com", "wrong password").await;
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(unknown.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(wrong.text().await.unwrap(), unknown.text().await.unwrap());
}

#[tokio::test]
async fn signing_in_sets_a_new_http_only_same_site_cookie() {
    let app = spawn_app().await;
    let account = app.sign_up().await;
    let fresh = client();
    let first = app.sign_in_as(&fresh, account.email.as_str(), account.password.as_str()).await;
    assert_eq!(first.status(), StatusCode::OK);
    let cookie = first.headers().get(SET_COOKIE).unwrap().to_str().unwrap().to_owned();
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    assert!(cookie.contains("SameSite=Lax"), "{cookie}");
    assert!(!cookie.contains("Secure"), "plain http on loopback has no Secure flag");
    let second = app.sign_in_as(&fresh, account.email.as_str(), account.password.as_str()).await;
    let rotated = second.headers().get(SET_COOKIE).unwrap().to_str().unwrap().to_owned();
    assert_ne!(cookie.split(';').next(), rotated.split(';').next(), "each sign-in issues a new token");
}

#[tokio::test]
async fn signing_out_ends_the_session_even_for_a_replayed_cookie() {
    let app = spawn_app().await;
    app.sign_up().await;
    let token = app.client.get(app.url("/tasks")).send().await.unwrap().status();
    assert_eq!(token, StatusCode::OK);
    let res = app.call("sign_out", &[]).await;
    assert_eq!(res.status(), StatusCode::OK);
    let after = app.get("/tasks").await;
    assert_eq!(after.status(), StatusCode::FOUND);
    assert!(after.headers()[LOCATION].to_str().unwrap().starts_with("/signin"));
}

#[tokio::test]
async fn a_replayed_session_cookie_is_useless_after_sign_out() {
    let app = spawn_app().await;
    let account = app.sign_up().await;
    let res = app.sign_in_as(&client(), account.email.as_str(), account.password.as_str()).await;
    let cookie = res.headers()[SET_COOKIE].to_str().unwrap().split(';').next().unwrap().to_owned();
    let replay = client();
    let ok = replay.post(app.url("/api/me")).header("cookie", &cookie).send().await.unwrap();
    assert!(ok.text().await.unwrap().contains(&account.email));
    replay.post(app.url("/api/sign_out")).header("cookie", &cookie).send().await.unwrap();
    let after = replay.post(app.url("/api/me")).header("cookie", &cookie).send().await.unwrap();
    assert_eq!(after.text().await.unwrap(), "null");
}

#[tokio::test]
async fn repeated_failed_sign_ins_are_throttled_per_account() {
    let app = spawn_app().await;
    let account = app.sign_up().await;
    let fresh = client();
    let mut last = StatusCode::OK;
    for _ in 0..11 {
        last = app.sign_in_as(&fresh, account.email.as_str(), "wrong password").await.status();
    }
    assert_eq!(last, StatusCode::TOO_MANY_REQUESTS);
    let right = app.sign_in_as(&fresh, account.email.as_str(), account.password.as_str()).await;
    assert_eq!(right.status(), StatusCode::TOO_MANY_REQUESTS, "even the right password waits out the lock");
    assert!(right.headers().contains_key("retry-after"));
}

#[tokio::test]
async fn a_form_posted_without_javascript_comes_back_with_the_error_beside_the_field_and_what_was_typed() {
    let app = spawn_app().await;
    let form = [
        ("email", "bad"),
        ("password", "long enough pw"),
        ("display_name", "Ann \"Q\""),
        ("time_zone", "Europe/Paris"),
    ];
    let res = app.post_html("sign_up", &form, "/signup").await;
    assert_eq!(res.status(), StatusCode::TEMPORARY_REDIRECT, "the browser posts the same form to the page");
    let location = res.headers()[LOCATION].to_str().unwrap().to_owned();
    assert!(location.contains("/signup?") && location.contains("__err="), "{location}");

    let again = app.repost_html(&location, &form).await;
    assert_eq!(again.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = again.text().await.unwrap();
    assert!(page.contains("id=\"email-error\""), "the message sits beside the email field");
    assert!(page.contains("name@example.com"));
    assert!(page.contains(r#"value="bad""#), "the typed email is kept");
    assert!(page.contains(r#"value="Ann &quot;Q&quot;""#), "the typed name is kept, escaped");
    assert!(page.contains(r#"value="Europe/Paris""#), "the chosen zone is kept");
    assert!(!page.contains("long enough pw"), "a password is never written back into a page");
}

#[tokio::test]
async fn a_wrong_password_without_javascript_keeps_the_email_and_answers_401() {
    let app = spawn_app().await;
    let account = app.sign_up().await;
    let form = [("email", account.email.as_str()), ("password", "not the password"), ("next", "")];
    let res = app.post_html("sign_in", &form, "/signin").await;
    assert_eq!(res.status(), StatusCode::TEMPORARY_REDIRECT);
    let again = app.repost_html(res.headers()[LOCATION].to_str().unwrap(), &form).await;
    assert_eq!(again.status(), StatusCode::UNAUTHORIZED);
    let page = again.text().await.unwrap();
    assert!(page.contains("The email or password is not right."));
    assert!(page.contains(&format!(r#"value="{}""#, account.email)));
    assert!(!page.contains("not the password"));
}

#[tokio::test]
async fn a_successful_form_post_without_javascript_redirects_to_the_tasks() {
    let app = spawn_app().await;
    let res = app
        .post_html(
            "sign_up",
            &[
                ("email", "nojs@example.com"),
                ("password", "long enough pw"),
                ("display_name", "No JS"),
                ("time_zone", "UTC"),
            ],
            "/signup",
        )
        .await;
    assert_eq!(res.status(), StatusCode::FOUND);
    assert_eq!(res.headers()[LOCATION], "/tasks");
    assert!(app.page("/tasks").await.contains("No JS"));
}

#[tokio::test]
async fn settings_change_the_profile_and_reject_an_unknown_zone() {
    let app = spawn_app().await;
    app.sign_up().await;
    let res = app.call("update_profile", &[("display_name", "Renamed"), ("time_zone", "America/New_York")]).await;
    assert_eq!(res.status(), StatusCode::OK);
    let me = app.call("me", &[]).await.text().await.unwrap();
    assert!(me.contains("Renamed") && me.contains("America/New_York"), "{me}");
    let res = app.call("update_profile", &[("display_name", "Renamed"), ("time_zone", "Nowhere")]).await;
    assert_field_error(res, 422, "time_zone").await;
}

#[tokio::test]
async fn changing_the_password_signs_out_other_sessions_but_not_this_one() {
    let app = spawn_app().await;
    let account = app.sign_up().await;
    let other = client();
    app.sign_in_as(&other, account.email.as_str(), account.password.as_str()).await;
    let wrong = app
        .call("change_password", &[("current_password", "not it at all"), ("new_password", "a brand new one")])
        .await;
    assert_field_error(wrong, 422, "current_password").await;
    let res = app
        .call("change_password", &[("current_password", &account.password), ("new_password", "a brand new one")])
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(app.get("/tasks").await.status(), StatusCode::OK, "this session lives on");
    let other_me = other.post(app.url("/api/me")).send().await.unwrap().text().await.unwrap();
    assert_eq!(other_me, "null", "the other session was ended");
}

#[tokio::test]
async fn concurrent_wrong_passwords_cannot_slip_past_the_account_limit() {
    let app = spawn_app().await;
    let account = app.sign_up().await;
    let attempts = (0..30).map(|_| {
        let (http, url, email) = (client(), app.url("/api/sign_in"), account.email.clone());
        async move {
            http.post(url)
                .form(&[("email", email.as_str()), ("password", "wrong password")])
                .send()
                .await
                .unwrap()
                .status()
        }
    });
    let statuses = futures::future::join_all(attempts).await;
    let refused = statuses.iter().filter(|s| **s == StatusCode::UNAUTHORIZED).count();
    let throttled = statuses.iter().filter(|s| **s == StatusCode::TOO_MANY_REQUESTS).count();
    assert_eq!((refused, throttled), (10, 20), "exactly the limit was checked against the password: {statuses:?}");
}

#[tokio::test]
async fn a_right_password_gives_its_attempt_back() {
    let app = spawn_app().await;
    let account = app.sign_up().await;
    let fresh = client();
    for _ in 0..9 {
        app.sign_in_as(&fresh, &account.email, "wrong password").await;
    }
    for _ in 0..5 {
        let ok = app.sign_in_as(&fresh, &account.email, &account.password).await;
        assert_eq!(ok.status(), StatusCode::OK, "successes do not use up the account's limit");
    }
    assert_eq!(app.sign_in_as(&fresh, &account.email, "wrong password").await.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(app.sign_in_as(&fresh, &account.email, "wrong password").await.status(), StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn sign_ups_from_one_address_are_limited() {
    let app = spawn_app().await;
    let mut statuses = Vec::new();
    for n in 0..21 {
        let res = client()
            .post(app.url("/api/sign_up"))
            .form(&[
                ("email", format!("flood{n}@example.com").as_str()),
                ("password", "short"),
                ("display_name", "F"),
                ("time_zone", "UTC"),
            ])
            .send()
            .await
            .unwrap();
        statuses.push(res.status());
    }
    assert!(statuses[..20].iter().all(|s| *s == StatusCode::UNPROCESSABLE_ENTITY), "{statuses:?}");
    assert_eq!(statuses[20], StatusCode::TOO_MANY_REQUESTS, "the 21st sign-up within the hour waits");
}

#[tokio::test]
async fn guessing_the_current_password_is_limited_but_changing_it_is_not() {
    let app = spawn_app().await;
    let account = app.sign_up().await;
    let app = &app;
    let change = |current: &'static str| async move {
        app.call("change_password", &[("current_password", current), ("new_password", "a brand new password")]).await
    };
    for _ in 0..10 {
        assert_eq!(change("not my password").await.status(), StatusCode::UNPROCESSABLE_ENTITY);
    }
    let locked = change("not my password").await;
    assert_eq!(locked.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(locked.headers().contains_key("retry-after"));
    let _ = account;
}

#[tokio::test]
async fn limits_key_on_the_address_the_trusted_proxy_saw_not_the_first_forwarded_hop() {
    let db = TestDb::for_http().await;
    let config = Config { trusted_proxies: 1, sign_in_max_per_ip: 3, ..test_config(&db) };
    let app = spawn_with(db, config).await;
    let try_as = |first_hop: String| {
        let url = app.url("/api/sign_in");
        async move {
            client()
                .post(url)
                .header("x-forwarded-for", format!("{first_hop}, 203.0.113.9"))
                .form(&[("email", format!("{first_hop}@example.com").as_str()), ("password", "whatever pw")])
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    for n in 0..3 {
        assert_eq!(try_as(format!("10.0.0.{n}")).await, StatusCode::UNAUTHORIZED);
    }
    assert_eq!(try_as("10.0.0.99".into()).await, StatusCode::TOO_MANY_REQUESTS, "a forged first hop does not escape");
}
