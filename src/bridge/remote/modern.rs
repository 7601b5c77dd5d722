//! MCP 2026-07-28 over Streamable HTTP: every request is one self-contained POST (the `_meta`
//! envelope and the `Mcp-*` headers), there is no session, no `initialize`, no `ping`.
//!
//! Behind a handshake-era host this transport translates: it answers `initialize`, `ping`,
//! `logging/setLevel` and `resources/(un)subscribe` itself, turns `input_required` results into
//! requests to the host and retries, mirrors `x-mcp-header` arguments into headers (dropping
//! tools whose annotations are invalid), and keeps one `subscriptions/listen` stream for the
//! change notifications. A 2026-07-28 host (its requests carry the envelope) is passed through
//! with the headers derived from its own messages.

use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::StreamExt;
use reqwest::Method;
use reqwest::header::{ACCEPT, CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue};
use serde_json::value::RawValue;
use serde_json::{Map, Value, json};
use tokio::sync::oneshot;
use tokio::task::AbortHandle;

use super::ctx::{Ctx, Event, status_error};
use super::era::{self, Envelope, ParamHeader, Verdict};
use super::sse;
use crate::bridge::message::{self, Id, Kind, Message, Parsed};
use crate::failure::{Failure, FailureKind};
use crate::http::{Answer, Outgoing, content_type, read_body};

const ACCEPT_BOTH: &str = "application/json, text/event-stream";
/// Rounds of `input_required` for one request, as the SDKs and mcp-remote bound them.
const MAX_ROUNDS: usize = 10;
/// Input requests in one round.
const MAX_INPUTS: usize = 16;
/// Tools whose `x-mcp-header` annotations are remembered.
const MAX_TOOLS: usize = 10_000;
/// Resources the host may subscribe to at once.
const MAX_SUBSCRIPTIONS: usize = 1024;
/// Pages of `tools/list` read when re-listing after a header mismatch.
const MAX_PAGES: usize = 50;
/// A discover result may answer an `initialize` this long after it was fetched, whatever its
/// `ttlMs` (it is then the answer to that very `initialize`).
const DISCOVER_FRESH: Duration = Duration::from_secs(5);
/// JSON-RPC's invalid-params code.
const INVALID_PARAMS: i64 = -32602;
/// Consecutive failures of the listen stream before giving up on it.
const LISTEN_ATTEMPTS: u32 = 8;

pub struct Modern {
    ctx: Arc<Ctx>,
    state: Mutex<State>,
    next_id: AtomicU64,
    /// The host's answers we wait for, by the id of our request to it.
    waiting: Mutex<HashMap<Id, oneshot::Sender<Bytes>>>,
    /// The host's requests being worked on, to cancel them.
    running: Mutex<HashMap<Id, Running>>,
    /// The server answered like a handshake-era server: the era must be decided again.
    stale: AtomicBool,
}

#[derive(Default)]
struct Running {
    task: Option<AbortHandle>,
    /// Our requests to the host on its behalf (input requests) not answered yet.
    inputs: Vec<Id>,
}

#[derive(Default)]
struct State {
    /// The last discover result and when it may no longer answer an `initialize`.
    discover: Option<(Value, Instant)>,
    /// The server's capabilities (from discover), for the listen filter.
    server_caps: Value,
    host_version: Option<String>,
    /// The host's capabilities as it declared them, and as sent in the envelope.
    host_caps: Value,
    capabilities: Value,
    client_info: Value,
    log_level: Option<String>,
    subscriptions: BTreeSet<String>,
    tools: HashMap<String, Vec<ParamHeader>>,
    /// The host's `initialize` and `notifications/initialized`, should the server turn out to
    /// speak the handshake-era revisions after all.
    handshake: Option<(Message, Option<Message>)>,
    initialized: bool,
    listener: Option<AbortHandle>,
    closed: bool,
}

/// The server's answer to one request: the HTTP status and the JSON-RPC response.
struct Reply {
    status: u16,
    msg: Value,
}

fn protocol_error(message: impl Into<String>) -> Failure {
    Failure::new(FailureKind::Protocol, message)
}

