//! The store contract: one suite, written against the `Store` port, run
//! unchanged on SQLite and on PostgreSQL.

use std::sync::Arc;

use chrono::{Duration, DurationRound, TimeZone as _, Utc};
use domain::event::{DomainEvent, EventEnvelope};
use domain::ports::{SessionRecord, Store};
use domain::query::Status;
use domain::spine::Lease;
use domain::task::{Due, Priority, Tags, Task, TaskDescription, TaskId, TaskTitle};
use domain::{
    Cursor, DisplayName, Email, PageRequest, StoreError, Tag, TaskFilter, TaskPage, TaskSummary, TimeZone, User, UserId,
};
use uuid::Uuid;

use crate::helpers::TestDb;

pub(crate) fn now() -> chrono::DateTime<Utc> {
    // Both backends keep microseconds; compare at that precision.
    Utc::now().duration_trunc(Duration::microseconds(1)).unwrap()
}

fn user(email: &str) -> User {
    User {
        id: UserId(Uuid::now_v7()),
        email: Email::parse(email).unwrap(),
        display_name: DisplayName::parse("Contract").unwrap(),
        time_zone: TimeZone::parse("Europe/Berlin").unwrap(),
        default_reminder: None,
        created_at: now(),
    }
}

pub(crate) fn task(owner: &User, title: &str) -> Task {
    Task {
        id: TaskId(Uuid::now_v7()),
        user_id: owner.id,
        title: TaskTitle::parse(title).unwrap(),
        description: None,
        priority: Priority::None,
        tags: Tags::default(),
        due: None,
        repeat: None,
        reminders: Vec::new(),
        completed_at: None,
        created_at: now(),
        updated_at: now(),
    }
}

fn event(owner: &User, task: &Task) -> EventEnvelope {
    EventEnvelope::new(Uuid::now_v7(), now(), owner.id, DomainEvent::TaskCreated { after: Box::new(task.clone()) })
}

pub(crate) async fn add_user(store: &Arc<dyn Store>, email: &str) -> User {
    let u = user(email);
    let mut uow = store.begin().await.unwrap();
    uow.insert_user(&u, "hash").await.unwrap();
    uow.commit().await.unwrap();
    u
}

/// Every task the filter selects, in list order (one page large enough for all).
async fn list(store: &Arc<dyn Store>, user: &User, filter: &TaskFilter) -> Vec<TaskSummary> {
    let page = store.tasks(user.id, filter, &PageRequest { cursor: Cursor::Start, size: 1000 }).await.unwrap();
    assert_eq!(page.total, page.tasks.len() as u64, "the total counts what the filter selects");
    page.tasks
}

async fn page(store: &Arc<dyn Store>, user: &User, filter: &TaskFilter, cursor: Cursor, size: u32) -> TaskPage {
    store.tasks(user.id, filter, &PageRequest { cursor, size }).await.unwrap()
}

fn titles(tasks: &[TaskSummary]) -> Vec<String> {
    tasks.iter().map(|t| t.title.as_str().to_owned()).collect()
}

pub(crate) async fn add_task(store: &Arc<dyn Store>, t: &Task) {
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
    let active = store.session_user("live", t0).await.unwrap().unwrap();
    assert_eq!((active.session.user_id, active.user), (u.id, u.clone()), "the session comes with its user");
    assert!(store.session_user("expired", t0).await.unwrap().is_none());
    assert_eq!(store.purge_expired_sessions(t0).await.unwrap(), 1, "only the expired session is purged");
    let mut uow = store.begin().await.unwrap();
    uow.delete_other_sessions(u.id, "live").await.unwrap();
    uow.commit().await.unwrap();
    assert!(store.session_user("other", t0).await.unwrap().is_none());
    let mut uow = store.begin().await.unwrap();
    uow.delete_session("live").await.unwrap();
    uow.commit().await.unwrap();
    assert!(store.session_user("live", t0).await.unwrap().is_none());
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
    assert!(matches!(uow.task_for_update(other.id, t.id).await, Err(StoreError::NotFound)));
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
    let all = TaskFilter { status: Status::All, ..TaskFilter::default() };
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
    let by_tag = TaskFilter { tags_all: [Tag::parse("WORK").unwrap()].into(), ..TaskFilter::default() };
    let mut got = titles(&list(&store, &u, &by_tag).await);
    got.sort();
    assert_eq!(got, ["a", "c"]);
    let both = TaskFilter { priorities: [Priority::High].into(), ..by_tag };
    let got = list(&store, &u, &both).await;
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].tags.len(), 2, "tags are loaded with filtered tasks");
}

/// The titles a search-box query selects on 10 January 2030 (UTC), sorted.
async fn found(store: &Arc<dyn Store>, user: &User, query: &str) -> Vec<String> {
    let today = chrono::NaiveDate::from_ymd_opt(2030, 1, 10).unwrap();
    let query = domain::query::TaskQuery::parse(query).unwrap();
    let filter = TaskFilter::of(&query, today, TimeZone::parse("UTC").unwrap());
    let mut got = titles(&list(store, user, &filter).await);
    got.sort();
    got
}

pub async fn the_search_boxs_filters_select_by_status_priority_tags_due_and_reminders(store: Arc<dyn Store>) {
    let u = add_user(&store, "query@example.com").await;
    let z = TimeZone::parse("UTC").unwrap();
    let due = |date: &str, time: &str| Due::parse(date, time, z).unwrap();
    let tasks = [
        Task {
            tags: Tags::parse("home").unwrap(),
            priority: Priority::High,
            due: due("2030-01-10", "09:00"),
            reminders: vec![domain::reminder::Reminder::BeforeDue { minutes: 0 }],
            ..task(&u, "rent")
        },
        Task {
            tags: Tags::parse("work").unwrap(),
            priority: Priority::Medium,
            due: due("2030-01-11", ""),
            ..task(&u, "report")
        },
        Task { tags: Tags::parse("home").unwrap(), due: due("2030-01-09", "23:59"), ..task(&u, "bill") },
        Task { tags: Tags::parse("someday").unwrap(), ..task(&u, "idea") },
        Task {
            tags: Tags::parse("work").unwrap(),
            due: due("2030-01-10", ""),
            completed_at: Some(now()),
            ..task(&u, "done")
        },
    ];
    for t in &tasks {
        add_task(&store, t).await;
    }
    let other = add_user(&store, "query-other@example.com").await;
    add_task(&store, &Task { tags: Tags::parse("home").unwrap(), ..task(&other, "not mine") }).await;
    let cases: &[(&str, &[&str])] = &[
        ("#home", &["bill", "rent"]),
        ("#home,work", &["bill", "rent", "report"]),
        ("#home #work", &[]),
        ("-#home", &["idea", "report"]),
        ("-#home,someday", &["report"]),
        ("!high,medium", &["rent", "report"]),
        ("!none", &["bill", "idea"]),
        ("due:today", &["rent"]),
        ("due:tomorrow", &["report"]),
        ("is:overdue", &["bill"]),
        ("is:overdue is:all", &["bill"]),
        ("due:none", &["idea"]),
        ("due:<7d", &["rent", "report"]),
        ("due:2030-01-09..2030-01-10", &["bill", "rent"]),
        ("due:..2030-01-09", &["bill"]),
        ("is:done", &["done"]),
        ("is:all #work", &["done", "report"]),
        ("has:reminder", &["rent"]),
        ("-has:reminder", &["bill", "idea", "report"]),
        ("-is:recurring", &["bill", "idea", "rent", "report"]),
        ("is:recurring", &[]),
    ];
    for (query, want) in cases {
        assert_eq!(found(&store, &u, query).await, *want, "{query}");
    }
}

