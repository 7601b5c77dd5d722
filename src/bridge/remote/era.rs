//! The protocol revisions a server may speak, and the pure parts of speaking MCP 2026-07-28 to
//! it: the era verdict from an answer to `server/discover`, the `_meta` envelope, the request
//! headers (`Mcp-Method`, `Mcp-Name`, `Mcp-Param-*` from `x-mcp-header` annotations, with the
//! base64 sentinel form), and the small per-server file that remembers a server's era so that a
//! warm start makes no probe.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use base64::Engine;
use reqwest::header::{HeaderName, HeaderValue};
use serde_json::{Map, Value, json};

/// The one modern revision mcp-valet speaks.
pub const MODERN: &str = "2026-07-28";
/// The handshake-era revisions a host may ask for in `initialize`, newest first.
pub const LEGACY_VERSIONS: [&str; 4] = ["2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05"];

pub const META_VERSION: &str = "io.modelcontextprotocol/protocolVersion";
pub const META_CAPABILITIES: &str = "io.modelcontextprotocol/clientCapabilities";
pub const META_CLIENT_INFO: &str = "io.modelcontextprotocol/clientInfo";
pub const META_LOG_LEVEL: &str = "io.modelcontextprotocol/logLevel";
pub const META_SERVER_INFO: &str = "io.modelcontextprotocol/serverInfo";

/// JSON-RPC codes that only a 2026-07-28 server sends.
pub mod code {
    pub const HEADER_MISMATCH: i64 = -32020;
    pub const MISSING_CAPABILITY: i64 = -32021;
    pub const UNSUPPORTED_VERSION: i64 = -32022;
    pub const METHOD_NOT_FOUND: i64 = -32601;
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Era {
    /// `initialize`-based revisions (2024-11-05 … 2025-11-25).
    Legacy,
    /// 2026-07-28.
    Modern,
}

impl Era {
    fn name(self) -> &'static str {
        match self {
            Era::Legacy => "legacy",
            Era::Modern => "modern",
        }
    }
}

/// What an answer to `server/discover` says about the server.
#[derive(Debug)]
pub enum Verdict {
    /// The server speaks 2026-07-28; with the discover result when it gave one.
    Modern(Option<Value>),
    /// Anything else: fall back to `initialize`. The text says why (for `-v`).
    Legacy(String),
}

/// The first JSON-RPC message of a body: the body itself, or the first `data:` of an SSE stream.
pub fn first_message(body: &[u8], sse: bool) -> Option<Value> {
    if !sse {
        return serde_json::from_slice(body).ok();
    }
    let mut parser = super::sse::Parser::new(body.len().max(1));
    let mut events = Vec::new();
    let _ = parser.feed(&bytes::Bytes::copy_from_slice(body), &mut events);
    let _ = parser.feed(&bytes::Bytes::from_static(b"\n\n"), &mut events);
    events.into_iter().filter(|e| e.is_message()).find_map(|e| {
        serde_json::from_slice::<Value>(&e.data)
            .ok()
            .filter(|v| v.get("id").is_some())
    })
}

