//! The store contract: one suite, written against the `Store` port, run
//! unchanged on SQLite and on PostgreSQL.

use std::sync::Arc;

use chrono::{Duration, DurationRound, TimeZone as _, Utc};
use domain::event::{DomainEvent, EventEnvelope};
use domain::ports::{SessionRecord, Store};
use domain::task::{Due, PageRequest, Priority, Tags, Task, TaskDescription, TaskFilter, TaskId, TaskTitle};
use domain::{DisplayName, Email, StoreError, Tag, TimeZone, User, UserId};
use uuid::Uuid;

use crate::helpers::TestDb;

fn now() -> chrono::DateTime<Utc> {
    // Both backends keep microseconds; compare at that precision.
    Utc::now().duration_trunc(Duration::microseconds(1)).unwrap()
}

fn user(email: &str) -> User {
    User {
        id: UserId(Uuid::now_v7()),
        email: Email::parse(email).unwrap(),
        display_name: DisplayName::parse("Contract").unwrap(),
        time_zone: TimeZone::parse("Europe/Berlin").unwrap(),
        created_at: now(),
    }
}

fn task(owner: &User, title: &str) -> Task {
    Task {
        id: TaskId(Uuid::now_v7()),
        user_id: owner.id,
        title: TaskTitle::parse(title).unwrap(),
        description: None,
        priority: Priority::None,
        tags: Tags::default(),
        due: None,
        completed_at: None,
        created_at: now(),
        updated_at: now(),
    }
}

fn event(owner: &User, task: &Task) -> EventEnvelope {
    EventEnvelope::new(Uuid::now_v7(), now(), owner.id, DomainEvent::TaskCreated { after: Box::new(task.clone()) })
}

async fn add_user(store: &Arc<dyn Store>, email: &str) -> User {
    let u = user(email);
    let mut uow = store.begin().await.unwrap();
    uow.insert_user(&u, "hash").await.unwrap();
    uow.commit().await.unwrap();
    u
}

/// Every task the filter selects, in list order (one page large enough for all).
async fn list(store: &Arc<dyn Store>, user: &User, filter: &TaskFilter) -> Vec<Task> {
    let page = store.tasks(user.id, filter, PageRequest { number: 1, size: 1000 }).await.unwrap();
    assert_eq!(page.total, page.tasks.len() as u64, "the total counts what the filter selects");
    page.tasks
}

fn titles(tasks: &[Task]) -> Vec<String> {
    tasks.iter().map(|t| t.title.as_str().to_owned()).collect()
}

async fn add_task(store: &Arc<dyn Store>, t: &Task) {
    let mut uow = store.begin().await.unwrap();
    uow.insert_task(t).await.unwrap();
    uow.commit().await.unwrap();
}

pub async fn users_round_trip_and_a_duplicate_email_is_a_conflict(store: Arc<dyn Store>) {
    let u = add_user(&store, "dup@example.com").await;
    assert_eq!(store.user(u.id).await.unwrap(), u);
    let (found, hash) = store.user_by_email(&u.email).await.unwrap().unwrap();
    assert_eq!((found, hash.as_str()), (u.clone(), "hash"));
    let mut uow = store.begin().await.unwrap();
    let err = uow.insert_user(&user("dup@example.com"), "h").await.unwrap_err();
    assert!(matches!(err, StoreError::Conflict { field: "email" }), "{err:?}");
    assert!(store.user_by_email(&Email::parse("none@example.com").unwrap()).await.unwrap().is_none());
}

pub async fn sessions_expire_and_can_be_ended(store: Arc<dyn Store>) {
    let u = add_user(&store, "s@example.com").await;
    let t0 = now();
    let mut uow = store.begin().await.unwrap();
    for (hash, ttl) in [("live", 60), ("other", 60), ("expired", -1)] {
        uow.insert_session(&SessionRecord {
            token_hash: hash.into(),
            user_id: u.id,
            created_at: t0,
            expires_at: t0 + Duration::minutes(ttl),
        })
        .await
        .unwrap();
    }
    uow.commit().await.unwrap();
    assert_eq!(store.session("live", t0).await.unwrap().unwrap().user_id, u.id);
    assert!(store.session("expired", t0).await.unwrap().is_none());
    let mut uow = store.begin().await.unwrap();
    uow.delete_other_sessions(u.id, "live").await.unwrap();
    uow.commit().await.unwrap();
    assert!(store.session("other", t0).await.unwrap().is_none());
    let mut uow = store.begin().await.unwrap();
    uow.delete_session("live").await.unwrap();
    uow.commit().await.unwrap();
    assert!(store.session("live", t0).await.unwrap().is_none());
}

