//! Who is signed in, for every route: the session cookie holds a random
//! token, the database only its SHA-256, and one axum layer resolves the
//! token and its user in one query per request. Pages and server functions
//! read the result from the request (`current_user`), plain axum routes
//! through the `AuthUser` and `MaybeAuthUser` extractors; none looks the
//! session up again.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{FromRequestParts, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use domain::services::Services;
use domain::User;
use http::header::{COOKIE, SET_COOKIE};
use http::request::Parts;
use http::HeaderValue;
use leptos::prelude::*;
use leptos_axum::ResponseOptions;
use rand::RngCore as _;
use sha2::{Digest, Sha256};

use crate::error::AppError;
use crate::list_cache::ListCache;
use crate::throttle::{address_key, Attempt, Throttle};

pub const SESSION_COOKIE: &str = "cadence_session";

/// What every server function, page and route needs from the server.
#[derive(Clone)]
pub struct AppState {
    pub services: Services,
    pub limits: Arc<Limits>,
    /// Recently read task-list pages, valid at their list version.
    pub list_cache: Arc<ListCache>,
    /// The origin users reach the app at (`https://cadence.example`), when
    /// configured: it decides `Secure` cookies and which `Origin` is our own.
    pub public_origin: Option<String>,
}

impl AppState {
    fn secure_cookies(&self) -> bool {
        self.public_origin.as_deref().is_some_and(|o| o.starts_with("https://"))
    }
}

/// The attempt limits, one per thing worth guessing or flooding.
pub struct Limits {
    /// Failed sign-ins per client address.
    pub sign_in_per_address: Throttle,
    /// Failed sign-ins per account.
    pub sign_in_per_account: Throttle,
    /// Accounts created per client address.
    pub sign_up_per_address: Throttle,
    /// Wrong current passwords per account.
    pub password_change: Throttle,
}

impl Limits {
    pub fn new(window: Duration, per_address: usize, per_account: usize, sign_ups_per_address: usize) -> Self {
        Self {
            sign_in_per_address: Throttle::new(window, per_address),
            sign_in_per_account: Throttle::new(window, per_account),
            sign_up_per_address: Throttle::new(Duration::from_secs(3600), sign_ups_per_address),
            password_change: Throttle::new(window, per_account),
        }
    }
}

/// The client's address, put into request extensions by the server.
#[derive(Debug, Clone, Copy)]
pub struct ClientIp(pub IpAddr);

/// A signed-in request's user, the hash of the token it came with, and the
/// version of the user's task list when the request began.
#[derive(Debug, Clone)]
pub struct SignedIn {
    pub user: User,
    pub token_hash: String,
    pub list_version: i64,
    pub unread_notifications: i64,
    /// The user's feed number when the request came in: where the page's live stream starts.
    pub feed_seq: i64,
}

/// The request's session, as the layer resolved it: `None` for visitors.
#[derive(Debug, Clone, Default)]
pub struct CurrentSession(pub Option<Arc<SignedIn>>);

pub fn state() -> Result<AppState, AppError> {
    use_context::<AppState>().ok_or_else(|| {
        tracing::error!("AppState missing from context");
        AppError::Internal
    })
}

fn request_parts() -> Option<Parts> {
    use_context::<Parts>()
}

fn session_cookie(headers: &http::HeaderMap) -> Option<&str> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == SESSION_COOKIE)
        .map(|(_, v)| v)
}

/// Paths that never need to know the user: assets and probes.
fn anonymous_path(path: &str) -> bool {
    path.starts_with("/pkg/") || path.starts_with("/favicon") || path == "/healthz" || path == "/readyz"
}

/// The live session the request's cookie names, if any. A lookup that fails
/// is logged and counts as none.
pub async fn session_of(state: &AppState, headers: &http::HeaderMap) -> Option<Arc<SignedIn>> {
    let token_hash = hash_token(session_cookie(headers)?);
    match state.services.session_user(&token_hash).await {
        Ok(Some(active)) => Some(Arc::new(SignedIn {
            user: active.user,
            token_hash,
            list_version: active.list_version,
            unread_notifications: active.unread_notifications,
            feed_seq: active.feed_seq,
        })),
        Ok(None) => None,
        Err(e) => {
            tracing::error!(error = %e, source = ?std::error::Error::source(&e), "session lookup failed");
            None
        }
    }
}

