//! The HTTP+SSE transport of MCP 2024-11-05: a GET opens an event stream whose first event,
//! `endpoint`, names the URL that takes the client's messages as POSTs; every server message
//! arrives on the stream.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use reqwest::header::{ACCEPT, CONTENT_TYPE, HeaderValue};
use tokio::task::AbortHandle;
use url::Url;

use super::ctx::{Ctx, Event, MAX_RETRIES, status_error};
use super::downgrade::{Asks, Listeners, as_modern_for};
use super::sse;
use crate::bridge::message::{Id, Kind, Message};
use crate::failure::{Failure, FailureKind};
use crate::http::{Outgoing, content_type, read_body, retry_delay};

pub struct LegacySse {
    ctx: Arc<Ctx>,
    state: Mutex<State>,
    connecting: tokio::sync::Mutex<()>,
    /// A 2026-07-28 host speaks through the bridge's own handshake (see `downgrade`).
    modern: AtomicBool,
    listeners: Arc<Listeners>,
    asks: Arc<Asks>,
}

#[derive(Default)]
struct State {
    endpoint: Option<Url>,
    generation: u64,
    initialize: Option<Message>,
    initialized: Option<Message>,
    /// The id of a replayed `initialize` whose answer the client must not see.
    swallow: Option<Id>,
    reader: Option<AbortHandle>,
    closed: bool,
    /// The bridge's own requests, waiting for their answers.
    quiet: HashMap<Id, tokio::sync::oneshot::Sender<bytes::Bytes>>,
    /// A 2026-07-28 host's requests waiting for their answers, with their methods.
    expect: HashMap<Id, Box<str>>,
}

/// At most this many of a 2026-07-28 host's requests wait for their answers at once (the
/// relay's own limit is lower).
const MAX_EXPECTED: usize = 4096;

type Body = crate::http::BodyStream;

impl LegacySse {
    pub fn new(ctx: Arc<Ctx>, listeners: Arc<Listeners>, asks: Arc<Asks>) -> Arc<LegacySse> {
        Arc::new(LegacySse {
            ctx,
            state: Mutex::new(State::default()),
            connecting: tokio::sync::Mutex::new(()),
            modern: AtomicBool::new(false),
            listeners,
            asks,
        })
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Opens the event stream and waits for the `endpoint` event. A new stream is a new
    /// session, so the client's handshake, when it has made one, is replayed on it.
    pub async fn connect(self: &Arc<Self>, deadline: Instant) -> Result<(), Failure> {
        let _one = self.connecting.lock().await;
        if self.state().endpoint.is_some() {
            return Ok(());
        }
        self.open(deadline).await?;
        let (init, initialized) = {
            let mut st = self.state();
            st.swallow = st.initialize.as_ref().and_then(|m| m.request_id().cloned());
            (st.initialize.clone(), st.initialized.clone())
        };
        for m in [init, initialized].into_iter().flatten() {
            if let PostOk::Retry = self.post(&m, deadline).await? {
                return Err(Failure::new(
                    FailureKind::Session,
                    "the server dropped the new session at once",
                ));
            }
        }
        Ok(())
    }

    async fn open(self: &Arc<Self>, deadline: Instant) -> Result<(), Failure> {
        let url = &self.ctx.http.url;
        let build = |mut headers: reqwest::header::HeaderMap| {
            headers.insert(ACCEPT, HeaderValue::from_static("text/event-stream"));
            Outgoing {
                method: reqwest::Method::GET,
                url: url.clone(),
                headers,
                body: None,
            }
        };
        let resp = self.ctx.send(build, false, deadline).await?;
        let status = resp.status().as_u16();
        if !resp.status().is_success() {
            let body = read_body(resp, 64 * 1024).await.unwrap_or_default();
            return Err(status_error(status, &body, &self.ctx));
        }
        if content_type(resp.headers()) != "text/event-stream" {
            return Err(Failure::new(
                FailureKind::Protocol,
                "the server's GET answer is not an event stream",
            ));
        }
        let mut body: Body = resp.bytes_stream();
        let mut parser = sse::Parser::new(self.ctx.max_message);
        let mut events = Vec::new();
        let endpoint = 'found: loop {
            let chunk = match tokio::time::timeout_at(deadline.into(), body.next()).await {
                Ok(Some(Ok(c))) => c,
                Ok(_) => {
                    return Err(Failure::new(
                        FailureKind::Protocol,
                        "the event stream ended before naming its message endpoint",
                    ));
                }
                Err(_) => {
                    return Err(Failure::new(
                        FailureKind::Timeout,
                        "the server did not name its message endpoint in time",
                    ));
                }
            };
            parser
                .feed(&chunk, &mut events)
                .map_err(|_| crate::http::too_large(self.ctx.max_message))?;
            let mut found = None;
            for ev in events.drain(..) {
                if found.is_none() && ev.event == "endpoint" {
                    found = Some(ev.data);
                } else if ev.is_message() {
                    self.deliver(ev.data);
                }
            }
            if let Some(data) = found {
                break 'found self.endpoint_url(&data)?;
            }
        };
        tracing::debug!(endpoint = %crate::http::redact_url(&endpoint), "HTTP+SSE stream open");
        let generation = {
            let mut st = self.state();
            st.endpoint = Some(endpoint);
            st.generation += 1;
            st.generation
        };
        let me = self.clone();
        let task = tokio::spawn(me.read(body, parser, generation));
        if let Some(old) = self.state().reader.replace(task.abort_handle()) {
            old.abort();
        }
        Ok(())
    }

