//! Issue 11, "Proof beyond the fixes": a hostile MCP server. One small HTTP/1.1 program on
//! 127.0.0.1 (`hostile`), driven by a scenario that gets each request and the raw socket, so
//! it can do what no real peer does: die half-way through an answer, reset a connection in the
//! middle of an event stream, answer 429/503 to everything, start refusing the token, keep an
//! event stream open for ever, flood notifications, ask for a retry in 30 years.
//!
//! The real binary runs as the bridge. Each test ends with every request the client sent
//! answered exactly once (`Client::answers`) and the bridge still serving (a `ping` answered
//! after the fault) and exiting cleanly when stdin closes; the flood cases also read the
//! bridge's peak memory (VmHWM) and hold it to 32 MiB.
//!
//! What `hardening.rs` already proves (oversized OAuth documents, an unread stderr, durations)
//! is not repeated here; `era_faults.rs` covers the 2026-07-28 revision's own faults.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crate::common::stand_in::{Req, serve_raw};
use crate::common::valet::{Valet, init_params};
use serde_json::{Value, json};

const VERSION: &str = "2025-11-25";

/// What a scenario did with the connection.
enum Then {
    /// Keep reading requests on it.
    Keep,
    /// Close it (the scenario already wrote what it meant to).
    Close,
}

/// A server on 127.0.0.1 (`common::stand_in`) that hands every request, and the socket, to
/// `scenario`; returns its `/mcp` URL. Its threads end with the test process (each blocks on a
/// socket the bridge closes when it exits).
fn hostile(scenario: impl Fn(&Req, &mut TcpStream) -> Then + Send + Sync + 'static) -> String {
    let (port, _) = serve_raw(move |seen, w| matches!(scenario(&Req::from(seen), w), Then::Keep));
    format!("http://127.0.0.1:{port}/mcp")
}

fn write(w: &mut TcpStream, status: &str, extra: &str, content_type: &str, body: &str) -> Then {
    let resp = format!(
        "HTTP/1.1 {status}\r\n{extra}Content-Type: {content_type}\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    match w.write_all(resp.as_bytes()) {
        Ok(()) => Then::Keep,
        Err(_) => Then::Close,
    }
}

fn result(req: &Req, w: &mut TcpStream, result: Value) -> Then {
    let msg = json!({"jsonrpc": "2.0", "id": req.body["id"], "result": result});
    write(w, "200 OK", "", "application/json", &msg.to_string())
}

/// What every scenario answers the same way: initialize, the initialized notification, ping,
/// -32601 to other methods, and 405 to the GET stream; `None` for `tools/call`, which is the
/// scenario's.
fn well_behaved(req: &Req, w: &mut TcpStream) -> Option<Then> {
    if req.http != "POST" {
        return Some(write(w, "405 Method Not Allowed", "", "text/plain", ""));
    }
    match req.method() {
        "initialize" => Some(result(
            req,
            w,
            json!({"protocolVersion": VERSION, "capabilities": {"tools": {}},
                   "serverInfo": {"name": "hostile", "version": "0"}}),
        )),
        "notifications/initialized" => Some(write(w, "202 Accepted", "", "text/plain", "")),
        "ping" => Some(result(req, w, json!({}))),
        "tools/call" => None,
        // The 2026-07-28 probe (`server/discover`) and anything else: not this server's.
        _ => {
            let msg = json!({"jsonrpc": "2.0", "id": req.body["id"],
                             "error": {"code": -32601, "message": "method not found"}});
            Some(write(w, "200 OK", "", "application/json", &msg.to_string()))
        }
    }
}

/// The answers on stdout, by id: fails on an id answered twice or a request never answered.
struct Client {
    v: Valet,
    sent: Vec<i64>,
    answers: HashMap<i64, Value>,
}

impl Client {
    fn start(url: &str, args: &[&str]) -> Client {
        let mut all = vec![url];
        all.extend_from_slice(args);
        let mut v = Valet::spawn(&all);
        v.handshake();
        Client {
            v,
            sent: Vec::new(),
            answers: HashMap::new(),
        }
    }

