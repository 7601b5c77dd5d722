//! A 2026-07-28 host (one that probes with `server/discover`, or sends the request envelope
//! from the start) in front of a server of the initialize-based revisions: the bridge makes
//! the handshake itself, once, from the host's envelope (its capabilities and `clientInfo`),
//! answers `server/discover` from the server's `initialize` result, and sends the host's
//! requests on that session without the envelope (a changed `logLevel` becomes
//! `logging/setLevel`). The session is on Streamable HTTP or, for a server that has only
//! that, on the 2024-11-05 HTTP+SSE transport ([`Link`]); the server's own requests become
//! `input_required` rounds ([`Asks`]).

mod asks;
mod link;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Instant;

use bytes::Bytes;
use serde_json::value::RawValue;
use serde_json::{Map, Value, json};

use super::ctx::{Ctx, Event};
use super::era;
use crate::bridge::message::{self, Id, Kind, Message, Parsed};
use crate::failure::{Failure, FailureKind};
pub use asks::Asks;
pub use link::Link;

/// The keys of the 2026-07-28 envelope in a request's `params._meta`.
const ENVELOPE: [&str; 4] = [
    era::META_VERSION,
    era::META_CAPABILITIES,
    era::META_CLIENT_INFO,
    era::META_LOG_LEVEL,
];

/// The host's open `subscriptions/listen` requests. The server's change notifications are
/// sent to each one that asked for them, with its `subscriptionId` (see [`Listeners::route`]).
#[derive(Default)]
pub struct Listeners {
    on: AtomicBool,
    list: std::sync::Mutex<Vec<Listen>>,
}

/// At most this many listen requests open at once.
const MAX_LISTENS: usize = 64;
/// Resources one listen request may subscribe to.
const MAX_URIS: usize = 1024;

struct Listen {
    id: Id,
    raw_id: Box<RawValue>,
    tools: bool,
    prompts: bool,
    resources: bool,
    uris: BTreeSet<String>,
}

impl Listeners {
    fn list(&self) -> std::sync::MutexGuard<'_, Vec<Listen>> {
        self.list.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Passes a change notification from the server to the listen requests it concerns.
    /// `false`: not one of them (or nobody listens); the caller passes it on as it is.
    pub fn route(&self, m: &Message, ctx: &Ctx) -> bool {
        if !self.on.load(Ordering::Acquire) {
            return false;
        }
        let Kind::Notification { method } = &m.kind else {
            return false;
        };
        let uri = || -> Option<String> {
            let v: Value = serde_json::from_slice(&m.raw).ok()?;
            v.pointer("/params/uri")?.as_str().map(str::to_owned)
        };
        let list = self.list();
        let targets: Vec<&Listen> = match &**method {
            "notifications/tools/list_changed" => list.iter().filter(|l| l.tools).collect(),
            "notifications/prompts/list_changed" => list.iter().filter(|l| l.prompts).collect(),
            "notifications/resources/list_changed" => list.iter().filter(|l| l.resources).collect(),
            "notifications/resources/updated" => {
                let Some(uri) = uri() else { return false };
                list.iter().filter(|l| l.uris.contains(&uri)).collect()
            }
            _ => return false,
        };
        if list.is_empty() {
            return false;
        }
        let Ok(Value::Object(mut v)) = serde_json::from_slice::<Value>(&m.raw) else {
            return false;
        };
        for l in targets {
            let id: Value = serde_json::from_str(l.raw_id.get()).unwrap_or(Value::Null);
            let params = v.entry("params").or_insert_with(|| json!({}));
            if let Some(p) = params.as_object_mut() {
                let meta = p.entry("_meta").or_insert_with(|| json!({}));
                if let Some(meta) = meta.as_object_mut() {
                    meta.insert(SUBSCRIPTION_ID.into(), id);
                }
            }
            emit(ctx, &Value::Object(v.clone()));
        }
        true
    }
}

const SUBSCRIPTION_ID: &str = "io.modelcontextprotocol/subscriptionId";

fn emit(ctx: &Ctx, v: &Value) {
    match message::parse(Bytes::from(
        serde_json::to_vec(v).expect("serialising JSON cannot fail"),
    )) {
        Ok(Parsed::Single(m)) => ctx.emit(Event::Inbound(m)),
        _ => tracing::warn!("mcp-valet built a message that does not parse; this is a bug"),
    }
}

