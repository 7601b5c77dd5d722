//! Self-test of the reference peers (tests/peers/) and their Rust harness
//! (tests/it/common/peers.rs): every peer starts, answers a raw initialize, logs it, honours
//! the admin endpoints, and goes away when dropped; the 2026-07-28 peers answer
//! server/discover, check the Mcp-* headers, return input_required, serve listen streams and
//! end them on demand, and the Python SDK host speaks to them. Nothing of mcp-valet is
//! involved.

use std::time::Duration;

use crate::common::peers::{
    HttpResponse, MODERN, Peer, PeerKind, PyTarget, http_read_until, http_request, jsonrpc_messages, modern_post,
    modern_request, py_client, split_url,
};
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

    for kind in [PeerKind::PythonModernOnly, PeerKind::ModernTs] {
        let peer = Peer::start_with(kind, &["--require-bearer", "t0k3n"]);
        let discover = modern_request(1, "server/discover", Value::Null, json!({}));
        let denied = modern_post(&peer.url, &discover, &[]);
        assert_eq!(denied.status, 401, "{kind:?}: {denied:?}");
        assert_eq!(denied.header("www-authenticate"), Some("Bearer"), "{kind:?}");
        let ok = modern_post(&peer.url, &discover, &[("Authorization", "Bearer t0k3n")]);
        assert_eq!(ok.status, 200, "{kind:?}: {ok:?}");
    }
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

// ------------------------------------------------------------------ the 2026-07-28 peers

fn first(resp: &HttpResponse) -> Value {
    jsonrpc_messages(resp)
        .into_iter()
        .find(|m| m.get("id").is_some())
        .unwrap_or_else(|| panic!("no JSON-RPC response in {resp:?}"))
}

fn tool_text(result: &Value) -> String {
    result["content"]
        .as_array()
        .unwrap_or_else(|| panic!("no content in {result}"))
        .iter()
        .filter_map(|c| c["text"].as_str())
        .collect()
}

