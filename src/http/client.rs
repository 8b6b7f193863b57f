//! The client's address: the TCP peer's, or behind the configured trusted reverse proxies the address they
//! forwarded. Resolved once per request by the server's middleware (API and web UI alike), read by the login
//! throttle and the audit trail.

use axum::extract::ConnectInfo;
use axum::http::HeaderMap;
use axum::http::request::Parts;
use std::net::{IpAddr, SocketAddr};

/// The client's address, resolved once per request by the router (see [`client_address`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientAddr(pub String);

/// The caller's source address, for the login throttle and the audit trail: the [`ClientAddr`] the router
/// resolved (without it, the peer address; `unknown` when there is none, as in in-process tests).
pub fn source_of(parts: &Parts) -> String {
    match parts.extensions.get::<ClientAddr>() {
        Some(c) => c.0.clone(),
        None => client_address(peer_of(&parts.extensions), &HeaderMap::new(), &[]),
    }
}

/// The TCP peer's address, if the server recorded it.
pub fn peer_of(extensions: &axum::http::Extensions) -> Option<IpAddr> {
    extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip())
}

/// The client's address: the TCP peer's, unless the peer is one of the `trusted` reverse proxies; then the
/// rightmost `X-Forwarded-For` entry that is not itself a trusted proxy (each proxy appends the address it was
/// called from, so entries left of it are whatever the client claimed). A malformed entry there, or none,
/// gives the peer. From any other peer `X-Forwarded-For` is ignored: a client cannot choose its address.
pub fn client_address(peer: Option<IpAddr>, headers: &HeaderMap, trusted: &[IpAddr]) -> String {
    let Some(peer) = peer.map(|p| p.to_canonical()) else {
        return "unknown".into();
    };
    let is_trusted = |ip: IpAddr| trusted.iter().any(|t| t.to_canonical() == ip);
    if !is_trusted(peer) {
        return peer.to_string();
    }
    let mut client = peer;
    for value in headers.get_all("x-forwarded-for").iter().rev() {
        let Ok(value) = value.to_str() else {
            return peer.to_string();
        };
        for entry in value.rsplit(',') {
            let Some(ip) = forwarded_ip(entry) else {
                return peer.to_string();
            };
            if !is_trusted(ip) {
                return ip.to_string();
            }
            // A proxy in the chain: the client is further left (or, if none is, the leftmost proxy itself).
            client = ip;
        }
    }
    client.to_string()
}

/// An `X-Forwarded-For` entry as an address: `192.0.2.7`, `2001:db8::7`, and with a port `192.0.2.7:4711` or
/// `[2001:db8::7]:4711`.
fn forwarded_ip(entry: &str) -> Option<IpAddr> {
    let e = entry.trim();
    e.parse::<IpAddr>()
        .ok()
        .or_else(|| e.parse::<SocketAddr>().ok().map(|s| s.ip()))
        .or_else(|| e.strip_prefix('[')?.strip_suffix(']')?.parse().ok())
        .map(|ip| ip.to_canonical())
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
    fn the_client_address_comes_from_trusted_proxies_only() {
        let proxy: IpAddr = "10.0.0.1".parse().unwrap();
        let inner: IpAddr = "10.0.0.2".parse().unwrap();
        let trusted = [proxy, inner];
        let at = |peer: &str, h: &HeaderMap| client_address(Some(peer.parse().unwrap()), h, &trusted);
        // Not from a trusted proxy: the header is ignored.
        assert_eq!(at("192.0.2.9", &xff(&["203.0.113.7"])), "192.0.2.9");
        // From a trusted proxy: the rightmost entry that is not a trusted proxy.
        assert_eq!(at("10.0.0.1", &xff(&["203.0.113.7"])), "203.0.113.7");
        assert_eq!(at("10.0.0.1", &xff(&["198.51.100.1, 203.0.113.7, 10.0.0.2"])), "203.0.113.7");
        assert_eq!(at("10.0.0.1", &xff(&["198.51.100.1, 203.0.113.7", "10.0.0.2"])), "203.0.113.7");
        assert_eq!(at("10.0.0.1", &xff(&["[2001:db8::7]:4711"])), "2001:db8::7");
        assert_eq!(at("10.0.0.1", &xff(&["203.0.113.7:4711"])), "203.0.113.7");
        assert_eq!(at("::ffff:10.0.0.1", &xff(&["203.0.113.7"])), "203.0.113.7");
        // Malformed, or absent: the peer.
        for bad in ["unknown", "", "203.0.113.7, nonsense", "2001:db8::7]"] {
            assert_eq!(at("10.0.0.1", &xff(&[bad])), "10.0.0.1", "{bad:?}");
        }
        assert_eq!(at("10.0.0.1", &HeaderMap::new()), "10.0.0.1");
        // A malformed entry left of the client does not matter: it is never reached.
        assert_eq!(at("10.0.0.1", &xff(&["nonsense, 203.0.113.7"])), "203.0.113.7");
        // Only proxies: the leftmost.
        assert_eq!(at("10.0.0.1", &xff(&["10.0.0.2"])), "10.0.0.2");
        // No peer (in-process): unknown; no trusted proxies: always the peer.
        assert_eq!(client_address(None, &xff(&["203.0.113.7"]), &trusted), "unknown");
        assert_eq!(client_address(Some(proxy), &xff(&["203.0.113.7"]), &[]), "10.0.0.1");
    }
}
