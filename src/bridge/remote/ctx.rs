//! What the transports share: the HTTP configuration and credentials, the channel to the
//! relay, the limits, and [`Ctx::send`], which authorizes a request and retries it after a
//! sign-in.

use std::time::{Duration, Instant};

use bytes::Bytes;
use reqwest::header::HeaderMap;
use tokio::sync::{OwnedRwLockWriteGuard, mpsc};

use super::credentials::Credentials;
use crate::bridge::message::{self, Id, Kind, Message, Parsed};
use crate::failure::{Failure, FailureKind};
use crate::http::{Answer, HttpConfig, Outgoing};

/// What the remote side tells the relay.
#[derive(Debug)]
pub enum Event {
    /// A message from the server for the client.
    Inbound(Message),
    /// A request failed on the way; the client must get this error for it.
    Failed { id: Id, error: Failure },
    /// The remote side is done with a message (one per `Remote::send`); `delivered` says the
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
    /// The server's messages handed to the relay and not yet written to stdout.
    pub backlog: Backlog,
}

/// At most about this many bytes of the server's messages wait for the client (past one
/// message of any size): then the bridge stops reading the server's streams, so TCP flow
/// control holds the server back while the client does not read stdout.
pub const MAX_BACKLOG: usize = 4 << 20;

/// The bytes of server messages on their way to stdout, and a wake-up for the readers waiting
/// for them to drop below `MAX_BACKLOG`.
#[derive(Default)]
pub struct Backlog {
    bytes: std::sync::atomic::AtomicUsize,
    room: tokio::sync::Notify,
}

impl Backlog {
    /// Waits until the backlog is under `MAX_BACKLOG`. Call before reading more of a stream.
    pub async fn room(&self) {
        use std::sync::atomic::Ordering;
        if self.bytes.load(Ordering::Acquire) < MAX_BACKLOG {
            return;
        }
        tracing::debug!("the client is not reading; pausing the server's stream");
        loop {
            let notified = self.room.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.bytes.load(Ordering::Acquire) < MAX_BACKLOG {
                return;
            }
            notified.await;
        }
    }

    fn added(&self, n: usize) {
        self.bytes.fetch_add(n, std::sync::atomic::Ordering::AcqRel);
    }

    /// The relay has written `n` bytes of a server message (or dropped them).
    pub fn taken(&self, n: usize) {
        let before = self.bytes.fetch_sub(n, std::sync::atomic::Ordering::AcqRel);
        if before >= MAX_BACKLOG && before - n < MAX_BACKLOG {
            self.room.notify_waiters();
        }
    }
}

/// At most this many requests wait for a server's answer headers at once. On HTTP/1.1 each
/// one needs a connection of its own (about 40 KB of buffers): like a browser's per-host limit,
/// this bounds memory without costing throughput, since a server answers the first ones
/// meanwhile. A request whose answer has started (an SSE stream) no longer counts, nor do the
/// client's notifications and answers to the server's requests.
pub const MAX_AWAITING: usize = 16;

/// How long a stream the host keeps open on purpose (a 2026-07-28 `subscriptions/listen`)
/// may last: no timeout, in effect; it ends when the host cancels it or either side closes it.
pub const STREAM_FOREVER: Duration = Duration::from_secs(10 * 365 * 24 * 3600);

impl Ctx {
    pub fn emit(&self, e: Event) {
        if let Event::Inbound(m) = &e {
            self.backlog.added(m.raw.len());
        }
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
        let mut retried = false;
        loop {
            // Room for what the transports add (Accept, Content-Type, the MCP headers, the
            // token): the map is made once, not grown while they go in.
            let mut headers = HeaderMap::with_capacity(self.http.headers.len() + 8);
            headers.extend(self.http.headers.iter().map(|(k, v)| (k.clone(), v.clone())));
            let generation = self.credentials.apply(&mut headers).await?;
            let waiting = async {
                let _turn = if queued {
                    self.awaiting.acquire().await.ok()
                } else {
                    None
                };
                self.http.relay.send(build(headers)).await
            };
            let resp = match tokio::time::timeout_at(deadline.into(), waiting).await {
                Ok(Ok(r)) => r,
                // After a sign-in (which may take minutes) a pooled connection may have been
                // closed by the server as we reused it; the server has not acted on a request
                // it answered 401/403, so one more try is safe.
                Ok(Err(failure)) if failure.kind == FailureKind::Network && rounds > 0 && !retried => {
                    retried = true;
                    continue;
                }
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
}

/// The order in which messages reach the server: lifecycle messages (and anything sent
/// before the transport is known) go alone; the rest go concurrently.
pub enum Permit {
    Shared,
    Exclusive(#[allow(dead_code)] OwnedRwLockWriteGuard<()>),
}

/// Retries of one message after a 429 or 503.
pub const MAX_RETRIES: u32 = 4;

/// Added to a 400 when the client sent no `initialize` (a hand-made pipeline, say).
pub const NOT_INITIALIZED: &str = ". No `initialize` was sent: an MCP session starts with `initialize` and \
     `notifications/initialized`, so send initialize first";

/// The error for an HTTP status that ends an exchange, with what to try.
pub fn status_error(status: u16, body: &[u8], ctx: &Ctx) -> Failure {
    let host = ctx.http.url.host_str().unwrap_or("the server").to_owned();
    let detail = crate::http::body_detail(body);
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
