//! A server of the older revisions asks its client something (`elicitation/create`,
//! `sampling/createMessage`, `roots/list`) while it handles a request of a 2026-07-28 host,
//! where server→client requests no longer exist: the host's request is answered with an
//! `input_required` result carrying the question and a `requestState` of the bridge's. When
//! the host retries with `inputResponses`, the answers go to the server's waiting requests and
//! the server's eventual answer to the first request becomes the answer to the retry (or the
//! next round). A server request related to nothing in flight gets a JSON-RPC error back.
//!
//! The server's progress notifications for the first request (its `progressToken`) go to the
//! host with the token of the host's latest retry: a request answered with `input_required`
//! is over for the host, and progress may name only the token of an active request (the
//! 2026-07-28 progress utility). While the host holds an `input_required` answer, or when its
//! retry carries no token, they are dropped.
//!
//! Bounded: `MAX_ROUNDS` per host request, `MAX_OPEN` host requests followed at once,
//! `MAX_QUEUED` questions waiting for the next round, `HELD_BUDGET` bytes of server answers
//! held for retries to come, and `--request-timeout` for the host's retry.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Instant;

use bytes::Bytes;
use serde_json::value::RawValue;
use serde_json::{Map, Value, json};
use tokio::sync::Notify;

use super::link::Link;
use crate::bridge::message::{self, Id, Kind, Message, Parsed};
use crate::bridge::remote::ctx::{Ctx, Event};
use crate::failure::{Failure, FailureKind};

/// Rounds of questions one host request may take (the Python SDK's client stops at 10 too).
pub const MAX_ROUNDS: u32 = 10;
/// Host requests followed at once; past it, a server request for another one gets an error.
const MAX_OPEN: usize = 256;
/// Questions waiting for the host's next retry, per host request.
const MAX_QUEUED: usize = 8;
/// Bytes of server answers held, across all requests, while their hosts have not retried yet
/// (or `--max-message-size`, when larger: one answer can always be held). Past it, the
/// retry gets an error instead of the answer.
pub const HELD_BUDGET: usize = 16 << 20;
/// What a `requestState` of the bridge's starts with.
const STATE_PREFIX: &str = "mcp-valet/";
const INVALID_PARAMS: i64 = -32602;
const INTERNAL_ERROR: i64 = -32603;
const METHOD_NOT_FOUND: i64 = -32601;

/// The methods whose results may be `input_required` in 2026-07-28.
pub fn may_ask(method: &str) -> bool {
    matches!(method, "tools/call" | "resources/read" | "prompts/get")
}

pub struct Asks {
    ctx: Arc<Ctx>,
    on: AtomicBool,
    link: OnceLock<Link>,
    /// The host's capabilities: what it can be asked.
    capabilities: OnceLock<Value>,
    inner: Mutex<Inner>,
    serial: AtomicU64,
}

#[derive(Default)]
struct Inner {
    /// By the id of the host request the server is working on.
    open: HashMap<Id, Open>,
    /// A live `requestState` → the host request it continues.
    states: HashMap<String, Id>,
    /// The bytes of every `Held::Answer`.
    held_bytes: usize,
}

struct Open {
    /// The host request the next answer goes to: the first one, then each retry. `None`
    /// while the host holds an `input_required` answer and has not retried yet.
    to: Option<(Id, Box<RawValue>)>,
    /// The host request's own raw id (the server knows it by that).
    raw_id: Box<RawValue>,
    /// The host request's `progressToken` (the server knows it by that), and the one of the
    /// retry in `to`.
    token: Option<Value>,
    to_token: Option<Value>,
    state: Option<String>,
    rounds: u32,
    /// The last round's questions: (key in `inputRequests`, the server's request id).
    asked: Vec<(String, Box<RawValue>)>,
    /// Questions that came while the host had not retried yet.
    queued: Vec<Message>,
    /// The server's answer, come while the host had not retried yet.
    held: Option<Held>,
    /// Ends the host request's HTTP exchange (it was cancelled or abandoned).
    stop: Arc<Notify>,
}

enum Held {
    Answer(Bytes),
    Failed(Failure),
}

impl Asks {
    pub fn new(ctx: Arc<Ctx>) -> Asks {
        Asks {
            ctx,
            on: AtomicBool::new(false),
            link: OnceLock::new(),
            capabilities: OnceLock::new(),
            inner: Mutex::new(Inner::default()),
            serial: AtomicU64::new(1),
        }
    }