pub struct Downgrade {
    ctx: Arc<Ctx>,
    listeners: Arc<Listeners>,
    asks: Arc<Asks>,
    /// The host speaks 2026-07-28 to a server of the older revisions.
    on: AtomicBool,
    /// The `result` of the bridge's own `initialize`, once made.
    init: tokio::sync::Mutex<Option<Value>>,
    /// The level last sent with `logging/setLevel`.
    log_level: std::sync::Mutex<Option<String>>,
    next_id: AtomicU64,
}

/// What a host request carries in `params._meta`, when it is the 2026-07-28 envelope.
#[derive(Default)]
struct Envelope {
    capabilities: Option<Value>,
    client_info: Option<Value>,
    log_level: Option<String>,
}

/// The host's envelope, when the message is a request that carries one (`None` otherwise).
fn envelope(msg: &Message) -> Option<Envelope> {
    #[derive(serde::Deserialize)]
    struct Req<'a> {
        #[serde(borrow)]
        params: Option<Params<'a>>,
    }
    #[derive(serde::Deserialize)]
    struct Params<'a> {
        #[serde(rename = "_meta", borrow)]
        meta: Option<Meta<'a>>,
    }
    #[derive(serde::Deserialize)]
    struct Meta<'a> {
        #[serde(rename = "io.modelcontextprotocol/protocolVersion", borrow)]
        version: Option<&'a RawValue>,
        #[serde(rename = "io.modelcontextprotocol/clientCapabilities")]
        capabilities: Option<Value>,
        #[serde(rename = "io.modelcontextprotocol/clientInfo")]
        client_info: Option<Value>,
        #[serde(rename = "io.modelcontextprotocol/logLevel")]
        log_level: Option<String>,
    }
    if !matches!(msg.kind, Kind::Request { .. }) {
        return None;
    }
    let meta = serde_json::from_slice::<Req>(&msg.raw).ok()?.params?.meta?;
    meta.version?;
    Some(Envelope {
        capabilities: meta.capabilities.filter(Value::is_object),
        client_info: meta.client_info.filter(|v| v.get("name").is_some_and(Value::is_string)),
        log_level: meta.log_level,
    })
}

/// Whether a message of a host that has not made a handshake shows a 2026-07-28 host.
pub fn modern_host(msg: &Message) -> bool {
    msg.is_request("server/discover") || (!msg.is_request("initialize") && envelope(msg).is_some())
}

impl Downgrade {
    pub fn new(ctx: Arc<Ctx>, listeners: Arc<Listeners>, asks: Arc<Asks>) -> Downgrade {
        Downgrade {
            ctx,
            listeners,
            asks,
            on: AtomicBool::new(false),
            init: tokio::sync::Mutex::new(None),
            log_level: std::sync::Mutex::new(None),
            next_id: AtomicU64::new(1),
        }
    }

    pub fn on(&self) -> bool {
        self.on.load(Ordering::Acquire)
    }

    fn our_id(&self) -> String {
        format!("mcp-valet-{}", self.next_id.fetch_add(1, Ordering::Relaxed))
    }

    /// Starts the session with the server (once): `initialize` made from the host's envelope,
    /// then `notifications/initialized`. From then on the host is taken for a 2026-07-28 one.
    pub async fn start(&self, link: &Link, msg: &Message, deadline: Instant) -> Result<(), Failure> {
        let mut init = self.init.lock().await;
        if init.is_some() {
            return Ok(());
        }
        let env = envelope(msg).unwrap_or_default();
        let capabilities = env.capabilities.unwrap_or_else(|| json!({}));
        let params = json!({
            "protocolVersion": era::LEGACY_VERSIONS[0],
            "capabilities": capabilities.clone(),
            "clientInfo": env.client_info.unwrap_or_else(
                || json!({"name": "mcp-valet", "version": env!("CARGO_PKG_VERSION")})
            ),
        });
        let request = built(json!({"jsonrpc": "2.0", "id": self.our_id(), "method": "initialize", "params": params}));
        let initialized = built(json!({"jsonrpc": "2.0", "method": "notifications/initialized"}));
        let answer = link.handshake(request, initialized, deadline).await?;
        let answer: Value = answer
            .and_then(|a| serde_json::from_slice(&a).ok())
            .unwrap_or(Value::Null);
        let Some(result) = answer.get("result").filter(|r| r.is_object()) else {
            let why = answer
                .pointer("/error/message")
                .and_then(Value::as_str)
                .map_or_else(|| "no result".to_owned(), |m| m.chars().take(200).collect());
            return Err(Failure::new(
                FailureKind::Protocol,
                format!("the server refused the bridge's initialize: {why}"),
            ));
        };
        tracing::info!(
            version = %result["protocolVersion"],
            "a {} host in front of a server of the older revisions: the bridge made the handshake",
            era::MODERN
        );
        *init = Some(result.clone());
        self.asks.start(link.clone(), capabilities);
        self.on.store(true, Ordering::Release);
        Ok(())
    }

