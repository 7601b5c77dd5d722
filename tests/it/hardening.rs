//! Hardening (issue 11): a hostile server or authorization server, a local attacker and a slow
//! client get nowhere. The real binary runs against real peers where they can produce the fault;
//! small stand-ins on 127.0.0.1 play the servers and proxies that misbehave on purpose.

use std::process::{Command, Stdio};

use crate::common::free_port;
use crate::common::peers::{Peer, PeerKind};
use crate::common::valet::{Valet, text};
use serde_json::{Value, json};

fn valet() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_mcp-valet"));
    c.env_remove("MCP_VALET_LOG").stdin(Stdio::null());
    c
}

/// Proves that an invalid request whose `id` is an object or an array is answered with
/// `id: null`, and that the bridge never echoes such an id back whole (a client could make the
/// bridge repeat any amount of JSON it sent).
#[test]
fn an_invalid_non_scalar_id_is_answered_with_a_null_id() {
    let peer = Peer::start(PeerKind::StatefulJson);
    let mut v = Valet::spawn(&[&peer.url]);
    v.handshake();
    let big = json!({"nested": vec!["x"; 64], "deeper": {"k": "marker-not-echoed"}});
    for bad_id in [big.clone(), json!(["marker-not-echoed", 1]), json!(true)] {
        // `jsonrpc: "1.0"` makes it invalid whatever the id; the id is not a string or a number.
        v.send(&json!({"jsonrpc": "1.0", "id": bad_id, "method": "tools/list"}));
        let r = v.recv();
        assert_eq!(r["error"]["code"], -32600, "{r}");
        assert_eq!(r["id"], Value::Null, "the invalid id is not echoed: {r}");
        assert!(!r.to_string().contains("marker-not-echoed"), "{r}");
        v.send(&json!({"jsonrpc": "2.0", "id": bad_id, "method": "tools/list"}));
        let r = v.recv();
        assert_eq!(r["error"]["code"], -32600, "{r}");
        assert_eq!(r["id"], Value::Null, "{r}");
    }
    // A scalar id is still answered with itself, and the bridge still works.
    v.send(&json!({"jsonrpc": "1.0", "id": "s-1", "method": "tools/list"}));
    let r = v.recv();
    assert_eq!(
        (r["id"].clone(), r["error"]["code"].clone()),
        (json!("s-1"), json!(-32600))
    );
    let r = v.tool(3, "echo", json!({"text": "still here"}));
    assert_eq!(text(&r), "still here");
}

/// Proves that a duration too large to add to a clock (u64::MAX seconds, which aborted the
/// process at the first request or sign-in) is a usage error (exit 2) naming the limit, for
/// every duration option, before anything else happens.
#[test]
fn durations_that_would_overflow_are_usage_errors() {
    for (flag, value) in [
        ("--request-timeout", "18446744073709551615"),
        ("--max-request-time", "18446744073709551615"),
        ("--connect-timeout", "18446744073709551615ms"),
        ("--auth-timeout", "18446744073709551615h"),
        ("--request-timeout", "721h"),
    ] {
        let args: Vec<&str> = if flag == "--auth-timeout" {
            vec!["login", "http://127.0.0.1:9/mcp", flag, value]
        } else {
            vec!["http://127.0.0.1:9/mcp", flag, value]
        };
        let out = valet().args(&args).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains("at most 30 days"), "{args:?}: {err}");
        assert!(out.stdout.is_empty());
    }
    // Thirty days itself is accepted (the bridge starts and ends at stdin's end).
    let out = valet()
        .args(["http://127.0.0.1:9/mcp", "--request-timeout", "720h"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
}

/// The bridge started as a client that never reads its stderr would start it: stdin and stdout
/// piped, stderr piped and never read. Answers the child and a receiver of its stdout lines.
fn bridge_with_unread_stderr(
    args: &[&str],
    envs: &[(&str, &str)],
) -> (std::process::Child, std::sync::mpsc::Receiver<Value>) {
    use std::io::BufRead;
    let home = crate::common::valet::temp_home();
    let mut child = Command::new(env!("CARGO_BIN_EXE_mcp-valet"))
        .args(args)
        .env("MCP_VALET_HOME", home.path())
        .env("MCP_VALET_TOKEN_STORE", "memory")
        .envs(envs.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _home = home;
        for line in std::io::BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(crate::common::valet::parse_line(&line)).is_err() {
                break;
            }
        }
    });
    (child, rx)
}