    fn send(&mut self, id: i64, method: &str, params: Value) {
        self.v
            .send(&json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}));
        self.sent.push(id);
    }

    fn take(&mut self, m: Value) {
        if m.get("method").is_some() {
            return; // a notification or a server request
        }
        let id = m["id"]
            .as_i64()
            .unwrap_or_else(|| panic!("an answer without a sent id: {m}"));
        assert!(self.sent.contains(&id), "an answer to a request never sent: {m}");
        if let Some(first) = self.answers.insert(id, m.clone()) {
            panic!("request {id} answered twice: {first} then {m}");
        }
    }

    /// Reads until `id` is answered; returns the answer.
    fn answer(&mut self, id: i64, within: Duration) -> Value {
        let deadline = Instant::now() + within;
        while !self.answers.contains_key(&id) {
            let left = deadline.saturating_duration_since(Instant::now());
            assert!(!left.is_zero(), "request {id} not answered within {within:?}");
            let m = self.v.recv_within(left);
            self.take(m);
        }
        self.answers[&id].clone()
    }

    /// The bridge still serves: a ping is answered with a result.
    fn still_serves(&mut self, id: i64) {
        self.send(id, "ping", json!({}));
        let a = self.answer(id, Duration::from_secs(20));
        assert!(a.get("result").is_some(), "ping after the fault: {a}");
    }

    /// Closes stdin: the bridge exits 0 and nothing left on stdout answers anything again;
    /// every request sent was answered once.
    fn finish(mut self) {
        let (status, rest) = self.v.wait_within(Duration::from_secs(15));
        for m in rest {
            self.take(m);
        }
        assert!(status.success(), "exit: {status}\n{}", self.v.stderr());
        for id in &self.sent {
            assert!(self.answers.contains_key(id), "request {id} was never answered");
        }
    }
}

fn is_error(a: &Value) -> bool {
    a.get("error").is_some() || a["result"]["isError"] == json!(true)
}

/// Proves that a server that dies half-way through a JSON answer (headers and half a body,
/// then the connection closes) costs that one request an error, and the next works.
#[test]
fn a_server_killed_mid_answer_costs_one_error() {
    let url = hostile(|req, w| {
        if let Some(t) = well_behaved(req, w) {
            return t;
        }
        let body = json!({"jsonrpc": "2.0", "id": req.body["id"], "result": {"content": []}}).to_string();
        let head = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
            body.len()
        );
        let _ = w.write_all(head.as_bytes());
        let _ = w.write_all(&body.as_bytes()[..body.len() / 2]);
        let _ = w.flush();
        let _ = w.shutdown(std::net::Shutdown::Both);
        Then::Close
    });
    let mut c = Client::start(&url, &[]);
    c.send(1, "tools/call", json!({"name": "t", "arguments": {}}));
    let a = c.answer(1, Duration::from_secs(30));
    assert!(is_error(&a), "{a}");
    c.still_serves(2);
    c.finish();
}

/// Proves that a connection reset (RST) in the middle of an event stream, after one
/// notification and before the answer, costs that request one error.
#[test]
fn a_connection_reset_mid_stream_costs_one_error() {
    let url = hostile(|req, w| {
        if let Some(t) = well_behaved(req, w) {
            return t;
        }
        let note = json!({"jsonrpc": "2.0", "method": "notifications/message",
                          "params": {"level": "info", "data": "working"}});
        let _ = w.write_all(
            format!("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n\r\ndata: {note}\n\ndata: {{\"jsonrpc\"")
                .as_bytes(),
        );
        let _ = w.flush();
        std::thread::sleep(Duration::from_millis(100));
        reset_on_close(w);
        Then::Close
    });
    let mut c = Client::start(&url, &[]);
    c.send(1, "tools/call", json!({"name": "t", "arguments": {}}));
    let a = c.answer(1, Duration::from_secs(30));
    assert!(is_error(&a), "{a}");
    c.still_serves(2);
    c.finish();
}

