//! One signed-in user for every route: the session layer reads the session
//! and its user once per request, and pages, server functions and plain
//! axum routes (through `AuthUser` and `MaybeAuthUser`) all use that one value.
//! A token's requests read it once a second at most.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use app::auth::{AuthUser, MaybeAuthUser};
use async_trait::async_trait;
use axum::routing::get;
use axum::Router;
use chrono::{DateTime, Utc};
use domain::event::{AuditEntry, EventEnvelope};
use domain::live::LiveEvent;
use domain::notification::{Notification, NotificationPage};
use domain::ports::{
    AccountStore, ActiveSession, AuditStore, FeedStore, NotificationStore, OutboxStore, Store, TagStore, TaskStore,
    TimerJobStore, TimerStore, UnitOfWork,
};
use domain::spine::{DeadLetter, Delivery, DeliveryStats, Lease, SubscriberStats};
use domain::task::{Tag, Task, TaskId};
use domain::timer::{Timer, TimerId};
use domain::{Email, PageRequest, StoreError, TaskFilter, TaskPage, User, UserId};
use reqwest::StatusCode;

use server::startup::Application;

use crate::helpers::{serve, test_config, TestApp, TestDb};

/// A store that counts session lookups and passes everything through.
struct CountingStore {
    inner: Arc<dyn Store>,
    session_lookups: AtomicUsize,
    token_lookups: AtomicUsize,
}

#[async_trait]
impl AccountStore for CountingStore {
    async fn user(&self, id: UserId) -> Result<User, StoreError> {
        self.inner.user(id).await
    }
    async fn user_by_email(&self, email: &Email) -> Result<Option<(User, String)>, StoreError> {
        self.inner.user_by_email(email).await
    }
    async fn password_hash(&self, id: UserId) -> Result<String, StoreError> {
        self.inner.password_hash(id).await
    }
    async fn session_user(&self, token_hash: &str, now: DateTime<Utc>) -> Result<Option<ActiveSession>, StoreError> {
        self.session_lookups.fetch_add(1, Ordering::SeqCst);
        self.inner.session_user(token_hash, now).await
    }
    async fn purge_expired_sessions(&self, now: DateTime<Utc>) -> Result<u64, StoreError> {
        self.inner.purge_expired_sessions(now).await
    }
    async fn list_version(&self, user: UserId) -> Result<i64, StoreError> {
        self.inner.list_version(user).await
    }
}

#[async_trait]
impl TaskStore for CountingStore {
    async fn task(&self, user: UserId, id: TaskId) -> Result<Task, StoreError> {
        self.inner.task(user, id).await
    }
    async fn tasks(&self, user: UserId, filter: &TaskFilter, page: &PageRequest) -> Result<TaskPage, StoreError> {
        self.inner.tasks(user, filter, page).await
    }
    async fn tags(&self, user: UserId) -> Result<Vec<Tag>, StoreError> {
        self.inner.tags(user).await
    }
    async fn repeating_tasks(&self, user: UserId) -> Result<Vec<Task>, StoreError> {
        self.inner.repeating_tasks(user).await
    }
    async fn prune_undo(&self, before: DateTime<Utc>) -> Result<u64, StoreError> {
        self.inner.prune_undo(before).await
    }
    async fn undo_record(
        &self,
        user: UserId,
        id: domain::bulk::UndoId,
    ) -> Result<Option<domain::bulk::UndoRecord>, StoreError> {
        self.inner.undo_record(user, id).await
    }
}

#[async_trait]
impl domain::ports::ViewStore for CountingStore {
    async fn saved_views(&self, user: UserId) -> Result<Vec<domain::views::SavedView>, StoreError> {
        self.inner.saved_views(user).await
    }
}

#[async_trait]
impl domain::ports::IdempotencyStore for CountingStore {
    async fn reserve_key(
        &self,
        user: UserId,
        key: &domain::idempotency::IdempotencyKey,
        fingerprint: &str,
        now: DateTime<Utc>,
        fresh_after: DateTime<Utc>,
    ) -> Result<domain::idempotency::Reservation, StoreError> {
        self.inner.reserve_key(user, key, fingerprint, now, fresh_after).await
    }
    async fn complete_key(
        &self,
        user: UserId,
        key: &domain::idempotency::IdempotencyKey,
        response: &domain::idempotency::StoredResponse,
    ) -> Result<(), StoreError> {
        self.inner.complete_key(user, key, response).await
    }
    async fn release_key(&self, user: UserId, key: &domain::idempotency::IdempotencyKey) -> Result<(), StoreError> {
        self.inner.release_key(user, key).await
    }
    async fn prune_keys(&self, before: DateTime<Utc>) -> Result<u64, StoreError> {
        self.inner.prune_keys(before).await
    }
}

