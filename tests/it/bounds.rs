//! The relay's own bounds against a server and a client that push them (issue 11, items 4, 6
//! and 7): pending requests and batches are capped, a stalled answer to `initialize` does not
//! wedge the bridge, and a server flooding a client that does not read is held back by TCP flow
//! control instead of filling memory. Small stand-in servers play the server here, each written
//! for the one misbehaviour its test needs.

use std::collections::HashSet;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};

use crate::common::stand_in::serve_raw as raw_stand_in;
use crate::common::valet::{Valet, init_params, valet_error};
use crate::network::{Seen, stand_in};

/// A JSON-RPC result for each request of a POST (`initialize` gets an initialize result),
/// 202 for notifications.
fn answer_all(req: &Seen) -> String {
    let body: Value = serde_json::from_str(&req.body).unwrap_or(Value::Null);
    let one = |m: &Value| -> Option<Value> {
        let id = m.get("id")?;
        m.get("method")?;
        let result = if m["method"] == "initialize" {
            json!({"protocolVersion": "2025-11-25", "capabilities": {}, "serverInfo": {"name": "stand-in", "version": "0"}})
        } else {
            json!({})
        };
        Some(json!({"jsonrpc": "2.0", "id": id, "result": result}))
    };
    let answer = match &body {
        Value::Array(items) => {
            let a: Vec<Value> = items.iter().filter_map(one).collect();
            (!a.is_empty()).then_some(Value::Array(a))
        }
        m => one(m),
    };
    match answer {
        Some(a) => {
            let a = a.to_string();
            format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{a}",
                a.len()
            )
        }
        None => "HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n".to_owned(),
    }
}

fn initializes(seen: &Mutex<Vec<Seen>>) -> usize {
    seen.lock()
        .unwrap()
        .iter()
        .filter(|s| s.body.contains("\"initialize\""))
        .count()
}

/// The first `initialize` is answered by `stall` (which never completes the answer); every
/// other message normally. The first initialize must time out after `--request-timeout`, and
/// a second one must then reach the server and succeed.
fn a_stalled_initialize_is_given_up(stall: fn(&mut TcpStream)) {
    let first = AtomicUsize::new(0);
    let (port, seen) = raw_stand_in(move |req, w| {
        if req.body.contains("\"initialize\"") && first.fetch_add(1, Ordering::SeqCst) == 0 {
            stall(w);
            return false;
        }
        w.write_all(answer_all(req).as_bytes()).is_ok()
    });
    let url = format!("http://127.0.0.1:{port}/mcp");
    let mut v = Valet::spawn(&[&url, "--protocol", "legacy", "--request-timeout", "1s"]);
    let r = v.call(1, "initialize", init_params("2025-11-25"));
    assert_eq!(valet_error(&r)["data"]["kind"], "timeout", "{r}");
    let r = v.call(2, "initialize", init_params("2025-11-25"));
    assert_eq!(r["result"]["serverInfo"]["name"], "stand-in", "{r}");
    assert_eq!(initializes(&seen), 2);
    v.send(&json!({"jsonrpc": "2.0", "method": "notifications/initialized"}));
    assert_eq!(v.call(3, "ping", json!({}))["result"], json!({}));
}

/// Proves item 6, first shape: an SSE answer to `initialize` that asks for a reconnection
/// delay of about three years (`retry:`) and closes before answering. The bridge used to sleep
/// that long holding the lifecycle turn, so every later request, a new `initialize` included,
/// timed out without reaching the server. Now `retry` is clamped, the wait is bounded, and the
/// relay's giving up on the request stops its work and frees the turn.
#[test]
fn an_sse_answer_to_initialize_with_a_huge_retry_does_not_wedge_the_bridge() {
    a_stalled_initialize_is_given_up(|w| {
        let _ = w.write_all(
            b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nConnection: close\r\n\r\n\
              id: 1\nretry: 99999999999\ndata:\n\n",
        );
        let _ = w.flush();
        let _ = w.shutdown(std::net::Shutdown::Both);
    });
}

/// Proves item 6, second shape: a JSON answer to `initialize` that announces 1000 bytes and
/// stops after a few, the connection left open. The body read used to wait for ever, holding
/// the lifecycle turn.
#[test]
fn a_json_answer_to_initialize_that_stops_mid_way_does_not_wedge_the_bridge() {
    a_stalled_initialize_is_given_up(|w| {
        let _ = w.write_all(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"jsonrpc\":",
        );
        let _ = w.flush();
        std::thread::sleep(Duration::from_secs(30));
    });
}

fn pings(ids: std::ops::Range<u64>) -> String {
    let items: Vec<Value> = ids
        .map(|i| json!({"jsonrpc": "2.0", "id": i, "method": "ping"}))
        .collect();
    Value::Array(items).to_string()
}