    /// Delivers one message of a 2026-07-28 host on the session the bridge made.
    pub async fn send(&self, link: &Link, msg: &Message, permit: super::ctx::Permit, deadline: Instant) -> bool {
        if msg.is_request("server/discover") {
            self.discover(msg).await;
            return true;
        }
        if msg.is_request("subscriptions/listen") {
            return self.listen(link, msg, deadline).await;
        }
        if let Some(target) = &msg.cancel_target {
            if self.unlisten(link, target, deadline).await {
                return true;
            }
            if let Link::Sse(s) = link {
                s.forget(target);
            }
            if self.asks.cancel(target) {
                return true; // a retry of the bridge's: the server was told about its request
            }
        }
        if let Some(taken) = self.asks.retry(msg) {
            return taken;
        }
        let Some(env) = envelope(msg) else {
            return self.deliver(link, msg, permit, deadline).await;
        };
        if let Some(level) = env.log_level
            && let Err(e) = self.set_level(link, level, deadline).await
        {
            self.ctx.fail(msg, e);
            return false;
        }
        let plain = match strip(msg) {
            Some(m) => m,
            None => msg.clone(),
        };
        self.deliver(link, &plain, permit, deadline).await
    }

    /// Sends a host message on the session; a request the server may ask questions about is
    /// followed (see [`Asks`]) until its exchange is over.
    async fn deliver(&self, link: &Link, msg: &Message, permit: super::ctx::Permit, deadline: Instant) -> bool {
        let Some(stop) = self.asks.begin(msg) else {
            return link.send(msg, permit, deadline).await;
        };
        if !link.answers_on_exchange() {
            // HTTP+SSE: the answer comes on the event stream, where it is matched by its id.
            let delivered = link.send(msg, permit, deadline).await;
            if !delivered && let Some(x) = msg.request_id() {
                self.asks.end(x);
            }
            return delivered;
        }
        // Also when the task is stopped (the relay gave up on the request).
        let _end = Ended(&self.asks, msg.request_id());
        tokio::select! {
            d = link.send(msg, permit, deadline) => d,
            () = stop.notified() => true,
        }
    }

    /// The host's `subscriptions/listen`: acknowledged with what the server can notify, its
    /// resources subscribed to on the session; the request stays open (the server's change
    /// notifications go to it) until the host cancels it.
    async fn listen(&self, link: &Link, msg: &Message, deadline: Instant) -> bool {
        let (Some(id), Some(raw_id)) = (msg.request_id().cloned(), msg.raw_id.clone()) else {
            return false;
        };
        let caps = self
            .init
            .lock()
            .await
            .as_ref()
            .and_then(|i| i.get("capabilities").cloned())
            .unwrap_or(Value::Null);
        let v: Value = serde_json::from_slice(&msg.raw).unwrap_or(Value::Null);
        let asked = v.pointer("/params/notifications").cloned().unwrap_or(Value::Null);
        let can = |kind: &str| caps.pointer(&format!("/{kind}/listChanged")) == Some(&Value::Bool(true));
        let wants = |key: &str| asked.get(key) == Some(&Value::Bool(true));
        let subscribe = caps.pointer("/resources/subscribe") == Some(&Value::Bool(true));
        let mut listen = Listen {
            id,
            raw_id,
            tools: wants("toolsListChanged") && can("tools"),
            prompts: wants("promptsListChanged") && can("prompts"),
            resources: wants("resourcesListChanged") && can("resources"),
            uris: BTreeSet::new(),
        };
        if subscribe && let Some(uris) = asked.get("resourceSubscriptions").and_then(Value::as_array) {
            for uri in uris.iter().filter_map(Value::as_str).take(MAX_URIS) {
                let req = built(json!({
                    "jsonrpc": "2.0", "id": self.our_id(), "method": "resources/subscribe", "params": {"uri": uri}
                }));
                match link.call_quiet(&req, deadline).await {
                    Ok(_) => {
                        listen.uris.insert(uri.to_owned());
                    }
                    Err(e) => tracing::debug!("subscribing to a resource for the client failed: {e}"),
                }
            }
        }
        {
            let mut list = self.listeners.list();
            if list.len() >= MAX_LISTENS {
                drop(list);
                self.ctx.fail(
                    msg,
                    Failure::new(
                        FailureKind::InvalidRequest,
                        format!("at most {MAX_LISTENS} subscriptions/listen requests at once"),
                    ),
                );
                return false;
            }
            let mut honoured = Map::new();
            for (on, key) in [
                (listen.tools, "toolsListChanged"),
                (listen.prompts, "promptsListChanged"),
                (listen.resources, "resourcesListChanged"),
            ] {
                if on {
                    honoured.insert(key.into(), Value::Bool(true));
                }
            }
            if !listen.uris.is_empty() {
                honoured.insert("resourceSubscriptions".into(), json!(listen.uris));
            }
            let id: Value = serde_json::from_str(listen.raw_id.get()).unwrap_or(Value::Null);
            emit(
                &self.ctx,
                &json!({
                    "jsonrpc": "2.0",
                    "method": "notifications/subscriptions/acknowledged",
                    "params": {"notifications": honoured, "_meta": {SUBSCRIPTION_ID: id}},
                }),
            );
            list.push(listen);
            self.listeners.on.store(true, Ordering::Release);
        }
        true
    }

