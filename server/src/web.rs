//! HTTP middleware: client address, CSRF origin checks, the mapping of server
//! function errors to HTTP statuses, showing a failed form again with what was
//! typed, security and cache headers, and health probes.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use app::auth::ClientIp;
use app::echo::FormEcho;
use app::error::AppError;
use axum::body::{to_bytes, Body};
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use domain::ports::Store;

#[derive(Clone)]
pub struct ProxyTrust(pub bool);

/// Records the client's address for rate limiting: the socket peer, or the first
/// `X-Forwarded-For` hop when the operator said a proxy sets it.
pub async fn client_ip(State(trust): State<ProxyTrust>, mut req: Request, next: Next) -> Response {
    let forwarded = trust
        .0
        .then(|| req.headers().get("x-forwarded-for")?.to_str().ok()?.split(',').next()?.trim().parse::<IpAddr>().ok())
        .flatten();
    let peer = req.extensions().get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip());
    if let Some(ip) = forwarded.or(peer) {
        req.extensions_mut().insert(ClientIp(ip));
    }
    next.run(req).await
}

fn host_of(origin: &str) -> Option<&str> {
    let rest = origin.split_once("://")?.1;
    Some(rest.split('/').next().unwrap_or(rest))
}

/// Refuses state-changing requests that a browser says came from another site.
/// Session cookies are SameSite=Lax as well; this is the second lock.
pub async fn csrf_guard(req: Request, next: Next) -> Response {
    if matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS) {
        return next.run(req).await;
    }
    if cross_site(req.headers()) {
        tracing::warn!(method = %req.method(), path = req.uri().path(), "cross-site request refused");
        return (StatusCode::FORBIDDEN, "Cross-site requests are not allowed.").into_response();
    }
    next.run(req).await
}

fn cross_site(headers: &HeaderMap) -> bool {
    if let Some(site) = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
        if site == "cross-site" || site == "same-site" {
            return true;
        }
    }
    match (
        headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()),
        headers.get(header::HOST).and_then(|v| v.to_str().ok()),
    ) {
        (Some("null"), _) => true,
        (Some(origin), Some(host)) => host_of(origin) != Some(host),
        (Some(_), None) => true,
        (None, _) => false,
    }
}

/// Server functions answer every error with 500; this gives each its real status,
/// read from the one place that knows it, `AppError::status`.
pub async fn server_fn_status(req: Request, next: Next) -> Response {
    let res = next.run(req).await;
    if res.status() != StatusCode::INTERNAL_SERVER_ERROR || !res.headers().contains_key("serverfnerror") {
        return res;
    }
    let (mut parts, body) = res.into_parts();
    let bytes = match to_bytes(body, 1 << 20).await {
        Ok(b) => b,
        Err(_) => return StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    };
    if let Ok(err) = serde_json::from_slice::<AppError>(&bytes) {
        answer_with(&err, &mut parts.status, &mut parts.headers);
    }
    Response::from_parts(parts, Body::from(bytes))
}

