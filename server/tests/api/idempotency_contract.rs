//! Idempotency keys on the `Store` port (reserve once, keep the answer,
//! release, expire and prune, each user's own), run unchanged on SQLite and
//! PostgreSQL.

use std::sync::Arc;

use chrono::Duration;
use domain::idempotency::{IdempotencyKey, Reservation, StoredResponse};
use domain::ports::Store;

use crate::contract::{add_user, now};
use crate::helpers::TestDb;

fn answer(body: &str) -> StoredResponse {
    StoredResponse { status: 201, location: Some("/api/v1/tasks/1".into()), body: body.into() }
}

pub async fn a_key_is_reserved_once_and_then_gives_its_fingerprint_and_kept_answer(store: Arc<dyn Store>) {
    let (u, other) = (add_user(&store, "a@example.com").await, add_user(&store, "b@example.com").await);
    let key = IdempotencyKey::parse("k-1").unwrap();
    let (t, day) = (now(), Duration::hours(24));

    assert_eq!(store.reserve_key(u.id, &key, "fp", t, t - day).await.unwrap(), Reservation::Reserved);
    let busy = store.reserve_key(u.id, &key, "fp", t, t - day).await.unwrap();
    assert_eq!(busy, Reservation::Taken { fingerprint: "fp".into(), response: None }, "in progress");
    assert_eq!(store.reserve_key(other.id, &key, "fp", t, t - day).await.unwrap(), Reservation::Reserved);

    store.complete_key(u.id, &key, &answer("{}")).await.unwrap();
    let done = store.reserve_key(u.id, &key, "fp2", t, t - day).await.unwrap();
    assert_eq!(done, Reservation::Taken { fingerprint: "fp".into(), response: Some(answer("{}")) });
    store.release_key(u.id, &key).await.unwrap();
    assert!(
        matches!(store.reserve_key(u.id, &key, "fp", t, t - day).await.unwrap(), Reservation::Taken { .. }),
        "a key with an answer is not released"
    );
}

pub async fn a_released_key_is_free_again(store: Arc<dyn Store>) {
    let u = add_user(&store, "a@example.com").await;
    let key = IdempotencyKey::parse("k-2").unwrap();
    let t = now();
    store.reserve_key(u.id, &key, "fp", t, t - Duration::hours(24)).await.unwrap();
    store.release_key(u.id, &key).await.unwrap();
    let again = store.reserve_key(u.id, &key, "other", t, t - Duration::hours(24)).await.unwrap();
    assert_eq!(again, Reservation::Reserved);
}

pub async fn a_key_past_its_day_is_free_again_and_pruned(store: Arc<dyn Store>) {
    let u = add_user(&store, "a@example.com").await;
    let (old, fresh) = (IdempotencyKey::parse("old").unwrap(), IdempotencyKey::parse("fresh").unwrap());
    let t = now();
    let then = t - Duration::hours(25);
    store.reserve_key(u.id, &old, "fp", then, then - Duration::hours(24)).await.unwrap();
    store.complete_key(u.id, &old, &answer("{}")).await.unwrap();
    store.reserve_key(u.id, &fresh, "fp", t, t - Duration::hours(24)).await.unwrap();

    assert_eq!(store.prune_keys(t - Duration::hours(24)).await.unwrap(), 1, "only the old key goes");
    let reused = store.reserve_key(u.id, &old, "new", t, t - Duration::hours(24)).await.unwrap();
    assert_eq!(reused, Reservation::Reserved);
    let expired = IdempotencyKey::parse("expired").unwrap();
    store.reserve_key(u.id, &expired, "fp", then, then - Duration::hours(24)).await.unwrap();
    let unswept = store.reserve_key(u.id, &expired, "other", t, t - Duration::hours(24)).await.unwrap();
    assert_eq!(unswept, Reservation::Reserved, "a stale key is free before the sweep comes by");
}

macro_rules! idempotency_contract_suite {
    ($backend:ident, $make:expr) => {
        mod $backend {
            use super::*;
            contract_suite!(@tests $make;
                a_key_is_reserved_once_and_then_gives_its_fingerprint_and_kept_answer,
                a_released_key_is_free_again,
                a_key_past_its_day_is_free_again_and_pruned,
            );
        }
    };
}

idempotency_contract_suite!(sqlite, async { TestDb::sqlite() });
idempotency_contract_suite!(postgres, TestDb::postgres());