pub async fn words_find_tasks_by_the_start_of_a_word_in_title_description_or_tags_ignoring_case_and_accents(
    store: Arc<dyn Store>,
) {
    let u = add_user(&store, "search@example.com").await;
    let creme = Task {
        description: Some(TaskDescription::parse("For *Sunday* lunch").unwrap().unwrap()),
        ..task(&u, "Crème brûlée")
    };
    let rent = task(&u, "Pay the RENT");
    let zoe = Task { tags: Tags::parse("family").unwrap(), ..task(&u, "Call Zoë") };
    for t in [&creme, &rent, &zoe] {
        add_task(&store, t).await;
    }
    let other = add_user(&store, "search-other@example.com").await;
    add_task(&store, &task(&other, "Pay rent too")).await;
    let cases: &[(&str, &[&str])] = &[
        ("creme", &["Crème brûlée"]),
        ("BRUL", &["Crème brûlée"]),
        ("sunday", &["Crème brûlée"]),
        ("rent", &["Pay the RENT"]),
        ("pay rent", &["Pay the RENT"]),
        ("pay nothing", &[]),
        ("fam", &["Call Zoë"]),
        ("zoe", &["Call Zoë"]),
        ("\"Zoë,\"", &["Call Zoë"]),
        ("ent", &[]),
    ];
    for (query, want) in cases {
        assert_eq!(found(&store, &u, query).await, *want, "{query}");
    }
    // The index follows every change, in the change's own transaction.
    let mut uow = store.begin().await.unwrap();
    uow.update_task(&Task { title: TaskTitle::parse("Pay the mortgage").unwrap(), ..rent.clone() }).await.unwrap();
    uow.delete_task(u.id, zoe.id).await.unwrap();
    uow.commit().await.unwrap();
    assert!(found(&store, &u, "rent").await.is_empty());
    assert_eq!(found(&store, &u, "mortg").await, ["Pay the mortgage"]);
    assert!(found(&store, &u, "zoe").await.is_empty());
    let mut uow = store.begin().await.unwrap();
    uow.update_task(&Task { tags: Tags::parse("household").unwrap(), ..creme.clone() }).await.unwrap();
    drop(uow);
    assert!(found(&store, &u, "household").await.is_empty(), "a change rolled back leaves the index as it was");
}

pub async fn a_search_follows_a_task_between_open_and_done_and_counts_only_its_owners_tasks(store: Arc<dyn Store>) {
    let u = add_user(&store, "scope@example.com").await;
    let other = add_user(&store, "scope-other@example.com").await;
    let mine: Vec<Task> = (0..3).map(|i| task(&u, &format!("Invoice {i}"))).collect();
    for t in &mine {
        add_task(&store, t).await;
    }
    for i in 0..4 {
        add_task(&store, &task(&other, &format!("Invoice theirs {i}"))).await;
    }
    // `found` checks each page's count against its rows: a plain search is counted by the index alone.
    assert_eq!(found(&store, &u, "invoice").await, ["Invoice 0", "Invoice 1", "Invoice 2"]);
    assert_eq!(found(&store, &other, "inv is:all").await.len(), 4);
    // The index knows each row's owner, but a search never finds it.
    let own_id = format!("u{}", &u.id.0.simple().to_string()[..6]);
    assert!(found(&store, &u, &own_id).await.is_empty(), "{own_id}");
    let done = Task { completed_at: Some(now()), ..mine[1].clone() };
    let mut uow = store.begin().await.unwrap();
    uow.update_task(&done).await.unwrap();
    uow.commit().await.unwrap();
    assert_eq!(found(&store, &u, "invoice").await, ["Invoice 0", "Invoice 2"]);
    assert_eq!(found(&store, &u, "invoice is:done").await, ["Invoice 1"]);
    assert_eq!(found(&store, &u, "invoice is:all").await.len(), 3);
    // A new due date keeps the task's status, and its search row.
    let due = Due::parse("2030-01-12", "", TimeZone::parse("UTC").unwrap()).unwrap();
    let mut uow = store.begin().await.unwrap();
    uow.update_task(&Task { due, ..done }).await.unwrap();
    uow.commit().await.unwrap();
    assert_eq!(found(&store, &u, "invoice is:done").await, ["Invoice 1"]);
    let mut uow = store.begin().await.unwrap();
    uow.update_task(&mine[1]).await.unwrap();
    uow.commit().await.unwrap();
    assert_eq!(found(&store, &u, "invoice").await, ["Invoice 0", "Invoice 1", "Invoice 2"]);
    assert!(found(&store, &u, "invoice is:done").await.is_empty());
    assert_eq!(found(&store, &other, "invoice").await.len(), 4, "another user's search is untouched");
}

pub async fn keyset_pages_walk_the_ordered_list_both_ways_and_count_every_match(store: Arc<dyn Store>) {
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
    // Same due instant, priority and creation time: the id still orders them, so pages never repeat a row.
    let created = now();
    for n in 0..3 {
        add_task(&store, &Task { created_at: created, ..task(&u, &format!("tie {n}")) }).await;
    }
    let filter = TaskFilter::default();
    let whole = list(&store, &u, &filter).await;
    let mut forward = Vec::new();
    let mut cursor = Cursor::Start;
    for expected_offset in [0, 3, 6] {
        let p = page(&store, &u, &filter, cursor, 3).await;
        assert_eq!((p.total, p.offset), (8, expected_offset), "every page counts every match and its place");
        forward.extend(p.tasks.clone());
        cursor = match p.next() {
            Some(key) => Cursor::After(key),
            None => Cursor::Start,
        };
    }
    assert_eq!(cursor, Cursor::Start, "the last page has no next page");
    assert_eq!(forward, whole, "the pages, joined, are the whole list with its tags");
    assert_eq!(forward[1].tags, Tags::parse("day2, paged").unwrap(), "tags are loaded for a later page too");

    let last = page(&store, &u, &filter, Cursor::After(whole[5].list_key()), 3).await;
    assert_eq!((titles(&last.tasks).len(), last.offset, last.next()), (2, 6, None));
    let back = page(&store, &u, &filter, Cursor::Before(last.previous().unwrap()), 3).await;
    assert_eq!(back.tasks, whole[3..6], "previous goes back one page");
    assert_eq!((back.offset, back.next()), (3, Some(whole[5].list_key())));
    let start = page(&store, &u, &filter, Cursor::Before(back.previous().unwrap()), 3).await;
    assert_eq!((start.tasks.as_slice(), start.offset, start.previous()), (&whole[..3], 0, None));

    let past = page(&store, &u, &filter, Cursor::After(whole[7].list_key()), 3).await;
    assert!(past.tasks.is_empty());
    assert_eq!((past.total, past.offset), (8, 8));
    let tagged = TaskFilter { tags_all: [Tag::parse("paged").unwrap()].into(), ..TaskFilter::default() };
    let p = page(&store, &u, &tagged, Cursor::After(whole[1].list_key()), 2).await;
    assert_eq!((titles(&p.tasks), p.total, p.offset), (vec!["day 3".to_owned(), "day 4".to_owned()], 5, 2));
}

/// Every page of a list, walked forwards with `size` rows a page, then back
/// again from the last page; checks the places each page reports.
async fn walk(store: &Arc<dyn Store>, u: &User, filter: &TaskFilter, size: u32) -> Vec<TaskSummary> {
    let mut forward: Vec<TaskSummary> = Vec::new();
    let mut pages = Vec::new();
    let mut cursor = Cursor::Start;
    loop {
        let p = page(store, u, filter, cursor, size).await;
        assert_eq!(p.offset, forward.len() as u64, "a page knows how many rows come before it");
        forward.extend(p.tasks.clone());
        assert_eq!(p.total, list(store, u, filter).await.len() as u64);
        let next = p.next();
        pages.push(p);
        match next {
            Some(key) => cursor = Cursor::After(key),
            None => break,
        }
    }
    // Back from the last page: each previous page is the one seen on the way forward.
    for i in (1..pages.len()).rev() {
        let back = page(store, u, filter, Cursor::Before(pages[i].previous().unwrap()), size).await;
        assert_eq!(back.tasks, pages[i - 1].tasks, "previous goes back one page");
        assert_eq!(back.offset, pages[i - 1].offset);
    }
    assert_eq!(pages[0].previous(), None);
    forward
}