    /// The host cancelled a listen request: forget it, and the subscriptions only it held.
    /// `false`: the cancellation is for something else.
    async fn unlisten(&self, link: &Link, target: &Id, deadline: Instant) -> bool {
        let gone = {
            let mut list = self.listeners.list();
            let Some(i) = list.iter().position(|l| &l.id == target) else {
                return false;
            };
            let gone = list.swap_remove(i);
            let kept: BTreeSet<&String> = list.iter().flat_map(|l| &l.uris).collect();
            gone.uris.into_iter().filter(|u| !kept.contains(u)).collect::<Vec<_>>()
        };
        for uri in gone {
            let req = built(json!({
                "jsonrpc": "2.0", "id": self.our_id(), "method": "resources/unsubscribe", "params": {"uri": uri}
            }));
            if let Err(e) = link.call_quiet(&req, deadline).await {
                tracing::debug!("unsubscribing from a resource failed: {e}");
            }
        }
        true
    }

    /// Answers `server/discover` from the server's `initialize` result.
    async fn discover(&self, msg: &Message) {
        let init = self.init.lock().await.clone().unwrap_or_else(|| json!({}));
        let mut result = Map::new();
        result.insert("supportedVersions".into(), json!([era::MODERN]));
        let mut caps = init.get("capabilities").cloned().unwrap_or_else(|| json!({}));
        if let Some(c) = caps.as_object_mut() {
            // Tasks are an extension in 2026-07-28, which the bridge does not translate.
            c.remove("tasks");
        }
        result.insert("capabilities".into(), caps);
        if let Some(i) = init.get("instructions").filter(|i| i.is_string()) {
            result.insert("instructions".into(), i.clone());
        }
        if let Some(info) = init.get("serverInfo").filter(|i| i.is_object()) {
            result.insert("_meta".into(), json!({ era::META_SERVER_INFO: info }));
        }
        result.insert("resultType".into(), json!("complete"));
        result.insert("ttlMs".into(), json!(0));
        result.insert("cacheScope".into(), json!("private"));
        let id = msg.raw_id.as_deref().map(RawValue::get).unwrap_or("null");
        let raw = format!(r#"{{"jsonrpc":"2.0","id":{id},"result":{}}}"#, Value::Object(result));
        match message::parse(Bytes::from(raw)) {
            Ok(Parsed::Single(m)) => self.ctx.emit(Event::Inbound(m)),
            _ => tracing::warn!("mcp-valet built a message that does not parse; this is a bug"),
        }
    }

    /// The host's `_meta` log level, sent as `logging/setLevel` when it changed (and the
    /// server offers logging).
    async fn set_level(&self, link: &Link, level: String, deadline: Instant) -> Result<(), Failure> {
        if self.log_level.lock().unwrap_or_else(|e| e.into_inner()).as_deref() == Some(&level) {
            return Ok(());
        }
        let logging = self
            .init
            .lock()
            .await
            .as_ref()
            .is_some_and(|i| i.pointer("/capabilities/logging").is_some());
        if logging {
            let req = built(json!({
                "jsonrpc": "2.0", "id": self.our_id(), "method": "logging/setLevel", "params": {"level": level}
            }));
            let answer = link.call_quiet(&req, deadline).await?;
            if let Ok(v) = serde_json::from_slice::<Value>(&answer)
                && let Some(m) = v.pointer("/error/message").and_then(Value::as_str)
            {
                tracing::debug!("the server refused logging/setLevel: {m}");
            }
        }
        *self.log_level.lock().unwrap_or_else(|e| e.into_inner()) = Some(level);
        Ok(())
    }
}

/// Tells [`Asks`] that a host request's exchange is over, however it ends.
struct Ended<'a>(&'a Asks, Option<&'a Id>);

impl Drop for Ended<'_> {
    fn drop(&mut self) {
        if let Some(x) = self.1 {
            self.0.end(x);
        }
    }
}

