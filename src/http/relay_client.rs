//! The bridge's own requests (the messages it relays, the event streams it listens to, the
//! session's end) over hyper's pooled client, without reqwest's layers on top.
//!
//! reqwest stays the client of everything else (discovery, sign-in, token requests). For the
//! relay its per-request machinery — a redirect layer that parses the request URL again for
//! every response, a second pool key, boxed futures — was about a fifth of mcp-valet's CPU time
//! per relayed call (the benchmark driver, same server, alternating binaries: SSE answers
//! 89–99 → 77–83 µs per call, JSON answers 70–95 → 63–67 µs).
//!
//! What this path keeps the same: the rustls configuration (HTTP/2 by ALPN, the OS trust store
//! plus `--ca-file`), the connect timeout, TCP_NODELAY, idle connections kept 90 s, the
//! `User-Agent`, and the redirect rule (307/308 on the same origin only). It is only used where
//! no proxy applies (`uses_a_proxy`); behind a proxy, requests go through reqwest, which speaks
//! to proxies. Failures are described by `crate::http::describe_wire_error`, in the same words
//! as reqwest's.

use std::pin::Pin;
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
pub enum WireError {
    /// Connecting, TLS, or the HTTP exchange itself.
    Http(hyper_util::client::legacy::Error),
    /// A redirect we do not follow (another host, https → http, too many).
    Redirect(String),
    /// The URL cannot be made into a request URI.
    Url,
}

impl WireError {
    pub fn is_connect(&self) -> bool {
        matches!(self, WireError::Http(e) if e.is_connect())
    }
}

impl std::fmt::Display for WireError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            WireError::Http(_) => f.write_str("the HTTP exchange failed"),
            WireError::Redirect(why) => f.write_str(why),
            WireError::Url => f.write_str("the URL cannot be requested"),
        }
    }
}

impl std::error::Error for WireError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            WireError::Http(e) => Some(e),
            _ => None,
        }
    }
}

/// hyper's pooled client with our TLS configuration.
#[derive(Clone)]
pub struct Wire {
    client: Client<HttpsConnector<HttpConnector>, Full<Bytes>>,
}

impl std::fmt::Debug for Wire {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Wire").finish_non_exhaustive()
    }
}

impl Wire {
    pub fn new(mut tls: rustls::ClientConfig, connect_timeout: Duration) -> Wire {
        tls.alpn_protocols.clear(); // the builder sets h2 and http/1.1 itself
        let mut http = HttpConnector::new();
        http.enforce_http(false);
        http.set_nodelay(true);
        http.set_connect_timeout(Some(connect_timeout));
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_or_http()
            .enable_http1()
            .enable_http2()
            .wrap_connector(http);
        let client = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(90))
            .pool_timer(TokioTimer::new())
            .timer(TokioTimer::new())
            .build(https);
        Wire { client }
    }

    /// Sends `out`, following 307/308 redirects under `crate::http::redirect_refusal`.
    pub async fn send(&self, out: Outgoing) -> Result<Answer, WireError> {
        let Outgoing {
            method,
            mut url,
            mut headers,
            body,
        } = out;
        if !headers.contains_key(USER_AGENT) {
            headers.insert(USER_AGENT, HeaderValue::from_static(crate::http::USER_AGENT));
        }
        let body = body.unwrap_or_default();
        let first = url.clone();
        let mut hops = 0;
        loop {
            let uri: Uri = url.as_str().parse().map_err(|_| WireError::Url)?;
            let mut req = hyper::Request::new(Full::new(body.clone()));
            *req.method_mut() = method.clone();
            *req.uri_mut() = uri;
            *req.headers_mut() = headers.clone();
            let resp = self.client.request(req).await.map_err(WireError::Http)?;
            let status = resp.status();
            if matches!(status.as_u16(), 307 | 308)
                && let Some(to) = resp
                    .headers()
                    .get(LOCATION)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|l| url.join(l).ok())
            {
                hops += 1;
                if let Some(why) = crate::http::redirect_refusal(&first, &to, hops) {
                    return Err(WireError::Redirect(why));
                }
                url = to;
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
}

/// Whether requests to `url` would go through a proxy (the same system settings reqwest reads:
/// `HTTP_PROXY`, `HTTPS_PROXY`, `ALL_PROXY`, `NO_PROXY`, and the OS settings on macOS and
/// Windows).
pub fn uses_a_proxy(url: &Url) -> bool {
    let Ok(uri) = url.as_str().parse::<Uri>() else {
        return true; // let reqwest decide
    };
    hyper_util::client::proxy::matcher::Matcher::from_system()
        .intercept(&uri)
        .is_some()
}
