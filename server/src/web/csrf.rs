//! Refuses state-changing requests that a browser says came from another
//! site. Session cookies are SameSite=Lax as well; this is the second lock.
//! Behind a TLS-terminating ingress `Host` may be rewritten, so when the
//! public URL is configured, `Origin` is compared with it instead.

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// The origin users reach the app at, e.g. `https://cadence.example`, if configured.
#[derive(Clone, Default)]
pub struct PublicOrigin(pub Option<String>);

pub async fn csrf_guard(State(origin): State<PublicOrigin>, req: Request, next: Next) -> Response {
    if matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS) {
        return next.run(req).await;
    }
    if cross_site(req.headers(), origin.0.as_deref()) {
        tracing::warn!(method = %req.method(), path = req.uri().path(), "cross-site request refused");
        return (StatusCode::FORBIDDEN, "Cross-site requests are not allowed.").into_response();
    }
    next.run(req).await
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
    fn behind_an_ingress_the_public_origin_decides_not_the_rewritten_host() {
        let public = Some("https://cadence.example");
        let ours = headers(&[("origin", "https://cadence.example"), ("host", "cadence.svc:3000")]);
        assert!(!cross_site(&ours, public));
        let spoofed = headers(&[("origin", "http://cadence.svc:3000"), ("host", "cadence.svc:3000")]);
        assert!(cross_site(&spoofed, public), "a matching Host is not enough once the public origin is known");
    }
}