pub async fn tasks_round_trip_with_every_field(store: Arc<dyn Store>) {
    let u = add_user(&store, "t@example.com").await;
    let zone = TimeZone::parse("America/New_York").unwrap();
    let t = Task {
        description: TaskDescription::parse("Line one\nline *two*").unwrap(),
        priority: Priority::Urgent,
        tags: Tags::parse("zeta, alpha, Mid").unwrap(),
        due: Due::parse("2026-11-01", "01:30", zone).unwrap(),
        completed_at: Some(now()),
        ..task(&u, "Everything")
    };
    add_task(&store, &t).await;
    let back = store.task(u.id, t.id).await.unwrap();
    assert_eq!(back, t);
    let tags: Vec<_> = back.tags.iter().map(Tag::as_str).collect();
    assert_eq!(tags, ["zeta", "alpha", "mid"], "tag order is kept");
    assert_eq!(store.tags(u.id).await.unwrap().len(), 3);
}

pub async fn every_read_and_write_is_scoped_to_one_user(store: Arc<dyn Store>) {
    let owner = add_user(&store, "owner@example.com").await;
    let other = add_user(&store, "other@example.com").await;
    let t = Task { tags: Tags::parse("secret").unwrap(), ..task(&owner, "Owner's") };
    add_task(&store, &t).await;
    assert!(matches!(store.task(other.id, t.id).await, Err(StoreError::NotFound)));
    assert!(list(&store, &other, &TaskFilter::default()).await.is_empty());
    assert!(store.tags(other.id).await.unwrap().is_empty());
    let mut uow = store.begin().await.unwrap();
    assert!(matches!(uow.task(other.id, t.id).await, Err(StoreError::NotFound)));
    let hijacked = Task { user_id: other.id, title: TaskTitle::parse("Mine").unwrap(), ..t.clone() };
    assert!(matches!(uow.update_task(&hijacked).await, Err(StoreError::NotFound)));
    assert!(matches!(uow.delete_task(other.id, t.id).await, Err(StoreError::NotFound)));
    uow.commit().await.unwrap();
    assert_eq!(store.task(owner.id, t.id).await.unwrap(), t);
}

pub async fn the_list_puts_open_tasks_first_then_soonest_due(store: Arc<dyn Store>) {
    let u = add_user(&store, "order@example.com").await;
    let z = TimeZone::parse("UTC").unwrap();
    let later = Task { due: Due::parse("2030-01-02", "", z).unwrap(), ..task(&u, "later") };
    let sooner = Task { due: Due::parse("2030-01-01", "", z).unwrap(), ..task(&u, "sooner") };
    let undated_low = Task { priority: Priority::Low, ..task(&u, "undated-low") };
    let undated_high = Task { priority: Priority::High, ..task(&u, "undated-high") };
    let done = Task { completed_at: Some(now()), due: Due::parse("2000-01-01", "", z).unwrap(), ..task(&u, "done") };
    for t in [&later, &sooner, &undated_low, &undated_high, &done] {
        add_task(&store, t).await;
    }
    let all = TaskFilter { show_completed: true, ..TaskFilter::default() };
    assert_eq!(titles(&list(&store, &u, &all).await), ["sooner", "later", "undated-high", "undated-low", "done"]);
    let open = list(&store, &u, &TaskFilter::default()).await;
    assert_eq!(open.len(), 4);
}

pub async fn filters_select_by_tag_and_priority(store: Arc<dyn Store>) {
    let u = add_user(&store, "filter@example.com").await;
    let a = Task { tags: Tags::parse("work, urgent-ish").unwrap(), priority: Priority::High, ..task(&u, "a") };
    let b = Task { tags: Tags::parse("home").unwrap(), priority: Priority::High, ..task(&u, "b") };
    let c = Task { tags: Tags::parse("work").unwrap(), ..task(&u, "c") };
    for t in [&a, &b, &c] {
        add_task(&store, t).await;
    }
    let by_tag = TaskFilter { tag: Some(Tag::parse("WORK").unwrap()), ..TaskFilter::default() };
    let mut got = titles(&list(&store, &u, &by_tag).await);
    got.sort();
    assert_eq!(got, ["a", "c"]);
    let both = TaskFilter { priority: Some(Priority::High), ..by_tag };
    let got = list(&store, &u, &both).await;
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].tags.len(), 2, "tags are loaded with filtered tasks");
}