#[test]
fn modern_peers_answer_discover_and_check_envelope_headers_and_input_required() {
    for kind in PeerKind::MODERN {
        let peer = Peer::start(kind);

        let d = modern_post(
            &peer.url,
            &modern_request(1, "server/discover", Value::Null, json!({})),
            &[],
        );
        assert_eq!(d.status, 200, "{kind:?}: {d:?}");
        let r = &first(&d)["result"];
        assert!(
            r["supportedVersions"].as_array().unwrap().iter().any(|v| v == MODERN),
            "{kind:?}: {r}"
        );
        assert_eq!(r["capabilities"]["tools"]["listChanged"], true, "{kind:?}: {r}");
        assert_eq!(r["capabilities"]["resources"]["subscribe"], true, "{kind:?}: {r}");
        assert!(
            r["_meta"]["io.modelcontextprotocol/serverInfo"]["name"]
                .as_str()
                .is_some_and(|n| n.starts_with("mcp-valet-peer")),
            "{kind:?}: {r}"
        );

        // tools/list advertises the x-mcp-header annotations, the invalid one included.
        let l = modern_post(&peer.url, &modern_request(2, "tools/list", Value::Null, json!({})), &[]);
        let tools = first(&l)["result"]["tools"].as_array().unwrap().clone();
        let schema = |name: &str| {
            tools
                .iter()
                .find(|t| t["name"] == name)
                .unwrap_or_else(|| panic!("{kind:?}: no {name} in {tools:?}"))["inputSchema"]
                .clone()
        };
        assert_eq!(schema("header_echo")["properties"]["region"]["x-mcp-header"], "Region");
        assert_eq!(
            schema("header_echo")["properties"]["priority"]["x-mcp-header"],
            "Priority"
        );
        assert_eq!(schema("bad_header")["properties"]["q"]["x-mcp-header"], "Bad Header");

        // A tools/call without the Mcp-Param-Region its argument asks for: 400, -32020.
        let call = modern_request(
            3,
            "tools/call",
            json!({"name": "header_echo", "arguments": {"region": "eu-west"}}),
            json!({}),
        );
        let r = modern_post(&peer.url, &call, &[]);
        assert_eq!(r.status, 400, "{kind:?}: {r:?}");
        assert_eq!(first(&r)["error"]["code"], -32020, "{kind:?}: {r:?}");
        // With it, the tool sees the headers.
        let r = modern_post(
            &peer.url,
            &call,
            &[("Mcp-Param-Region", "eu-west"), ("X-Test-Case", "hdr")],
        );
        assert_eq!(r.status, 200, "{kind:?}: {r:?}");
        let echo: Value = serde_json::from_str(&tool_text(&first(&r)["result"])).unwrap();
        assert_eq!(echo["arguments"]["region"], "eu-west", "{kind:?}: {echo}");
        assert_eq!(echo["headers"]["mcp-param-region"], "eu-west", "{kind:?}: {echo}");
        assert_eq!(echo["headers"]["mcp-name"], "header_echo", "{kind:?}: {echo}");
        let logged = peer
            .log()
            .into_iter()
            .find(|e| e["headers"]["x-test-case"] == "hdr")
            .unwrap();
        assert_eq!(logged["headers"]["mcp-method"], "tools/call");
        assert_eq!(logged["headers"]["mcp-name"], "header_echo");
        assert_eq!(logged["headers"]["mcp-param-region"], "eu-west");
        assert_eq!(logged["headers"]["mcp-protocol-version"], MODERN);

        // reserve: input_required with one elicitation, then the retry completes.
        let caps = json!({"elicitation": {"form": {}}});
        let ask = modern_request(
            4,
            "tools/call",
            json!({"name": "reserve", "arguments": {"item": "widgets"}}),
            caps.clone(),
        );
        let r = modern_post(&peer.url, &ask, &[]);
        assert_eq!(r.status, 200, "{kind:?}: {r:?}");
        let ir = first(&r)["result"].clone();
        assert_eq!(ir["resultType"], "input_required", "{kind:?}: {ir}");
        let requests = ir["inputRequests"].as_object().unwrap();
        assert_eq!(requests.len(), 1, "{kind:?}: {ir}");
        let (key, req) = requests.iter().next().unwrap();
        assert_eq!(req["method"], "elicitation/create", "{kind:?}: {ir}");
        assert!(
            req["params"]["requestedSchema"]["properties"]["quantity"].is_object(),
            "{ir}"
        );
        let state = ir["requestState"]
            .as_str()
            .unwrap_or_else(|| panic!("{kind:?}: no requestState in {ir}"));
        let retry = modern_request(
            5,
            "tools/call",
            json!({"name": "reserve", "arguments": {"item": "widgets"},
                   "inputResponses": {key: {"action": "accept", "content": {"quantity": 2}}},
                   "requestState": state}),
            caps,
        );
        let r = modern_post(&peer.url, &retry, &[]);
        let done = first(&r)["result"].clone();
        assert_eq!(tool_text(&done), "reserved 2 widgets", "{kind:?}: {r:?}");
        assert_ne!(done["resultType"], "input_required", "{kind:?}: {done}");

        // Logs only on opt-in (_meta logLevel), at or above that level, on the call's stream.
        let mut logs = modern_request(
            7,
            "tools/call",
            json!({"name": "log_levels", "arguments": {}}),
            json!({}),
        );
        let levels = |r: &HttpResponse| -> Vec<String> {
            jsonrpc_messages(r)
                .iter()
                .filter(|m| m["method"] == "notifications/message")
                .map(|m| m["params"]["level"].as_str().unwrap().to_string())
                .collect()
        };
        let quiet = modern_post(&peer.url, &logs, &[]);
        assert_eq!(tool_text(&first(&quiet)["result"]), "logged", "{kind:?}: {quiet:?}");
        assert!(levels(&quiet).is_empty(), "{kind:?}: {quiet:?}");
        logs["params"]["_meta"]["io.modelcontextprotocol/logLevel"] = json!("warning");
        let loud = modern_post(&peer.url, &logs, &[]);
        assert_eq!(levels(&loud), ["warning", "error"], "{kind:?}: {loud:?}");

        // No ping in this revision.
        let r = modern_post(&peer.url, &modern_request(6, "ping", Value::Null, json!({})), &[]);
        assert_eq!(r.status, 404, "{kind:?}: {r:?}");
        assert_eq!(first(&r)["error"]["code"], -32601, "{kind:?}: {r:?}");
    }
}

