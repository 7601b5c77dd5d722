//! Hardening (issue 11): a hostile server or authorization server, a local attacker and a slow
//! client get nowhere. The real binary runs against real peers where they can produce the fault;
//! small stand-ins on 127.0.0.1 play the servers and proxies that misbehave on purpose.

use std::process::{Command, Stdio};

use crate::common::peers::{Peer, PeerKind};
use crate::common::valet::{Valet, text};
use serde_json::{Value, json};

fn valet() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_mcp-valet"));
    c.env_remove("MCP_VALET_LOG").stdin(Stdio::null());
    c
}

/// Proves that an invalid request whose `id` is an object or an array is answered with
/// `id: null`, and that the bridge never echoes such an id back whole (a client could make the
/// bridge repeat any amount of JSON it sent).
#[test]
fn an_invalid_non_scalar_id_is_answered_with_a_null_id() {
    let peer = Peer::start(PeerKind::StatefulJson);
    let mut v = Valet::spawn(&[&peer.url]);
    v.handshake();
    let big = json!({"nested": vec!["x"; 64], "deeper": {"k": "marker-not-echoed"}});
    for bad_id in [big.clone(), json!(["marker-not-echoed", 1]), json!(true)] {
        // `jsonrpc: "1.0"` makes it invalid whatever the id; the id is not a string or a number.
        v.send(&json!({"jsonrpc": "1.0", "id": bad_id, "method": "tools/list"}));
        let r = v.recv();
        assert_eq!(r["error"]["code"], -32600, "{r}");
        assert_eq!(r["id"], Value::Null, "the invalid id is not echoed: {r}");
        assert!(!r.to_string().contains("marker-not-echoed"), "{r}");
        v.send(&json!({"jsonrpc": "2.0", "id": bad_id, "method": "tools/list"}));
        let r = v.recv();
        assert_eq!(r["error"]["code"], -32600, "{r}");
        assert_eq!(r["id"], Value::Null, "{r}");
    }
    // A scalar id is still answered with itself, and the bridge still works.
    v.send(&json!({"jsonrpc": "1.0", "id": "s-1", "method": "tools/list"}));
    let r = v.recv();
    assert_eq!(
        (r["id"].clone(), r["error"]["code"].clone()),
        (json!("s-1"), json!(-32600))
    );
    let r = v.tool(3, "echo", json!({"text": "still here"}));
    assert_eq!(text(&r), "still here");
}

/// Proves that a duration too large to add to a clock (u64::MAX seconds, which aborted the
/// process at the first request or sign-in) is a usage error (exit 2) naming the limit, for
/// every duration option, before anything else happens.
#[test]
fn durations_that_would_overflow_are_usage_errors() {
    for (flag, value) in [
        ("--request-timeout", "18446744073709551615"),
        ("--max-request-time", "18446744073709551615"),
        ("--connect-timeout", "18446744073709551615ms"),
        ("--auth-timeout", "18446744073709551615h"),
        ("--request-timeout", "721h"),
    ] {
        let args: Vec<&str> = if flag == "--auth-timeout" {
            vec!["login", "http://127.0.0.1:9/mcp", flag, value]
        } else {
            vec!["http://127.0.0.1:9/mcp", flag, value]
        };
        let out = valet().args(&args).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains("at most 30 days"), "{args:?}: {err}");
        assert!(out.stdout.is_empty());
    }
    // Thirty days itself is accepted (the bridge starts and ends at stdin's end).
    let out = valet()
        .args(["http://127.0.0.1:9/mcp", "--request-timeout", "720h"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
}