/// Proves the caps on batches and on requests in flight (item 7): before them, a batch of
/// 100 000 pings was sent whole to the server while the relay scanned every pending request
/// per event (46 s), and nothing bounded the table. Now a batch over 10 000 messages is
/// answered at once with an error for each of its requests (nothing reaches the server), a
/// request past 10 000 in flight gets its own error, and every other request of a batch at the
/// limit is answered by the server, each exactly once.
#[test]
fn batches_and_requests_in_flight_are_capped_and_each_request_answered_once() {
    let (port, seen) = stand_in(|req| {
        if req.body.contains("\"initialize\"") {
            // Still in flight while the batch is read, so with it the batch's last request
            // is the 10 001st in flight.
            std::thread::sleep(Duration::from_secs(1));
        }
        answer_all(req)
    });
    let url = format!("http://127.0.0.1:{port}/mcp");
    let mut v = Valet::spawn(&[&url, "--protocol", "legacy"]);

    v.send(&json!({"jsonrpc": "2.0", "id": "init", "method": "initialize", "params": init_params("2025-11-25")}));
    v.send_raw(pings(1..10_001).as_bytes());
    let mut batch = None;
    while batch.is_none() {
        let m = v.recv_within(Duration::from_secs(120));
        match m {
            Value::Array(a) => batch = Some(a),
            m => assert_eq!(m["id"], "init", "{m}"),
        }
    }
    let batch = batch.unwrap();
    assert_eq!(batch.len(), 10_000);
    let ids: HashSet<u64> = batch.iter().map(|m| m["id"].as_u64().unwrap()).collect();
    assert_eq!(ids.len(), 10_000, "every request answered exactly once");
    for m in &batch {
        if m["id"] == 10_000 {
            let e = valet_error(m);
            assert_eq!(e["code"], -32600, "{m}");
            assert!(
                e["message"]
                    .as_str()
                    .unwrap()
                    .contains("10000 requests are already waiting"),
                "{m}"
            );
        } else {
            assert_eq!(m["result"], json!({}), "{m}");
        }
    }
    v.send(&json!({"jsonrpc": "2.0", "method": "notifications/initialized"}));

    // Past the batch limit: every request is refused, none is sent.
    let sent_before = seen.lock().unwrap().len();
    v.send_raw(pings(0..100_000).as_bytes());
    let Value::Array(refused) = v.recv_within(Duration::from_secs(120)) else {
        panic!("a batch is answered with a batch")
    };
    assert_eq!(refused.len(), 100_000);
    for (i, m) in refused.iter().enumerate() {
        assert_eq!(m["id"], i as u64, "in order, each once");
        let e = valet_error(m);
        assert_eq!(e["code"], -32600);
        assert!(e["message"].as_str().unwrap().contains("limit of 10000"), "{m}");
    }
    // The bridge still serves.
    let r = v.call(7, "ping", json!({}));
    assert_eq!(r["result"], json!({}), "{r}");
    let pinged = seen.lock().unwrap()[sent_before..]
        .iter()
        .filter(|s| s.body.contains("\"ping\""))
        .count();
    assert_eq!(pinged, 1, "only the last ping reached the server");
}

/// The peak resident memory of a process, from /proc.
fn peak_rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

/// Proves item 4: a server that floods notifications on its event stream while the client
/// does not read stdout. The queue from the remote side to the relay was unbounded, so the
/// bridge read as fast as the server wrote and grew by gigabytes. Now it holds at most a few
/// MiB of the server's messages and then stops reading the stream, so TCP flow control holds
/// the server back: the peak RSS stays under 32 MiB, and once the client reads again the flood
/// flows and requests are still answered.
#[test]
fn a_server_flooding_a_client_that_does_not_read_is_held_back() {
    let written = Arc::new(AtomicUsize::new(0));
    let counter = written.clone();
    let (port, _seen) = raw_stand_in(move |req, w| {
        if !req.line.starts_with("GET") {
            return w.write_all(answer_all(req).as_bytes()).is_ok();
        }
        let note = json!({"jsonrpc": "2.0", "method": "notifications/message",
                          "params": {"level": "info", "data": "x".repeat(1000)}});
        let event = format!("data: {note}\n\n");
        if w.write_all(b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n\r\n")
            .is_err()
        {
            return false;
        }
        while w.write_all(event.as_bytes()).is_ok() {
            counter.fetch_add(event.len(), Ordering::Relaxed);
        }
        false
    });
    let url = format!("http://127.0.0.1:{port}/mcp");
    let home = crate::common::valet::temp_home();
    let mut child = std::process::Command::new(crate::common::valet::bin())
        .args([url.as_str(), "--protocol", "legacy"])
        .env("MCP_VALET_HOME", home.path())
        .env("MCP_VALET_TOKEN_STORE", "memory")
        .env_remove("MCP_VALET_LOG")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    struct Kill(std::process::Child);
    impl Drop for Kill {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let mut stdin = child.stdin.take().unwrap();
    let stdout = child.stdout.take().unwrap();
    let child = Kill(child);
    let pid = child.0.id();
    let mut send = |m: Value| {
        stdin.write_all(format!("{m}\n").as_bytes()).unwrap();
        stdin.flush().unwrap();
    };
    send(json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": init_params("2025-11-25")}));
    send(json!({"jsonrpc": "2.0", "method": "notifications/initialized"}));

    // The flood runs while nobody reads stdout, until the server can write no more.
    let mut last = 0;
    for _ in 0..100 {
        std::thread::sleep(Duration::from_millis(200));
        let now = written.load(Ordering::Relaxed);
        if now > 0 && now == last {
            break;
        }
        last = now;
    }
    let peak = peak_rss_kib(pid);
    assert!(
        peak <= 32 * 1024,
        "the bridge grew to {peak} KiB while the server wrote {} bytes",
        written.load(Ordering::Relaxed)
    );
    assert!(
        written.load(Ordering::Relaxed) < 64 << 20,
        "the server was not held back"
    );

    // Reading again: the flood flows, and a request is still answered.
    send(json!({"jsonrpc": "2.0", "id": 9, "method": "ping"}));
    let before = written.load(Ordering::Relaxed);
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut notes = 0;
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { return };
            let m = crate::common::valet::parse_line(&line);
            if m["id"] == 9 {
                let _ = tx.send((m, notes));
                return;
            }
            if m["method"] == "notifications/message" {
                notes += 1;
            }
        }
    });
    let (answer, notes) = rx
        .recv_timeout(Duration::from_secs(30))
        .expect("the ping is answered while the flood goes on");
    assert_eq!(answer["result"], json!({}), "{answer}");
    assert!(notes > 0);
    assert!(written.load(Ordering::Relaxed) > before, "the flood resumed");
    drop(child);
}
