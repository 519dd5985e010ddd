//! Tasks over HTTP: create, read, edit, complete, delete, filter, validation
//! and isolation between users.

use reqwest::header::LOCATION;
use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::{assert_field_error, spawn_app, TestApp};

async fn create(app: &TestApp, fields: &[(&str, &str)]) -> reqwest::Response {
    app.call("create_task", fields).await
}

fn created_id(res: &reqwest::Response) -> String {
    let location = res.headers()[LOCATION].to_str().unwrap();
    location.trim_start_matches("/tasks/").to_owned()
}

#[tokio::test]
async fn a_created_task_appears_on_the_list_and_its_own_page() {
    let app = spawn_app().await;
    app.sign_up().await;
    let res = create(
        &app,
        &[
            ("title", "File taxes"),
            ("description", "**Before** April"),
            ("priority", "high"),
            ("tags", "Money, #admin"),
            ("due_date", "2026-04-15"),
            ("due_time", "17:00"),
        ],
    )
    .await;
    assert_eq!(res.status(), StatusCode::OK);
    let id = created_id(&res);
    let list = app.page("/tasks").await;
    assert!(list.contains("File taxes"));
    assert!(list.contains("#money") && list.contains("#admin"));
    let page = app.page(&format!("/tasks/{id}")).await;
    assert!(page.contains("<strong>Before</strong>"), "description is rendered Markdown");
    assert!(page.contains("Wed 15 Apr 2026, 17:00"), "due shown in the user's zone");
}

#[tokio::test]
async fn each_bad_task_field_is_a_422_naming_that_field() {
    let app = spawn_app().await;
    app.sign_up().await;
    let long = "x".repeat(201);
    let cases: [(&[(&str, &str)], &str); 7] = [
        (&[("title", "  ")], "title"),
        (&[("title", long.as_str())], "title"),
        (&[("title", "ok"), ("priority", "asap")], "priority"),
        (&[("title", "ok"), ("tags", "a/b")], "tags"),
        (&[("title", "ok"), ("due_date", "31/12/2026")], "due_date"),
        (&[("title", "ok"), ("due_date", "2026-12-31"), ("due_time", "25:61")], "due_time"),
        (&[("title", "ok"), ("due_time", "10:00")], "due_date"),
    ];
    for (fields, field) in cases {
        assert_field_error(create(&app, fields).await, 422, field).await;
    }
    let list: Value = app.call("list_tasks", &[]).await.json().await.unwrap();
    assert_eq!(list["rows"].as_array().unwrap().len(), 0, "nothing half-written");
}

#[tokio::test]
async fn a_form_missing_a_required_field_is_a_400_not_a_500() {
    let app = spawn_app().await;
    app.sign_up().await;
    let res = app.call("create_task", &[("description", "no title")]).await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let body = res.text().await.unwrap();
    assert!(body.contains("title"), "{body}");
}

