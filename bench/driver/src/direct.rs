//! The baseline: the client speaks Streamable HTTP to the server itself, as a good client
//! would — keep-alive pool, HTTP/1.1 on loopback, one POST per message, JSON or SSE replies.
//! In the initialize-based revisions (a session), or in 2026-07-28 (`modern`: no initialize, no
//! session; every request carries its envelope in `params._meta` and the `MCP-Protocol-Version`,
//! `Mcp-Method` and `Mcp-Name` headers).

use std::sync::Arc;

use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue};

use crate::jsonrpc::{self, Incoming, Reply, Tool};

#[derive(Clone)]
pub struct Direct {
    client: reqwest::Client,
    url: Arc<reqwest::Url>,
    headers: HeaderMap,
    modern: bool,
}

const MCP_METHOD: HeaderName = HeaderName::from_static("mcp-method");
const MCP_NAME: HeaderName = HeaderName::from_static("mcp-name");

impl Direct {
    pub fn new(url: &str, bearer: Option<&str>, modern: bool) -> Result<Direct, String> {
        let client = reqwest::Client::builder()
            .http1_only()
            .no_proxy()
            .tcp_nodelay(true)
            .pool_max_idle_per_host(1024)
            .build()
            .map_err(|e| format!("HTTP client: {e}"))?;
        let mut headers = HeaderMap::new();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        headers.insert(ACCEPT, HeaderValue::from_static("application/json, text/event-stream"));
        if let Some(t) = bearer {
            let v = HeaderValue::from_str(&format!("Bearer {t}")).map_err(|e| format!("bearer: {e}"))?;
            headers.insert(AUTHORIZATION, v);
        }
        if modern {
            headers.insert(
                "mcp-protocol-version",
                HeaderValue::from_static(jsonrpc::MODERN_VERSION),
            );
        }
        let url = reqwest::Url::parse(url).map_err(|e| format!("{url}: {e}"))?;
        Ok(Direct {
            client,
            url: Arc::new(url),
            headers,
            modern,
        })
    }

    pub fn is_modern(&self) -> bool {
        self.modern
    }

