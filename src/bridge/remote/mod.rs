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

pub use crate::http::{Answer, Outgoing};

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
                self.http.relay.send(build(headers)).await
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

/// Retries of one message after a 429 or 503.
pub const MAX_RETRIES: u32 = 4;

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