pub async fn every_sort_key_pages_both_ways_in_its_order_with_ties_broken_by_the_lists_own(store: Arc<dyn Store>) {
    use domain::query::{Sort, SortKey};
    let u = add_user(&store, "sorts@example.com").await;
    let z = TimeZone::parse("UTC").unwrap();
    let t0 = now();
    let specs = [
        ("banana", Priority::High, Some("2030-01-02"), 1, 5),
        ("Apple", Priority::Low, None, 2, 4),
        ("cherry", Priority::High, Some("2030-01-01"), 3, 3),
        ("apple", Priority::None, Some("2030-01-02"), 4, 2),
        ("Date", Priority::Urgent, None, 5, 1),
        ("elder", Priority::Low, Some("2030-01-03"), 5, 1),
        ("fig", Priority::None, None, 6, 6),
    ];
    let mut tasks = Vec::new();
    for (title, priority, due, created, updated) in specs {
        let t = Task {
            priority,
            due: due.and_then(|d| Due::parse(d, "", z).unwrap()),
            created_at: t0 + Duration::seconds(created),
            updated_at: t0 + Duration::seconds(updated),
            ..task(&u, title)
        };
        add_task(&store, &t).await;
        tasks.push(t);
    }
    add_task(&store, &task(&add_user(&store, "sorts-other@example.com").await, "aardvark")).await;
    for key in [SortKey::Due, SortKey::Priority, SortKey::Created, SortKey::Updated, SortKey::Title] {
        for descending in [false, true] {
            let sort = Sort { key, descending };
            let filter = TaskFilter { sort, ..TaskFilter::default() };
            // The order asked for, then the list's own order for ties, all reversed when descending.
            let mut expected: Vec<&Task> = tasks.iter().collect();
            expected.sort_by(|a, b| {
                let lead = match key {
                    SortKey::Due => {
                        // Undated last both ways.
                        let (da, db) = (a.due.map(|d| d.at), b.due.map(|d| d.at));
                        let undated = da.is_none().cmp(&db.is_none());
                        let at = if descending { db.cmp(&da) } else { da.cmp(&db) };
                        return undated.then(at).then_with(|| {
                            let keys = domain::ListKey::for_task(a).cmp(&domain::ListKey::for_task(b));
                            if descending {
                                keys.reverse()
                            } else {
                                keys
                            }
                        });
                    }
                    SortKey::Priority => a.priority.rank().cmp(&b.priority.rank()),
                    SortKey::Created => a.created_at.cmp(&b.created_at),
                    SortKey::Updated => a.updated_at.cmp(&b.updated_at),
                    SortKey::Title => a.title.as_str().to_lowercase().cmp(&b.title.as_str().to_lowercase()),
                };
                let order = lead.then_with(|| domain::ListKey::for_task(a).cmp(&domain::ListKey::for_task(b)));
                if descending {
                    order.reverse()
                } else {
                    order
                }
            });
            let expected: Vec<&str> = expected.iter().map(|t| t.title.as_str()).collect();
            assert_eq!(titles(&list(&store, &u, &filter).await), expected, "{sort:?}");
            for size in [1, 2, 3] {
                assert_eq!(titles(&walk(&store, &u, &filter, size).await), expected, "{sort:?} in pages of {size}");
            }
        }
    }
    // A task changed after its page was shown still anchors the next page, at its new place.
    let by_title = TaskFilter { sort: Sort { key: SortKey::Title, descending: false }, ..TaskFilter::default() };
    let first = page(&store, &u, &by_title, Cursor::Start, 2).await;
    // Equal titles but for case: the dated one first, as in the list's own order.
    assert_eq!(titles(&first.tasks), ["apple", "Apple"]);
    let anchor = tasks.iter().find(|t| t.title.as_str() == "Apple").unwrap();
    let mut uow = store.begin().await.unwrap();
    uow.update_task(&Task { title: TaskTitle::parse("dewberry").unwrap(), ..anchor.clone() }).await.unwrap();
    uow.commit().await.unwrap();
    let next = page(&store, &u, &by_title, Cursor::After(first.next().unwrap()), 2).await;
    assert_eq!((titles(&next.tasks), next.offset), (vec!["elder".to_owned(), "fig".to_owned()], 5));
    // A cursor whose task is gone is past the end, not an error.
    let mut uow = store.begin().await.unwrap();
    uow.delete_task(u.id, anchor.id).await.unwrap();
    uow.commit().await.unwrap();
    let gone = page(&store, &u, &by_title, Cursor::After(first.next().unwrap()), 2).await;
    assert!(gone.tasks.is_empty());
    assert_eq!(gone.total, 6);
}

pub async fn a_search_ranks_tasks_with_every_word_in_the_title_above_the_rest(store: Arc<dyn Store>) {
    let u = add_user(&store, "rank@example.com").await;
    let z = TimeZone::parse("UTC").unwrap();
    let body = |text: &str| Some(TaskDescription::parse(text).unwrap().unwrap());
    let specs = [
        // Sooner due dates, so the list's own order alone would put them first.
        ("Bills", body("rent and water"), Some("2030-01-01")),
        ("Pay rent", None, Some("2030-01-05")),
        ("Landlord", body("call about the rent"), Some("2030-01-02")),
        ("Rent car", body("for the trip"), None),
        ("Water", None, Some("2030-01-01")),
        ("Pay the rent again", None, Some("2030-01-09")),
        ("Rental", Some(TaskDescription::parse("pay").unwrap().unwrap()), Some("2030-01-03")),
    ];
    for (title, description, due) in specs {
        let t = Task { description, due: due.and_then(|d| Due::parse(d, "", z).unwrap()), ..task(&u, title) };
        add_task(&store, &t).await;
    }
    let today = chrono::NaiveDate::from_ymd_opt(2030, 1, 1).unwrap();
    let search = |q: &str| TaskFilter::of(&domain::query::TaskQuery::parse(q).unwrap(), today, z);
    // Title hits by the list's own order (soonest due, undated last), then the rest by it too.
    let expected = ["Rental", "Pay rent", "Pay the rent again", "Rent car", "Bills", "Landlord"];
    assert_eq!(titles(&list(&store, &u, &search("rent")).await), expected);
    for size in [1, 2, 4] {
        assert_eq!(titles(&walk(&store, &u, &search("rent"), size).await), expected, "pages of {size}");
    }
    // Every word must be in the title to rank first; one in the title and one in the body is not enough.
    assert_eq!(titles(&list(&store, &u, &search("pay rent")).await), ["Pay rent", "Pay the rent again", "Rental"]);
    // An explicit order wins over the rank.
    assert_eq!(titles(&list(&store, &u, &search("rent sort:title")).await)[..2], ["Bills", "Landlord"]);
}

fn view(owner: &User, name: &str, query: &str, position: i64) -> domain::views::SavedView {
    domain::views::SavedView {
        id: domain::views::ViewId(Uuid::now_v7()),
        user_id: owner.id,
        name: domain::views::ViewName::parse(name).unwrap(),
        query: domain::query::TaskQuery::parse(query).unwrap(),
        position,
        created_at: now(),
    }
}

pub async fn saved_views_keep_their_search_in_the_owners_order_and_names_are_unique_per_owner(store: Arc<dyn Store>) {
    let u = add_user(&store, "views@example.com").await;
    let other = add_user(&store, "views-other@example.com").await;
    let work = view(&u, "Work", "#work !high sort:-priority", 0);
    let home = view(&u, "Home", "#home due:<7d", 1);
    let mut uow = store.begin().await.unwrap();
    uow.insert_view(&work).await.unwrap();
    uow.insert_view(&home).await.unwrap();
    uow.insert_view(&view(&other, "Work", "is:done", 0)).await.unwrap();
    uow.commit().await.unwrap();
    assert_eq!(store.saved_views(u.id).await.unwrap(), [work.clone(), home.clone()], "round trip, in order");
    let mut uow = store.begin().await.unwrap();
    let taken = uow.insert_view(&view(&u, "Work", "#other", 2)).await;
    assert!(matches!(taken, Err(StoreError::Conflict { field: "name" })), "{taken:?}");
    drop(uow);
    let mut uow = store.begin().await.unwrap();
    uow.set_view_order(u.id, &[home.id, work.id]).await.unwrap();
    uow.commit().await.unwrap();
    let names: Vec<String> =
        store.saved_views(u.id).await.unwrap().iter().map(|v| v.name.as_str().to_owned()).collect();
    assert_eq!(names, ["Home", "Work"]);
    let mut uow = store.begin().await.unwrap();
    assert!(matches!(uow.delete_view(other.id, work.id).await, Err(StoreError::NotFound)), "only the owner deletes");
    assert!(matches!(uow.set_view_order(other.id, &[home.id]).await, Err(StoreError::NotFound)));
    drop(uow);
    let mut uow = store.begin().await.unwrap();
    uow.delete_view(u.id, work.id).await.unwrap();
    uow.commit().await.unwrap();
    assert_eq!(store.saved_views(u.id).await.unwrap().len(), 1);
    assert_eq!(store.saved_views(other.id).await.unwrap().len(), 1);
}

