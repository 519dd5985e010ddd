//! Personal access tokens on the `Store` port (listing, lookup by the
//! secret's hash with the user, expiry, last use, revoking, owners and names)
//! and the tokens service's limit, run unchanged on SQLite and PostgreSQL.

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use domain::ports::{Store, SystemClock};
use domain::services::{NewToken, Services, MAX_TOKENS};
use domain::tokens::{ApiToken, TokenId, TokenName, TokenScopes, TokenSecret};
use domain::{ServiceError, StoreError, User};
use uuid::Uuid;

use crate::contract::{add_user, now};
use crate::helpers::TestDb;

fn token(owner: &User, name: &str, created_at: DateTime<Utc>, expires_at: Option<DateTime<Utc>>) -> ApiToken {
    ApiToken {
        id: TokenId(Uuid::now_v7()),
        user_id: owner.id,
        name: TokenName::parse(name).unwrap(),
        scopes: TokenScopes::Read,
        created_at,
        expires_at,
        last_used_at: None,
    }
}

async fn insert(store: &Arc<dyn Store>, t: &ApiToken, hash: &str) -> Result<(), StoreError> {
    let mut uow = store.begin().await?;
    uow.insert_token(t, hash).await?;
    uow.commit().await
}

async fn delete(store: &Arc<dyn Store>, owner: &User, id: TokenId) -> Result<(), StoreError> {
    let mut uow = store.begin().await?;
    uow.delete_token(owner.id, id).await?;
    uow.commit().await
}

pub async fn tokens_are_listed_newest_first_and_found_by_their_hash_with_their_user(store: Arc<dyn Store>) {
    let u = add_user(&store, "tokens@example.com").await;
    let older = token(&u, "CI", now() - Duration::minutes(1), None);
    let newer =
        ApiToken { scopes: TokenScopes::ReadWrite, ..token(&u, "Backup", now(), Some(now() + Duration::days(7))) };
    insert(&store, &older, "hash-ci").await.unwrap();
    insert(&store, &newer, "hash-backup").await.unwrap();

    assert_eq!(store.api_tokens(u.id).await.unwrap(), [newer.clone(), older.clone()]);
    assert_eq!(store.token_user("hash-backup", now()).await.unwrap(), Some((newer, u.clone())));
    assert_eq!(store.token_user("hash-ci", now()).await.unwrap(), Some((older, u)));
    assert_eq!(store.token_user("hash-unknown", now()).await.unwrap(), None);
}

pub async fn a_token_name_is_unique_per_owner_and_a_hash_is_unique_everywhere(store: Arc<dyn Store>) {
    let u = add_user(&store, "names@example.com").await;
    let other = add_user(&store, "names2@example.com").await;
    insert(&store, &token(&u, "CI", now(), None), "hash-1").await.unwrap();
    let again = insert(&store, &token(&u, "CI", now(), None), "hash-2").await;
    assert!(matches!(again, Err(StoreError::Conflict { field: "name" })), "{again:?}");
    insert(&store, &token(&other, "CI", now(), None), "hash-3").await.expect("another owner may use the name");
    let same_hash = insert(&store, &token(&u, "Other", now(), None), "hash-1").await;
    assert!(matches!(same_hash, Err(StoreError::Conflict { field: "id" })), "{same_hash:?}");
    assert_eq!(store.api_tokens(u.id).await.unwrap().len(), 1, "a refused insert leaves nothing behind");
}

pub async fn an_expired_token_is_still_listed_but_no_longer_found_by_its_hash(store: Arc<dyn Store>) {
    let u = add_user(&store, "expiry@example.com").await;
    let expiring = token(&u, "Week", now(), Some(now() + Duration::hours(1)));
    let forever = token(&u, "Forever", now(), None);
    insert(&store, &expiring, "hash-week").await.unwrap();
    insert(&store, &forever, "hash-forever").await.unwrap();

    assert!(store.token_user("hash-week", now()).await.unwrap().is_some());
    let later = now() + Duration::hours(2);
    assert_eq!(store.token_user("hash-week", later).await.unwrap(), None, "expired");
    assert!(store.token_user("hash-forever", now() + Duration::days(3650)).await.unwrap().is_some());
    assert_eq!(store.api_tokens(u.id).await.unwrap().len(), 2, "its owner still sees it, to revoke it");
}

pub async fn a_tokens_last_use_is_written_only_when_none_is_recorded_since_the_given_time(store: Arc<dyn Store>) {
    let u = add_user(&store, "used@example.com").await;
    let t = token(&u, "CI", now(), None);
    insert(&store, &t, "hash-used").await.unwrap();
    let owner = u.id;
    let last_use = |store: Arc<dyn Store>| async move { store.api_tokens(owner).await.unwrap()[0].last_used_at };
    assert_eq!(last_use(store.clone()).await, None, "never used");

    let first = now();
    store.touch_token(t.id, first, first - Duration::minutes(1)).await.unwrap();
    assert_eq!(last_use(store.clone()).await, Some(first));
    let soon = first + Duration::seconds(10);
    store.touch_token(t.id, soon, soon - Duration::minutes(1)).await.unwrap();
    assert_eq!(last_use(store.clone()).await, Some(first), "a use within the minute is not written again");
    let later = first + Duration::seconds(61);
    store.touch_token(t.id, later, later - Duration::minutes(1)).await.unwrap();
    assert_eq!(last_use(store.clone()).await, Some(later));
    let (found, _) = store.token_user("hash-used", later).await.unwrap().unwrap();
    assert_eq!(found.last_used_at, Some(later), "the lookup reads the last use too");
}

