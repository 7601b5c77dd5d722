//! MCP 2026-07-28 over Streamable HTTP: every request is one self-contained POST (the `_meta`
//! envelope and the `Mcp-*` headers), there is no session, no `initialize`, no `ping`.
//!
//! Behind a handshake-era host this transport translates: it answers `initialize`, `ping`,
//! `logging/setLevel` and `resources/(un)subscribe` itself, turns `input_required` results into
//! requests to the host and retries, mirrors `x-mcp-header` arguments into headers (dropping
//! tools whose annotations are invalid), and keeps one `subscriptions/listen` stream for the
//! change notifications. A 2026-07-28 host (its requests carry the envelope) is passed through
//! with the headers derived from its own messages.

mod body;
mod listen;
mod rounds;
mod shared;
mod tools;
mod wire;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use reqwest::header::HeaderMap;
use serde_json::{Map, Value, json};

use crate::bridge::message::{Kind, Message};
use crate::bridge::remote::ctx::Ctx;
use crate::bridge::remote::era::{self, Verdict};
use crate::failure::Failure;
use crate::http::{content_type, read_body};

use shared::{DISCOVER_FRESH, Forward, State, params_of, protocol_error};

pub use shared::Modern;

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
                    self.state().set_log_level(level);
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
            let capabilities = era::translate_capabilities(&st.host_caps);
            st.set_client(
                capabilities,
                params.get("clientInfo").filter(|v| v.is_object()).cloned(),
            );
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
                serde_json::to_vec(&body).expect("serialising JSON cannot fail"),
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
            self.read_stream(resp, id, Forward::No).await.ok().map(|r| r.value())
        } else {
            let body = read_body(resp, self.ctx.max_message.min(1 << 20))
                .await
                .unwrap_or_default();
            era::first_message(&body, sse)
        };
        Ok(era::verdict(status, msg.as_ref()))
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
