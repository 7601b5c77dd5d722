//! What the parts of the 2026-07-28 transport share: `Modern` and its state, the bounds, helpers.

use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicBool, AtomicU64};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::future::AbortHandle;
use serde_json::value::RawValue;
use serde_json::{Map, Value};
use tokio::sync::oneshot;
use tokio::task;

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
    /// The envelope's `_meta` members as JSON text, made from the three above on the next
    /// request after `set_client` or `set_log_level` changed them (`None` until then).
    pub(super) envelope: Option<String>,
    pub(super) subscriptions: BTreeSet<String>,
    pub(super) tools: HashMap<String, Vec<ParamHeader>>,
    /// The host's `initialize` and `notifications/initialized`, should the server turn out to
    /// speak the handshake-era revisions after all.
    pub(super) handshake: Option<(Message, Option<Message>)>,
    pub(super) initialized: bool,
    pub(super) listener: Option<task::AbortHandle>,
    pub(super) closed: bool,
}

/// The server's answer to one request: the HTTP status and the JSON-RPC response, kept as
/// the bytes it came in (a result may be megabytes: it is read once, for what the bridge
/// needs, and passed on without being parsed into a tree and written again).
pub(super) struct Reply {
    pub(super) status: u16,
    pub(super) raw: Bytes,
    /// Where the response's `id` is in `raw`.
    id: Option<std::ops::Range<usize>>,
    /// The `error`, when it is one.
    error: Option<Value>,
    /// The result's `resultType`, when it is a string other than `complete`.
    pub(super) result_type: Option<String>,
}

impl Reply {
    /// A response (a `result` or an `error`) read from `raw`; the bytes back when it is neither.
    pub(super) fn parse(status: u16, raw: Bytes) -> Result<Reply, Bytes> {
        #[derive(serde::Deserialize)]
        struct Resp<'a> {
            #[serde(borrow, default)]
            id: Option<&'a RawValue>,
            #[serde(default)]
            result: Option<Res>,
            #[serde(default)]
            error: Option<Value>,
        }
        /// A result's `resultType` (none when absent, or when the result is not an object).
        struct Res {
            result_type: Option<String>,
        }
        impl<'de> serde::Deserialize<'de> for Res {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Res, D::Error> {
                struct V;
                impl<'de> serde::de::Visitor<'de> for V {
                    type Value = Res;
                    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                        f.write_str("a result")
                    }
                    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut m: A) -> Result<Res, A::Error> {
                        let mut result_type = None;
                        while let Some(k) = m.next_key::<message::Key<'de>>()? {
                            if k.0 == "resultType" {
                                // Kept only when it is not `complete` (what almost every
                                // answer says): no allocation for the common case.
                                let raw = m.next_value::<&'de RawValue>()?;
                                result_type = serde_json::from_str::<message::Key>(raw.get())
                                    .ok()
                                    .filter(|t| t.0 != "complete")
                                    .map(|t| t.0.into_owned());
                            } else {
                                m.next_value::<serde::de::IgnoredAny>()?;
                            }
                        }
                        Ok(Res { result_type })
                    }
                    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut s: A) -> Result<Res, A::Error> {
                        while s.next_element::<serde::de::IgnoredAny>()?.is_some() {}
                        Ok(Res { result_type: None })
                    }
                    fn visit_bool<E>(self, _: bool) -> Result<Res, E> {
                        Ok(Res { result_type: None })
                    }
                    fn visit_i64<E>(self, _: i64) -> Result<Res, E> {
                        Ok(Res { result_type: None })
                    }
                    fn visit_u64<E>(self, _: u64) -> Result<Res, E> {
                        Ok(Res { result_type: None })
                    }
                    fn visit_f64<E>(self, _: f64) -> Result<Res, E> {
                        Ok(Res { result_type: None })
                    }
                    fn visit_str<E>(self, _: &str) -> Result<Res, E> {
                        Ok(Res { result_type: None })
                    }
                }
                d.deserialize_any(V)
            }
        }
        let Ok(resp) = serde_json::from_slice::<Resp>(&raw) else {
            return Err(raw);
        };
        if resp.result.is_none() && resp.error.is_none() {
            return Err(raw);
        }
        let id = resp.id.map(|id| {
            let start = id.get().as_ptr() as usize - raw.as_ptr() as usize;
            start..start + id.get().len()
        });
        let result_type = resp.result.and_then(|r| r.result_type);
        let error = resp.error;
        Ok(Reply {
            status,
            raw,
            id,
            error,
            result_type,
        })
    }

    /// The `error` object, when the response is one.
    pub(super) fn error(&self) -> Option<&Value> {
        self.error.as_ref()
    }

    /// The whole response as a tree (for the rare answers the bridge changes or reads through).
    pub(super) fn value(&self) -> Value {
        serde_json::from_slice(&self.raw).unwrap_or(Value::Null)
    }

    /// The response as one line with `id` (the host's, as it wrote it) instead of ours: the
    /// id's bytes replaced where they are (in place when the id comes after the result, as
    /// the SDKs write it; the members' order does not matter in JSON).
    pub(super) fn with_id(self, id: &RawValue) -> Bytes {
        let raw = match self.id {
            Some(at) => {
                // Unshared (see `exchange`), so this takes the buffer over without a copy.
                let mut buf = bytes::BytesMut::from(self.raw);
                let tail = buf[at.end..].to_vec();
                buf.truncate(at.start);
                buf.extend_from_slice(id.get().as_bytes());
                buf.extend_from_slice(&tail);
                buf.freeze()
            }
            None => {
                // No id at all: put the host's first.
                let text = &self.raw[..];
                let open = text.iter().position(|b| *b == b'{').map_or(0, |i| i + 1);
                let mut out = Vec::with_capacity(text.len() + id.get().len() + 8);
                out.extend_from_slice(b"{\"id\":");
                out.extend_from_slice(id.get().as_bytes());
                out.push(b',');
                out.extend_from_slice(&text[open..]);
                Bytes::from(out)
            }
        };
        message::one_line(raw)
    }
}

