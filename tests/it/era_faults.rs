//! Issue 10, "Bad input and faults": a 2026-07-28 server behind an old-revision host that
//! misbehaves. The real binary runs as the bridge, driven over stdio with raw JSON-RPC lines;
//! small stand-in 2026-07-28 servers on 127.0.0.1 produce the faults a real peer cannot
//! (garbage answers, endless `input_required`, a listen stream that keeps dropping, a discover
//! result without a revision mcp-valet speaks, `-32020` once), and the real TypeScript SDK v2
//! modern-only server plays the server whose remembered era is out of date.
//!
//! Each test checks that exactly the request that hit the fault gets one error from
//! mcp-valet (`error.data.source`, a `data.kind` saying what happened), and that the bridge
//! keeps serving.

use std::io::{Read, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::common::era::{era_key, remembered};
use crate::common::peers::{Peer, PeerKind};
use crate::common::stand_in::{Out, Req, serve, serve_raw};
use crate::common::valet::{Valet, init_params, temp_home, text, valet_error};
use serde_json::{Value, json};

const MODERN: &str = "2026-07-28";

/// A stand-in (`common::stand_in`) that answers each request with `respond`; returns its
/// `/mcp` URL and the requests it saw.
fn stand_in(respond: impl Fn(&Req) -> Out + Send + Sync + 'static) -> (String, Arc<Mutex<Vec<Req>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    let (port, _) = serve(move |s| {
        let req = Req::from(s);
        log.lock().unwrap().push(req.clone());
        respond(&req)
    });
    (format!("http://127.0.0.1:{port}/mcp"), seen)
}

fn http(status: &str, content_type: &str, body: &str) -> Out {
    Out::Whole(format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    ))
}

fn result(req: &Req, result: Value) -> Out {
    let msg = json!({"jsonrpc": "2.0", "id": req.body["id"], "result": result});
    http("200 OK", "application/json", &msg.to_string())
}

fn error(req: &Req, status: &str, code: i64, message: &str) -> Out {
    let msg = json!({"jsonrpc": "2.0", "id": req.body["id"], "error": {"code": code, "message": message}});
    http(status, "application/json", &msg.to_string())
}

/// The answers every stand-in 2026-07-28 server gives the same way: discover (with these
/// capabilities), tools/list, and 405 to anything that is not a POST.
fn common(req: &Req, capabilities: &Value) -> Option<Out> {
    if req.http != "POST" {
        return Some(http("405 Method Not Allowed", "text/plain", ""));
    }
    match req.method() {
        "server/discover" => Some(result(
            req,
            json!({"supportedVersions": [MODERN], "capabilities": capabilities,
                   "serverInfo": {"name": "stand-in", "version": "0"}}),
        )),
        "tools/list" => Some(result(
            req,
            json!({"tools": [{"name": "t", "inputSchema": {"type": "object"}}]}),
        )),
        _ => None,
    }
}

fn seen_methods(seen: &Arc<Mutex<Vec<Req>>>, method: &str) -> usize {
    seen.lock().unwrap().iter().filter(|r| r.method() == method).count()
}

/// Reads until the answer to `id`, answering nothing; fails on a second answer to any id
/// the host sent before it (read with the rest at the end).
fn answer_to(v: &mut Valet, id: i64) -> (Value, Vec<Value>) {
    v.response_to(&json!(id))
}

/// No message left on stdout answers `ids` again.
fn no_second_answer(v: &mut Valet, ids: &[i64]) {
    let (status, rest) = v.wait_within(Duration::from_secs(15));
    assert!(status.success(), "{}", v.stderr());
    for m in &rest {
        if m.get("method").is_none() {
            assert!(!ids.iter().any(|id| m["id"] == *id), "a second answer: {m}");
        }
    }
}

