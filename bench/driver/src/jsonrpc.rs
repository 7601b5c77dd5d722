//! The few JSON-RPC messages the driver writes, and a cheap reading of the replies.

use serde::Deserialize;
use serde_json::value::RawValue;

pub const PROTOCOL_VERSION: &str = "2025-06-18";

pub fn initialize(id: u64) -> String {
    format!(
        r#"{{"jsonrpc":"2.0","id":{id},"method":"initialize","params":{{"protocolVersion":"{PROTOCOL_VERSION}","capabilities":{{}},"clientInfo":{{"name":"mcp-valet-bench","version":"0.0.0"}}}}}}"#
    )
}

pub fn initialized() -> String {
    r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#.to_string()
}

/// The revision a direct client speaks when it has no initialize (no session either): every
/// request carries its own envelope (`params._meta`) and `MCP-Protocol-Version`, `Mcp-Method`
/// and, for tools/call, `Mcp-Name` headers.
pub const MODERN_VERSION: &str = "2026-07-28";

/// The request envelope of 2026-07-28 (the `_meta` of every request), as written text.
const MODERN_META: &str = r#""_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{},"io.modelcontextprotocol/clientInfo":{"name":"mcp-valet-bench","version":"0.0.0"}}"#;

/// `server/discover`, the modern direct client's first request (in place of initialize).
pub fn discover(id: u64) -> String {
    format!(r#"{{"jsonrpc":"2.0","id":{id},"method":"server/discover","params":{{{MODERN_META}}}}}"#)
}

/// The tools the benchmark calls.
#[derive(Clone, Copy, Debug)]
pub enum Tool {
    Echo,
    /// `large` with this many bytes.
    Large(usize),
}

pub const ECHO_TEXT: &str = "the quick brown fox jumps over the lazy dog";

impl Tool {
    pub fn name(self) -> &'static str {
        match self {
            Tool::Echo => "echo",
            Tool::Large(_) => "large",
        }
    }

    /// The tools/call request as the initialize-based revisions write it (what every bridge
    /// is sent, and the direct client in the older scenarios).
    pub fn request(self, id: u64) -> String {
        match self {
            Tool::Echo => format!(
                r#"{{"jsonrpc":"2.0","id":{id},"method":"tools/call","params":{{"name":"echo","arguments":{{"text":"{ECHO_TEXT}"}}}}}}"#
            ),
            Tool::Large(bytes) => format!(
                r#"{{"jsonrpc":"2.0","id":{id},"method":"tools/call","params":{{"name":"large","arguments":{{"bytes":{bytes}}}}}}}"#
            ),
        }
    }

    /// The same request in 2026-07-28's shape: the envelope in `params._meta`.
    pub fn request_modern(self, id: u64) -> String {
        match self {
            Tool::Echo => format!(
                r#"{{"jsonrpc":"2.0","id":{id},"method":"tools/call","params":{{"name":"echo","arguments":{{"text":"{ECHO_TEXT}"}},{MODERN_META}}}}}"#
            ),
            Tool::Large(bytes) => format!(
                r#"{{"jsonrpc":"2.0","id":{id},"method":"tools/call","params":{{"name":"large","arguments":{{"bytes":{bytes}}},{MODERN_META}}}}}"#
            ),
        }
    }
}

/// What the driver needs to know about one incoming message.
#[derive(Debug)]
pub enum Incoming {
    /// A reply to one of our requests.
    Reply(Reply),
    /// A request from the server (e.g. ping): it must be answered.
    Request { id: Box<RawValue>, method: String },
    /// A notification, or anything else without an id of ours.
    Other,
}

#[derive(Debug, Clone)]
pub struct Reply {
    pub id: u64,
    /// The error object, if the reply is an error.
    pub error: Option<String>,
    /// Length of the raw `result` value in bytes (0 for an error).
    pub result_len: usize,
    /// `result.isError` was true (a tool error).
    pub tool_error: bool,
}

#[derive(Deserialize)]
struct Wire<'a> {
    #[serde(borrow, default)]
    id: Option<&'a RawValue>,
    #[serde(borrow, default)]
    result: Option<&'a RawValue>,
    #[serde(borrow, default)]
    error: Option<&'a RawValue>,
    #[serde(default)]
    method: Option<String>,
}