/// The era verdict from the status and (first) message of an answer to `server/discover`.
/// A 401/403 never gets here: those are sign-in events, handled before.
pub fn verdict(status: u16, msg: Option<&Value>) -> Verdict {
    let error_code = msg
        .and_then(|m| m.get("error"))
        .and_then(|e| e.get("code"))
        .and_then(Value::as_i64);
    if (200..300).contains(&status) {
        let Some(result) = msg.and_then(|m| m.get("result")) else {
            return Verdict::Legacy(format!("HTTP {status} without a result to server/discover"));
        };
        let versions: Vec<&str> = result
            .get("supportedVersions")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        if versions.contains(&MODERN) {
            return Verdict::Modern(Some(result.clone()));
        }
        return Verdict::Legacy(format!(
            "server/discover lists no revision mcp-valet speaks ({}); using initialize",
            if versions.is_empty() {
                "none".to_owned()
            } else {
                versions.join(", ")
            }
        ));
    }
    match (status, error_code) {
        (400 | 404 | 405, Some(code::HEADER_MISMATCH | code::MISSING_CAPABILITY)) => Verdict::Modern(None),
        (400 | 404 | 405, Some(code::UNSUPPORTED_VERSION)) => {
            let supported: Vec<&str> = msg
                .and_then(|m| m.pointer("/error/data/supported"))
                .and_then(Value::as_array)
                .map(|a| a.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            if supported.is_empty() || supported.contains(&MODERN) {
                Verdict::Modern(None)
            } else {
                Verdict::Legacy(format!(
                    "the server supports {} but not {MODERN}; using initialize",
                    supported.join(", ")
                ))
            }
        }
        (404, Some(code::METHOD_NOT_FOUND)) => Verdict::Modern(None),
        (_, Some(c)) => Verdict::Legacy(format!("HTTP {status} with JSON-RPC error {c} to server/discover")),
        _ => Verdict::Legacy(format!(
            "HTTP {status} without a modern JSON-RPC error to server/discover"
        )),
    }
}

/// Whether an answer from a "modern" server looks like a handshake-era server instead (the
/// server changed era): a 400/404/405 without a JSON-RPC error, or the TS SDK v1's
/// `-32000 Bad Request` about the protocol version or a missing session.
pub fn looks_legacy(status: u16, error: Option<&Value>) -> bool {
    let Some(error) = error else {
        return matches!(status, 400 | 404 | 405);
    };
    let code = error.get("code").and_then(Value::as_i64);
    let text = error
        .get("message")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_ascii_lowercase();
    status == 400
        && code == Some(-32000)
        && (text.contains("protocol version") || text.contains("session") || text.contains("not initialized"))
}

/// The `_meta` envelope every modern request carries.
pub struct Envelope<'a> {
    pub capabilities: &'a Value,
    pub client_info: &'a Value,
    pub log_level: Option<&'a str>,
}

/// Puts the envelope into `params._meta`, keeping what the host put there (its progress token).
pub fn add_envelope(params: &mut Map<String, Value>, env: &Envelope<'_>) {
    let meta = params.entry("_meta").or_insert_with(|| Value::Object(Map::new()));
    if !meta.is_object() {
        *meta = Value::Object(Map::new());
    }
    let meta = meta.as_object_mut().expect("made an object");
    meta.insert(META_VERSION.into(), Value::String(MODERN.into()));
    meta.insert(META_CAPABILITIES.into(), env.capabilities.clone());
    meta.insert(META_CLIENT_INFO.into(), env.client_info.clone());
    if let Some(level) = env.log_level {
        meta.insert(META_LOG_LEVEL.into(), Value::String(level.into()));
    }
}

/// A handshake-era host's capabilities as 2026-07-28 client capabilities: no
/// `roots.listChanged` (removed) and no `tasks` (an extension we never declare).
pub fn translate_capabilities(host: &Value) -> Value {
    let mut caps = host.as_object().cloned().unwrap_or_default();
    caps.remove("tasks");
    if let Some(Value::Object(roots)) = caps.get_mut("roots") {
        roots.remove("listChanged");
    }
    Value::Object(caps)
}

/// A header value as the spec wants it: as is when it is plain visible ASCII (inner spaces
/// allowed; a tab is a control character), else `=?base64?<base64 of the UTF-8>?=`. A value that looks like the sentinel
/// is encoded too.
pub fn header_text(value: &str) -> String {
    if is_plain(value) {
        value.to_owned()
    } else {
        format!("=?base64?{}?=", base64::engine::general_purpose::STANDARD.encode(value))
    }
}

/// Whether a value goes into a header as it is (see `header_text`).
fn is_plain(value: &str) -> bool {
    let printable = value.bytes().all(|b| (0x20..=0x7e).contains(&b));
    let sentinel = value.starts_with("=?base64?") && value.ends_with("?=");
    printable && !value.starts_with(' ') && !value.ends_with(' ') && !sentinel
}

pub fn header_value(value: &str) -> HeaderValue {
    // The revision and the methods of the spec: no allocation for the words of every request.
    const STATIC: [&str; 12] = [
        MODERN,
        "tools/call",
        "tools/list",
        "resources/read",
        "resources/list",
        "resources/templates/list",
        "prompts/get",
        "prompts/list",
        "completion/complete",
        "server/discover",
        "subscriptions/listen",
        "notifications/cancelled",
    ];
    if let Some(s) = STATIC.iter().find(|s| **s == value) {
        return HeaderValue::from_static(s);
    }
    let value = if is_plain(value) {
        HeaderValue::from_str(value)
    } else {
        HeaderValue::from_str(&header_text(value))
    };
    value.expect("a plain or sentinel-form value is a valid header value")
}

