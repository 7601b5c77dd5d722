//! Protocol eras: a server that speaks MCP 2026-07-28 (the Python SDK's `/mcp` serves it
//! alongside the handshake-era revisions) behind a handshake-era host, the era probe and the
//! per-server era file, and `--protocol`. The peers' request logs show what went over HTTP.

use std::path::Path;
use std::time::Duration;

use crate::common::era::{era_key, remembered};
use crate::common::peers::{Peer, PeerKind, node_client_with};
use crate::common::valet::{Valet, bin, init_params, temp_home, text};
use serde_json::{Value, json};

const MODERN: &str = "2026-07-28";

fn posts<'a>(log: &'a [Value], method: &str) -> Vec<&'a Value> {
    log.iter()
        .filter(|e| e["method"] == "POST" && e["body"]["method"] == method)
        .collect()
}

fn spawn_at(home: &Path, args: &[&str]) -> Valet {
    Valet::spawn_env(args, &[("MCP_VALET_HOME", home.to_str().unwrap())])
}

#[test]
fn a_2026_server_behind_an_old_host_is_translated() {
    let peer = Peer::start(PeerKind::Python);
    let mut v = Valet::spawn(&[&peer.url]);
    let init = v.handshake();
    assert_eq!(init["protocolVersion"], "2025-11-25", "{init}");
    assert_eq!(init["serverInfo"]["name"], "mcp-valet-peer-py", "{init}");
    assert_eq!(init["instructions"], "mcp-valet test peer (Python SDK)", "{init}");
    assert!(init["capabilities"]["tools"].is_object(), "{init}");

    // Answered by mcp-valet: the revision has no ping and no logging/setLevel.
    assert_eq!(v.call(1, "ping", json!({}))["result"], json!({}));
    assert_eq!(
        v.call(2, "logging/setLevel", json!({"level": "debug"}))["result"],
        json!({})
    );

    let list = v.call(3, "tools/list", json!({}));
    let names: Vec<&str> = list["result"]["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert!(names.contains(&"echo"), "{list}");
    assert_eq!(text(&v.tool(4, "echo", json!({"text": "modern"}))), "modern");

    // Progress about the request reaches the host before the answer.
    v.send(&json!({"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"progress","arguments":{"steps":3},"_meta":{"progressToken":"p5"}}}));
    let (resp, before) = v.response_to(&json!(5));
    assert_eq!(text(&resp), "done", "{resp}");
    let progress: Vec<_> = before
        .iter()
        .filter(|m| m["method"] == "notifications/progress")
        .collect();
    assert_eq!(progress.len(), 3, "{before:?}");
    assert!(progress.iter().all(|m| m["params"]["progressToken"] == "p5"));

    let read = v.call(6, "resources/read", json!({"uri": "peer://readme"}));
    assert_eq!(
        read["result"]["contents"][0]["text"], "hello from the peer resource",
        "{read}"
    );
    let prompt = v.call(7, "prompts/get", json!({"name": "greet", "arguments": {"name": "Zoë"}}));
    assert!(prompt.to_string().contains("Hello, Zoë!"), "{prompt}");
    let (status, _) = v.wait_within(Duration::from_secs(10));
    assert!(status.success());

    let log = peer.log();
    assert!(
        posts(&log, "initialize").is_empty(),
        "no initialize may reach a 2026-07-28 server"
    );
    assert!(posts(&log, "ping").is_empty() && posts(&log, "logging/setLevel").is_empty());
    assert!(posts(&log, "notifications/initialized").is_empty());
    assert_eq!(
        posts(&log, "server/discover").len(),
        1,
        "one probe, whose answer serves initialize"
    );
    assert!(
        log.iter().all(|e| e["method"] == "POST"),
        "no GET, no DELETE: there is no session"
    );
    let call = posts(&log, "tools/call")[0];
    assert_eq!(call["status"], 200);
    assert_eq!(call["headers"]["mcp-protocol-version"], MODERN);
    assert!(call["headers"]["mcp-session-id"].is_null());
    let meta = &call["body"]["params"]["_meta"];
    assert_eq!(meta["io.modelcontextprotocol/protocolVersion"], MODERN, "{meta}");
    assert_eq!(
        meta["io.modelcontextprotocol/clientInfo"]["name"], "mcp-valet-tests",
        "{meta}"
    );
    assert_eq!(meta["io.modelcontextprotocol/logLevel"], "debug", "{meta}");
    // The host's capabilities, without what 2026-07-28 removed.
    let caps = &meta["io.modelcontextprotocol/clientCapabilities"];
    assert!(
        caps["elicitation"].is_object() && caps["sampling"].is_object(),
        "{caps}"
    );
    assert!(
        caps["roots"].is_object() && caps["roots"].get("listChanged").is_none(),
        "{caps}"
    );
    // Our own id space: every POST has an id of its own.
    let ids: std::collections::HashSet<String> = log.iter().map(|e| e["body"]["id"].to_string()).collect();
    assert_eq!(ids.len(), log.len(), "{log:?}");
    // The progress token is the host's.
    let progress_call = posts(&log, "tools/call")[1];
    assert_eq!(progress_call["body"]["params"]["_meta"]["progressToken"], "p5");
    for e in posts(&log, "tools/call")
        .iter()
        .chain(posts(&log, "resources/read").iter())
    {
        assert_eq!(e["status"], 200, "{e}");
    }
}

#[test]
fn a_real_old_revision_client_works_against_a_2026_server() {
    let peer = Peer::start(PeerKind::Python);
    let home = temp_home();
    let home_s = home.path().to_str().unwrap();
    let out = node_client_with(
        bin(),
        &[&peer.url],
        &[
            ("PEER_CLIENT_STEPS", "tools,echo,progress,resources,prompts"),
            ("MCP_VALET_HOME", home_s),
            ("MCP_VALET_TOKEN_STORE", "memory"),
        ],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}\n{stdout}",
        String::from_utf8_lossy(&out.stderr)
    );
    let s: Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(s["protocolVersion"], "2025-11-25", "{s}");
    assert_eq!(s["echo"], "hello", "{s}");
    assert_eq!(s["progress"]["count"], 5, "{s}");
    assert_eq!(s["resourceText"], "hello from the peer resource", "{s}");
    assert_eq!(s["promptText"], "Hello, valet!", "{s}");
    assert_eq!(remembered(home.path(), &peer.url).as_deref(), Some("modern"));
    assert!(posts(&peer.log(), "initialize").is_empty());
}

#[test]
fn the_era_is_remembered_so_a_warm_start_makes_no_probe() {
    // A handshake-era server (TS SDK v1): the cold start costs one probe, once.
    let peer = Peer::start(PeerKind::StatefulJson);
    let home = temp_home();
    for round in 0..2 {
        peer.clear_log();
        let mut v = spawn_at(home.path(), &[&peer.url]);
        let init = v.handshake();
        assert_eq!(init["protocolVersion"], "2025-11-25", "{init}");
        assert_eq!(text(&v.tool(1, "echo", json!({"text": "x"}))), "x");
        let (status, _) = v.wait_within(Duration::from_secs(10));
        assert!(status.success());
        let log = peer.log();
        let probes = posts(&log, "server/discover").len();
        assert_eq!(probes, if round == 0 { 1 } else { 0 }, "round {round}: {log:?}");
        assert_eq!(posts(&log, "initialize").len(), 1);
        assert_eq!(remembered(home.path(), &peer.url).as_deref(), Some("legacy"));
    }

    // A 2026-07-28 server: the warm start goes straight to the new revision; the one discover
    // is the translation of the host's initialize, not a probe.
    let peer = Peer::start(PeerKind::Python);
    for _ in 0..2 {
        peer.clear_log();
        let mut v = spawn_at(home.path(), &["-vv", &peer.url]);
        v.handshake();
        assert_eq!(text(&v.tool(1, "echo", json!({"text": "y"}))), "y");
        let (status, _) = v.wait_within(Duration::from_secs(10));
        assert!(status.success());
        let log = peer.log();
        assert_eq!(posts(&log, "server/discover").len(), 1, "{log:?}");
        assert!(posts(&log, "initialize").is_empty(), "{log:?}");
        assert_eq!(remembered(home.path(), &peer.url).as_deref(), Some("modern"));
    }
}

#[test]
fn a_server_that_changed_era_is_handled_on_the_next_request() {
    // Remembered as 2026-07-28, but it speaks only the handshake-era revisions now.
    let peer = Peer::start(PeerKind::StatefulSse);
    let home = temp_home();
    let file = json!({"version": 1, "servers": {era_key(&peer.url): {"era": "modern", "checked_at": 0}}});
    std::fs::write(home.path().join("eras.json"), file.to_string()).unwrap();
    let mut v = spawn_at(home.path(), &[&peer.url]);
    let init = v.handshake();
    assert_eq!(init["protocolVersion"], "2025-11-25", "{init}");
    assert_eq!(text(&v.tool(1, "echo", json!({"text": "back"}))), "back");
    let (status, _) = v.wait_within(Duration::from_secs(10));
    assert!(status.success());
    let log = peer.log();
    assert_eq!(posts(&log, "initialize").len(), 1, "{log:?}");
    assert_eq!(remembered(home.path(), &peer.url).as_deref(), Some("legacy"));
}

#[test]
fn protocol_legacy_never_probes_and_uses_a_session() {
    let peer = Peer::start(PeerKind::Python);
    let home = temp_home();
    let mut v = spawn_at(home.path(), &[&peer.url, "--protocol", "legacy"]);
    v.handshake();
    assert_eq!(text(&v.tool(1, "echo", json!({"text": "old"}))), "old");
    let (status, _) = v.wait_within(Duration::from_secs(10));
    assert!(status.success());
    let log = peer.log();
    assert!(posts(&log, "server/discover").is_empty(), "{log:?}");
    assert_eq!(posts(&log, "initialize").len(), 1);
    assert!(posts(&log, "tools/call")[0]["headers"]["mcp-session-id"].is_string());
    assert_eq!(
        remembered(home.path(), &peer.url),
        None,
        "a forced era is not remembered"
    );
}

#[test]
fn protocol_modern_against_an_old_server_fails_clearly() {
    let peer = Peer::start(PeerKind::StatefulJson);
    let mut v = Valet::spawn(&[&peer.url, "--protocol", "modern"]);
    let r = v.call(0, "initialize", init_params("2025-11-25"));
    assert_eq!(r["error"]["data"]["source"], "mcp-valet", "{r}");
    assert!(r["error"]["message"].as_str().unwrap().contains("2026-07-28"), "{r}");
    // The bridge keeps serving.
    assert_eq!(v.call(1, "ping", json!({}))["result"], json!({}));
}

#[test]
fn log_messages_reach_the_host_and_a_listen_stream_is_open() {
    let peer = Peer::start(PeerKind::Python);
    let mut v = Valet::spawn(&[&peer.url]);
    v.handshake();
    // The listen stream is open once the server has acknowledged it.
    peer.log_until(Duration::from_secs(30), |l| {
        posts(l, "subscriptions/listen").iter().any(|e| e["status"] == 200)
    });
    assert_eq!(
        v.call(1, "logging/setLevel", json!({"level": "info"}))["result"],
        json!({})
    );
    v.send(
        &json!({"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"notify","arguments":{"text":"note"}}}),
    );
    let (resp, seen) = v.response_to(&json!(2));
    assert_eq!(text(&resp), "ok", "{resp}");
    let log_msg = seen.iter().find(|m| m["method"] == "notifications/message");
    assert!(log_msg.is_some_and(|m| m["params"]["data"] == "note"), "{seen:?}");
    let listen = posts(&peer.log(), "subscriptions/listen")[0].clone();
    assert_eq!(
        listen["body"]["params"]["notifications"]["toolsListChanged"], true,
        "{listen}"
    );
    assert_eq!(listen["headers"]["mcp-protocol-version"], MODERN);
}

#[test]
fn a_cancelled_request_is_stopped_and_the_bridge_keeps_serving() {
    let peer = Peer::start(PeerKind::Python);
    let mut v = Valet::spawn(&["-vv", &peer.url]);
    v.handshake();
    v.send(&json!({"jsonrpc":"2.0","id":9,"method":"tools/call","params":{"name":"slow","arguments":{"ms":3000}}}));
    peer.log_until(Duration::from_secs(5), |l| !posts(l, "tools/call").is_empty());
    v.send(&json!({"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":9,"reason":"changed my mind"}}));
    assert_eq!(text(&v.tool(10, "echo", json!({"text": "still here"}))), "still here");
    // No answer to the cancelled request, ever (the tool would have finished by now).
    std::thread::sleep(Duration::from_millis(3500));
    let (status, rest) = v.wait_within(Duration::from_secs(10));
    assert!(status.success());
    assert!(rest.iter().all(|m| m["id"] != 9), "{rest:?}");
    assert!(v.stderr().contains("cancelled a request"), "{}", v.stderr());
    // Nothing about the cancellation was POSTed: closing the stream is the cancellation.
    assert!(posts(&peer.log(), "notifications/cancelled").is_empty());
}

#[test]
fn a_2026_host_in_front_of_an_older_server_is_answered_from_its_initialize() {
    use crate::common::peers::{PyTarget, py_client_with};
    // Probing with server/discover (auto) or sending the envelope from the start (a pinned
    // 2026-07-28 host): either way the bridge makes the handshake itself and translates.
    for kind in [PeerKind::StatefulSse, PeerKind::StatefulJson] {
        for mode in ["auto", MODERN] {
            let peer = Peer::start(kind);
            let home = temp_home();
            let steps = [
                "tools",
                "echo",
                "call",
                "resources",
                "prompts",
                "listen_notify",
                "listen_notify",
            ];
            let run = py_client_with(
                PyTarget::Stdio(bin(), &[&peer.url]),
                mode,
                &steps,
                &[
                    "--tool",
                    "notify",
                    "--args",
                    r#"{"text":"hi"}"#,
                    "--log-level",
                    "warning",
                ],
                &[("MCP_VALET_HOME", home.path().to_str().unwrap())],
            );
            let what = format!("{kind:?} {mode}: {:?}", run.summary());
            assert_eq!(run.protocol_version(), MODERN, "{what}");
            if mode == "auto" {
                // server/discover answered from the server's initialize result.
                let s = run.summary();
                assert_eq!(s["serverInfo"]["name"], "mcp-valet-peer-ts", "{what}");
                assert!(
                    s["instructions"].as_str().unwrap().starts_with("mcp-valet test peer"),
                    "{what}"
                );
                assert_eq!(s["capabilities"]["tools"]["listChanged"], true, "{what}");
            }
            let names = run.result("tools")["names"].as_array().unwrap().clone();
            assert!(names.iter().any(|t| t == "echo"), "{what}");
            assert_eq!(run.result("echo")["text"], "hello", "{what}");
            assert_eq!(run.result("call")["text"], "ok", "{what}");
            assert_eq!(
                run.result("resources")["text"],
                "hello from the peer resource",
                "{what}"
            );
            assert_eq!(run.result("prompts")["text"], "Hello, valet!", "{what}");
            // subscriptions/listen answered by the bridge: acknowledged, and the server's
            // tools/list_changed delivered on it (twice: the first listen was closed).
            let listen = run.result("listen_notify");
            assert_eq!(listen["honored"], json!({"toolsListChanged": true}), "{what}");
            assert_eq!(listen["events"], json!([{"kind": "tools_list_changed"}]), "{what}");
            // The call's log notifications reached the host.
            let logs = run.summary()["logs"].as_array().unwrap();
            assert!(logs.iter().any(|l| l["data"] == "hi"), "{what}");

            let log = peer.log();
            let inits = posts(&log, "initialize");
            assert_eq!(inits.len(), 1, "one handshake, by the bridge: {log:?}");
            assert_eq!(
                inits[0]["body"]["params"]["clientInfo"]["name"], "mcp-valet-test-client-py",
                "the host's clientInfo: {log:?}"
            );
            assert_eq!(inits[0]["body"]["params"]["protocolVersion"], "2025-11-25");
            // The log level stamped on every request became one logging/setLevel.
            let levels = posts(&log, "logging/setLevel");
            assert_eq!(levels.len(), 1, "{log:?}");
            assert_eq!(levels[0]["body"]["params"]["level"], "warning");
            // Only mcp-valet's own probe; no envelope, no listen reached the older server.
            assert_eq!(posts(&log, "server/discover").len(), 1, "{log:?}");
            assert!(posts(&log, "subscriptions/listen").is_empty(), "{log:?}");
            for e in log
                .iter()
                .filter(|e| e["method"] == "POST" && e["body"]["method"] != "server/discover")
            {
                let meta = &e["body"]["params"]["_meta"];
                assert!(meta.get("io.modelcontextprotocol/protocolVersion").is_none(), "{e}");
                assert!(meta.get("io.modelcontextprotocol/clientCapabilities").is_none(), "{e}");
            }
        }
    }
}