/// Proves that a server answering garbage (a body that is not JSON-RPC, an unknown
/// `resultType`, an event stream that ends without the answer) gets each request one error
/// from mcp-valet, and that the next request still works.
#[test]
fn garbage_from_a_2026_server_is_an_error_for_that_request() {
    let (url, _seen) = stand_in(|req| {
        if let Some(out) = common(req, &json!({"tools": {}})) {
            return out;
        }
        match req.body["params"]["name"].as_str() {
            Some("html") => http("200 OK", "text/html", "<html>not MCP</html>"),
            Some("json") => http("200 OK", "application/json", "{\"jsonrpc\": \"2.0\", broken"),
            Some("weird") => result(req, json!({"resultType": "something_new", "content": []})),
            Some("cut") => Out::Cut(
                "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nContent-Length: 22\r\n\r\n: nothing to see here\n"
                    .to_owned(),
            ),
            _ => result(req, json!({"content": [{"type": "text", "text": "fine"}]})),
        }
    });
    let mut v = Valet::spawn(&[&url]);
    let init = v.handshake();
    assert_eq!(init["serverInfo"]["name"], "stand-in", "{init}");
    for (id, name, kind, says) in [
        (1, "html", "protocol", "not a JSON-RPC response"),
        (2, "json", "protocol", "not a JSON-RPC response"),
        (3, "weird", "protocol", "unknown resultType"),
        (4, "cut", "stream", "closed the response stream"),
    ] {
        let r = v.tool(id, name, json!({}));
        let e = valet_error(&r);
        assert_eq!(e["data"]["kind"], kind, "{name}: {r}");
        assert!(e["message"].as_str().unwrap().contains(says), "{name}: {r}");
        // The bridge keeps serving.
        assert_eq!(text(&v.tool(10 + id, "fine", json!({}))), "fine");
    }
    no_second_answer(&mut v, &[1, 2, 3, 4]);
}

/// Proves that a server that answers `input_required` every time gets ten rounds of the host's
/// answers, then the request one error (kind `input`), and the bridge keeps serving.
#[test]
fn an_input_required_loop_ends_after_ten_rounds() {
    let (url, seen) = stand_in(|req| {
        if let Some(out) = common(req, &json!({"tools": {}})) {
            return out;
        }
        if req.body["params"]["name"] == "fine" {
            return result(req, json!({"content": [{"type": "text", "text": "fine"}]}));
        }
        result(
            req,
            json!({"resultType": "input_required", "requestState": "again",
                   "inputRequests": {"roots": {"method": "roots/list", "params": {}}}}),
        )
    });
    let mut v = Valet::spawn(&[&url]);
    v.handshake();
    v.send(&json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "loop", "arguments": {}}}));
    let mut rounds = 0;
    let r = loop {
        let m = v.recv();
        if m["method"] == "roots/list" {
            rounds += 1;
            v.send(&json!({"jsonrpc": "2.0", "id": m["id"], "result": {"roots": []}}));
        } else if m["id"] == 1 {
            break m;
        } else {
            panic!("unexpected message: {m}");
        }
    };
    let e = valet_error(&r);
    assert_eq!(e["data"]["kind"], "input", "{r}");
    assert!(e["message"].as_str().unwrap().contains("10 times"), "{r}");
    assert_eq!(rounds, 10, "the host answered ten rounds");
    assert_eq!(seen_methods(&seen, "tools/call"), 11, "the first try and ten retries");
    assert_eq!(text(&v.tool(2, "fine", json!({}))), "fine");
    no_second_answer(&mut v, &[1, 2]);
}

/// A stand-in 2026-07-28 server whose tool `fine` answers, and whose every other tool asks the
/// host for `inputs` (an `input_required` result, every time); returns its URL.
fn asking_server(inputs: Value) -> String {
    let (url, _) = stand_in(move |req| {
        if let Some(out) = common(req, &json!({"tools": {}})) {
            return out;
        }
        if req.body["params"]["name"] == "fine" {
            return result(req, json!({"content": [{"type": "text", "text": "fine"}]}));
        }
        result(
            req,
            json!({"resultType": "input_required", "requestState": "s", "inputRequests": inputs}),
        )
    });
    url
}

/// An `elicitation/create` input request with this message.
fn elicit(message: &str) -> Value {
    json!({"method": "elicitation/create",
           "params": {"message": message, "requestedSchema": {"type": "object", "properties": {}}}})
}

/// Proves that the relay's giving up on a request to a 2026-07-28 server (`--request-timeout`)
/// stops that request's work: its connection is closed then, not left open until
/// `--max-request-time` (an hour by default), and the bridge keeps serving.
#[test]
fn a_request_the_relay_gives_up_on_closes_its_http_request() {
    let closed = Arc::new(AtomicBool::new(false));
    let flag = closed.clone();
    let (port, _) = serve_raw(move |s, w| {
        let req = Req::from(s);
        if req.body["params"]["name"] == "stall" {
            // No answer: wait for the bridge to close the connection (EOF), at most 30 s.
            let _ = w.set_read_timeout(Some(Duration::from_secs(30)));
            if matches!(w.read(&mut [0u8; 1]), Ok(0)) {
                flag.store(true, Ordering::SeqCst);
            }
            return false;
        }
        let out = common(&req, &json!({"tools": {}}))
            .unwrap_or_else(|| result(&req, json!({"content": [{"type": "text", "text": "fine"}]})));
        match out {
            Out::Whole(text) => w.write_all(text.as_bytes()).is_ok(),
            Out::Cut(text) => {
                let _ = w.write_all(text.as_bytes());
                false
            }
        }
    });
    let url = format!("http://127.0.0.1:{port}/mcp");
    let mut v = Valet::spawn(&[&url, "--request-timeout", "1s", "--max-request-time", "60s"]);
    v.handshake();
    v.send(&json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "stall", "arguments": {}}}));
    let (r, _) = answer_to(&mut v, 1);
    assert_eq!(valet_error(&r)["data"]["kind"], "timeout", "{r}");
    let since = Instant::now();
    while !closed.load(Ordering::SeqCst) && since.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(
        closed.load(Ordering::SeqCst),
        "the given-up request's connection was still open 10 s after its error"
    );
    assert_eq!(text(&v.tool(2, "fine", json!({}))), "fine");
}

