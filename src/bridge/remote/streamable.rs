//! Streamable HTTP, MCP 2025-03-26 to 2025-11-25: one POST per message, JSON or SSE answers,
//! the session id, the protocol version header, the optional GET stream, resumption with
//! `Last-Event-ID`, and a new session (replaying the client's `initialize`) when the server
//! forgets the old one.

use std::borrow::Cow;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use reqwest::Method;
use reqwest::header::{ACCEPT, CONTENT_TYPE, HeaderMap, HeaderValue};
use tokio::task::AbortHandle;

use super::ctx::{Ctx, MAX_RETRIES, Permit, status_error};
use super::sse;
use crate::bridge::message::{Id, Kind, Message};
use crate::failure::{Failure, FailureKind};
use crate::http::{Answer, Outgoing, content_type, read_body, retry_delay};

const SESSION_HEADER: &str = "mcp-session-id";
const VERSION_HEADER: &str = "mcp-protocol-version";
const LAST_EVENT_ID: &str = "last-event-id";
const ACCEPT_BOTH: &str = "application/json, text/event-stream";
/// Reconnection delay when the server did not set `retry:`.
const DEFAULT_RETRY: Duration = Duration::from_secs(1);
/// Attempts to resume one broken response stream without receiving anything.
const RESUME_ATTEMPTS: u32 = 5;

pub enum Outcome {
    Delivered,
    Failed,
    /// The server answered 400, 404 or 405 to the first message: maybe an HTTP+SSE server.
    NotStreamable(Failure),
}

impl Outcome {
    pub fn delivered(&self) -> bool {
        matches!(self, Outcome::Delivered)
    }
}

pub struct Streamable {
    ctx: Arc<Ctx>,
    /// A 2026-07-28 host's listen requests, for the server's change notifications.
    pub listeners: Arc<super::downgrade::Listeners>,
    /// A 2026-07-28 host's requests the server may ask questions about.
    pub asks: Arc<super::downgrade::Asks>,
    state: Mutex<State>,
    renewing: tokio::sync::Mutex<()>,
}

#[derive(Default)]
struct State {
    session: Option<HeaderValue>,
    version: Option<HeaderValue>,
    /// Changes whenever a session starts; tells stale attempts apart.
    generation: u64,
    /// The client's own `initialize` and `notifications/initialized`, replayed for a new session.
    initialize: Option<Message>,
    initialized: Option<Message>,
    listener: Option<AbortHandle>,
    closed: bool,
}

#[derive(Clone)]
struct Snapshot {
    session: Option<HeaderValue>,
    version: Option<HeaderValue>,
    generation: u64,
}

#[derive(PartialEq, Eq)]
enum Renewal {
    /// The server forgot the session.
    Expired,
    /// A handshake made before (or by) the bridge starts the session.
    Adopt,
}

enum PostError {
    Failed(Failure),
    NotStreamable(Failure),
}

/// What reading one response does with the messages in it.
struct Reading<'a> {
    /// The request whose response this stream must carry.
    awaited: Option<&'a Id>,
    found: bool,
    /// Reading the answer to `initialize`: note the protocol version, then let others go.
    init: bool,
    /// Keep the awaited response to ourselves (a replayed `initialize`); it is put in `kept`.
    swallow: bool,
    kept: Option<bytes::Bytes>,
    permit: Option<Permit>,
}