/// Waits up to `secs` for the child to exit.
fn exits_within(child: &mut std::process::Child, secs: u64) -> Option<std::process::ExitStatus> {
    let until = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    while std::time::Instant::now() < until {
        if let Some(st) = child.try_wait().unwrap() {
            return Some(st);
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
    None
}

/// Proves that logging never blocks the relay: with trace logging and a client that never
/// reads the bridge's stderr (the pipe fills after 64 KiB), every request is still answered,
/// and the bridge still exits on SIGTERM, and on stdin's end. Then, once stderr is read, it
/// says how many log lines it had to drop.
#[test]
fn a_stderr_nobody_reads_does_not_freeze_the_bridge() {
    use std::io::{Read, Write};
    let peer = Peer::start(PeerKind::StatefulJson);
    let trace = [("MCP_VALET_LOG", "trace,mcp_valet=trace")];
    for end in ["SIGTERM", "stdin EOF"] {
        let (mut child, rx) = bridge_with_unread_stderr(&[&peer.url, "-vvv"], &trace);
        let mut stdin = child.stdin.take().unwrap();
        let mut call = |id: i64, method: &str, params: Value| -> Value {
            let msg = json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params});
            writeln!(stdin, "{msg}").unwrap();
            loop {
                let m = rx
                    .recv_timeout(std::time::Duration::from_secs(20))
                    .unwrap_or_else(|_| panic!("({end}) no answer to request {id}: the bridge is stuck"));
                if m["id"] == id {
                    return m;
                }
            }
        };
        call(0, "initialize", crate::common::valet::init_params("2025-11-25"));
        // Far more log output than a pipe holds.
        let padding = "p".repeat(400);
        for id in 1..=400 {
            let r = call(
                id,
                "tools/call",
                json!({"name": "echo", "arguments": {"text": padding}}),
            );
            assert_eq!(text(&r), padding, "({end}) {r}");
        }
        if end == "SIGTERM" {
            let st = Command::new("kill")
                .args(["-TERM", &child.id().to_string()])
                .status()
                .unwrap();
            assert!(st.success());
            let status = exits_within(&mut child, 15);
            assert!(status.is_some(), "the bridge ignored SIGTERM with its stderr full");
        } else {
            // From now on stderr is read, and the bridge is told to finish.
            let mut stderr = child.stderr.take().unwrap();
            let reader = std::thread::spawn(move || {
                let mut err = String::new();
                stderr.read_to_string(&mut err).unwrap();
                err
            });
            drop(stdin);
            let status = exits_within(&mut child, 15);
            assert_eq!(
                status.map(|s| s.code()),
                Some(Some(0)),
                "the bridge did not end at stdin's end"
            );
            let err = reader.join().unwrap();
            assert!(
                err.contains("log lines were dropped"),
                "the drops are counted: {}",
                &err[err.len().saturating_sub(2000)..]
            );
        }
    }
}

/// `mcp-valet login <args>` with a private home, an in-memory store and `envs` (an empty
/// value removes the variable); answers the exit code and stderr.
fn login(args: &[&str], envs: &[(&str, &str)]) -> (Option<i32>, String) {
    let home = crate::common::valet::temp_home();
    let home_path = home.path().to_str().unwrap().to_owned();
    let mut all: Vec<(&str, &str)> = vec![
        ("MCP_VALET_HOME", &home_path),
        ("MCP_VALET_TOKEN_STORE", "memory"),
        ("MCP_VALET_LOG", ""),
        ("BROWSER", ""),
    ];
    all.extend_from_slice(envs);
    let mut full = vec!["login"];
    full.extend_from_slice(args);
    full.extend_from_slice(&["--no-browser", "--auth-timeout", "5s"]);
    let out = crate::common::valet::run(&full, &all);
    (out.status.code(), String::from_utf8_lossy(&out.stderr).into_owned())
}

/// The environment of a user whose proxy is `http://127.0.0.1:<port>`, for every scheme.
fn behind_proxy(port: u16, no_proxy: &str) -> Vec<(&'static str, String)> {
    let proxy = format!("http://127.0.0.1:{port}");
    vec![
        ("HTTP_PROXY", proxy.clone()),
        ("http_proxy", proxy.clone()),
        ("HTTPS_PROXY", proxy.clone()),
        ("https_proxy", proxy),
        ("ALL_PROXY", String::new()),
        ("all_proxy", String::new()),
        ("NO_PROXY", no_proxy.to_owned()),
        ("no_proxy", no_proxy.to_owned()),
    ]
}

fn unauthorized(resource_metadata: &str) -> String {
    format!(
        "HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Bearer resource_metadata=\"{resource_metadata}\"\r\nContent-Length: 0\r\n\r\n"
    )
}

const NOT_FOUND: &str = "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n";