pub async fn pages_slice_the_ordered_list_and_count_every_match(store: Arc<dyn Store>) {
    let u = add_user(&store, "pages@example.com").await;
    let z = TimeZone::parse("UTC").unwrap();
    for day in 1..=5 {
        let t = Task {
            due: Due::parse(&format!("2030-01-0{day}"), "", z).unwrap(),
            tags: Tags::parse(&format!("day{day}, paged")).unwrap(),
            ..task(&u, &format!("day {day}"))
        };
        add_task(&store, &t).await;
    }
    // Same due instant and priority: the order must still be total, or pages could repeat a row.
    let created = now();
    for n in 0..3 {
        add_task(&store, &Task { created_at: created, ..task(&u, &format!("tie {n}")) }).await;
    }
    let filter = TaskFilter::default();
    let whole = list(&store, &u, &filter).await;
    let mut paged = Vec::new();
    for number in 1..=3 {
        let page = store.tasks(u.id, &filter, PageRequest { number, size: 3 }).await.unwrap();
        assert_eq!(page.total, 8, "page {number} counts every match");
        assert_eq!(page.tasks.len(), if number < 3 { 3 } else { 2 });
        paged.extend(page.tasks);
    }
    assert_eq!(paged, whole, "the pages, joined, are the whole list with its tags");
    assert_eq!(paged[1].tags, Tags::parse("day2, paged").unwrap(), "tags are loaded for a later page too");
    let past = store.tasks(u.id, &filter, PageRequest { number: 4, size: 3 }).await.unwrap();
    assert!(past.tasks.is_empty());
    assert_eq!(past.total, 8);
    let tagged = TaskFilter { tag: Some(Tag::parse("paged").unwrap()), ..TaskFilter::default() };
    let page = store.tasks(u.id, &tagged, PageRequest { number: 2, size: 2 }).await.unwrap();
    assert_eq!((titles(&page.tasks), page.total), (vec!["day 3".to_owned(), "day 4".to_owned()], 5));
}

pub async fn a_duplicate_task_id_is_a_conflict(store: Arc<dyn Store>) {
    let u = add_user(&store, "dupid@example.com").await;
    let t = task(&u, "one");
    add_task(&store, &t).await;
    let mut uow = store.begin().await.unwrap();
    let err = uow.insert_task(&t).await.unwrap_err();
    assert!(matches!(err, StoreError::Conflict { .. }), "{err:?}");
}

pub async fn an_uncommitted_unit_of_work_leaves_no_trace(store: Arc<dyn Store>) {
    let u = add_user(&store, "rollback@example.com").await;
    let t = Task { tags: Tags::parse("x").unwrap(), ..task(&u, "ghost") };
    {
        let mut uow = store.begin().await.unwrap();
        uow.insert_task(&t).await.unwrap();
        uow.append_event(&event(&u, &t)).await.unwrap();
        // Dropped without commit, as when the request fails half-way.
    }
    assert!(matches!(store.task(u.id, t.id).await, Err(StoreError::NotFound)));
    assert!(store.pending_events(100).await.unwrap().is_empty(), "no event without its change");
}

pub async fn a_failed_change_takes_its_event_with_it(store: Arc<dyn Store>) {
    let u = add_user(&store, "atomic@example.com").await;
    let t = task(&u, "exists");
    add_task(&store, &t).await;
    let mut uow = store.begin().await.unwrap();
    uow.append_event(&event(&u, &t)).await.unwrap();
    assert!(uow.insert_task(&t).await.is_err());
    drop(uow);
    assert!(store.pending_events(100).await.unwrap().is_empty());
}

