//! The SSRF guard: a webhook target may not reach loopback, private, link-local, shared,
//! multicast or metadata addresses unless `webhooks.allow_private_targets` is set. The check is on
//! the addresses the connection will use (the resolver below answers only allowed ones), so a
//! public name that resolves to 127.0.0.1 is refused like the literal.

use std::{
    net::{IpAddr, Ipv4Addr, SocketAddr},
    sync::Arc,
};

use reqwest::dns::{Addrs, Name, Resolve, Resolving};

/// True for an address a webhook may not reach.
pub fn forbidden(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => forbidden_v4(v4),
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return forbidden_v4(v4);
            }
            let first = v6.segments()[0];
            v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (first & 0xfe00) == 0xfc00 // unique local fc00::/7
                || (first & 0xffc0) == 0xfe80 // link-local fe80::/10
                || (first & 0xffc0) == 0xfec0 // site-local (deprecated) fec0::/10
                || (v6.segments()[..6] == [0, 0, 0, 0, 0, 0]) // IPv4-compatible ::a.b.c.d
                || (first == 0x64 && v6.segments()[1] == 0xff9b) // NAT64 64:ff9b::/96
                || (first == 0x2001 && v6.segments()[1] == 0x0db8) // documentation
        }
    }
}

fn forbidden_v4(ip: Ipv4Addr) -> bool {
    let [a, b, ..] = ip.octets();
    ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local() // 169.254/16: cloud metadata lives here
        || ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_multicast()
        || ip.is_documentation()
        || a == 0
        || (a == 100 && (64..128).contains(&b)) // shared address space 100.64/10
        || (a == 192 && b == 0 && ip.octets()[2] == 0) // IETF protocol assignments
        || (a == 198 && (b == 18 || b == 19)) // benchmarking
        || a >= 240 // reserved
}

/// Resolves names with the system resolver and keeps only the addresses a webhook may reach.
#[derive(Debug, Clone)]
pub struct GuardedResolver {
    pub allow_private: bool,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let allow_private = self.allow_private;
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let found: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let allowed: Vec<SocketAddr> =
                found.iter().copied().filter(|addr| allow_private || !forbidden(addr.ip())).collect();
            if allowed.is_empty() && !found.is_empty() {
                return Err(Box::new(Refused) as Box<dyn std::error::Error + Send + Sync>);
            }
            Ok(Box::new(allowed.into_iter()) as Addrs)
        })
    }
}

/// A target whose every address is forbidden.
#[derive(Debug)]
pub struct Refused;

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("target refused: it resolves only to private, loopback, link-local or metadata addresses")
    }
}

impl std::error::Error for Refused {}

/// A target named by an IP literal is not resolved: it is checked here.
pub fn check_literal(url: &reqwest::Url, allow_private: bool) -> Result<(), Refused> {
    // The URL parser has already normalised odd forms (`http://2130706433/` is 127.0.0.1).
    let host = url.host_str().unwrap_or_default().trim_start_matches('[').trim_end_matches(']');
    let Ok(ip) = host.parse::<IpAddr>() else { return Ok(()) };
    if allow_private || !forbidden(ip) { Ok(()) } else { Err(Refused) }
}

/// What a webhook API checks before saving a target: an http(s) URL whose host, when it is an IP
/// literal, is allowed. (A name is checked on every connection, by the resolver.)
pub fn check_target(target: &str, allow_private: bool) -> Result<(), &'static str> {
    let url = reqwest::Url::parse(target).map_err(|_| "not a URL")?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none_or(str::is_empty) {
        return Err("not an http(s) URL with a host");
    }
    check_literal(&url, allow_private).map_err(|_| "a private, loopback, link-local or metadata address")
}

pub fn resolver(allow_private: bool) -> Arc<GuardedResolver> {
    Arc::new(GuardedResolver { allow_private })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_loopback_link_local_and_metadata_addresses_are_forbidden() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "255.255.255.255",
            "224.0.0.1",
            "::1",
            "::",
            "fd00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "64:ff9b::a00:1",
        ] {
            assert!(forbidden(ip.parse().unwrap()), "{ip}");
        }
        for ip in ["93.184.216.34", "1.1.1.1", "2606:4700:4700::1111", "::ffff:8.8.8.8"] {
            assert!(!forbidden(ip.parse().unwrap()), "{ip}");
        }
    }

    #[test]
    fn literals_are_checked_without_resolving() {
        let url = |u: &str| reqwest::Url::parse(u).unwrap();
        assert!(check_literal(&url("http://127.0.0.1:8080/x"), false).is_err());
        assert!(check_literal(&url("http://[::1]/x"), false).is_err());
        assert!(check_literal(&url("http://169.254.169.254/latest/meta-data"), false).is_err());
        assert!(check_literal(&url("http://127.0.0.1:8080/x"), true).is_ok());
        assert!(check_literal(&url("https://hooks.example.com/x"), false).is_ok());
        assert!(check_literal(&url("http://2130706433/x"), false).is_err(), "127.0.0.1 in decimal");
    }

    #[tokio::test]
    async fn a_name_resolving_to_loopback_is_refused() {
        let name = || "localhost".parse::<Name>().unwrap();
        assert!(GuardedResolver { allow_private: false }.resolve(name()).await.is_err());
        let allowed: Vec<_> = GuardedResolver { allow_private: true }.resolve(name()).await.unwrap().collect();
        assert!(!allowed.is_empty());
    }
}
