//! Security headers on every response, and long-lived caching for hashed
//! assets only. The Content-Security-Policy's script nonce is drawn here,
//! before the page renders, and handed to Leptos through the request, so the
//! policy a page is sent with and the nonce its scripts carry are one value
//! by construction.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{header, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use base64::Engine as _;
use rand::RngCore as _;

/// This request's CSP nonce: 128 random bits.
#[derive(Clone, Debug)]
pub struct CspNonce(pub Arc<str>);

impl CspNonce {
    fn new() -> Self {
        let mut bytes = [0u8; 16];
        rand::thread_rng().fill_bytes(&mut bytes);
        Self(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes).into())
    }
}

#[derive(Clone, Copy)]
pub struct HeaderPolicy {
    pub hsts: bool,
    pub hashed_assets: bool,
}

pub async fn security_headers(State(policy): State<HeaderPolicy>, mut req: Request, next: Next) -> Response {
    let path = req.uri().path().to_owned();
    let nonce = CspNonce::new();
    req.extensions_mut().insert(nonce.clone());
    let mut res = next.run(req).await;
    let html = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.starts_with("text/html"));
    let h = res.headers_mut();
    // Only an HTML page has scripts to run; everything else gets no nonce.
    let csp = app::content_security_policy(html.then_some(&*nonce.0));
    if let Ok(csp) = HeaderValue::from_str(&csp) {
        h.insert(header::CONTENT_SECURITY_POLICY, csp);
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
