//! The remote side of the bridge, behind one seam: the relay hands every client message to
//! [`Remote::send`] (after [`Remote::admit`] has put it in order) and receives everything the
//! server says as [`Event`]s. The transports (Streamable HTTP, legacy HTTP+SSE) live behind
//! this seam; another protocol revision is another transport here, and the stdio side does
//! not change.

mod credentials;
mod legacy_sse;
mod sse;
mod streamable;

use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use bytes::Bytes;
use reqwest::header::HeaderMap;
use tokio::sync::{OwnedRwLockWriteGuard, RwLock, mpsc};

use crate::bridge::message::{self, Id, Kind, Message, Parsed};
use crate::cli::TransportChoice;
use crate::failure::{Failure, FailureKind};
use crate::http::HttpConfig;

pub use crate::http::relay_client::{Answer, Outgoing};

pub use credentials::Credentials;
use legacy_sse::LegacySse;
use streamable::Streamable;

/// What the remote side tells the relay.
#[derive(Debug)]
pub enum Event {
    /// A message from the server for the client.
    Inbound(Message),
    /// A request failed on the way; the client must get this error for it.
    Failed { id: Id, error: Failure },
    /// The remote side is done with a message (one per [`Remote::send`]); `delivered` says the
    /// server accepted it.
    Done { id: Option<Id>, delivered: bool },
    /// The HTTP+SSE stream broke: answers to requests already delivered will not come.
    ConnectionLost,
}

pub type Events = mpsc::UnboundedSender<Event>;

/// What the transports share.
pub struct Ctx {
    pub http: HttpConfig,
    pub credentials: Credentials,
    pub events: Events,
    pub max_message: usize,
    /// Bounds the bridge's own exchanges (re-initialisation, connecting the SSE stream).
    pub request_timeout: Duration,
    /// Bounds one response stream, however long it keeps reporting progress.
    pub max_request_time: Duration,
    /// Requests waiting for the server's answer headers at once (see `MAX_AWAITING`).
    pub awaiting: tokio::sync::Semaphore,
}

/// At most this many requests wait for a server's answer headers at once. On HTTP/1.1 each
/// one needs a connection of its own (about 40 KB of buffers): like a browser's per-host limit,
/// this bounds memory without costing throughput, since a server answers the first ones
/// meanwhile. A request whose answer has started (an SSE stream) no longer counts, nor do the
/// client's notifications and answers to the server's requests.
pub const MAX_AWAITING: usize = 16;

impl Ctx {
    pub fn emit(&self, e: Event) {
        // The relay outlives every transport task; a send fails only during shutdown.
        let _ = self.events.send(e);
    }

    /// Reports a failure for whatever in `msg` awaits an answer.
    pub fn fail(&self, msg: &Message, error: Failure) {
        match &msg.kind {
            Kind::Request { id, .. } => self.emit(Event::Failed { id: id.clone(), error }),
            Kind::Batch { ids } => {
                for id in ids {
                    self.emit(Event::Failed {
                        id: id.clone(),
                        error: error.clone(),
                    })
                }
            }
            Kind::Notification { method } => {
                tracing::warn!(
                    method = &**method,
                    "could not deliver a notification to the server: {error}"
                )
            }
            Kind::Response { id } => {
                tracing::warn!(%id, "could not deliver the client's response to the server: {error}")
            }
        }
    }

    /// Parses what the server sent (one message or a batch) and passes on every message for
    /// which `keep` says yes.
    pub fn deliver(&self, raw: Bytes, mut keep: impl FnMut(&Message) -> bool) {
        let items = match message::parse(message::one_line(raw)) {
            Ok(Parsed::Single(m)) => vec![Ok(m)],
            Ok(Parsed::Batch { items, .. }) => items,
            Err(e) => vec![Err(e)],
        };
        for m in items {
            match m {
                Ok(m) if keep(&m) => self.emit(Event::Inbound(m)),
                Ok(_) => {}
                Err(e) => tracing::warn!("ignoring a message from the server that is not JSON-RPC: {e}"),
            }
        }
    }