/// Proves that the proxy follows each request's own host: with the MCP server on this machine
/// (reached directly) and its authorization server elsewhere, sign-in traffic still goes
/// through `HTTP_PROXY` (one client used to be built without any proxy because the MCP server
/// was on loopback).
#[test]
fn sign_in_to_an_authorization_server_elsewhere_goes_through_the_proxy() {
    // One stand-in plays both the MCP server (origin-form requests) and the proxy
    // (absolute-form requests).
    let prm = "http://auth.example.test/.well-known/oauth-protected-resource/mcp";
    let (port, seen) = crate::network::stand_in(move |req| {
        if req.line.starts_with("POST /mcp ") {
            unauthorized(prm)
        } else {
            NOT_FOUND.to_owned()
        }
    });
    let env = behind_proxy(port, "");
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (code, err) = login(&[&format!("http://127.0.0.1:{port}/mcp"), "--allow-http"], &env);
    assert_ne!(code, Some(0), "{err}");
    let lines: Vec<String> = seen.lock().unwrap().iter().map(|r| r.line.clone()).collect();
    assert!(
        lines.iter().any(|l| l == &format!("GET {prm} HTTP/1.1")),
        "the metadata request went through the proxy: {lines:?}\n{err}"
    );
    assert!(
        lines.iter().any(|l| l.starts_with("POST /mcp ")),
        "the MCP server on this machine was reached directly: {lines:?}"
    );
}

/// A stand-in for a service on the user's machine that a hostile server would like to reach:
/// answers 200 with a usable resource metadata document, and counts what reaches it.
fn internal_service() -> (u16, std::sync::Arc<std::sync::Mutex<Vec<crate::network::Seen>>>) {
    crate::network::stand_in(|_| {
        let body = r#"{"resource":"http://mcp.example.test/mcp","authorization_servers":["http://mcp.example.test"]}"#;
        format!(
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )
    })
}

/// Proves that an IPv4-mapped IPv6 literal (`[::ffff:127.0.0.1]`) is recognised as loopback:
/// a server on the internet (mcp.example.test, reached through the user's proxy) that points
/// sign-in at it is refused, and nothing is sent there, directly or through the proxy.
#[test]
fn a_public_server_cannot_point_sign_in_at_a_mapped_loopback_address() {
    let (internal, reached) = internal_service();
    let target = format!("http://[::ffff:127.0.0.1]:{internal}/.well-known/oauth-protected-resource");
    let t = target.clone();
    let (proxy, seen) = crate::network::stand_in(move |req| {
        if req.line.starts_with("POST http://mcp.example.test/mcp ") {
            unauthorized(&t)
        } else {
            NOT_FOUND.to_owned()
        }
    });
    let env = behind_proxy(proxy, "");
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (code, err) = login(&["http://mcp.example.test/mcp", "--allow-http"], &env);
    assert_ne!(code, Some(0), "{err}");
    assert!(err.contains("private address"), "{err}");
    assert!(reached.lock().unwrap().is_empty(), "the internal service was reached");
    let lines: Vec<String> = seen.lock().unwrap().iter().map(|r| r.line.clone()).collect();
    assert!(
        !lines.iter().any(|l| l.contains("ffff")),
        "nothing went to the mapped address through the proxy: {lines:?}"
    );
}

/// A host name other than `localhost` that this machine's hosts file maps to 127.0.0.0/8
/// (Debian and containers map the machine's own name there).
fn a_name_for_loopback() -> Option<String> {
    let hosts = std::fs::read_to_string("/etc/hosts").ok()?;
    hosts.lines().find_map(|l| {
        let mut words = l.split('#').next()?.split_whitespace();
        let ip: std::net::Ipv4Addr = words.next()?.parse().ok()?;
        if !ip.is_loopback() {
            return None;
        }
        words
            .find(|w| !w.to_ascii_lowercase().contains("localhost"))
            .map(str::to_owned)
    })
}