fn built(v: Value) -> Message {
    match message::parse(Bytes::from(
        serde_json::to_vec(&v).expect("serialising JSON cannot fail"),
    )) {
        Ok(Parsed::Single(m)) => m,
        _ => unreachable!("a message built here parses"),
    }
}

/// The request without the envelope's keys in `params._meta` (and without `_meta` when
/// nothing else was in it). `None` when it cannot be rewritten (then it goes as it is).
fn strip(msg: &Message) -> Option<Message> {
    let mut v: Map<String, Value> = serde_json::from_slice(&msg.raw).ok()?;
    let params = v.get_mut("params")?.as_object_mut()?;
    let meta = params.get_mut("_meta")?.as_object_mut()?;
    for k in ENVELOPE {
        meta.remove(k);
    }
    if meta.is_empty() {
        params.remove("_meta");
    }
    match message::parse(Bytes::from(serde_json::to_vec(&v).ok()?)) {
        Ok(Parsed::Single(m)) => Some(m),
        _ => None,
    }
}

/// A server's answer as a 2026-07-28 host must get it: every result says `resultType`, and
/// the results a client may cache say for how long (`ttlMs` 0: not at all) and for whom.
pub fn as_modern(request: &Message, answer: Bytes) -> Bytes {
    match &request.kind {
        Kind::Request { method, .. } => as_modern_for(method, answer),
        _ => answer,
    }
}

/// [`as_modern`] for the answer to a request of method `method`.
pub fn as_modern_for(method: &str, answer: Bytes) -> Bytes {
    #[derive(serde::Deserialize)]
    struct Resp<'a> {
        #[serde(borrow)]
        result: Option<&'a RawValue>,
    }
    #[derive(serde::Deserialize)]
    struct Has<'a> {
        #[serde(rename = "resultType", borrow)]
        result_type: Option<&'a RawValue>,
        #[serde(rename = "ttlMs", borrow)]
        ttl: Option<&'a RawValue>,
        #[serde(rename = "cacheScope", borrow)]
        scope: Option<&'a RawValue>,
    }
    let cacheable = matches!(
        method,
        "tools/list" | "prompts/list" | "resources/list" | "resources/templates/list" | "resources/read"
    );
    let Some(result) = serde_json::from_slice::<Resp>(&answer).ok().and_then(|r| r.result) else {
        return answer;
    };
    let Ok(has) = serde_json::from_str::<Has>(result.get()) else {
        return answer; // not an object
    };
    let mut add = String::new();
    if has.result_type.is_none() {
        add.push_str(r#""resultType":"complete","#);
    }
    if cacheable && has.ttl.is_none() {
        add.push_str(r#""ttlMs":0,"#);
    }
    if cacheable && has.scope.is_none() {
        add.push_str(r#""cacheScope":"private","#);
    }
    if add.is_empty() {
        return answer;
    }
    let text = result.get();
    let open = text.as_ptr() as usize - answer.as_ptr() as usize + text.find('{').unwrap_or(0) + 1;
    if text[text.find('{').unwrap_or(0) + 1..].trim_start().starts_with('}') {
        add.pop(); // an empty object: no comma before its end
    }
    let mut out = Vec::with_capacity(answer.len() + add.len());
    out.extend_from_slice(&answer[..open]);
    out.extend_from_slice(add.as_bytes());
    out.extend_from_slice(&answer[open..]);
    Bytes::from(out)
}
