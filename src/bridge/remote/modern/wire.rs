//! The HTTP side: one POST with the 2026-07-28 headers, and reading its answer (JSON or SSE).

use std::sync::atomic::Ordering;
use std::time::Instant;

use bytes::Bytes;
use futures_util::StreamExt;
use reqwest::Method;
use reqwest::header::{ACCEPT, CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue};
use serde_json::Value;

use crate::bridge::message;
use crate::bridge::remote::ctx::{STREAM_FOREVER, status_error};
use crate::bridge::remote::era;
use crate::bridge::remote::sse;
use crate::failure::{Failure, FailureKind};
use crate::http::{Answer, Outgoing, content_type, read_body};

use super::shared::{ACCEPT_BOTH, Forward, Head, Modern, Reply, SUBSCRIPTION_ID, protocol_error};

impl Modern {
    /// One POST with the 2026-07-28 headers.
    #[allow(clippy::too_many_arguments)]
    pub(super) async fn post(
        &self,
        body: Vec<u8>,
        method: &str,
        name: Option<&str>,
        extra: HeaderMap,
        version: &str,
        queued: bool,
        deadline: Instant,
    ) -> Result<Answer, Failure> {
        let body = Bytes::from(body);
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
    pub(super) async fn read_stream(&self, resp: Answer, id: u64, forward: Forward<'_>) -> Result<Reply, Failure> {
        let status = resp.status().as_u16();
        let mut parser = sse::Parser::new(self.ctx.max_message);
        let mut body = resp.bytes_stream();
        let mut events = Vec::new();
        let most = match forward {
            Forward::Subscription(_) => STREAM_FOREVER,
            _ => self.ctx.max_request_time,
        };
        let stop = Instant::now() + most;
        loop {
            self.ctx.backlog.room().await;
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
                let Ok(head) = serde_json::from_slice::<Head>(&ev.data) else {
                    tracing::warn!("ignoring an event from the server that is not JSON");
                    continue;
                };
                if head.method.is_none() {
                    if head.our_id() == Some(id) {
                        if let Ok(reply) = Reply::parse(status, ev.data) {
                            return Ok(reply);
                        }
                        tracing::warn!("ignoring a response from the server without result or error");
                        continue;
                    }
                    tracing::debug!("ignoring a response for another request on a response stream");
                } else if head.id.is_some() {
                    tracing::warn!("ignoring a request from the server: 2026-07-28 servers send none");
                } else {
                    match forward {
                        Forward::No => {}
                        Forward::Yes => self.ctx.deliver(message::one_line(ev.data.clone()), |_| true),
                        Forward::Subscription(host_id) => {
                            // A 2026-07-28 host's listen stream: the frames name its request.
                            let Ok(mut v) = serde_json::from_slice::<Value>(&ev.data) else {
                                continue;
                            };
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
    pub(super) async fn exchange(
        &self,
        body: Vec<u8>,
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
            return self.read_stream(resp, id, forward).await;
        }
        let body = read_body(resp, self.ctx.max_message).await?;
        // Not a clone kept meanwhile: the answer's bytes stay unshared, so that the host's id
        // can be put in them in place.
        let body = match Reply::parse(status, body) {
            Ok(reply) => return Ok(reply),
            Err(body) => body,
        };
        if (200..300).contains(&status) {
            return Err(protocol_error(format!(
                "the server's answer (HTTP {status}{}) is not a JSON-RPC response",
                if ct.is_empty() {
                    String::new()
                } else {
                    format!(", {ct}")
                }
            )));
        }
        if era::looks_legacy(status, None) {
            self.stale.store(true, Ordering::Release);
        }
        Err(status_error(status, &body, &self.ctx))
    }
}
