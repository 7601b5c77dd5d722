//! Signing in against a real authorization server (oidc-provider) protecting a real MCP
//! server (the official TS SDK), with the login page driven by a scripted user or by headless
//! Chromium.

use std::time::{Duration, Instant};

use crate::common;
use crate::common::auth::{Stack, chromium_browser, grants};
use crate::common::valet::{Valet, init_params, run, text, valet_error};
use serde_json::json;

#[test]
fn the_first_401_signs_in_through_the_browser_and_the_request_goes_through() {
    let stack = Stack::start(&[], &[]);
    let (mut v, _) = stack.bridge(&[], &[]);
    v.handshake();
    assert_eq!(text(&v.tool(1, "echo", json!({"text": "signed in"}))), "signed in");
    let who = v.tool(2, "whoami", json!({}));
    assert!(text(&who).contains("ada"), "{who}");

    let st = stack.as_stats();
    assert_eq!(st["registrations"], 1, "{st}");
    let reg = &st["registrationLog"][0];
    assert_eq!(reg["application_type"], "native");
    assert!(reg["grant_types"].as_array().unwrap().contains(&json!("refresh_token")));
    assert_eq!(st["authorizationRequests"], 1);
    let auth = &st["authorizationRequestLog"][0];
    assert_eq!(auth["code_challenge_method"], "S256");
    assert_eq!(auth["has_state"], true);
    assert_eq!(
        auth["resource"],
        json!([stack.mcp]),
        "the resource byte for byte as published"
    );
    assert!(auth["redirect_uri"].as_str().unwrap().starts_with("http://127.0.0.1:"));
    assert_eq!(grants(&st, "authorization_code"), 1);
    let tok = st["tokenRequestLog"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["grant_type"] == "authorization_code")
        .unwrap();
    assert_eq!(tok["resource"], json!(stack.mcp), "resource in the token request too");
    let mcp = stack.mcp_stats();
    assert!(mcp["accepted"].as_u64().unwrap() >= 3, "{mcp}");
}

#[test]
fn login_drives_the_real_login_page_in_headless_chromium() {
    let Some(chromium) = find_chromium() else {
        common::skip(
            "auth::login_drives_the_real_login_page_in_headless_chromium",
            "no Chromium or Chrome found (CHROMIUM_PATH, chromium on PATH, or Google Chrome / \
             Chromium in /Applications; Debian/Ubuntu: apt-get install -y chromium)",
        );
        return;
    };
    let stack = Stack::start(&[], &[]);
    let home = common::valet::temp_home();
    let shots = tempfile::tempdir().unwrap();
    let browser_log = shots.path().join("browser.log");
    let out = run(
        &["login", &stack.mcp, "--token-store", "memory"],
        &[
            ("MCP_VALET_HOME", home.path().to_str().unwrap()),
            ("BROWSER", &chromium_browser()),
            (
                "CHROMIUM_SCREENSHOT",
                shots.path().join("signed-in.png").to_str().unwrap(),
            ),
            ("FAKE_BROWSER_LOG", browser_log.to_str().unwrap()),
            ("FAKE_BROWSER_USER", "grace"),
            ("CHROMIUM_PATH", chromium.to_str().unwrap()),
        ],
    );
    // The browser goes on in the background (the screenshot, closing Chromium): wait for it
    // to end, so that it neither outlives the test nor writes into `shots` once that is gone.
    let deadline = Instant::now() + Duration::from_secs(30);
    let ended =
        || std::fs::read_to_string(&browser_log).is_ok_and(|l| l.contains("] done (") || l.contains("] failed: "));
    while Instant::now() < deadline && !ended() {
        std::thread::sleep(Duration::from_millis(100));
    }
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}\n{}", stack.stderr());
    assert!(
        ended(),
        "the background browser did not finish within 30 s (it would outlive the test): {}",
        std::fs::read_to_string(&browser_log).unwrap_or_default()
    );
    assert!(err.contains(&format!("Signed in to {} as grace", stack.mcp)), "{err}");
    assert!(out.stdout.is_empty(), "login prints nothing on stdout");
    let st = stack.as_stats();
    assert_eq!(st["logins"]["grace"], 1, "{st}");
    assert_eq!(st["consents"], 1);
}