/// One argument mirrored into `Mcp-Param-{name}`: its header and the path of `properties` keys.
#[derive(Clone, Debug, PartialEq)]
pub struct ParamHeader {
    pub header: HeaderName,
    pub path: Vec<String>,
}

const SAFE_INTEGER: i64 = (1 << 53) - 1;

fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// Checks a tool's `inputSchema` annotations; `Err` says why the tool must be dropped.
pub fn param_headers(schema: &Value) -> Result<Vec<ParamHeader>, String> {
    let mut found = Vec::new();
    walk(schema, &mut Vec::new(), true, &mut found)?;
    let mut seen = HashSet::new();
    for (name, _) in &found {
        if !seen.insert(name.to_ascii_lowercase()) {
            return Err(format!("x-mcp-header `{name}` is used twice"));
        }
    }
    found
        .into_iter()
        .map(|(name, path)| {
            let header = HeaderName::from_bytes(format!("mcp-param-{name}").as_bytes())
                .map_err(|_| format!("x-mcp-header `{name}` is not a valid header name"))?;
            Ok(ParamHeader { header, path })
        })
        .collect()
}

/// Walks a schema. `reachable`: the path from the root has been `properties` keys only.
fn walk(
    schema: &Value,
    path: &mut Vec<String>,
    reachable: bool,
    found: &mut Vec<(String, Vec<String>)>,
) -> Result<(), String> {
    let Some(obj) = schema.as_object() else { return Ok(()) };
    if let Some(name) = obj.get("x-mcp-header") {
        let Some(name) = name.as_str() else {
            return Err("an x-mcp-header value is not a string".into());
        };
        if name.is_empty() {
            return Err("an x-mcp-header value is empty".into());
        }
        if !name.bytes().all(is_tchar) {
            return Err(format!("x-mcp-header `{}` is not an HTTP token", name.escape_default()));
        }
        if !reachable || path.is_empty() {
            return Err(format!(
                "x-mcp-header `{name}` is not on a property reached through `properties` only"
            ));
        }
        let ty = obj.get("type").and_then(Value::as_str);
        if !matches!(ty, Some("string" | "integer" | "boolean")) {
            return Err(format!(
                "x-mcp-header `{name}` is on a parameter of type {}, not string, integer or boolean",
                ty.unwrap_or("(none)")
            ));
        }
        found.push((name.to_owned(), path.clone()));
    }
    for (key, value) in obj {
        match key.as_str() {
            "properties" => {
                if let Some(props) = value.as_object() {
                    for (prop, sub) in props {
                        path.push(prop.clone());
                        walk(sub, path, reachable, found)?;
                        path.pop();
                    }
                }
            }
            // Not a schema: literal values, where a key called x-mcp-header means nothing.
            "const" | "enum" | "default" | "examples" | "x-mcp-header" => {}
            _ => match value {
                Value::Object(_) => walk_unreachable(value, path, found)?,
                Value::Array(items) => {
                    for item in items {
                        walk_unreachable(item, path, found)?;
                    }
                }
                _ => {}
            },
        }
    }
    Ok(())
}

fn walk_unreachable(
    schema: &Value,
    path: &mut Vec<String>,
    found: &mut Vec<(String, Vec<String>)>,
) -> Result<(), String> {
    // A `properties` map under a composition keyword is still a map of schemas.
    walk(schema, path, false, found)
}

