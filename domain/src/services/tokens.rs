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
pub(super) struct TokensSeen(Mutex<HashMap<String, Seen>>);

struct Seen {
    token: ApiToken,
    user: User,
    read_at: DateTime<Utc>,
}

impl TokensSeen {
    fn get(&self, hash: &str, now: DateTime<Utc>) -> Option<(ApiToken, User)> {
        let seen = self.0.lock().expect("never poisoned");
        let s = seen.get(hash)?;
        let fresh = now - s.read_at < Duration::seconds(TOKEN_TRUSTED_SECS) && now >= s.read_at;
        (fresh && s.token.is_live(now)).then(|| (s.token.clone(), s.user.clone()))
    }

    fn keep(&self, hash: String, token: &ApiToken, user: &User, read_at: DateTime<Utc>) {
        let mut seen = self.0.lock().expect("never poisoned");
        if seen.len() >= MAX_SEEN && !seen.contains_key(&hash) {
            seen.clear();
        }
        seen.insert(hash, Seen { token: token.clone(), user: user.clone(), read_at });
    }

    fn used(&self, hash: &str, at: DateTime<Utc>) {
        if let Some(s) = self.0.lock().expect("never poisoned").get_mut(hash) {
            s.token.last_used_at = Some(at);
        }
    }

    fn forget(&self, hash: &str) {
        self.0.lock().expect("never poisoned").remove(hash);
    }

    pub(super) fn forget_user(&self, user: UserId) {
        self.0.lock().expect("never poisoned").retain(|_, s| s.user.id != user);
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
            None => match self.store.token_user(&hash, now).await? {
                Some((token, user)) => {
                    self.tokens_seen.keep(hash.clone(), &token, &user, now);
                    (token, user)
                }
                None => {
                    self.tokens_seen.forget(&hash);
                    return Ok(None);
                }
            },
        };
        if token.last_use_is_stale(now) {
            let since = now - Duration::seconds(LAST_USE_PRECISION_SECS);
            self.store.touch_token(token.id, now, since).await?;
            self.tokens_seen.used(&hash, now);
        }
        Ok(Some((token, user)))
    }
}
