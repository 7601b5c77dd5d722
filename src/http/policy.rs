//! The rules both HTTP clients follow (reqwest for discovery and sign-in, hyper's client for
//! the relay, `super::relay_client`): who we say we are, how long idle connections stay, which
//! redirects are followed, and how long to wait before retrying a busy server.

use std::time::Duration;

use reqwest::header::HeaderMap;
use url::Url;

pub const USER_AGENT: &str = concat!("mcp-valet/", env!("CARGO_PKG_VERSION"));

/// Idle connections are kept this long for the next request.
pub const POOL_IDLE_TIMEOUT: Duration = Duration::from_secs(90);

/// The most an HTTP/1.1 connection of the relay buffers from the socket at once. hyper's
/// default (~408 KiB) lets each connection's read buffer grow that large, and keep its
/// capacity, while a large answer streams in; 64 KiB (what loopback TCP hands over per read
/// anyway) took 1.0–1.9 MiB off the peak RSS of a session with 1 MiB results (bench/README.md).
pub const READ_BUFFER_MAX: usize = 64 * 1024;

/// The redirect rule of both HTTP clients: the `n`th redirect of a request that started at
/// `first` may go to `to` only on the same origin (a redirect elsewhere would carry the user's
/// headers and credentials to another host; the same origin also rules out https → http), and
/// at most 4 in a row. Only 307 and 308 are followed (they keep the method and body).
/// `Some(reason)` refuses.
pub fn redirect_refusal(first: &Url, to: &Url, n: usize) -> Option<String> {
    if n >= 5 {
        return Some("too many redirects".into());
    }
    (first.origin() != to.origin()).then(|| {
        format!(
            "the server redirects to another host ({}); credentials are not sent there. Use that URL directly if you trust it",
            to.host_str().unwrap_or("?")
        )
    })
}

/// Longest a `Retry-After` may ask us to wait before we give up instead.
const MAX_RETRY_WAIT: Duration = Duration::from_secs(60);

/// How long to wait before retry number `attempt` (0-based) after a 429 or 503.
pub fn retry_delay(headers: &HeaderMap, attempt: u32) -> Option<Duration> {
    let asked = headers
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            let v = v.trim();
            v.parse::<u64>().ok().map(Duration::from_secs).or_else(|| {
                httpdate::parse_http_date(v)
                    .ok()
                    .map(|t| t.duration_since(std::time::SystemTime::now()).unwrap_or_default())
            })
        });
    match asked {
        Some(d) if d > MAX_RETRY_WAIT => None,
        Some(d) => Some(d),
        None => Some(Duration::from_millis(250 << attempt.min(6))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::{HeaderValue, RETRY_AFTER};

    #[test]
    fn redirects_stay_on_the_origin_and_stop_after_four() {
        let u = |s: &str| Url::parse(s).unwrap();
        let first = u("https://h.example/old");
        assert_eq!(redirect_refusal(&first, &u("https://h.example/mcp"), 1), None);
        assert_eq!(redirect_refusal(&first, &u("https://h.example:443/x"), 4), None);
        assert!(redirect_refusal(&first, &u("https://h.example/mcp"), 5).is_some());
        let elsewhere = redirect_refusal(&first, &u("https://evil.example/mcp"), 1).unwrap();
        assert!(elsewhere.contains("evil.example"), "{elsewhere}");
        assert!(
            redirect_refusal(&first, &u("http://h.example/mcp"), 1).is_some(),
            "no https → http"
        );
        assert!(
            redirect_refusal(&first, &u("https://h.example:8443/mcp"), 1).is_some(),
            "another port"
        );
    }

    #[test]
    fn retry_after_is_honoured_and_bounded() {
        let mut h = HeaderMap::new();
        assert_eq!(retry_delay(&h, 0), Some(Duration::from_millis(250)));
        assert_eq!(retry_delay(&h, 2), Some(Duration::from_millis(1000)));
        h.insert(RETRY_AFTER, HeaderValue::from_static("2"));
        assert_eq!(retry_delay(&h, 0), Some(Duration::from_secs(2)));
        h.insert(RETRY_AFTER, HeaderValue::from_static("3600"));
        assert_eq!(retry_delay(&h, 0), None);
        h.insert(RETRY_AFTER, HeaderValue::from_static("Wed, 21 Oct 2015 07:28:00 GMT"));
        assert_eq!(retry_delay(&h, 0), Some(Duration::ZERO));
    }
}