#[async_trait]
impl domain::ports::TokenStore for CountingStore {
    async fn api_tokens(&self, user: UserId) -> Result<Vec<domain::tokens::ApiToken>, StoreError> {
        self.inner.api_tokens(user).await
    }
    async fn token_user(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<(domain::tokens::ApiToken, User)>, StoreError> {
        self.token_lookups.fetch_add(1, Ordering::SeqCst);
        self.inner.token_user(token_hash, now).await
    }
    async fn touch_token(
        &self,
        id: domain::tokens::TokenId,
        at: DateTime<Utc>,
        since: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.inner.touch_token(id, at, since).await
    }
    async fn prune_tokens(&self, expired_before: DateTime<Utc>) -> Result<u64, StoreError> {
        self.inner.prune_tokens(expired_before).await
    }
}

#[async_trait]
impl TagStore for CountingStore {
    async fn tag_counts(&self, user: UserId) -> Result<Vec<domain::tag::TagCount>, StoreError> {
        self.inner.tag_counts(user).await
    }
    async fn task_tag_colours(&self, user: UserId, task: TaskId) -> Result<domain::tag::TagColours, StoreError> {
        self.inner.task_tag_colours(user, task).await
    }
}

#[async_trait]
impl AuditStore for CountingStore {
    async fn activity(
        &self,
        user: UserId,
        task: Option<TaskId>,
        after: Option<domain::event::ActivityCursor>,
        limit: u32,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        self.inner.activity(user, task, after, limit).await
    }
    async fn record_audits(&self, events: &[&EventEnvelope]) -> Result<u64, StoreError> {
        self.inner.record_audits(events).await
    }
}

#[async_trait]
impl OutboxStore for CountingStore {
    async fn register_subscribers(&self, names: &[&str]) -> Result<(), StoreError> {
        self.inner.register_subscribers(names).await
    }
    fn route_deliveries(&self, routes: domain::spine::Routes) {
        self.inner.route_deliveries(routes)
    }
    fn ring_on_commit(&self, bells: Vec<(domain::spine::Wants, domain::spine::Bell)>) {
        self.inner.ring_on_commit(bells)
    }
    async fn retire_subscribers(&self, names: &[&str]) -> Result<(), StoreError> {
        self.inner.retire_subscribers(names).await
    }
    async fn claim_deliveries(
        &self,
        s: &str,
        l: &Lease,
        now: DateTime<Utc>,
        n: u32,
    ) -> Result<Vec<Delivery>, StoreError> {
        self.inner.claim_deliveries(s, l, now, n).await
    }
    async fn complete_deliveries(
        &self,
        s: &str,
        seqs: &[i64],
        l: &Lease,
        now: DateTime<Utc>,
    ) -> Result<Vec<i64>, StoreError> {
        self.inner.complete_deliveries(s, seqs, l, now).await
    }
    async fn retry_delivery(
        &self,
        s: &str,
        seq: i64,
        l: &Lease,
        at: DateTime<Utc>,
        e: &str,
    ) -> Result<bool, StoreError> {
        self.inner.retry_delivery(s, seq, l, at, e).await
    }
    async fn dead_letter(&self, s: &str, seq: i64, l: &Lease, r: &str, now: DateTime<Utc>) -> Result<bool, StoreError> {
        self.inner.dead_letter(s, seq, l, r, now).await
    }
    async fn dead_letters(&self, limit: u32) -> Result<Vec<DeadLetter>, StoreError> {
        self.inner.dead_letters(limit).await
    }
    async fn requeue_dead_letters(&self, only: Option<(i64, &str)>, now: DateTime<Utc>) -> Result<u64, StoreError> {
        self.inner.requeue_dead_letters(only, now).await
    }
    async fn delivery_stats(&self) -> Result<DeliveryStats, StoreError> {
        self.inner.delivery_stats().await
    }
    async fn subscriber_stats(&self) -> Result<Vec<SubscriberStats>, StoreError> {
        self.inner.subscriber_stats().await
    }
    async fn prune_outbox(&self, before: DateTime<Utc>) -> Result<u64, StoreError> {
        self.inner.prune_outbox(before).await
    }
}

#[async_trait]
impl TimerStore for CountingStore {
    async fn next_timer_at(&self, now: DateTime<Utc>) -> Result<Option<DateTime<Utc>>, StoreError> {
        self.inner.next_timer_at(now).await
    }
    async fn claim_timers(&self, lease: &Lease, now: DateTime<Utc>, limit: u32) -> Result<Vec<Timer>, StoreError> {
        self.inner.claim_timers(lease, now, limit).await
    }
    async fn fire_timers(&self, fired: &[(TimerId, EventEnvelope)], lease: &Lease) -> Result<u64, StoreError> {
        self.inner.fire_timers(fired, lease).await
    }
    async fn pending_timers(&self) -> Result<u64, StoreError> {
        self.inner.pending_timers().await
    }
    async fn prune_fired_timers(&self, before: DateTime<Utc>) -> Result<u64, StoreError> {
        self.inner.prune_fired_timers(before).await
    }
    async fn claim_timer(&self, id: TimerId, lease: &Lease, now: DateTime<Utc>) -> Result<Option<Timer>, StoreError> {
        self.inner.claim_timer(id, lease, now).await
    }
}

#[async_trait]
impl TimerJobStore for CountingStore {
    async fn timers_without_jobs(&self, limit: u32) -> Result<Vec<Timer>, StoreError> {
        self.inner.timers_without_jobs(limit).await
    }
    async fn stale_jobs(&self, limit: u32) -> Result<Vec<TimerId>, StoreError> {
        self.inner.stale_jobs(limit).await
    }
    async fn record_job(&self, id: TimerId, fire_at: DateTime<Utc>) -> Result<(), StoreError> {
        self.inner.record_job(id, fire_at).await
    }
    async fn forget_job(&self, id: TimerId) -> Result<(), StoreError> {
        self.inner.forget_job(id).await
    }
    async fn forget_pending_jobs(&self) -> Result<u64, StoreError> {
        self.inner.forget_pending_jobs().await
    }
}

#[async_trait]
impl NotificationStore for CountingStore {
    async fn notifications(
        &self,
        user: UserId,
        before: Option<i64>,
        limit: u32,
    ) -> Result<NotificationPage, StoreError> {
        self.inner.notifications(user, before, limit).await
    }
    async fn notification(&self, user: UserId, seq: i64) -> Result<Notification, StoreError> {
        self.inner.notification(user, seq).await
    }
    async fn unread_notifications(&self, user: UserId) -> Result<i64, StoreError> {
        self.inner.unread_notifications(user).await
    }
}

#[async_trait]
impl FeedStore for CountingStore {
    async fn feed_after(&self, user: UserId, after: i64, limit: u32) -> Result<Vec<LiveEvent>, StoreError> {
        self.inner.feed_after(user, after, limit).await
    }
    async fn feed_bounds(&self, user: UserId) -> Result<(i64, Option<i64>), StoreError> {
        self.inner.feed_bounds(user).await
    }
    async fn feed_last_row(&self) -> Result<i64, StoreError> {
        self.inner.feed_last_row().await
    }
    async fn feed_rows_after(&self, after_row: i64, limit: u32) -> Result<Vec<(i64, UserId)>, StoreError> {
        self.inner.feed_rows_after(after_row, limit).await
    }
    async fn prune_feed(&self, before: DateTime<Utc>) -> Result<u64, StoreError> {
        self.inner.prune_feed(before).await
    }
    fn on_feed_commit(&self, hook: domain::ports::FeedHook) {
        self.inner.on_feed_commit(hook);
    }
}

#[async_trait]
impl Store for CountingStore {
    async fn begin(&self) -> Result<Box<dyn UnitOfWork>, StoreError> {
        self.inner.begin().await
    }
    async fn ping(&self) -> Result<(), StoreError> {
        self.inner.ping().await
    }
}

/// The app on a store that counts its session and token lookups.
async fn counting_app() -> (TestApp, Arc<CountingStore>) {
    let db = TestDb::for_http().await;
    let counting = Arc::new(CountingStore {
        inner: db.store().await,
        session_lookups: AtomicUsize::new(0),
        token_lookups: AtomicUsize::new(0),
    });
    let built = Application::build_with_store(test_config(&db), counting.clone()).await.unwrap();
    (serve(built, db).await, counting)
}

#[tokio::test]
async fn a_signed_in_page_looks_the_session_up_once_for_header_page_and_server_functions() {
    let (app, counting) = counting_app().await;
    app.sign_up().await;
    app.quick_add("Counted").await;
    for path in ["/tasks", "/settings", "/activity", "/tasks/new"] {
        let before = counting.session_lookups.load(Ordering::SeqCst);
        let page = app.page(path).await;
        assert!(page.contains("Test User"), "{path}: the header knows the user");
        assert_eq!(counting.session_lookups.load(Ordering::SeqCst) - before, 1, "{path}: one lookup per request");
    }
    let before = counting.session_lookups.load(Ordering::SeqCst);
    assert_eq!(app.call("list_tasks", &[]).await.status(), StatusCode::OK);
    assert_eq!(counting.session_lookups.load(Ordering::SeqCst) - before, 1, "a server function call: one lookup");
    let before = counting.session_lookups.load(Ordering::SeqCst);
    assert_eq!(app.get("/healthz").await.status(), StatusCode::OK);
    assert_eq!(counting.session_lookups.load(Ordering::SeqCst), before, "probes never look the session up");
}

#[tokio::test]
async fn plain_axum_routes_know_the_signed_in_user_through_the_extractors() {
    let db = TestDb::for_http().await;
    let routes = Router::new()
        .route("/whoami", get(|AuthUser(me): AuthUser| async move { me.user.email.as_str().to_owned() }))
        .route(
            "/maybe",
            get(|MaybeAuthUser(me): MaybeAuthUser| async move {
                me.map_or("visitor".to_owned(), |m| m.user.display_name.as_str().to_owned())
            }),
        );
    let built = Application::build_with_routes(test_config(&db), db.store().await, routes).await.unwrap();
    let app = serve(built, db).await;
    let anonymous = app.get("/whoami").await;
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(app.get("/maybe").await.text().await.unwrap(), "visitor");
    let account = app.sign_up().await;
    assert_eq!(app.get("/whoami").await.text().await.unwrap(), account.email);
    assert_eq!(app.get("/maybe").await.text().await.unwrap(), "Test User");
}

#[tokio::test]
async fn a_burst_of_token_requests_reads_the_token_once_and_a_revoked_token_is_refused_at_once() {
    use crate::tokens::{me_with, new_token, problem, token_ids};
    let (app, counting) = counting_app().await;
    app.sign_up().await;
    let secret = new_token(&app, "Burst", false).await;
    let bearer = format!("Bearer {secret}");
    for _ in 0..10 {
        assert_eq!(me_with(&app, Some(&bearer)).await.status(), StatusCode::OK);
    }
    // Taken on trust for a second after it is read: ten requests cannot span ten seconds.
    let reads = counting.token_lookups.load(Ordering::SeqCst);
    assert!((1..10).contains(&reads), "{reads} reads for 10 requests");
    // A change to the user is seen by the token's next request.
    let res = app.call("update_profile", &[("display_name", "Renamed"), ("time_zone", "America/New_York")]).await;
    assert_eq!(res.status(), StatusCode::OK);
    let me: serde_json::Value = me_with(&app, Some(&bearer)).await.json().await.unwrap();
    assert_eq!((&me["display_name"], &me["time_zone"]), (&"Renamed".into(), &"America/New_York".into()));
    let (id, _) = token_ids(&app).await.into_iter().find(|(_, n)| n == "Burst").unwrap();
    assert_eq!(app.post_html("revoke_token", &[("id", &id)], "/settings/tokens").await.status(), StatusCode::FOUND);
    let body = problem(me_with(&app, Some(&bearer)).await, 401).await;
    assert_eq!(body["type"], "urn:cadence:problem:invalid_token");
}