    /// Sends one request to the MCP server with our credentials. On a 401 (or a 403 for
    /// missing scopes) it signs in, refreshes or asks for more scopes, then sends again; the
    /// client's request simply waits meanwhile. A 401 is never a reason to change transport.
    /// `queued`: the request takes a turn among `MAX_AWAITING` (POSTs of client requests do;
    /// notifications and the client's answers, which a waiting request may depend on, never wait).
    pub async fn send(
        &self,
        build: impl Fn(HeaderMap) -> Outgoing,
        queued: bool,
        deadline: Instant,
    ) -> Result<Answer, Failure> {
        let mut rounds = 0u32;
        loop {
            let mut headers = self.http.headers.clone();
            let generation = self.credentials.apply(&mut headers).await?;
            let waiting = async {
                let _turn = if queued {
                    self.awaiting.acquire().await.ok()
                } else {
                    None
                };
                self.exchange(build(headers)).await
            };
            let resp = match tokio::time::timeout_at(deadline.into(), waiting).await {
                Ok(Ok(r)) => r,
                Ok(Err(failure)) => return Err(failure),
                Err(_) => {
                    return Err(Failure::new(
                        FailureKind::Timeout,
                        format!(
                            "{} did not answer in time",
                            self.http.url.host_str().unwrap_or("the server")
                        ),
                    ));
                }
            };
            let status = resp.status().as_u16();
            tracing::trace!(status, version = ?resp.version(), with_token = generation.is_some(), "HTTP answer");
            if status == 401 && rounds < 3 {
                rounds += 1;
                self.credentials
                    .on_unauthorized(&self.http, resp.headers(), generation)
                    .await?;
                continue;
            }
            if status == 403 && rounds < 4 && self.credentials.on_forbidden(resp.headers(), generation).await? {
                rounds += 1;
                continue;
            }
            if generation.is_some() && resp.status().is_success() {
                self.credentials.succeeded();
            }
            return Ok(resp);
        }
    }

    /// One HTTP exchange: through hyper's client where no proxy applies, else through reqwest.
    async fn exchange(&self, out: Outgoing) -> Result<Answer, Failure> {
        if let Some(wire) = &self.http.wire {
            return wire
                .send(out)
                .await
                .map_err(|e| crate::http::describe_wire_error(&e, &self.http.url));
        }
        let mut rb = self.http.client.request(out.method, out.url).headers(out.headers);
        if let Some(body) = out.body {
            rb = rb.body(body);
        }
        rb.send()
            .await
            .map(Answer::from_reqwest)
            .map_err(|e| crate::http::describe_error(&e, &self.http.url, None))
    }
}

/// The order in which messages reach the server: lifecycle messages (and anything sent
/// before the transport is known) go alone; the rest go concurrently.
pub enum Permit {
    Shared,
    Exclusive(#[allow(dead_code)] OwnedRwLockWriteGuard<()>),
}

enum Active {
    Streamable,
    Sse,
}

pub struct Remote {
    ctx: Arc<Ctx>,
    choice: TransportChoice,
    active: OnceLock<Active>,
    gate: Arc<RwLock<()>>,
    streamable: Arc<Streamable>,
    legacy: Arc<LegacySse>,
}

impl Remote {
    pub fn new(ctx: Ctx, choice: TransportChoice) -> Arc<Remote> {
        let ctx = Arc::new(ctx);
        let active = OnceLock::new();
        if choice == TransportChoice::Sse {
            let _ = active.set(Active::Sse);
        }
        Arc::new(Remote {
            streamable: Streamable::new(ctx.clone()),
            legacy: LegacySse::new(ctx.clone()),
            ctx,
            choice,
            active,
            gate: Arc::new(RwLock::new(())),
        })
    }

    fn exclusive(&self, msg: &Message) -> bool {
        let lifecycle = msg.is_request("initialize") || msg.is_notification("notifications/initialized");
        self.active.get().is_none() || lifecycle
    }

    /// Waits for this message's turn. Call in the order the client sent the messages.
    pub async fn admit(&self, msg: &Message) -> Permit {
        if self.exclusive(msg) {
            Permit::Exclusive(self.gate.clone().write_owned().await)
        } else {
            drop(self.gate.read().await);
            Permit::Shared
        }
    }