    fn inner(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// From now on a 2026-07-28 host is served on `link`.
    pub fn start(&self, link: Link, capabilities: Value) {
        let _ = self.link.set(link);
        let _ = self.capabilities.set(capabilities);
        self.on.store(true, Ordering::Release);
    }

    /// Follows a host request the server may ask questions about. `Some`: it is followed
    /// (call [`Asks::end`] when its exchange is over); the notify ends the exchange early.
    pub fn begin(&self, msg: &Message) -> Option<Arc<Notify>> {
        let (Kind::Request { id, method }, Some(raw_id)) = (&msg.kind, &msg.raw_id) else {
            return None;
        };
        if !self.on.load(Ordering::Acquire) || !may_ask(method) {
            return None;
        }
        let mut inner = self.inner();
        if inner.open.len() >= MAX_OPEN || inner.open.contains_key(id) {
            return None;
        }
        let stop = Arc::new(Notify::new());
        inner.open.insert(
            id.clone(),
            Open {
                to: Some((id.clone(), raw_id.clone())),
                raw_id: raw_id.clone(),
                token: progress_token(msg),
                to_token: None,
                state: None,
                rounds: 0,
                asked: Vec::new(),
                queued: Vec::new(),
                held: None,
                stop: stop.clone(),
            },
        );
        Some(stop)
    }

    /// The exchange of host request `x` is over (Streamable HTTP: its response stream ended).
    /// When its answer did not come, the host request waiting for it gets an error.
    pub fn end(&self, x: &Id) {
        let mut inner = self.inner();
        let Some(open) = inner.open.get_mut(x) else { return };
        let failure = Failure::new(
            FailureKind::Stream,
            "the server's answer stream ended before it answered the request it asked the client about",
        );
        match open.to.clone() {
            Some((to, _)) if &to == x => {
                // No round yet: the transport reported what went wrong to the host itself.
                remove(&mut inner, x);
            }
            Some((to, _)) => {
                remove(&mut inner, x);
                drop(inner);
                self.ctx.emit(Event::Failed { id: to, error: failure });
            }
            // (An answer already held stays: the stream ended after it.)
            None => {
                open.held.get_or_insert(Held::Failed(failure));
            }
        }
    }

    /// The server's answer to host request `x` (already as a 2026-07-28 host must get it):
    /// passed on to whichever host request waits for it now.
    pub fn finish(&self, x: &Id, answer: Bytes) {
        let mut inner = self.inner();
        let Some(open) = inner.open.get_mut(x) else {
            drop(inner);
            return self.pass(answer);
        };
        match open.to.clone() {
            Some((to, raw)) => {
                remove(&mut inner, x);
                drop(inner);
                if &to == x {
                    self.pass(answer);
                } else {
                    self.pass(with_id(&answer, &raw));
                }
            }
            None => self.hold(&mut inner, x, answer),
        }
    }

    /// Keeps the server's answer to `x` for the host's retry, within [`HELD_BUDGET`]; past
    /// it, the retry gets an error instead.
    fn hold(&self, inner: &mut Inner, x: &Id, answer: Bytes) {
        let budget = HELD_BUDGET.max(self.ctx.max_message);
        let Some(open) = inner.open.get_mut(x) else { return };
        let before = match open.held.take() {
            Some(Held::Answer(a)) => a.len(),
            _ => 0,
        };
        let others = inner.held_bytes - before;
        if others + answer.len() > budget {
            tracing::warn!(
                bytes = answer.len(),
                "a server's answer must wait for the client's retry, but {others} bytes of others already do; \
                 the retry gets an error"
            );
            open.held = Some(Held::Failed(Failure::new(
                FailureKind::TooLarge,
                format!(
                    "the server answered while the client held an input_required result, and the answers \
                     waiting for retries would exceed {} MiB; this one was dropped",
                    budget >> 20
                ),
            )));
            inner.held_bytes = others;
        } else {
            inner.held_bytes = others + answer.len();
            open.held = Some(Held::Answer(answer));
        }
    }

    fn pass(&self, answer: Bytes) {
        self.ctx.deliver(answer, |_| true);
    }

    /// A notification from the server. `related`: the host request on whose response stream
    /// it came, if any. `true`: handled here — a progress notification for a followed request
    /// the host has retried went to the host with its retry's token (or was dropped: no
    /// request of the host's has a token for it now).
    pub fn progress(&self, m: &Message, related: Option<&Id>) -> bool {
        #[derive(serde::Deserialize)]
        struct Note {
            params: Option<Map<String, Value>>,
        }
        if !self.on.load(Ordering::Acquire) || !m.is_notification("notifications/progress") {
            return false;
        }
        let Some(mut params) = serde_json::from_slice::<Note>(&m.raw).ok().and_then(|n| n.params) else {
            return false;
        };
        let Some(token) = params.get("progressToken").filter(|t| t.is_string() || t.is_number()) else {
            return false;
        };
        let to_token = {
            let inner = self.inner();
            let mine = |o: &&Open| o.token.as_ref() == Some(token);
            let found = match related {
                Some(r) => inner.open.get_key_value(r).filter(|(_, o)| mine(o)),
                None => inner.open.iter().find(|(_, o)| mine(o)),
            };
            let Some((x, open)) = found else { return false };
            match &open.to {
                // The host's first request is still waiting: the token is its own.
                Some((to, _)) if to == x => return false,
                Some(_) => open.to_token.clone(),
                None => None,
            }
        };
        let Some(t) = to_token else {
            tracing::trace!("progress for a request the client holds an input_required answer to: dropped");
            return true;
        };
        params.insert("progressToken".into(), t);
        let out = json!({"jsonrpc": "2.0", "method": "notifications/progress", "params": params});
        self.pass(Bytes::from(
            serde_json::to_vec(&out).expect("serialising JSON cannot fail"),
        ));
        true
    }

    /// A request from the server. `related`: the host request on whose response stream it
    /// came, if any. `true`: handled here (the host does not see it).
    pub fn server_request(self: &Arc<Self>, m: &Message, related: Option<&Id>) -> bool {
        let Kind::Request { method, .. } = &m.kind else {
            return false;
        };
        if !self.on.load(Ordering::Acquire) {
            return false;
        }
        let Some(sid) = m.raw_id.clone() else { return false };
        match &**method {
            // Liveness is the bridge's business; a 2026-07-28 host has no ping to answer.
            "ping" => {
                self.reply(answer(&sid, json!({})));
                return true;
            }
            "elicitation/create" | "sampling/createMessage" | "roots/list" => {
                let kind = method.split('/').next().unwrap_or_default();
                if self.capabilities.get().and_then(|c| c.get(kind)).is_none() {
                    let why = format!("mcp-valet: the client did not declare the {kind} capability");
                    self.reply(error(&sid, METHOD_NOT_FOUND, &why));
                    return true;
                }
            }
            other => {
                let why = format!(
                    "mcp-valet: a {} client cannot take {other}",
                    crate::bridge::remote::era::MODERN
                );
                self.reply(error(&sid, METHOD_NOT_FOUND, &why));
                return true;
            }
        }
        let mut inner = self.inner();
        let x = match related {
            Some(r) => inner.open.contains_key(r).then(|| r.clone()),
            // No stream ties it to a request (HTTP+SSE, or the GET stream): it belongs to
            // the one host request in flight that may be answered with input_required.
            None if inner.open.len() == 1 => inner.open.keys().next().cloned(),
            None => None,
        };
        let Some(x) = x else {
            drop(inner);
            let why = "mcp-valet: this request is not related to a client request in flight that could carry it \
                       (a 2026-07-28 client takes questions only as input_required results of tools/call, \
                       resources/read and prompts/get)";
            self.reply(error(&sid, INVALID_PARAMS, why));
            return true;
        };
        let open = inner.open.get_mut(&x).expect("checked");
        let too_many = if open.rounds >= MAX_ROUNDS {
            Some(format!(
                "mcp-valet: more than {MAX_ROUNDS} rounds of questions for one client request"
            ))
        } else if open.queued.len() >= MAX_QUEUED {
            Some(format!(
                "mcp-valet: more than {MAX_QUEUED} questions at once for one client request"
            ))
        } else {
            None
        };
        if let Some(why) = too_many {
            drop(inner);
            self.reply(error(&sid, INTERNAL_ERROR, &why));
            return true;
        }
        if open.to.is_some() {
            let round = self.round(&mut inner, &x, vec![m.clone()]);
            drop(inner);
            self.emit_round(round);
        } else {
            open.queued.push(m.clone());
        }
        true
    }

    /// Asks the host: the request waiting now gets an `input_required` answer.
    fn round(self: &Arc<Self>, inner: &mut Inner, x: &Id, questions: Vec<Message>) -> Option<Round> {
        let open = inner.open.get_mut(x)?;
        let (_, to) = open.to.take()?;
        open.rounds += 1;
        let token = format!(
            "{STATE_PREFIX}{}/{}",
            self.serial.fetch_add(1, Ordering::Relaxed),
            open.rounds
        );
        let mut requests = Map::new();
        open.asked.clear();
        for (i, q) in questions.iter().enumerate() {
            let key = format!("q{}", i + 1);
            let v: Value = serde_json::from_slice(&q.raw).unwrap_or(Value::Null);
            let mut request = Map::new();
            request.insert("method".into(), v.get("method").cloned().unwrap_or(Value::Null));
            if let Some(p) = v.get("params").filter(|p| p.is_object()) {
                request.insert("params".into(), p.clone());
            }
            requests.insert(key.clone(), Value::Object(request));
            if let Some(sid) = &q.raw_id {
                open.asked.push((key, sid.clone()));
            }
        }
        let old = open.state.replace(token.clone());
        if let Some(old) = old {
            inner.states.remove(&old);
        }
        inner.states.insert(token.clone(), x.clone());
        let result = json!({
            "resultType": "input_required",
            "inputRequests": requests,
            "requestState": token,
        });
        let raw = format!(r#"{{"jsonrpc":"2.0","id":{},"result":{result}}}"#, to.get());
        // The host has request_timeout to retry; then the server is told to stop.
        let me = self.clone();
        let (x, t) = (x.clone(), token);
        tokio::spawn(async move {
            tokio::time::sleep(me.ctx.request_timeout).await;
            me.abandon(&x, Some(&t), "the client did not retry with the answers in time");
        });
        Some(Round(Bytes::from(raw)))
    }

    fn emit_round(&self, round: Option<Round>) {
        if let Some(Round(raw)) = round {
            self.pass(raw);
        }
    }

    /// The host's retry of a request answered with `input_required`. `None`: not a retry of
    /// the bridge's (it goes to the server as it is). `Some(true)`: taken; the answer comes
    /// when the server gives it.
    pub fn retry(self: &Arc<Self>, msg: &Message) -> Option<bool> {
        #[derive(serde::Deserialize)]
        struct Req {
            params: Option<Params>,
        }
        #[derive(serde::Deserialize)]
        struct Params {
            #[serde(rename = "requestState")]
            state: Option<String>,
            #[serde(rename = "inputResponses")]
            responses: Option<Map<String, Value>>,
        }
        if !self.on.load(Ordering::Acquire) {
            return None;
        }
        let (Kind::Request { id, .. }, Some(raw_id)) = (&msg.kind, &msg.raw_id) else {
            return None;
        };
        let params = serde_json::from_slice::<Req>(&msg.raw).ok()?.params?;
        let state = params.state.filter(|s| s.starts_with(STATE_PREFIX))?;
        let responses = params.responses.unwrap_or_default();
        let mut inner = self.inner();
        let x = inner.states.get(&state).cloned();
        let open = x.as_ref().and_then(|x| inner.open.get_mut(x));
        let Some(open) = open.filter(|o| o.to.is_none() && o.state.as_deref() == Some(&*state)) else {
            drop(inner);
            let f =
                Failure::new(FailureKind::InvalidRequest, "invalid or expired requestState").with_code(INVALID_PARAMS);
            self.ctx.fail(msg, f);
            return Some(false);
        };
        let x = x.expect("found");
        open.to = Some((id.clone(), raw_id.clone()));
        open.to_token = progress_token(msg);
        let replies: Vec<Message> = open
            .asked
            .drain(..)
            .map(|(key, sid)| match responses.get(&key) {
                Some(r) => answer(&sid, r.clone()),
                None => error(&sid, INTERNAL_ERROR, "mcp-valet: the client gave no answer"),
            })
            .collect();
        let held = open.held.take();
        let queued = std::mem::take(&mut open.queued);
        if let Some(Held::Answer(a)) = &held {
            inner.held_bytes -= a.len();
        }
        let mut round = None;
        match held {
            Some(h) => {
                remove(&mut inner, &x);
                drop(inner);
                match h {
                    Held::Answer(a) => self.pass(with_id(&a, raw_id)),
                    Held::Failed(f) => self.ctx.fail(msg, f),
                }
            }
            None if !queued.is_empty() => {
                round = self.round(&mut inner, &x, queued);
                drop(inner);
            }
            None => drop(inner),
        }
        for r in replies {
            self.reply(r);
        }
        self.emit_round(round);
        Some(true)
    }

    /// The host cancelled request `target`. `true`: it was one followed here (the first
    /// request or a retry); the server is told to stop working on the first one.
    pub fn cancel(&self, target: &Id) -> bool {
        let x = {
            let inner = self.inner();
            inner
                .open
                .iter()
                .find(|(x, o)| *x == target || o.to.as_ref().is_some_and(|(to, _)| to == target))
                .map(|(x, _)| x.clone())
        };
        match x {
            // The host's own cancellation names the server's request: it goes on as it is.
            Some(x) if &x == target => {
                self.abandon(&x, None, "");
                false
            }
            Some(x) => {
                self.abandon(&x, None, "cancelled by the client");
                true
            }
            None => false,
        }
    }

    /// Stops following host request `x` (when `state` is still its live one): the server's
    /// open questions get an error, and the server is told to stop (unless `why` is empty:
    /// the host told it itself).
    fn abandon(&self, x: &Id, state: Option<&str>, why: &str) {
        let open = {
            let mut inner = self.inner();
            let live = inner
                .open
                .get(x)
                .is_some_and(|o| state.is_none() || (o.to.is_none() && o.state.as_deref() == state));
            if !live {
                return;
            }
            remove(&mut inner, x).expect("present")
        };
        if !why.is_empty() {
            tracing::debug!(%x, "the bridge stops a request the server asked the client about: {why}");
        }
        for (_, sid) in &open.asked {
            self.reply(error(
                sid,
                INTERNAL_ERROR,
                "mcp-valet: the client's request was abandoned",
            ));
        }
        // A server that has answered already has nothing to stop.
        if !why.is_empty() && open.held.is_none() {
            let cancel = format!(
                r#"{{"jsonrpc":"2.0","method":"notifications/cancelled","params":{{"requestId":{},"reason":{}}}}}"#,
                open.raw_id.get(),
                Value::String(why.into())
            );
            self.reply(built(Bytes::from(cancel)));
        }
        open.stop.notify_one();
    }

    /// The HTTP+SSE event stream closed: nothing followed here will be answered.
    pub fn lost(&self) {
        if !self.on.load(Ordering::Acquire) {
            return;
        }
        let mut inner = self.inner();
        inner.open.clear();
        inner.states.clear();
        inner.held_bytes = 0;
    }

    /// Sends a message of the bridge's own to the server, in the background.
    fn reply(&self, msg: Message) {
        let Some(link) = self.link.get().cloned() else { return };
        let deadline = Instant::now() + self.ctx.request_timeout;
        tokio::spawn(async move { link.post(&msg, deadline).await });
    }
}

struct Round(Bytes);

/// Stops following host request `x`: its state is forgotten, its held answer let go.
fn remove(inner: &mut Inner, x: &Id) -> Option<Open> {
    let o = inner.open.remove(x)?;
    if let Some(s) = &o.state {
        inner.states.remove(s);
    }
    if let Some(Held::Answer(a)) = &o.held {
        inner.held_bytes -= a.len();
    }
    Some(o)
}

/// A request's `params._meta.progressToken` (a string or a number).
fn progress_token(msg: &Message) -> Option<Value> {
    #[derive(serde::Deserialize)]
    struct Req {
        params: Option<Params>,
    }
    #[derive(serde::Deserialize)]
    struct Params {
        #[serde(rename = "_meta")]
        meta: Option<Meta>,
    }
    #[derive(serde::Deserialize)]
    struct Meta {
        #[serde(rename = "progressToken")]
        token: Option<Value>,
    }
    let token = serde_json::from_slice::<Req>(&msg.raw).ok()?.params?.meta?.token?;
    (token.is_string() || token.is_number()).then_some(token)
}

/// The answer with the id of another request (the host's retry).
fn with_id(answer: &Bytes, raw_id: &RawValue) -> Bytes {
    let Ok(Value::Object(mut v)) = serde_json::from_slice::<Value>(answer) else {
        return answer.clone();
    };
    v.insert("id".into(), serde_json::from_str(raw_id.get()).unwrap_or(Value::Null));
    Bytes::from(serde_json::to_vec(&v).expect("serialising JSON cannot fail"))
}

fn built(raw: Bytes) -> Message {
    match message::parse(raw) {
        Ok(Parsed::Single(m)) => m,
        _ => unreachable!("a message built here parses"),
    }
}

fn answer(id: &RawValue, result: Value) -> Message {
    built(Bytes::from(format!(
        r#"{{"jsonrpc":"2.0","id":{},"result":{result}}}"#,
        id.get()
    )))
}

fn error(id: &RawValue, code: i64, message: &str) -> Message {
    let e = json!({"code": code, "message": message, "data": {"source": "mcp-valet"}});
    built(Bytes::from(format!(
        r#"{{"jsonrpc":"2.0","id":{},"error":{e}}}"#,
        id.get()
    )))
}