/// Proves that a server answering every call with 429 or 503 (with and without
/// `Retry-After`) gets each of 200 concurrent requests exactly one answer, that the bridge
/// stays small while it happens, and that it serves again when the storm is over.
#[test]
fn a_429_and_503_storm_answers_every_request_once() {
    let storm = Arc::new(AtomicUsize::new(1));
    let on = storm.clone();
    let url = hostile(move |req, w| {
        if let Some(t) = well_behaved(req, w) {
            return t;
        }
        if on.load(Ordering::SeqCst) == 1 {
            let n = req.body["id"].as_i64().unwrap_or(0);
            return match n % 3 {
                0 => write(
                    w,
                    "429 Too Many Requests",
                    "Retry-After: 1\r\n",
                    "text/plain",
                    "slow down",
                ),
                1 => write(w, "503 Service Unavailable", "", "text/plain", "busy"),
                _ => write(w, "503 Service Unavailable", "Retry-After: 0\r\n", "text/plain", "busy"),
            };
        }
        result(req, w, json!({"content": [{"type": "text", "text": "ok"}]}))
    });
    let mut c = Client::start(&url, &["--request-timeout", "20s"]);
    for id in 1..=200 {
        c.send(id, "tools/call", json!({"name": "t", "arguments": {}}));
    }
    for id in 1..=200 {
        let a = c.answer(id, Duration::from_secs(120));
        assert!(is_error(&a), "{a}");
    }
    let hwm = peak_rss_kib(c.v.pid());
    assert!(hwm <= 32 * 1024, "peak RSS {hwm} KiB in a 429/503 storm");
    storm.store(0, Ordering::SeqCst);
    c.send(201, "tools/call", json!({"name": "t", "arguments": {}}));
    let a = c.answer(201, Duration::from_secs(60));
    assert!(!is_error(&a), "after the storm: {a}");
    c.still_serves(202);
    c.finish();
}

/// Proves that a token the server stops accepting in the middle of a session (401 after
/// working answers; here a `-H Authorization` token, so no sign-in can fix it) gets the
/// request one error and does not stop the bridge, which serves again once the server does.
#[test]
fn a_token_revoked_mid_session_costs_one_error_per_request() {
    let revoked = Arc::new(AtomicUsize::new(0));
    let flag = revoked.clone();
    let url = hostile(move |req, w| {
        if let Some(t) = well_behaved(req, w) {
            return t;
        }
        if flag.load(Ordering::SeqCst) == 1 {
            return write(
                w,
                "401 Unauthorized",
                "WWW-Authenticate: Bearer error=\"invalid_token\"\r\n",
                "text/plain",
                "",
            );
        }
        result(req, w, json!({"content": [{"type": "text", "text": "ok"}]}))
    });
    let mut c = Client::start(&url, &["-H", "Authorization: Bearer fixed-token"]);
    c.send(1, "tools/call", json!({"name": "t", "arguments": {}}));
    assert!(!is_error(&c.answer(1, Duration::from_secs(20))));
    revoked.store(1, Ordering::SeqCst);
    for id in 2..=4 {
        c.send(id, "tools/call", json!({"name": "t", "arguments": {}}));
    }
    for id in 2..=4 {
        let a = c.answer(id, Duration::from_secs(30));
        assert!(is_error(&a), "after revocation: {a}");
    }
    revoked.store(0, Ordering::SeqCst);
    c.send(5, "tools/call", json!({"name": "t", "arguments": {}}));
    assert!(!is_error(&c.answer(5, Duration::from_secs(20))));
    c.finish();
}