/// Proves that a request which fails while input requests it sent the host are still open
/// (here the host answers the first of two with an error) tells the host the other is no
/// longer wanted (`notifications/cancelled`); before, it was left open at the host.
#[test]
fn a_failed_request_cancels_its_open_input_requests_at_the_host() {
    let url = asking_server(json!({"a": elicit("First?"), "b": elicit("Second?")}));
    let mut v = Valet::spawn(&[&url]);
    v.handshake();
    v.send(&json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "ask", "arguments": {}}}));
    let mut asked = Vec::new();
    while asked.len() < 2 {
        let m = v.recv_within(Duration::from_secs(10));
        if m["method"] == "elicitation/create" {
            asked.push(m);
        }
    }
    let id_of = |message: &str| asked.iter().find(|m| m["params"]["message"] == message).unwrap()["id"].clone();
    let (first, second) = (id_of("First?"), id_of("Second?"));
    v.send(&json!({"jsonrpc": "2.0", "id": first, "error": {"code": -1, "message": "declined"}}));
    let (r, before) = answer_to(&mut v, 1);
    assert_eq!(valet_error(&r)["data"]["kind"], "input", "{r}");
    let cancelled = |m: &Value| m["method"] == "notifications/cancelled" && m["params"]["requestId"] == second;
    assert!(
        before.iter().any(cancelled),
        "the open input request is cancelled: {before:?}"
    );
    assert_eq!(text(&v.tool(2, "fine", json!({}))), "fine");
}

/// Proves that a host that never answers the server's input request leaves the request to its
/// own timeout (`--request-timeout`): one `-32001` from mcp-valet, the input request cancelled
/// at the host, and the bridge keeps serving.
#[test]
fn a_host_that_never_answers_an_input_request_gets_a_timeout() {
    let url = asking_server(json!({"who": elicit("Who are you?")}));
    let mut v = Valet::spawn(&[&url, "--request-timeout", "1s"]);
    v.handshake();
    v.send(&json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "ask", "arguments": {}}}));
    let (r, before) = answer_to(&mut v, 1);
    let asked = before
        .iter()
        .find(|m| m["method"] == "elicitation/create")
        .unwrap_or_else(|| panic!("the host was asked: {before:?}"));
    let e = valet_error(&r);
    assert_eq!(r["error"]["code"], -32001, "{r}");
    assert_eq!(e["data"]["kind"], "timeout", "{r}");
    let asked_id = asked["id"].clone();
    v.send(&json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": "fine", "arguments": {}}}));
    let (r2, between) = answer_to(&mut v, 2);
    assert_eq!(text(&r2), "fine");
    let cancelled = |m: &Value| m["method"] == "notifications/cancelled" && m["params"]["requestId"] == asked_id;
    assert!(
        before.iter().chain(between.iter()).any(cancelled),
        "the host's input request is cancelled: {before:?} {between:?}"
    );
    // A late answer from the host goes nowhere and breaks nothing.
    v.send(&json!({"jsonrpc": "2.0", "id": asked["id"], "result": {"action": "decline"}}));
    assert_eq!(text(&v.tool(3, "fine", json!({}))), "fine");
    no_second_answer(&mut v, &[1, 2, 3]);
}

/// The start of an event stream that acknowledges a subscription, without its end.
fn acknowledged_then_cut() -> Out {
    let event = "event: message\ndata: {\"jsonrpc\":\"2.0\",\"method\":\"notifications/subscriptions/acknowledged\",\"params\":{}}\n\n";
    Out::Cut(format!(
        "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n{:x}\r\n{event}\r\n",
        event.len()
    ))
}

