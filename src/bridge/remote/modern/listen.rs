//! Resource subscriptions and the one `subscriptions/listen` stream for change notifications.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use reqwest::header::HeaderMap;
use serde_json::{Map, Value, json};

use crate::bridge::message::{self, Message};
use crate::bridge::remote::era;
use crate::bridge::remote::sse;
use crate::failure::{Failure, FailureKind};
use crate::http::{Answer, content_type};

use super::shared::{INVALID_PARAMS, LISTEN_ATTEMPTS, LISTEN_STEADY, MAX_SUBSCRIPTIONS, Modern, params_of};

impl Modern {
    pub(super) fn subscribe(self: &Arc<Self>, msg: &Message, on: bool) {
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
    pub(super) fn start_listener(self: &Arc<Self>) {
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
                    serde_json::to_vec(&body).expect("serialising JSON cannot fail"),
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
                    let opened = Instant::now();
                    match self.pump_listen(resp, id, &filter, reopened).await {
                        Listened::Ended => {
                            tracing::debug!("the server ended the subscription");
                            return;
                        }
                        Listened::Acknowledged if opened.elapsed() >= LISTEN_STEADY => failures = 0,
                        // Dropped soon after its acknowledgement: a failure too, or a server that keeps
                        // doing so would be asked again every 250 ms for ever (and the host told to look
                        // again each time).
                        Listened::Acknowledged => failures += 1,
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
        while let Some(Ok(chunk)) = {
            self.ctx.backlog.room().await;
            body.next().await
        } {
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
}

enum Listened {
    /// The server ended the subscription with a result: do not reopen.
    Ended,
    /// The stream was acknowledged (or carried notifications), then dropped: reopen.
    Acknowledged,
    /// The stream dropped without anything: reopen, counting a failure.
    Nothing,
}