pub async fn only_its_owner_revokes_a_token_and_then_it_is_found_no_more(store: Arc<dyn Store>) {
    let u = add_user(&store, "revoke@example.com").await;
    let other = add_user(&store, "revoke2@example.com").await;
    let t = token(&u, "CI", now(), None);
    insert(&store, &t, "hash-revoke").await.unwrap();

    assert!(matches!(delete(&store, &other, t.id).await, Err(StoreError::NotFound)), "another user's token");
    assert!(store.token_user("hash-revoke", now()).await.unwrap().is_some(), "still works");
    assert!(store.api_tokens(other.id).await.unwrap().is_empty(), "and is not listed as theirs");

    delete(&store, &u, t.id).await.unwrap();
    assert_eq!(store.token_user("hash-revoke", now()).await.unwrap(), None);
    assert!(store.api_tokens(u.id).await.unwrap().is_empty());
    assert!(matches!(delete(&store, &u, t.id).await, Err(StoreError::NotFound)), "revoked already");
}

pub async fn the_service_returns_the_secret_once_stores_its_hash_and_keeps_fifty_live_tokens(store: Arc<dyn Store>) {
    let svc = Services::new(store.clone(), Arc::new(SystemClock), Arc::new(server::hasher::Argon2Hasher::new()));
    let u = add_user(&store, "limit@example.com").await;
    let form = |name: &'static str| NewToken { name, write: true, expires: "never", expires_on: "" };
    let secret = TokenSecret::from_random([7; 32]);
    let created = svc.create_token(&u, form("First"), secret.clone()).await.unwrap();
    assert_eq!(created.secret, secret);
    assert_eq!(created.token.scopes, TokenScopes::ReadWrite);
    assert!(store.token_user(secret.expose(), now()).await.unwrap().is_none(), "the secret itself is not stored");
    let (found, owner) = svc.token_user(&secret).await.unwrap().expect("found by its secret");
    assert_eq!((found.id, owner.id), (created.token.id, u.id));
    assert!(svc.api_tokens(&u).await.unwrap()[0].last_used_at.is_some(), "the lookup recorded the use");

    let taken = svc.create_token(&u, form("First"), TokenSecret::from_random([8; 32])).await;
    assert!(matches!(&taken, Err(ServiceError::Conflict { field, .. }) if field == "name"), "{taken:?}");
    let bad = svc.create_token(&u, NewToken { expires: "date", ..form("Dated") }, TokenSecret::from_random([9; 32]));
    assert!(matches!(bad.await, Err(ServiceError::Invalid(e)) if e.field == "expires_on"));

    for i in 1..MAX_TOKENS {
        let name: &'static str = Box::leak(format!("Token {i}").into_boxed_str());
        let mut bytes = [0; 32];
        bytes[..8].copy_from_slice(&(i as u64).to_le_bytes());
        svc.create_token(&u, form(name), TokenSecret::from_random(bytes)).await.unwrap();
    }
    let full = svc.create_token(&u, form("One more"), TokenSecret::from_random([10; 32])).await;
    assert!(matches!(full, Err(ServiceError::Invalid(e)) if e.field == "name" && e.message.contains("50")));
    svc.revoke_token(&u, created.token.id).await.unwrap();
    svc.create_token(&u, form("One more"), TokenSecret::from_random([10; 32])).await.expect("room again");
}

pub async fn tokens_expired_before_the_cutoff_are_pruned_and_live_or_lately_expired_ones_are_kept(
    store: Arc<dyn Store>,
) {
    let u = add_user(&store, "prune@example.com").await;
    let other = add_user(&store, "prune2@example.com").await;
    let long_gone = token(&u, "Old", now() - Duration::days(90), Some(now() - Duration::days(31)));
    let theirs = token(&other, "Theirs", now() - Duration::days(90), Some(now() - Duration::days(40)));
    let lately = token(&u, "Lately", now() - Duration::days(10), Some(now() - Duration::days(2)));
    let live = token(&u, "Live", now(), Some(now() + Duration::days(7)));
    let forever = token(&u, "Forever", now() - Duration::days(400), None);
    for (t, hash) in [(&long_gone, "p1"), (&theirs, "p2"), (&lately, "p3"), (&live, "p4"), (&forever, "p5")] {
        insert(&store, t, hash).await.unwrap();
    }

    let cutoff = now() - Duration::days(domain::tokens::KEEP_EXPIRED_DAYS);
    assert_eq!(store.prune_tokens(cutoff).await.unwrap(), 2, "every user's long-expired tokens");
    let left = store.api_tokens(u.id).await.unwrap();
    assert_eq!(left.iter().map(|t| t.name.as_str()).collect::<Vec<_>>(), ["Live", "Lately", "Forever"]);
    assert!(store.api_tokens(other.id).await.unwrap().is_empty());
    assert_eq!(store.prune_tokens(cutoff).await.unwrap(), 0, "a second sweep finds nothing");
}

macro_rules! token_contract_suite {
    ($backend:ident, $make:expr) => {
        mod $backend {
            use super::*;
            contract_suite!(@tests $make;
                tokens_are_listed_newest_first_and_found_by_their_hash_with_their_user,
                a_token_name_is_unique_per_owner_and_a_hash_is_unique_everywhere,
                an_expired_token_is_still_listed_but_no_longer_found_by_its_hash,
                a_tokens_last_use_is_written_only_when_none_is_recorded_since_the_given_time,
                only_its_owner_revokes_a_token_and_then_it_is_found_no_more,
                the_service_returns_the_secret_once_stores_its_hash_and_keeps_fifty_live_tokens,
                tokens_expired_before_the_cutoff_are_pruned_and_live_or_lately_expired_ones_are_kept,
            );
        }
    };
}

token_contract_suite!(sqlite, async { TestDb::sqlite() });
token_contract_suite!(postgres, TestDb::postgres());