/// Proves that the private-address rule holds for names, on the addresses they resolve to:
/// a server on the internet that points sign-in at a name resolving to 127.0.0.1 is refused
/// and the service there is not reached; a server on this machine may still use such a name
/// (an intranet's servers point at each other).
#[test]
fn a_public_server_cannot_point_sign_in_at_a_name_that_resolves_to_loopback() {
    let Some(name) = a_name_for_loopback() else {
        eprintln!("SKIPPED: /etc/hosts maps no name other than localhost to 127.0.0.0/8");
        return;
    };
    let (internal, reached) = internal_service();
    let target = format!("http://{name}:{internal}/.well-known/oauth-protected-resource");
    let t = target.clone();
    let (proxy, _) = crate::network::stand_in(move |req| {
        if req.line.starts_with("POST http://mcp.example.test/mcp ") || req.line.starts_with("POST /mcp ") {
            unauthorized(&t)
        } else {
            NOT_FOUND.to_owned()
        }
    });
    // The name is reached directly (NO_PROXY), the public server through the proxy.
    let env = behind_proxy(proxy, &name);
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (code, err) = login(&["http://mcp.example.test/mcp", "--allow-http"], &env);
    assert_ne!(code, Some(0), "{err}");
    assert!(err.contains("private address (127."), "{name}: {err}");
    assert!(
        reached.lock().unwrap().is_empty(),
        "the internal service was reached via {name}"
    );

    // The same answer from a server on this machine: the name may be used.
    let (_, err) = login(&[&format!("http://127.0.0.1:{proxy}/mcp"), "--allow-http"], &env);
    let lines: Vec<String> = reached.lock().unwrap().iter().map(|r| r.line.clone()).collect();
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("GET /.well-known/oauth-protected-resource ")),
        "{lines:?}\n{err}"
    );
}

