//! Server-side sessions and sign-in throttling: the cookie holds a random
//! token, the database only its SHA-256, and failed sign-ins are limited per
//! client address and per account.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine as _;
use domain::service::Services;
use domain::User;
use http::header::{COOKIE, SET_COOKIE};
use http::HeaderValue;
use leptos::prelude::*;
use leptos_axum::ResponseOptions;
use rand::RngCore as _;
use sha2::{Digest, Sha256};

use crate::error::AppError;

pub const SESSION_COOKIE: &str = "cadence_session";

/// What every server function and page needs from the server, provided as context.
#[derive(Clone)]
pub struct AppState {
    pub services: Services,
    pub limiter: Arc<SignInLimiter>,
    /// Adds `Secure` to cookies; on when the public URL is https.
    pub secure_cookies: bool,
}

/// The client's address, put into request extensions by the server.
#[derive(Debug, Clone, Copy)]
pub struct ClientIp(pub IpAddr);

pub fn state() -> Result<AppState, AppError> {
    use_context::<AppState>().ok_or_else(|| {
        tracing::error!("AppState missing from context");
        AppError::Internal
    })
}

fn request_parts() -> Option<http::request::Parts> {
    use_context::<http::request::Parts>()
}

/// The session token from the request's cookies.
pub fn session_token() -> Option<String> {
    let parts = request_parts()?;
    parts
        .headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == SESSION_COOKIE)
        .map(|(_, v)| v.to_owned())
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

pub async fn current_user() -> Result<Option<User>, AppError> {
    let Some(token) = session_token() else {
        return Ok(None);
    };
    Ok(state()?.services.session_user(&hash_token(&token)).await?)
}

pub async fn require_user() -> Result<User, AppError> {
    current_user().await?.ok_or(AppError::Unauthenticated)
}

fn set_cookie(value: String) {
    if let (Some(res), Ok(v)) = (use_context::<ResponseOptions>(), HeaderValue::from_str(&value)) {
        res.append_header(SET_COOKIE, v);
    }
}

/// Starts a fresh session (a new token every sign-in, replacing any old one) and sets its cookie.
pub async fn start_session(user: &User) -> Result<(), AppError> {
    let st = state()?;
    let token = new_token();
    let old = session_token().map(|t| hash_token(&t));
    st.services.open_session(user.id, hash_token(&token), old.as_deref()).await?;
    let secure = if st.secure_cookies { "; Secure" } else { "" };
    let max_age = domain::service::SESSION_TTL_DAYS * 24 * 3600;
    set_cookie(format!("{SESSION_COOKIE}={token}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age}{secure}"));
    Ok(())
}

pub async fn end_session() -> Result<(), AppError> {
    let st = state()?;
    if let Some(token) = session_token() {
        st.services.close_session(&hash_token(&token)).await?;
    }
    let secure = if st.secure_cookies { "; Secure" } else { "" };
    set_cookie(format!("{SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0{secure}"));
    Ok(())
}

/// Counts failed sign-ins in a sliding window, per client address and per account.
pub struct SignInLimiter {
    window: Duration,
    per_ip: usize,
    per_account: usize,
    failures: Mutex<HashMap<String, Vec<Instant>>>,
}

impl SignInLimiter {
    pub fn new(window: Duration, per_ip: usize, per_account: usize) -> Self {
        Self { window, per_ip, per_account, failures: Mutex::new(HashMap::new()) }
    }

    fn keys(ip: Option<IpAddr>, email: &str) -> [(String, bool); 2] {
        let ip = ip.map(|i| i.to_string()).unwrap_or_else(|| "unknown".into());
        [(format!("ip:{ip}"), true), (format!("account:{}", email.trim().to_lowercase()), false)]
    }

    /// `Err(seconds)` when either limit is reached.
    pub fn check(&self, ip: Option<IpAddr>, email: &str) -> Result<(), u64> {
        let now = Instant::now();
        let mut map = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        for (key, is_ip) in Self::keys(ip, email) {
            let limit = if is_ip { self.per_ip } else { self.per_account };
            if let Some(times) = map.get_mut(&key) {
                times.retain(|t| now.duration_since(*t) < self.window);
                if times.len() >= limit {
                    let oldest = times[0];
                    let wait = self.window.saturating_sub(now.duration_since(oldest));
                    return Err(wait.as_secs().max(1));
                }
            }
        }
        Ok(())
    }

    pub fn record_failure(&self, ip: Option<IpAddr>, email: &str) {
        let now = Instant::now();
        let mut map = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        // Bound memory: forget stale keys once the map grows large.
        if map.len() > 50_000 {
            map.retain(|_, times| times.last().is_some_and(|t| now.duration_since(*t) < self.window));
        }
        for (key, _) in Self::keys(ip, email) {
            map.entry(key).or_default().push(now);
        }
    }

    pub fn record_success(&self, email: &str) {
        let key = format!("account:{}", email.trim().to_lowercase());
        self.failures.lock().unwrap_or_else(|p| p.into_inner()).remove(&key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_limiter_blocks_an_account_after_its_limit_and_forgets_on_success() {
        let l = SignInLimiter::new(Duration::from_secs(60), 100, 3);
        let ip = Some("127.0.0.1".parse().unwrap());
        for _ in 0..3 {
            assert!(l.check(ip, "a@x.io").is_ok());
            l.record_failure(ip, "a@x.io");
        }
        assert!(l.check(ip, "A@x.io").is_err(), "account keys ignore case");
        assert!(l.check(ip, "b@x.io").is_ok(), "other accounts are unaffected");
        l.record_success("a@x.io");
        assert!(l.check(ip, "a@x.io").is_ok());
    }

    #[test]
    fn the_limiter_blocks_an_address_that_tries_many_accounts() {
        let l = SignInLimiter::new(Duration::from_secs(60), 2, 100);
        let ip = Some("10.0.0.1".parse().unwrap());
        l.record_failure(ip, "a@x.io");
        l.record_failure(ip, "b@x.io");
        assert!(l.check(ip, "c@x.io").is_err());
        assert!(l.check(Some("10.0.0.2".parse().unwrap()), "c@x.io").is_ok());
    }

    #[test]
    fn token_hashes_are_hex_sha256() {
        assert_eq!(hash_token("abc").len(), 64);
        assert_ne!(new_token(), new_token());
    }
}