/// What telling messages apart needs, borrowed from their bytes.
#[derive(serde::Deserialize)]
pub(super) struct Head<'a> {
    #[serde(borrow, default)]
    pub(super) id: Option<&'a RawValue>,
    #[serde(borrow, default)]
    pub(super) method: Option<&'a RawValue>,
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

impl State {
    /// What the envelope says of the host: its capabilities (as sent) and `clientInfo`.
    pub(super) fn set_client(&mut self, capabilities: Value, client_info: Option<Value>) {
        self.capabilities = capabilities;
        if let Some(info) = client_info {
            self.client_info = info;
        }
        self.envelope = None;
    }

    /// The log level the envelope asks for (`logging/setLevel`).
    pub(super) fn set_log_level(&mut self, level: Option<String>) {
        self.log_level = level;
        self.envelope = None;
    }

    /// The envelope's `_meta` members as JSON text (see `body::envelope_members`).
    pub(super) fn envelope_members(&mut self) -> &str {
        if self.envelope.is_none() {
            self.envelope = Some(super::body::envelope_members(&Envelope {
                capabilities: &self.capabilities,
                client_info: &self.client_info,
                log_level: self.log_level.as_deref(),
            }));
        }
        self.envelope.as_deref().expect("made above")
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_envelope_text_follows_what_the_host_said_last() {
        let mut st = State::default();
        st.set_client(json!({"sampling": {}}), Some(json!({"name": "first"})));
        assert!(st.envelope_members().contains(r#""name":"first""#));
        assert!(!st.envelope_members().contains(era::META_LOG_LEVEL));
        st.set_log_level(Some("debug".into()));
        assert!(st.envelope_members().contains(r#""io.modelcontextprotocol/logLevel":"debug""#));
        st.set_client(json!({}), Some(json!({"name": "second"})));
        let text = st.envelope_members().to_owned();
        assert!(text.contains(r#""name":"second""#) && !text.contains("sampling"), "{text}");
        assert!(text.contains("debug"), "{text}");
    }
}