/// An MCP server on 127.0.0.1 whose sign-in metadata is huge: `POST /mcp` is answered 401
/// naming `/<path>` as its resource metadata; `GET /announced` announces 1.5 GB (and sends
/// nothing), `GET /streamed` streams 64 MiB in chunks without announcing a length.
fn server_with_huge_metadata() -> u16 {
    use std::io::Write;
    let (port, _) = crate::common::stand_in::serve_raw(|req, w| {
        let _ = match req.path() {
            p if p.starts_with("/mcp-") => w.write_all(
                unauthorized(&format!("http://{}/{}", req.header("host").unwrap_or_default(), &p[5..]))
                    .replace("Content-Length: 0", "Content-Length: 0\r\nConnection: close")
                    .as_bytes(),
            ),
            "/announced" => w
                .write_all(
                    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 1610612736\r\n\r\n{\"resource\":",
                )
                .map(|_| std::thread::sleep(std::time::Duration::from_secs(40))),
            "/streamed" => (|| {
                w.write_all(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n")?;
                let chunk = format!("100000\r\n{}\r\n", " ".repeat(0x100000));
                for _ in 0..64 {
                    w.write_all(chunk.as_bytes())?;
                }
                w.write_all(b"0\r\n\r\n")
            })(),
            _ => w.write_all(NOT_FOUND.replace("\r\n\r\n", "\r\nConnection: close\r\n\r\n").as_bytes()),
        };
        false
    });
    port
}

/// Runs `mcp-valet login <url> --no-browser` to its end; answers its exit code, stderr and
/// peak memory (the child's own maximum resident set, in KiB, from wait4).
// The child is reaped by wait4 (which also reports its memory), not by `Child::wait`.
#[allow(clippy::zombie_processes)]
fn login_measured(url: &str) -> (i32, String, i64) {
    let home = crate::common::valet::temp_home();
    let mut child = Command::new(env!("CARGO_BIN_EXE_mcp-valet"))
        .args(["login", url, "--no-browser", "--auth-timeout", "5s"])
        .env("MCP_VALET_HOME", home.path())
        .env("MCP_VALET_TOKEN_STORE", "memory")
        .env_remove("MCP_VALET_LOG")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (stderr, reader) = crate::common::capture(child.stderr.take().unwrap());
    let mut status = 0;
    // SAFETY: a zeroed rusage is valid; wait4 waits for our own child and fills both.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let pid = unsafe { libc::wait4(child.id() as i32, &mut status, 0, &mut usage) };
    assert_eq!(pid, child.id() as i32);
    reader.join().unwrap();
    let err = String::from_utf8_lossy(&stderr.lock().unwrap()).into_owned();
    (libc::WEXITSTATUS(status), err, usage.ru_maxrss)
}

/// Proves that OAuth documents are read under a 1 MiB cap: resource metadata announcing
/// 1.5 GB is refused before its body is read, and one streamed without a length (64 MiB) is
/// refused at the limit, with a clear error, while the process stays small (it used to read
/// such a body whole: 1.5 GB of metadata took 3.1 GiB).
#[test]
fn oversized_oauth_documents_are_refused_and_not_read() {
    let port = server_with_huge_metadata();
    let (code, err, _) = login_measured(&format!("http://127.0.0.1:{port}/mcp-announced"));
    assert_ne!(code, 0, "{err}");
    assert!(err.contains("larger than 1024 KiB"), "{err}");

    let (code, err, peak_kib) = login_measured(&format!("http://127.0.0.1:{port}/mcp-streamed"));
    assert_ne!(code, 0, "{err}");
    assert!(err.contains("larger than 1024 KiB"), "{err}");
    assert!(
        peak_kib < 48 * 1024,
        "64 MiB of metadata must not be held: the process peaked at {peak_kib} KiB"
    );
}

/// Proves that a key in the server URL's query (`?api_key=…`) never reaches a person or a log:
/// not in the `login_required` error the client gets, not in the `mcp-valet login` hint of
/// `token`, not in `status` or `logout`, not on stderr at trace level. (Elsewhere URLs already
/// lost their query; these printed the URL as given.)
#[test]
fn a_key_in_the_server_url_is_never_printed() {
    let secret = "SECRET-IN-URL-0123456789";
    let peer = Peer::start_with(PeerKind::StatefulJson, &["--require-bearer", "the-right-token"]);
    let url = format!("{}?api_key={secret}", peer.url);
    let home = crate::common::valet::temp_home();
    let home_s = home.path().to_str().unwrap();
    let env = [
        ("MCP_VALET_HOME", home_s),
        ("MCP_VALET_TOKEN_STORE", "file"),
        ("MCP_VALET_LOG", "trace"),
    ];
    let run = |args: &[&str]| crate::common::valet::run(args, &env);
    let shown = |out: &std::process::Output| {
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    };

    // Not signed in: `token` says how to sign in.
    let out = run(&["token", &url]);
    assert_eq!(out.status.code(), Some(4), "{}", shown(&out));
    let said = shown(&out);
    assert!(said.contains("mcp-valet login http://127.0.0.1:"), "{said}");
    assert!(!said.contains(secret), "{said}");
    let said = shown(&run(&["status", &url]));
    assert!(said.contains("Not signed in") && !said.contains(secret), "{said}");

    // A kept token the server rejects: the bridge answers login_required.
    let kept = crate::common::valet::run_with_input(
        &["login", &url, "--with-token", "--no-check"],
        &env,
        b"the-wrong-token\n",
    );
    assert!(kept.status.success(), "{}", shown(&kept));
    assert!(!shown(&kept).contains(secret), "{}", shown(&kept));
    let mut v = Valet::spawn_env(&[&url], &env);
    let r = v.call(0, "initialize", crate::common::valet::init_params("2025-11-25"));
    assert_eq!(r["error"]["data"]["kind"], "login_required", "{r}");
    assert!(!r.to_string().contains(secret), "{r}");
    let (_, _) = v.wait_within(std::time::Duration::from_secs(10));
    assert!(!v.stderr().contains(secret), "{}", v.stderr());

    for args in [vec!["status"], vec!["status", &url], vec!["logout", &url]] {
        let out = run(&args);
        assert!(!shown(&out).contains(secret), "{args:?}: {}", shown(&out));
    }
}

/// A hostile MCP server on 127.0.0.1 that is its own authorization server: `POST /mcp` is
/// answered 401; the resource and server metadata name itself (with a device endpoint);
/// `POST /device` answers `device`, `POST /token` answers `token` (a 400 error document) and
/// `POST /register` registers anyone. Answers its port and the requests it saw.
pub(crate) fn hostile_authorization_server(
    device: Value,
    token: Value,
) -> (u16, std::sync::Arc<std::sync::Mutex<Vec<crate::network::Seen>>>) {
    crate::network::stand_in(move |req| {
        let host = req.header("host").unwrap_or_default().to_owned();
        let base = format!("http://{host}");
        let path = req.line.split_whitespace().nth(1).unwrap_or("");
        let (status, body) = match path {
            "/mcp" => return unauthorized(&format!("{base}/.well-known/oauth-protected-resource/mcp")),
            p if p.starts_with("/.well-known/oauth-protected-resource") => (
                "200 OK",
                json!({"resource": format!("{base}/mcp"), "authorization_servers": [base]}),
            ),
            "/.well-known/oauth-authorization-server" => (
                "200 OK",
                json!({
                    "issuer": base,
                    "authorization_endpoint": format!("{base}/authorize"),
                    "token_endpoint": format!("{base}/token"),
                    "device_authorization_endpoint": format!("{base}/device"),
                    "registration_endpoint": format!("{base}/register"),
                    "code_challenge_methods_supported": ["S256"],
                }),
            ),
            "/device" => ("200 OK", device.clone()),
            "/token" => ("400 Bad Request", token.clone()),
            "/register" => ("201 Created", json!({"client_id": "registered"})),
            _ => return NOT_FOUND.to_owned(),
        };
        let body = body.to_string();
        format!(
            "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )
    })
}

/// `mcp-valet login <url> --device --auth-timeout 3s` against `port`, killed after a minute
/// if it has not ended; answers its exit code (None: it had to be killed) and stderr.
fn device_login(port: u16) -> (Option<i32>, String) {
    let home = crate::common::valet::temp_home();
    let mut c = valet();
    c.args([
        "login",
        &format!("http://127.0.0.1:{port}/mcp"),
        "--device",
        "--auth-timeout",
        "3s",
    ])
    .env("MCP_VALET_HOME", home.path())
    .env("MCP_VALET_TOKEN_STORE", "memory")
    .env("BROWSER", "");
    let out = crate::common::peers::run_bounded(c, std::time::Duration::from_secs(60));
    (out.status.code(), String::from_utf8_lossy(&out.stderr).into_owned())
}

/// Proves that the device flow's `interval` is clamped and that no wait outlasts
/// `--auth-timeout`: an authorization server asking for a poll every 10^12 seconds (about
/// 31,700 years) used to keep `login` waiting forever.
#[test]
fn a_huge_device_poll_interval_does_not_outwait_the_auth_timeout() {
    let (port, seen) = hostile_authorization_server(
        json!({
            "device_code": "dc", "user_code": "ABCD-EFGH",
            "verification_uri": "https://as.example/device",
            "expires_in": 600, "interval": 1_000_000_000_000u64,
        }),
        json!({"error": "authorization_pending"}),
    );
    let (code, err) = device_login(port);
    assert!(code.is_some(), "login was still waiting after a minute: {err}");
    assert_ne!(code, Some(0), "{err}");
    assert!(err.contains("(--auth-timeout)"), "{err}");
    assert!(
        seen.lock().unwrap().iter().any(|r| r.line.starts_with("POST /device")),
        "the device flow was started"
    );
}

/// Proves that the browser is started without the secrets mcp-valet was given through its
/// environment: `MCP_VALET_CLIENT_SECRET` and every variable a `${VAR}` header uses. The browser
/// here is a script that writes down its whole environment.
#[test]
fn the_browser_does_not_inherit_secrets() {
    use std::os::unix::fs::PermissionsExt;
    let (port, _) = hostile_authorization_server(json!({}), json!({"error": "invalid_grant"}));
    let dir = tempfile::tempdir().unwrap();
    let dump = dir.path().join("env");
    let script = dir.path().join("browser.sh");
    std::fs::write(
        &script,
        format!("#!/bin/sh\nenv > '{}.tmp'\nmv '{0}.tmp' '{0}'\n", dump.display()),
    )
    .unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    let home = crate::common::valet::temp_home();
    let mut c = valet();
    c.args([
        "login",
        &format!("http://127.0.0.1:{port}/mcp"),
        "--client-id",
        "pre-registered",
        "-H",
        "X-Api-Key: ${HARDENING_API_KEY}",
        "--auth-timeout",
        "3s",
    ])
    .env("MCP_VALET_HOME", home.path())
    .env("MCP_VALET_TOKEN_STORE", "memory")
    .env("MCP_VALET_CLIENT_SECRET", "the-client-secret-value")
    .env("HARDENING_API_KEY", "the-api-key-value")
    .env("HARDENING_HARMLESS", "still-here")
    .env("BROWSER", &script);
    let out = crate::common::peers::run_bounded(c, std::time::Duration::from_secs(60));
    let err = String::from_utf8_lossy(&out.stderr);
    let seen = std::fs::read_to_string(&dump).unwrap_or_else(|_| panic!("the browser was not started: {err}"));
    assert!(seen.contains("HARDENING_HARMLESS=still-here"), "{seen}");
    assert!(!seen.contains("the-client-secret-value"), "{seen}");
    assert!(!seen.contains("MCP_VALET_CLIENT_SECRET"), "{seen}");
    assert!(!seen.contains("the-api-key-value"), "{seen}");
}

/// A `BROWSER` that writes the URL it is given to `<dir>/url` (then returns); answers the
/// script's path and where the URL will be.
fn recording_browser(dir: &std::path::Path) -> (std::path::PathBuf, std::path::PathBuf) {
    use std::os::unix::fs::PermissionsExt;
    let url = dir.join("url");
    let script = dir.join("browser.sh");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\nprintf %s \"$1\" > '{0}.tmp'\nmv '{0}.tmp' '{0}'\n",
            url.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    (script, url)
}

/// `mcp-valet login` against `as_port` with `BROWSER` = `browser`, `--auth-timeout 3s` and
/// `extra` arguments, in a thread; killed after a minute.
fn browser_login(
    as_port: u16,
    browser: &std::path::Path,
    extra: &[&str],
) -> std::thread::JoinHandle<(Option<i32>, String)> {
    let mut c = valet();
    let home = crate::common::valet::temp_home();
    c.args([
        "login",
        &format!("http://127.0.0.1:{as_port}/mcp"),
        "--auth-timeout",
        "3s",
    ])
    .args(extra)
    .env("MCP_VALET_HOME", home.path())
    .env("MCP_VALET_TOKEN_STORE", "memory")
    .env("BROWSER", browser);
    std::thread::spawn(move || {
        let out = crate::common::peers::run_bounded(c, std::time::Duration::from_secs(60));
        drop(home);
        (out.status.code(), String::from_utf8_lossy(&out.stderr).into_owned())
    })
}

/// Proves that a `localhost` redirect URI cannot be answered by another local user on `[::1]`
/// (browsers try `::1` first): with `[::1]:<port>` taken, mcp-valet does not sign in on that
/// port (it used to bind 127.0.0.1 alone and open the browser, sending the code and state to
/// whoever held `[::1]`).
#[test]
fn a_localhost_redirect_is_not_left_to_whoever_holds_ipv6_loopback() {
    let (as_port, _) = hostile_authorization_server(json!({}), json!({"error": "invalid_grant"}));
    let port = free_port();
    let _squatter = std::net::TcpListener::bind(("::1", port)).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (browser, url) = recording_browser(dir.path());
    let redirect = format!("http://localhost:{port}/callback");
    let (code, err) = browser_login(as_port, &browser, &["--redirect-uri", &redirect])
        .join()
        .unwrap();
    assert!(code.is_some_and(|c| c != 0), "{code:?} {err}");
    assert!(!url.exists(), "the browser was sent to sign in: {err}");
    assert!(err.contains(&format!("[::1]:{port}")), "{err}");
}

/// Proves that idle connections to the sign-in listener neither stall it nor stretch
/// `--auth-timeout`: with 20 connections open that never send a request, the browser's redirect
/// is still served (the code reaches the token endpoint), and without one `login` gives up at
/// the timeout. The listener used to serve one connection at a time with 10 s for each head.
#[test]
fn idle_connections_do_not_stall_the_sign_in_listener() {
    use std::io::Write;
    let (as_port, seen) = hostile_authorization_server(json!({}), json!({"error": "invalid_grant"}));
    for redirect_comes in [true, false] {
        let dir = tempfile::tempdir().unwrap();
        let (browser, url) = recording_browser(dir.path());
        let port = free_port();
        let login = browser_login(as_port, &browser, &["--callback-port", &port.to_string()]);
        let waited = std::time::Instant::now();
        while !url.exists() && waited.elapsed() < std::time::Duration::from_secs(30) {
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        let authorize = url::Url::parse(&std::fs::read_to_string(&url).expect("the browser was opened")).unwrap();
        let idle: Vec<_> = (0..20)
            .map(|_| std::net::TcpStream::connect(("127.0.0.1", port)).unwrap())
            .collect();
        if redirect_comes {
            let state = authorize
                .query_pairs()
                .find(|(k, _)| k == "state")
                .unwrap()
                .1
                .into_owned();
            let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
            write!(
                s,
                "GET /callback?code=the-code&state={state} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
            )
            .unwrap();
        }
        let (code, err) = login.join().unwrap();
        drop(idle);
        assert!(code.is_some(), "login was still running after a minute: {err}");
        assert_ne!(code, Some(0), "{err}");
        if redirect_comes {
            assert!(err.contains("invalid_grant"), "{err}");
            assert!(
                seen.lock()
                    .unwrap()
                    .iter()
                    .any(|r| r.line.starts_with("POST /token") && r.body.contains("the-code")),
                "the code was exchanged"
            );
        } else {
            assert!(err.contains("gave up waiting"), "{err}");
        }
    }
}

/// Proves that what an authorization server sends reaches the terminal without control
/// characters (escape sequences could rewrite the screen or plant links) and that only a web
/// page is offered as the device sign-in page: a `javascript:` or `file:` verification URI used
/// to be printed as a link to open, and the user code and OAuth error code were printed raw.
#[test]
fn server_strings_reach_the_terminal_without_escapes() {
    for bad in ["javascript:alert(1)", "file:///etc/passwd", "http://as.example/device"] {
        let (port, _) = hostile_authorization_server(
            json!({"device_code": "dc", "user_code": "ABCD", "verification_uri": bad, "interval": 1}),
            json!({"error": "authorization_pending"}),
        );
        let (code, err) = device_login(port);
        assert!(code.is_some_and(|c| c != 0), "{bad}: {code:?} {err}");
        assert!(!err.contains("open "), "{bad} was offered: {err}");
        assert!(err.contains("not an https URL"), "{err}");
    }
    let (port, _) = hostile_authorization_server(
        json!({
            "device_code": "dc", "user_code": "AB\u{1b}]8;;https://evil.example\u{7}CD\u{9b}2J",
            "verification_uri": "https://as.example/device\u{1b}[2J", "interval": 1,
        }),
        json!({"error": "\u{1b}[31mbad\u{1b}[0m\r\n"}),
    );
    let (code, err) = device_login(port);
    assert!(code.is_some_and(|c| c != 0), "{code:?} {err}");
    assert!(err.contains("enter the code AB]8;;https://evil.exampleCD2J"), "{err:?}");
    assert!(err.contains("said `[31mbad[0m`"), "{err:?}");
    for c in ['\u{1b}', '\u{7}', '\u{9b}', '\r'] {
        assert!(!err.contains(c), "{c:?} reached the terminal: {err:?}");
    }
}

/// `mcp-valet <args>` with `home` as MCP_VALET_HOME and the file store; answers the exit code
/// and stdout and stderr together.
fn in_home(home: &std::path::Path, args: &[&str], input: &[u8]) -> (Option<i32>, String) {
    let env = [
        ("MCP_VALET_HOME", home.to_str().unwrap()),
        ("MCP_VALET_TOKEN_STORE", "file"),
        ("MCP_VALET_LOG", ""),
    ];
    let out = crate::common::valet::run_with_input(args, &env, input);
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code(), said)
}

/// Proves that a home another local user prepared is refused, not trusted: one owned by
/// another user (uid 65534 here) or writable by others, a lock file that is a symlink to a
/// file of the victim's (which used to be truncated and chmodded through it), a planted
/// `state.json` that is a symlink or someone else's file, and one too large to read (a
/// `/dev/zero` in its place used to be read until memory ran out).
#[test]
fn a_home_another_user_prepared_is_refused() {
    use std::os::unix::fs::{PermissionsExt, chown, symlink};
    let url = "http://127.0.0.1:9/mcp";
    let login = |home: &std::path::Path| in_home(home, &["login", url, "--with-token", "--no-check"], b"a-token\n");

    // A home owned by another user; a home others may write to.
    let parent = tempfile::tempdir().unwrap();
    let home = parent.path().join("home");
    std::fs::create_dir(&home).unwrap();
    std::fs::set_permissions(&home, std::fs::Permissions::from_mode(0o700)).unwrap();
    chown(&home, Some(65534), Some(65534)).unwrap();
    let (code, said) = login(&home);
    assert_ne!(code, Some(0), "{said}");
    assert!(said.contains("belongs to another user"), "{said}");
    chown(&home, Some(0), Some(0)).unwrap();
    std::fs::set_permissions(&home, std::fs::Permissions::from_mode(0o777)).unwrap();
    let (code, said) = login(&home);
    assert_ne!(code, Some(0), "{said}");
    assert!(said.contains("may be written by other users"), "{said}");
    std::fs::set_permissions(&home, std::fs::Permissions::from_mode(0o700)).unwrap();

    // The store's lock file is a symlink to a file of the victim's.
    let victim = parent.path().join("victim.txt");
    std::fs::write(&victim, "precious").unwrap();
    std::fs::set_permissions(&victim, std::fs::Permissions::from_mode(0o644)).unwrap();
    let (code, said) = login(&home);
    assert_eq!(code, Some(0), "a clean home works: {said}");
    let locks = home.join("locks");
    let mut planted = 0;
    for entry in std::fs::read_dir(&locks).unwrap() {
        let path = entry.unwrap().path();
        std::fs::remove_file(&path).unwrap();
        symlink(&victim, &path).unwrap();
        planted += 1;
    }
    assert!(planted > 0, "the login took a lock");
    let (code, said) = in_home(&home, &["logout", url], b"");
    assert_ne!(code, Some(0), "{said}");
    assert!(said.contains("symbolic link"), "{said}");
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious");
    assert_eq!(std::fs::metadata(&victim).unwrap().permissions().mode() & 0o777, 0o644);

    // A state file that is a symlink, one owned by another user, one too large.
    for (name, plant) in [("symlink", 0), ("other user's", 1), ("huge", 2)] {
        let home = tempfile::tempdir().unwrap();
        let state = home.path().join("state.json");
        match plant {
            0 => symlink(&victim, &state).unwrap(),
            1 => {
                std::fs::write(&state, "{}").unwrap();
                chown(&state, Some(65534), Some(65534)).unwrap();
            }
            _ => std::fs::write(&state, vec![b' '; 17 << 20]).unwrap(),
        }
        let (code, said) = in_home(home.path(), &["status"], b"");
        assert_ne!(code, Some(0), "{name}: {said}");
        assert!(said.contains("refusing"), "{name}: {said}");
        assert!(state.symlink_metadata().is_ok(), "{name}: left in place");
    }
}
