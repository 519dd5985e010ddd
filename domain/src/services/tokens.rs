//! Personal access tokens: creating one (its secret returned this once),
//! listing a user's, revoking one, and finding who a secret belongs to.

use std::collections::HashMap;
use std::sync::Mutex;

use chrono::{DateTime, Duration, Utc};

use crate::account::{User, UserId};
use crate::error::{ServiceError, StoreError, ValidationError};
use crate::tokens::{ApiToken, TokenExpiry, TokenId, TokenName, TokenScopes, TokenSecret, LAST_USE_PRECISION_SECS};

use super::Services;

/// Most live tokens a user keeps: one per script or tool, not one per call.
pub const MAX_TOKENS: usize = 50;

/// How long a token found is taken on trust before it is read again: a
/// script's burst of requests reads its token once a second, not once per
/// request. A token revoked (or a user changed) here is forgotten at once;
/// on another replica it may still be taken for this long.
pub const TOKEN_TRUSTED_SECS: i64 = 1;

/// Most tokens remembered at once; past this, they are all forgotten.
const MAX_SEEN: usize = 10_000;

/// Tokens lately found, by their secret's hash, with their users.
#[derive(Default)]
pub(super) struct TokensSeen(Mutex<Remembered>);

#[derive(Default)]
struct Remembered {
    seen: HashMap<String, Seen>,
    /// Counts the users forgotten: a token read before a revoke or a change
    /// committed, and kept after it was forgotten, would be trusted stale.
    forgotten: u64,
}

struct Seen {
    token: ApiToken,
    user: User,
    read_at: DateTime<Utc>,
}

impl TokensSeen {
    fn get(&self, hash: &str, now: DateTime<Utc>) -> Option<(ApiToken, User)> {
        let r = self.0.lock().expect("never poisoned");
        let s = r.seen.get(hash)?;
        let fresh = now - s.read_at < Duration::seconds(TOKEN_TRUSTED_SECS) && now >= s.read_at;
        (fresh && s.token.is_live(now)).then(|| (s.token.clone(), s.user.clone()))
    }

    /// The count of users forgotten so far, taken before a token is read.
    fn generation(&self) -> u64 {
        self.0.lock().expect("never poisoned").forgotten
    }

    /// Keeps a token read when the count was `generation`, unless a user was forgotten since.
    fn keep(&self, generation: u64, hash: String, token: &ApiToken, user: &User, read_at: DateTime<Utc>) {
        let mut r = self.0.lock().expect("never poisoned");
        if r.forgotten != generation {
            return;
        }
        if r.seen.len() >= MAX_SEEN && !r.seen.contains_key(&hash) {
            r.seen.clear();
        }
        r.seen.insert(hash, Seen { token: token.clone(), user: user.clone(), read_at });
    }

    fn used(&self, hash: &str, at: DateTime<Utc>) {
        if let Some(s) = self.0.lock().expect("never poisoned").seen.get_mut(hash) {
            s.token.last_used_at = Some(at);
        }
    }

    fn forget(&self, hash: &str) {
        self.0.lock().expect("never poisoned").seen.remove(hash);
    }

    pub(super) fn forget_user(&self, user: UserId) {
        let mut r = self.0.lock().expect("never poisoned");
        r.forgotten += 1;
        r.seen.retain(|_, s| s.user.id != user);
    }
}

/// The settings form's fields, as posted.
#[derive(Debug, Clone, Copy, Default)]
pub struct NewToken<'a> {
    pub name: &'a str,
    /// Whether the token may change tasks as well as read them.
    pub write: bool,
    /// `never`, `7`, `30`, `90` or `date`.
    pub expires: &'a str,
    /// The day, when `expires` is `date`.
    pub expires_on: &'a str,
}

/// A token just made, with its secret: the only time the secret is known.
#[derive(Debug, Clone)]
pub struct CreatedToken {
    pub token: ApiToken,
    pub secret: TokenSecret,
}

impl Services {
    /// The user's tokens, expired ones included, newest first.
    pub async fn api_tokens(&self, user: &User) -> Result<Vec<ApiToken>, ServiceError> {
        Ok(self.store.api_tokens(user.id).await?)
    }