    /// The message's turn if it is free right now.
    pub fn try_admit(&self, msg: &Message) -> Option<Permit> {
        if self.exclusive(msg) {
            self.gate.clone().try_write_owned().ok().map(Permit::Exclusive)
        } else {
            self.gate.try_read().ok().map(|_| Permit::Shared)
        }
    }

    /// Whether the server takes JSON-RPC batches (MCP 2025-03-26 only).
    pub fn accepts_batches(&self) -> bool {
        matches!(self.active.get(), Some(Active::Streamable)) && self.streamable.accepts_batches()
    }

    /// Delivers one message; failures come back as events, and one `Done` always follows.
    pub async fn send(self: Arc<Self>, msg: Message, permit: Permit) {
        let mut done = DoneGuard {
            ctx: &self.ctx,
            id: msg.request_id().cloned(),
            delivered: false,
        };
        let deadline = Instant::now() + self.ctx.request_timeout;
        done.delivered = match self.active.get() {
            Some(Active::Sse) => self.legacy.send(&msg, deadline).await,
            Some(Active::Streamable) => self.streamable.send(&msg, permit, deadline, false).await.delivered(),
            None => self.probe(msg.clone(), permit, deadline).await,
        };
    }

    /// The first exchange with a server in `auto` mode: Streamable HTTP, then HTTP+SSE when the
    /// answer is 400, 404 or 405.
    async fn probe(&self, msg: Message, permit: Permit, deadline: Instant) -> bool {
        let probing = self.choice == TransportChoice::Auto;
        match self.streamable.send(&msg, permit, deadline, probing).await {
            streamable::Outcome::Delivered => {
                let _ = self.active.set(Active::Streamable);
                true
            }
            streamable::Outcome::Failed => false,
            streamable::Outcome::NotStreamable(err) => match self.legacy.connect(deadline).await {
                Ok(()) => {
                    tracing::info!("the server does not speak Streamable HTTP; using the HTTP+SSE transport");
                    let _ = self.active.set(Active::Sse);
                    self.legacy.send(&msg, deadline).await
                }
                Err(sse_err) => {
                    tracing::debug!("HTTP+SSE fallback failed too: {sse_err}");
                    self.ctx.fail(&msg, err);
                    false
                }
            },
        }
    }

    /// Ends the session: closes streams and, for Streamable HTTP, sends DELETE.
    pub async fn shutdown(&self) {
        match self.active.get() {
            Some(Active::Streamable) => self.streamable.shutdown().await,
            Some(Active::Sse) => self.legacy.shutdown(),
            None => {}
        }
    }
}

struct DoneGuard<'a> {
    ctx: &'a Ctx,
    id: Option<Id>,
    delivered: bool,
}

impl Drop for DoneGuard<'_> {
    fn drop(&mut self) {
        self.ctx.emit(Event::Done {
            id: self.id.take(),
            delivered: self.delivered,
        });
    }
}

/// Longest a `Retry-After` may ask us to wait before we give up instead.
const MAX_RETRY_WAIT: Duration = Duration::from_secs(60);
pub const MAX_RETRIES: u32 = 4;

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

/// A short, safe excerpt of an error body: the JSON-RPC error message when there is one,
/// else the start of a text body. Never more than 300 characters.
pub fn body_detail(body: &[u8]) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct E {
        error: Option<Inner>,
        error_description: Option<String>,
        message: Option<String>,
    }
    #[derive(serde::Deserialize)]
    #[serde(untagged)]
    enum Inner {
        Rpc { message: String },
        Text(String),
    }
    let text = if let Ok(e) = serde_json::from_slice::<E>(body) {
        match (e.error, e.error_description, e.message) {
            (Some(Inner::Rpc { message }), _, _) => message,
            (Some(Inner::Text(code)), Some(desc), _) => format!("{code}: {desc}"),
            (Some(Inner::Text(code)), None, _) => code,
            (None, _, Some(m)) => m,
            _ => return None,
        }
    } else {
        let s = String::from_utf8_lossy(body);
        if s.trim_start().starts_with('<') {
            return None; // an HTML page says nothing useful in one line
        }
        s.into_owned()
    };
    let text: String = text.chars().filter(|c| !c.is_control()).take(300).collect();
    let text = text.trim().to_owned();
    (!text.is_empty()).then_some(text)
}

