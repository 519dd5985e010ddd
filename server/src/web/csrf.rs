//! Refuses state-changing requests that a browser says came from another
//! site. Session cookies are SameSite=Lax as well; this is the second lock.
//! Behind a TLS-terminating ingress `Host` may be rewritten, so when the
//! public URL is configured, `Origin` is compared with it instead.
//! A request to the API or the MCP server with a bearer token carries no
//! cookie's authority (they ignore the cookie then), so it needs no such check.

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// The origin users reach the app at, e.g. `https://cadence.example`, if configured.
#[derive(Clone, Default)]
pub struct PublicOrigin(pub Option<String>);

pub async fn csrf_guard(State(origin): State<PublicOrigin>, req: Request, next: Next) -> Response {
    if matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS) || bearer_api_call(&req) {
        return next.run(req).await;
    }
    if cross_site(req.headers(), origin.0.as_deref()) {
        tracing::warn!(method = %req.method(), path = req.uri().path(), "cross-site request refused");
        return (StatusCode::FORBIDDEN, "Cross-site requests are not allowed.").into_response();
    }
    next.run(req).await
}

/// A request to the REST API or the MCP server that names a bearer token:
/// both judge it by the token alone, never by a cookie beside it.
fn bearer_api_call(req: &Request) -> bool {
    let path = req.uri().path();
    (path.starts_with(crate::web::api::PREFIX) || path == crate::web::mcp::PATH)
        && req.headers().get(header::AUTHORIZATION).is_some_and(|v| v.as_bytes().starts_with(b"Bearer "))
}

/// Whether a browser says the request came from this site's own pages:
/// `Sec-Fetch-Site: same-origin`, or else an `Origin` that is ours. A request
/// that says neither (a script's, or an old browser's) is not.
pub(crate) fn same_origin(headers: &HeaderMap, public_origin: Option<&str>) -> bool {
    if let Some(site) = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
        return site == "same-origin";
    }
    match headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) {
        None | Some("null") => false,
        Some(_) => !cross_site(headers, public_origin),
    }
}

fn host_of(origin: &str) -> Option<&str> {
    let rest = origin.split_once("://")?.1;
    Some(rest.split('/').next().unwrap_or(rest))
}

fn cross_site(headers: &HeaderMap, public_origin: Option<&str>) -> bool {
    if let Some(site) = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
        if site == "cross-site" || site == "same-site" {
            return true;
        }
    }
    let origin = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok());
    match (origin, public_origin) {
        (None, _) => false,
        (Some("null"), _) => true,
        (Some(origin), Some(public)) => !origin.eq_ignore_ascii_case(public.trim_end_matches('/')),
        (Some(origin), None) => {
            let host = headers.get(header::HOST).and_then(|v| v.to_str().ok());
            host.is_none() || host_of(origin) != host
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn same_origin_and_non_browser_requests_pass_the_csrf_check() {
        assert!(!cross_site(&headers(&[("origin", "http://127.0.0.1:3000"), ("host", "127.0.0.1:3000")]), None));
        assert!(!cross_site(&headers(&[("host", "127.0.0.1:3000")]), None));
        assert!(!cross_site(&headers(&[("sec-fetch-site", "same-origin"), ("host", "a")]), None));
    }

    #[test]
    fn foreign_origins_fail_the_csrf_check() {
        assert!(cross_site(&headers(&[("origin", "https://evil.example"), ("host", "127.0.0.1:3000")]), None));
        assert!(cross_site(&headers(&[("origin", "null"), ("host", "127.0.0.1:3000")]), None));
        assert!(cross_site(&headers(&[("sec-fetch-site", "cross-site"), ("host", "a")]), None));
    }

    #[test]
    fn only_a_request_a_browser_marks_as_from_our_own_pages_is_same_origin() {
        let public = Some("https://cadence.example");
        assert!(same_origin(&headers(&[("sec-fetch-site", "same-origin")]), public));
        assert!(same_origin(&headers(&[("origin", "https://cadence.example"), ("host", "svc")]), public));
        assert!(same_origin(&headers(&[("origin", "http://127.0.0.1:3000"), ("host", "127.0.0.1:3000")]), None));
        assert!(!same_origin(&headers(&[("sec-fetch-site", "none"), ("origin", "https://cadence.example")]), public));
        assert!(!same_origin(&headers(&[("sec-fetch-site", "cross-site")]), public));
        assert!(!same_origin(&headers(&[("origin", "https://evil.example")]), public));
        assert!(!same_origin(&headers(&[("host", "127.0.0.1:3000")]), None), "no word from a browser at all");
    }

    #[test]
    fn behind_an_ingress_the_public_origin_decides_not_the_rewritten_host() {
        let public = Some("https://cadence.example");
        let ours = headers(&[("origin", "https://cadence.example"), ("host", "cadence.svc:3000")]);
        assert!(!cross_site(&ours, public));
        let spoofed = headers(&[("origin", "http://cadence.svc:3000"), ("host", "cadence.svc:3000")]);
        assert!(cross_site(&spoofed, public), "a matching Host is not enough once the public origin is known");
    }
}