impl Modern {
    pub fn new(ctx: Arc<Ctx>) -> Arc<Modern> {
        Arc::new(Modern {
            ctx,
            state: Mutex::new(State {
                host_caps: json!({}),
                capabilities: json!({}),
                client_info: json!({"name": "mcp-valet", "version": env!("CARGO_PKG_VERSION")}),
                server_caps: json!({}),
                ..State::default()
            }),
            next_id: AtomicU64::new(1),
            waiting: Mutex::new(HashMap::new()),
            running: Mutex::new(HashMap::new()),
            stale: AtomicBool::new(false),
        })
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn running(&self) -> std::sync::MutexGuard<'_, HashMap<Id, Running>> {
        self.running.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn waiting(&self) -> std::sync::MutexGuard<'_, HashMap<Id, oneshot::Sender<Bytes>>> {
        self.waiting.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Whether a request showed that the server no longer speaks 2026-07-28 (reset on read).
    /// After an `initialize`, it also means that the `initialize` was left unanswered.
    pub fn take_stale(&self) -> bool {
        self.stale.swap(false, Ordering::AcqRel)
    }

    /// The host's handshake, for a switch back to the handshake-era transport.
    pub fn handshake(&self) -> Option<(Message, Option<Message>)> {
        self.state().handshake.clone()
    }

    /// Keeps a discover result (from the era probe) for the `initialize` that follows.
    pub fn set_discover(&self, result: Value) {
        let ttl = result.get("ttlMs").and_then(Value::as_u64).unwrap_or(0);
        let until = Instant::now() + DISCOVER_FRESH.max(Duration::from_millis(ttl.min(86_400_000)));
        let mut st = self.state();
        st.server_caps = result.get("capabilities").cloned().unwrap_or_else(|| json!({}));
        st.discover = Some((result, until));
    }

    fn emit_raw(&self, raw: Vec<u8>) {
        match message::parse(Bytes::from(raw)) {
            Ok(Parsed::Single(m)) => self.ctx.emit(Event::Inbound(m)),
            _ => tracing::warn!("mcp-valet built a message that does not parse; this is a bug"),
        }
    }

    /// Answers a host request locally.
    fn answer(&self, msg: &Message, result: Value) {
        let id = msg.raw_id.as_deref().map(RawValue::get).unwrap_or("null");
        let raw = format!(r#"{{"jsonrpc":"2.0","id":{id},"result":{result}}}"#);
        self.emit_raw(raw.into_bytes());
    }

    fn envelope_params(&self, params: &mut Map<String, Value>) {
        let st = self.state();
        era::add_envelope(
            params,
            &Envelope {
                capabilities: &st.capabilities,
                client_info: &st.client_info,
                log_level: st.log_level.as_deref(),
            },
        );
    }

    /// Delivers one message from the host. Returns whether it was delivered.
    pub async fn send(self: &Arc<Self>, msg: &Message, deadline: Instant) -> bool {
        match &msg.kind {
            Kind::Request { method, .. } => match &**method {
                "initialize" => self.initialize(msg, deadline).await,
                "ping" => {
                    self.answer(msg, json!({}));
                    true
                }
                "logging/setLevel" => {
                    let level = params_of(msg).get("level").and_then(Value::as_str).map(str::to_owned);
                    self.state().log_level = level;
                    self.answer(msg, json!({}));
                    true
                }
                "resources/subscribe" | "resources/unsubscribe" => {
                    self.subscribe(msg, method.as_ref() == "resources/subscribe");
                    true
                }
                _ => self.request(msg, deadline).await,
            },
            Kind::Notification { method } => {
                match &**method {
                    "notifications/initialized" => {
                        let mut st = self.state();
                        st.initialized = true;
                        if let Some((_, n)) = &mut st.handshake {
                            *n = Some(msg.clone());
                        }
                        drop(st);
                        self.start_listener();
                    }
                    "notifications/cancelled" => {
                        if let Some(target) = &msg.cancel_target {
                            self.cancel(target);
                        }
                    }
                    // 2026-07-28 defines no client-to-server notifications over HTTP.
                    other => tracing::debug!(method = other, "not passing a notification to a 2026-07-28 server"),
                }
                true
            }
            Kind::Response { id } => {
                let waiter = self.waiting().remove(id);
                match waiter {
                    Some(tx) => {
                        let _ = tx.send(msg.raw.clone());
                    }
                    None => tracing::debug!(%id, "dropping a response from the client that nothing waits for"),
                }
                true
            }
            Kind::Batch { .. } => {
                // Never built: batches are split for a server that does not take them.
                self.ctx
                    .fail(msg, protocol_error("a batch cannot be sent to a 2026-07-28 server"));
                false
            }
        }
    }

    /// The host's `initialize`, answered from the server's discover result.
    async fn initialize(self: &Arc<Self>, msg: &Message, deadline: Instant) -> bool {
        let params = params_of(msg);
        {
            let mut st = self.state();
            st.host_version = params.get("protocolVersion").and_then(Value::as_str).map(str::to_owned);
            st.host_caps = params.get("capabilities").cloned().unwrap_or_else(|| json!({}));
            st.capabilities = era::translate_capabilities(&st.host_caps);
            if let Some(info) = params.get("clientInfo").filter(|v| v.is_object()) {
                st.client_info = info.clone();
            }
            st.handshake = Some((msg.clone(), None));
            st.initialized = false;
            if let Some(l) = st.listener.take() {
                l.abort();
            }
        }
        let fresh = {
            let st = self.state();
            st.discover
                .as_ref()
                .filter(|(_, until)| Instant::now() < *until)
                .map(|(v, _)| v.clone())
        };
        let discover = match fresh {
            Some(d) => d,
            None => match self.discover(deadline).await {
                Ok(Verdict::Modern(Some(d))) => {
                    self.set_discover(d.clone());
                    d
                }
                Ok(Verdict::Modern(None)) => {
                    self.ctx.fail(
                        msg,
                        protocol_error("the server refused server/discover, so initialize cannot be answered"),
                    );
                    return false;
                }
                Ok(Verdict::Legacy(why)) => {
                    // Not answered: the handshake-era transport takes this `initialize`.
                    tracing::info!("the server no longer speaks {}: {why}", era::MODERN);
                    self.state().handshake = None;
                    self.stale.store(true, Ordering::Release);
                    return false;
                }
                Err(e) => {
                    self.ctx.fail(msg, e);
                    return false;
                }
            },
        };
        let host_version = self.state().host_version.clone();
        let result = era::initialize_result(&discover, host_version.as_deref(), &self.ctx.http.url);
        tracing::debug!(version = %result["protocolVersion"], "answered initialize from the server's discover result");
        self.answer(msg, result);
        true
    }

    /// POSTs `server/discover` and says what the answer means. A transport or sign-in
    /// failure is an error, never a verdict.
    pub async fn discover(&self, deadline: Instant) -> Result<Verdict, Failure> {
        let mut params = Map::new();
        self.envelope_params(&mut params);
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let body = json!({"jsonrpc": "2.0", "id": id, "method": "server/discover", "params": params});
        let resp = self
            .post(
                body,
                "server/discover",
                None,
                HeaderMap::new(),
                era::MODERN,
                false,
                deadline,
            )
            .await?;
        let status = resp.status().as_u16();
        let sse = content_type(resp.headers()) == "text/event-stream";
        let msg = if (200..300).contains(&status) && sse {
            self.read_stream(resp, id, Forward::No).await.ok()
        } else {
            let body = read_body(resp, self.ctx.max_message.min(1 << 20))
                .await
                .unwrap_or_default();
            era::first_message(&body, sse)
        };
        Ok(era::verdict(status, msg.as_ref()))
    }

    /// One POST with the 2026-07-28 headers.
    #[allow(clippy::too_many_arguments)]
    async fn post(
        &self,
        body: Value,
        method: &str,
        name: Option<&str>,
        extra: HeaderMap,
        version: &str,
        queued: bool,
        deadline: Instant,
    ) -> Result<Answer, Failure> {
        let body = Bytes::from(serde_json::to_vec(&body).expect("serialising JSON cannot fail"));
        if body.len() > self.ctx.max_message {
            return Err(Failure::new(
                FailureKind::TooLarge,
                format!(
                    "the message is larger than the limit of {} bytes (--max-message-size)",
                    self.ctx.max_message
                ),
            ));
        }
        let version = era::header_value(version);
        let method = era::header_value(method);
        let name = name.map(era::header_value);
        let build = |mut headers: HeaderMap| {
            headers.insert(ACCEPT, HeaderValue::from_static(ACCEPT_BOTH));
            headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
            headers.insert(HeaderName::from_static("mcp-protocol-version"), version.clone());
            headers.insert(HeaderName::from_static("mcp-method"), method.clone());
            if let Some(n) = &name {
                headers.insert(HeaderName::from_static("mcp-name"), n.clone());
            }
            for (k, v) in &extra {
                headers.insert(k.clone(), v.clone());
            }
            Outgoing {
                method: Method::POST,
                url: self.ctx.http.url.clone(),
                headers,
                body: Some(body.clone()),
            }
        };
        self.ctx.send(build, queued, deadline).await
    }

    /// Reads an SSE answer until the response with `id` arrives; passes on notifications about
    /// the request (progress, log messages) when `forward`.
    async fn read_stream(&self, resp: Answer, id: u64, forward: Forward<'_>) -> Result<Value, Failure> {
        let mut parser = sse::Parser::new(self.ctx.max_message);
        let mut body = resp.bytes_stream();
        let mut events = Vec::new();
        let stop = Instant::now() + self.ctx.max_request_time;
        loop {
            let chunk = match tokio::time::timeout_at(stop.into(), body.next()).await {
                Ok(Some(Ok(c))) => c,
                Ok(Some(Err(e))) => {
                    tracing::debug!("response stream broke: {e}");
                    return Err(Failure::new(
                        FailureKind::Stream,
                        "the server's response stream broke before the answer arrived (2026-07-28 streams cannot be resumed). Try again",
                    ));
                }
                Ok(None) => {
                    return Err(Failure::new(
                        FailureKind::Stream,
                        "the server closed the response stream before answering. Try again",
                    ));
                }
                Err(_) => {
                    return Err(Failure::new(
                        FailureKind::Timeout,
                        "the response stream stayed open longer than --max-request-time",
                    ));
                }
            };
            if parser.feed(&chunk, &mut events).is_err() {
                return Err(crate::http::too_large(self.ctx.max_message));
            }
            for ev in events.drain(..) {
                if !ev.is_message() {
                    continue;
                }
                let Ok(v) = serde_json::from_slice::<Value>(&ev.data) else {
                    tracing::warn!("ignoring an event from the server that is not JSON");
                    continue;
                };
                if v.get("method").is_none() {
                    if v.get("id").and_then(Value::as_u64) == Some(id) {
                        return Ok(v);
                    }
                    tracing::debug!("ignoring a response for another request on a response stream");
                } else if v.get("id").is_some() {
                    tracing::warn!("ignoring a request from the server: 2026-07-28 servers send none");
                } else {
                    match forward {
                        Forward::No => {}
                        Forward::Yes => self.ctx.deliver(message::one_line(ev.data.clone()), |_| true),
                        Forward::Subscription(host_id) => {
                            // A 2026-07-28 host's listen stream: the frames name its request.
                            let mut v = v;
                            if let Some(meta) = v.pointer_mut("/params/_meta").and_then(Value::as_object_mut)
                                && meta.contains_key(SUBSCRIPTION_ID)
                            {
                                meta.insert(SUBSCRIPTION_ID.into(), host_id.clone());
                            }
                            self.emit_raw(serde_json::to_vec(&v).expect("serialising JSON cannot fail"));
                        }
                    }
                }
            }
        }
    }

    /// Sends one JSON-RPC request body and reads the server's response to it.
    async fn exchange(
        &self,
        body: Value,
        id: u64,
        headers: (&str, Option<&str>, HeaderMap, &str),
        forward: Forward<'_>,
        deadline: Instant,
    ) -> Result<Reply, Failure> {
        let (method, name, extra, version) = headers;
        let resp = self.post(body, method, name, extra, version, true, deadline).await?;
        let status = resp.status().as_u16();
        let ct = content_type(resp.headers());
        if (200..300).contains(&status) && ct == "text/event-stream" {
            let msg = self.read_stream(resp, id, forward).await?;
            return Ok(Reply { status, msg });
        }
        let body = read_body(resp, self.ctx.max_message).await?;
        let msg = serde_json::from_slice::<Value>(&body)
            .ok()
            .filter(|v| v.get("result").is_some() || v.get("error").is_some());
        match msg {
            Some(msg) => Ok(Reply { status, msg }),
            None if (200..300).contains(&status) => Err(protocol_error(format!(
                "the server's answer (HTTP {status}{}) is not a JSON-RPC response",
                if ct.is_empty() {
                    String::new()
                } else {
                    format!(", {ct}")
                }
            ))),
            None => {
                if era::looks_legacy(status, None) {
                    self.stale.store(true, Ordering::Release);
                }
                Err(status_error(status, &body, &self.ctx))
            }
        }
    }

    /// A host request that goes to the server: runs as a task of its own, so that the host's
    /// `notifications/cancelled` can stop it (closing its HTTP stream).
    async fn request(self: &Arc<Self>, msg: &Message, deadline: Instant) -> bool {
        let (Some(host_id), Some(raw_id)) = (msg.request_id().cloned(), msg.raw_id.clone()) else {
            return false;
        };
        self.running().insert(host_id.clone(), Running::default());
        let me = self.clone();
        let m = msg.clone();
        let hid = host_id.clone();
        let limit = self.ctx.max_request_time;
        let task = tokio::spawn(async move {
            match tokio::time::timeout(limit, me.translate(&m, &hid, deadline)).await {
                Ok(r) => r,
                Err(_) => Err(Failure::new(
                    FailureKind::Timeout,
                    "the request took longer than --max-request-time",
                )),
            }
        });
        if let Some(r) = self.running().get_mut(&host_id) {
            r.task = Some(task.abort_handle());
        }
        let outcome = task.await;
        let inputs = self.running().remove(&host_id).map(|r| r.inputs).unwrap_or_default();
        {
            let mut w = self.waiting();
            for i in inputs {
                w.remove(&i);
            }
        }
        match outcome {
            Ok(Ok(mut answer)) => {
                if let Some(o) = answer.as_object_mut() {
                    o.insert("id".into(), serde_json::from_str(raw_id.get()).unwrap_or(Value::Null));
                }
                self.emit_raw(serde_json::to_vec(&answer).expect("serialising JSON cannot fail"));
                true
            }
            Ok(Err(e)) => {
                self.ctx.fail(msg, e);
                false
            }
            // Cancelled by the host: it waits for nothing.
            Err(_) => false,
        }
    }

    /// Sends a host request to the server, through as many rounds of `input_required` as the
    /// server needs; returns the final response (with our id).
    async fn translate(self: &Arc<Self>, msg: &Message, host_id: &Id, deadline: Instant) -> Result<Value, Failure> {
        let v: Value = serde_json::from_slice(&msg.raw).map_err(|_| protocol_error("unreadable request"))?;
        let method = v.get("method").and_then(Value::as_str).unwrap_or_default().to_owned();
        let params = match v.get("params") {
            Some(Value::Object(p)) => p.clone(),
            _ => Map::new(),
        };
        let host_version = params
            .get("_meta")
            .and_then(|m| m.get(era::META_VERSION))
            .and_then(Value::as_str)
            .map(str::to_owned);
        let host_modern = host_version.is_some();
        let version = host_version.unwrap_or_else(|| era::MODERN.to_owned());
        let name = match method.as_str() {
            "tools/call" | "prompts/get" => params.get("name").and_then(Value::as_str).map(str::to_owned),
            "resources/read" => params.get("uri").and_then(Value::as_str).map(str::to_owned),
            _ => None,
        };
        let multi_round = matches!(method.as_str(), "tools/call" | "resources/read" | "prompts/get");
        let host_id_value: Value = msg
            .raw_id
            .as_deref()
            .and_then(|r| serde_json::from_str(r.get()).ok())
            .unwrap_or(Value::Null);
        let forward = if host_modern && method == "subscriptions/listen" {
            Forward::Subscription(&host_id_value)
        } else {
            Forward::Yes
        };
        let mut relisted = false;
        let mut rounds = 0;
        let mut inputs: Option<Value> = None;
        let mut request_state: Option<Value> = None;
        let mut waits = 0u32;
        loop {
            let mut p = params.clone();
            if !host_modern {
                self.envelope_params(&mut p);
            }
            if let Some(i) = &inputs {
                p.insert("inputResponses".into(), i.clone());
            }
            if let Some(s) = &request_state {
                p.insert("requestState".into(), s.clone());
            }
            let mut extra = HeaderMap::new();
            if method == "tools/call" {
                let schema = name.as_deref().and_then(|n| self.state().tools.get(n).cloned());
                if let Some(h) = schema {
                    let values = era::param_values(&h, p.get("arguments")).map_err(|e| {
                        Failure::new(FailureKind::InvalidParams, format!("cannot send this tool call: {e}"))
                            .with_code(INVALID_PARAMS)
                    })?;
                    extra.extend(values);
                }
            }
            let id = self.next_id.fetch_add(1, Ordering::Relaxed);
            let body = json!({"jsonrpc": "2.0", "id": id, "method": method, "params": p});
            let reply = self
                .exchange(body, id, (&method, name.as_deref(), extra, &version), forward, deadline)
                .await?;
            if let Some(err) = reply.msg.get("error") {
                let code = err.get("code").and_then(Value::as_i64);
                if code == Some(era::code::HEADER_MISMATCH) && method == "tools/call" && !relisted {
                    relisted = true;
                    tracing::info!("the server reported a header mismatch; listing its tools again and retrying");
                    self.relist(&version, host_modern, deadline).await?;
                    continue;
                }
                if era::looks_legacy(reply.status, Some(err)) || code == Some(era::code::UNSUPPORTED_VERSION) {
                    tracing::info!(
                        status = reply.status,
                        code,
                        "the server answered like a server of another protocol revision"
                    );
                    self.stale.store(true, Ordering::Release);
                }
                return Ok(reply.msg);
            }
            let Some(result) = reply.msg.get("result") else {
                return Err(protocol_error("the server's response has neither result nor error"));
            };
            match result.get("resultType").and_then(Value::as_str) {
                None | Some("complete") => {
                    let mut answer = reply.msg;
                    if method == "tools/list" {
                        self.filter_tools(&mut answer);
                    }
                    return Ok(answer);
                }
                Some("input_required") if multi_round && !host_modern => {
                    rounds += 1;
                    if rounds > MAX_ROUNDS {
                        return Err(Failure::new(
                            FailureKind::Input,
                            format!("the server asked for more input {MAX_ROUNDS} times in a row; giving up"),
                        ));
                    }
                    request_state = result.get("requestState").cloned();
                    let asked = result.get("inputRequests").and_then(Value::as_object);
                    if asked.is_none_or(Map::is_empty) {
                        if request_state.is_none() {
                            return Err(protocol_error(
                                "the server asked for input without saying what (no inputRequests, no requestState)",
                            ));
                        }
                        inputs = None;
                        let wait = Duration::from_millis((50u64 << waits.min(3)).min(250));
                        waits += 1;
                        tokio::time::sleep(wait).await;
                        continue;
                    }
                    let asked = asked.expect("checked").clone();
                    inputs = Some(self.ask_host(host_id, asked).await?);
                }
                Some("input_required") if host_modern => return Ok(reply.msg),
                Some("input_required") => {
                    return Err(protocol_error(format!(
                        "the server asked for input on {method}, which cannot carry it"
                    )));
                }
                Some(other) => {
                    return Err(protocol_error(format!(
                        "the server's result has an unknown resultType `{}`",
                        other.chars().take(40).collect::<String>()
                    )));
                }
            }
        }
    }

    /// Sends the server's input requests to the host and collects the answers, keyed as asked.
    async fn ask_host(&self, host_id: &Id, asked: Map<String, Value>) -> Result<Value, Failure> {
        if asked.len() > MAX_INPUTS {
            return Err(protocol_error(format!(
                "the server asked for {} inputs at once (at most {MAX_INPUTS})",
                asked.len()
            )));
        }
        let mut pending = Vec::new();
        for (key, req) in asked {
            let method = req.get("method").and_then(Value::as_str).unwrap_or_default().to_owned();
            let params = req.get("params").cloned().unwrap_or_else(|| json!({}));
            self.check_host_can(&method, &params)?;
            let n = self.next_id.fetch_add(1, Ordering::Relaxed);
            let our = format!("mcp-valet-{n}");
            let id = Id::Str(our.clone().into());
            let (tx, rx) = oneshot::channel();
            self.waiting().insert(id.clone(), tx);
            if let Some(r) = self.running().get_mut(host_id) {
                r.inputs.push(id.clone());
            }
            let raw = json!({"jsonrpc": "2.0", "id": our, "method": method, "params": params});
            self.emit_raw(serde_json::to_vec(&raw).expect("serialising JSON cannot fail"));
            pending.push((key, method, id, rx));
        }
        let mut answers = Map::new();
        for (key, method, id, rx) in pending {
            let raw = rx.await.map_err(|_| protocol_error("the client's answer never came"))?;
            if let Some(r) = self.running().get_mut(host_id) {
                r.inputs.retain(|i| *i != id);
            }
            let v: Value =
                serde_json::from_slice(&raw).map_err(|_| protocol_error("unreadable answer from the client"))?;
            match (v.get("result"), v.get("error")) {
                (Some(r), _) => {
                    answers.insert(key, r.clone());
                }
                (None, Some(e)) => {
                    let text = e.get("message").and_then(Value::as_str).unwrap_or("an error");
                    return Err(Failure::new(
                        FailureKind::Input,
                        format!("the client answered the server's {method} with an error: {text}"),
                    ));
                }
                _ => return Err(protocol_error("the client's answer has neither result nor error")),
            }
        }
        Ok(Value::Object(answers))
    }

    /// Whether the host declared what the server asks of it.
    fn check_host_can(&self, method: &str, params: &Value) -> Result<(), Failure> {
        let st = self.state();
        let caps = &st.host_caps;
        let refuse = |why: String| Err(Failure::new(FailureKind::Input, why).with_code(era::code::MISSING_CAPABILITY));
        match method {
            "elicitation/create" => {
                let Some(el) = caps.get("elicitation") else {
                    return refuse(
                        "the server asks for user input (elicitation), which this client does not support".into(),
                    );
                };
                if params.get("mode").and_then(Value::as_str) == Some("url") {
                    let new_enough = st.host_version.as_deref().is_some_and(|v| v >= "2025-11-25");
                    if el.get("url").is_none() || !new_enough {
                        return refuse(
                            "the server asks the user to open a URL (URL-mode elicitation), which this client does not support".into(),
                        );
                    }
                }
                Ok(())
            }
            "sampling/createMessage" if caps.get("sampling").is_some() => Ok(()),
            "roots/list" if caps.get("roots").is_some() => Ok(()),
            "sampling/createMessage" | "roots/list" => refuse(format!(
                "the server asks the client for {method}, which this client does not support"
            )),
            other => refuse(format!(
                "the server asks the client for `{}`, which mcp-valet cannot pass on",
                other.chars().take(60).collect::<String>()
            )),
        }
    }

    /// Drops tools whose `x-mcp-header` annotations are invalid, and remembers the others'.
    fn filter_tools(&self, answer: &mut Value) {
        let Some(tools) = answer.pointer_mut("/result/tools").and_then(Value::as_array_mut) else {
            return;
        };
        let mut st = self.state();
        tools.retain(|tool| {
            let name = tool.get("name").and_then(Value::as_str).unwrap_or_default();
            let schema = tool.get("inputSchema").cloned().unwrap_or_else(|| json!({}));
            match era::param_headers(&schema) {
                Ok(h) => {
                    if h.is_empty() {
                        st.tools.remove(name);
                    } else if st.tools.len() < MAX_TOOLS || st.tools.contains_key(name) {
                        st.tools.insert(name.to_owned(), h);
                    }
                    true
                }
                Err(why) => {
                    tracing::warn!(tool = name, "leaving out a tool the server lists: {why}");
                    st.tools.remove(name);
                    false
                }
            }
        });
    }

    /// Lists the server's tools again (after a header mismatch) to learn their annotations.
    async fn relist(&self, version: &str, host_modern: bool, deadline: Instant) -> Result<(), Failure> {
        let mut cursor: Option<Value> = None;
        for _ in 0..MAX_PAGES {
            let mut p = Map::new();
            if let Some(c) = &cursor {
                p.insert("cursor".into(), c.clone());
            }
            self.envelope_params(&mut p);
            if host_modern {
                p.get_mut("_meta")
                    .and_then(Value::as_object_mut)
                    .map(|m| m.insert(era::META_VERSION.into(), Value::String(version.into())));
            }
            let id = self.next_id.fetch_add(1, Ordering::Relaxed);
            let body = json!({"jsonrpc": "2.0", "id": id, "method": "tools/list", "params": p});
            let mut reply = self
                .exchange(
                    body,
                    id,
                    ("tools/list", None, HeaderMap::new(), version),
                    Forward::Yes,
                    deadline,
                )
                .await?;
            if reply.msg.get("error").is_some() {
                return Ok(());
            }
            self.filter_tools(&mut reply.msg);
            cursor = reply
                .msg
                .pointer("/result/nextCursor")
                .filter(|c| c.is_string())
                .cloned();
            if cursor.is_none() {
                break;
            }
        }
        Ok(())
    }

    /// Stops a host request: its task (and so its HTTP stream) and its input requests.
    fn cancel(&self, target: &Id) {
        let Some(r) = self.running().remove(target) else { return };
        if let Some(t) = r.task {
            t.abort();
        }
        let mut w = self.waiting();
        for id in r.inputs {
            w.remove(&id);
            let text = match &id {
                Id::Str(s) => serde_json::to_string(&**s).expect("a string serialises"),
                other => other.to_string(),
            };
            let raw = format!(
                r#"{{"jsonrpc":"2.0","method":"notifications/cancelled","params":{{"requestId":{text},"reason":"the request was cancelled"}}}}"#
            );
            self.emit_raw(raw.into_bytes());
        }
        tracing::debug!(%target, "cancelled a request at the client's word");
    }

    fn subscribe(self: &Arc<Self>, msg: &Message, on: bool) {
        let uri = params_of(msg).get("uri").and_then(Value::as_str).map(str::to_owned);
        let Some(uri) = uri else {
            let e = Failure::new(FailureKind::InvalidParams, "resources/subscribe needs a `uri`");
            self.ctx.fail(msg, e.with_code(INVALID_PARAMS));
            return;
        };
        let changed = {
            let mut st = self.state();
            if on && st.subscriptions.len() >= MAX_SUBSCRIPTIONS && !st.subscriptions.contains(&uri) {
                drop(st);
                self.ctx.fail(
                    msg,
                    Failure::new(
                        FailureKind::InvalidRequest,
                        format!("at most {MAX_SUBSCRIPTIONS} resource subscriptions"),
                    ),
                );
                return;
            }
            if on {
                st.subscriptions.insert(uri)
            } else {
                st.subscriptions.remove(&uri)
            }
        };
        self.answer(msg, json!({}));
        if changed && self.state().initialized {
            self.start_listener();
        }
    }

    /// The notifications to listen for: what the server offers and the host subscribed to.
    fn listen_filter(&self) -> Option<Value> {
        let st = self.state();
        let caps = &st.server_caps;
        let flag = |kind: &str| caps.pointer(&format!("/{kind}/listChanged")).and_then(Value::as_bool) == Some(true);
        let mut f = Map::new();
        for (kind, key) in [
            ("tools", "toolsListChanged"),
            ("prompts", "promptsListChanged"),
            ("resources", "resourcesListChanged"),
        ] {
            if flag(kind) {
                f.insert(key.into(), Value::Bool(true));
            }
        }
        let subscribe = caps.pointer("/resources/subscribe").and_then(Value::as_bool) == Some(true);
        if subscribe && !st.subscriptions.is_empty() {
            f.insert(
                "resourceSubscriptions".into(),
                json!(st.subscriptions.iter().collect::<Vec<_>>()),
            );
        }
        (!f.is_empty()).then_some(Value::Object(f))
    }

    /// (Re)opens the one `subscriptions/listen` stream.
    fn start_listener(self: &Arc<Self>) {
        let me = self.clone();
        let mut st = self.state();
        if st.closed {
            return;
        }
        let task = tokio::spawn(async move { me.listen().await });
        if let Some(old) = st.listener.replace(task.abort_handle()) {
            old.abort();
        }
    }

    async fn listen(self: Arc<Self>) {
        let mut failures = 0u32;
        let mut reopened = false;
        loop {
            let Some(filter) = self.listen_filter() else { return };
            let id = self.next_id.fetch_add(1, Ordering::Relaxed);
            let mut p = Map::new();
            p.insert("notifications".into(), filter.clone());
            self.envelope_params(&mut p);
            let body = json!({"jsonrpc": "2.0", "id": id, "method": "subscriptions/listen", "params": p});
            let deadline = Instant::now() + self.ctx.request_timeout;
            match self
                .post(
                    body,
                    "subscriptions/listen",
                    None,
                    HeaderMap::new(),
                    era::MODERN,
                    false,
                    deadline,
                )
                .await
            {
                Ok(resp) if resp.status().is_success() && content_type(resp.headers()) == "text/event-stream" => {
                    match self.pump_listen(resp, id, &filter, reopened).await {
                        Listened::Ended => {
                            tracing::debug!("the server ended the subscription");
                            return;
                        }
                        Listened::Acknowledged => failures = 0,
                        Listened::Nothing => failures += 1,
                    }
                }
                Ok(resp) => {
                    let status = resp.status().as_u16();
                    tracing::debug!(status, "the server refused subscriptions/listen");
                    if resp.status().is_client_error() {
                        tracing::info!(
                            status,
                            "the server does not take subscriptions/listen; change notifications are off"
                        );
                        return;
                    }
                    failures += 1;
                }
                Err(e) => {
                    tracing::debug!("subscriptions/listen failed: {e}");
                    failures += 1;
                }
            }
            if failures > LISTEN_ATTEMPTS {
                tracing::warn!("giving up on the server's change notifications; requests still work");
                return;
            }
            reopened = true;
            let wait = Duration::from_millis(250 << failures.min(7));
            tokio::time::sleep(wait).await;
        }
    }

    /// Reads one listen stream; passes on change notifications (not the acknowledgement).
    async fn pump_listen(&self, resp: Answer, id: u64, filter: &Value, reopened: bool) -> Listened {
        let mut parser = sse::Parser::new(self.ctx.max_message);
        let mut body = resp.bytes_stream();
        let mut events = Vec::new();
        let mut acked = false;
        while let Some(Ok(chunk)) = body.next().await {
            if parser.feed(&chunk, &mut events).is_err() {
                tracing::warn!("an event on the listen stream is larger than --max-message-size");
                break;
            }
            for ev in events.drain(..) {
                if !ev.is_message() {
                    continue;
                }
                let Ok(v) = serde_json::from_slice::<Value>(&ev.data) else {
                    continue;
                };
                match v.get("method").and_then(Value::as_str) {
                    Some("notifications/subscriptions/acknowledged") => {
                        acked = true;
                        if reopened {
                            // Nothing is replayed: the host must look again.
                            self.synthetic_changes(filter);
                        }
                    }
                    Some(
                        "notifications/tools/list_changed"
                        | "notifications/prompts/list_changed"
                        | "notifications/resources/list_changed"
                        | "notifications/resources/updated",
                    ) => {
                        acked = true;
                        self.ctx.deliver(message::one_line(ev.data.clone()), |_| true);
                    }
                    Some(other) => tracing::debug!(method = other, "ignoring a message on the listen stream"),
                    None if v.get("id").and_then(Value::as_u64) == Some(id) => return Listened::Ended,
                    None => {}
                }
            }
        }
        if acked {
            Listened::Acknowledged
        } else {
            Listened::Nothing
        }
    }

    fn synthetic_changes(&self, filter: &Value) {
        for (key, method) in [
            ("toolsListChanged", "notifications/tools/list_changed"),
            ("promptsListChanged", "notifications/prompts/list_changed"),
            ("resourcesListChanged", "notifications/resources/list_changed"),
        ] {
            if filter.get(key).and_then(Value::as_bool) == Some(true) {
                self.emit_raw(format!(r#"{{"jsonrpc":"2.0","method":"{method}"}}"#).into_bytes());
            }
        }
        if let Some(uris) = filter.get("resourceSubscriptions").and_then(Value::as_array) {
            for uri in uris {
                let raw =
                    json!({"jsonrpc": "2.0", "method": "notifications/resources/updated", "params": {"uri": uri}});
                self.emit_raw(serde_json::to_vec(&raw).expect("serialising JSON cannot fail"));
            }
        }
    }

    /// Stops the listen stream and every request still running.
    pub fn shutdown(&self) {
        let mut st = self.state();
        st.closed = true;
        if let Some(l) = st.listener.take() {
            l.abort();
        }
        drop(st);
        for (_, r) in self.running().drain() {
            if let Some(t) = r.task {
                t.abort();
            }
        }
    }
}

/// What becomes of the notifications on a request's response stream.
#[derive(Clone, Copy)]
enum Forward<'a> {
    No,
    Yes,
    /// To a 2026-07-28 host's `subscriptions/listen`, whose request id the frames must carry.
    Subscription(&'a Value),
}

const SUBSCRIPTION_ID: &str = "io.modelcontextprotocol/subscriptionId";

enum Listened {
    /// The server ended the subscription with a result: do not reopen.
    Ended,
    /// The stream was acknowledged (or carried notifications), then dropped: reopen.
    Acknowledged,
    /// The stream dropped without anything: reopen, counting a failure.
    Nothing,
}

/// A request's `params` as an object (empty when absent or not an object).
fn params_of(msg: &Message) -> Map<String, Value> {
    #[derive(serde::Deserialize)]
    struct P {
        #[serde(default)]
        params: Option<Value>,
    }
    match serde_json::from_slice::<P>(&msg.raw).ok().and_then(|p| p.params) {
        Some(Value::Object(m)) => m,
        _ => Map::new(),
    }
}