    /// The POST endpoint, resolved against the stream's URL; it must stay on the same origin,
    /// since the client's credentials go there.
    fn endpoint_url(&self, data: &[u8]) -> Result<Url, Failure> {
        let text = std::str::from_utf8(data).unwrap_or("").trim();
        let url = self.ctx.http.url.join(text).map_err(|_| {
            Failure::new(
                FailureKind::Protocol,
                "the server named a message endpoint that is not a URL",
            )
        })?;
        if url.origin() != self.ctx.http.url.origin() {
            return Err(Failure::new(
                FailureKind::Protocol,
                "the server named a message endpoint on another host; mcp-valet will not send your messages and credentials there",
            ));
        }
        Ok(url)
    }

    fn deliver(&self, data: bytes::Bytes) {
        self.ctx.deliver(data, |m| {
            if self.modern.load(Ordering::Acquire) {
                return self.deliver_modern(m);
            }
            let mut st = self.state();
            match (&m.kind, &st.swallow) {
                (Kind::Response { id }, Some(s)) if id == s => {
                    st.swallow = None;
                    false
                }
                _ => true,
            }
        });
    }

    /// A server message while a 2026-07-28 host is served: answers to the bridge's own
    /// requests go to them, answers to the host's get what that revision requires, the
    /// server's requests become `input_required` rounds, and change notifications go to the
    /// host's listen requests. `false`: handled here.
    fn deliver_modern(&self, m: &Message) -> bool {
        match &m.kind {
            Kind::Response { id } => {
                let (quiet, method) = {
                    let mut st = self.state();
                    if st.swallow.as_ref() == Some(id) {
                        st.swallow = None;
                        return false;
                    }
                    (st.quiet.remove(id), st.expect.remove(id))
                };
                if let Some(tx) = quiet {
                    let _ = tx.send(m.raw.clone());
                    return false;
                }
                let Some(method) = method else { return true };
                self.asks.finish(id, as_modern_for(&method, m.raw.clone()));
                false
            }
            Kind::Request { .. } => !self.asks.server_request(m, None),
            Kind::Notification { .. } => !(self.asks.progress(m, None) || self.listeners.route(m, &self.ctx)),
            Kind::Batch { .. } => true,
        }
    }

