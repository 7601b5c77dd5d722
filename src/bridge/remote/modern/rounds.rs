//! Host requests sent to the server: their tasks, cancellation, and the rounds of
//! `input_required` answered through the host.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use futures_util::future::{Aborted, abortable};
use reqwest::header::HeaderMap;
use serde_json::{Map, Value, json};
use tokio::sync::oneshot;

use crate::bridge::message::{Id, Kind, Message};
use crate::bridge::remote::ctx::Event;
use crate::bridge::remote::ctx::STREAM_FOREVER;
use crate::bridge::remote::era;
use crate::failure::{Failure, FailureKind};

use super::body::HostRequest;
use super::shared::{Forward, INVALID_PARAMS, MAX_INPUTS, MAX_ROUNDS, Modern, Reply, Running, protocol_error};

impl Modern {
    /// A host request that goes to the server, abortable so that the host's
    /// `notifications/cancelled` can stop it (closing its HTTP stream). It runs inside the
    /// relay's task for the request, so the relay giving up on it stops it too.
    pub(super) async fn request(self: &Arc<Self>, msg: &Message, deadline: Instant) -> bool {
        let (Some(host_id), Some(raw_id)) = (msg.request_id().cloned(), msg.raw_id.clone()) else {
            return false;
        };
        // A 2026-07-28 host's own listen stream lasts as long as the host keeps it.
        let limit = if msg.is_request("subscriptions/listen") {
            STREAM_FOREVER
        } else {
            self.ctx.max_request_time
        };
        let (work, abort) = abortable(tokio::time::timeout(limit, self.translate(msg, &host_id, deadline)));
        self.running().insert(
            host_id.clone(),
            Running {
                task: Some(abort),
                inputs: Vec::new(),
            },
        );
        // However this ends (answered, failed, cancelled, or dropped with the relay's task):
        // the request is no longer running, and the input requests it still had out at the
        // host are cancelled there.
        let finished = Finished {
            modern: self,
            id: &host_id,
        };
        let result = match work.await {
            // Cancelled by the host: it waits for nothing.
            Err(Aborted) => return false,
            Ok(Err(_)) => Err(Failure::new(
                FailureKind::Timeout,
                "the request took longer than --max-request-time",
            )),
            Ok(Ok(r)) => r,
        };
        drop(finished);
        match result {
            Ok(answer) => {
                // The answer as the host's: its id, and parsed no further than that needs.
                self.ctx.emit(Event::Inbound(Message {
                    raw: answer.with_id(&raw_id),
                    kind: Kind::Response { id: host_id },
                    raw_id: Some(raw_id),
                    progress_token: None,
                    cancel_target: None,
                }));
                true
            }
            Err(e) => {
                self.ctx.fail(msg, e);
                false
            }
        }
    }

    /// Sends a host request to the server, through as many rounds of `input_required` as the
    /// server needs; returns the final response (with our id).
    async fn translate(self: &Arc<Self>, msg: &Message, host_id: &Id, deadline: Instant) -> Result<Reply, Failure> {
        let request = HostRequest::parse(&msg.raw).map_err(|_| protocol_error("unreadable request"))?;
        let Kind::Request { method, .. } = &msg.kind else {
            return Err(protocol_error("not a request"));
        };
        let method: &str = method;
        let host_version = request.host_version();
        let host_modern = host_version.is_some();
        let version = host_version.as_deref().unwrap_or(era::MODERN);
        let name = match method {
            "tools/call" | "prompts/get" => request.text("name"),
            "resources/read" => request.text("uri"),
            _ => None,
        };
        let multi_round = matches!(method, "tools/call" | "resources/read" | "prompts/get");
        // A 2026-07-28 host's listen stream: its frames carry the host's request id.
        let host_id_value: Value;
        let forward = if host_modern && method == "subscriptions/listen" {
            host_id_value = msg
                .raw_id
                .as_deref()
                .and_then(|r| serde_json::from_str(r.get()).ok())
                .unwrap_or(Value::Null);
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
            let mut extra = HeaderMap::new();
            if method == "tools/call" {
                let schema = name.as_deref().and_then(|n| self.state().tools.get(n).cloned());
                if let Some(h) = schema {
                    let values = era::param_values(&h, request.value("arguments").as_ref()).map_err(|e| {
                        Failure::new(FailureKind::InvalidParams, format!("cannot send this tool call: {e}"))
                            .with_code(INVALID_PARAMS)
                    })?;
                    extra.extend(values);
                }
            }
            let id = self.next_id.fetch_add(1, Ordering::Relaxed);
            let body = if host_modern {
                request.body(id, method, None, inputs.as_ref(), request_state.as_ref())
            } else {
                let mut st = self.state();
                request.body(
                    id,
                    method,
                    Some(st.envelope_members()),
                    inputs.as_ref(),
                    request_state.as_ref(),
                )
            };
            let reply = self
                .exchange(body, id, (method, name.as_deref(), extra, version), forward, deadline)
                .await?;
            if let Some(err) = reply.error() {
                let err = err.clone();
                let code = err.get("code").and_then(Value::as_i64);
                if code == Some(era::code::HEADER_MISMATCH) && method == "tools/call" && !relisted {
                    relisted = true;
                    tracing::info!("the server reported a header mismatch; listing its tools again and retrying");
                    self.relist(version, host_modern, deadline).await?;
                    continue;
                }
                if era::looks_legacy(reply.status, Some(&err)) || code == Some(era::code::UNSUPPORTED_VERSION) {
                    tracing::info!(
                        status = reply.status,
                        code,
                        "the server answered like a server of another protocol revision"
                    );
                    self.stale.store(true, Ordering::Release);
                }
                return Ok(reply);
            }
            match reply.result_type.as_deref() {
                None | Some("complete") => {
                    if method == "tools/list" {
                        let mut answer = reply.value();
                        self.filter_tools(&mut answer);
                        let raw = serde_json::to_vec(&answer).expect("serialising JSON cannot fail");
                        return Reply::parse(reply.status, raw.into())
                            .map_err(|_| protocol_error("the server's tools/list answer is not a response"));
                    }
                    return Ok(reply);
                }
                Some("input_required") if multi_round && !host_modern => {
                    let result = reply.value().get_mut("result").map(Value::take).unwrap_or(Value::Null);
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
                Some("input_required") if host_modern => return Ok(reply),
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

    /// Stops a host request: its task (and so its HTTP stream) and its input requests.
    pub(super) fn cancel(&self, target: &Id) {
        let Some(r) = self.running().remove(target) else { return };
        if let Some(t) = r.task {
            t.abort();
        }
        self.cancel_inputs(r.inputs);
        tracing::debug!(%target, "cancelled a request at the client's word");
    }

    /// Tells the host that input requests it was sent are no longer wanted.
    fn cancel_inputs(&self, inputs: Vec<Id>) {
        let mut w = self.waiting();
        for id in inputs {
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
    }
}

/// Takes a host request out of `running` when its work ends, and cancels at the host the
/// input requests it still had out there (answered ones are no longer listed): none when it
/// ended with its answer, the rest when it failed, timed out or was given up by the relay.
struct Finished<'a> {
    modern: &'a Modern,
    id: &'a Id,
}

impl Drop for Finished<'_> {
    fn drop(&mut self) {
        if let Some(r) = self.modern.running().remove(self.id) {
            self.modern.cancel_inputs(r.inputs);
        }
    }
}
