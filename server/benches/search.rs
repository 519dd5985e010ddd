//! The search box's numbers, on SQLite and on PostgreSQL: one list page (its
//! rows, its count and the user's tags, as the page reads them) for a search
//! over a user's 100,000 tasks (a whole word, a three-letter prefix as typed,
//! two words), and for a tag-and-priority filter at 1,000 and at 100,000
//! tasks. Prints a table of p50 and p99 in milliseconds. Run with
//! `cargo bench -p server --bench search` (PostgreSQL at
//! `CADENCE_TEST_PG_URL`, default the local server; `CADENCE_BENCH_TASKS`
//! sets the large user's task count, default 100,000; `CADENCE_BENCH_ONLY`
//! `sqlite` or `postgres` measures one backend; `CADENCE_BENCH_KEEP=1`
//! keeps the databases). PostgreSQL is
//! vacuumed and analysed after seeding, as autovacuum would; SQLite runs
//! without statistics, as the app leaves it.

mod support;

use std::sync::Arc;
use std::time::Instant;

use chrono::{NaiveDate, Utc};
use domain::ports::Store;
use domain::query::TaskQuery;
use domain::task::{Priority, Tags, Task, TaskDescription, TaskId, TaskTitle};
use domain::{DisplayName, Email, PageRequest, TaskFilter, TimeZone, User, UserId};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use uuid::Uuid;

/// Timed rounds per query; `CADENCE_BENCH_ROUNDS` sets it.
fn rounds() -> usize {
    std::env::var("CADENCE_BENCH_ROUNDS").ok().and_then(|n| n.parse().ok()).unwrap_or(200)
}
const SMALL: usize = 1_000;

/// Words the seeded titles and descriptions are made of.
const WORDS: &[&str] = &[
    "pay",
    "rent",
    "call",
    "mom",
    "review",
    "report",
    "book",
    "flight",
    "dentist",
    "water",
    "plants",
    "buy",
    "milk",
    "renew",
    "passport",
    "fix",
    "bug",
    "deploy",
    "release",
    "plan",
    "sprint",
    "email",
    "client",
    "invoice",
    "taxes",
    "gym",
    "yoga",
    "clean",
    "garage",
    "kitchen",
    "order",
    "groceries",
    "crème",
    "brûlée",
    "café",
    "meeting",
    "notes",
    "draft",
    "blog",
    "post",
    "update",
    "budget",
    "insurance",
    "car",
    "service",
    "school",
    "pickup",
    "kids",
    "birthday",
    "gift",
    "party",
    "train",
    "ticket",
    "hotel",
    "visa",
    "backup",
    "laptop",
    "phone",
    "bill",
    "electricity",
    "internet",
    "mortgage",
    "bank",
    "transfer",
    "library",
    "return",
    "books",
    "doctor",
    "appointment",
];
const TAGS: &[&str] = &["home", "work", "errands", "health", "money", "travel", "family", "someday", "admin", "car"];

fn user(name: &str) -> User {
    User {
        id: UserId(Uuid::now_v7()),
        email: Email::parse(&format!("{name}-{}@example.com", Uuid::new_v4().simple())).unwrap(),
        display_name: DisplayName::parse("Bench").unwrap(),
        time_zone: TimeZone::default(),
        default_reminder: None,
        created_at: Utc::now(),
    }
}

fn sentence(rng: &mut StdRng, words: usize) -> String {
    (0..words).map(|_| *WORDS.choose(rng).unwrap()).collect::<Vec<_>>().join(" ")
}

fn task(owner: &User, rng: &mut StdRng) -> Task {
    let words = rng.gen_range(2..=6);
    let title = sentence(rng, words);
    let words = rng.gen_range(5..=20);
    let description = rng.gen_bool(0.3).then(|| sentence(rng, words));
    let count = rng.gen_range(0..=2);
    let tags: Vec<&str> = TAGS.choose_multiple(rng, count).copied().collect();
    Task {
        id: TaskId(Uuid::now_v7()),
        user_id: owner.id,
        title: TaskTitle::parse(&title).unwrap(),
        description: description.and_then(|d| TaskDescription::parse(&d).unwrap()),
        priority: *Priority::ALL.choose(rng).unwrap(),
        tags: Tags::parse(&tags.join(",")).unwrap(),
        due: None,
        repeat: None,
        reminders: Vec::new(),
        completed_at: rng.gen_bool(0.2).then(Utc::now),
        created_at: Utc::now(),
        updated_at: Utc::now(),
    }
}