    /// Starts the session of a 2026-07-28 host (see `downgrade`): the bridge's own
    /// `initialize`, whose answer is returned, then `notifications/initialized`. Both are
    /// replayed on a new stream, as a client's own handshake is.
    pub async fn handshake(
        self: &Arc<Self>,
        init: Message,
        initialized: Message,
        deadline: Instant,
    ) -> Result<bytes::Bytes, Failure> {
        self.connect(deadline).await?;
        self.modern.store(true, Ordering::Release);
        let answer = self.call_quiet(&init, deadline).await?;
        {
            let mut st = self.state();
            st.initialize = Some(init);
        }
        if !self.send(&initialized, deadline).await {
            return Err(Failure::new(
                FailureKind::Session,
                "the server did not take notifications/initialized",
            ));
        }
        Ok(answer)
    }

    /// A request of the bridge's own (only while a 2026-07-28 host is served); the server's
    /// answer to it, which the host never sees.
    pub async fn call_quiet(self: &Arc<Self>, msg: &Message, deadline: Instant) -> Result<bytes::Bytes, Failure> {
        let Some(id) = msg.request_id().cloned() else {
            return Err(Failure::new(FailureKind::Protocol, "not a request"));
        };
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.state().quiet.insert(id.clone(), tx);
        let sent = self.post_once(msg, deadline).await;
        let answer = match sent {
            Ok(()) => tokio::time::timeout_at(deadline.into(), rx).await,
            Err(e) => {
                self.state().quiet.remove(&id);
                return Err(e);
            }
        };
        match answer {
            Ok(Ok(a)) => Ok(a),
            Ok(Err(_)) => Err(Failure::new(
                FailureKind::ConnectionLost,
                "the server's event stream closed before it answered the bridge's request",
            )),
            Err(_) => {
                self.state().quiet.remove(&id);
                Err(Failure::new(
                    FailureKind::Timeout,
                    "the server did not answer the bridge's request in time",
                ))
            }
        }
    }

    /// Connects when needed and POSTs the message once (after a reconnection at most twice).
    async fn post_once(self: &Arc<Self>, msg: &Message, deadline: Instant) -> Result<(), Failure> {
        for _ in 0..3 {
            self.connect(deadline).await?;
            if let PostOk::Delivered = self.post(msg, deadline).await? {
                return Ok(());
            }
        }
        Err(Failure::new(
            FailureKind::Session,
            "the server keeps dropping the session; try again later",
        ))
    }

    /// [`LegacySse::send`] for a 2026-07-28 host: the answer, when it comes on the stream,
    /// gets what that revision requires of it.
    pub async fn send_for_modern(self: &Arc<Self>, msg: &Message, deadline: Instant) -> bool {
        if let Kind::Request { id, method } = &msg.kind {
            let mut st = self.state();
            if st.expect.len() < MAX_EXPECTED {
                st.expect.insert(id.clone(), method.clone());
            }
        }
        let delivered = self.send(msg, deadline).await;
        if !delivered && let Some(id) = msg.request_id() {
            self.state().expect.remove(id);
        }
        delivered
    }

    /// The host gave up on request `id` (it cancelled it): its answer is dropped.
    pub fn forget(&self, id: &Id) {
        self.state().expect.remove(id);
    }

    /// Passes on server messages until the stream ends, then reconnects.
    /// (Boxed: reading reconnects, and connecting starts a reader.)
    fn read(
        self: Arc<Self>,
        body: Body,
        parser: sse::Parser,
        generation: u64,
    ) -> std::pin::Pin<Box<dyn Future<Output = ()> + Send>> {
        Box::pin(self.read_inner(body, parser, generation))
    }