#[tokio::test]
async fn server_functions_refuse_anonymous_callers_with_401() {
    let app = spawn_app().await;
    let res = app.call("quick_add", &[("title", "sneaky")]).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn pages_send_anonymous_visitors_to_sign_in_and_back() {
    let app = spawn_app().await;
    let res = app.get("/tasks?tag=work").await;
    assert_eq!(res.status(), StatusCode::FOUND);
    assert_eq!(res.headers()[LOCATION], "/signin?next=/tasks%3Ftag%3Dwork");
}

#[tokio::test]
async fn another_users_task_behaves_exactly_like_a_missing_one() {
    let app = spawn_app().await;
    app.sign_up().await;
    let id = app.quick_add("Private").await;

    let intruder = clone_app(&app);
    intruder.sign_up().await;
    let missing = uuid::Uuid::now_v7().to_string();
    for target in [id.as_str(), missing.as_str()] {
        assert_eq!(intruder.call("get_task", &[("id", target)]).await.status(), StatusCode::NOT_FOUND);
        assert_eq!(
            intruder.call("set_completed", &[("id", target), ("completed", "true")]).await.status(),
            StatusCode::NOT_FOUND
        );
        assert_eq!(
            intruder.call("update_task", &[("id", target), ("title", "mine now")]).await.status(),
            StatusCode::NOT_FOUND
        );
        assert_eq!(intruder.call("delete_task", &[("id", target)]).await.status(), StatusCode::NOT_FOUND);
        assert_eq!(intruder.get(&format!("/tasks/{target}")).await.status(), StatusCode::NOT_FOUND);
    }
    assert!(!intruder.page("/tasks").await.contains("Private"));
    let owner_view: Value = app.call("get_task", &[("id", &id)]).await.json().await.unwrap();
    assert_eq!(owner_view["row"]["title"], "Private", "the owner's task is untouched");
}

/// A second handle on the same running app, for a second user.
fn clone_app(app: &TestApp) -> TestApp {
    TestApp::handle(app)
}

#[tokio::test]
async fn completing_and_reopening_a_task_moves_it_between_lists() {
    let app = spawn_app().await;
    app.sign_up().await;
    let id = app.quick_add("Water plants").await;
    let done: Value = app.call("set_completed", &[("id", &id), ("completed", "true")]).await.json().await.unwrap();
    assert_eq!(done["completed"], true);
    assert!(!app.page("/tasks").await.contains("Water plants"), "completed tasks are hidden by default");
    assert!(app.page("/tasks?completed=1").await.contains("Water plants"));
    let again: Value = app.call("set_completed", &[("id", &id), ("completed", "true")]).await.json().await.unwrap();
    assert_eq!(again["completed"], true, "completing twice is harmless");
    let open: Value = app.call("set_completed", &[("id", &id), ("completed", "false")]).await.json().await.unwrap();
    assert_eq!(open["completed"], false);
    assert!(app.page("/tasks").await.contains("Water plants"));
}

#[tokio::test]
async fn the_complete_toggle_works_as_a_plain_form_post() {
    let app = spawn_app().await;
    app.sign_up().await;
    let id = app.quick_add("No script").await;
    let res = app.post_html("set_completed", &[("id", &id), ("completed", "true")], "/tasks").await;
    assert_eq!(res.status(), StatusCode::FOUND);
    assert!(res.headers()[LOCATION].to_str().unwrap().contains("/tasks"), "back to the page the form was on");
    let task: Value = app.call("get_task", &[("id", &id)]).await.json().await.unwrap();
    assert_eq!(task["row"]["completed"], true);
}

#[tokio::test]
async fn editing_a_task_changes_its_fields_and_validates_them() {
    let app = spawn_app().await;
    app.sign_up().await;
    let id = app.quick_add("Draft").await;
    let res = app
        .call(
            "update_task",
            &[
                ("id", &id),
                ("title", "Final"),
                ("priority", "urgent"),
                ("tags", "Work"),
                ("due_date", "2026-03-29"),
                ("due_time", "02:30"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let task: Value = app.call("get_task", &[("id", &id)]).await.json().await.unwrap();
    assert_eq!(task["row"]["title"], "Final");
    assert_eq!(task["row"]["priority"], "urgent");
    assert_eq!(task["row"]["tags"][0], "work");
    assert_eq!(
        task["due_time"], "03:30",
        "a time inside Berlin's spring-forward gap moves forward by the gap, as RFC 5545 reads it"
    );
    let bad = app.call("update_task", &[("id", &id), ("title", "")]).await;
    assert_field_error(bad, 422, "title").await;
    let task: Value = app.call("get_task", &[("id", &id)]).await.json().await.unwrap();
    assert_eq!(task["row"]["title"], "Final", "a rejected edit changes nothing");
}

#[tokio::test]
async fn deleting_a_task_removes_it() {
    let app = spawn_app().await;
    app.sign_up().await;
    let id = app.quick_add("Temporary").await;
    let confirm = app.page(&format!("/tasks/{id}/delete")).await;
    assert!(confirm.contains("Delete this task?"));
    assert_eq!(app.call("delete_task", &[("id", &id)]).await.status(), StatusCode::OK);
    assert_eq!(app.call("get_task", &[("id", &id)]).await.status(), StatusCode::NOT_FOUND);
    assert_eq!(app.get(&format!("/tasks/{id}")).await.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_list_filters_by_tag_and_priority_from_the_query_string() {
    let app = spawn_app().await;
    app.sign_up().await;
    create(&app, &[("title", "Alpha"), ("tags", "work"), ("priority", "high")]).await;
    create(&app, &[("title", "Bravo"), ("tags", "home"), ("priority", "high")]).await;
    create(&app, &[("title", "Charlie"), ("tags", "work"), ("priority", "low")]).await;
    let work = app.page("/tasks?tag=work").await;
    assert!(work.contains("Alpha") && work.contains("Charlie") && !work.contains("Bravo"));
    let high_work = app.page("/tasks?tag=work&priority=high").await;
    assert!(high_work.contains("Alpha") && !high_work.contains("Charlie"));
    let garbage = app.page("/tasks?tag=%3Cscript%3E&priority=zzz").await;
    assert!(garbage.contains("Alpha"), "an unreadable filter shows everything rather than failing");
}

/// The first `href` after `rel="{rel}"` on a page, unescaped.
fn link(page: &str, rel: &str) -> Option<String> {
    let at = page.find(&format!(r#"rel="{rel}" href=""#))?;
    let rest = &page[at + rel.len() + 13..];
    Some(rest[..rest.find('"')?].replace("&amp;", "&"))
}

#[tokio::test]
async fn a_long_list_is_paged_and_the_page_links_keep_the_filters() {
    let app = spawn_app().await;
    app.sign_up().await;
    for n in 1..=52 {
        let due = format!("2030-01-01T00:{n:02}");
        let (date, time) = due.split_once('T').unwrap();
        create(&app, &[("title", &format!("Paged {n:02}")), ("tags", "bulk"), ("due_date", date), ("due_time", time)])
            .await;
    }
    create(&app, &[("title", "Untagged")]).await;

    let first = app.page("/tasks?tag=bulk").await;
    assert_eq!(first.matches(r#"class="task""#).count(), 50);
    assert!(first.contains("Paged 01") && first.contains("Paged 50") && !first.contains("Paged 51"));
    assert!(first.contains("Tasks 1–50 of 52"));
    let next = link(&first, "next").expect("a next link");
    assert!(next.starts_with("/tasks?tag=bulk&after="), "next keeps the tag filter: {next}");
    assert!(link(&first, "prev").is_none());

    let second = app.page(&next).await;
    assert_eq!(second.matches(r#"class="task""#).count(), 2);
    assert!(second.contains("Paged 51") && second.contains("Paged 52") && !second.contains("Untagged"));
    assert!(second.contains("Tasks 51–52 of 52"));
    assert!(link(&second, "next").is_none());
    let previous = link(&second, "prev").expect("a previous link");
    assert!(previous.starts_with("/tasks?tag=bulk&before="), "{previous}");
    let back = app.page(&previous).await;
    assert!(back.contains("Tasks 1–50 of 52") && back.contains("Paged 01") && !back.contains("Paged 51"));

    let past = app.page("/tasks?tag=bulk&after=1z").await;
    assert!(past.contains(r#"past the end of the list. <a href="/tasks?tag=bulk">"#), "{past}");
    let garbled = app.page("/tasks?after=%3Cscript%3E").await;
    assert!(garbled.contains("Paged 01"), "an unreadable cursor is the first page");

    let json: Value = app.call("list_tasks", &[]).await.json().await.unwrap();
    assert_eq!((json["first"].as_u64(), json["total"].as_u64()), (Some(1), Some(53)));
    let after = json["next"].as_str().unwrap().to_owned();
    let rest: Value = app.call("list_tasks", &[("after", &after)]).await.json().await.unwrap();
    assert_eq!((rest["first"].as_u64(), rest["rows"].as_array().unwrap().len()), (Some(51), 3));
}

#[tokio::test]
async fn a_task_form_posted_without_javascript_comes_back_with_what_was_typed_and_saves_nothing() {
    let app = spawn_app().await;
    app.sign_up().await;
    let form = [
        ("title", "Keep <me>"),
        ("description", "Long *notes*\nsecond line"),
        ("priority", "high"),
        ("tags", "home, work"),
        ("due_date", ""),
        ("due_time", "10:30"),
    ];
    let res = app.post_html("create_task", &form, "/tasks/new").await;
    assert_eq!(res.status(), StatusCode::TEMPORARY_REDIRECT);
    let again = app.repost_html(res.headers()[LOCATION].to_str().unwrap(), &form).await;
    assert_eq!(again.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = again.text().await.unwrap();
    assert!(page.contains(r#"id="due_date-error""#), "the error sits beside the date");
    assert!(page.contains(r#"value="Keep &lt;me&gt;""#), "title kept");
    assert!(!page.contains("<me>\""), "the title is escaped");
    assert!(page.contains("Long *notes*\nsecond line</textarea>"), "description kept");
    assert!(page.contains(r#"value="high" selected"#), "priority kept");
    assert!(page.contains(r#"value="home, work""#) && page.contains(r#"value="10:30""#));

    let json: Value = app.call("list_tasks", &[]).await.json().await.unwrap();
    assert_eq!(json["total"].as_u64(), Some(0), "nothing was saved");

    let edit_id = app.quick_add("Stored title").await;
    let edit = [("id", edit_id.as_str()), ("title", ""), ("tags", "typed, tags")];
    let res = app.post_html("update_task", &edit, &format!("/tasks/{edit_id}/edit")).await;
    let again = app.repost_html(res.headers()[LOCATION].to_str().unwrap(), &edit).await;
    assert_eq!(again.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = again.text().await.unwrap();
    assert!(page.contains(r#"id="title-error""#));
    assert!(page.contains(r#"value="typed, tags""#), "the edit form shows the typed tags, not the stored ones");
    assert!(page.contains(r#"id="title" name="title" value="""#), "and the emptied title stays empty");
}

#[tokio::test]
async fn open_tasks_come_first_then_soonest_due() {
    let app = spawn_app().await;
    app.sign_up().await;
    create(&app, &[("title", "Later"), ("due_date", "2030-01-02")]).await;
    create(&app, &[("title", "Undated")]).await;
    create(&app, &[("title", "Sooner"), ("due_date", "2030-01-01")]).await;
    let done = app.quick_add("Done already").await;
    app.call("set_completed", &[("id", &done), ("completed", "true")]).await;
    let list: Value = app.call("list_tasks", &[("completed", "1")]).await.json().await.unwrap();
    let titles: Vec<_> =
        list["rows"].as_array().unwrap().iter().map(|r| r["title"].as_str().unwrap().to_owned()).collect();
    assert_eq!(titles, ["Sooner", "Later", "Undated", "Done already"]);
}

#[tokio::test]
async fn user_text_is_escaped_and_markdown_cannot_inject_script() {
    let app = spawn_app().await;
    app.sign_up().await;
    let res = create(
        &app,
        &[
            ("title", "</title><script>alert(1)</script>"),
            ("description", "<script>alert(2)</script>\n\n[x](javascript:alert(3))"),
        ],
    )
    .await;
    let id = created_id(&res);
    let page = app.page(&format!("/tasks/{id}")).await;
    assert!(!page.contains("<script>alert(1)"), "the title is escaped everywhere, <title> included");
    assert!(!page.contains("<script>alert(2)"), "raw HTML in Markdown is escaped");
    assert!(!page.to_lowercase().contains("href=\"javascript:"), "javascript: links are dropped");
}

#[tokio::test]
async fn a_list_read_on_one_replica_shows_a_change_made_on_another_at_once() {
    let db = crate::helpers::TestDb::for_http().await;
    let a = crate::helpers::spawn_on(&db, crate::helpers::test_config(&db)).await;
    let mut b = crate::helpers::spawn_on(&db, crate::helpers::test_config(&db)).await;
    a.sign_up().await;
    b.client = a.client.clone();
    a.quick_add("Seen everywhere").await;
    for path in ["/tasks", "/tasks?priority=high"] {
        // Read twice on A, so its copy of the page is warm.
        a.page(path).await;
        a.page(path).await;
    }
    let id = b.quick_add("Added elsewhere").await;
    b.call("update_task", &[("id", &id), ("title", "Added elsewhere"), ("priority", "high")]).await;
    assert!(a.page("/tasks").await.contains("Added elsewhere"), "A's list shows B's new task");
    assert!(a.page("/tasks?priority=high").await.contains("Added elsewhere"), "and B's change to it");
    b.call("delete_task", &[("id", &id)]).await;
    assert!(!a.page("/tasks").await.contains("Added elsewhere"), "and that B deleted it");
    a.stop().await;
    b.stop().await;
}

#[tokio::test]
async fn the_search_box_finds_words_and_filters_in_one_shareable_link_and_marks_what_matched() {
    let app = spawn_app().await;
    app.sign_up().await;
    for (title, tags, priority) in
        [("Pay the rent", "home", "high"), ("Rent a car", "trip", ""), ("Crème brûlée", "home", "")]
    {
        let res = create(&app, &[("title", title), ("tags", tags), ("priority", priority)]).await;
        assert!(res.status().is_success() || res.status().is_redirection(), "{:?}", res.status());
    }
    let rows = |q: &'static str| {
        let app = &app;
        async move {
            let list: Value = app.call("list_tasks", &[("q", q)]).await.json().await.unwrap();
            let mut titles: Vec<String> =
                list["rows"].as_array().unwrap().iter().map(|r| r["title"].as_str().unwrap().to_owned()).collect();
            titles.sort();
            titles
        }
    };
    assert_eq!(rows("rent").await, ["Pay the rent", "Rent a car"]);
    assert_eq!(rows("rent #home").await, ["Pay the rent"]);
    assert_eq!(rows("ren -#home").await, ["Rent a car"]);
    assert_eq!(rows("CREME").await, ["Crème brûlée"]);
    assert_eq!(rows("!high,urgent").await, ["Pay the rent"]);
    // A broken part is skipped, never a 500: the rest still filters, and the page says what it skipped.
    assert_eq!(rows("rent due:tomorow").await, ["Pay the rent", "Rent a car"]);
    let page = app.page("/tasks?q=rent+due%3Atomorow").await;
    assert!(page.contains("<mark>rent</mark>") && page.contains("<mark>Rent</mark> a car"), "{page}");
    assert!(page.contains("due:tomorow"), "the skipped part is named");
    assert!(!page.contains("Crème brûlée</a>"), "what does not match is not listed");
    // The chips remove one part each, by link.
    let page = app.page("/tasks?q=rent+%23home").await;
    assert!(page.contains("href=\"/tasks?q=rent\""), "removing the tag keeps the words: {page}");
}

#[tokio::test]
async fn the_sort_menu_orders_the_list_and_its_page_links_keep_the_order_in_the_search() {
    let app = spawn_app().await;
    app.sign_up().await;
    for (title, priority) in [("b middle", "medium"), ("a low", "low"), ("c urgent", "urgent"), ("d none", "")] {
        let res = create(&app, &[("title", title), ("priority", priority)]).await;
        assert!(res.status().is_success() || res.status().is_redirection(), "{:?}", res.status());
    }
    let titles = |params: &'static [(&'static str, &'static str)]| {
        let app = &app;
        async move {
            let list: Value = app.call("list_tasks", params).await.json().await.unwrap();
            list["rows"].as_array().unwrap().iter().map(|r| r["title"].as_str().unwrap().to_owned()).collect::<Vec<_>>()
        }
    };
    assert_eq!(titles(&[("sort", "-priority")]).await, ["c urgent", "b middle", "a low", "d none"]);
    assert_eq!(titles(&[("q", "sort:title")]).await, ["a low", "b middle", "c urgent", "d none"]);
    // The menu wins over a sort typed in the search, and nonsense in it is ignored.
    assert_eq!(titles(&[("q", "sort:title"), ("sort", "-title")]).await, ["d none", "c urgent", "b middle", "a low"]);
    assert_eq!(titles(&[("sort", "size")]).await.len(), 4);
    let page = app.page("/tasks?sort=-priority").await;
    assert!(page.contains(r#"<option value="-priority" selected"#), "the menu shows the order: {page}");
    assert!(page.contains("Sorted by priority, highest first"), "and a chip names it");
    // Removing another part of the search keeps the order, now carried in the search itself.
    let page = app.page("/tasks?q=%23home&sort=-priority").await;
    assert!(page.contains(r#"aria-label="Search filters""#));
    let removal = page.split("aria-label=\"Remove Tag: home\"").next().unwrap().rsplit("href=\"").next().unwrap();
    assert!(removal.starts_with("/tasks?q=sort:-priority\""), "{removal}");
}
