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
        // (tools/list first: the Python server sends roots/list on the GET stream, and drops
        // it when the bridge has not opened that yet.)
        let r = run(
            &argv,
            MODERN,
            &["tools", "call", "echo"],
            &["--tool", tool, "--args", args],
        );
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

const SAMPLED: &str = "Paris, said the host";
const ROOTS: &str = "file:///srv/valet-a,file:///srv/valet-b";

#[test]
fn an_older_servers_sampling_and_roots_reach_a_2026_host_as_input_required() {
    // The host declares sampling and roots (the Python SDK's callbacks): the server's
    // sampling/createMessage and roots/list become input_required rounds, the host's answers
    // reach the server as the responses to them, and the call's result (built from them) is
    // the answer to the host's retry. Fails if the translation drops a kind, loses the
    // answer, or hands the host the server's own request.
    let cases: [(PeerKind, &[&str], &str, &str); 6] = [
        (
            PeerKind::StatefulSse,
            &[],
            "sample",
            r#"{"prompt":"Capital of France?"}"#,
        ),
        (PeerKind::StatefulSse, &[], "roots", "{}"),
        (PeerKind::LegacySse, &[], "sample", r#"{"prompt":"Capital of France?"}"#),
        (PeerKind::LegacySse, &[], "roots", "{}"),
        (
            PeerKind::Python,
            &["--protocol", "legacy"],
            "sample",
            r#"{"prompt":"Capital of France?"}"#,
        ),
        (PeerKind::Python, &["--protocol", "legacy"], "roots", "{}"),
    ];
    for (kind, flags, tool, args) in cases {
        let peer = Peer::start(kind);
        let mut argv = flags.to_vec();
        argv.push(&peer.url);
        let extra = [
            "--tool",
            tool,
            "--args",
            args,
            "--sampling-text",
            SAMPLED,
            "--roots",
            ROOTS,
        ];
        // (tools/list first: the Python server sends roots/list on the GET stream, and drops
        // it when the bridge has not opened that yet.)
        let r = run(&argv, MODERN, &["tools", "call", "echo"], &extra);
        let what = format!("{kind:?} {tool}: {:?}", r.summary());
        assert_eq!(r.protocol_version(), MODERN, "{what}");
        let text = r.result("call")["text"].as_str().unwrap_or_default().to_owned();
        let s = r.summary();
        let log = peer.log();
        let answered = |pred: &dyn Fn(&Value) -> bool| {
            log.iter()
                .filter(|e| e["method"] == "POST" && e["body"].get("method").is_none() && pred(&e["body"]["result"]))
                .count()
        };
        if tool == "sample" {
            assert_eq!(text, SAMPLED, "{what}");
            let asked = s["samplings"].as_array().unwrap();
            assert_eq!(asked.len(), 1, "{what}");
            assert_eq!(
                asked[0]["messages"][0]["content"]["text"], "Capital of France?",
                "{what}"
            );
            assert_eq!(s["rootsAsked"], 0, "{what}");
            let n = answered(&|r| r["model"] == "mcp-valet-test-model" && r["content"]["text"] == SAMPLED);
            assert_eq!(n, 1, "the host's answer went to the server: {log:?}");
        } else {
            let got: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {what}"));
            let want = json!([
                {"uri": "file:///srv/valet-a", "name": "root-1"},
                {"uri": "file:///srv/valet-b", "name": "root-2"},
            ]);
            assert_eq!(got["roots"], want, "{what}");
            assert_eq!(s["rootsAsked"], 1, "{what}");
            assert!(s["samplings"].as_array().unwrap().is_empty(), "{what}");
            assert_eq!(
                answered(&|r| r["roots"] == want),
                1,
                "the host's answer went to the server: {log:?}"
            );
        }
        // The host's retry stayed in the bridge: the server saw one call.
        let calls = posts(&log, "tools/call");
        let mine: Vec<_> = calls.iter().filter(|c| c["body"]["params"]["name"] == tool).collect();
        assert_eq!(mine.len(), 1, "{log:?}");
        assert!(mine[0]["body"]["params"].get("requestState").is_none(), "{log:?}");
        assert_eq!(r.result("echo")["text"], "hello", "the bridge keeps serving: {what}");
    }
}

#[test]
fn a_2026_hosts_retry_gets_the_progress_of_the_request_it_continues() {
    // The server sends progress 1/3 for the host's first request, asks (the request is then
    // answered with input_required, so over for the host), and sends 2/3 and 3/3 for that
    // first request's token. The host's retry has a token of its own (the Python SDK uses the
    // request id): the bridge sends 2/3 and 3/3 with it. Without the mapping, the SDK drops
    // them (a token of no active request) and only 1/3 arrives.
    for kind in [PeerKind::StatefulSse, PeerKind::LegacySse] {
        let peer = Peer::start(kind);
        let r = run(&[&peer.url], MODERN, &["progress_call"], &["--tool", "elicit_progress"]);
        let what = format!("{kind:?}: {:?}", r.summary());
        let call = r.result("progress_call");
        assert_eq!(call["text"], "valet", "{what}");
        let steps: Vec<f64> = call["progress"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p[0].as_f64().unwrap())
            .collect();
        assert_eq!(steps, [1.0, 2.0, 3.0], "{what}");
        assert_eq!(call["progress"][2][2], "step 3/3", "{what}");
        // The server knew one request, and one token.
        let log = peer.log();
        let calls = posts(&log, "tools/call");
        assert_eq!(calls.len(), 1, "{log:?}");
        assert!(
            calls[0]["body"]["params"]["_meta"]["progressToken"].is_number(),
            "{log:?}"
        );
    }
}