/// Proves that an event stream that never ends (keep-alive comments for ever, no answer) is
/// given up at `--request-timeout` with one error, and that the bridge serves on.
#[test]
fn a_stream_that_never_ends_is_given_up_at_the_request_timeout() {
    let url = hostile(|req, w| {
        if let Some(t) = well_behaved(req, w) {
            return t;
        }
        if w.write_all(b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n\r\n")
            .is_err()
        {
            return Then::Close;
        }
        // Until the bridge hangs up (at most a minute: the test is long over by then).
        for _ in 0..600 {
            if w.write_all(b": still here\n\n").is_err() {
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        Then::Close
    });
    let mut c = Client::start(&url, &["--request-timeout", "2s"]);
    c.send(1, "tools/call", json!({"name": "t", "arguments": {}}));
    let a = c.answer(1, Duration::from_secs(30));
    assert!(is_error(&a), "{a}");
    c.still_serves(2);
    c.finish();
}

/// Proves (issue 11 item 6) that an SSE answer to `initialize` asking for a reconnection
/// in 30 years and then closing does not wedge the bridge: the client gets an answer, and a
/// second `initialize` reaches the server and succeeds.
#[test]
fn a_huge_retry_on_initialize_does_not_wedge_the_bridge() {
    let first = Arc::new(AtomicUsize::new(0));
    let count = first.clone();
    let url = hostile(move |req, w| {
        if req.method() == "initialize" && count.fetch_add(1, Ordering::SeqCst) == 0 {
            let _ = w.write_all(
                b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n\r\nid: 1\nretry: 999999999999\ndata:\n\n",
            );
            let _ = w.flush();
            let _ = w.shutdown(std::net::Shutdown::Both);
            return Then::Close;
        }
        well_behaved(req, w).unwrap_or_else(|| result(req, w, json!({})))
    });
    let mut v = Valet::spawn(&[&url, "--request-timeout", "3s"]);
    let sent = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": init_params(VERSION)});
    v.send(&sent);
    let a = v.response_to(&json!(1)).0;
    assert!(a.get("error").is_some(), "{a}");
    let r = v.call(2, "initialize", init_params(VERSION));
    assert!(r.get("result").is_some(), "a second initialize: {r}");
    let (status, _) = v.wait_within(Duration::from_secs(15));
    assert!(status.success());
}

/// Proves (issue 11 item 4) that a server streaming notifications to a client that has
/// stopped reading stdout does not grow the bridge: peak RSS stays under 32 MiB while the
/// server pushes 64 MiB, and the client, reading again, still gets its answer.
#[test]
fn a_client_that_stops_reading_does_not_grow_the_bridge() {
    let url = hostile(|req, w| {
        if let Some(t) = well_behaved(req, w) {
            return t;
        }
        if w.write_all(b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n\r\n")
            .is_err()
        {
            return Then::Close;
        }
        let pad = "x".repeat(1000);
        let note = json!({"jsonrpc": "2.0", "method": "notifications/message",
                          "params": {"level": "info", "data": pad}});
        let event = format!("data: {note}\n\n");
        for _ in 0..64 * 1024 {
            if w.write_all(event.as_bytes()).is_err() {
                return Then::Close;
            }
        }
        let done = json!({"jsonrpc": "2.0", "id": req.body["id"], "result": {"content": []}});
        let _ = w.write_all(format!("data: {done}\n\n").as_bytes());
        Then::Close
    });
    let home = crate::common::valet::temp_home();
    let mut child: Child = Command::new(crate::common::valet::bin())
        .args([url.as_str(), "--request-timeout", "10m"])
        .env("MCP_VALET_HOME", home.path())
        .env("MCP_VALET_TOKEN_STORE", "memory")
        .env_remove("MCP_VALET_LOG")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let stdout = child.stdout.take().unwrap();
    let line = |v: Value| format!("{v}\n");
    let init = json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": init_params(VERSION)});
    stdin.write_all(line(init).as_bytes()).unwrap();
    let mut out = BufReader::new(stdout);
    let mut first = String::new();
    out.read_line(&mut first).unwrap();
    assert!(first.contains("\"result\""), "{first}");
    stdin
        .write_all(line(json!({"jsonrpc": "2.0", "method": "notifications/initialized"})).as_bytes())
        .unwrap();
    let call = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "t", "arguments": {}}});
    stdin.write_all(line(call).as_bytes()).unwrap();
    // The client does not read for 5 s while the server floods.
    std::thread::sleep(Duration::from_secs(5));
    let hwm = peak_rss_kib(child.id());
    // Then it reads everything: the answer is there, once.
    let mut answers = 0;
    let mut l = String::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        l.clear();
        if out.read_line(&mut l).unwrap_or(0) == 0 {
            break;
        }
        if l.contains("\"id\":1") && !l.contains("\"method\"") {
            answers += 1;
            break;
        }
    }
    drop(stdin);
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(answers, 1, "the call's answer");
    assert!(hwm <= 32 * 1024, "peak RSS {hwm} KiB with a client that does not read");
}

/// SO_LINGER with a zero timeout: closing the socket sends a reset, not a FIN.
fn reset_on_close(w: &TcpStream) {
    use std::os::fd::AsRawFd;
    let linger = libc::linger {
        l_onoff: 1,
        l_linger: 0,
    };
    // SAFETY: a valid socket and a `linger` of the size given.
    let rc = unsafe {
        libc::setsockopt(
            w.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_LINGER,
            (&raw const linger).cast(),
            size_of::<libc::linger>() as libc::socklen_t,
        )
    };
    assert_eq!(rc, 0);
}

/// VmHWM of a process, in KiB.
fn peak_rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM in /proc/<pid>/status")
}
