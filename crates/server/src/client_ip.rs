//! The client's address behind reverse proxies.
//!
//! Every handler reads the client IP from axum's `ConnectInfo<SocketAddr>`. When the direct peer
//! is one of the operator's trusted proxies (`trusted_proxies`), [`middleware`] replaces that
//! address with the client the proxies report, before any handler runs: the right-most address of
//! `X-Forwarded-For` (or of the `for=` parameters of `Forwarded`, RFC 7239) that is not itself a
//! trusted proxy. Headers from any other peer are ignored, so a client cannot choose its own IP
//! (throttling, risk and `ip_in` conditions depend on it).

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, Request, State};
use axum::http::HeaderMap;
use axum::middleware::Next;
use axum::response::Response;
use ipnet::IpNet;

use crate::state::AppState;

/// Parses the `trusted_proxies` setting: comma-separated IP addresses or CIDR blocks.
pub fn parse_trusted(value: &str) -> Result<Vec<IpNet>, String> {
    value
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<IpNet>()
                .or_else(|_| s.parse::<IpAddr>().map(IpNet::from))
                .map_err(|_| {
                    format!("{s:?} is not an IP address or a CIDR block such as 10.0.0.0/8")
                })
        })
        .collect()
}

fn trusted(proxies: &[IpNet], ip: IpAddr) -> bool {
    let ip = canonical(ip);
    proxies.iter().any(|n| n.contains(&ip))
}

fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
        v4 => v4,
    }
}

/// One hop of `X-Forwarded-For` or of a `Forwarded` `for=` parameter: `203.0.113.7`,
/// `203.0.113.7:4711`, `[2001:db8::1]`, `"[2001:db8::1]:4711"`. Obfuscated identifiers
/// (`unknown`, `_hidden`) give `None`.
fn parse_hop(s: &str) -> Option<IpAddr> {
    let s = s.trim().trim_matches('"');
    if let Ok(ip) = s.parse::<IpAddr>() {
        return Some(ip);
    }
    if let Some(rest) = s.strip_prefix('[') {
        return rest.split(']').next()?.parse().ok();
    }
    if let Ok(sa) = s.parse::<SocketAddr>() {
        return Some(sa.ip());
    }
    None
}

/// The hops the proxies reported, nearest to the client first. `Forwarded` wins over
/// `X-Forwarded-For` when both are present.
fn reported_hops(headers: &HeaderMap) -> Option<Vec<Option<IpAddr>>> {
    let forwarded: Vec<&str> = headers
        .get_all("forwarded")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect();
    if !forwarded.is_empty() {
        let mut hops = Vec::new();
        for element in forwarded.iter().flat_map(|v| v.split(',')) {
            let for_value = element.split(';').find_map(|pair| {
                let (k, v) = pair.split_once('=')?;
                k.trim().eq_ignore_ascii_case("for").then_some(v)
            });
            if let Some(v) = for_value {
                hops.push(parse_hop(v));
            }
        }
        return (!hops.is_empty()).then_some(hops);
    }
    let xff: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect();
    if xff.is_empty() {
        return None;
    }
    Some(
        xff.iter()
            .flat_map(|v| v.split(','))
            .map(parse_hop)
            .collect(),
    )
}

/// The client address for a request that arrived from `peer`.
pub fn client_ip(proxies: &[IpNet], peer: IpAddr, headers: &HeaderMap) -> IpAddr {
    if proxies.is_empty() || !trusted(proxies, peer) {
        return peer;
    }
    let Some(hops) = reported_hops(headers) else {
        return peer;
    };
    // Walk from the nearest hop back toward the client; stop at the first address not ours.
    let mut client = peer;
    for hop in hops.into_iter().rev() {
        match hop {
            Some(ip) => {
                client = canonical(ip);
                if !trusted(proxies, client) {
                    return client;
                }
            }
            // An unreadable hop cannot be trusted further: the last good address stands.
            None => return client,
        }
    }
    client
}

/// Replaces the connection's address with the client's, when the peer is a trusted proxy.
pub async fn middleware(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let proxies = &state.services.config.trusted_proxies;
    if !proxies.is_empty()
        && let Some(ConnectInfo(peer)) = req.extensions().get::<ConnectInfo<SocketAddr>>().copied()
    {
        let ip = client_ip(proxies, peer.ip(), req.headers());
        if ip != peer.ip() {
            req.extensions_mut()
                .insert(ConnectInfo(SocketAddr::new(ip, peer.port())));
        }
    }
    next.run(req).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(
                axum::http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                v.parse().unwrap(),
            );
        }
        h
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn untrusted_peers_cannot_choose_their_address() {
        let proxies = parse_trusted("10.0.0.0/8").unwrap();
        let h = headers(&[("x-forwarded-for", "198.51.100.1")]);
        assert_eq!(
            client_ip(&proxies, ip("203.0.113.9"), &h),
            ip("203.0.113.9")
        );
        assert_eq!(client_ip(&[], ip("10.0.0.1"), &h), ip("10.0.0.1"));
    }

    #[test]
    fn the_right_most_untrusted_hop_is_the_client() {
        let proxies = parse_trusted("10.0.0.0/8, 192.0.2.1").unwrap();
        // The client forged a first entry; the proxies appended the real one.
        let h = headers(&[("x-forwarded-for", "1.2.3.4, 198.51.100.7, 192.0.2.1")]);
        assert_eq!(client_ip(&proxies, ip("10.1.2.3"), &h), ip("198.51.100.7"));
        let h = headers(&[
            ("x-forwarded-for", "1.2.3.4"),
            ("x-forwarded-for", "198.51.100.8"),
        ]);
        assert_eq!(client_ip(&proxies, ip("10.1.2.3"), &h), ip("198.51.100.8"));
    }

    #[test]
    fn forwarded_header_forms() {
        let proxies = parse_trusted("10.0.0.1").unwrap();
        let h = headers(&[("forwarded", "for=192.0.2.60;proto=http;by=203.0.113.43")]);
        assert_eq!(client_ip(&proxies, ip("10.0.0.1"), &h), ip("192.0.2.60"));
        let h = headers(&[("forwarded", r#"for="[2001:db8:cafe::17]:4711""#)]);
        assert_eq!(
            client_ip(&proxies, ip("10.0.0.1"), &h),
            ip("2001:db8:cafe::17")
        );
        let h = headers(&[("forwarded", "for=unknown")]);
        assert_eq!(client_ip(&proxies, ip("10.0.0.1"), &h), ip("10.0.0.1"));
        // Forwarded wins over X-Forwarded-For.
        let h = headers(&[
            ("forwarded", "For=192.0.2.61"),
            ("x-forwarded-for", "192.0.2.99"),
        ]);
        assert_eq!(client_ip(&proxies, ip("10.0.0.1"), &h), ip("192.0.2.61"));
    }

    #[test]
    fn mapped_and_garbage() {
        let proxies = parse_trusted("127.0.0.1").unwrap();
        let h = headers(&[("x-forwarded-for", "::ffff:198.51.100.2")]);
        assert_eq!(
            client_ip(&proxies, ip("::ffff:127.0.0.1"), &h),
            ip("198.51.100.2")
        );
        let h = headers(&[("x-forwarded-for", "not-an-ip")]);
        assert_eq!(client_ip(&proxies, ip("127.0.0.1"), &h), ip("127.0.0.1"));
        assert!(parse_trusted("10.0.0.0/33").is_err());
        assert!(parse_trusted("").unwrap().is_empty());
    }
}