pub async fn repeating_tasks_are_the_owners_open_instances_of_a_series(store: Arc<dyn Store>) {
    let u = add_user(&store, "repeating@example.com").await;
    let z = TimeZone::parse("UTC").unwrap();
    let due = Due::parse("2030-01-01", "09:00", z).unwrap().unwrap();
    let repeat = |t: Task| {
        let rule = domain::recurrence::RecurrenceRule::parse("FREQ=DAILY").unwrap();
        let draft = domain::repeat::RepeatDraft { rule, anchor: Default::default(), skipped: None };
        let series = domain::repeat::SeriesId(Uuid::now_v7());
        Task { due: Some(due), repeat: Some(domain::repeat::Repeat::first(series, draft, &due)), ..t }
    };
    let open = repeat(task(&u, "Stretch"));
    let done = Task { completed_at: Some(now()), ..repeat(task(&u, "Done stretch")) };
    for t in [&open, &done, &task(&u, "Once")] {
        add_task(&store, t).await;
    }
    add_task(&store, &repeat(task(&add_user(&store, "repeating-other@example.com").await, "Theirs"))).await;
    assert_eq!(store.repeating_tasks(u.id).await.unwrap(), [open]);
}

pub async fn a_list_longer_than_the_count_cap_says_more_than_rather_than_counting_every_match(store: Arc<dyn Store>) {
    let u = add_user(&store, "long@example.com").await;
    let cap = domain::task_list::COUNT_CAP as usize;
    let mut uow = store.begin().await.unwrap();
    for n in 0..cap + 5 {
        let note = TaskDescription::parse("a note").unwrap();
        uow.insert_task(&Task { description: note, ..task(&u, &format!("task {n:04}")) }).await.unwrap();
    }
    uow.commit().await.unwrap();
    let filter = TaskFilter::default();
    let first = page(&store, &u, &filter, Cursor::Start, 50).await;
    assert_eq!((first.total, first.total_exact(), first.offset_exact()), (cap as u64 + 1, false, true));
    let all = page(&store, &u, &filter, Cursor::Start, cap as u32 + 5).await;
    let deep = page(&store, &u, &filter, Cursor::After(all.tasks[cap + 1].list_key()), 50).await;
    assert_eq!(deep.tasks.len(), 3, "pages still reach the end");
    assert!(!deep.offset_exact(), "a place past the cap is not counted");
    let near = page(&store, &u, &filter, Cursor::After(all.tasks[10].list_key()), 50).await;
    assert_eq!((near.offset, near.offset_exact()), (11, true));
    let few = TaskFilter { terms: vec!["0004".to_owned()], ..TaskFilter::default() };
    let found = page(&store, &u, &few, Cursor::Start, 50).await;
    assert_eq!((found.total, found.total_exact()), (1, true), "a short list is counted exactly");
    // Searches past the cap, ranked: by title hits alone, and by matches none of them in a title.
    for word in ["task", "note"] {
        let many = TaskFilter { terms: vec![word.to_owned()], ..TaskFilter::default() };
        let found = page(&store, &u, &many, Cursor::Start, 50).await;
        assert_eq!((found.tasks.len(), found.total, found.total_exact()), (50, cap as u64 + 1, false), "{word}");
        assert!(found.more_after, "{word}");
    }
}

/// The owner's list version, as a signed-in request reads it with its
/// session, checked against the version the API reads alone.
async fn list_version(store: &Arc<dyn Store>, u: &User) -> i64 {
    let hash = format!("version-{}", u.id);
    if store.session_user(&hash, now()).await.unwrap().is_none() {
        let mut uow = store.begin().await.unwrap();
        let session = SessionRecord {
            token_hash: hash.clone(),
            user_id: u.id,
            created_at: now(),
            expires_at: now() + Duration::days(1),
        };
        uow.insert_session(&session).await.unwrap();
        uow.commit().await.unwrap();
    }
    let with_session = store.session_user(&hash, now()).await.unwrap().unwrap().list_version;
    assert_eq!(store.list_version(u.id).await.unwrap(), with_session, "both reads agree");
    with_session
}

pub async fn every_change_to_a_task_raises_its_owners_list_version_and_no_one_elses(store: Arc<dyn Store>) {
    let u = add_user(&store, "version@example.com").await;
    let other = add_user(&store, "version2@example.com").await;
    let (start, theirs) = (list_version(&store, &u).await, list_version(&store, &other).await);
    let t = task(&u, "versioned");
    add_task(&store, &t).await;
    assert_eq!(list_version(&store, &u).await, start + 1, "a new task");
    let mut uow = store.begin().await.unwrap();
    uow.update_task(&Task { title: TaskTitle::parse("renamed").unwrap(), ..t.clone() }).await.unwrap();
    uow.commit().await.unwrap();
    assert_eq!(list_version(&store, &u).await, start + 2, "a changed task");
    {
        let mut uow = store.begin().await.unwrap();
        uow.delete_task(u.id, t.id).await.unwrap();
        // Rolled back: the version stays with the task.
    }
    assert_eq!(list_version(&store, &u).await, start + 2, "a change that was rolled back");
    let mut uow = store.begin().await.unwrap();
    uow.delete_task(u.id, t.id).await.unwrap();
    uow.commit().await.unwrap();
    assert_eq!(list_version(&store, &u).await, start + 3, "a deleted task");
    assert_eq!(list_version(&store, &other).await, theirs, "another user's version never moves");
}

pub async fn a_duplicate_task_id_is_a_conflict(store: Arc<dyn Store>) {
    let u = add_user(&store, "dupid@example.com").await;
    let t = task(&u, "one");
    add_task(&store, &t).await;
    let mut uow = store.begin().await.unwrap();
    // A store may hold a write back until commit (SQLite does): the conflict comes at one or the other.
    let err = match uow.insert_task(&t).await {
        Err(e) => e,
        Ok(_) => uow.commit().await.unwrap_err(),
    };
    assert!(matches!(err, StoreError::Conflict { .. }), "{err:?}");
}

/// Creates `t` with its event in a unit of work of its own: run many at
/// once, they reach the store's commit together.
async fn create_with_event(store: &Arc<dyn Store>, u: &User, t: &Task) -> Result<(), StoreError> {
    let mut uow = store.begin().await?;
    uow.insert_task(t).await?;
    uow.append_event(&event(u, t)).await?;
    uow.commit().await
}

pub async fn units_of_work_committed_at_once_each_keep_their_own_fate(store: Arc<dyn Store>) {
    store.register_subscribers(&["audit-log"]).await.unwrap();
    let u = add_user(&store, "together@example.com").await;
    let existing = task(&u, "exists");
    add_task(&store, &existing).await;
    let mut fresh: Vec<Task> = (0..24).map(|i| task(&u, &format!("new {i}"))).collect();
    // One of them reuses a task's id, in the middle of the crowd.
    fresh.insert(12, existing.clone());
    let before = store.list_version(u.id).await.unwrap();
    let outcomes = futures::future::join_all(fresh.iter().map(|t| create_with_event(&store, &u, t))).await;
    for (i, outcome) in outcomes.iter().enumerate() {
        if i == 12 {
            assert!(matches!(outcome, Err(StoreError::Conflict { .. })), "{outcome:?}");
        } else {
            assert!(outcome.is_ok(), "creation {i}: {outcome:?}");
        }
    }
    let all = page(&store, &u, &TaskFilter::default(), Cursor::Start, 100).await;
    assert_eq!(all.total, 25, "the existing task and the 24 new ones, each once");
    assert_eq!(store.delivery_stats().await.unwrap().pending, 24, "the failed one's event went with it");
    let version = store.list_version(u.id).await.unwrap();
    assert_eq!(version - before, 24, "raised once for each task written");
    // Written together, each new task is found by search, and once.
    assert_eq!(found(&store, &u, "new").await.len(), 24);
    assert_eq!(found(&store, &u, "new 17").await, ["new 17"]);
    assert_eq!(found(&store, &u, "exists").await, ["exists"]);
}

