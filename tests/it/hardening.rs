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

/// The bridge started as a client that never reads its stderr would start it: stdin and stdout
/// piped, stderr piped and never read. Answers the child and a receiver of its stdout lines.
fn bridge_with_unread_stderr(
    args: &[&str],
    envs: &[(&str, &str)],
) -> (std::process::Child, std::sync::mpsc::Receiver<Value>) {
    use std::io::BufRead;
    let home = crate::common::valet::temp_home();
    let mut child = Command::new(env!("CARGO_BIN_EXE_mcp-valet"))
        .args(args)
        .env("MCP_VALET_HOME", home.path())
        .env("MCP_VALET_TOKEN_STORE", "memory")
        .envs(envs.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _home = home;
        for line in std::io::BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(crate::common::valet::parse_line(&line)).is_err() {
                break;
            }
        }
    });
    (child, rx)
}

/// Waits up to `secs` for the child to exit.
fn exits_within(child: &mut std::process::Child, secs: u64) -> Option<std::process::ExitStatus> {
    let until = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    while std::time::Instant::now() < until {
        if let Some(st) = child.try_wait().unwrap() {
            return Some(st);
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
    None
}

/// Proves that logging never blocks the relay: with trace logging and a client that never
/// reads the bridge's stderr (the pipe fills after 64 KiB), every request is still answered,
/// and the bridge still exits on SIGTERM, and on stdin's end. Then, once stderr is read, it
/// says how many log lines it had to drop.
#[test]
fn a_stderr_nobody_reads_does_not_freeze_the_bridge() {
    use std::io::{Read, Write};
    let peer = Peer::start(PeerKind::StatefulJson);
    let trace = [("MCP_VALET_LOG", "trace,mcp_valet=trace")];
    for end in ["SIGTERM", "stdin EOF"] {
        let (mut child, rx) = bridge_with_unread_stderr(&[&peer.url, "-vvv"], &trace);
        let mut stdin = child.stdin.take().unwrap();
        let mut call = |id: i64, method: &str, params: Value| -> Value {
            let msg = json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params});
            writeln!(stdin, "{msg}").unwrap();
            loop {
                let m = rx
                    .recv_timeout(std::time::Duration::from_secs(20))
                    .unwrap_or_else(|_| panic!("({end}) no answer to request {id}: the bridge is stuck"));
                if m["id"] == id {
                    return m;
                }
            }
        };
        call(0, "initialize", crate::common::valet::init_params("2025-11-25"));
        // Far more log output than a pipe holds.
        let padding = "p".repeat(400);
        for id in 1..=400 {
            let r = call(
                id,
                "tools/call",
                json!({"name": "echo", "arguments": {"text": padding}}),
            );
            assert_eq!(text(&r), padding, "({end}) {r}");
        }
        if end == "SIGTERM" {
            let st = Command::new("kill")
                .args(["-TERM", &child.id().to_string()])
                .status()
                .unwrap();
            assert!(st.success());
            let status = exits_within(&mut child, 15);
            assert!(status.is_some(), "the bridge ignored SIGTERM with its stderr full");
        } else {
            // From now on stderr is read, and the bridge is told to finish.
            let mut stderr = child.stderr.take().unwrap();
            let reader = std::thread::spawn(move || {
                let mut err = String::new();
                stderr.read_to_string(&mut err).unwrap();
                err
            });
            drop(stdin);
            let status = exits_within(&mut child, 15);
            assert_eq!(
                status.map(|s| s.code()),
                Some(Some(0)),
                "the bridge did not end at stdin's end"
            );
            let err = reader.join().unwrap();
            assert!(
                err.contains("log lines were dropped"),
                "the drops are counted: {}",
                &err[err.len().saturating_sub(2000)..]
            );
        }
    }
}
