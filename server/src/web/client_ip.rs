//! The client's address, for rate limits. Behind proxies, each one appends
//! the address it received the request from to `X-Forwarded-For`; a client
//! can write anything into the entries before those. So with `n` trusted
//! proxies in front, the client is the `n`-th entry from the right: the one
//! the outermost trusted proxy added. Never the first entry.

use std::net::{IpAddr, SocketAddr};

use app::auth::ClientIp;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::HeaderMap;
use axum::middleware::Next;
use axum::response::Response;

/// How many proxies in front of the app append to `X-Forwarded-For`.
#[derive(Clone, Copy)]
pub struct TrustedProxies(pub u8);

/// The address the outermost of `hops` trusted proxies saw, if the header holds one there.
fn forwarded_client(headers: &HeaderMap, hops: u8) -> Option<IpAddr> {
    if hops == 0 {
        return None;
    }
    let entries: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect();
    let index = entries.len().checked_sub(usize::from(hops))?;
    entries[index].parse().ok()
}

/// Records the client's address in the request's extensions.
pub async fn client_ip(State(trusted): State<TrustedProxies>, mut req: Request, next: Next) -> Response {
    let peer = req.extensions().get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip());
    if let Some(ip) = forwarded_client(req.headers(), trusted.0).or(peer) {
        req.extensions_mut().insert(ClientIp(ip));
    }
    next.run(req).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn xff(values: &[&'static str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in values {
            h.append("x-forwarded-for", HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn the_entry_the_trusted_proxy_added_is_the_client_not_the_first() {
        let h = xff(&["6.6.6.6, 203.0.113.7"]);
        assert_eq!(forwarded_client(&h, 1), Some("203.0.113.7".parse().unwrap()));
        let two = xff(&["6.6.6.6", "203.0.113.7, 10.0.0.2"]);
        assert_eq!(forwarded_client(&two, 2), Some("203.0.113.7".parse().unwrap()));
    }

    #[test]
    fn no_trusted_proxy_or_too_few_entries_means_the_socket_peer() {
        assert_eq!(forwarded_client(&xff(&["203.0.113.7"]), 0), None);
        assert_eq!(forwarded_client(&xff(&["203.0.113.7"]), 2), None);
        assert_eq!(forwarded_client(&HeaderMap::new(), 1), None);
        assert_eq!(forwarded_client(&xff(&["not an address"]), 1), None);
    }
}