/// The browser for the headless-Chromium test: `CHROMIUM_PATH`, else Chromium or Chrome on
/// `PATH` (Debian's `chromium`, Ubuntu's `chromium-browser`), else the macOS application bundles.
fn find_chromium() -> Option<std::path::PathBuf> {
    if let Some(p) = std::env::var_os("CHROMIUM_PATH").filter(|p| !p.is_empty()) {
        return Some(p.into());
    }
    common::on_path(&["chromium", "chromium-browser", "google-chrome", "google-chrome-stable"]).or_else(|| {
        [
            "/Applications/Chromium.app/Contents/MacOS/Chromium",
            "/Applications/Google Chrome.app/Contents/MacOS/Google Chrome",
        ]
        .iter()
        .map(std::path::PathBuf::from)
        .find(|p| cfg!(target_os = "macos") && p.is_file())
    })
}

#[test]
fn step_up_asks_for_the_scopes_held_and_the_ones_challenged() {
    let stack = Stack::start(&[], &[]);
    let (mut v, _) = stack.bridge(&[], &[]);
    v.handshake();
    let r = v.tool(1, "admin_op", json!({}));
    assert!(r.get("result").is_some(), "{r}");
    let st = stack.as_stats();
    let log = st["authorizationRequestLog"].as_array().unwrap();
    assert_eq!(log.len(), 2, "one sign-in, one step-up: {st}");
    let first: Vec<&str> = log[0]["scope"].as_str().unwrap_or("").split(' ').collect();
    let second: Vec<&str> = log[1]["scope"].as_str().unwrap().split(' ').collect();
    assert!(second.contains(&"mcp:admin"), "{second:?}");
    for s in first.iter().filter(|s| !s.is_empty()) {
        assert!(second.contains(s), "the step-up dropped {s}: {second:?}");
    }
}

#[test]
fn a_server_that_keeps_refusing_gets_at_most_three_sign_ins() {
    let stack = Stack::start(&["--withhold-scope", "mcp:admin"], &[]);
    let (mut v, _) = stack.bridge(&[], &[]);
    v.handshake();
    let r = v.tool(1, "admin_op", json!({}));
    let e = valet_error(&r);
    assert!(e["message"].as_str().unwrap().contains("kept refusing"), "{r}");
    // The sign-in on the first 401, then three step-ups for the 403s, then the error.
    assert_eq!(stack.as_stats()["authorizationRequests"], 4);
    // Other requests still work with the token held.
    assert_eq!(text(&v.tool(2, "echo", json!({"text": "ok"}))), "ok");
}

