//! What the parts of the 2026-07-28 transport share: `Modern` and its state, the bounds, helpers.

use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicBool, AtomicU64};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use serde_json::value::RawValue;
use serde_json::{Map, Value};
use tokio::sync::oneshot;
use tokio::task::AbortHandle;

use crate::bridge::message::{self, Id, Message, Parsed};
use crate::bridge::remote::ctx::{Ctx, Event};
use crate::bridge::remote::era::{self, Envelope, ParamHeader};
use crate::failure::{Failure, FailureKind};

pub(super) const ACCEPT_BOTH: &str = "application/json, text/event-stream";
/// Rounds of `input_required` for one request, as the SDKs and mcp-remote bound them.
pub(super) const MAX_ROUNDS: usize = 10;
/// Input requests in one round.
pub(super) const MAX_INPUTS: usize = 16;
/// Tools whose `x-mcp-header` annotations are remembered.
pub(super) const MAX_TOOLS: usize = 10_000;
/// Resources the host may subscribe to at once.
pub(super) const MAX_SUBSCRIPTIONS: usize = 1024;
/// Pages of `tools/list` read when re-listing after a header mismatch.
pub(super) const MAX_PAGES: usize = 50;
/// A discover result may answer an `initialize` this long after it was fetched, whatever its
/// `ttlMs` (it is then the answer to that very `initialize`).
pub(super) const DISCOVER_FRESH: Duration = Duration::from_secs(5);
/// JSON-RPC's invalid-params code.
pub(super) const INVALID_PARAMS: i64 = -32602;
/// Consecutive failures of the listen stream before giving up on it.
pub(super) const LISTEN_ATTEMPTS: u32 = 8;
/// How long a listen stream must have stayed open for its end to count as a success (the
/// failures in a row start again from zero).
pub(super) const LISTEN_STEADY: Duration = Duration::from_secs(10);

pub struct Modern {
    pub(super) ctx: Arc<Ctx>,
    pub(super) state: Mutex<State>,
    pub(super) next_id: AtomicU64,
    /// The host's answers we wait for, by the id of our request to it.
    pub(super) waiting: Mutex<HashMap<Id, oneshot::Sender<Bytes>>>,
    /// The host's requests being worked on, to cancel them.
    pub(super) running: Mutex<HashMap<Id, Running>>,
    /// The server answered like a handshake-era server: the era must be decided again.
    pub(super) stale: AtomicBool,
}

#[derive(Default)]
pub(super) struct Running {
    pub(super) task: Option<AbortHandle>,
    /// Our requests to the host on its behalf (input requests) not answered yet.
    pub(super) inputs: Vec<Id>,
}

#[derive(Default)]
pub(super) struct State {
    /// The last discover result and when it may no longer answer an `initialize`.
    pub(super) discover: Option<(Value, Instant)>,
    /// The server's capabilities (from discover), for the listen filter.
    pub(super) server_caps: Value,
    pub(super) host_version: Option<String>,
    /// The host's capabilities as it declared them, and as sent in the envelope.
    pub(super) host_caps: Value,
    pub(super) capabilities: Value,
    pub(super) client_info: Value,
    pub(super) log_level: Option<String>,
    pub(super) subscriptions: BTreeSet<String>,
    pub(super) tools: HashMap<String, Vec<ParamHeader>>,
    /// The host's `initialize` and `notifications/initialized`, should the server turn out to
    /// speak the handshake-era revisions after all.
    pub(super) handshake: Option<(Message, Option<Message>)>,
    pub(super) initialized: bool,
    pub(super) listener: Option<AbortHandle>,
    pub(super) closed: bool,
}

/// The server's answer to one request: the HTTP status and the JSON-RPC response, kept as
/// the bytes it came in (a result may be megabytes: it is passed on without being parsed
/// into a tree and written again).
pub(super) struct Reply {
    pub(super) status: u16,
    pub(super) raw: Bytes,
    /// Where the response's `result` (or `error`) is in `raw`.
    pub(super) part: Part,
}

#[derive(Clone)]
pub(super) struct Part {
    pub(super) error: bool,
    pub(super) range: std::ops::Range<usize>,
}

