//! Where the reqwest client (discovery, sign-in, token requests; the relay behind a proxy) may
//! connect, decided per request: the proxy from the environment or the OS, except for hosts on
//! this machine, and no private or loopback address for a host other than the MCP server's
//! own when that server is on the internet (a hostile server must not make the user's machine
//! send requests to services on its network).
//!
//! Addresses are checked where they are known: literal ones in the URL by the auth layer
//! ([`is_private_host`] before each request), names once resolved ([`Guard`], the client's DNS
//! resolver, so redirects and every retry are covered and the addresses checked are the ones
//! connected to). Behind a proxy, names are resolved by the proxy and only the literal check
//! applies.

use std::collections::HashSet;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::{Arc, Mutex};

use hyper::Uri;
use hyper_util::client::proxy::matcher::Matcher;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use tokio::sync::OnceCell;
use url::Url;

/// Whether a connection to `ip` stays on this machine or its private networks: loopback,
/// RFC 1918, link-local, shared address space (100.64/10), "this network" (0/8), broadcast,
/// IPv6 unique-local and link-local; IPv6 forms that carry an IPv4 address (mapped
/// `::ffff:a.b.c.d`, compatible `::a.b.c.d`, NAT64 `64:ff9b::a.b.c.d`) by the address they carry.
pub fn is_private_ip(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => private_v4(v4),
        IpAddr::V6(v6) => private_v6(v6),
    }
}

fn private_v4(ip: Ipv4Addr) -> bool {
    let [a, b, ..] = ip.octets();
    ip.is_private()
        || ip.is_loopback()
        || ip.is_link_local()
        || ip.is_broadcast()
        || a == 0
        || (a == 100 && (b & 0xc0) == 64)
}

fn private_v6(ip: Ipv6Addr) -> bool {
    let s = ip.segments();
    let embedded = || Ipv4Addr::from((u32::from(s[6]) << 16) | u32::from(s[7]));
    if let Some(v4) = ip.to_ipv4_mapped() {
        return private_v4(v4);
    }
    if s[..6] == [0; 6] && !ip.is_loopback() && !ip.is_unspecified() {
        return private_v4(embedded()); // IPv4-compatible (deprecated)
    }
    if s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        return private_v4(embedded()); // NAT64
    }
    ip.is_loopback()
        || ip.is_unspecified()
        || (s[0] & 0xfe00) == 0xfc00 // unique local
        || (s[0] & 0xffc0) == 0xfe80 // link-local
        || (s[0] & 0xffc0) == 0xfec0 // site-local (deprecated)
}

/// Whether the URL's host, as written, is private or loopback (see [`is_private_ip`]); a name
/// counts only when it is one of this machine's (`localhost`). Names are checked once
/// resolved, by [`Guard`].
pub fn is_private_host(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(ip)) => is_private_ip(ip.into()),
        Some(url::Host::Ipv6(ip)) => is_private_ip(ip.into()),
        Some(url::Host::Domain(_)) => is_loopback(url),
        None => true,
    }
}

/// The reqwest client's proxy choice and DNS resolver for one MCP server.
pub struct Guard {
    /// The MCP server's host, lower-case, without a trailing dot.
    server_host: String,
    /// The server URL's host is on this machine or a private network, as written.
    server_private_as_written: bool,
    /// Whether the server's host resolves to private addresses only (found out once).
    server_private: OnceCell<bool>,
    /// Proxies in use: resolving them is never refused (a proxy is the user's own choice).
    proxies: Mutex<HashSet<String>>,
    system: Matcher,
}

fn normal_host(h: &str) -> String {
    h.trim_start_matches('[')
        .trim_end_matches(']')
        .trim_end_matches('.')
        .to_ascii_lowercase()
}

impl Guard {
    pub fn new(server: &Url) -> Arc<Guard> {
        Arc::new(Guard {
            server_host: normal_host(server.host_str().unwrap_or("")),
            server_private_as_written: is_private_host(server),
            server_private: OnceCell::new(),
            proxies: Mutex::new(HashSet::new()),
            system: Matcher::from_system(),
        })
    }

    /// The proxy for a request to `url`: none for a host on this machine, else what the
    /// environment (`HTTPS_PROXY`, `HTTP_PROXY`, `ALL_PROXY`, `NO_PROXY`) or the OS says.
    pub fn proxy_for(&self, url: &Url) -> Option<Url> {
        if is_loopback(url) {
            return None;
        }
        let uri: Uri = url.as_str().parse().ok()?;
        let hit = self.system.intercept(&uri)?;
        let mut proxy = Url::parse(&hit.uri().to_string()).ok()?;
        if let Some((user, pass)) = hit.raw_auth() {
            let _ = proxy.set_username(user);
            let _ = proxy.set_password(Some(pass));
        }
        if let Some(h) = proxy.host_str() {
            self.proxies.lock().unwrap().insert(normal_host(h));
        }
        Some(proxy)
    }

