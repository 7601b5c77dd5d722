//! The relay's HTTP client: the bridge's own requests (the messages it relays, the event
//! streams it listens to, the session's end) go over hyper's pooled client, without reqwest's
//! layers on top, wherever no proxy applies; behind a proxy they go through reqwest, which
//! speaks to proxies. [`RelayClient::send`] makes that choice.
//!
//! reqwest stays the client of everything else (discovery, sign-in, token requests). For the
//! relay its per-request machinery — a redirect layer that parses the request URL again for
//! every response, a second pool key, boxed futures — was about a fifth of mcp-valet's CPU
//! time per relayed call (measured with `bench/`).
//!
//! What the hyper path keeps the same as reqwest's: the rustls configuration (HTTP/2 by ALPN,
//! the OS trust store plus `--ca-file`), the connect timeout, TCP_NODELAY, and
//! `super::policy` (idle connections, `User-Agent`, the redirect rule); the hyper path also
//! caps each connection's read buffer (`policy::READ_BUFFER_MAX`). Failures of either
//! path are described in the same words (`super::describe`).

use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use futures_util::{Stream, TryStreamExt};
use http_body_util::{BodyDataStream, Full};
use hyper::{Method, StatusCode, Uri, Version};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use reqwest::header::{HeaderMap, HeaderValue, LOCATION, USER_AGENT};
use url::Url;

use super::describe::{Symptoms, describe, describe_error, has_io_kind, is_tls_failure, root_cause};
use super::policy::{self, POOL_IDLE_TIMEOUT, redirect_refusal};
use crate::failure::Failure;

pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The body of an answer, chunk by chunk.
pub type BodyStream = Pin<Box<dyn Stream<Item = Result<Bytes, BoxError>> + Send>>;

/// A request of the bridge: where, how, and what.
pub struct Outgoing {
    pub method: Method,
    pub url: Url,
    pub headers: HeaderMap,
    pub body: Option<Bytes>,
}

/// An HTTP answer, whichever client fetched it.
pub struct Answer {
    status: StatusCode,
    version: Version,
    headers: HeaderMap,
    body: BodyStream,
}

impl Answer {
    pub fn status(&self) -> StatusCode {
        self.status
    }

    pub fn version(&self) -> Version {
        self.version
    }

    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    /// The announced `Content-Length`, if any.
    pub fn content_length(&self) -> Option<u64> {
        self.headers
            .get(reqwest::header::CONTENT_LENGTH)?
            .to_str()
            .ok()?
            .parse()
            .ok()
    }

    pub fn bytes_stream(self) -> BodyStream {
        self.body
    }

    /// An answer fetched by reqwest (behind a proxy). Its body errors lose the URL, which may
    /// hold a key.
    pub fn from_reqwest(r: reqwest::Response) -> Answer {
        Answer {
            status: r.status(),
            version: r.version(),
            headers: r.headers().clone(),
            body: Box::pin(r.bytes_stream().map_err(|e| BoxError::from(e.without_url()))),
        }
    }
}

/// Why an exchange failed.
#[derive(Debug)]
enum HyperError {
    /// Connecting, TLS, or the HTTP exchange itself.
    Http(hyper_util::client::legacy::Error),
    /// A redirect we do not follow (another host, https → http, too many).
    Redirect(String),
    /// The URL cannot be made into a request URI.
    Url,
}

impl HyperError {
    fn is_connect(&self) -> bool {
        matches!(self, HyperError::Http(e) if e.is_connect())
    }
}

impl std::fmt::Display for HyperError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            HyperError::Http(_) => f.write_str("the HTTP exchange failed"),
            HyperError::Redirect(why) => f.write_str(why),
            HyperError::Url => f.write_str("the URL cannot be requested"),
        }
    }
}

impl std::error::Error for HyperError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            HyperError::Http(e) => Some(e),
            _ => None,
        }
    }
}

/// The client of the bridge's requests: hyper's where no proxy applies, else reqwest's.
#[derive(Clone)]
pub struct RelayClient {
    direct: Option<Direct>,
    proxied: reqwest::Client,
    /// The MCP server's cookies (load-balancer stickiness), unless `--disable-cookies`.
    cookies: Option<Arc<Mutex<Jar>>>,
}

/// Cookies the MCP server set, replayed to its exact origin only (`Domain` and `Path` are not
/// honoured: nothing travels elsewhere), in memory for the life of the process.
struct Jar {
    /// The server's URL, for its origin.
    origin: Url,
    cookies: Vec<(String, String)>,
}

/// Bounds of the jar: a server cannot make requests grow without limit.
const MAX_COOKIES: usize = 32;
const MAX_COOKIE_LEN: usize = 4096;

