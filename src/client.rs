//! An MCP client inside mcp-valet, for the commands that talk MCP themselves (`tools`, `call`,
//! `resources`, `read`, `prompts`, `doctor`): it drives the bridge's own relay and remote side
//! through in-memory channels, so these commands connect, sign in, filter tools and speak the
//! protocol revisions exactly as bridge mode does.

use std::io::IsTerminal;
use std::sync::Arc;

use anyhow::{Context, bail};
use bytes::Bytes;
use serde_json::{Value, json};

use crate::auth::Interaction;
use crate::auth::prompt::Prompt;
use crate::bridge::InProcess;
use crate::cli::BridgeArgs;
use crate::exit::LoginRequired;

/// The protocol revision the client asks for; the remote side translates for older servers.
pub const PROTOCOL_VERSION: &str = "2025-11-25";
/// Pages of a `…/list` answer read at most.
const MAX_PAGES: usize = 100;

pub struct Client {
    link: InProcess,
    next_id: i64,
    /// The server's `initialize` result.
    pub server: Value,
}

/// A JSON-RPC error answer.
#[derive(Debug)]
pub struct RpcError {
    pub method: String,
    pub code: i64,
    pub message: String,
    /// `error.data.kind` of an error mcp-valet itself produced.
    pub valet_kind: Option<String>,
}

impl std::fmt::Display for RpcError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.valet_kind {
            Some(_) => f.write_str(&self.message),
            None => write!(
                f,
                "the server answered `{}` with an error: {} ({})",
                self.method, self.message, self.code
            ),
        }
    }
}

impl std::error::Error for RpcError {}

/// Whether a sign-in may ask the user: only when both stdin and stderr are a terminal.
pub fn interaction(prompt: Arc<dyn Prompt>) -> Interaction {
    if std::io::stdin().is_terminal() && std::io::stderr().is_terminal() {
        Interaction::Allowed(prompt)
    } else {
        Interaction::Never
    }
}

impl Client {
    /// Connects and initialises a session (`initialize`, `notifications/initialized`).
    pub async fn connect(args: &BridgeArgs, interaction: Interaction) -> anyhow::Result<Client> {
        let link = InProcess::start(args, interaction)?;
        let mut client = Client {
            link,
            next_id: 1,
            server: Value::Null,
        };
        let init = json!({
            "protocolVersion": PROTOCOL_VERSION,
            "capabilities": {},
            "clientInfo": {"name": "mcp-valet", "version": env!("CARGO_PKG_VERSION")},
        });
        client.server = client.request("initialize", init).await?;
        client.notify("notifications/initialized", json!({})).await?;
        Ok(client)
    }

    /// Sends a request and waits for its answer (the relay's timeouts bound the wait).
    /// A JSON-RPC error comes back as an [`RpcError`] (a [`LoginRequired`] when mcp-valet
    /// needs a login the user must make).
    pub async fn request(&mut self, method: &str, params: Value) -> anyhow::Result<Value> {
        let id = self.next_id;
        self.next_id += 1;
        self.write(json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}))
            .await?;
        loop {
            let Some(line) = self.link.output.recv().await else {
                bail!("the connection to the server ended before it answered `{method}`");
            };
            let msg: Value = serde_json::from_slice(&line).context("the bridge produced a line that is not JSON")?;
            if msg.get("method").is_some() {
                self.answer_server(msg).await?;
                continue;
            }
            if msg.get("id") != Some(&json!(id)) {
                continue;
            }
            if let Some(result) = msg.get("result") {
                return Ok(result.clone());
            }
            return Err(rpc_error(method, &msg["error"]));
        }
    }

    /// Every item of a paginated `…/list` (`key`: `tools`, `resources`, `prompts`).
    pub async fn list(&mut self, method: &str, key: &str) -> anyhow::Result<Vec<Value>> {
        let mut all = Vec::new();
        let mut cursor: Option<Value> = None;
        for _ in 0..MAX_PAGES {
            let params = match &cursor {
                Some(c) => json!({"cursor": c}),
                None => json!({}),
            };
            let page = self.request(method, params).await?;
            if let Some(items) = page.get(key).and_then(Value::as_array) {
                all.extend(items.iter().cloned());
            }
            match page.get("nextCursor") {
                Some(c) if !c.is_null() => cursor = Some(c.clone()),
                _ => return Ok(all),
            }
        }
        tracing::warn!("`{method}` had more than {MAX_PAGES} pages; showing the first {MAX_PAGES}");
        Ok(all)
    }

    pub async fn notify(&mut self, method: &str, params: Value) -> anyhow::Result<()> {
        self.write(json!({"jsonrpc": "2.0", "method": method, "params": params}))
            .await
    }

    /// A message the server sent on its own: notifications are ignored, requests (sampling,
    /// elicitation, roots) are declined, since nobody is there to answer them.
    async fn answer_server(&mut self, msg: Value) -> anyhow::Result<()> {
        let method = msg["method"].as_str().unwrap_or("?").to_owned();
        let Some(id) = msg.get("id").cloned() else {
            tracing::debug!(method, "notification from the server");
            return Ok(());
        };
        tracing::info!(
            method,
            "declining a request from the server: this command cannot answer it"
        );
        let answer = if method == "roots/list" {
            json!({"jsonrpc": "2.0", "id": id, "result": {"roots": []}})
        } else {
            json!({"jsonrpc": "2.0", "id": id, "error": {"code": -32601,
                "message": format!("mcp-valet's commands do not support `{method}`")}})
        };
        self.write(answer).await
    }

    async fn write(&mut self, msg: Value) -> anyhow::Result<()> {
        let input = self.link.input.as_ref().context("the session is closed")?;
        input
            .send(Bytes::from(msg.to_string()))
            .await
            .map_err(|_| anyhow::anyhow!("the connection to the server has ended"))
    }

    /// Closes the session (DELETE for Streamable HTTP).
    pub async fn close(self) {
        self.link.close().await
    }
}

fn rpc_error(method: &str, e: &Value) -> anyhow::Error {
    let message = e["message"].as_str().unwrap_or("(no message)");
    let valet_kind = (e["data"]["source"] == "mcp-valet")
        .then(|| e["data"]["kind"].as_str().map(str::to_owned))
        .flatten();
    let message = message.strip_prefix("mcp-valet: ").unwrap_or(message).to_owned();
    if valet_kind.as_deref() == Some("login_required") {
        return LoginRequired::because(message).into();
    }
    RpcError {
        method: method.to_owned(),
        code: e["code"].as_i64().unwrap_or(0),
        message,
        valet_kind,
    }
    .into()
}