/// The error for an HTTP status that ends an exchange, with what to try.
pub fn status_error(status: u16, body: &[u8], ctx: &Ctx) -> Failure {
    let host = ctx.http.url.host_str().unwrap_or("the server").to_owned();
    let detail = body_detail(body);
    let msg = match status {
        400 => format!("{host} rejected the message as a bad request (HTTP 400)"),
        401 => return ctx.credentials.rejected(&ctx.http),
        403 => format!("{host} refused access (HTTP 403). Your account may lack the permission or scope this needs"),
        404 => format!(
            "{host} has no MCP endpoint at {} (HTTP 404). Check the URL; MCP endpoints often end in /mcp, or /sse for older servers",
            crate::http::redact_url(&ctx.http.url)
        ),
        405 => format!(
            "{host} does not accept this HTTP method at this URL (HTTP 405). Check the URL, or try --transport sse"
        ),
        408 | 504 => format!("{host} or a gateway in front of it timed out (HTTP {status}). Try again"),
        413 => format!("the message was too large for {host} (HTTP 413)"),
        429 => {
            format!("{host} is rate-limiting requests (HTTP 429) and the retries ran out. Wait a little and try again")
        }
        500..=599 => format!("{host} failed with HTTP {status}. This is a server-side problem; try again later"),
        _ => format!("{host} answered with HTTP {status}"),
    };
    Failure::new(FailureKind::Http, msg)
        .with_status(status)
        .with_detail(detail)
}

/// Reads a whole body, refusing one larger than `max`.
pub async fn read_body(resp: Answer, max: usize) -> Result<Bytes, Failure> {
    use futures_util::StreamExt;
    let announced = resp.content_length().map(|n| n as usize);
    if announced.is_some_and(|n| n > max) {
        return Err(too_large(max));
    }
    let broke = |e: crate::http::relay_client::BoxError| {
        Failure::new(FailureKind::Network, format!("the server's answer broke off ({e})"))
    };
    let mut stream = resp.bytes_stream();
    // A body in one chunk (the usual case) is passed on as it is, without a copy.
    let Some(first) = stream.next().await.transpose().map_err(broke)? else {
        return Ok(Bytes::new());
    };
    let Some(second) = stream.next().await.transpose().map_err(broke)? else {
        return if first.len() > max {
            Err(too_large(max))
        } else {
            Ok(first)
        };
    };
    // Else one buffer of the announced size (no growing by doubling).
    let mut buf = bytes::BytesMut::with_capacity(announced.unwrap_or(0).max(first.len() + second.len()));
    buf.extend_from_slice(&first);
    buf.extend_from_slice(&second);
    drop((first, second));
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(broke)?;
        if buf.len() + chunk.len() > max {
            return Err(too_large(max));
        }
        buf.extend_from_slice(&chunk);
    }
    if buf.len() > max {
        return Err(too_large(max));
    }
    Ok(buf.freeze())
}

pub fn too_large(max: usize) -> Failure {
    Failure::new(
        FailureKind::TooLarge,
        format!(
            "the server's message is larger than the limit of {max} bytes; raise --max-message-size if this is expected"
        ),
    )
}

/// The media type of a response, lower-case, without parameters.
pub fn content_type(headers: &HeaderMap) -> String {
    headers
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.split(';').next().unwrap_or("").trim().to_ascii_lowercase())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::{HeaderValue, RETRY_AFTER};

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

    #[test]
    fn body_details_are_short_and_plain() {
        assert_eq!(
            body_detail(
                br#"{"jsonrpc":"2.0","error":{"code":-32000,"message":"Bad Request: No valid session ID"},"id":null}"#
            )
            .as_deref(),
            Some("Bad Request: No valid session ID")
        );
        assert_eq!(
            body_detail(br#"{"error":"invalid_token","error_description":"expired"}"#).as_deref(),
            Some("invalid_token: expired")
        );
        assert_eq!(body_detail(b"<html><body>502</body></html>"), None);
        assert_eq!(body_detail(&[b'x'; 1000]).unwrap().len(), 300);
        assert_eq!(body_detail(b""), None);
    }
}