impl Jar {
    fn header(&self) -> Option<HeaderValue> {
        if self.cookies.is_empty() {
            return None;
        }
        let s: Vec<String> = self.cookies.iter().map(|(n, v)| format!("{n}={v}")).collect();
        let mut h = HeaderValue::from_str(&s.join("; ")).ok()?;
        h.set_sensitive(true);
        Some(h)
    }

    fn capture(&mut self, headers: &HeaderMap) {
        for set in headers.get_all(reqwest::header::SET_COOKIE) {
            let Ok(set) = set.to_str() else { continue };
            let mut parts = set.split(';');
            let Some((name, value)) = parts.next().and_then(|p| p.split_once('=')) else {
                continue;
            };
            let (name, value) = (name.trim(), value.trim());
            if name.is_empty() || name.len() + value.len() > MAX_COOKIE_LEN {
                continue;
            }
            let gone = parts.any(|a| {
                let a = a.trim().to_ascii_lowercase();
                a.strip_prefix("max-age=")
                    .is_some_and(|n| n.trim().parse::<i64>().is_ok_and(|n| n <= 0))
            });
            self.cookies.retain(|(n, _)| n != name);
            if !gone && self.cookies.len() < MAX_COOKIES {
                self.cookies.push((name.to_owned(), value.to_owned()));
            }
        }
    }
}

impl std::fmt::Debug for RelayClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RelayClient")
            .field("direct", &self.direct.is_some())
            .finish_non_exhaustive()
    }
}

impl RelayClient {
    /// For the server at `url`; `proxied` is the reqwest client to use behind a proxy. A
    /// server on this machine (`loopback`) is never reached through a proxy.
    pub fn new(
        url: &Url,
        loopback: bool,
        tls: rustls::ClientConfig,
        connect_timeout: Duration,
        ipv4: bool,
        cookies: bool,
        proxied: reqwest::Client,
    ) -> RelayClient {
        let direct = loopback || !uses_a_proxy(url);
        let jar = Jar {
            origin: url.clone(),
            cookies: Vec::new(),
        };
        RelayClient {
            cookies: cookies.then(|| Arc::new(Mutex::new(jar))),
            direct: direct.then(|| Direct::new(tls, connect_timeout, ipv4)),
            proxied,
        }
    }

    /// One HTTP exchange, through hyper's client where no proxy applies, else through reqwest.
    /// A failure is described for the server `out.url` is on.
    pub async fn send(&self, mut out: Outgoing) -> Result<Answer, Failure> {
        // Only for the server's own origin, and never over a Cookie the user gave.
        let jar = self
            .cookies
            .as_ref()
            .filter(|j| same_origin(&j.lock().unwrap_or_else(|e| e.into_inner()).origin, &out.url));
        if let Some(j) = jar
            && !out.headers.contains_key(reqwest::header::COOKIE)
            && let Some(h) = j.lock().unwrap_or_else(|e| e.into_inner()).header()
        {
            out.headers.insert(reqwest::header::COOKIE, h);
        }
        let answer = self.exchange(out).await;
        if let (Some(j), Ok(a)) = (jar, &answer) {
            j.lock().unwrap_or_else(|e| e.into_inner()).capture(a.headers());
        }
        answer
    }

    async fn exchange(&self, out: Outgoing) -> Result<Answer, Failure> {
        if let Some(direct) = &self.direct {
            return direct.send(out).await;
        }
        let url = out.url.clone();
        let mut rb = self.proxied.request(out.method, out.url).headers(out.headers);
        if let Some(body) = out.body {
            rb = rb.body(body);
        }
        rb.send()
            .await
            .map(Answer::from_reqwest)
            .map_err(|e| describe_error(&e, &url, None))
    }
}

/// Whether two URLs have one origin (scheme, host, port), compared without building it.
fn same_origin(a: &Url, b: &Url) -> bool {
    a.scheme() == b.scheme() && a.host() == b.host() && a.port_or_known_default() == b.port_or_known_default()
}

/// A URL's text and its `Uri`.
type LastUri = (Box<str>, Uri);

/// hyper's pooled client with our TLS configuration.
#[derive(Clone)]
struct Direct {
    client: Client<HttpsConnector<HttpConnector>, Full<Bytes>>,
    last_uri: Arc<Mutex<Option<LastUri>>>,
}