impl Reply {
    /// A response (its `result` or `error`) read from `raw`; `None` when it is neither.
    pub(super) fn parse(status: u16, raw: Bytes) -> Option<Reply> {
        let head: Head = serde_json::from_slice(&raw).ok()?;
        let (error, part) = match (head.result, head.error) {
            (Some(r), _) => (false, r),
            (None, Some(e)) => (true, e),
            _ => return None,
        };
        let text = part.get();
        let start = text.as_ptr() as usize - raw.as_ptr() as usize;
        let range = start..start + text.len();
        Some(Reply {
            status,
            raw,
            part: Part { error, range },
        })
    }

    /// The `result` or `error`, as JSON text.
    pub(super) fn part_text(&self) -> &str {
        std::str::from_utf8(&self.raw[self.part.range.clone()]).expect("a slice of parsed JSON")
    }

    /// The `error` object, when the response is one.
    pub(super) fn error(&self) -> Option<Value> {
        if !self.part.error {
            return None;
        }
        Some(serde_json::from_str(self.part_text()).unwrap_or(Value::Null))
    }

    /// The whole response as a tree (for the rare answers the bridge changes or reads through).
    pub(super) fn value(&self) -> Value {
        serde_json::from_slice(&self.raw).unwrap_or(Value::Null)
    }

    /// The response as one line with `id` (the host's, as it wrote it) instead of ours.
    pub(super) fn with_id(&self, id: &RawValue) -> Bytes {
        let key = if self.part.error { "error" } else { "result" };
        let part = &self.raw[self.part.range.clone()];
        let mut out = Vec::with_capacity(part.len() + id.get().len() + 40);
        out.extend_from_slice(br#"{"jsonrpc":"2.0","id":"#);
        out.extend_from_slice(id.get().as_bytes());
        out.extend_from_slice(b",\"");
        out.extend_from_slice(key.as_bytes());
        out.extend_from_slice(b"\":");
        out.extend_from_slice(part);
        out.push(b'}');
        message::one_line(Bytes::from(out))
    }
}

/// What telling messages apart needs, borrowed from their bytes.
#[derive(serde::Deserialize)]
pub(super) struct Head<'a> {
    #[serde(borrow, default)]
    pub(super) id: Option<&'a RawValue>,
    #[serde(borrow, default)]
    pub(super) method: Option<&'a RawValue>,
    #[serde(borrow, default)]
    pub(super) result: Option<&'a RawValue>,
    #[serde(borrow, default)]
    pub(super) error: Option<&'a RawValue>,
}

impl Head<'_> {
    /// The id, when it is one of ours (a number).
    pub(super) fn our_id(&self) -> Option<u64> {
        self.id.and_then(|i| i.get().parse().ok())
    }
}

pub(super) fn protocol_error(message: impl Into<String>) -> Failure {
    Failure::new(FailureKind::Protocol, message)
}

impl Modern {
    pub(super) fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(super) fn running(&self) -> std::sync::MutexGuard<'_, HashMap<Id, Running>> {
        self.running.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(super) fn waiting(&self) -> std::sync::MutexGuard<'_, HashMap<Id, oneshot::Sender<Bytes>>> {
        self.waiting.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(super) fn emit_raw(&self, raw: Vec<u8>) {
        match message::parse(Bytes::from(raw)) {
            Ok(Parsed::Single(m)) => self.ctx.emit(Event::Inbound(m)),
            _ => tracing::warn!("mcp-valet built a message that does not parse; this is a bug"),
        }
    }

    /// Answers a host request locally.
    pub(super) fn answer(&self, msg: &Message, result: Value) {
        let id = msg.raw_id.as_deref().map(RawValue::get).unwrap_or("null");
        let raw = format!(r#"{{"jsonrpc":"2.0","id":{id},"result":{result}}}"#);
        self.emit_raw(raw.into_bytes());
    }

    pub(super) fn envelope_params(&self, params: &mut Map<String, Value>) {
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
}

/// What becomes of the notifications on a request's response stream.
#[derive(Clone, Copy)]
pub(super) enum Forward<'a> {
    No,
    Yes,
    /// To a 2026-07-28 host's `subscriptions/listen`, whose request id the frames must carry.
    Subscription(&'a Value),
}

pub(super) const SUBSCRIPTION_ID: &str = "io.modelcontextprotocol/subscriptionId";

/// A request's `params` as an object (empty when absent or not an object).
pub(super) fn params_of(msg: &Message) -> Map<String, Value> {
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