pub async fn feeds_written_together_number_each_users_entries_once_and_without_gaps(store: Arc<dyn Store>) {
    let (a, b) = (add_user(&store, "feed-a@example.com").await, add_user(&store, "feed-b@example.com").await);
    // A third user's tasks are written in the same crowd with no event, so no feed entry.
    let quiet = add_user(&store, "feed-quiet@example.com").await;
    let versions = [list_version(&store, &a).await, list_version(&store, &b).await, list_version(&store, &quiet).await];
    let made: Vec<(User, Task)> =
        (0..32).map(|i| if i % 2 == 0 { &a } else { &b }).map(|u| (u.clone(), task(u, "fed"))).collect();
    let unheard: Vec<Task> = (0..8).map(|_| task(&quiet, "unheard")).collect();
    let (fed, _) = futures::future::join(
        futures::future::join_all(made.iter().map(|(u, t)| create_with_event(&store, u, t))),
        futures::future::join_all(unheard.iter().map(|t| add_task(&store, t))),
    )
    .await;
    for outcome in fed {
        outcome.unwrap();
    }
    for u in [&a, &b] {
        let feed = store.feed_after(u.id, 0, 100).await.unwrap();
        let seqs: Vec<i64> = feed.iter().map(|e| e.seq).collect();
        assert_eq!(seqs, (1..=16).collect::<Vec<_>>(), "each user's own numbers, from 1, none skipped");
        for entry in &feed {
            assert_eq!(entry.data["unread"], 0, "each entry carries the user's unread count: {}", entry.data);
            assert_eq!(entry.data["title"], "fed", "and what the entry says: {}", entry.data);
        }
        let mut fed: Vec<String> = feed.iter().map(|e| e.data["task_id"].as_str().unwrap().to_owned()).collect();
        let mut own: Vec<String> =
            made.iter().filter(|(owner, _)| owner.id == u.id).map(|(_, t)| t.id.0.to_string()).collect();
        fed.sort();
        own.sort();
        assert_eq!(fed, own, "each of the user's tasks once, and no one else's");
    }
    assert!(store.feed_after(quiet.id, 0, 100).await.unwrap().is_empty(), "no event, no entry");
    let raised = [
        list_version(&store, &a).await - versions[0],
        list_version(&store, &b).await - versions[1],
        list_version(&store, &quiet).await - versions[2],
    ];
    // A cached page of any of the three lists is stale (a group raises each list once).
    assert!(raised.iter().all(|r| *r >= 1), "every list moved, with entries or without: {raised:?}");
}

pub async fn a_task_made_and_changed_in_one_unit_of_work_is_found_as_it_was_committed(store: Arc<dyn Store>) {
    let u = add_user(&store, "made-and-changed@example.com").await;
    let draft = task(&u, "draft wording");
    let mut uow = store.begin().await.unwrap();
    uow.insert_task(&draft).await.unwrap();
    let held = uow.task_for_update(u.id, draft.id).await.unwrap();
    uow.update_task(&Task { title: TaskTitle::parse("final wording").unwrap(), ..held }).await.unwrap();
    uow.commit().await.unwrap();
    assert_eq!(found(&store, &u, "wording").await, ["final wording"]);
    assert!(found(&store, &u, "draft").await.is_empty());
    let fleeting = task(&u, "fleeting thought");
    let mut uow = store.begin().await.unwrap();
    uow.insert_task(&fleeting).await.unwrap();
    uow.delete_task(u.id, fleeting.id).await.unwrap();
    uow.commit().await.unwrap();
    assert!(found(&store, &u, "fleeting").await.is_empty());
    assert_eq!(found(&store, &u, "is:all").await, ["final wording"]);
}

pub async fn a_change_to_a_task_waits_for_the_unit_of_work_that_holds_it(store: Arc<dyn Store>) {
    let u = add_user(&store, "lock@example.com").await;
    let t = task(&u, "contended");
    add_task(&store, &t).await;
    let mut first = store.begin().await.unwrap();
    let held = first.task_for_update(u.id, t.id).await.unwrap();
    let second = {
        let (store, user, id) = (store.clone(), u.id, t.id);
        tokio::spawn(async move {
            let mut uow = store.begin().await.unwrap();
            let seen = uow.task_for_update(user, id).await.unwrap();
            uow.commit().await.unwrap();
            seen
        })
    };
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(!second.is_finished(), "a second change cannot read the task while the first holds it");
    let done = Task { completed_at: Some(now()), ..held };
    first.update_task(&done).await.unwrap();
    first.commit().await.unwrap();
    let seen = second.await.unwrap();
    assert_eq!(seen.completed_at, done.completed_at, "the second change reads what the first committed");
}

pub async fn an_uncommitted_unit_of_work_leaves_no_trace(store: Arc<dyn Store>) {
    store.register_subscribers(&["audit-log"]).await.unwrap();
    let u = add_user(&store, "rollback@example.com").await;
    let t = Task { tags: Tags::parse("x").unwrap(), ..task(&u, "ghost") };
    {
        let mut uow = store.begin().await.unwrap();
        uow.insert_task(&t).await.unwrap();
        uow.append_event(&event(&u, &t)).await.unwrap();
        // Dropped without commit, as when the request fails half-way.
    }
    assert!(matches!(store.task(u.id, t.id).await, Err(StoreError::NotFound)));
    assert_eq!(store.delivery_stats().await.unwrap().pending, 0, "no event without its change");
}

pub async fn a_failed_change_takes_its_event_with_it(store: Arc<dyn Store>) {
    store.register_subscribers(&["audit-log"]).await.unwrap();
    let u = add_user(&store, "atomic@example.com").await;
    let t = task(&u, "exists");
    add_task(&store, &t).await;
    let mut uow = store.begin().await.unwrap();
    uow.append_event(&event(&u, &t)).await.unwrap();
    match uow.insert_task(&t).await {
        Err(_) => drop(uow),
        Ok(_) => assert!(uow.commit().await.is_err(), "the duplicate fails the commit"),
    }
    assert_eq!(store.delivery_stats().await.unwrap().pending, 0);
    assert_eq!(store.task(u.id, t.id).await.unwrap().title, t.title, "the task as it was");
    // The writer is free again: the next unit of work commits.
    add_task(&store, &task(&u, "next")).await;
}

fn lease(owner: &str) -> Lease {
    Lease { owner: owner.to_owned(), until: now() + Duration::seconds(30) }
}

/// Commits `n` events on `n` tasks (one stream each), returning their ids in commit order.
async fn commit_events(store: &Arc<dyn Store>, u: &User, n: usize) -> Vec<Uuid> {
    let mut ids = Vec::new();
    for i in 0..n {
        let t = task(u, &format!("t{i}"));
        let e = event(u, &t);
        ids.push(e.id);
        let mut uow = store.begin().await.unwrap();
        uow.insert_task(&t).await.unwrap();
        uow.append_event(&e).await.unwrap();
        uow.commit().await.unwrap();
    }
    ids
}

fn event_ids(deliveries: &[domain::spine::Delivery]) -> Vec<Uuid> {
    deliveries.iter().map(|d| d.event.as_ref().unwrap().id).collect()
}

pub async fn every_subscriber_gets_its_own_delivery_of_every_event(store: Arc<dyn Store>) {
    store.register_subscribers(&["a", "b"]).await.unwrap();
    store.register_subscribers(&["a"]).await.unwrap();
    let u = add_user(&store, "fanout@example.com").await;
    let ids = commit_events(&store, &u, 3).await;
    // a, b, and the audit log that the first migration registers.
    assert_eq!(store.delivery_stats().await.unwrap().pending, 9);
    let a = store.claim_deliveries("a", &lease("relay-a"), now(), 10).await.unwrap();
    assert_eq!(event_ids(&a), ids, "in commit order");
    assert!(a.iter().all(|d| d.attempts == 1), "each claim counts an attempt");
    for d in &a {
        assert!(store.complete_delivery("a", d.seq, &lease("relay-a"), now()).await.unwrap());
    }
    let b = store.claim_deliveries("b", &lease("relay-b"), now(), 10).await.unwrap();
    assert_eq!(event_ids(&b), ids, "b's deliveries do not depend on a's");
    assert_eq!(store.delivery_stats().await.unwrap().pending, 6);
    let mut uow = store.begin().await.unwrap();
    let dup = match uow.append_event(&b[0].event.clone().unwrap()).await {
        Err(e) => e,
        Ok(()) => uow.commit().await.unwrap_err(),
    };
    assert!(matches!(dup, StoreError::Conflict { .. }), "an event id is written once");
}