#[test]
fn device_code_sign_in_shows_the_code_on_stderr() {
    let stack = Stack::start(&["--auto-approve"], &[]);
    let home = common::valet::temp_home();
    let out = run(
        &["login", &stack.mcp, "--device", "--token-store", "memory"],
        &[("MCP_VALET_HOME", home.path().to_str().unwrap()), ("BROWSER", "")],
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(err.contains("enter the code"), "{err}");
    assert!(err.contains(&format!("Signed in to {} as ada", stack.mcp)), "{err}");
    let st = stack.as_stats();
    assert!(grants(&st, "urn:ietf:params:oauth:grant-type:device_code") >= 1, "{st}");
    assert_eq!(st["authorizationRequests"], 0);
}

#[test]
fn client_credentials_need_no_user_and_no_browser() {
    let stack = Stack::start(&[], &[]);
    let (mut v, log) = stack.bridge(
        &["--client-id", "valet-service", "--client-credentials"],
        &[("MCP_VALET_CLIENT_SECRET", "valet-service-secret")],
    );
    v.handshake();
    assert_eq!(text(&v.tool(1, "echo", json!({"text": "unattended"}))), "unattended");
    let st = stack.as_stats();
    assert_eq!(grants(&st, "client_credentials"), 1, "{st}");
    assert_eq!(st["authorizationRequests"], 0);
    assert!(!log.exists(), "no browser was opened");
    let tok = st["tokenRequestLog"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["grant_type"] == "client_credentials")
        .unwrap();
    assert_eq!(tok["client_auth"], "client_secret_basic", "{tok}");
    assert!(!v.stderr().contains("valet-service-secret"));
}

#[test]
fn short_lived_tokens_are_refreshed_and_rotated_without_a_new_sign_in() {
    let stack = Stack::start(&["--access-ttl", "4"], &[]);
    let (mut v, _) = stack.bridge(&[], &[]);
    v.handshake();
    assert_eq!(text(&v.tool(1, "echo", json!({"text": "a"}))), "a");
    std::thread::sleep(Duration::from_secs(5));
    assert_eq!(text(&v.tool(2, "echo", json!({"text": "b"}))), "b");
    let st = stack.as_stats();
    assert_eq!(st["authorizationRequests"], 1, "{st}");
    assert!(grants(&st, "refresh_token") >= 1, "{st}");
    assert_eq!(st["refreshTokenReuse"], 0);
}

#[test]
fn a_token_the_server_rejects_is_refreshed_once_and_the_request_retried() {
    let stack = Stack::start(&[], &["--max-token-age", "2"]);
    let (mut v, _) = stack.bridge(&[], &[]);
    v.handshake();
    std::thread::sleep(Duration::from_millis(3100));
    assert_eq!(text(&v.tool(1, "echo", json!({"text": "again"}))), "again");
    let st = stack.as_stats();
    assert_eq!(st["authorizationRequests"], 1, "no new browser sign-in: {st}");
    assert!(grants(&st, "refresh_token") >= 1);
    assert!(stack.mcp_stats()["tooOld"].as_u64().unwrap() >= 1);
}

#[test]
fn an_explicit_authorization_header_turns_sign_in_off() {
    let stack = Stack::start(&[], &[]);
    let (mut v, log) = stack.bridge(&["-H", "Authorization: Bearer not-a-jwt"], &[]);
    let r = v.call(0, "initialize", init_params("2025-11-25"));
    let e = valet_error(&r);
    assert!(e["message"].as_str().unwrap().contains("Authorization header"), "{r}");
    assert_eq!(stack.as_stats()["authorizationRequests"], 0);
    assert!(!log.exists());
}

#[test]
fn with_no_display_the_error_says_so_and_suggests_device() {
    let stack = Stack::start(&[], &[]);
    let mut v = Valet::spawn_env(&[&stack.mcp], &[("DISPLAY", ""), ("WAYLAND_DISPLAY", "")]);
    let r = v.call(0, "initialize", init_params("2025-11-25"));
    let msg = valet_error(&r)["message"].as_str().unwrap().to_owned();
    assert!(msg.contains("no graphical display") || msg.contains("SSH"), "{msg}");
    assert!(msg.contains("--device"), "{msg}");
    // The next request fails at once with the same explanation instead of trying again.
    let start = Instant::now();
    let r = v.call(1, "tools/list", json!({}));
    assert!(valet_error(&r)["message"].as_str().unwrap().contains("--device"));
    assert!(start.elapsed() < Duration::from_secs(2));
}

#[test]
fn a_declined_consent_is_reported_and_not_retried_at_once() {
    let stack = Stack::start(&[], &[]);
    let (mut v, _) = stack.bridge(&["--authorize-param", "auto_approve=deny"], &[]);
    let r = v.call(0, "initialize", init_params("2025-11-25"));
    let msg = valet_error(&r)["message"].as_str().unwrap().to_owned();
    assert!(msg.contains("access_denied") && msg.contains("declined"), "{msg}");
    let r = v.call(1, "tools/list", json!({}));
    valet_error(&r);
    assert_eq!(stack.as_stats()["authorizationRequests"], 1, "no second browser tab");
}

#[test]
fn no_browser_prints_the_url_to_open() {
    let stack = Stack::start(&["--auto-approve"], &[]);
    let mut v = Valet::spawn(&[&stack.mcp, "--no-browser"]);
    v.send(&json!({"jsonrpc":"2.0","id":0,"method":"initialize","params": init_params("2025-11-25")}));
    // Play the user: take the URL from stderr and open it.
    let deadline = Instant::now() + Duration::from_secs(20);
    let url = loop {
        let err = v.stderr();
        if let Some(line) = err
            .lines()
            .find(|l| l.trim_start().starts_with(&format!("{}/auth?", stack.issuer)))
        {
            break line.trim().to_owned();
        }
        assert!(Instant::now() < deadline, "no URL on stderr:\n{err}");
        std::thread::sleep(Duration::from_millis(100));
    };
    let (base, path) = url.split_at(url.find("/auth?").unwrap());
    let r = common::peers::http_request(base, "GET", path, &[], None);
    assert_eq!(r.status, 302, "{r:?}");
    let back = r.header("location").unwrap().to_owned();
    let (cb_base, cb_path) = back.split_at(back[8..].find('/').unwrap() + 8);
    let r = common::peers::http_request(cb_base, "GET", cb_path, &[], None);
    assert_eq!(r.status, 200);
    assert!(r.body.contains("signed in"), "{}", r.body);
    let (resp, _) = v.response_to(&json!(0));
    assert!(resp.get("result").is_some(), "{resp}");
}