#[test]
fn modern_only_peers_refuse_the_handshake() {
    for kind in [PeerKind::PythonModernOnly, PeerKind::ModernTs] {
        let peer = Peer::start(kind);
        let r = post(&peer, &initialize("2025-11-25"), &[]);
        assert_eq!(r.status, 400, "{kind:?}: {r:?}");
        let e = &first(&r)["error"];
        assert_eq!(e["code"], -32022, "{kind:?}: {e}");
        assert_eq!(e["data"]["supported"], json!([MODERN]), "{kind:?}: {e}");
        // A 2025 header on a request is refused the same way.
        let list = json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"}).to_string();
        let r = post(&peer, &list, &[("MCP-Protocol-Version", "2025-11-25")]);
        assert_eq!(r.status, 400, "{kind:?}: {r:?}");
        assert_eq!(first(&r)["error"]["code"], -32022, "{kind:?}: {r:?}");
        // Notifications are acknowledged and dropped; there is no GET stream.
        let n = post(&peer, r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#, &[]);
        assert_eq!(n.status, 202, "{kind:?}: {n:?}");
        let (base, path) = split_url(&peer.url);
        let g = http_request(base, "GET", path, &[("Accept", "text/event-stream")], None);
        assert_eq!(g.status, 405, "{kind:?}: {g:?}");
        // The modern path still works.
        let d = modern_post(
            &peer.url,
            &modern_request(3, "server/discover", Value::Null, json!({})),
            &[],
        );
        assert_eq!(d.status, 200, "{kind:?}: {d:?}");
    }
}

/// Opens subscriptions/listen on a thread (the raw HTTP exchange, read until the server ends
/// it), calls `restock`, waits for both notifications, then ends the stream from the server
/// side. Returns the raw response.
fn listen_then_drop(peer: &Peer, graceful: bool) -> String {
    let listen = modern_request(
        77,
        "subscriptions/listen",
        json!({"notifications": {"toolsListChanged": true, "resourceSubscriptions": ["peer://stock"]}}),
        json!({}),
    );
    let (base, path) = split_url(&peer.url);
    let (base, path) = (base.to_string(), path.to_string());
    let headers = crate::common::peers::modern_headers(&listen);
    let (tx, rx) = std::sync::mpsc::channel();
    let reader = std::thread::spawn(move || {
        let h: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        http_read_until(
            &base,
            "POST",
            &path,
            &h,
            Some(&listen.to_string()),
            Duration::from_secs(20),
            |s| {
                if s.contains("notifications/resources/updated") && s.contains("notifications/tools/list_changed") {
                    let _ = tx.send(());
                }
                false
            },
        )
    });
    peer.wait_listeners(1, Duration::from_secs(10));
    let restock = modern_request(8, "tools/call", json!({"name": "restock", "arguments": {}}), json!({}));
    assert_eq!(modern_post(&peer.url, &restock, &[]).status, 200);
    rx.recv_timeout(Duration::from_secs(10))
        .unwrap_or_else(|_| panic!("{:?}: no notifications on the listen stream", peer.kind));
    assert_eq!(peer.drop_listeners(graceful), 1);
    let raw = reader.join().unwrap();
    peer.wait_listeners(0, Duration::from_secs(10));
    raw
}

#[test]
fn modern_peers_deliver_listen_notifications_and_end_streams_on_demand() {
    for kind in PeerKind::MODERN {
        let peer = Peer::start(kind);
        for graceful in [false, true] {
            let raw = listen_then_drop(&peer, graceful);
            assert!(raw.starts_with("HTTP/1.1 200"), "{kind:?}: {raw}");
            assert!(
                raw.to_ascii_lowercase().contains("content-type: text/event-stream"),
                "{kind:?}: {raw}"
            );
            // The response was ended (the last chunk), not reset and not timed out.
            assert!(raw.ends_with("0\r\n\r\n"), "{kind:?} graceful={graceful}: {raw}");
            let resp = HttpResponse {
                status: 200,
                headers: vec![("content-type".into(), "text/event-stream".into())],
                body: crate::common::peers::dechunk_body(&raw),
            };
            let msgs = jsonrpc_messages(&resp);
            assert_eq!(
                msgs[0]["method"], "notifications/subscriptions/acknowledged",
                "{kind:?}: {msgs:?}"
            );
            for m in msgs.iter() {
                let meta = if m.get("method").is_some() {
                    &m["params"]["_meta"]
                } else {
                    &m["result"]["_meta"]
                };
                assert_eq!(meta["io.modelcontextprotocol/subscriptionId"], 77, "{kind:?}: {m}");
            }
            let methods: Vec<&str> = msgs.iter().filter_map(|m| m["method"].as_str()).collect();
            assert!(
                methods.contains(&"notifications/resources/updated"),
                "{kind:?}: {methods:?}"
            );
            assert!(
                methods.contains(&"notifications/tools/list_changed"),
                "{kind:?}: {methods:?}"
            );
            let result = msgs.iter().find(|m| m["id"] == 77);
            if graceful {
                let result = result.unwrap_or_else(|| panic!("{kind:?}: no final result in {msgs:?}"));
                assert_eq!(result["result"]["resultType"], "complete", "{kind:?}: {result}");
            } else {
                assert!(result.is_none(), "{kind:?}: a cut stream carried a result: {msgs:?}");
            }
        }
    }
}

#[test]
fn the_python_host_speaks_2026_07_28_to_every_modern_peer() {
    let steps = [
        "tools",
        "header_echo",
        "reserve",
        "logging",
        "listen",
        "listen_cut",
        "cancel",
    ];
    for kind in PeerKind::MODERN {
        let peer = Peer::start(kind);
        let run = py_client(PyTarget::Url(&peer.url), "auto", &steps);
        assert_eq!(run.protocol_version(), MODERN, "{kind:?}: {}", run.stderr);

        let names = &run.result("tools")["names"];
        assert!(
            names.as_array().unwrap().iter().any(|n| n == "header_echo"),
            "{kind:?}: {names}"
        );
        // The SDK's client drops the tool with the invalid annotation, as the spec says.
        assert!(
            !names.as_array().unwrap().iter().any(|n| n == "bad_header"),
            "{kind:?}: {names}"
        );

        let echo = &run.result("header_echo")["echo"];
        assert_eq!(echo["arguments"]["region"], "Zürich", "{kind:?}: {echo}");
        assert_eq!(
            echo["headers"]["mcp-param-region"], "=?base64?WsO8cmljaA==?=",
            "{kind:?}: {echo}"
        );
        assert_eq!(echo["headers"]["mcp-param-priority"], "3", "{kind:?}: {echo}");
        assert_eq!(echo["headers"]["mcp-param-urgent"], "true", "{kind:?}: {echo}");

        assert_eq!(run.result("reserve")["text"], "reserved 3 widgets", "{kind:?}");
        assert_eq!(run.summary()["elicitations"].as_array().unwrap().len(), 1, "{kind:?}");

        let levels: Vec<&str> = run.result("logging")["logs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l["level"].as_str().unwrap())
            .collect();
        assert_eq!(levels, ["debug", "info", "warning", "error"], "{kind:?}");

        let events = &run.result("listen")["events"];
        assert!(
            events
                .as_array()
                .unwrap()
                .contains(&json!({"kind": "resource_updated", "uri": "peer://stock"})),
            "{kind:?}: {events}"
        );
        assert!(
            events
                .as_array()
                .unwrap()
                .contains(&json!({"kind": "tools_list_changed"})),
            "{kind:?}: {events}"
        );

        let cut = run.result("listen_cut");
        assert_eq!(cut["lost"], true, "{kind:?}: {cut}");
        assert_eq!(cut["events_after"].as_array().unwrap().len(), 2, "{kind:?}: {cut}");

        assert_eq!(
            run.result("cancel")["cancelled"],
            1,
            "{kind:?}: {}",
            run.result("cancel")
        );
        assert!(peer.cancelled_calls() >= 1, "{kind:?}");
    }
}

#[test]
fn the_python_host_as_an_old_host() {
    // The dual-era server gives it the 2025 handshake, and the invalid tool is not dropped there.
    let peer = Peer::start(PeerKind::Python);
    let run = py_client(PyTarget::Url(&peer.url), "legacy", &["tools", "reserve", "cancel"]);
    assert_eq!(run.protocol_version(), "2025-11-25", "{}", run.stderr);
    let names = &run.result("tools")["names"];
    assert!(names.as_array().unwrap().iter().any(|n| n == "bad_header"), "{names}");
    assert_eq!(run.result("reserve")["text"], "reserved 3 widgets");
    assert_eq!(run.result("cancel")["cancelled"], 1);
    assert!(peer.log().iter().all(|e| e["body"]["method"] != "server/discover"));
    // A modern-only server has nothing for it.
    let peer = Peer::start(PeerKind::ModernTs);
    let run = py_client(PyTarget::Url(&peer.url), "legacy", &["tools"]);
    assert!(!run.status.success() && run.summary.is_none(), "{run:?}");
}

#[test]
fn both_stdio_hosts_drive_the_python_sdk_stdio_server() {
    let (python, args) = crate::common::peers::python_stdio_server();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();

    // The Python host, modern (auto: server/discover answered on stdio) and old.
    let steps = ["tools", "header_echo", "reserve", "logging", "listen", "cancel"];
    for (mode, version) in [("auto", MODERN), ("legacy", "2025-11-25")] {
        let run = py_client(PyTarget::Stdio(&python, &args), mode, &steps);
        assert_eq!(run.protocol_version(), version, "{mode}: {}", run.stderr);
        assert_eq!(
            run.result("header_echo")["echo"]["arguments"]["region"],
            "Zürich",
            "{mode}"
        );
        assert_eq!(run.result("reserve")["text"], "reserved 3 widgets", "{mode}");
        assert_eq!(run.result("logging")["logs"].as_array().unwrap().len(), 4, "{mode}");
        assert_eq!(
            run.result("cancel")["cancelled"],
            1,
            "{mode}: notifications/cancelled reached the server"
        );
        let listen = run.result("listen");
        if mode == "auto" {
            assert_eq!(listen["events"].as_array().unwrap().len(), 2, "{listen}");
        } else {
            assert_eq!(
                listen["notifications"]["notifications/resources/updated"], 1,
                "{listen}"
            );
        }
    }

    // The TypeScript SDK 1.32.2 host (an old-revision host).
    let out = crate::common::peers::node_client_with(
        &python,
        &args,
        &[("PEER_CLIENT_STEPS", "tools,header_echo,reserve,logging,listen,cancel")],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}\n{stdout}",
        String::from_utf8_lossy(&out.stderr)
    );
    let s: Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(s["protocolVersion"], "2025-11-25", "{s}");
    assert_eq!(s["header_echo"]["arguments"]["priority"], 3, "{s}");
    assert_eq!(s["reserve"], "reserved 3 widgets", "{s}");
    assert_eq!(
        s["elicitRequest"]["requestedSchema"]["required"],
        json!(["quantity"]),
        "{s}"
    );
    assert_eq!(s["logging"]["logs"].as_array().unwrap().len(), 4, "{s}");
    assert_eq!(
        s["listen"]["notifications"]["notifications/tools/list_changed"], 1,
        "{s}"
    );
    assert_eq!(s["cancel"]["cancelled"], 1, "{s}");
}