impl Direct {
    fn new(mut tls: rustls::ClientConfig, connect_timeout: Duration, ipv4: bool) -> Direct {
        tls.alpn_protocols.clear(); // the builder sets h2 and http/1.1 itself
        let mut http = HttpConnector::new();
        http.enforce_http(false);
        http.set_nodelay(true);
        http.set_connect_timeout(Some(connect_timeout));
        if ipv4 {
            // With a local IPv4 address only, the connector drops the IPv6 addresses.
            http.set_local_address(Some(std::net::IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED)));
        }
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_or_http()
            .enable_http1()
            .enable_http2()
            .wrap_connector(http);
        let client = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(POOL_IDLE_TIMEOUT)
            .pool_timer(TokioTimer::new())
            .timer(TokioTimer::new())
            .http1_max_buf_size(policy::READ_BUFFER_MAX)
            .build(https);
        Direct {
            client,
            last_uri: Arc::default(),
        }
    }

    async fn send(&self, out: Outgoing) -> Result<Answer, Failure> {
        let Outgoing {
            method,
            url,
            headers,
            body,
        } = out;
        self.follow(method, &url, headers, body.unwrap_or_default())
            .await
            .map_err(|e| describe_hyper_error(&e, &url))
    }

    /// Sends a request to `first`, following 307/308 redirects under
    /// `policy::redirect_refusal`.
    async fn follow(
        &self,
        method: Method,
        first: &Url,
        mut headers: HeaderMap,
        body: Bytes,
    ) -> Result<Answer, HyperError> {
        if !headers.contains_key(USER_AGENT) {
            headers.insert(USER_AGENT, HeaderValue::from_static(policy::USER_AGENT));
        }
        let mut url = std::borrow::Cow::Borrowed(first);
        let mut hops = 0;
        loop {
            let mut req = hyper::Request::new(Full::new(body.clone()));
            *req.method_mut() = method.clone();
            *req.uri_mut() = self.uri(&url)?;
            *req.headers_mut() = headers.clone();
            let resp = self.client.request(req).await.map_err(HyperError::Http)?;
            let status = resp.status();
            if matches!(status.as_u16(), 307 | 308)
                && let Some(to) = resp
                    .headers()
                    .get(LOCATION)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|l| url.join(l).ok())
            {
                hops += 1;
                if let Some(why) = redirect_refusal(first, &to, hops) {
                    return Err(HyperError::Redirect(why));
                }
                url = std::borrow::Cow::Owned(to);
                continue;
            }
            let (parts, incoming) = resp.into_parts();
            return Ok(Answer {
                status: parts.status,
                version: parts.version,
                headers: parts.headers,
                body: Box::pin(BodyDataStream::new(incoming).map_err(BoxError::from)),
            });
        }
    }

    /// `url` as hyper's `Uri`; the last one is kept, as nearly every request goes to one URL.
    fn uri(&self, url: &Url) -> Result<Uri, HyperError> {
        let mut last = self.last_uri.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((text, uri)) = &*last
            && &**text == url.as_str()
        {
            return Ok(uri.clone());
        }
        let uri: Uri = url.as_str().parse().map_err(|_| HyperError::Url)?;
        *last = Some((url.as_str().into(), uri.clone()));
        Ok(uri)
    }
}

/// A failure of hyper's client, in the same words as reqwest's.
fn describe_hyper_error(e: &HyperError, url: &Url) -> Failure {
    let symptoms = Symptoms {
        timeout: has_io_kind(e, std::io::ErrorKind::TimedOut),
        connect: e.is_connect(),
        redirect: matches!(e, HyperError::Redirect(_)),
        tls: is_tls_failure(e),
        cause: match e {
            HyperError::Http(_) => root_cause(e),
            other => other.to_string(),
        },
    };
    describe(&symptoms, url, None)
}

/// Whether requests to `url` would go through a proxy (the same system settings reqwest reads:
/// `HTTP_PROXY`, `HTTPS_PROXY`, `ALL_PROXY`, `NO_PROXY`, and the OS settings on macOS and
/// Windows).
fn uses_a_proxy(url: &Url) -> bool {
    let Ok(uri) = url.as_str().parse::<Uri>() else {
        return true; // let reqwest decide
    };
    hyper_util::client::proxy::matcher::Matcher::from_system()
        .intercept(&uri)
        .is_some()
}

#[cfg(test)]
mod tests {
    use super::same_origin;
    use url::Url;

    #[test]
    fn cookies_go_back_to_the_servers_own_origin_only() {
        let server = Url::parse("https://mcp.example.com/mcp").unwrap();
        let same = |u: &str| same_origin(&server, &Url::parse(u).unwrap());
        assert!(same("https://mcp.example.com/other?x=1"));
        assert!(same("https://mcp.example.com:443/mcp"));
        assert!(same("https://MCP.example.com/mcp"));
        assert!(!same("http://mcp.example.com/mcp"));
        assert!(!same("https://mcp.example.com:8443/mcp"));
        assert!(!same("https://evil.example.com/mcp"));
        assert!(!same("https://mcp.example.com.evil.net/mcp"));
    }
}