/// Parses one message the way a client must (the whole text is checked as JSON), without
/// building a tree of the result.
pub fn parse(bytes: &[u8]) -> Result<Incoming, String> {
    let w: Wire = serde_json::from_slice(bytes).map_err(|e| {
        let head = String::from_utf8_lossy(&bytes[..bytes.len().min(200)]).into_owned();
        format!("invalid JSON-RPC message ({e}): {head}")
    })?;
    match (w.id, w.method) {
        (Some(id), Some(method)) => Ok(Incoming::Request {
            id: id.to_owned(),
            method,
        }),
        (Some(id), None) => {
            let Ok(id) = id.get().parse::<u64>() else {
                return Ok(Incoming::Other);
            };
            let (result_len, tool_error) = match w.result {
                Some(r) => {
                    let s = r.get();
                    // Only a small prefix/suffix is searched: isError sits beside `content`.
                    (s.len(), s.len() < 4096 && s.contains("\"isError\":true"))
                }
                None => (0, false),
            };
            Ok(Incoming::Reply(Reply {
                id,
                error: w.error.map(|e| e.get().to_string()),
                result_len,
                tool_error,
            }))
        }
        _ => Ok(Incoming::Other),
    }
}

/// The answer a client gives to a request from the server.
pub fn answer(id: &RawValue, method: &str) -> String {
    if method == "ping" {
        format!(r#"{{"jsonrpc":"2.0","id":{},"result":{{}}}}"#, id.get())
    } else {
        format!(
            r#"{{"jsonrpc":"2.0","id":{},"error":{{"code":-32601,"message":"the benchmark client does not support {method}"}}}}"#,
            id.get()
        )
    }
}

/// Full check of a tools/call reply: the text of its first content block.
pub fn first_text(bytes: &[u8]) -> Option<String> {
    let v: serde_json::Value = serde_json::from_slice(bytes).ok()?;
    v.get("result")?
        .get("content")?
        .get(0)?
        .get("text")?
        .as_str()
        .map(str::to_string)
}

/// The messages carried by an SSE body: the `data:` of every event, joined as the spec says.
pub fn sse_data(body: &[u8]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut data: Vec<u8> = Vec::new();
    let mut has_data = false;
    for line in body.split(|&b| b == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.is_empty() {
            if has_data && !data.is_empty() {
                out.push(std::mem::take(&mut data));
            }
            data.clear();
            has_data = false;
            continue;
        }
        if let Some(rest) = line.strip_prefix(b"data:") {
            let rest = rest.strip_prefix(b" ").unwrap_or(rest);
            if has_data {
                data.push(b'\n');
            }
            data.extend_from_slice(rest);
            has_data = true;
        }
    }
    if has_data && !data.is_empty() {
        out.push(data);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    fn json(s: &str) -> Value {
        serde_json::from_str(s).unwrap()
    }

    #[test]
    fn modern_requests_carry_the_envelope_and_the_same_call() {
        for tool in [Tool::Echo, Tool::Large(1024)] {
            let old = json(&tool.request(7));
            let new = json(&tool.request_modern(7));
            assert_eq!(new["method"], "tools/call");
            assert_eq!(new["params"]["name"], tool.name());
            assert_eq!(new["params"]["arguments"], old["params"]["arguments"]);
            assert!(old["params"].get("_meta").is_none());
            let meta = &new["params"]["_meta"];
            assert_eq!(meta["io.modelcontextprotocol/protocolVersion"], MODERN_VERSION);
            assert_eq!(
                meta["io.modelcontextprotocol/clientCapabilities"],
                serde_json::json!({})
            );
            assert_eq!(meta["io.modelcontextprotocol/clientInfo"]["name"], "mcp-valet-bench");
        }
        let d = json(&discover(1));
        assert_eq!(d["method"], "server/discover");
        assert_eq!(
            d["params"]["_meta"]["io.modelcontextprotocol/protocolVersion"],
            MODERN_VERSION
        );
    }
}
