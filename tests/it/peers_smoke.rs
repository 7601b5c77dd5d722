//! Self-test of the reference peers (tests/peers/) and their Rust harness
//! (tests/it/common/peers.rs): every peer starts, answers a raw initialize, logs it, honours
//! the admin endpoints, and goes away when dropped. Nothing of mcp-valet is involved.

use std::time::Duration;

use crate::common::peers::{HttpResponse, Peer, PeerKind, http_read_until, http_request, jsonrpc_messages};
use serde_json::{Value, json};

const ACCEPT_BOTH: &str = "application/json, text/event-stream";

fn initialize(version: &str) -> String {
    json!({
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {
            "protocolVersion": version,
            "capabilities": {},
            "clientInfo": { "name": "peers-smoke", "version": "0" }
        }
    })
    .to_string()
}

fn post(peer: &Peer, body: &str, extra: &[(&str, &str)]) -> HttpResponse {
    let path = peer.url.strip_prefix(&peer.base).unwrap();
    let mut headers = vec![("Content-Type", "application/json"), ("Accept", ACCEPT_BOTH)];
    headers.extend_from_slice(extra);
    http_request(&peer.base, "POST", path, &headers, Some(body))
}

fn check_streamable(kind: PeerKind) {
    let peer = Peer::start(kind);
    assert!(
        peer.url.starts_with("http://127.0.0.1:") && peer.url.ends_with("/mcp"),
        "{}",
        peer.url
    );

    let resp = post(&peer, &initialize("2025-11-25"), &[("X-Test-Case", "smoke")]);
    assert_eq!(resp.status, 200, "{kind:?} initialize: {resp:?}");
    let msgs = jsonrpc_messages(&resp);
    let init = msgs
        .iter()
        .find(|m| m["id"] == 1)
        .unwrap_or_else(|| panic!("{kind:?}: no response in {resp:?}"));
    assert_eq!(init["result"]["protocolVersion"], "2025-11-25", "{kind:?}: {init}");
    assert!(init["result"]["capabilities"]["tools"].is_object(), "{kind:?}: {init}");
    let session = resp.header("mcp-session-id").map(str::to_string);
    assert_eq!(
        session.is_some(),
        kind.has_sessions(),
        "{kind:?} Mcp-Session-Id: {resp:?}"
    );

    // An older revision is accepted as asked.
    let old = post(&peer, &initialize("2025-03-26"), &[]);
    let msgs = jsonrpc_messages(&old);
    assert_eq!(msgs[0]["result"]["protocolVersion"], "2025-03-26", "{kind:?}: {old:?}");

    let log = peer.log();
    assert_eq!(log.len(), 2, "{kind:?}: {log:?}");
    assert_eq!(log[0]["method"], "POST");
    assert_eq!(log[0]["status"], 200);
    assert_eq!(log[0]["body"]["method"], "initialize");
    assert_eq!(log[0]["headers"]["accept"], ACCEPT_BOTH);
    assert_eq!(log[0]["headers"]["x-test-case"], "smoke");
    assert_eq!(log[0]["headers"]["authorization-present"], false);
    assert_eq!(log[0]["headers"]["mcp-session-id"], Value::Null);

    // fail-next answers before the SDK sees anything.
    peer.fail_next(503, Some(7), 1);
    let failed = post(&peer, &initialize("2025-11-25"), &[]);
    assert_eq!(failed.status, 503);
    assert_eq!(failed.header("retry-after"), Some("7"));
    assert_eq!(
        post(&peer, &initialize("2025-11-25"), &[]).status,
        200,
        "{kind:?}: fail-next count"
    );

    if let Some(sid) = session {
        let list = json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"}).to_string();
        let hdrs = [("Mcp-Session-Id", sid.as_str()), ("MCP-Protocol-Version", "2025-11-25")];
        let ok = post(&peer, &list, &hdrs);
        assert_eq!(ok.status, 200, "{kind:?}: {ok:?}");
        let tools: Vec<String> = jsonrpc_messages(&ok)[0]["result"]["tools"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["name"].as_str().unwrap().to_string())
            .collect();
        for t in ["echo", "large", "progress", "elicit", "sample"] {
            assert!(tools.iter().any(|n| n == t), "{kind:?}: {t} missing from {tools:?}");
        }
        peer.drop_sessions();
        let gone = post(&peer, &list, &hdrs);
        assert_eq!(gone.status, 404, "{kind:?}: {gone:?}");
        let log = peer.log();
        let last = log.last().unwrap();
        assert_eq!(last["status"], 404);
        assert_eq!(last["headers"]["mcp-session-id"], sid.as_str());
        assert_eq!(last["headers"]["mcp-protocol-version"], "2025-11-25");
    }

    peer.clear_log();
    assert!(peer.log().is_empty());
}