    /// The reqwest proxy setting that asks [`Guard::proxy_for`] for every request.
    pub fn proxy(self: &Arc<Guard>) -> reqwest::Proxy {
        let guard = self.clone();
        reqwest::Proxy::custom(move |url| guard.proxy_for(url))
    }

    async fn server_is_private(&self) -> bool {
        if self.server_private_as_written {
            return true;
        }
        *self
            .server_private
            .get_or_init(|| async {
                match tokio::net::lookup_host((self.server_host.as_str(), 0)).await {
                    Ok(addrs) => {
                        let addrs: Vec<SocketAddr> = addrs.collect();
                        !addrs.is_empty() && addrs.iter().all(|a| is_private_ip(a.ip()))
                    }
                    // Not resolvable here (behind a proxy, say): treated as on the internet.
                    Err(_) => false,
                }
            })
            .await
    }

    /// Resolves `host`; a private address is refused for a host other than the server's own
    /// and the proxies', unless the server itself is on a private network.
    async fn resolve_checked(self: Arc<Guard>, host: String) -> Result<Vec<SocketAddr>, PrivateAddress> {
        let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0))
            .await
            .map_err(|e| PrivateAddress::Lookup(host.clone(), e))?
            .collect();
        let name = normal_host(&host);
        if name == self.server_host || self.proxies.lock().unwrap().contains(&name) || self.server_is_private().await {
            return Ok(addrs);
        }
        let (public, private): (Vec<SocketAddr>, Vec<SocketAddr>) =
            addrs.into_iter().partition(|a| !is_private_ip(a.ip()));
        match (public.is_empty(), private.first()) {
            (true, Some(first)) => Err(PrivateAddress::Refused(host, first.ip())),
            _ => Ok(public),
        }
    }
}

/// [`Guard`] as the client's DNS resolver.
pub struct Resolver(pub Arc<Guard>);

impl Resolve for Resolver {
    fn resolve(&self, name: Name) -> Resolving {
        let guard = self.0.clone();
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let addrs = guard.resolve_checked(host).await?;
            Ok(Box::new(addrs.into_iter()) as Addrs)
        })
    }
}

/// Why a name was not resolved for the client.
#[derive(Debug)]
enum PrivateAddress {
    Lookup(String, std::io::Error),
    Refused(String, IpAddr),
}

impl std::fmt::Display for PrivateAddress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PrivateAddress::Lookup(host, e) => write!(f, "failed to lookup {host}: {e}"),
            PrivateAddress::Refused(host, ip) => write!(
                f,
                "{host} is at a private address ({ip}); a server on the internet may not point mcp-valet at its network"
            ),
        }
    }
}

impl std::error::Error for PrivateAddress {}

/// Whether the URL points at this machine (127.0.0.0/8, ::1, `::ffff:127.0.0.1`, localhost).
pub fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback() || ip.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback()),
        Some(url::Host::Domain(d)) => {
            let d = d.trim_end_matches('.').to_ascii_lowercase();
            d == "localhost" || d.ends_with(".localhost") || d.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
        }
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_addresses_in_every_spelling() {
        let p = |s: &str| is_private_ip(s.parse().unwrap());
        for private in [
            "127.0.0.1",
            "127.8.9.10",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "::1",
            "::",
            "fd00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "::ffff:169.254.169.254",
            "::127.0.0.1",
            "64:ff9b::a00:1",
        ] {
            assert!(p(private), "{private} is private");
        }
        for public in [
            "93.184.216.34",
            "8.8.8.8",
            "2606:4700::1111",
            "::ffff:8.8.8.8",
            "64:ff9b::808:808",
        ] {
            assert!(!p(public), "{public} is public");
        }
        let u = |s: &str| Url::parse(s).unwrap();
        assert!(is_private_host(&u("http://[::ffff:127.0.0.1]:8080/x")));
        assert!(is_private_host(&u("http://[::ffff:7f00:1]/x")));
        assert!(is_private_host(&u("http://0x7f.1/x")));
        assert!(is_private_host(&u("http://localhost./x")));
        assert!(!is_private_host(&u("https://auth.example.com/x")));
    }

    #[test]
    fn hosts_on_this_machine_are_never_proxied() {
        let g = Guard::new(&Url::parse("https://mcp.example.com/mcp").unwrap());
        for local in [
            "http://127.0.0.1:9/x",
            "http://localhost/x",
            "http://[::ffff:127.0.0.1]/x",
        ] {
            assert_eq!(g.proxy_for(&Url::parse(local).unwrap()), None, "{local}");
        }
    }
}