/// Resolves the session cookie, once, before any handler runs. A lookup that
/// fails is logged and the request goes on as a visitor's.
pub async fn resolve_session(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let session = if anonymous_path(req.uri().path()) { None } else { session_of(&state, req.headers()).await };
    req.extensions_mut().insert(CurrentSession(session));
    next.run(req).await
}

/// The signed-in user of a plain axum route; a visitor gets a 401.
pub struct AuthUser(pub Arc<SignedIn>);

/// The signed-in user of a plain axum route, if any.
pub struct MaybeAuthUser(pub Option<Arc<SignedIn>>);

impl<S: Send + Sync> FromRequestParts<S> for MaybeAuthUser {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Self(parts.extensions.get::<CurrentSession>().and_then(|s| s.0.clone())))
    }
}

impl<S: Send + Sync> FromRequestParts<S> for AuthUser {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match MaybeAuthUser::from_request_parts(parts, state).await {
            Ok(MaybeAuthUser(Some(signed_in))) => Ok(Self(signed_in)),
            _ => Err(AppError::Unauthenticated.into_response()),
        }
    }
}

/// The request's session, as resolved by the layer.
pub fn current_session() -> Option<Arc<SignedIn>> {
    request_parts()?.extensions.get::<CurrentSession>()?.0.clone()
}

pub fn current_user() -> Option<User> {
    current_session().map(|s| s.user.clone())
}

pub fn require_user() -> Result<User, AppError> {
    current_user().ok_or(AppError::Unauthenticated)
}

pub fn client_ip() -> Option<IpAddr> {
    request_parts()?.extensions.get::<ClientIp>().map(|c| c.0)
}

pub fn hash_token(token: &str) -> String {
    Sha256::digest(token.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

pub fn new_token() -> String {
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn set_cookie(value: String) {
    if let (Some(res), Ok(v)) = (use_context::<ResponseOptions>(), HeaderValue::from_str(&value)) {
        res.append_header(SET_COOKIE, v);
    }
}

fn cookie_attributes(st: &AppState) -> &'static str {
    if st.secure_cookies() {
        "Path=/; HttpOnly; SameSite=Lax; Secure"
    } else {
        "Path=/; HttpOnly; SameSite=Lax"
    }
}

/// Starts a fresh session (a new token every sign-in, replacing any old one) and sets its cookie.
pub async fn start_session(user: &User) -> Result<(), AppError> {
    let st = state()?;
    let token = new_token();
    let old = current_session().map(|s| s.token_hash.clone());
    st.services.open_session(user.id, hash_token(&token), old.as_deref()).await?;
    let max_age = domain::services::SESSION_TTL_DAYS * 24 * 3600;
    set_cookie(format!("{SESSION_COOKIE}={token}; {}; Max-Age={max_age}", cookie_attributes(&st)));
    Ok(())
}

pub async fn end_session() -> Result<(), AppError> {
    let st = state()?;
    if let Some(session) = current_session() {
        st.services.close_session(&session.token_hash).await?;
    }
    set_cookie(format!("{SESSION_COOKIE}=; {}; Max-Age=0", cookie_attributes(&st)));
    Ok(())
}

/// Counts a sign-in attempt against the client's address and the account;
/// refused with the wait when either is at its limit.
pub fn sign_in_attempt(st: &AppState, email: &str) -> Result<(Attempt, Attempt), AppError> {
    let account = format!("account:{}", email.trim().to_lowercase());
    let by_address = st.limits.sign_in_per_address.try_attempt(&[&address_key(client_ip())]).map_err(rate_limited)?;
    match st.limits.sign_in_per_account.try_attempt(&[&account]) {
        Ok(by_account) => Ok((by_address, by_account)),
        Err(wait) => {
            // Refused for the account: this attempt must not count against the address either.
            st.limits.sign_in_per_address.refund(by_address);
            Err(rate_limited(wait))
        }
    }
}

pub fn rate_limited(retry_after_secs: u64) -> AppError {
    AppError::RateLimited { retry_after_secs }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_hashes_are_hex_sha256() {
        assert_eq!(hash_token("abc").len(), 64);
        assert_ne!(new_token(), new_token());
    }

    #[test]
    fn the_session_cookie_is_found_among_others() {
        let mut h = http::HeaderMap::new();
        h.insert(COOKIE, HeaderValue::from_static("a=1; cadence_session=tok; b=2"));
        assert_eq!(session_cookie(&h), Some("tok"));
        assert_eq!(session_cookie(&http::HeaderMap::new()), None);
    }
}