#[test]
fn stateful_sse_peer() {
    check_streamable(PeerKind::StatefulSse);
}

#[test]
fn stateful_json_peer() {
    check_streamable(PeerKind::StatefulJson);
}

#[test]
fn stateless_peer() {
    check_streamable(PeerKind::Stateless);
}

#[test]
fn python_peer() {
    check_streamable(PeerKind::Python);
}

#[test]
fn legacy_sse_peer() {
    let peer = Peer::start(PeerKind::LegacySse);
    assert!(peer.url.ends_with("/sse"), "{}", peer.url);

    // What a Streamable HTTP client tries first is refused like a real old server does.
    let probe = post(&peer, &initialize("2025-11-25"), &[]);
    assert!(probe.status == 405 || probe.status == 404, "{probe:?}");

    let raw = http_read_until(
        &peer.base,
        "GET",
        "/sse",
        &[("Accept", "text/event-stream")],
        None,
        Duration::from_secs(10),
        |s| {
            s.split_once("event: endpoint")
                .is_some_and(|(_, rest)| rest.contains("\n\n"))
        },
    );
    assert!(raw.starts_with("HTTP/1.1 200"), "{raw}");
    assert!(
        raw.to_ascii_lowercase().contains("content-type: text/event-stream"),
        "{raw}"
    );
    let endpoint = raw
        .lines()
        .find_map(|l| l.strip_prefix("data: /messages"))
        .map(|rest| format!("/messages{rest}"))
        .unwrap_or_else(|| panic!("no endpoint event in {raw}"));

    let log = peer.log_until(Duration::from_secs(5), |l| l.len() == 2);
    assert_eq!(log[0]["method"], "POST");
    assert_eq!(log[0]["path"], "/sse");
    assert_eq!(log[1]["method"], "GET");
    assert_eq!(log[1]["path"], "/sse");
    assert_eq!(log[1]["status"], 200);

    // The stream was dropped above, so its session is gone: a POST to it is refused.
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    loop {
        let r = http_request(
            &peer.base,
            "POST",
            &endpoint,
            &[("Content-Type", "application/json")],
            Some(r#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#),
        );
        if r.status == 404 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the session outlived its stream: {r:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let log = peer.log();
    let last = log.last().unwrap();
    assert_eq!(last["method"], "POST");
    assert_eq!(last["path"], endpoint.as_str());
    assert_eq!(last["status"], 404);
    assert_eq!(last["body"]["method"], "ping");
}

#[test]
fn bearer_requirement() {
    let peer = Peer::start_with(PeerKind::StatefulJson, &["--require-bearer", "t0k3n"]);
    let denied = post(&peer, &initialize("2025-11-25"), &[]);
    assert_eq!(denied.status, 401);
    assert_eq!(denied.header("www-authenticate"), Some("Bearer"));
    let ok = post(&peer, &initialize("2025-11-25"), &[("Authorization", "Bearer t0k3n")]);
    assert_eq!(ok.status, 200, "{ok:?}");
    let log = peer.log();
    assert_eq!(log[0]["headers"]["authorization-present"], false);
    assert_eq!(log[1]["headers"]["authorization-present"], true);
}

#[test]
fn dropped_peer_is_gone() {
    let peer = Peer::start(PeerKind::Stateless);
    let base = peer.base.clone();
    drop(peer);
    let hostport = base.strip_prefix("http://").unwrap();
    assert!(
        std::net::TcpStream::connect(hostport).is_err(),
        "{base} still accepts connections"
    );
}
