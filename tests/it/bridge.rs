//! Bridge mode against real MCP servers (the official TypeScript and Python SDKs, see
//! tests/peers/): the real binary is driven over stdio, and the servers' request logs show
//! what went over HTTP.

use std::time::{Duration, Instant};

use crate::common;
use crate::common::peers::{Peer, PeerKind, node_client};
use crate::common::valet::{Valet, bin, init_params, text, valet_error};
use serde_json::{Value, json};

fn posts<'a>(log: &'a [Value], method: &str) -> Vec<&'a Value> {
    log.iter()
        .filter(|e| e["method"] == "POST" && e["body"]["method"] == method)
        .collect()
}

/// Waits until the handshake's notification has been answered (so that injected failures hit
/// the request under test, not the notification).
fn settle(peer: &Peer) {
    peer.log_until(Duration::from_secs(5), |l| {
        l.iter()
            .any(|e| e["body"]["method"] == "notifications/initialized" && !e["status"].is_null())
    });
}

fn echo(v: &mut Valet, id: i64, s: &str) -> Value {
    v.tool(id, "echo", json!({"text": s}))
}

#[test]
fn a_pipeline_gets_both_answers_and_exit_0_from_every_kind_of_server() {
    for kind in PeerKind::ALL {
        let peer = Peer::start(kind);
        let mut v = Valet::spawn(&[&peer.url]);
        v.send(&json!({"jsonrpc":"2.0","id":1,"method":"initialize","params": init_params("2025-11-25")}));
        v.send(&json!({"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"echo","arguments":{"text":"piped"}}}));
        let (status, out) = v.wait_within(Duration::from_secs(20));
        assert!(status.success(), "{kind:?}: {status}\n{}", v.stderr());
        assert_eq!(out.len(), 2, "{kind:?}: {out:?}");
        let init = out.iter().find(|m| m["id"] == 1).expect("initialize answered");
        assert_eq!(init["result"]["protocolVersion"], "2025-11-25", "{kind:?}");
        let call = out.iter().find(|m| m["id"] == 2).expect("call answered");
        assert_eq!(text(call), "piped", "{kind:?}");
    }
}

#[test]
fn streamable_http_sends_the_session_id_and_protocol_version_after_initialize() {
    let peer = Peer::start(PeerKind::StatefulSse);
    let mut v = Valet::spawn(&[&peer.url]);
    v.handshake();
    assert_eq!(text(&echo(&mut v, 1, "a")), "a");
    let (status, _) = v.wait_within(Duration::from_secs(10));
    assert!(status.success());
    let log = peer.log_until(Duration::from_secs(5), |l| l.iter().any(|e| e["method"] == "DELETE"));
    let init = posts(&log, "initialize")[0];
    assert!(init["headers"]["mcp-session-id"].is_null());
    assert!(init["headers"]["mcp-protocol-version"].is_null());
    let accept = init["headers"]["accept"].as_str().unwrap();
    assert!(
        accept.contains("application/json") && accept.contains("text/event-stream"),
        "{accept}"
    );
    let session = log
        .iter()
        .find_map(|e| e["headers"]["mcp-session-id"].as_str())
        .expect("a session id was sent")
        .to_owned();
    // A cold start asks the server's era once, before the handshake (see tests/era.rs).
    let probe = posts(&log, "server/discover");
    assert_eq!(probe.len(), 1, "{log:?}");
    assert_eq!(probe[0]["headers"]["mcp-protocol-version"], "2026-07-28");
    for e in log
        .iter()
        .filter(|e| e["body"]["method"] != "initialize" && e["body"]["method"] != "server/discover")
    {
        assert_eq!(e["headers"]["mcp-session-id"], session.as_str(), "{e}");
        assert_eq!(e["headers"]["mcp-protocol-version"], "2025-11-25", "{e}");
    }
    let note = posts(&log, "notifications/initialized")[0];
    assert_eq!(note["status"], 202);
    // The optional GET stream was opened, and the session was closed with DELETE on exit.
    assert!(
        log.iter()
            .any(|e| e["method"] == "GET" && e["headers"]["accept"] == "text/event-stream")
    );
    let delete = log.iter().find(|e| e["method"] == "DELETE").unwrap();
    assert_eq!(delete["headers"]["mcp-session-id"], session.as_str());
}

#[test]
fn json_responses_stateless_servers_and_the_python_sdk() {
    for kind in [PeerKind::StatefulJson, PeerKind::Stateless, PeerKind::Python] {
        let peer = Peer::start(kind);
        let mut v = Valet::spawn(&[&peer.url]);
        v.handshake();
        assert_eq!(text(&echo(&mut v, 1, "json")), "json", "{kind:?}");
        let big = v.tool(2, "large", json!({"bytes": 300_000}));
        assert_eq!(text(&big).len(), 300_000, "{kind:?}");
        let (status, _) = v.wait_within(Duration::from_secs(10));
        assert!(status.success());
        if kind == PeerKind::Stateless {
            assert!(peer.log().iter().all(|e| e["headers"]["mcp-session-id"].is_null()));
        }
    }
}

#[test]
fn large_results_arrive_intact_over_sse() {
    let peer = Peer::start(PeerKind::StatefulSse);
    let mut v = Valet::spawn(&[&peer.url]);
    v.handshake();
    let r = v.tool(1, "large", json!({"bytes": 1 << 20}));
    let t = text(&r);
    assert_eq!(t.len(), 1 << 20);
    let alphabet = b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
    assert!(t.bytes().enumerate().all(|(i, b)| b == alphabet[i % 62]));
}

#[test]
fn requests_from_the_server_reach_the_client_and_its_answers_go_back() {
    for kind in [PeerKind::StatefulSse, PeerKind::LegacySse, PeerKind::Python] {
        let peer = Peer::start(kind);
        // The Python SDK serves 2026-07-28 too, where servers send no requests: its
        // handshake-era leg is what is tested here.
        let mut v = Valet::spawn(&[&peer.url, "--protocol", "legacy"]);
        v.handshake();
        v.send(&json!({"jsonrpc":"2.0","id":10,"method":"tools/call","params":{"name":"elicit","arguments":{"message":"Who?"}}}));
        let req = v.recv();
        assert_eq!(req["method"], "elicitation/create", "{kind:?}: {req}");
        v.send(&json!({"jsonrpc":"2.0","id":req["id"],"result":{"action":"accept","content":{"name":"valet"}}}));
        let (resp, _) = v.response_to(&json!(10));
        assert!(text(&resp).contains("valet"), "{kind:?}: {resp}");

        v.send(&json!({"jsonrpc":"2.0","id":11,"method":"tools/call","params":{"name":"sample","arguments":{"prompt":"Say hi"}}}));
        let req = v.recv();
        assert_eq!(req["method"], "sampling/createMessage", "{kind:?}");
        v.send(&json!({"jsonrpc":"2.0","id":req["id"],"result":{"role":"assistant","model":"m","content":{"type":"text","text":"sampled-text"}}}));
        let (resp, _) = v.response_to(&json!(11));
        assert!(text(&resp).contains("sampled-text"), "{kind:?}: {resp}");
        drop(v);
        // The client's answers were POSTed back to the server.
        let log = peer.log();
        assert!(
            log.iter()
                .any(|e| e["method"] == "POST" && e["body"]["result"]["action"] == "accept"),
            "{kind:?}: the elicitation answer was not POSTed"
        );
    }
}

#[test]
fn messages_the_server_starts_arrive_on_the_get_stream() {
    let peer = Peer::start(PeerKind::StatefulSse);
    let mut v = Valet::spawn(&[&peer.url]);
    v.handshake();
    // Wait until the GET stream is open.
    peer.log_until(Duration::from_secs(5), |l| l.iter().any(|e| e["method"] == "GET"));
    v.send(
        &json!({"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"notify","arguments":{"text":"hello"}}}),
    );
    let (resp, mut seen) = v.response_to(&json!(3));
    assert_eq!(text(&resp), "ok");
    let deadline = Instant::now() + Duration::from_secs(5);
    while !seen.iter().any(|m| m["method"] == "notifications/tools/list_changed") && Instant::now() < deadline {
        seen.push(v.recv_within(Duration::from_secs(5)));
    }
    assert!(
        seen.iter().any(|m| m["method"] == "notifications/tools/list_changed"),
        "{seen:?}"
    );
}

#[test]
fn a_broken_response_stream_is_resumed_with_last_event_id_after_the_retry_delay() {
    let peer = Peer::start_with(PeerKind::StatefulSse, &["--retry-ms", "700"]);
    let mut v = Valet::spawn(&[&peer.url]);
    v.handshake();
    v.send(&json!({"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"break_stream","arguments":{"after_ms":200},"_meta":{"progressToken":"t4"}}}));
    let (resp, before) = v.response_to(&json!(4));
    assert_eq!(text(&resp), "resumed-ok", "{resp}");
    assert!(before.iter().any(|m| m["method"] == "notifications/progress"));
    let log = peer.log();
    let post = log
        .iter()
        .find(|e| e["body"]["params"]["name"] == "break_stream")
        .unwrap();
    let resume = log
        .iter()
        .find(|e| e["method"] == "GET" && e["headers"]["last-event-id"].is_string())
        .expect("a GET with Last-Event-ID");
    let waited = resume["t"].as_f64().unwrap() - post["t"].as_f64().unwrap();
    assert!(
        waited >= 650.0,
        "resumed after {waited} ms, before the server's retry of 700 ms"
    );
}

#[test]
fn an_expired_session_is_renewed_without_the_client_noticing() {
    for kind in [PeerKind::StatefulJson, PeerKind::StatefulSse] {
        let peer = Peer::start(kind);
        let mut v = Valet::spawn(&[&peer.url]);
        v.handshake();
        assert_eq!(text(&echo(&mut v, 1, "before")), "before");
        peer.drop_sessions();
        assert_eq!(text(&echo(&mut v, 2, "after")), "after", "{kind:?}");
        assert_eq!(text(&echo(&mut v, 3, "again")), "again", "{kind:?}");
        let log = peer.log();
        let inits = posts(&log, "initialize");
        assert_eq!(inits.len(), 2, "{kind:?}: the client's initialize was replayed once");
        assert_eq!(inits[0]["body"], inits[1]["body"], "{kind:?}: replayed byte for byte");
        assert!(inits[1]["headers"]["mcp-session-id"].is_null());
        assert_eq!(posts(&log, "notifications/initialized").len(), 2, "{kind:?}");
        assert!(
            log.iter().any(|e| e["status"] == 404),
            "{kind:?}: the old session got 404"
        );
        let sessions: std::collections::HashSet<_> = log
            .iter()
            .filter_map(|e| e["headers"]["mcp-session-id"].as_str())
            .collect();
        assert_eq!(sessions.len(), 2, "{kind:?}: two sessions: {sessions:?}");
        // Nothing else reached the client: no second initialize answer, no errors.
        let (status, rest) = v.wait_within(Duration::from_secs(10));
        assert!(status.success());
        assert!(rest.is_empty(), "{rest:?}");
    }
}

#[test]
fn old_http_sse_servers_are_used_automatically_or_on_request() {
    let peer = Peer::start(PeerKind::LegacySse);
    let mut v = Valet::spawn(&[&peer.url]);
    v.handshake();
    assert_eq!(text(&echo(&mut v, 1, "old")), "old");
    drop(v);
    let log = peer.log();
    assert!(
        log.iter()
            .any(|e| e["method"] == "POST" && e["path"] == "/sse" && e["status"] == 405)
    );

    let mut v = Valet::spawn(&[&peer.url, "--transport", "sse"]);
    v.handshake();
    assert_eq!(text(&echo(&mut v, 1, "forced")), "forced");
    drop(v);

    let mut v = Valet::spawn(&[&peer.url, "--transport", "streamable-http"]);
    let r = v.call(0, "initialize", init_params("2025-11-25"));
    let e = valet_error(&r);
    assert_eq!(e["data"]["status"], 405, "{r}");
}

#[test]
fn a_batch_is_split_for_servers_without_batching_and_answered_as_one_array() {
    let peer = Peer::start(PeerKind::StatefulJson);
    let mut v = Valet::spawn(&[&peer.url]);
    v.handshake();
    v.send(&json!([
        {"jsonrpc":"2.0","id":"b1","method":"tools/call","params":{"name":"echo","arguments":{"text":"one"}}},
        {"jsonrpc":"2.0","method":"notifications/roots/list_changed"},
        {"jsonrpc":"2.0","id":"b2","method":"tools/call","params":{"name":"echo","arguments":{"text":"two"}}},
        {"not":"json-rpc"}
    ]));
    let answer = v.recv();
    let items = answer.as_array().unwrap_or_else(|| panic!("not an array: {answer}"));
    assert_eq!(items.len(), 3, "{answer}");
    assert_eq!(text(items.iter().find(|m| m["id"] == "b1").unwrap()), "one");
    assert_eq!(text(items.iter().find(|m| m["id"] == "b2").unwrap()), "two");
    assert_eq!(
        items.iter().find(|m| m["id"].is_null()).unwrap()["error"]["code"],
        -32600
    );
    let log = peer.log();
    assert!(
        log.iter().all(|e| !e["body"].is_array()),
        "no batch went to a 2025-11-25 server"
    );
    assert_eq!(posts(&log, "tools/call").len(), 2);
}

#[test]
fn headers_from_flags_and_files_reach_the_server_and_are_never_logged() {
    let token = "sekr1t-bearer-0123456789";
    let peer = Peer::start_with(PeerKind::StatefulJson, &["--require-bearer", token]);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("headers");
    std::fs::write(
        &file,
        "# secrets stay out of ps\n\nAuthorization: Bearer ${VALET_TEST_TOKEN}\n",
    )
    .unwrap();
    let mut v = Valet::spawn_env(
        &[
            &peer.url,
            "-vvv",
            "-H",
            "X-Test-Flag: ${VALET_TEST_VALUE}",
            "--header-file",
            file.to_str().unwrap(),
        ],
        &[("VALET_TEST_TOKEN", token), ("VALET_TEST_VALUE", "from-env")],
    );
    v.handshake();
    assert_eq!(text(&echo(&mut v, 1, "authorized")), "authorized");
    let (status, _) = v.wait_within(Duration::from_secs(10));
    assert!(status.success());
    let log = peer.log();
    assert!(log.iter().all(|e| e["headers"]["authorization-present"] == true));
    assert!(log.iter().all(|e| e["headers"]["x-test-flag"] == "from-env"), "{log:?}");
    let err = v.stderr();
    assert!(
        err.contains("DEBUG") || err.contains("TRACE"),
        "verbose logs go to stderr"
    );
    assert!(
        !err.contains(token) && !err.contains("from-env"),
        "a header value was logged:\n{err}"
    );
}

#[test]
fn a_rejected_authorization_header_is_named_in_the_error() {
    let peer = Peer::start_with(PeerKind::StatefulJson, &["--require-bearer", "right"]);
    let mut v = Valet::spawn(&[&peer.url, "-H", "Authorization: Bearer wrong"]);
    let r = v.call(0, "initialize", init_params("2025-11-25"));
    let e = valet_error(&r);
    assert_eq!(e["data"]["status"], 401);
    assert!(e["message"].as_str().unwrap().contains("Authorization header"), "{r}");
    assert!(!v.stderr().contains("wrong"));
}

#[test]
fn a_token_kept_with_login_with_token_is_sent_and_a_rejected_one_says_what_to_do() {
    let key = "api-key-0123456789abcdef";
    let peer = Peer::start_with(PeerKind::StatefulJson, &["--require-bearer", key]);
    let home = common::valet::temp_home();
    let home_s = home.path().to_str().unwrap();
    let env = [("MCP_VALET_HOME", home_s), ("MCP_VALET_TOKEN_STORE", "file")];
    let keep =
        |input: &str| common::valet::run_with_input(&["login", &peer.url, "--with-token"], &env, input.as_bytes());
    let run = |args: &[&str]| common::valet::run(args, &env);

    let out = keep("");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("got nothing"));

    let out = keep(&format!("{key}\n"));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(err.contains("Kept the token") && !err.contains(key), "{err}");
    // One initialize with the key, and its session closed.
    let log = peer.log();
    assert_eq!(
        log.iter().filter(|e| e["body"]["method"] == "initialize").count(),
        1,
        "{log:?}"
    );
    peer.clear_log();
    assert!(out.stdout.is_empty());

    // The bridge sends it, with no -H.
    let mut v = Valet::spawn_env(&[&peer.url], &env);
    v.handshake();
    assert_eq!(text(&echo(&mut v, 1, "kept")), "kept");
    let (status, _) = v.wait_within(Duration::from_secs(10));
    assert!(status.success());
    assert!(peer.log().iter().all(|e| e["headers"]["authorization-present"] == true));

    let s = String::from_utf8(run(&["status", &peer.url]).stdout).unwrap();
    assert!(s.contains("kept with `login --with-token`") && !s.contains(key), "{s}");
    assert!(s.contains("the server accepted it"), "{s}");
    let out = run(&["token", &peer.url]);
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), key);

    // A token the server rejects is not kept, and the error says what else to do.
    let out = keep("not-the-key");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("rejected the token (HTTP 401); it was not kept") && err.contains("without --with-token"),
        "{err}"
    );
    assert!(!err.contains("not-the-key"), "{err}");
    assert_eq!(String::from_utf8_lossy(&run(&["token", &peer.url]).stdout).trim(), key);

    // Kept unchecked, and rejected later: one clear error, no sign-in attempt.
    let out = common::valet::run_with_input(
        &["login", &peer.url, "--with-token", "--no-check"],
        &env,
        b"not-the-key",
    );
    assert!(out.status.success());
    let s = String::from_utf8(run(&["status", &peer.url]).stdout).unwrap();
    assert!(s.contains("not checked with the server (--no-check)"), "{s}");
    let mut v = Valet::spawn_env(&[&peer.url], &env);
    let r = v.call(0, "initialize", init_params("2025-11-25"));
    let e = valet_error(&r);
    assert_eq!(e["data"]["kind"], "login_required", "{r}");
    assert!(e["message"].as_str().unwrap().contains("--with-token"), "{r}");
    assert!(!v.stderr().contains("not-the-key"));

    // Signing out forgets it.
    assert!(run(&["logout", &peer.url]).status.success());
    assert_eq!(run(&["token", &peer.url]).status.code(), Some(4));
}

#[test]
fn logs_go_to_stderr_or_to_the_log_file_never_to_stdout() {
    let peer = Peer::start(PeerKind::StatefulSse);
    let dir = tempfile::tempdir().unwrap();
    let log_file = dir.path().join("valet.log");
    let mut v = Valet::spawn(&[&peer.url, "-vv", "--log-file", log_file.to_str().unwrap()]);
    v.handshake();
    echo(&mut v, 1, "x");
    let (status, _) = v.wait_within(Duration::from_secs(10));
    assert!(status.success());
    let logged = std::fs::read_to_string(&log_file).unwrap();
    assert!(logged.contains("DEBUG"), "{logged}");
    assert!(
        v.stderr().is_empty(),
        "with --log-file, stderr stays quiet: {}",
        v.stderr()
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&log_file).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
    // MCP_VALET_LOG sets the level; everything on stdout was JSON-RPC (checked line by line).
    let mut v = Valet::spawn_env(&[&peer.url], &[("MCP_VALET_LOG", "trace")]);
    v.handshake();
    drop(v.wait_within(Duration::from_secs(10)));
    assert!(v.stderr().contains("TRACE") || v.stderr().contains("DEBUG"));
}

#[test]
fn at_end_of_input_requests_in_flight_are_answered_before_exit() {
    let peer = Peer::start(PeerKind::StatefulSse);
    let mut v = Valet::spawn(&[&peer.url]);
    v.handshake();
    v.send(&json!({"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"slow","arguments":{"ms":800}}}));
    let (status, rest) = v.wait_within(Duration::from_secs(10));
    assert!(status.success());
    let r = rest.iter().find(|m| m["id"] == 5).expect("the slow call was answered");
    assert_eq!(text(r), "slept");
    let log = peer.log_until(Duration::from_secs(3), |l| l.iter().any(|e| e["method"] == "DELETE"));
    let call = log.iter().position(|e| e["body"]["params"]["name"] == "slow").unwrap();
    let delete = log.iter().position(|e| e["method"] == "DELETE").unwrap();
    assert!(delete > call);
}

#[cfg(unix)]
#[test]
fn sigterm_answers_what_is_in_flight_closes_the_session_and_exits_quickly() {
    let peer = Peer::start(PeerKind::StatefulSse);
    let mut v = Valet::spawn(&[&peer.url]);
    v.handshake();
    v.send(&json!({"jsonrpc":"2.0","id":6,"method":"tools/call","params":{"name":"slow","arguments":{"ms":20000}}}));
    peer.log_until(Duration::from_secs(5), |l| {
        l.iter().any(|e| e["body"]["params"]["name"] == "slow")
    });
    let start = Instant::now();
    v.signal("TERM");
    let r = v.recv_within(Duration::from_secs(5));
    assert_eq!(r["id"], 6);
    assert_eq!(valet_error(&r)["data"]["kind"], "shutdown");
    let (status, _) = v.wait_within(Duration::from_secs(5));
    assert!(status.success(), "{status}");
    assert!(start.elapsed() < Duration::from_secs(5));
    peer.log_until(Duration::from_secs(3), |l| l.iter().any(|e| e["method"] == "DELETE"));
}

#[test]
fn unknown_methods_fields_and_meta_pass_through_unchanged() {
    let peer = Peer::start(PeerKind::StatefulJson);
    let mut v = Valet::spawn(&[&peer.url]);
    v.handshake();
    let odd = r#"{"jsonrpc":"2.0","id":"x-1","method":"vendor/unknown","params":{"n":1.50,"deep":{"_meta":{"k":[1,{"z":null}]}},"_meta":{"vendor.example/trace":"abc","progressToken":7}}}"#;
    v.send_raw(odd.as_bytes());
    let (r, _) = v.response_to(&json!("x-1"));
    assert_eq!(r["error"]["code"], -32601, "the server's own answer: {r}");
    assert!(r["error"]["data"]["source"] != "mcp-valet");
    let log = peer.log();
    let sent = log.iter().find(|e| e["body"]["method"] == "vendor/unknown").unwrap();
    assert_eq!(sent["body"], serde_json::from_str::<Value>(odd).unwrap());
}

#[test]
fn malformed_lines_get_json_rpc_errors_and_the_bridge_keeps_serving() {
    let peer = Peer::start(PeerKind::StatefulJson);
    let mut v = Valet::spawn(&[&peer.url]);
    v.handshake();
    v.send_raw(b"this is not json");
    let r = v.recv();
    assert_eq!(r["id"], Value::Null);
    assert_eq!(r["error"]["code"], -32700);
    valet_error(&r);
    v.send_raw(b"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"x\",\"params\":{\"s\":\"\xff\xfe\"}}");
    let r = v.recv();
    assert_eq!(r["error"]["code"], -32700);
    v.send_raw(b"");
    v.send_raw(b"   \t");
    v.send_raw(br#"{"jsonrpc":"2.0","id":5}"#);
    let r = v.recv();
    assert_eq!(r["id"], 5);
    assert_eq!(r["error"]["code"], -32600);
    assert_eq!(text(&echo(&mut v, 6, "still here")), "still here");
    assert!(v.stderr().contains("WARN"), "a warning on stderr: {}", v.stderr());
}

#[test]
fn an_oversized_line_is_refused_with_its_own_id() {
    let peer = Peer::start(PeerKind::StatefulJson);
    let mut v = Valet::spawn(&[&peer.url, "--max-message-size", "4KiB"]);
    v.handshake();
    v.send(&json!({"jsonrpc":"2.0","id":9,"method":"tools/call","params":{"name":"echo","arguments":{"text":"y".repeat(20_000)}}}));
    let r = v.recv();
    assert_eq!(r["id"], 9);
    assert_eq!(valet_error(&r)["data"]["kind"], "too_large");
    assert_eq!(text(&echo(&mut v, 10, "small")), "small");
    // A server message over the limit becomes an error for its request, not an out-of-memory.
    let r = v.tool(11, "large", json!({"bytes": 100_000}));
    assert_eq!(valet_error(&r)["data"]["kind"], "too_large", "{r}");
}

#[test]
fn an_unreachable_server_gives_each_request_an_error_that_says_what_to_try() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}/mcp");
    let mut v = Valet::spawn(&[&url]);
    let r = v.call(0, "initialize", init_params("2025-11-25"));
    let e = valet_error(&r);
    assert_eq!(e["data"]["kind"], "connect");
    let msg = e["message"].as_str().unwrap();
    assert!(
        msg.contains("connection refused") && msg.contains("Is the server running"),
        "{msg}"
    );
    let r = v.call(1, "tools/list", json!({}));
    valet_error(&r);
    let (status, _) = v.wait_within(Duration::from_secs(5));
    assert!(status.success());
}

#[test]
fn server_failures_become_errors_for_the_request_they_hit() {
    let peer = Peer::start(PeerKind::StatefulJson);
    let mut v = Valet::spawn(&[&peer.url]);
    v.handshake();
    settle(&peer);
    peer.fail_next(500, None, 1);
    let r = echo(&mut v, 1, "x");
    let e = valet_error(&r);
    assert_eq!(e["data"]["status"], 500);
    assert!(e["message"].as_str().unwrap().contains("server-side problem"));
    assert_eq!(text(&echo(&mut v, 2, "recovered")), "recovered");
}

#[test]
fn busy_answers_are_retried_honouring_retry_after_until_the_retries_run_out() {
    let peer = Peer::start(PeerKind::StatefulJson);
    let mut v = Valet::spawn(&[&peer.url]);
    v.handshake();
    settle(&peer);
    peer.fail_next(503, Some(1), 2);
    let start = Instant::now();
    assert_eq!(text(&echo(&mut v, 1, "patient")), "patient");
    assert!(
        start.elapsed() >= Duration::from_millis(1900),
        "waited {:?}",
        start.elapsed()
    );
    let attempts = posts(&peer.log(), "tools/call").len();
    assert_eq!(attempts, 3);

    peer.fail_next(429, Some(0), 20);
    let r = echo(&mut v, 2, "x");
    let e = valet_error(&r);
    assert_eq!(e["data"]["status"], 429);
    assert!(e["message"].as_str().unwrap().contains("rate-limiting"));
}

#[test]
fn a_hung_request_times_out_and_is_cancelled_at_the_server() {
    let peer = Peer::start(PeerKind::StatefulSse);
    let mut v = Valet::spawn(&[&peer.url, "--request-timeout", "600ms"]);
    v.handshake();
    let r = v.tool(7, "slow", json!({"ms": 5000}));
    assert_eq!(r["error"]["code"], -32001);
    assert_eq!(valet_error(&r)["data"]["kind"], "timeout");
    let log = peer.log_until(Duration::from_secs(5), |l| {
        !posts(l, "notifications/cancelled").is_empty()
    });
    assert_eq!(
        posts(&log, "notifications/cancelled")[0]["body"]["params"]["requestId"],
        7
    );
}

#[test]
fn progress_notifications_keep_a_request_alive() {
    let peer = Peer::start(PeerKind::StatefulSse);
    let mut v = Valet::spawn(&[&peer.url, "--request-timeout", "700ms"]);
    v.handshake();
    v.send(&json!({"jsonrpc":"2.0","id":8,"method":"tools/call","params":{"name":"progress","arguments":{"steps":6,"delay_ms":300},"_meta":{"progressToken":"p8"}}}));
    let (r, before) = v.response_to(&json!(8));
    assert_eq!(text(&r), "done", "{r}");
    assert_eq!(
        before
            .iter()
            .filter(|m| m["method"] == "notifications/progress")
            .count(),
        6
    );
}

#[test]
fn a_tls_failure_is_explained() {
    // A listener that answers the TLS handshake with plain text.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for s in listener.incoming().flatten() {
            use std::io::Write;
            let mut s = s;
            let _ = s.write_all(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n");
        }
    });
    let mut v = Valet::spawn(&[&format!("https://127.0.0.1:{port}/mcp")]);
    let r = v.call(0, "initialize", init_params("2025-11-25"));
    let e = valet_error(&r);
    assert_eq!(e["data"]["kind"], "tls", "{r}");
    assert!(e["message"].as_str().unwrap().contains("--ca-file"));
}

#[test]
fn a_real_mcp_client_works_end_to_end_through_the_bridge() {
    for kind in [PeerKind::StatefulSse, PeerKind::LegacySse, PeerKind::Python] {
        let peer = Peer::start(kind);
        // Elicitation, sampling and roots as server requests: the handshake-era leg.
        let out = node_client(bin(), &[&peer.url, "--protocol", "legacy"]);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{kind:?}: {}\n{stdout}",
            String::from_utf8_lossy(&out.stderr)
        );
        let s: Value = serde_json::from_str(stdout.trim()).unwrap();
        assert_eq!(s["echo"], "hello", "{kind:?}: {s}");
        assert!(s["progress"]["count"].as_u64().unwrap() > 0, "{kind:?}: {s}");
        assert_eq!(s["elicit"]["content"]["name"], "valet", "{kind:?}: {s}");
        assert_eq!(s["sample"], "sampled-text", "{kind:?}: {s}");
    }
}

#[test]
fn input_from_a_file_works_too() {
    // stdin a regular file: served by a thread instead of the runtime's poller.
    let peer = Peer::start(PeerKind::StatefulJson);
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("requests.jsonl");
    let init = json!({"jsonrpc":"2.0","id":1,"method":"initialize","params": init_params("2025-11-25")});
    let call = json!({"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"echo","arguments":{"text":"from a file"}}});
    std::fs::write(&input, format!("{init}\n{call}")).unwrap();
    let out = std::process::Command::new(bin())
        .arg(&peer.url)
        .env("MCP_VALET_HOME", dir.path())
        .env("MCP_VALET_TOKEN_STORE", "memory")
        .stdin(std::fs::File::open(&input).unwrap())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let lines: Vec<Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(common::valet::parse_line)
        .collect();
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert_eq!(text(lines.iter().find(|m| m["id"] == 2).unwrap()), "from a file");
}

#[test]
fn many_concurrent_requests_that_need_the_client_all_complete() {
    // More calls at once than mcp-valet lets wait for answer headers (16), each waiting for
    // the client's answer to an elicitation: the answers must never queue behind the calls.
    let peer = Peer::start(PeerKind::StatefulJson);
    let mut v = Valet::spawn(&[&peer.url]);
    v.handshake();
    peer.log_until(Duration::from_secs(5), |l| l.iter().any(|e| e["method"] == "GET"));
    let n = 24;
    for i in 0..n {
        v.send(&json!({"jsonrpc":"2.0","id":100 + i,"method":"tools/call","params":{"name":"elicit","arguments":{"message":"Who?"}}}));
    }
    let mut done = 0;
    while done < n {
        let m = v.recv_within(Duration::from_secs(30));
        if m["method"] == "elicitation/create" {
            v.send(&json!({"jsonrpc":"2.0","id":m["id"],"result":{"action":"accept","content":{"name":"valet"}}}));
        } else if m.get("id").is_some() && m.get("method").is_none() {
            assert!(text(&m).contains("valet"), "{m}");
            done += 1;
        }
    }
    // And plain calls beyond the limit queue and complete.
    for i in 0..40 {
        v.send(&json!({"jsonrpc":"2.0","id":200 + i,"method":"tools/call","params":{"name":"slow","arguments":{"ms":100}}}));
    }
    for _ in 0..40 {
        let m = v.recv();
        assert_eq!(text(&m), "slept");
    }
}