/// Gives a response the status of `err`, and a Retry-After when it asks the client to wait.
fn answer_with(err: &AppError, status: &mut StatusCode, headers: &mut HeaderMap) {
    *status = StatusCode::from_u16(err.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    if let AppError::RateLimited { retry_after_secs } = *err {
        headers.insert(header::RETRY_AFTER, HeaderValue::from(retry_after_secs));
    }
}

/// Largest form body kept for showing a failed form again: the longest
/// description (10,000 characters), percent-encoded, with room to spare.
const FORM_ECHO_LIMIT: usize = 256 * 1024;

/// Shows a form posted without JavaScript again, with the error and with what
/// the user typed, instead of a blank form.
///
/// On an error, a server function sends a browser (which accepts HTML) back to
/// the form's page with the error in the query string (`__path`, `__err`), and
/// the typed values would be lost. This turns that redirect into a 307, so the
/// browser posts the same form body to the page's address; that post is then
/// rendered as the page (a GET) with the body as a [`FormEcho`], and answered
/// with the error's own status. The address bar ends up on the page, so the
/// next submission's Referer is the page again.
pub async fn redisplay_failed_forms(req: Request, next: Next) -> Response {
    if req.method() != Method::POST {
        return next.run(req).await;
    }
    if req.uri().path().starts_with("/api/") {
        let mut res = next.run(req).await;
        let failed =
            res.headers().get(header::LOCATION).and_then(|l| l.to_str().ok()).is_some_and(|l| l.contains("__err="));
        if res.status() == StatusCode::FOUND && failed {
            *res.status_mut() = StatusCode::TEMPORARY_REDIRECT;
        }
        return res;
    }
    let Some((action, error)) = req.uri().query().and_then(form_error) else {
        return next.run(req).await;
    };
    let (mut parts, body) = req.into_parts();
    let Ok(bytes) = to_bytes(body, FORM_ECHO_LIMIT).await else {
        return (StatusCode::PAYLOAD_TOO_LARGE, "The form was too large.").into_response();
    };
    let fields: Vec<(String, String)> = serde_urlencoded::from_bytes(&bytes).unwrap_or_default();
    parts.method = Method::GET;
    parts.headers.remove(header::CONTENT_TYPE);
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.extensions.insert(FormEcho::new(action, fields));
    let res = next.run(Request::from_parts(parts, Body::empty())).await;
    if res.status() == StatusCode::OK {
        let (mut parts, body) = res.into_parts();
        answer_with(&error, &mut parts.status, &mut parts.headers);
        return Response::from_parts(parts, body);
    }
    res
}

/// The server function and the error a failed form post put in a page's query string.
fn form_error(query: &str) -> Option<(String, AppError)> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query).ok()?;
    let value = |key: &str| pairs.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str());
    let action = value("__path")?;
    let error = server_fn::error::ServerFnUrlError::<AppError>::decode_err(value("__err")?);
    Some((action.to_owned(), error))
}

/// Security headers on every response; long-lived caching for hashed assets only.
pub async fn security_headers(State(policy): State<HeaderPolicy>, req: Request, next: Next) -> Response {
    // Pages set their own policy with a script nonce; everything else gets the nonce-less one.
    let path = req.uri().path().to_owned();
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    if !h.contains_key(header::CONTENT_SECURITY_POLICY) {
        if let Ok(csp) = HeaderValue::from_str(&app::content_security_policy(None)) {
            h.insert(header::CONTENT_SECURITY_POLICY, csp);
        }
    }
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("strict-origin-when-cross-origin"));
    h.insert("permissions-policy", HeaderValue::from_static("camera=(), microphone=(), geolocation=()"));
    h.insert("cross-origin-opener-policy", HeaderValue::from_static("same-origin"));
    if policy.hsts {
        h.insert(header::STRICT_TRANSPORT_SECURITY, HeaderValue::from_static("max-age=31536000; includeSubDomains"));
    }
    let cache = if path.starts_with("/pkg/") && policy.hashed_assets {
        "public, max-age=31536000, immutable"
    } else if path.starts_with("/pkg/") || path.starts_with("/favicon") {
        "public, max-age=300"
    } else {
        "no-store"
    };
    if !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    }
    res
}

#[derive(Clone, Copy)]
pub struct HeaderPolicy {
    pub hsts: bool,
    pub hashed_assets: bool,
}

/// Liveness: the process answers.
pub async fn healthz() -> &'static str {
    "ok"
}

/// Readiness: the database answers (migrations ran before the listener opened).
pub async fn readyz(State(store): State<Arc<dyn Store>>) -> Response {
    match store.ping().await {
        Ok(()) => (StatusCode::OK, "ready").into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "readiness check failed");
            (StatusCode::SERVICE_UNAVAILABLE, "database unavailable").into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn same_origin_and_non_browser_requests_pass_the_csrf_check() {
        assert!(!cross_site(&headers(&[("origin", "http://127.0.0.1:3000"), ("host", "127.0.0.1:3000")])));
        assert!(!cross_site(&headers(&[("host", "127.0.0.1:3000")])));
        assert!(!cross_site(&headers(&[("sec-fetch-site", "same-origin"), ("host", "a")])));
    }

    #[test]
    fn foreign_origins_fail_the_csrf_check() {
        assert!(cross_site(&headers(&[("origin", "https://evil.example"), ("host", "127.0.0.1:3000")])));
        assert!(cross_site(&headers(&[("origin", "null"), ("host", "127.0.0.1:3000")])));
        assert!(cross_site(&headers(&[("sec-fetch-site", "cross-site"), ("host", "a")])));
    }
}