/// Proves that a listen stream the server acknowledges and then drops, again and again, is
/// reopened (each time followed by a `list_changed` so the host looks again), never turns into
/// an answer to anything the host asked, and that requests keep working meanwhile.
#[test]
fn a_listen_stream_that_keeps_dropping_does_not_stop_the_bridge() {
    let (url, seen) = stand_in(|req| {
        if let Some(out) = common(req, &json!({"tools": {"listChanged": true}})) {
            return out;
        }
        match req.method() {
            "subscriptions/listen" => acknowledged_then_cut(),
            _ => result(req, json!({"content": [{"type": "text", "text": "fine"}]})),
        }
    });
    let mut v = Valet::spawn(&[&url]);
    v.handshake();
    let mut changes = 0;
    for id in 1..=2 {
        let until = std::time::Instant::now() + Duration::from_secs(20);
        while seen_methods(&seen, "subscriptions/listen") < id as usize + 1 {
            assert!(std::time::Instant::now() < until, "the listen stream was not reopened");
            std::thread::sleep(Duration::from_millis(50));
        }
        v.send(
            &json!({"jsonrpc": "2.0", "id": id, "method": "tools/call", "params": {"name": "fine", "arguments": {}}}),
        );
        let (r, before) = answer_to(&mut v, id);
        assert_eq!(text(&r), "fine", "{r}");
        for m in before {
            assert_eq!(m["method"], "notifications/tools/list_changed", "{m}");
            changes += 1;
        }
    }
    assert!(changes >= 1, "a reopened stream is followed by list_changed");
    no_second_answer(&mut v, &[1, 2]);
}

/// Proves that a listen stream the server drops right after acknowledging it counts as a
/// failure, so its reopenings back off (they came every 250 ms, for ever, each followed by a
/// `list_changed` to the host) and requests still work.
#[test]
fn a_listen_stream_dropped_right_after_its_acknowledgement_backs_off() {
    let (url, seen) = stand_in(|req| {
        if let Some(out) = common(req, &json!({"tools": {"listChanged": true}})) {
            return out;
        }
        match req.method() {
            "subscriptions/listen" => acknowledged_then_cut(),
            _ => result(req, json!({"content": [{"type": "text", "text": "fine"}]})),
        }
    });
    let mut v = Valet::spawn(&[&url]);
    v.handshake();
    let until = std::time::Instant::now() + Duration::from_secs(20);
    while seen_methods(&seen, "subscriptions/listen") < 2 {
        assert!(std::time::Instant::now() < until, "the listen stream was not reopened");
        std::thread::sleep(Duration::from_millis(50));
    }
    // Backing off from the second failure on (500 ms, 1 s, 2 s, …), four seconds hold at most
    // four more attempts; without backoff they held sixteen.
    std::thread::sleep(Duration::from_secs(4));
    let listens = seen_methods(&seen, "subscriptions/listen");
    assert!(
        listens <= 6,
        "{listens} listen requests: the reopenings do not back off"
    );
    let (r, _) = {
        v.send(
            &json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "fine", "arguments": {}}}),
        );
        answer_to(&mut v, 1)
    };
    assert_eq!(text(&r), "fine", "{r}");
    no_second_answer(&mut v, &[1]);
}

/// Proves that a discover result listing only revisions mcp-valet does not speak is a fall back
/// to `initialize`, that `-v` says why, and that the server is remembered as handshake-era.
#[test]
fn a_discover_result_without_a_known_revision_falls_back_and_says_why() {
    let (url, seen) = stand_in(|req| {
        if req.http != "POST" {
            return http("405 Method Not Allowed", "text/plain", "");
        }
        match req.method() {
            "server/discover" => result(
                req,
                json!({"supportedVersions": ["2099-01-01"], "capabilities": {"tools": {}},
                       "serverInfo": {"name": "future", "version": "0"}}),
            ),
            "initialize" => result(
                req,
                json!({"protocolVersion": "2025-11-25", "capabilities": {"tools": {}},
                       "serverInfo": {"name": "handshake", "version": "0"}}),
            ),
            "tools/call" => result(req, json!({"content": [{"type": "text", "text": "old way"}]})),
            _ if req.body.get("id").is_none() => http("202 Accepted", "text/plain", ""),
            _ => error(req, "200 OK", -32601, "no such method"),
        }
    });
    let home = temp_home();
    let mut v = Valet::spawn_env(&["-v", &url], &[("MCP_VALET_HOME", home.path().to_str().unwrap())]);
    let init = v.handshake();
    assert_eq!(init["serverInfo"]["name"], "handshake", "{init}");
    assert_eq!(text(&v.tool(1, "t", json!({}))), "old way");
    no_second_answer(&mut v, &[0, 1]);
    let err = v.stderr();
    assert!(
        err.contains("2099-01-01") && err.contains("no revision mcp-valet speaks"),
        "-v says why: {err}"
    );
    assert_eq!(seen_methods(&seen, "server/discover"), 1);
    assert_eq!(seen_methods(&seen, "initialize"), 1);
    assert_eq!(remembered(home.path(), &url).as_deref(), Some("legacy"));
}