/// The `Mcp-Param-*` headers of a `tools/call` with these arguments.
pub fn param_values(
    headers: &[ParamHeader],
    arguments: Option<&Value>,
) -> Result<Vec<(HeaderName, HeaderValue)>, String> {
    let mut out = Vec::new();
    for h in headers {
        let mut v = arguments;
        for key in &h.path {
            v = v.and_then(|v| v.get(key));
        }
        let text = match v {
            None | Some(Value::Null) => continue,
            Some(Value::String(s)) => s.clone(),
            Some(Value::Bool(b)) => b.to_string(),
            Some(Value::Number(n)) => match n.as_i64() {
                Some(i) if (-SAFE_INTEGER..=SAFE_INTEGER).contains(&i) => i.to_string(),
                _ => {
                    return Err(format!(
                        "the value for {} is not an integer in the safe range",
                        h.header
                    ));
                }
            },
            Some(_) => {
                return Err(format!(
                    "the value for {} is not a string, integer or boolean",
                    h.header
                ));
            }
        };
        out.push((h.header.clone(), header_value(&text)));
    }
    Ok(out)
}

/// Everything the bridge keeps from a discover result to answer a host's `initialize`.
pub fn initialize_result(discover: &Value, host_version: Option<&str>, url: &url::Url) -> Value {
    let version = host_version
        .filter(|v| LEGACY_VERSIONS.contains(v))
        .unwrap_or(LEGACY_VERSIONS[0]);
    let mut caps = discover.get("capabilities").cloned().unwrap_or_else(|| json!({}));
    if let Some(c) = caps.as_object_mut() {
        c.remove("tasks");
    }
    let server_info = discover
        .get("_meta")
        .and_then(|m| m.get(META_SERVER_INFO))
        .or_else(|| discover.get("serverInfo"))
        .filter(|v| v.get("name").is_some_and(Value::is_string))
        .cloned()
        .unwrap_or_else(|| json!({"name": url.host_str().unwrap_or("mcp-server"), "version": "unknown"}));
    let mut r = json!({"protocolVersion": version, "capabilities": caps, "serverInfo": server_info});
    if let Some(i) = discover.get("instructions").filter(|v| v.is_string()) {
        r["instructions"] = i.clone();
    }
    r
}

/// The per-server era file: `eras.json` in mcp-valet's data directory, keyed by a hash of the
/// server URL (a URL may carry a secret in its query; the file never does). No secrets, 0600,
/// replaced atomically, read with a size limit.
#[derive(Clone)]
pub struct EraCache {
    path: Option<PathBuf>,
    key: String,
    /// Orders [`EraCache::save_later`]'s writes: the last one asked for is the one that
    /// stays (the numbers handed out, and the last one written).
    asked: std::sync::Arc<std::sync::atomic::AtomicU64>,
    written: std::sync::Arc<std::sync::Mutex<u64>>,
}

const CACHE_FILE: &str = "eras.json";
const CACHE_MAX_BYTES: u64 = 256 * 1024;
const CACHE_MAX_SERVERS: usize = 512;

impl EraCache {
    pub fn new(home: Option<PathBuf>, url: &str) -> EraCache {
        use sha2::Digest;
        let digest = sha2::Sha256::digest(url.as_bytes());
        let key = digest.iter().take(16).map(|b| format!("{b:02x}")).collect();
        EraCache {
            path: home.map(|h| h.join(CACHE_FILE)),
            key,
            asked: Default::default(),
            written: Default::default(),
        }
    }

    /// `MCP_VALET_HOME`, else the platform's data directory (where the token store lives).
    pub fn default_home() -> Option<PathBuf> {
        match std::env::var_os(crate::store::HOME_ENV) {
            Some(v) if !v.is_empty() => Some(PathBuf::from(v)),
            _ => directories::ProjectDirs::from("", "", "mcp-valet").map(|d| d.data_dir().to_path_buf()),
        }
    }

    fn read(path: &Path) -> Map<String, Value> {
        use std::io::Read;
        let Ok(f) = std::fs::File::open(path) else {
            return Map::new();
        };
        let mut buf = Vec::new();
        if f.take(CACHE_MAX_BYTES + 1).read_to_end(&mut buf).is_err() || buf.len() as u64 > CACHE_MAX_BYTES {
            return Map::new();
        }
        match serde_json::from_slice::<Value>(&buf) {
            Ok(Value::Object(mut m)) => match m.remove("servers") {
                Some(Value::Object(s)) => s,
                _ => Map::new(),
            },
            _ => Map::new(),
        }
    }

    /// The era remembered for this server.
    pub fn load(&self) -> Option<Era> {
        let servers = Self::read(self.path.as_deref()?);
        match servers.get(&self.key)?.get("era")?.as_str()? {
            "modern" => Some(Era::Modern),
            "legacy" => Some(Era::Legacy),
            _ => None,
        }
    }

