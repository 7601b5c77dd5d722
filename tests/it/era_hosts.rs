//! Issue 10, end to end: real hosts of either era reach real 2026-07-28 servers through the
//! bridge, by default (no flag). The old-revision host is the TypeScript SDK 1.32.2 `Client`
//! (tests/peers/client.mjs), the modern one the Python SDK `Client` (tests/peers/client_py.py);
//! the servers are PeerKind::MODERN (the Python SDK on its dual-era endpoint and with
//! --modern-only, and the TypeScript SDK v2 with legacy: 'reject').
//!
//! Against a bridge that speaks only the 2025 revisions they fail (the modern-only servers
//! refuse initialize; the dual-era one never sees Mcp-Param-* headers).

use crate::common::peers::{MODERN, Peer, PeerKind, PyTarget, node_client_with, py_client, py_client_with};
use crate::common::valet::bin;
use serde_json::{Value, json};

/// Every POST the server received said 2026-07-28 (the bridge spoke the modern revision
/// and never tried the handshake), and no GET or DELETE was sent.
fn all_modern(peer: &Peer) {
    for e in peer.log() {
        assert_eq!(e["method"], "POST", "{:?}: {e}", peer.kind);
        assert_eq!(e["headers"]["mcp-protocol-version"], MODERN, "{:?}: {e}", peer.kind);
        assert_ne!(e["body"]["method"], "initialize", "{:?}: {e}", peer.kind);
    }
}

fn count(v: &Value) -> u64 {
    v.as_u64().unwrap_or(0)
}

#[test]
fn an_old_host_uses_modern_servers_through_the_bridge() {
    let steps = "tools,echo,header_echo,reserve,logging,listen,listen_cut,cancel,resources,prompts";
    for kind in PeerKind::MODERN {
        let peer = Peer::start(kind);
        let out = node_client_with(bin(), &[&peer.url], &[("PEER_CLIENT_STEPS", steps)]);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{kind:?}: {}\n{stdout}",
            String::from_utf8_lossy(&out.stderr)
        );
        let s: Value = serde_json::from_str(stdout.trim()).unwrap();

        // The host keeps its own revision; the bridge answered initialize itself.
        assert_eq!(s["protocolVersion"], "2025-11-25", "{kind:?}: {s}");
        assert!(
            s["serverVersion"]["name"]
                .as_str()
                .unwrap()
                .starts_with("mcp-valet-peer"),
            "{kind:?}: {s}"
        );
        let tools = s["tools"].as_array().unwrap();
        assert!(tools.iter().any(|t| t == "header_echo"), "{kind:?}: {s}");
        assert!(
            !tools.iter().any(|t| t == "bad_header"),
            "{kind:?}: the invalid x-mcp-header tool must go: {s}"
        );
        assert_eq!(s["echo"], "hello", "{kind:?}");

        // x-mcp-header arguments mirrored as Mcp-Param-*, values encoded as the spec says.
        let h = &s["header_echo"]["headers"];
        assert_eq!(h["mcp-param-region"], "=?base64?WsO8cmljaA==?=", "{kind:?}: {s}");
        assert_eq!(h["mcp-param-priority"], "3", "{kind:?}: {s}");
        assert_eq!(h["mcp-param-urgent"], "true", "{kind:?}: {s}");
        assert_eq!(h["mcp-method"], "tools/call", "{kind:?}: {s}");
        assert_eq!(h["mcp-name"], "header_echo", "{kind:?}: {s}");

        // input_required became an elicitation/create to the host and a retry upstream.
        assert_eq!(s["reserve"], "reserved 3 widgets", "{kind:?}: {s}");
        assert_eq!(
            s["elicitRequest"]["requestedSchema"]["required"],
            json!(["quantity"]),
            "{kind:?}: {s}"
        );

        // logging/setLevel answered by the bridge, the level stamped on later requests.
        assert_eq!(s["logging"]["setLevel"], "ok", "{kind:?}: {s}");
        let levels: Vec<&str> = s["logging"]["logs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l["level"].as_str().unwrap())
            .collect();
        assert_eq!(levels, ["debug", "info", "warning", "error"], "{kind:?}: {s}");

        // resources/subscribe answered by the bridge; listen delivers the notifications.
        assert_eq!(s["listen"]["subscribe"], "ok", "{kind:?}: {s}");
        let n = &s["listen"]["notifications"];
        assert!(count(&n["notifications/resources/updated"]) >= 1, "{kind:?}: {s}");
        assert!(count(&n["notifications/tools/list_changed"]) >= 1, "{kind:?}: {s}");
        // A listen stream cut by the server is opened again.
        let n = &s["listen_cut"]["notifications"];
        assert!(count(&n["notifications/resources/updated"]) >= 1, "{kind:?}: {s}");
        assert!(count(&n["notifications/tools/list_changed"]) >= 1, "{kind:?}: {s}");
        assert_eq!(s["listen_cut"]["drop"]["dropped"], 1, "{kind:?}: {s}");

        // notifications/cancelled closed the call's HTTP exchange: the server saw it.
        assert_eq!(s["cancel"]["cancelled"], 1, "{kind:?}: {s}");

        assert_eq!(s["resourceText"], "hello from the peer resource", "{kind:?}");
        assert_eq!(s["promptText"], "Hello, valet!", "{kind:?}");
        all_modern(&peer);
    }
}