pub async fn a_routed_subscriber_is_written_only_the_events_it_acts_on(store: Arc<dyn Store>) {
    use domain::spine::{every_event, Routes, Wants};
    store.register_subscribers(&["all", "completions", "unrouted"]).await.unwrap();
    let completions: Wants = |e| matches!(e, DomainEvent::TaskCompleted { .. });
    store.route_deliveries(Routes::new([("all", every_event as Wants), ("completions", completions)]));
    let u = add_user(&store, "routes@example.com").await;
    let created = commit_events(&store, &u, 2).await;
    // A change read under its row lock commits on its own, not in a group.
    let t = task(&u, "finished");
    add_task(&store, &t).await;
    let mut done = t.clone();
    done.completed_at = Some(now());
    let mut uow = store.begin().await.unwrap();
    uow.task_for_update(u.id, t.id).await.unwrap();
    let completed = EventEnvelope::new(
        Uuid::now_v7(),
        now(),
        u.id,
        DomainEvent::TaskCompleted { before: Box::new(t.clone()), after: Box::new(done) },
    );
    uow.append_event(&completed).await.unwrap();
    uow.commit().await.unwrap();
    let claim = |name: &'static str| {
        let store = store.clone();
        async move { event_ids(&store.claim_deliveries(name, &lease(name), now(), 10).await.unwrap()) }
    };
    assert_eq!(claim("all").await, [created[0], created[1], completed.id]);
    assert_eq!(claim("completions").await, [completed.id], "no delivery of the events it does not act on");
    assert_eq!(
        claim("unrouted").await,
        [created[0], created[1], completed.id],
        "a subscriber the routes do not name gets every event"
    );
}

pub async fn a_retired_subscriber_gets_no_new_events_but_keeps_its_queued_ones(store: Arc<dyn Store>) {
    store.register_subscribers(&["old", "new"]).await.unwrap();
    let u = add_user(&store, "retire@example.com").await;
    let before = commit_events(&store, &u, 1).await;
    store.retire_subscribers(&["old", "audit-log"]).await.unwrap();
    let after = commit_events(&store, &u, 1).await;
    let old = store.claim_deliveries("old", &lease("relay-old"), now(), 10).await.unwrap();
    assert_eq!(event_ids(&old), before, "what was queued for it still goes out");
    let new = store.claim_deliveries("new", &lease("relay-new"), now(), 10).await.unwrap();
    assert_eq!(event_ids(&new), [before[0], after[0]], "a subscriber still registered gets every event");
    store.register_subscribers(&["old"]).await.unwrap();
    let again = commit_events(&store, &u, 1).await;
    assert!(store.complete_delivery("old", old[0].seq, &lease("relay-old"), now()).await.unwrap());
    let old = store.claim_deliveries("old", &lease("relay-old"), now(), 10).await.unwrap();
    assert_eq!(event_ids(&old), again, "registered again, it gets events from then on, not those it missed");
}

pub async fn a_stream_is_delivered_in_order_one_delivery_at_a_time(store: Arc<dyn Store>) {
    store.register_subscribers(&["audit-log"]).await.unwrap();
    let u = add_user(&store, "stream@example.com").await;
    let t = task(&u, "busy");
    add_task(&store, &t).await;
    let (first, second) = (event(&u, &t), event(&u, &t));
    for e in [&first, &second] {
        let mut uow = store.begin().await.unwrap();
        uow.append_event(e).await.unwrap();
        uow.commit().await.unwrap();
    }
    let other = commit_events(&store, &u, 1).await;
    let claimed = store.claim_deliveries("audit-log", &lease("r1"), now(), 10).await.unwrap();
    assert_eq!(event_ids(&claimed), [first.id, other[0]], "only the head of each stream is claimable");
    let none = store.claim_deliveries("audit-log", &lease("r2"), now(), 10).await.unwrap();
    assert!(none.is_empty(), "the stream's next event waits while its head is out");
    store.complete_delivery("audit-log", claimed[0].seq, &lease("r1"), now()).await.unwrap();
    let next = store.claim_deliveries("audit-log", &lease("r2"), now(), 10).await.unwrap();
    assert_eq!(event_ids(&next), [second.id], "once the head is delivered, the next follows");
}

pub async fn a_leased_delivery_is_not_claimed_again_until_its_lease_expires(store: Arc<dyn Store>) {
    store.register_subscribers(&["audit-log"]).await.unwrap();
    let u = add_user(&store, "lease@example.com").await;
    let ids = commit_events(&store, &u, 2).await;
    let short = Lease { owner: "r1".into(), until: now() + Duration::seconds(5) };
    let one = store.claim_deliveries("audit-log", &short, now(), 1).await.unwrap();
    let other = store.claim_deliveries("audit-log", &lease("r2"), now(), 10).await.unwrap();
    assert_eq!((event_ids(&one), event_ids(&other)), (vec![ids[0]], vec![ids[1]]), "no delivery goes to two relays");
    let later = now() + Duration::seconds(6);
    let taken_over = store.claim_deliveries("audit-log", &lease("r3"), later, 10).await.unwrap();
    assert_eq!(event_ids(&taken_over), [ids[0]], "an expired lease is taken over");
    assert_eq!(taken_over[0].attempts, 2);
}

pub async fn only_the_lease_holder_finishes_a_delivery(store: Arc<dyn Store>) {
    store.register_subscribers(&["audit-log"]).await.unwrap();
    let u = add_user(&store, "fence@example.com").await;
    commit_events(&store, &u, 1).await;
    let stale = Lease { owner: "r1".into(), until: now() + Duration::seconds(1) };
    let d = store.claim_deliveries("audit-log", &stale, now(), 1).await.unwrap().remove(0);
    let fresh = lease("r2");
    let again = store.claim_deliveries("audit-log", &fresh, now() + Duration::seconds(2), 1).await.unwrap();
    assert_eq!(again[0].seq, d.seq);
    assert!(!store.complete_delivery("audit-log", d.seq, &stale, now()).await.unwrap(), "the old holder lost it");
    assert!(!store.dead_letter("audit-log", d.seq, &stale, "late", now()).await.unwrap());
    assert!(store.complete_delivery("audit-log", d.seq, &fresh, now()).await.unwrap());
    assert!(!store.complete_delivery("audit-log", d.seq, &fresh, now()).await.unwrap(), "finished once");
    assert_eq!(store.delivery_stats().await.unwrap().pending, 0);
}

pub async fn deliveries_finished_together_are_only_those_whose_lease_is_still_held(store: Arc<dyn Store>) {
    store.register_subscribers(&["audit-log"]).await.unwrap();
    let u = add_user(&store, "together@example.com").await;
    commit_events(&store, &u, 3).await;
    let short = Lease { owner: "r1".into(), until: now() + Duration::seconds(1) };
    let first = store.claim_deliveries("audit-log", &short, now(), 1).await.unwrap();
    let rest = store.claim_deliveries("audit-log", &lease("r1"), now(), 10).await.unwrap();
    let taken = store.claim_deliveries("audit-log", &lease("r2"), now() + Duration::seconds(2), 10).await.unwrap();
    assert_eq!(taken.iter().map(|d| d.seq).collect::<Vec<_>>(), [first[0].seq], "r1's short lease ran out");
    let mut all: Vec<i64> = first.iter().chain(&rest).map(|d| d.seq).collect();
    all.push(i64::MAX);
    let done = store.complete_deliveries("audit-log", &all, &lease("r1"), now()).await.unwrap();
    let mut held: Vec<i64> = rest.iter().map(|d| d.seq).collect();
    held.sort();
    let mut done_sorted = done.clone();
    done_sorted.sort();
    assert_eq!(done_sorted, held, "the ones r1 still holds, not the one r2 took over nor an unknown one");
    assert!(store.complete_deliveries("audit-log", &all, &lease("r1"), now()).await.unwrap().is_empty(), "once");
    assert_eq!(store.delivery_stats().await.unwrap().pending, 1, "r2's delivery is still open");
    assert!(store.complete_delivery("audit-log", first[0].seq, &lease("r2"), now()).await.unwrap());
    assert!(store.complete_deliveries("audit-log", &[], &lease("r2"), now()).await.unwrap().is_empty());
}