pub async fn the_outbox_hands_out_events_in_commit_order_until_published(store: Arc<dyn Store>) {
    let u = add_user(&store, "outbox@example.com").await;
    let mut ids = Vec::new();
    for i in 0..5 {
        let t = task(&u, &format!("t{i}"));
        let e = event(&u, &t);
        ids.push(e.id);
        let mut uow = store.begin().await.unwrap();
        uow.insert_task(&t).await.unwrap();
        uow.append_event(&e).await.unwrap();
        uow.commit().await.unwrap();
    }
    let pending = store.pending_events(3).await.unwrap();
    assert_eq!(pending.iter().map(|r| r.envelope.id).collect::<Vec<_>>(), ids[..3]);
    assert_eq!(pending[0].envelope.payload.event_type(), "task.created");
    store.mark_published(pending[0].seq, now()).await.unwrap();
    let rest = store.pending_events(10).await.unwrap();
    assert_eq!(rest.iter().map(|r| r.envelope.id).collect::<Vec<_>>(), ids[1..]);
    let mut uow = store.begin().await.unwrap();
    let dup = uow.append_event(&pending[1].envelope).await.unwrap_err();
    assert!(matches!(dup, StoreError::Conflict { .. }), "an event id is written once");
}

pub async fn audit_entries_are_recorded_once_and_read_per_user_and_task(store: Arc<dyn Store>) {
    let u = add_user(&store, "audit@example.com").await;
    let other = add_user(&store, "audit2@example.com").await;
    let t = task(&u, "audited");
    let first = EventEnvelope::new(
        Uuid::now_v7(),
        Utc.with_ymd_and_hms(2026, 1, 1, 9, 0, 0).unwrap(),
        u.id,
        DomainEvent::TaskCreated { after: Box::new(t.clone()) },
    );
    let second = EventEnvelope::new(
        Uuid::now_v7(),
        Utc.with_ymd_and_hms(2026, 1, 2, 9, 0, 0).unwrap(),
        u.id,
        DomainEvent::TaskDeleted { before: Box::new(t.clone()) },
    );
    let unrelated = EventEnvelope::new(Uuid::now_v7(), now(), u.id, DomainEvent::PasswordChanged { user_id: u.id });
    assert!(store.record_audit(&first).await.unwrap());
    assert!(!store.record_audit(&first).await.unwrap(), "a redelivery is a no-op");
    assert!(store.record_audit(&second).await.unwrap());
    assert!(store.record_audit(&unrelated).await.unwrap());
    let all = store.activity(u.id, None, 10).await.unwrap();
    assert_eq!(all.len(), 3);
    assert_eq!(all[0].event_id, unrelated.id, "newest first");
    let per_task = store.activity(u.id, Some(t.id), 10).await.unwrap();
    assert_eq!(per_task.iter().map(|e| e.event_id).collect::<Vec<_>>(), [second.id, first.id]);
    assert!(store.activity(other.id, None, 10).await.unwrap().is_empty());
    assert_eq!(store.activity(u.id, None, 1).await.unwrap().len(), 1, "the limit holds");
}

pub async fn the_store_answers_a_readiness_ping(store: Arc<dyn Store>) {
    store.ping().await.unwrap();
}

macro_rules! contract_suite {
    ($backend:ident, $make:expr) => {
        mod $backend {
            use super::*;

            contract_suite!(@tests $make;
                users_round_trip_and_a_duplicate_email_is_a_conflict,
                sessions_expire_and_can_be_ended,
                tasks_round_trip_with_every_field,
                every_read_and_write_is_scoped_to_one_user,
                the_list_puts_open_tasks_first_then_soonest_due,
                filters_select_by_tag_and_priority,
                pages_slice_the_ordered_list_and_count_every_match,
                a_duplicate_task_id_is_a_conflict,
                an_uncommitted_unit_of_work_leaves_no_trace,
                a_failed_change_takes_its_event_with_it,
                the_outbox_hands_out_events_in_commit_order_until_published,
                audit_entries_are_recorded_once_and_read_per_user_and_task,
                the_store_answers_a_readiness_ping,
            );
        }
    };
    (@tests $make:expr; $($name:ident),* $(,)?) => {
        $(
            #[tokio::test]
            async fn $name() {
                let db: TestDb = $make.await;
                let store = db.store().await;
                super::$name(store).await;
            }
        )*
    };
}

contract_suite!(sqlite, async { TestDb::sqlite() });
contract_suite!(postgres, TestDb::postgres());
