//! A 2026-07-28 host (the Python SDK `Client`, tests/peers/client_py.py) in front of servers
//! of the older revisions, through the bridge: on the 2024-11-05 HTTP+SSE transport too, and
//! with the server's own requests (elicitation/create, sampling, roots/list), which that
//! revision no longer has, turned into `input_required` rounds the host answers.

use crate::common::peers::{Peer, PeerKind, PyRun, PyTarget, py_client_with};
use crate::common::valet::{bin, temp_home};
use serde_json::{Value, json};

const MODERN: &str = "2026-07-28";

fn posts<'a>(log: &'a [Value], method: &str) -> Vec<&'a Value> {
    log.iter()
        .filter(|e| e["method"] == "POST" && e["body"]["method"] == method)
        .collect()
}

fn run(args: &[&str], mode: &str, steps: &[&str], extra: &[&str]) -> PyRun {
    let home = temp_home();
    py_client_with(
        PyTarget::Stdio(bin(), args),
        mode,
        steps,
        extra,
        &[("MCP_VALET_HOME", home.path().to_str().unwrap())],
    )
}

#[test]
fn a_2026_host_in_front_of_an_http_sse_server_is_answered_from_its_initialize() {
    // Before: the bridge could make its handshake only on Streamable HTTP, so it answered the
    // host's server/discover with -32601 (an auto host fell back to 2025-11-25) and a pinned
    // 2026-07-28 host could not use the server at all. `--transport sse` skips every probe.
    let steps = ["tools", "echo", "resources", "prompts", "listen_notify"];
    let extra = ["--tool", "notify", "--args", r#"{"text":"hi"}"#];
    for transport in ["auto", "sse"] {
        for mode in ["auto", MODERN] {
            let peer = Peer::start(PeerKind::LegacySse);
            let r = run(&["--transport", transport, &peer.url], mode, &steps, &extra);
            let what = format!("--transport {transport}, host {mode}: {:?}", r.summary());
            assert_eq!(r.protocol_version(), MODERN, "{what}");
            if mode == "auto" {
                let s = r.summary();
                assert_eq!(s["serverInfo"]["name"], "mcp-valet-peer-ts", "{what}");
                assert_eq!(s["capabilities"]["tools"]["listChanged"], true, "{what}");
            }
            let names = r.result("tools")["names"].as_array().unwrap().clone();
            assert!(names.iter().any(|t| t == "echo"), "{what}");
            assert_eq!(r.result("echo")["text"], "hello", "{what}");
            assert_eq!(r.result("resources")["text"], "hello from the peer resource", "{what}");
            assert_eq!(r.result("prompts")["text"], "Hello, valet!", "{what}");
            // subscriptions/listen answered by the bridge; the server's list_changed, sent on
            // the one event stream, delivered on it.
            let listen = r.result("listen_notify");
            assert_eq!(listen["honored"], json!({"toolsListChanged": true}), "{what}");
            assert_eq!(listen["events"], json!([{"kind": "tools_list_changed"}]), "{what}");

            let log = peer.log();
            // (The Streamable HTTP attempt got 405, as the era probe did.)
            let inits: Vec<_> = posts(&log, "initialize")
                .into_iter()
                .filter(|e| e["status"].as_u64().is_some_and(|s| s < 300))
                .collect();
            assert_eq!(inits.len(), 1, "one handshake, by the bridge: {log:?}");
            assert_eq!(
                inits[0]["body"]["params"]["clientInfo"]["name"], "mcp-valet-test-client-py",
                "{log:?}"
            );
            assert!(posts(&log, "subscriptions/listen").is_empty(), "{log:?}");
            let taken = log
                .iter()
                .filter(|e| e["method"] == "POST" && e["body"]["method"] != "server/discover");
            for e in taken {
                let meta = &e["body"]["params"]["_meta"];
                assert!(meta.get("io.modelcontextprotocol/protocolVersion").is_none(), "{e}");
            }
        }
    }
}

#[test]
fn an_older_servers_questions_reach_a_2026_host_as_input_required() {
    // The server asks while it handles the call: on the call's own response stream (TS SDK
    // 1.x, Streamable HTTP), on the one event stream of HTTP+SSE (no relation but the one call
    // in flight), and the Python SDK's handshake-era session. The host answers through its
    // elicitation handler, as it does for a 2026-07-28 server; the answer reaches the server
    // as the response to its elicitation/create, and the call's result reaches the host.
    // Before, the request went to the host as it was: a 2026-07-28 host has no server→client
    // requests, so the call hung until the server gave up.
    let cases: [(PeerKind, &[&str], &str, &str); 4] = [
        (PeerKind::StatefulSse, &[], "elicit", r#"{"message":"Who?"}"#),
        (PeerKind::LegacySse, &[], "elicit", r#"{"message":"Who?"}"#),
        (
            PeerKind::Python,
            &["--protocol", "legacy"],
            "elicit",
            r#"{"message":"Who?"}"#,
        ),
        (
            PeerKind::Python,
            &["--protocol", "legacy"],
            "reserve",
            r#"{"item":"widgets"}"#,
        ),
    ];
    for (kind, flags, tool, args) in cases {
        for mode in ["auto", MODERN] {
            let peer = Peer::start(kind);
            let mut argv = flags.to_vec();
            argv.push(&peer.url);
            let r = run(&argv, mode, &["call", "echo"], &["--tool", tool, "--args", args]);
            let what = format!("{kind:?} {tool}, host {mode}: {:?}", r.summary());
            assert_eq!(r.protocol_version(), MODERN, "{what}");
            let text = r.result("call")["text"].as_str().unwrap().to_owned();
            if tool == "reserve" {
                assert_eq!(text, "reserved 3 widgets", "{what}");
            } else {
                let answer: Value = serde_json::from_str(&text).unwrap();
                assert_eq!(answer["action"], "accept", "{what}");
                assert_eq!(answer["content"], json!({"name": "valet"}), "{what}");
            }
            let asked = r.summary()["elicitations"].as_array().unwrap().clone();
            assert_eq!(asked.len(), 1, "{what}");
            // The bridge keeps serving.
            assert_eq!(r.result("echo")["text"], "hello", "{what}");

            let log = peer.log();
            let answers: Vec<&Value> = log
                .iter()
                .filter(|e| e["method"] == "POST" && e["body"]["result"]["action"] == "accept")
                .collect();
            assert_eq!(answers.len(), 1, "the answer went to the server: {log:?}");
            // The host's retry stayed in the bridge: the server saw one call.
            let calls = posts(&log, "tools/call");
            assert_eq!(
                calls.iter().filter(|c| c["body"]["params"]["name"] == tool).count(),
                1,
                "{log:?}"
            );
            assert!(
                calls.iter().all(|c| c["body"]["params"].get("requestState").is_none()),
                "{log:?}"
            );
        }
    }
}

#[test]
fn questions_a_2026_host_did_not_declare_get_a_clear_error() {
    // The Python host declares elicitation only: the server's sampling/createMessage and
    // roots/list are refused with an error the server passes on, never left unanswered.
    let cases: [(PeerKind, &[&str], &str, &str, &str); 2] = [
        (PeerKind::StatefulSse, &[], "sample", r#"{"prompt":"hi"}"#, "sampling"),
        (PeerKind::Python, &["--protocol", "legacy"], "roots", "{}", "roots"),
    ];
    for (kind, flags, tool, args, capability) in cases {
        let peer = Peer::start(kind);
        let mut argv = flags.to_vec();
        argv.push(&peer.url);
        let r = run(&argv, MODERN, &["call", "echo"], &["--tool", tool, "--args", args]);
        let what = format!("{kind:?} {tool}: {:?}", r.summary());
        let call = &r.summary()["results"]["call"];
        let said = call["text"]
            .as_str()
            .or(call["error"]["message"].as_str())
            .unwrap_or("");
        assert!(
            said.contains(&format!("did not declare the {capability} capability")),
            "{what}"
        );
        assert_eq!(r.result("echo")["text"], "hello", "{what}");
    }
}