pub async fn a_failed_delivery_waits_until_its_retry_time(store: Arc<dyn Store>) {
    store.register_subscribers(&["audit-log"]).await.unwrap();
    let u = add_user(&store, "retry@example.com").await;
    let ids = commit_events(&store, &u, 1).await;
    let d = store.claim_deliveries("audit-log", &lease("r1"), now(), 1).await.unwrap().remove(0);
    let retry_at = now() + Duration::seconds(60);
    assert!(store.retry_delivery("audit-log", d.seq, &lease("r1"), retry_at, "broker down").await.unwrap());
    assert!(store.claim_deliveries("audit-log", &lease("r1"), now(), 1).await.unwrap().is_empty());
    let later = store.claim_deliveries("audit-log", &lease("r1"), retry_at, 1).await.unwrap();
    assert_eq!((event_ids(&later), later[0].attempts), (ids.clone(), 2));
}

pub async fn dead_letters_are_set_aside_listed_and_requeued(store: Arc<dyn Store>) {
    store.register_subscribers(&["audit-log"]).await.unwrap();
    let u = add_user(&store, "dead@example.com").await;
    let t = task(&u, "poisoned");
    add_task(&store, &t).await;
    let (poison, after) = (event(&u, &t), event(&u, &t));
    for e in [&poison, &after] {
        let mut uow = store.begin().await.unwrap();
        uow.append_event(e).await.unwrap();
        uow.commit().await.unwrap();
    }
    let d = store.claim_deliveries("audit-log", &lease("r1"), now(), 10).await.unwrap().remove(0);
    assert!(store.dead_letter("audit-log", d.seq, &lease("r1"), "consumer refused it", now()).await.unwrap());
    let next = store.claim_deliveries("audit-log", &lease("r1"), now(), 10).await.unwrap();
    assert_eq!(event_ids(&next), [after.id], "a dead letter holds back nothing behind it");
    store.complete_delivery("audit-log", next[0].seq, &lease("r1"), now()).await.unwrap();
    assert_eq!(store.delivery_stats().await.unwrap(), domain::spine::DeliveryStats { pending: 0, dead: 1 });
    let letters = store.dead_letters(10).await.unwrap();
    assert_eq!(letters.len(), 1);
    assert_eq!(
        (letters[0].event_id, letters[0].subscriber.as_str(), letters[0].reason.as_str(), letters[0].attempts),
        (poison.id, "audit-log", "consumer refused it", 1)
    );
    assert_eq!(store.requeue_dead_letters(Some((d.seq, "other")), now()).await.unwrap(), 0, "by seq and subscriber");
    assert_eq!(store.requeue_dead_letters(Some((d.seq, "audit-log")), now()).await.unwrap(), 1);
    let again = store.claim_deliveries("audit-log", &lease("r1"), now(), 10).await.unwrap();
    assert_eq!((event_ids(&again), again[0].attempts), (vec![poison.id], 1), "requeued with fresh attempts");
}

pub async fn finished_events_are_pruned_from_the_outbox(store: Arc<dyn Store>) {
    store.register_subscribers(&["audit-log"]).await.unwrap();
    let u = add_user(&store, "prune@example.com").await;
    commit_events(&store, &u, 2).await;
    let claimed = store.claim_deliveries("audit-log", &lease("r1"), now(), 1).await.unwrap();
    store.complete_delivery("audit-log", claimed[0].seq, &lease("r1"), now()).await.unwrap();
    let tomorrow = now() + Duration::days(1);
    assert_eq!(store.prune_outbox(now() - Duration::days(1)).await.unwrap(), 0, "nothing finished that long ago");
    assert_eq!(store.prune_outbox(tomorrow).await.unwrap(), 1, "only the delivered event goes");
    assert_eq!(store.delivery_stats().await.unwrap().pending, 1, "the open delivery stays");
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
    let all = store.activity(u.id, None, None, 10).await.unwrap();
    assert_eq!(all.len(), 3);
    assert_eq!(all[0].event_id, unrelated.id, "newest first");
    let per_task = store.activity(u.id, Some(t.id), None, 10).await.unwrap();
    assert_eq!(per_task.iter().map(|e| e.event_id).collect::<Vec<_>>(), [second.id, first.id]);
    assert!(store.activity(other.id, None, None, 10).await.unwrap().is_empty());
    assert_eq!(store.activity(u.id, None, None, 1).await.unwrap().len(), 1, "the limit holds");
}

pub async fn the_activity_log_pages_once_through_ties_and_events_not_yet_recorded(store: Arc<dyn Store>) {
    use domain::event::ActivityCursor;
    store.register_subscribers(&["audit-log"]).await.unwrap();
    let u = add_user(&store, "pages@example.com").await;
    // Three events at one instant, to the nanosecond, and two later ones.
    let at = chrono::DateTime::from_timestamp_nanos(1_795_000_000_123_456_789);
    let events: Vec<EventEnvelope> = (0..5)
        .map(|i| {
            let when = if i < 3 { at } else { at + Duration::seconds(i) };
            EventEnvelope::new(Uuid::now_v7(), when, u.id, DomainEvent::PasswordChanged { user_id: u.id })
        })
        .collect();
    // Two of the tie are recorded; the rest wait in the outbox for the audit
    // logger, among them the tie's smallest id, which must still come last.
    for e in &events[1..3] {
        assert!(store.record_audit(e).await.unwrap());
    }
    for e in [&events[0], &events[3], &events[4]] {
        let mut uow = store.begin().await.unwrap();
        uow.append_event(e).await.unwrap();
        uow.commit().await.unwrap();
    }
    let whole: Vec<Uuid> = store.activity(u.id, None, None, 10).await.unwrap().iter().map(|e| e.event_id).collect();
    let mut tie: Vec<Uuid> = events[..3].iter().map(|e| e.id).collect();
    tie.sort_by(|a, b| b.cmp(a));
    assert_eq!(whole, [vec![events[4].id, events[3].id], tie].concat(), "newest first, a tie by id");
    let (mut paged, mut after) = (Vec::new(), None);
    loop {
        let page = store.activity(u.id, None, after, 2).await.unwrap();
        let Some(last) = page.last() else { break };
        after = Some(ActivityCursor::after(last));
        paged.extend(page.iter().map(|e| e.event_id));
    }
    assert_eq!(paged, whole, "each entry on one page, in order");
}

pub async fn the_audit_log_records_a_batch_at_once_and_each_event_once(store: Arc<dyn Store>) {
    let u = add_user(&store, "batch@example.com").await;
    let t = task(&u, "batched");
    let [a, b, c] = [0, 1, 2].map(|_| event(&u, &t));
    let no_task = EventEnvelope::new(Uuid::now_v7(), now(), u.id, DomainEvent::PasswordChanged { user_id: u.id });
    assert_eq!(store.record_audits(&[]).await.unwrap(), 0);
    assert_eq!(store.record_audits(&[&a, &b]).await.unwrap(), 2);
    assert_eq!(store.record_audits(&[&b, &no_task, &c]).await.unwrap(), 2, "b was recorded before");
    let ids: std::collections::HashSet<Uuid> =
        store.activity(u.id, Some(t.id), None, 10).await.unwrap().iter().map(|e| e.event_id).collect();
    assert_eq!(ids, [a.id, b.id, c.id].into_iter().collect());
    // Each column lands in its own row, the event without a task included.
    let fields = |e: &domain::event::AuditEntry| (e.event_id, e.event_type.clone(), e.task_id, e.summary.clone());
    let mut stored: Vec<_> = store.activity(u.id, None, None, 10).await.unwrap().iter().map(fields).collect();
    let mut expected: Vec<_> =
        [&a, &b, &c, &no_task].iter().map(|e| fields(&domain::event::AuditEntry::from_envelope(e))).collect();
    stored.sort();
    expected.sort();
    assert_eq!(stored, expected);
}