/// Adds `n` tasks for `owner`, a thousand to a transaction.
async fn seed(store: &Arc<dyn Store>, owner: &User, n: usize, rng: &mut StdRng) {
    let mut uow = store.begin().await.unwrap();
    uow.insert_user(owner, "hash").await.unwrap();
    uow.commit().await.unwrap();
    for chunk in 0..n.div_ceil(1000) {
        let mut uow = store.begin().await.unwrap();
        for _ in 0..1000.min(n - chunk * 1000) {
            uow.insert_task(&task(owner, rng)).await.unwrap();
        }
        uow.commit().await.unwrap();
    }
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() as f64 * p).ceil() as usize).saturating_sub(1).min(sorted.len() - 1)]
}

/// p50 and p99 of one list page for `query`, in milliseconds.
async fn time_page(store: &Arc<dyn Store>, owner: &User, query: &str) -> (f64, f64, u64) {
    let today = NaiveDate::from_ymd_opt(2026, 11, 26).unwrap();
    let filter = TaskFilter::of(&TaskQuery::parse(query).unwrap(), today, owner.time_zone);
    let mut total = 0;
    for _ in 0..10 {
        store.tasks(owner.id, &filter, &PageRequest::first()).await.unwrap();
    }
    let mut ms = Vec::with_capacity(rounds());
    for _ in 0..rounds() {
        let started = Instant::now();
        let page = store.tasks(owner.id, &filter, &PageRequest::first()).await.unwrap();
        ms.push(started.elapsed().as_secs_f64() * 1000.0);
        total = page.total;
    }
    ms.sort_by(f64::total_cmp);
    (percentile(&ms, 0.5), percentile(&ms, 0.99), total)
}

async fn measure(backend: &str, url: &str, large: usize) -> Vec<(String, String, f64, f64, u64)> {
    let store = server::store::connect(url).await.unwrap();
    let mut rng = StdRng::seed_from_u64(7);
    let (small, big) = (user("small"), user("big"));
    let started = Instant::now();
    seed(&store, &small, SMALL, &mut rng).await;
    seed(&store, &big, large, &mut rng).await;
    eprintln!("{backend}: seeded {} tasks in {:.1} s", SMALL + large, started.elapsed().as_secs_f64());
    // What autovacuum would have done on a database that grew to this size: statistics and the visibility map.
    if url.starts_with("postgres") {
        let mut conn = <sqlx::PgConnection as sqlx::Connection>::connect(url).await.unwrap();
        sqlx::query("VACUUM ANALYZE").execute(&mut conn).await.unwrap();
    }
    let mut rows = Vec::new();
    for (what, owner, n, query) in [
        ("search a word", &big, large, "invoice"),
        ("search a prefix as typed", &big, large, "inv"),
        ("search two words", &big, large, "pay rent"),
        ("search a word, all tasks", &big, large, "is:all crème"),
        ("filter #tag !high", &small, SMALL, "#home !high"),
        ("filter #tag !high", &big, large, "#home !high"),
        ("no filter", &big, large, ""),
    ] {
        let (p50, p99, total) = time_page(&store, owner, query).await;
        rows.push((backend.to_owned(), format!("{what} ({n} tasks)"), p50, p99, total));
    }
    rows
}

#[tokio::main]
async fn main() {
    let large: usize = std::env::var("CADENCE_BENCH_TASKS").ok().and_then(|n| n.parse().ok()).unwrap_or(100_000);
    let dbs = support::Databases::create().await;
    let (sqlite_url, pg_url) = (dbs.sqlite_url.clone(), dbs.pg_url.clone());

    // `CADENCE_BENCH_ONLY=sqlite` (or `postgres`) measures one backend.
    let only = std::env::var("CADENCE_BENCH_ONLY").unwrap_or_default();
    let mut rows = Vec::new();
    if only != "postgres" {
        rows.extend(measure("SQLite", &sqlite_url, large).await);
    }
    if only != "sqlite" {
        rows.extend(measure("PostgreSQL", &pg_url, large).await);
    }

    println!();
    println!("One list page (rows, count, tags), ms over {} rounds", rounds());
    println!("| backend    | query                                        |    p50 |    p99 | matches |");
    println!("|------------|----------------------------------------------|-------:|-------:|--------:|");
    for (backend, what, p50, p99, total) in &rows {
        println!("| {backend:<10} | {what:<44} | {p50:>6.2} | {p99:>6.2} | {total:>7} |");
    }
    // `CADENCE_BENCH_KEEP=1` leaves the databases for `EXPLAIN`ing the queries.
    if std::env::var("CADENCE_BENCH_KEEP").is_ok() {
        eprintln!("kept {sqlite_url} and {pg_url}");
    } else {
        dbs.remove().await;
    }
}