    /// POSTs one message; returns the status, the raw body of the reply to `id` (if any) and
    /// the response's session id. `method` and `name` go into the `Mcp-Method` and `Mcp-Name`
    /// headers when the client speaks 2026-07-28.
    async fn post(
        &self,
        body: String,
        id: Option<u64>,
        method: &'static str,
        name: Option<&'static str>,
    ) -> Result<(Option<Vec<u8>>, Option<HeaderValue>), String> {
        let mut req = self.client.post((*self.url).clone()).headers(self.headers.clone());
        if self.modern {
            req = req.header(MCP_METHOD, HeaderValue::from_static(method));
            if let Some(n) = name {
                req = req.header(MCP_NAME, HeaderValue::from_static(n));
            }
        }
        let resp = req.body(body).send().await.map_err(|e| format!("POST: {e}"))?;
        let status = resp.status();
        let sid = resp.headers().get("mcp-session-id").cloned();
        let is_sse = resp
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("text/event-stream"));
        let bytes = resp.bytes().await.map_err(|e| format!("read the response: {e}"))?;
        if !status.is_success() {
            let head = String::from_utf8_lossy(&bytes[..bytes.len().min(200)]).into_owned();
            return Err(format!("HTTP {status}: {head}"));
        }
        let Some(id) = id else { return Ok((None, sid)) };
        if !is_sse {
            return Ok((Some(bytes.to_vec()), sid));
        }
        // An SSE response: the reply is one of its events (the stream ends after it).
        for data in jsonrpc::sse_data(&bytes) {
            if let Ok(Incoming::Reply(r)) = jsonrpc::parse(&data)
                && r.id == id
            {
                return Ok((Some(data), sid));
            }
        }
        Err(format!("the SSE response carried no reply to {id}"))
    }

    /// initialize, then notifications/initialized; keeps the session id and protocol version.
    pub async fn initialize(&mut self, id: u64) -> Result<Reply, String> {
        let (body, sid) = self.post(jsonrpc::initialize(id), Some(id), "initialize", None).await?;
        let body = body.ok_or("no reply to initialize")?;
        let reply = reply_of(&body, id)?;
        if let Some(sid) = sid {
            self.headers.insert("mcp-session-id", sid);
        }
        let v: serde_json::Value = serde_json::from_slice(&body).map_err(|e| e.to_string())?;
        if let Some(p) = v.pointer("/result/protocolVersion").and_then(|p| p.as_str()) {
            self.headers.insert(
                "mcp-protocol-version",
                HeaderValue::from_str(p).map_err(|e| e.to_string())?,
            );
        }
        Ok(reply)
    }

    /// Only the initialize request, as the cold start of a direct client measures it; also
    /// returns the session id, to end the session afterwards.
    pub async fn initialize_only(&self, id: u64) -> Result<(Reply, Option<HeaderValue>), String> {
        let (body, sid) = self.post(jsonrpc::initialize(id), Some(id), "initialize", None).await?;
        Ok((reply_of(&body.ok_or("no reply to initialize")?, id)?, sid))
    }

    /// `server/discover` (2026-07-28): what a modern client may ask first, in place of
    /// initialize. The server must list 2026-07-28 among its versions.
    pub async fn discover(&self, id: u64) -> Result<Reply, String> {
        let (body, _) = self
            .post(jsonrpc::discover(id), Some(id), "server/discover", None)
            .await?;
        let body = body.ok_or("no reply to server/discover")?;
        let reply = reply_of(&body, id)?;
        if reply.error.is_none() {
            let v: serde_json::Value = serde_json::from_slice(&body).map_err(|e| e.to_string())?;
            let listed = v
                .pointer("/result/supportedVersions")
                .and_then(|a| a.as_array())
                .is_some_and(|a| a.iter().any(|x| x.as_str() == Some(jsonrpc::MODERN_VERSION)));
            if !listed {
                return Err(format!(
                    "server/discover does not list {}: {}",
                    jsonrpc::MODERN_VERSION,
                    String::from_utf8_lossy(&body[..body.len().min(300)])
                ));
            }
        }
        Ok(reply)
    }

    /// Ends the session (DELETE), as a well-behaved client does, so that sessions do not pile
    /// up in the server over a run. `sid` overrides the session's own id.
    pub async fn end_session(&self, sid: Option<HeaderValue>) {
        let mut headers = self.headers.clone();
        if let Some(sid) = sid {
            headers.insert("mcp-session-id", sid);
        }
        if headers.contains_key("mcp-session-id") {
            let _ = self.client.delete((*self.url).clone()).headers(headers).send().await;
        }
    }

    /// A notification (the initialize-based revisions only: 2026-07-28 has none from the
    /// client over HTTP).
    pub async fn notify(&self, msg: String, method: &'static str) -> Result<(), String> {
        self.post(msg, None, method, None).await.map(|_| ())
    }

    /// tools/call of `tool`, in the revision this client speaks.
    fn tool_request(&self, id: u64, tool: Tool) -> String {
        if self.modern {
            tool.request_modern(id)
        } else {
            tool.request(id)
        }
    }

    pub async fn call(&self, id: u64, tool: Tool) -> Result<Reply, String> {
        let msg = self.tool_request(id, tool);
        let (body, _) = self.post(msg, Some(id), "tools/call", Some(tool.name())).await?;
        reply_of(&body.ok_or("no reply")?, id)
    }

    /// Like `call`, also returning the raw reply (for a full check).
    pub async fn call_raw(&self, id: u64, tool: Tool) -> Result<(Reply, Vec<u8>), String> {
        let msg = self.tool_request(id, tool);
        let (body, _) = self.post(msg, Some(id), "tools/call", Some(tool.name())).await?;
        let body = body.ok_or("no reply")?;
        Ok((reply_of(&body, id)?, body))
    }
}

fn reply_of(body: &[u8], id: u64) -> Result<Reply, String> {
    match jsonrpc::parse(body)? {
        Incoming::Reply(r) if r.id == id => Ok(r),
        _ => Err(format!("the response is not the reply to {id}")),
    }
}