/// Proves the `-32020` path: a tool call the server refuses with a header mismatch makes
/// mcp-valet list the tools again and retry the call once; the host sees one answer. A server
/// that keeps refusing gets no second retry: its error reaches the host, once.
#[test]
fn a_header_mismatch_relists_the_tools_and_retries_once() {
    let refused = Arc::new(Mutex::new(false));
    let r2 = refused.clone();
    let (url, seen) = stand_in(move |req| {
        if let Some(out) = common(req, &json!({"tools": {}})) {
            return out;
        }
        match req.body["params"]["name"].as_str() {
            Some("once") => {
                let mut done = r2.lock().unwrap();
                if *done {
                    result(req, json!({"content": [{"type": "text", "text": "after relisting"}]}))
                } else {
                    *done = true;
                    error(req, "400 Bad Request", -32020, "Mcp-Param header mismatch")
                }
            }
            Some("always") => error(req, "400 Bad Request", -32020, "Mcp-Param header mismatch"),
            _ => result(req, json!({"content": [{"type": "text", "text": "fine"}]})),
        }
    });
    let mut v = Valet::spawn(&[&url]);
    v.handshake();
    seen.lock().unwrap().clear();
    assert_eq!(text(&v.tool(1, "once", json!({}))), "after relisting");
    let order: Vec<String> = seen
        .lock()
        .unwrap()
        .iter()
        .filter(|r| r.method() != "subscriptions/listen")
        .map(|r| r.method().to_owned())
        .collect();
    assert_eq!(order, ["tools/call", "tools/list", "tools/call"], "{order:?}");

    seen.lock().unwrap().clear();
    let r = v.tool(2, "always", json!({}));
    assert_eq!(r["error"]["code"], -32020, "the server's own error: {r}");
    assert_eq!(seen_methods(&seen, "tools/call"), 2, "retried once, not more");
    assert_eq!(text(&v.tool(3, "fine", json!({}))), "fine");
    no_second_answer(&mut v, &[1, 2, 3]);
}

/// Proves that a server remembered as handshake-era that now speaks only 2026-07-28 (the
/// TypeScript SDK v2, which refuses `initialize`) is asked `server/discover` when it refuses
/// the handshake, and is used (and remembered) as a 2026-07-28 server from then on.
#[test]
fn a_server_remembered_as_legacy_that_is_now_modern_only_is_switched() {
    let peer = Peer::start(PeerKind::ModernTs);
    let home = temp_home();
    let file = json!({"version": 1, "servers": {era_key(&peer.url): {"era": "legacy", "checked_at": 0}}});
    std::fs::write(home.path().join("eras.json"), file.to_string()).unwrap();
    let mut v = Valet::spawn_env(&[&peer.url], &[("MCP_VALET_HOME", home.path().to_str().unwrap())]);
    let r = v.call(0, "initialize", init_params("2025-11-25"));
    assert_eq!(r["result"]["protocolVersion"], "2025-11-25", "{r}");
    v.send(&json!({"jsonrpc": "2.0", "method": "notifications/initialized"}));
    assert_eq!(text(&v.tool(1, "echo", json!({"text": "modern now"}))), "modern now");
    no_second_answer(&mut v, &[0, 1]);
    assert_eq!(remembered(home.path(), &peer.url).as_deref(), Some("modern"));
    let log = peer.log();
    let methods: Vec<&str> = log
        .iter()
        .filter(|e| e["method"] == "POST")
        .filter_map(|e| e["body"]["method"].as_str())
        .collect();
    assert_eq!(
        methods.iter().filter(|m| **m == "initialize").count(),
        1,
        "one refused handshake: {methods:?}"
    );
    let refused = methods.iter().position(|m| *m == "initialize").unwrap();
    let discover = methods.iter().position(|m| *m == "server/discover");
    assert!(
        discover.is_some_and(|d| d > refused),
        "discover after the refusal: {methods:?}"
    );
    let call = log
        .iter()
        .find(|e| e["body"]["method"] == "tools/call")
        .expect("the call reached the server");
    assert_eq!(call["headers"]["mcp-protocol-version"], MODERN, "{call}");
    assert_eq!(call["status"], 200, "{call}");
}