    /// [`EraCache::save`] off the async threads (it writes and syncs a file).
    /// Two of them (forget, then remember) may run at once: a later one always wins.
    pub fn save_later(&self, era: Option<Era>) -> tokio::task::JoinHandle<()> {
        let me = self.clone();
        let n = self.asked.fetch_add(1, std::sync::atomic::Ordering::AcqRel) + 1;
        tokio::task::spawn_blocking(move || {
            let mut written = me.written.lock().unwrap_or_else(|e| e.into_inner());
            if n > *written {
                me.save(era);
                *written = n;
            }
        })
    }

    /// Remembers (or, with `None`, forgets) this server's era. Failures are logged, not fatal.
    pub fn save(&self, era: Option<Era>) {
        let Some(path) = &self.path else { return };
        let mut servers = Self::read(path);
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        match era {
            Some(e) => {
                if servers
                    .get(&self.key)
                    .and_then(|v| v.get("era"))
                    .and_then(Value::as_str)
                    == Some(e.name())
                {
                    return;
                }
                servers.insert(self.key.clone(), json!({"era": e.name(), "checked_at": now}));
            }
            None => {
                if servers.remove(&self.key).is_none() {
                    return;
                }
            }
        }
        while servers.len() > CACHE_MAX_SERVERS {
            let oldest = servers
                .iter()
                .min_by_key(|(_, v)| v.get("checked_at").and_then(Value::as_u64).unwrap_or(0))
                .map(|(k, _)| k.clone());
            match oldest {
                Some(k) => servers.remove(&k),
                None => break,
            };
        }
        let text = json!({"version": 1, "servers": servers}).to_string();
        if let Err(e) = write_private(path, text.as_bytes()) {
            tracing::debug!(
                "could not remember the server's protocol era in {}: {e}",
                path.display()
            );
        }
    }
}

