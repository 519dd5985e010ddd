//! The scheduler's numbers, on SQLite and on PostgreSQL: how late reminders
//! fire (from a timer's due instant to its fired mark, which commits with its
//! `reminder.due` event in the outbox), one at a time and spread over a few
//! seconds; and how long 10,000 reminders due in the same second take to fire.
//! Prints a table. Run with `cargo bench -p server --bench scheduler`
//! (PostgreSQL at `CADENCE_TEST_PG_URL`, default the local server).

mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use domain::ports::{Store, SystemClock};
use domain::task::{Priority, Tags, Task, TaskId, TaskTitle};
use domain::timer::{Timer, TimerKind};
use domain::{DisplayName, Email, TimeZone, User, UserId};
use server::spine::scheduler::{Scheduler, Wake};
use tokio::sync::watch;
use uuid::Uuid;

const BURST: usize = 10_000;
const SPREAD: usize = 200;

fn user() -> User {
    User {
        id: UserId(Uuid::now_v7()),
        email: Email::parse(&format!("bench-{}@example.com", Uuid::new_v4().simple())).unwrap(),
        display_name: DisplayName::parse("Bench").unwrap(),
        time_zone: TimeZone::default(),
        default_reminder: None,
        created_at: Utc::now(),
    }
}

fn task(owner: &User) -> Task {
    Task {
        id: TaskId(Uuid::now_v7()),
        user_id: owner.id,
        title: TaskTitle::parse("Benchmark").unwrap(),
        description: None,
        priority: Priority::None,
        tags: Tags::default(),
        due: None,
        repeat: None,
        reminders: Vec::new(),
        completed_at: None,
        created_at: Utc::now(),
        updated_at: Utc::now(),
    }
}

/// Sets one timer per `at`, each for its own task, in one transaction.
async fn set_timers(store: &Arc<dyn Store>, owner: &User, at: &[chrono::DateTime<Utc>]) {
    let mut uow = store.begin().await.unwrap();
    for at in at {
        let t = task(owner);
        let timer = Timer::new(&t, TimerKind::Reminder, *at, "At the due time".into());
        uow.replace_timers(t.id, TimerKind::Reminder, &[timer]).await.unwrap();
    }
    uow.commit().await.unwrap();
}

fn percentile(sorted: &[i64], p: f64) -> i64 {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

/// Lateness of every fired timer, in milliseconds, sorted.
async fn lateness(url: &str) -> Vec<i64> {
    let sql = "SELECT fired_at - fire_at FROM timers WHERE fired_at IS NOT NULL ORDER BY 1";
    if url.starts_with("sqlite:") {
        let pool = sqlx::SqlitePool::connect(url).await.unwrap();
        sqlx::query_scalar(sql).fetch_all(&pool).await.unwrap()
    } else {
        let pool = sqlx::PgPool::connect(url).await.unwrap();
        sqlx::query_scalar(sql).fetch_all(&pool).await.unwrap()
    }
}

async fn clear(url: &str) {
    let sql = "DELETE FROM timers";
    if url.starts_with("sqlite:") {
        let pool = sqlx::SqlitePool::connect(url).await.unwrap();
        sqlx::query(sql).execute(&pool).await.unwrap();
    } else {
        let pool = sqlx::PgPool::connect(url).await.unwrap();
        sqlx::query(sql).execute(&pool).await.unwrap();
    }
}

struct Row {
    backend: &'static str,
    spread_p50: i64,
    spread_p99: i64,
    burst_drain_ms: u128,
    burst_p50: i64,
    burst_p99: i64,
}

async fn measure(backend: &'static str, url: &str) -> Row {
    let store = server::store::connect(url).await.unwrap();
    // The consumers a server registers, so each event costs what it does in production.
    store.register_subscribers(&["audit-log", "recurrence", "notifier"]).await.unwrap();
    let owner = user();
    let mut uow = store.begin().await.unwrap();
    uow.insert_user(&owner, "x").await.unwrap();
    uow.commit().await.unwrap();

    let wake = Arc::new(Wake::default());
    let scheduler = Scheduler::new(store.clone(), Arc::new(SystemClock), wake.clone(), Duration::from_millis(500));
    let (stop, stopped) = watch::channel(false);
    let running = scheduler.spawn(stopped);

    // Spread: one reminder every 25 ms for five seconds, all set beforehand;
    // the scheduler sleeps until each is due.
    let start = Utc::now() + chrono::Duration::seconds(1);
    let at: Vec<_> = (0..SPREAD).map(|i| start + chrono::Duration::milliseconds(25 * i as i64)).collect();
    set_timers(&store, &owner, &at).await;
    domain::ports::TimerWake::timers_set(&*wake, start);
    while store.pending_timers().await.unwrap() > 0 {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let spread = lateness(url).await;
    clear(url).await;

    // Burst: 10,000 reminders due in the same second.
    let due = Utc::now() + chrono::Duration::seconds(2);
    set_timers(&store, &owner, &vec![due; BURST]).await;
    domain::ports::TimerWake::timers_set(&*wake, due);
    let wait = (due - Utc::now()).to_std().unwrap_or_default();
    tokio::time::sleep(wait).await;
    let began = Instant::now();
    while store.pending_timers().await.unwrap() > 0 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let drain = began.elapsed().as_millis();
    let burst = lateness(url).await;
    let _ = stop.send(true);
    let _ = running.await;
    Row {
        backend,
        spread_p50: percentile(&spread, 0.5),
        spread_p99: percentile(&spread, 0.99),
        burst_drain_ms: drain,
        burst_p50: percentile(&burst, 0.5),
        burst_p99: percentile(&burst, 0.99),
    }
}

#[tokio::main]
async fn main() {
    let dbs = support::Databases::create().await;
    let (sqlite_url, pg_url) = (dbs.sqlite_url.clone(), dbs.pg_url.clone());

    let rows = vec![measure("SQLite", &sqlite_url).await, measure("PostgreSQL", &pg_url).await];

    println!();
    println!("Reminder lateness (due instant to fired mark and outbox event), ms; {SPREAD} spread over 5 s; {BURST} due at once");
    println!("| backend    | spread p50 | spread p99 | {BURST} drain | burst p50 | burst p99 |");
    println!("|------------|-----------:|-----------:|------------:|----------:|----------:|");
    for r in &rows {
        println!(
            "| {:<10} | {:>10} | {:>10} | {:>11} | {:>9} | {:>9} |",
            r.backend, r.spread_p50, r.spread_p99, r.burst_drain_ms, r.burst_p50, r.burst_p99
        );
    }
    dbs.remove().await;
}