impl Streamable {
    pub fn new(ctx: Arc<Ctx>) -> Arc<Streamable> {
        Arc::new(Streamable {
            asks: Arc::new(super::downgrade::Asks::new(ctx.clone())),
            ctx,
            listeners: Arc::default(),
            state: Mutex::new(State::default()),
            renewing: tokio::sync::Mutex::new(()),
        })
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn snapshot(&self) -> Snapshot {
        let st = self.state();
        Snapshot {
            session: st.session.clone(),
            version: st.version.clone(),
            generation: st.generation,
        }
    }

    pub fn accepts_batches(&self) -> bool {
        self.state().version.as_ref().is_some_and(|v| v == "2025-03-26")
    }

    pub async fn send(self: &Arc<Self>, msg: &Message, permit: Permit, deadline: Instant, probing: bool) -> Outcome {
        self.send_as(msg, permit, deadline, probing, false).await
    }

    /// [`Streamable::send`] for a 2026-07-28 host: the answer's `result` gets what that revision
    /// requires of it (see `downgrade::as_modern`).
    pub async fn send_for_modern(self: &Arc<Self>, msg: &Message, permit: Permit, deadline: Instant) -> Outcome {
        self.send_as(msg, permit, deadline, false, true).await
    }

    async fn send_as(
        self: &Arc<Self>,
        msg: &Message,
        permit: Permit,
        deadline: Instant,
        probing: bool,
        modern: bool,
    ) -> Outcome {
        if msg.is_request("initialize") {
            // A new handshake starts a new session.
            let mut st = self.state();
            st.initialize = Some(msg.clone());
            st.initialized = None;
            st.session = None;
            st.version = None;
            st.generation += 1;
            if let Some(l) = st.listener.take() {
                l.abort();
            }
        } else if msg.is_notification("notifications/initialized") {
            self.state().initialized = Some(msg.clone());
        }
        match self.post(msg, permit, deadline, probing, modern).await {
            Ok(()) => {
                if msg.is_notification("notifications/initialized") {
                    self.start_listener();
                }
                Outcome::Delivered
            }
            Err(PostError::NotStreamable(e)) => Outcome::NotStreamable(e),
            Err(PostError::Failed(e)) => {
                self.ctx.fail(msg, e);
                Outcome::Failed
            }
        }
    }

    /// POSTs a message and reads its answer. `Ok` means the server accepted it; a failure
    /// while reading the answer has already been reported.
    async fn post(
        self: &Arc<Self>,
        msg: &Message,
        permit: Permit,
        deadline: Instant,
        probing: bool,
        modern: bool,
    ) -> Result<(), PostError> {
        let mut permit = Some(permit);
        let mut renewed = false;
        let mut attempt = 0;
        loop {
            let snap = self.snapshot();
            let resp = self.exchange(msg, &snap, deadline).await.map_err(PostError::Failed)?;
            let status = resp.status().as_u16();
            match status {
                200..=299 => {
                    let init = msg.is_request("initialize");
                    if init {
                        self.begin_session(resp.headers(), snap.generation);
                    } else {
                        permit = None;
                    }
                    let mut reading = Reading {
                        awaited: msg.request_id(),
                        found: false,
                        init,
                        swallow: modern,
                        kept: None,
                        permit,
                    };
                    if let Err(e) = self.read_answer(msg, resp, &mut reading, deadline).await {
                        self.ctx.fail(msg, e);
                    }
                    if let (Some(answer), Some(id)) = (reading.kept.take(), msg.request_id()) {
                        self.asks.finish(id, super::downgrade::as_modern(msg, answer));
                    }
                    return Ok(());
                }
                404 if snap.session.is_some() && !renewed => {
                    tracing::info!("the server ended the MCP session; starting a new one");
                    self.renew(snap.generation, deadline, Renewal::Expired)
                        .await
                        .map_err(PostError::Failed)?;
                    renewed = true;
                }
                429 | 503 if attempt < MAX_RETRIES => match retry_delay(resp.headers(), attempt) {
                    Some(wait) if Instant::now() + wait < deadline => {
                        tracing::info!(
                            status,
                            "the server is busy; retrying in {}",
                            crate::util::human_duration(wait)
                        );
                        drop(resp);
                        tokio::time::sleep(wait).await;
                        attempt += 1;
                    }
                    _ => return Err(PostError::Failed(self.status_error(resp).await)),
                },
                400 | 404 | 405 if probing => return Err(PostError::NotStreamable(self.status_error(resp).await)),
                _ => return Err(PostError::Failed(self.status_error(resp).await)),
            }
        }
    }

    async fn status_error(&self, resp: Answer) -> Failure {
        let status = resp.status().as_u16();
        let body = read_body(resp, 64 * 1024).await.unwrap_or_default();
        let mut failure = status_error(status, &body, &self.ctx);
        if status == 400 && self.state().initialize.is_none() {
            failure.message.push_str(super::ctx::NOT_INITIALIZED);
        }
        failure
    }

    /// One HTTP request carrying the session's headers (and credentials).
    async fn request(
        &self,
        method: Method,
        snap: &Snapshot,
        last_event_id: Option<&str>,
        body: Option<&Message>,
        deadline: Instant,
    ) -> Result<Answer, Failure> {
        let last_event_id = last_event_id.and_then(|id| HeaderValue::from_str(id).ok());
        let build = |mut headers: HeaderMap| {
            if let Some(s) = &snap.session {
                headers.insert(SESSION_HEADER, s.clone());
            }
            if let Some(v) = &snap.version {
                headers.insert(VERSION_HEADER, v.clone());
            }
            if let Some(id) = &last_event_id {
                headers.insert(LAST_EVENT_ID, id.clone());
            }
            let body = match body {
                Some(msg) => {
                    headers.insert(ACCEPT, HeaderValue::from_static(ACCEPT_BOTH));
                    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
                    Some(msg.raw.clone())
                }
                None => {
                    headers.insert(ACCEPT, HeaderValue::from_static("text/event-stream"));
                    None
                }
            };
            Outgoing {
                method: method.clone(),
                url: self.ctx.http.url.clone(),
                headers,
                body,
            }
        };
        let queued = body.is_some_and(|m| matches!(m.kind, Kind::Request { .. } | Kind::Batch { .. }));
        self.ctx.send(build, queued, deadline).await
    }

    async fn exchange(&self, msg: &Message, snap: &Snapshot, deadline: Instant) -> Result<Answer, Failure> {
        self.request(Method::POST, snap, None, Some(msg), deadline).await
    }

    fn begin_session(&self, headers: &HeaderMap, generation: u64) {
        let mut st = self.state();
        if st.generation != generation {
            return;
        }
        st.session = headers
            .get(SESSION_HEADER)
            .filter(|v| !v.is_empty() && v.as_bytes().iter().all(|b| (0x21..=0x7e).contains(b)))
            .cloned()
            .map(|mut v| {
                v.set_sensitive(true);
                v
            });
        st.generation += 1;
        tracing::debug!(session = st.session.is_some(), "MCP session started");
    }

    /// Reads the answer to a POST: a JSON body, an SSE stream (resumed when it breaks), or nothing.
    async fn read_answer(
        &self,
        msg: &Message,
        resp: Answer,
        reading: &mut Reading<'_>,
        deadline: Instant,
    ) -> Result<(), Failure> {
        let status = resp.status().as_u16();
        let ct = content_type(resp.headers());
        if ct == "text/event-stream" {
            return self.read_stream(resp, reading, deadline).await;
        }
        let body = match tokio::time::timeout_at(deadline.into(), read_body(resp, self.ctx.max_message)).await {
            Ok(body) => body?,
            Err(_) => {
                return Err(Failure::new(
                    FailureKind::Timeout,
                    "the server's answer stopped arriving before it was complete",
                ));
            }
        };
        let empty = body.iter().all(u8::is_ascii_whitespace);
        if empty {
            if reading.awaited.is_some() || matches!(msg.kind, Kind::Batch { .. }) {
                return Err(Failure::new(
                    FailureKind::Protocol,
                    format!("the server accepted the request (HTTP {status}) but sent no answer to it"),
                ));
            }
            return Ok(());
        }
        if ct != "application/json" && !ct.is_empty() {
            let hint = if ct == "text/html" {
                ": a web page, not an MCP endpoint. Check the URL"
            } else {
                ""
            };
            return Err(Failure::new(
                FailureKind::Protocol,
                format!("the server answered with {ct} instead of JSON-RPC{hint}"),
            ));
        }
        self.deliver(body, reading);
        if reading.awaited.is_some() && !reading.found {
            return Err(Failure::new(
                FailureKind::Protocol,
                "the server's answer did not contain a response to this request",
            ));
        }
        Ok(())
    }

    fn deliver(&self, raw: bytes::Bytes, reading: &mut Reading<'_>) {
        self.ctx.deliver(raw, |m| {
            let awaited = matches!((&m.kind, reading.awaited), (Kind::Response { id }, Some(a)) if id == a);
            if !awaited {
                if let Kind::Request { .. } = m.kind {
                    return !self.asks.server_request(m, reading.awaited);
                }
                // (`swallow`: a 2026-07-28 host's request; the old path does not look.)
                if reading.swallow && self.asks.progress(m, reading.awaited) {
                    return false;
                }
                return !self.listeners.route(m, &self.ctx);
            }
            reading.found = true;
            if reading.init {
                self.note_version(m);
                reading.permit = None;
            }
            if reading.swallow {
                reading.kept = Some(m.raw.clone());
            }
            !reading.swallow
        });
    }

    fn note_version(&self, m: &Message) {
        #[derive(serde::Deserialize)]
        struct Resp<'a> {
            #[serde(borrow)]
            result: Option<Res<'a>>,
        }
        #[derive(serde::Deserialize)]
        struct Res<'a> {
            #[serde(rename = "protocolVersion", borrow)]
            protocol_version: Option<Cow<'a, str>>,
        }
        let version = serde_json::from_slice::<Resp>(&m.raw)
            .ok()
            .and_then(|r| r.result)
            .and_then(|r| r.protocol_version)
            .and_then(|v| HeaderValue::from_str(&v).ok());
        tracing::debug!(version = ?version, "protocol version negotiated");
        self.state().version = version;
    }

    /// Reads an SSE response until the awaited response arrives and the stream ends; resumes
    /// with GET and `Last-Event-ID` (after the server's `retry` delay) when it breaks first.
    async fn read_stream(&self, resp: Answer, reading: &mut Reading<'_>, deadline: Instant) -> Result<(), Failure> {
        let mut parser = sse::Parser::new(self.ctx.max_message);
        let mut resp = resp;
        let mut attempts = 0;
        let hard_stop = Instant::now() + self.ctx.max_request_time;
        loop {
            let got = self.pump(resp, &mut parser, reading, hard_stop).await?;
            if reading.found || reading.awaited.is_none() {
                return Ok(());
            }
            attempts = if got { 1 } else { attempts + 1 };
            let Some(last) = parser.last_event_id().map(str::to_owned) else {
                return Err(Failure::new(
                    FailureKind::Stream,
                    "the server closed the response stream before answering, and gave no event id to resume it with. Try again",
                ));
            };
            let wait = parser.retry().unwrap_or(DEFAULT_RETRY);
            if attempts > RESUME_ATTEMPTS || Instant::now() + wait > hard_stop {
                return Err(Failure::new(
                    FailureKind::Stream,
                    "the response stream kept breaking before the answer arrived. Try again",
                ));
            }
            tracing::debug!(last_event_id = %last, "response stream broke; resuming in {wait:?}");
            tokio::time::sleep(wait).await;
            let snap = self.snapshot();
            let next = self
                .request(
                    Method::GET,
                    &snap,
                    Some(&last),
                    None,
                    deadline.max(Instant::now() + Duration::from_secs(30)),
                )
                .await?;
            let status = next.status().as_u16();
            if !next.status().is_success() || content_type(next.headers()) != "text/event-stream" {
                let e = self.status_error(next).await;
                return Err(Failure::new(
                    FailureKind::Stream,
                    format!("the response stream broke and resuming it failed (HTTP {status}). Try again"),
                )
                .with_status(status)
                .with_detail(e.detail));
            }
            parser.reset_stream();
            resp = next;
        }
    }

    /// Passes on every event of one SSE response until it ends. Returns whether anything came.
    async fn pump(
        &self,
        resp: Answer,
        parser: &mut sse::Parser,
        reading: &mut Reading<'_>,
        hard_stop: Instant,
    ) -> Result<bool, Failure> {
        let mut body = resp.bytes_stream();
        let mut events = Vec::new();
        let mut got = false;
        loop {
            self.ctx.backlog.room().await;
            let chunk = match tokio::time::timeout_at(hard_stop.into(), body.next()).await {
                Ok(Some(Ok(c))) => c,
                Ok(Some(Err(e))) => {
                    tracing::debug!("stream broke: {e}");
                    return Ok(got);
                }
                Ok(None) => return Ok(got),
                Err(_) => {
                    return Err(Failure::new(
                        FailureKind::Timeout,
                        "the response stream stayed open longer than --max-request-time",
                    ));
                }
            };
            got = true;
            if parser.feed(&chunk, &mut events).is_err() {
                return Err(crate::http::too_large(self.ctx.max_message));
            }
            for ev in events.drain(..) {
                if ev.is_message() {
                    self.deliver(ev.data, reading);
                }
            }
            // The answer is in; a server may keep a resumed stream open, so don't wait for its end.
            if reading.found {
                return Ok(true);
            }
        }
    }

    /// Sends a request of the bridge's own on the session and returns the server's answer to
    /// it (the host never sees it); anything else on its stream goes to the host as usual.
    pub async fn call_quiet(self: &Arc<Self>, msg: &Message, deadline: Instant) -> Result<bytes::Bytes, Failure> {
        let resp = self.exchange(msg, &self.snapshot(), deadline).await?;
        if !resp.status().is_success() {
            return Err(self.status_error(resp).await);
        }
        let mut reading = Reading {
            awaited: msg.request_id(),
            found: false,
            init: false,
            swallow: true,
            kept: None,
            permit: None,
        };
        self.read_answer(msg, resp, &mut reading, deadline).await?;
        reading.kept.ok_or_else(|| {
            Failure::new(
                FailureKind::Protocol,
                "the server sent no answer to the bridge's request",
            )
        })
    }

    /// Starts a session with a handshake the host already made (answered by the 2026-07-28
    /// transport before the server turned out to speak the older revisions), or one the
    /// bridge makes for a 2026-07-28 host. Returns the server's answer to the `initialize`.
    pub async fn adopt(
        self: &Arc<Self>,
        init: Message,
        initialized: Option<Message>,
        deadline: Instant,
    ) -> Result<Option<bytes::Bytes>, Failure> {
        let generation = {
            let mut st = self.state();
            st.initialize = Some(init);
            st.initialized = initialized;
            st.generation
        };
        self.renew(generation, deadline, Renewal::Adopt).await
    }

    /// The server forgot the session (404): start a new one by replaying the client's own
    /// `initialize` and `notifications/initialized`. Only one renewal runs at a time.
    async fn renew(
        self: &Arc<Self>,
        generation: u64,
        deadline: Instant,
        reason: Renewal,
    ) -> Result<Option<bytes::Bytes>, Failure> {
        let _one = self.renewing.lock().await;
        let (init, initialized) = {
            let mut st = self.state();
            if st.generation != generation {
                return Ok(None); // someone else already started a new session
            }
            if let Some(l) = st.listener.take() {
                l.abort();
            }
            (st.initialize.clone(), st.initialized.clone())
        };
        let Some(init) = init else {
            return Err(Failure::new(
                FailureKind::Session,
                "the server ended the session, and the client never sent `initialize` to start a new one",
            ));
        };
        let adopting = reason == Renewal::Adopt;
        let expired = |e: Failure| {
            let f = Failure::new(
                FailureKind::Session,
                format!(
                    "the server ended the session, and starting a new one failed: {}",
                    e.message
                ),
            )
            .with_detail(e.detail);
            match e.status {
                // A handshake of the bridge's: the status tells whether another transport may serve.
                Some(status) if adopting => f.with_status(status),
                _ => f,
            }
        };
        // Requests sent meanwhile still carry the old id, get 404 and wait for this renewal.
        let snap = Snapshot {
            session: None,
            version: None,
            generation,
        };
        let resp = self.exchange(&init, &snap, deadline).await.map_err(expired)?;
        if !resp.status().is_success() {
            return Err(expired(self.status_error(resp).await));
        }
        self.begin_session(resp.headers(), snap.generation);
        let mut reading = Reading {
            awaited: init.request_id(),
            found: false,
            init: true,
            swallow: true,
            kept: None,
            permit: None,
        };
        self.read_answer(&init, resp, &mut reading, deadline)
            .await
            .map_err(expired)?;
        if let Some(n) = initialized {
            let resp = self.exchange(&n, &self.snapshot(), deadline).await.map_err(expired)?;
            if !resp.status().is_success() {
                return Err(expired(self.status_error(resp).await));
            }
            self.start_listener();
        }
        Ok(reading.kept)
    }

    /// Opens the optional GET stream for messages the server starts on its own.
    fn start_listener(self: &Arc<Self>) {
        let me = self.clone();
        let mut st = self.state();
        if st.closed {
            return;
        }
        let generation = st.generation;
        let task = tokio::spawn(async move { me.listen(generation).await });
        if let Some(old) = st.listener.replace(task.abort_handle()) {
            old.abort();
        }
    }

    async fn listen(self: Arc<Self>, generation: u64) {
        let mut parser = sse::Parser::new(self.ctx.max_message);
        let mut failures: u32 = 0;
        let mut reading = Reading {
            awaited: None,
            found: false,
            init: false,
            swallow: false,
            kept: None,
            permit: None,
        };
        loop {
            let snap = self.snapshot();
            if snap.generation != generation || self.state().closed {
                return;
            }
            let last = parser.last_event_id().map(str::to_owned);
            let far = Instant::now() + Duration::from_secs(30);
            match self.request(Method::GET, &snap, last.as_deref(), None, far).await {
                Ok(resp) if resp.status().is_success() && content_type(resp.headers()) == "text/event-stream" => {
                    tracing::debug!("GET stream open");
                    parser.reset_stream();
                    let forever = Instant::now() + Duration::from_secs(365 * 24 * 3600);
                    match self.pump(resp, &mut parser, &mut reading, forever).await {
                        Ok(true) => failures = 0,
                        Ok(false) => failures += 1,
                        Err(e) => {
                            tracing::warn!("the server's event stream failed: {e}");
                            failures += 1;
                        }
                    }
                }
                Ok(resp) if resp.status().is_client_error() => {
                    tracing::debug!(status = resp.status().as_u16(), "the server offers no GET stream");
                    return;
                }
                Ok(resp) => {
                    tracing::debug!(status = resp.status().as_u16(), "GET stream refused");
                    failures += 1;
                }
                Err(e) => {
                    tracing::debug!("GET stream failed: {e}");
                    failures += 1;
                }
            }
            if failures > 8 {
                tracing::warn!("giving up on the server's event stream; requests still work");
                return;
            }
            let wait = parser.retry().unwrap_or(DEFAULT_RETRY).max(Duration::from_millis(100)) * (1 << failures.min(5));
            tokio::time::sleep(wait).await;
        }
    }

    /// Stops the GET stream and ends the session with DELETE.
    pub async fn shutdown(&self) {
        let snap = {
            let mut st = self.state();
            st.closed = true;
            if let Some(l) = st.listener.take() {
                l.abort();
            }
            Snapshot {
                session: st.session.take(),
                version: st.version.clone(),
                generation: st.generation,
            }
        };
        if snap.session.is_none() {
            return;
        }
        let deadline = Instant::now() + Duration::from_secs(2);
        match self.request(Method::DELETE, &snap, None, None, deadline).await {
            Ok(resp) => tracing::debug!(status = resp.status().as_u16(), "session closed"),
            Err(e) => tracing::debug!("closing the session failed: {e}"),
        }
    }
}
