//! Saved views and the Upcoming week over HTTP: saving the list's search as a
//! named view with the plain form, the sidebar, moving and deleting views,
//! names checked and views kept to their owner, and projected occurrences.

use reqwest::header::LOCATION;
use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::{assert_field_error, spawn_app, TestApp};

async fn view_ids(app: &TestApp) -> Vec<(String, String)> {
    let links: Value = app.call("list_views", &[]).await.json().await.unwrap();
    links
        .as_array()
        .unwrap()
        .iter()
        .filter(|l| !l["id"].as_str().unwrap().is_empty())
        .map(|l| (l["id"].as_str().unwrap().to_owned(), l["name"].as_str().unwrap().to_owned()))
        .collect()
}

#[tokio::test]
async fn a_search_saved_as_a_view_opens_from_the_sidebar_and_can_be_moved_and_deleted() {
    let app = spawn_app().await;
    app.sign_up().await;
    app.quick_add("Pay rent #home !high").await;

    let page = app.page("/tasks?q=%23home+sort%3A-priority").await;
    assert!(page.contains("Save as a view"), "a filtered list offers to save itself");
    for name in ["Today", "Upcoming", "Overdue", "No date"] {
        assert!(page.contains(&format!(">{name}<")), "the sidebar has {name}");
    }
    let res = app.post_html("save_view", &[("name", " Home  first "), ("q", "#home sort:-priority")], "/tasks").await;
    assert_eq!(res.status(), StatusCode::FOUND);
    let href = res.headers()[LOCATION].to_str().unwrap().to_owned();
    assert_eq!(href, "/tasks?q=%23home+sort:-priority", "saving opens the view");
    let page = app.page(&href).await;
    assert!(page.contains(r#"aria-current="page">Home first<"#), "the sidebar marks the open view: {page}");
    assert!(page.contains("Pay rent"));
    app.call("save_view", &[("name", "Urgent"), ("q", "!urgent")]).await;
    let ids = view_ids(&app).await;
    assert_eq!(ids.iter().map(|(_, n)| n.as_str()).collect::<Vec<_>>(), ["Home first", "Urgent"]);

    let res = app.post_html("move_view", &[("id", &ids[1].0), ("direction", "up")], "/views").await;
    assert_eq!((res.status(), res.headers()[LOCATION].to_str().unwrap()), (StatusCode::FOUND, "/views"));
    let names: Vec<String> = view_ids(&app).await.into_iter().map(|(_, n)| n).collect();
    assert_eq!(names, ["Urgent", "Home first"]);
    assert!(app.page("/views").await.contains("Move Urgent down"));

    app.post_html("delete_view", &[("id", &ids[0].0)], "/views").await;
    assert_eq!(view_ids(&app).await.len(), 1);
}

#[tokio::test]
async fn a_view_needs_a_name_of_its_own_and_a_search_that_reads() {
    let app = spawn_app().await;
    app.sign_up().await;
    assert_field_error(app.call("save_view", &[("name", " "), ("q", "#home")]).await, 422, "name").await;
    assert_eq!(app.call("save_view", &[("name", "Home"), ("q", "#home")]).await.status(), StatusCode::OK);
    assert_field_error(app.call("save_view", &[("name", "Home"), ("q", "#work")]).await, 422, "name").await;
    assert_field_error(app.call("save_view", &[("name", "Odd"), ("q", "due:someday")]).await, 422, "query").await;
    assert_eq!(app.call("move_view", &[("id", "x"), ("direction", "up")]).await.status(), StatusCode::NOT_FOUND);
    assert_field_error(
        app.call("move_view", &[("id", &view_ids(&app).await[0].0), ("direction", "left")]).await,
        422,
        "direction",
    )
    .await;
    assert_eq!(view_ids(&app).await.len(), 1, "nothing half-saved");
}

#[tokio::test]
async fn another_user_cannot_see_move_or_delete_your_views() {
    let app = spawn_app().await;
    app.sign_up().await;
    app.call("save_view", &[("name", "Mine"), ("q", "#home")]).await;
    let id = view_ids(&app).await[0].0.clone();
    let other = TestApp::handle(&app);
    other.sign_up().await;
    assert!(view_ids(&other).await.is_empty());
    assert!(!other.page("/tasks").await.contains(">Mine<"));
    assert_eq!(other.call("delete_view", &[("id", &id)]).await.status(), StatusCode::NOT_FOUND);
    assert_eq!(other.call("move_view", &[("id", &id), ("direction", "down")]).await.status(), StatusCode::NOT_FOUND);
    assert_eq!(view_ids(&app).await.len(), 1);
}

#[tokio::test]
async fn upcoming_shows_the_week_with_the_later_dates_of_repeating_tasks_marked_projected() {
    let app = spawn_app().await;
    app.sign_up().await;
    app.quick_add("Stretch every day at 7am").await;
    app.quick_add("Dentist in 2 days at 8am").await;
    app.quick_add("Someday").await;
    let days: Value = app.call("upcoming", &[]).await.json().await.unwrap();
    let days = days.as_array().unwrap();
    assert_eq!(days.len(), 7);
    assert_eq!((days[0]["label"].as_str(), days[1]["label"].as_str()), (Some("Today"), Some("Tomorrow")));
    let rows: Vec<(String, bool)> = days
        .iter()
        .flat_map(|d| d["rows"].as_array().unwrap())
        .map(|r| (r["row"]["title"].as_str().unwrap().to_owned(), r["projected"].as_bool().unwrap()))
        .collect();
    let stretches: Vec<bool> = rows.iter().filter(|(t, _)| t == "Stretch").map(|(_, p)| *p).collect();
    assert_eq!(stretches.iter().filter(|p| !**p).count(), 1, "one real instance: {rows:?}");
    assert!(stretches.len() >= 6, "and a projected one for each later day: {rows:?}");
    assert!(rows.contains(&("Dentist".to_owned(), false)));
    assert!(!rows.iter().any(|(t, _)| t == "Someday"), "undated tasks are not upcoming");
    let page = app.page("/upcoming").await;
    assert!(page.contains("Projected") && page.contains(r#"aria-current="page">Upcoming<"#), "{page}");
}
