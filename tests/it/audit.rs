//! The audit log of authentication events, written by the real binary through a real sign-in,
//! refresh, failed refresh, revocation and logout against the real authorization server, and
//! read back with `status --events`.

use std::time::Duration;

use serde_json::Value;

use crate::common::auth::{Stack, fake_browser};
use crate::common::valet::run;

#[test]
fn auth_events_are_logged_without_a_secret_and_shown_by_status_events() {
    let stack = Stack::start(&["--access-ttl", "2", "--refresh-ttl", "4"], &[]);
    let home = tempfile::tempdir().unwrap();
    let env = [
        ("MCP_VALET_HOME", home.path().to_str().unwrap().to_owned()),
        ("MCP_VALET_TOKEN_STORE", "file".into()),
        ("BROWSER", fake_browser()),
    ];
    assert!(run(&["login", &stack.mcp], &env).status.success());
    std::thread::sleep(Duration::from_millis(2500));
    assert!(run(&["token", &stack.mcp], &env).status.success(), "a refresh");
    std::thread::sleep(Duration::from_millis(4500));
    assert_eq!(
        run(&["token", &stack.mcp], &env).status.code(),
        Some(4),
        "a dead refresh token"
    );
    assert!(run(&["login", &stack.mcp], &env).status.success());
    assert!(run(&["logout", &stack.mcp], &env).status.success());

    let out = run(&["status", "--events", "--json"], &env);
    assert_eq!(out.status.code(), Some(0));
    let events: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    let names: Vec<&str> = events.iter().map(|e| e["event"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        [
            "registration",
            "sign_in",
            "refresh",
            "failure",
            "sign_in",
            "revocation",
            // oidc-provider cannot revoke its JWT access tokens (`unsupported_token_type`).
            "failure",
            "logout"
        ],
        "{events:#?}"
    );
    let sign_in = &events[1];
    assert_eq!(sign_in["outcome"], "ok");
    assert_eq!(sign_in["server"], stack.mcp.as_str());
    assert_eq!(sign_in["issuer"], stack.issuer.as_str());
    assert_eq!(sign_in["account"], "ada");
    assert_eq!(sign_in["grant"], "authorization_code");
    assert!(!sign_in["scopes"].as_array().unwrap().is_empty(), "{sign_in}");
    assert!(sign_in["pid"].as_u64().unwrap() > 0);
    assert!(sign_in["time"].as_str().unwrap().ends_with('Z'));
    assert!(events[0]["client_id"].is_string());
    let failure = &events[3];
    assert_eq!(
        (&failure["attempt"], &failure["outcome"]),
        (&"refresh".into(), &"failed".into())
    );
    assert!(failure["reason"].is_string(), "{failure}");
    assert_eq!(events[5]["grant"], "refresh_token", "which token was revoked");
    assert_eq!(
        (&events[6]["attempt"], &events[6]["grant"]),
        (&"revocation".into(), &"access_token".into())
    );

    let text = run(&["status", "--events", &stack.mcp], &env);
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(
        text.contains("sign_in      ok") && text.contains("account: ada"),
        "{text}"
    );
    assert!(text.contains("Audit log: "), "{text}");
    let other = run(&["status", "--events", "https://elsewhere.example/mcp"], &env);
    assert!(String::from_utf8_lossy(&other.stdout).contains("No authentication events"));

    let log = home.path().join("audit.jsonl");
    let mode = std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&log).unwrap().permissions());
    assert_eq!(mode & 0o777, 0o600);
    // No secret of any exchange: codes, verifiers, tokens sent and received.
    let written = std::fs::read_to_string(&log).unwrap();
    let st = stack.as_stats();
    let secrets: Vec<&str> = st["tokenRequestLog"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|t| t["secrets"].as_array().unwrap())
        .map(|s| s.as_str().unwrap())
        .collect();
    assert!(
        secrets.len() >= 8,
        "codes, verifiers and tokens of three exchanges: {st}"
    );
    for s in secrets {
        assert!(!written.contains(s), "a secret in the audit log");
    }
}

#[test]
fn a_step_up_is_logged_with_the_scopes_it_got() {
    let stack = Stack::start(&[], &[]);
    let home = tempfile::tempdir().unwrap();
    let (mut v, _) = stack.bridge(&[], &[("MCP_VALET_HOME", home.path().to_str().unwrap())]);
    v.handshake();
    let r = v.tool(1, "admin_op", serde_json::json!({}));
    assert!(r.get("result").is_some(), "{r}");
    let log = std::fs::read_to_string(home.path().join("audit.jsonl")).unwrap();
    let events: Vec<Value> = log.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let names: Vec<&str> = events.iter().map(|e| e["event"].as_str().unwrap()).collect();
    assert_eq!(names, ["registration", "sign_in", "step_up"], "{log}");
    let scopes = events[2]["scopes"].as_array().unwrap();
    assert!(scopes.contains(&"mcp:admin".into()), "{log}");
    assert_eq!(events[2]["outcome"], "ok");
}