#[test]
fn a_modern_host_uses_modern_servers_through_the_bridge() {
    // Whether the bridge answers server/discover on stdio (the host then speaks 2026-07-28)
    // or makes the host fall back to initialize is the bridge's choice: every feature must
    // work either way.
    let steps = [
        "tools",
        "header_echo",
        "reserve",
        "logging",
        "listen",
        "cancel",
        "resources",
        "prompts",
    ];
    for kind in PeerKind::MODERN {
        let peer = Peer::start(kind);
        let run = py_client(PyTarget::Stdio(bin(), &[&peer.url]), "auto", &steps);
        let modern_host = run.protocol_version() == MODERN;
        assert!(
            modern_host || run.protocol_version() == "2025-11-25",
            "{kind:?}: {:?}",
            run.summary()
        );

        let names = run.result("tools")["names"].as_array().unwrap().clone();
        assert!(names.iter().any(|t| t == "header_echo"), "{kind:?}: {names:?}");
        assert!(!names.iter().any(|t| t == "bad_header"), "{kind:?}: {names:?}");
        let h = &run.result("header_echo")["echo"]["headers"];
        assert_eq!(h["mcp-param-region"], "=?base64?WsO8cmljaA==?=", "{kind:?}: {h}");
        assert_eq!(run.result("reserve")["text"], "reserved 3 widgets", "{kind:?}");
        assert_eq!(run.result("logging")["logs"].as_array().unwrap().len(), 4, "{kind:?}");
        let listen = run.result("listen");
        if modern_host {
            assert_eq!(listen["events"].as_array().unwrap().len(), 2, "{kind:?}: {listen}");
        } else {
            assert!(
                count(&listen["notifications"]["notifications/resources/updated"]) >= 1,
                "{kind:?}: {listen}"
            );
        }
        assert_eq!(run.result("cancel")["cancelled"], 1, "{kind:?}");
        assert_eq!(
            run.result("resources")["text"],
            "hello from the peer resource",
            "{kind:?}"
        );
        assert_eq!(run.result("prompts")["text"], "Hello, valet!", "{kind:?}");
        all_modern(&peer);
    }
}

#[test]
fn a_modern_hosts_listen_stream_outlives_the_request_timeouts() {
    // subscriptions/listen is a stream the host keeps open: neither --request-timeout nor
    // --max-request-time ends it (both would have, 2 s into the 3.5 s of quiet).
    for kind in [PeerKind::ModernTs, PeerKind::Python] {
        let peer = Peer::start(kind);
        let run = py_client_with(
            PyTarget::Stdio(
                bin(),
                &["--request-timeout", "2s", "--max-request-time", "2s", &peer.url],
            ),
            MODERN,
            &["listen_idle", "echo"],
            &["--idle-ms", "3500"],
            &[],
        );
        let listen = run.result("listen_idle");
        let kinds: Vec<&str> = listen["events"]
            .as_array()
            .unwrap_or_else(|| panic!("{kind:?}: {:?}", run.summary()))
            .iter()
            .map(|e| e["kind"].as_str().unwrap())
            .collect();
        assert!(kinds.contains(&"tools_list_changed"), "{kind:?}: {listen}");
        assert!(kinds.contains(&"resource_updated"), "{kind:?}: {listen}");
        // Ordinary requests still have their timeouts (and work).
        assert_eq!(run.result("echo")["text"], "hello", "{kind:?}");
    }
}