    async fn read_inner(self: Arc<Self>, mut body: Body, mut parser: sse::Parser, generation: u64) {
        let mut events = Vec::new();
        while let Some(chunk) = {
            self.ctx.backlog.room().await;
            body.next().await
        } {
            let Ok(chunk) = chunk else { break };
            if parser.feed(&chunk, &mut events).is_err() {
                tracing::warn!("the server sent an event larger than --max-message-size; reconnecting");
                break;
            }
            for ev in events.drain(..) {
                if ev.is_message() {
                    self.deliver(ev.data);
                }
            }
        }
        {
            let mut st = self.state();
            if st.closed || st.generation != generation {
                return;
            }
            st.endpoint = None;
            // Answers still due will not come on a new stream (the relay fails the host's
            // requests on ConnectionLost; the bridge's own ones see their sender dropped).
            st.quiet.clear();
            st.expect.clear();
        }
        self.asks.lost();
        tracing::warn!("the server's event stream closed; reconnecting");
        self.ctx.emit(Event::ConnectionLost);
        for attempt in 0..6u32 {
            tokio::time::sleep(Duration::from_millis(500) * (1 << attempt)).await;
            if self.state().closed {
                return;
            }
            let deadline = Instant::now() + self.ctx.request_timeout.min(Duration::from_secs(60));
            match self.connect(deadline).await {
                Ok(()) => return,
                Err(e) => tracing::debug!("reconnecting failed: {e}"),
            }
        }
        tracing::warn!("could not reconnect to the server; the next request will try again");
    }

    /// Delivers one message; the answer comes on the stream. Returns whether it was delivered.
    pub async fn send(self: &Arc<Self>, msg: &Message, deadline: Instant) -> bool {
        if msg.is_request("initialize") {
            // A new handshake replaces the old one; nothing old is replayed before it.
            let mut st = self.state();
            st.initialize = None;
            st.initialized = None;
        }
        for _ in 0..3 {
            let result = match self.connect(deadline).await {
                Ok(()) => self.post(msg, deadline).await,
                Err(e) => Err(e),
            };
            match result {
                Ok(PostOk::Delivered) => {
                    let mut st = self.state();
                    if msg.is_request("initialize") {
                        st.initialize = Some(msg.clone());
                    } else if msg.is_notification("notifications/initialized") {
                        st.initialized = Some(msg.clone());
                    }
                    return true;
                }
                Ok(PostOk::Retry) => continue,
                Err(e) => {
                    self.ctx.fail(msg, e);
                    return false;
                }
            }
        }
        self.ctx.fail(
            msg,
            Failure::new(
                FailureKind::Session,
                "the server keeps dropping the session; try again later",
            ),
        );
        false
    }

    async fn post(self: &Arc<Self>, msg: &Message, deadline: Instant) -> Result<PostOk, Failure> {
        let mut attempt = 0;
        loop {
            let Some(endpoint) = self.state().endpoint.clone() else {
                return Ok(PostOk::Retry);
            };
            let build = |mut headers: reqwest::header::HeaderMap| {
                headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
                Outgoing {
                    method: reqwest::Method::POST,
                    url: endpoint.clone(),
                    headers,
                    body: Some(msg.raw.clone()),
                }
            };
            let resp = self.ctx.send(build, false, deadline).await?;
            let status = resp.status().as_u16();
            match status {
                200..=299 => return Ok(PostOk::Delivered),
                // The session behind the endpoint is gone: reconnect and try again.
                404 | 410 => {
                    self.state().endpoint = None;
                    return Ok(PostOk::Retry);
                }
                429 | 503 if attempt < MAX_RETRIES => match retry_delay(resp.headers(), attempt) {
                    Some(wait) if Instant::now() + wait < deadline => {
                        tokio::time::sleep(wait).await;
                        attempt += 1;
                    }
                    _ => {
                        let body = read_body(resp, 64 * 1024).await.unwrap_or_default();
                        return Err(status_error(status, &body, &self.ctx));
                    }
                },
                _ => {
                    let body = read_body(resp, 64 * 1024).await.unwrap_or_default();
                    return Err(status_error(status, &body, &self.ctx));
                }
            }
        }
    }

    pub fn shutdown(&self) {
        let mut st = self.state();
        st.closed = true;
        if let Some(r) = st.reader.take() {
            r.abort();
        }
    }
}

enum PostOk {
    Delivered,
    /// Not delivered: there is no session right now; reconnect first.
    Retry,
}