    /// Makes a token with `secret` (drawn by the caller) and returns both;
    /// only the secret's hash is stored.
    pub async fn create_token(
        &self,
        user: &User,
        form: NewToken<'_>,
        secret: TokenSecret,
    ) -> Result<CreatedToken, ServiceError> {
        let name = TokenName::parse(form.name)?;
        let now = self.clock.now();
        let expiry = TokenExpiry::parse(form.expires, form.expires_on, super::local_day(now, user.time_zone))?;
        let live = self.store.api_tokens(user.id).await?.iter().filter(|t| t.is_live(now)).count();
        if live >= MAX_TOKENS {
            return Err(ValidationError::new(
                "name",
                format!("You can keep up to {MAX_TOKENS} tokens; revoke one you no longer use first."),
            )
            .into());
        }
        let token = ApiToken {
            id: TokenId(uuid::Uuid::now_v7()),
            user_id: user.id,
            name,
            scopes: TokenScopes::from_write(form.write),
            created_at: now,
            expires_at: expiry.expires_at(now, user.time_zone),
            last_used_at: None,
        };
        let mut uow = self.store.begin().await?;
        match uow.insert_token(&token, &secret.hash()).await {
            Err(StoreError::Conflict { field: "name" }) => {
                return Err(ServiceError::Conflict {
                    field: "name".to_owned(),
                    message: "You already have a token with this name.".to_owned(),
                })
            }
            other => other?,
        }
        uow.commit().await?;
        Ok(CreatedToken { token, secret })
    }

    /// Revokes one of the user's tokens; another user's is `NotFound`.
    pub async fn revoke_token(&self, user: &User, id: TokenId) -> Result<(), ServiceError> {
        let mut uow = self.store.begin().await?;
        uow.delete_token(user.id, id).await?;
        uow.commit().await?;
        self.tokens_seen.forget_user(user.id);
        Ok(())
    }

    /// The live token this secret belongs to and its user, recording the use
    /// when none was recorded in the last minute (so reads rarely write).
    /// A token read less than `TOKEN_TRUSTED_SECS` ago is not read again.
    pub async fn token_user(&self, secret: &TokenSecret) -> Result<Option<(ApiToken, User)>, ServiceError> {
        let now = self.clock.now();
        let hash = secret.hash();
        let (token, user) = match self.tokens_seen.get(&hash, now) {
            Some(seen) => seen,
            None => {
                let generation = self.tokens_seen.generation();
                let Some((token, user)) = self.store.token_user(&hash, now).await? else {
                    self.tokens_seen.forget(&hash);
                    return Ok(None);
                };
                self.tokens_seen.keep(generation, hash.clone(), &token, &user, now);
                (token, user)
            }
        };
        if token.last_use_is_stale(now) {
            let since = now - Duration::seconds(LAST_USE_PRECISION_SECS);
            self.store.touch_token(token.id, now, since).await?;
            self.tokens_seen.used(&hash, now);
        }
        Ok(Some((token, user)))
    }
}

#[cfg(test)]
mod tests {
    use uuid::Uuid;

    use super::*;
    use crate::account::{DisplayName, Email, TimeZone};

    fn seen_pair() -> (ApiToken, User) {
        let user = User {
            id: UserId(Uuid::now_v7()),
            email: Email::parse("a@example.com").unwrap(),
            display_name: DisplayName::parse("A").unwrap(),
            time_zone: TimeZone::default(),
            default_reminder: None,
            created_at: DateTime::<Utc>::UNIX_EPOCH,
        };
        let token = ApiToken {
            id: TokenId(Uuid::now_v7()),
            user_id: user.id,
            name: TokenName::parse("ci").unwrap(),
            scopes: TokenScopes::Read,
            created_at: DateTime::<Utc>::UNIX_EPOCH,
            expires_at: None,
            last_used_at: None,
        };
        (token, user)
    }

    #[test]
    fn a_token_is_trusted_for_a_second_and_one_read_before_a_revoke_is_not_kept_after_it() {
        let seen = TokensSeen::default();
        let (token, user) = seen_pair();
        let now = Utc::now();
        seen.keep(seen.generation(), "h".into(), &token, &user, now);
        assert!(seen.get("h", now + Duration::milliseconds(999)).is_some());
        assert!(seen.get("h", now + Duration::seconds(TOKEN_TRUSTED_SECS)).is_none(), "read again after a second");
        // Read from the store, then revoked and forgotten before it is kept.
        let read_before = seen.generation();
        seen.forget_user(user.id);
        seen.keep(read_before, "h2".into(), &token, &user, now);
        assert!(seen.get("h2", now).is_none(), "a read from before the revoke is not trusted");
        assert!(seen.get("h", now).is_none(), "the user's tokens are forgotten");
    }
}