pub async fn the_activity_log_shows_a_committed_change_before_the_audit_consumer_records_it(store: Arc<dyn Store>) {
    store.register_subscribers(&["audit-log"]).await.unwrap();
    let u = add_user(&store, "fresh@example.com").await;
    let t = task(&u, "just done");
    let e = event(&u, &t);
    let mut uow = store.begin().await.unwrap();
    uow.insert_task(&t).await.unwrap();
    uow.append_event(&e).await.unwrap();
    uow.commit().await.unwrap();
    let seen = store.activity(u.id, Some(t.id), None, 10).await.unwrap();
    assert_eq!(seen.iter().map(|a| a.event_id).collect::<Vec<_>>(), [e.id], "read your own writes");
    assert!(store.activity(u.id, Some(TaskId(Uuid::now_v7())), None, 10).await.unwrap().is_empty(), "per task");
    // Recorded, but its delivery not yet marked done: still one entry.
    assert!(store.record_audit(&e).await.unwrap());
    assert_eq!(store.activity(u.id, None, None, 10).await.unwrap().len(), 1);
    let other = add_user(&store, "fresh2@example.com").await;
    assert!(store.activity(other.id, None, None, 10).await.unwrap().is_empty(), "scoped to its user");
}

pub async fn each_subscribers_backlog_counts_pending_dead_and_its_oldest_wait(store: Arc<dyn Store>) {
    store.register_subscribers(&["a", "b"]).await.unwrap();
    let u = add_user(&store, "backlog@example.com").await;
    let t = task(&u, "lagging");
    add_task(&store, &t).await;
    let old = EventEnvelope::new(
        Uuid::now_v7(),
        now() - Duration::minutes(5),
        u.id,
        DomainEvent::TaskCreated { after: Box::new(t.clone()) },
    );
    let new = event(&u, &t);
    for e in [&old, &new] {
        let mut uow = store.begin().await.unwrap();
        uow.append_event(e).await.unwrap();
        uow.commit().await.unwrap();
    }
    // a took the old one; the audit log gave it up; b, retired, still has both queued.
    let a = store.claim_deliveries("a", &lease("ra"), now(), 1).await.unwrap();
    assert!(store.complete_delivery("a", a[0].seq, &lease("ra"), now()).await.unwrap());
    let audit = store.claim_deliveries("audit-log", &lease("rl"), now(), 1).await.unwrap();
    assert!(store.dead_letter("audit-log", audit[0].seq, &lease("rl"), "refused", now()).await.unwrap());
    store.retire_subscribers(&["b"]).await.unwrap();
    store.register_subscribers(&["idle"]).await.unwrap();
    let stats = store.subscriber_stats().await.unwrap();
    let names: Vec<&str> = stats.iter().map(|s| s.subscriber.as_str()).collect();
    assert_eq!(names, ["a", "audit-log", "b", "idle"], "registered ones, and the retired one with work left");
    let of = |name: &str| stats.iter().find(|s| s.subscriber == name).unwrap().clone();
    let close = |at: Option<chrono::DateTime<Utc>>, to: chrono::DateTime<Utc>| {
        at.is_some_and(|at| (at - to).num_milliseconds().abs() < 1)
    };
    assert_eq!((of("a").pending, of("a").dead), (1, 0));
    assert!(close(of("a").oldest_pending, new.occurred_at), "a waits for the new event only");
    assert_eq!((of("audit-log").pending, of("audit-log").dead), (1, 1), "a dead letter is not pending");
    assert!(close(of("audit-log").oldest_pending, new.occurred_at));
    assert_eq!((of("b").pending, of("b").dead), (2, 0));
    assert!(close(of("b").oldest_pending, old.occurred_at), "b lags by five minutes");
    assert_eq!((of("idle").pending, of("idle").dead, of("idle").oldest_pending), (0, 0, None));
}

pub async fn an_events_trace_parent_travels_with_it_through_the_outbox(store: Arc<dyn Store>) {
    const PARENT: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    store.register_subscribers(&["audit-log"]).await.unwrap();
    let u = add_user(&store, "trace@example.com").await;
    let (t1, t2) = (task(&u, "traced"), task(&u, "untraced"));
    add_task(&store, &t1).await;
    add_task(&store, &t2).await;
    let traced = EventEnvelope { trace_parent: Some(PARENT.to_owned()), ..event(&u, &t1) };
    let plain = event(&u, &t2);
    for e in [&traced, &plain] {
        let mut uow = store.begin().await.unwrap();
        uow.append_event(e).await.unwrap();
        uow.commit().await.unwrap();
    }
    let claimed = store.claim_deliveries("audit-log", &lease("r1"), now(), 10).await.unwrap();
    let parents: Vec<Option<String>> = claimed.iter().map(|d| d.event.as_ref().unwrap().trace_parent.clone()).collect();
    assert_eq!(parents, [Some(PARENT.to_owned()), None]);
    assert_eq!(claimed[0].event.as_ref().unwrap(), &traced, "the rest of the event is as written");
}

pub async fn the_store_answers_a_readiness_ping(store: Arc<dyn Store>) {
    store.ping().await.unwrap();
    let pools = store.pools();
    assert!(!pools.is_empty(), "the store reports its connection pools");
    assert!(pools.iter().all(|p| p.max >= 1 && p.idle <= p.open && p.open <= p.max), "{pools:?}");
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
                the_search_boxs_filters_select_by_status_priority_tags_due_and_reminders,
                words_find_tasks_by_the_start_of_a_word_in_title_description_or_tags_ignoring_case_and_accents,
                a_search_follows_a_task_between_open_and_done_and_counts_only_its_owners_tasks,
                keyset_pages_walk_the_ordered_list_both_ways_and_count_every_match,
                every_sort_key_pages_both_ways_in_its_order_with_ties_broken_by_the_lists_own,
                a_search_ranks_tasks_with_every_word_in_the_title_above_the_rest,
                saved_views_keep_their_search_in_the_owners_order_and_names_are_unique_per_owner,
                repeating_tasks_are_the_owners_open_instances_of_a_series,
                a_list_longer_than_the_count_cap_says_more_than_rather_than_counting_every_match,
                a_duplicate_task_id_is_a_conflict,
                every_change_to_a_task_raises_its_owners_list_version_and_no_one_elses,
                units_of_work_committed_at_once_each_keep_their_own_fate,
                feeds_written_together_number_each_users_entries_once_and_without_gaps,
                a_task_made_and_changed_in_one_unit_of_work_is_found_as_it_was_committed,
                a_change_to_a_task_waits_for_the_unit_of_work_that_holds_it,
                an_uncommitted_unit_of_work_leaves_no_trace,
                a_failed_change_takes_its_event_with_it,
                the_activity_log_pages_once_through_ties_and_events_not_yet_recorded,
                every_subscriber_gets_its_own_delivery_of_every_event,
                a_routed_subscriber_is_written_only_the_events_it_acts_on,
                a_retired_subscriber_gets_no_new_events_but_keeps_its_queued_ones,
                a_stream_is_delivered_in_order_one_delivery_at_a_time,
                a_leased_delivery_is_not_claimed_again_until_its_lease_expires,
                only_the_lease_holder_finishes_a_delivery,
                deliveries_finished_together_are_only_those_whose_lease_is_still_held,
                a_failed_delivery_waits_until_its_retry_time,
                dead_letters_are_set_aside_listed_and_requeued,
                finished_events_are_pruned_from_the_outbox,
                each_subscribers_backlog_counts_pending_dead_and_its_oldest_wait,
                an_events_trace_parent_travels_with_it_through_the_outbox,
                audit_entries_are_recorded_once_and_read_per_user_and_task,
                the_audit_log_records_a_batch_at_once_and_each_event_once,
                the_activity_log_shows_a_committed_change_before_the_audit_consumer_records_it,
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