/// Writes the era file (0600, atomically) with the store's writer, making its directory first.
fn write_private(path: &Path, data: &[u8]) -> std::io::Result<()> {
    std::fs::create_dir_all(path.parent().unwrap_or(Path::new(".")))?;
    crate::store::write_atomic(path, data)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verdicts_follow_the_spec() {
        let ok = json!({"jsonrpc":"2.0","id":1,"result":{"supportedVersions":["2026-07-28"],"capabilities":{}}});
        assert!(matches!(verdict(200, Some(&ok)), Verdict::Modern(Some(_))));
        let old = json!({"jsonrpc":"2.0","id":1,"result":{"supportedVersions":["2025-11-25"]}});
        assert!(matches!(verdict(200, Some(&old)), Verdict::Legacy(_)));
        let err = |c: i64| json!({"jsonrpc":"2.0","id":1,"error":{"code":c,"message":"x"}});
        assert!(matches!(verdict(400, Some(&err(-32020))), Verdict::Modern(None)));
        assert!(matches!(verdict(400, Some(&err(-32021))), Verdict::Modern(None)));
        assert!(matches!(verdict(400, Some(&err(-32022))), Verdict::Modern(None)));
        assert!(matches!(verdict(404, Some(&err(-32601))), Verdict::Modern(None)));
        // Legacy servers: TS v1's -32000, a session complaint, an empty 404/405.
        assert!(matches!(verdict(400, Some(&err(-32000))), Verdict::Legacy(_)));
        assert!(matches!(verdict(400, Some(&err(-32600))), Verdict::Legacy(_)));
        assert!(matches!(verdict(404, None), Verdict::Legacy(_)));
        assert!(matches!(verdict(405, None), Verdict::Legacy(_)));
        assert!(matches!(verdict(200, None), Verdict::Legacy(_)));
        // -32601 with 400 is not the modern unknown-method answer.
        assert!(matches!(verdict(400, Some(&err(-32601))), Verdict::Legacy(_)));
        // -32022 naming only versions we do not speak as modern.
        let v =
            json!({"jsonrpc":"2.0","id":1,"error":{"code":-32022,"message":"x","data":{"supported":["2025-11-25"]}}});
        assert!(matches!(verdict(400, Some(&v)), Verdict::Legacy(_)));
        let v =
            json!({"jsonrpc":"2.0","id":1,"error":{"code":-32022,"message":"x","data":{"supported":["2026-07-28"]}}});
        assert!(matches!(verdict(400, Some(&v)), Verdict::Modern(None)));
    }

    #[test]
    fn legacy_answers_are_recognised() {
        assert!(looks_legacy(404, None));
        let e = json!({"code":-32000,"message":"Bad Request: Unsupported protocol version: 2026-07-28"});
        assert!(looks_legacy(400, Some(&e)));
        let e = json!({"code":-32000,"message":"Bad Request: No valid session ID provided"});
        assert!(looks_legacy(400, Some(&e)));
        // A modern server refusing a request is not a change of era.
        let e = json!({"code":-32600,"message":"Cannot send 'elicitation/create'"});
        assert!(!looks_legacy(400, Some(&e)));
        let e = json!({"code":-32602,"message":"bad params"});
        assert!(!looks_legacy(400, Some(&e)));
    }

    #[test]
    fn sse_discover_answers_are_read() {
        let body = b": hi\n\nevent: message\ndata: {\"jsonrpc\":\"2.0\",\"id\":0,\"result\":{\"supportedVersions\":[\"2026-07-28\"]}}\n\n";
        let m = first_message(body, true).unwrap();
        assert!(matches!(verdict(200, Some(&m)), Verdict::Modern(Some(_))));
    }

    #[test]
    fn unsafe_header_values_use_the_sentinel() {
        assert_eq!(header_text("us-west1"), "us-west1");
        assert_eq!(header_text("a b"), "a b");
        assert_eq!(header_text("Hello, 世界"), "=?base64?SGVsbG8sIOS4lueVjA==?=");
        assert_eq!(header_text(" padded "), "=?base64?IHBhZGRlZCA=?=");
        assert_eq!(header_text("line1\nline2"), "=?base64?bGluZTEKbGluZTI=?=");
        assert_eq!(header_text("=?base64?literal?="), "=?base64?PT9iYXNlNjQ/bGl0ZXJhbD89?=");
        assert_eq!(header_text("a\tb"), "=?base64?YQli?=");
        assert_eq!(header_text(""), "");
    }

    #[test]
    fn x_mcp_header_annotations_are_checked() {
        let good = json!({"type":"object","properties":{
            "region":{"type":"string","x-mcp-header":"Region"},
            "n":{"type":"integer","x-mcp-header":"Count"},
            "deep":{"type":"object","properties":{"flag":{"type":"boolean","x-mcp-header":"Flag"}}},
            "plain":{"type":"string"}}});
        let h = param_headers(&good).unwrap();
        assert_eq!(h.len(), 3);
        let args = json!({"region":"Zürich","n":42,"deep":{"flag":true},"plain":"x"});
        let vals = param_values(&h, Some(&args)).unwrap();
        let find = |n: &str| {
            vals.iter()
                .find(|(k, _)| k == n)
                .map(|(_, v)| v.to_str().unwrap().to_owned())
        };
        assert_eq!(find("mcp-param-region").unwrap(), "=?base64?WsO8cmljaA==?=");
        assert_eq!(find("mcp-param-count").unwrap(), "42");
        assert_eq!(find("mcp-param-flag").unwrap(), "true");
        // null and absent values: no header
        let vals = param_values(&h, Some(&json!({"region":null}))).unwrap();
        assert!(vals.is_empty());
        assert!(param_values(&h, Some(&json!({"n": 9007199254740993i64}))).is_err());

        let bad = [
            json!({"properties":{"a":{"type":"string","x-mcp-header":""}}}),
            json!({"properties":{"a":{"type":"string","x-mcp-header":"has space"}}}),
            json!({"properties":{"a":{"type":"string","x-mcp-header":"A\r\n"}}}),
            json!({"properties":{"a":{"type":"number","x-mcp-header":"A"}}}),
            json!({"properties":{"a":{"type":"object","x-mcp-header":"A"}}}),
            json!({"properties":{"a":{"x-mcp-header":"A"}}}),
            json!({"properties":{"a":{"type":"string","x-mcp-header":"A"},"b":{"type":"string","x-mcp-header":"a"}}}),
            json!({"properties":{"a":{"type":"array","items":{"type":"string","x-mcp-header":"A"}}}}),
            json!({"properties":{"a":{"anyOf":[{"type":"string","x-mcp-header":"A"}]}}}),
            json!({"oneOf":[{"properties":{"a":{"type":"string","x-mcp-header":"A"}}}]}),
            json!({"$defs":{"x":{"properties":{"a":{"type":"string","x-mcp-header":"A"}}}}}),
            json!({"properties":{"a":{"type":"string","x-mcp-header":7}}}),
        ];
        for b in bad {
            assert!(param_headers(&b).is_err(), "{b}");
        }
        assert_eq!(param_headers(&json!({"type":"object"})).unwrap(), vec![]);
        // A default value that happens to hold the key is not an annotation.
        assert!(param_headers(&json!({"properties":{"a":{"type":"object","default":{"x-mcp-header":"A"}}}})).is_ok());
    }

    #[test]
    fn envelope_and_capabilities() {
        let host = json!({"roots":{"listChanged":true},"sampling":{},"tasks":{"list":{}},"elicitation":{"form":{}}});
        let caps = translate_capabilities(&host);
        assert_eq!(caps, json!({"roots":{},"sampling":{},"elicitation":{"form":{}}}));
        let info = json!({"name":"host","version":"1"});
        let mut params = json!({"name":"t","_meta":{"progressToken":5}})
            .as_object()
            .unwrap()
            .clone();
        add_envelope(
            &mut params,
            &Envelope {
                capabilities: &caps,
                client_info: &info,
                log_level: Some("debug"),
            },
        );
        let meta = &params["_meta"];
        assert_eq!(meta["progressToken"], 5);
        assert_eq!(meta[META_VERSION], MODERN);
        assert_eq!(meta[META_CAPABILITIES], caps);
        assert_eq!(meta[META_CLIENT_INFO], info);
        assert_eq!(meta[META_LOG_LEVEL], "debug");
    }

    #[test]
    fn initialize_answers_come_from_discover() {
        let url = url::Url::parse("https://example.com/mcp").unwrap();
        let d = json!({"supportedVersions":["2026-07-28"],"capabilities":{"tools":{"listChanged":true},"tasks":{}},
            "instructions":"hi","_meta":{"io.modelcontextprotocol/serverInfo":{"name":"s","version":"2"}}});
        let r = initialize_result(&d, Some("2025-06-18"), &url);
        assert_eq!(r["protocolVersion"], "2025-06-18");
        assert_eq!(r["capabilities"], json!({"tools":{"listChanged":true}}));
        assert_eq!(r["serverInfo"]["name"], "s");
        assert_eq!(r["instructions"], "hi");
        let r = initialize_result(
            &json!({"serverInfo":{"name":"b","version":"1"}}),
            Some("2099-01-01"),
            &url,
        );
        assert_eq!(r["protocolVersion"], "2025-11-25");
        assert_eq!(r["serverInfo"]["name"], "b");
        let r = initialize_result(&json!({}), None, &url);
        assert_eq!(r["serverInfo"]["name"], "example.com");
    }

    #[test]
    fn the_era_file_remembers_per_server() {
        let dir = tempfile::tempdir().unwrap();
        let a = EraCache::new(Some(dir.path().join("sub")), "https://a.example/mcp?key=secret");
        let b = EraCache::new(Some(dir.path().join("sub")), "https://b.example/mcp");
        assert_eq!(a.load(), None);
        a.save(Some(Era::Modern));
        b.save(Some(Era::Legacy));
        assert_eq!(a.load(), Some(Era::Modern));
        assert_eq!(b.load(), Some(Era::Legacy));
        let text = std::fs::read_to_string(dir.path().join("sub").join(CACHE_FILE)).unwrap();
        assert!(!text.contains("secret") && !text.contains("example"));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join("sub").join(CACHE_FILE))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        a.save(None);
        assert_eq!(a.load(), None);
        assert_eq!(b.load(), Some(Era::Legacy));
        // A damaged or oversized file reads as empty.
        std::fs::write(dir.path().join("sub").join(CACHE_FILE), "{nope").unwrap();
        assert_eq!(b.load(), None);
        assert_eq!(EraCache::new(None, "x").load(), None);
    }
}
