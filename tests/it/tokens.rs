//! Tokens across processes and over time, against the real authorization server (refresh
//! tokens rotate, reuse is detected): one sign-in for several cold instances, one refresh when
//! several refresh together, a store that survives `kill -9`, the `status`/`token`/`logout`
//! commands, and no token in any file or log when the OS keyring holds them.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use crate::common;
use crate::common::auth::{Stack, fake_browser, grants};
use crate::common::keyring::in_keyring_session;
use crate::common::valet::{Valet, init_params, run, run_with_input, text};
use serde_json::{Value, json};

/// mcp-valet with a shared home, the file store and the scripted user.
fn env(home: &Path) -> Vec<(String, String)> {
    vec![
        ("MCP_VALET_HOME".into(), home.to_str().unwrap().into()),
        ("MCP_VALET_TOKEN_STORE".into(), "file".into()),
        ("BROWSER".into(), fake_browser()),
    ]
}

#[test]
fn three_cold_instances_produce_one_sign_in() {
    let stack = Stack::start(&[], &[]);
    let home = tempfile::tempdir().unwrap();
    let env = env(home.path());
    let mut bridges: Vec<Valet> = (0..3).map(|_| Valet::spawn_env(&[&stack.mcp], &env)).collect();
    for v in &mut bridges {
        v.send(&json!({"jsonrpc":"2.0","id":0,"method":"initialize","params": init_params("2025-11-25")}));
    }
    for v in &mut bridges {
        let (r, _) = v.response_to(&json!(0));
        assert!(r.get("result").is_some(), "{r}");
        assert_eq!(text(&v.tool(1, "echo", json!({"text": "one login"}))), "one login");
    }
    let st = stack.as_stats();
    assert_eq!(st["authorizationRequests"], 1, "{st}");
    assert_eq!(st["registrations"], 1);
    assert_eq!(grants(&st, "authorization_code"), 1);
}

#[test]
fn instances_refreshing_together_refresh_once_and_nobody_signs_in_again() {
    let stack = Stack::start(&["--access-ttl", "3"], &[]);
    let home = tempfile::tempdir().unwrap();
    let env = env(home.path());
    let mut first = Valet::spawn_env(&[&stack.mcp], &env);
    first.handshake();
    let mut bridges = vec![first];
    for _ in 0..2 {
        let mut v = Valet::spawn_env(&[&stack.mcp], &env);
        v.handshake();
        bridges.push(v);
    }
    assert_eq!(stack.as_stats()["authorizationRequests"], 1);
    std::thread::sleep(Duration::from_millis(3500));
    for (i, v) in bridges.iter_mut().enumerate() {
        v.send(&json!({"jsonrpc":"2.0","id":10 + i,"method":"tools/call","params":{"name":"echo","arguments":{"text":"after"}}}));
    }
    for (i, v) in bridges.iter_mut().enumerate() {
        let (r, _) = v.response_to(&json!(10 + i));
        assert_eq!(text(&r), "after");
    }
    let st = stack.as_stats();
    assert_eq!(st["authorizationRequests"], 1, "no one signed in again: {st}");
    assert_eq!(grants(&st, "refresh_token"), 1, "one refresh for three processes: {st}");
    assert_eq!(st["refreshTokenReuse"], 0);
}

#[test]
fn kill_9_during_refreshes_leaves_a_working_store() {
    let stack = Stack::start(&["--access-ttl", "2"], &[]);
    let home = tempfile::tempdir().unwrap();
    let env = env(home.path());
    for (round, kill_after) in [1700u64, 2300, 3900, 5400].into_iter().enumerate() {
        let mut v = Valet::spawn_env(&[&stack.mcp], &env);
        v.handshake();
        // Keep requests flowing so that refreshes happen, then kill -9 at some point.
        let start = Instant::now();
        let mut id = 1;
        while start.elapsed() < Duration::from_millis(kill_after) {
            v.send(&json!({"jsonrpc":"2.0","id":id,"method":"tools/call","params":{"name":"echo","arguments":{"text":"x"}}}));
            id += 1;
            std::thread::sleep(Duration::from_millis(60));
        }
        v.signal("KILL");
        drop(v);

        // The store is whole: status reads it, and says usable (0) or login required (4).
        let state: Value = serde_json::from_slice(&std::fs::read(home.path().join("state.json")).unwrap()).unwrap();
        assert!(state["entries"].is_array(), "round {round}: {state}");
        let st = run(&["status", &stack.mcp], &env);
        assert!(matches!(st.status.code(), Some(0 | 4)), "round {round}: {st:?}");
        // And a new instance works at once (no lock left behind), signing in again only if the
        // refresh token died with the killed process.
        let t = Instant::now();
        let mut v = Valet::spawn_env(&[&stack.mcp], &env);
        v.handshake();
        assert_eq!(
            text(&v.tool(1, "echo", json!({"text": "alive"}))),
            "alive",
            "round {round}"
        );
        assert!(
            t.elapsed() < Duration::from_secs(20),
            "round {round}: took {:?}",
            t.elapsed()
        );
    }
}

#[test]
fn status_token_and_logout() {
    let stack = Stack::start(&[], &[]);
    let home = tempfile::tempdir().unwrap();
    let env = env(home.path());
    let out = run(&["login", &stack.mcp], &env);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));

    let out = run(&["status", &stack.mcp], &env);
    let s = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{s}");
    assert!(s.contains("account:       ada"), "{s}");
    assert!(
        s.contains("refresh token: yes") && s.contains("stored in:     file"),
        "{s}"
    );
    let out = run(&["status", "--json"], &env);
    let rows: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(rows[0]["usable"], true);
    assert_eq!(rows[0]["issuer"], stack.issuer.as_str());

    let out = run(&["token", &stack.mcp], &env);
    assert!(out.status.success());
    let token = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    assert_eq!(token.split('.').count(), 3, "a JWT access token");
    // It works for the server it was issued for.
    let (base, path) = stack.mcp.split_at(stack.mcp.rfind('/').unwrap());
    let auth = format!("Bearer {token}");
    let init = json!({"jsonrpc":"2.0","id":1,"method":"initialize","params": init_params("2025-11-25")}).to_string();
    let r = common::peers::http_request(
        base,
        "POST",
        path,
        &[
            ("Authorization", &auth),
            ("Content-Type", "application/json"),
            ("Accept", "application/json, text/event-stream"),
        ],
        Some(&init),
    );
    assert_eq!(r.status, 200, "{r:?}");

    let out = run(&["logout", &stack.mcp], &env);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success() && err.contains("Signed out of"), "{err}");
    assert!(
        stack.as_stats()["revocations"].as_u64().unwrap() >= 1,
        "revoked at the server"
    );
    assert_eq!(run(&["status", &stack.mcp], &env).status.code(), Some(4));
    let out = run(&["token", &stack.mcp], &env);
    assert_eq!(out.status.code(), Some(4));
    assert!(out.stdout.is_empty());
    assert!(String::from_utf8_lossy(&out.stderr).contains("mcp-valet login"));
}

#[test]
fn a_kept_token_replaces_the_sign_in_and_revokes_it() {
    let stack = Stack::start(&[], &[]);
    let home = tempfile::tempdir().unwrap();
    let env = env(home.path());
    assert!(run(&["login", &stack.mcp], &env).status.success());
    assert_eq!(stack.as_stats()["revocations"].as_u64().unwrap_or(0), 0);

    // Not a JWT the server would accept: kept unchecked.
    let out = run_with_input(
        &["login", &stack.mcp, "--with-token", "--no-check"],
        &env,
        b"an-api-key\n",
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && err.contains("replaces the earlier sign-in"),
        "{err}"
    );
    assert!(
        stack.as_stats()["revocations"].as_u64().unwrap() >= 1,
        "the replaced sign-in was revoked at the server"
    );

    let s = String::from_utf8(run(&["status", &stack.mcp], &env).stdout).unwrap();
    assert!(
        s.contains("kept with `login --with-token`") && !s.contains("issuer:"),
        "{s}"
    );
    let rows: Value = serde_json::from_slice(&run(&["status", "--json"], &env).stdout).unwrap();
    assert_eq!(rows.as_array().unwrap().len(), 1, "{rows}");
    let out = run(&["token", &stack.mcp], &env);
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "an-api-key");
}

#[test]
fn a_dead_refresh_token_means_login_required_not_a_crash() {
    let stack = Stack::start(&["--access-ttl", "2", "--refresh-ttl", "3"], &[]);
    let home = tempfile::tempdir().unwrap();
    let env = env(home.path());
    assert!(run(&["login", &stack.mcp], &env).status.success());
    std::thread::sleep(Duration::from_millis(4000));
    let out = run(&["token", &stack.mcp], &env);
    assert_eq!(out.status.code(), Some(4), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stderr).contains("mcp-valet login"));
    // The bridge signs in again by itself.
    let mut v = Valet::spawn_env(&[&stack.mcp], &env);
    v.handshake();
    assert_eq!(text(&v.tool(1, "echo", json!({"text": "back"}))), "back");
    assert_eq!(stack.as_stats()["authorizationRequests"], 2);
}

#[test]
fn no_token_in_any_file_or_log_when_the_keyring_holds_them() {
    const NAME: &str = "tokens::no_token_in_any_file_or_log_when_the_keyring_holds_them";
    if !in_keyring_session(NAME) {
        return;
    }
    let stack = Stack::start(&["--access-ttl", "3"], &[]);
    let home = tempfile::tempdir().unwrap();
    let logs = tempfile::tempdir().unwrap();
    let log_file = logs.path().join("valet.log");
    let env = vec![
        ("MCP_VALET_HOME".to_owned(), home.path().to_str().unwrap().to_owned()),
        ("BROWSER".to_owned(), fake_browser()),
        (
            "FAKE_BROWSER_LOG".to_owned(),
            logs.path().join("browser.log").to_str().unwrap().to_owned(),
        ),
        // Everything at trace level, the HTTP, TLS and D-Bus crates included.
        (
            "MCP_VALET_LOG".to_owned(),
            "trace,hyper=trace,hyper_util=trace,reqwest=trace,zbus=trace,keyring=trace".to_owned(),
        ),
        // The default: the OS keyring.
        ("MCP_VALET_TOKEN_STORE".to_owned(), String::new()),
    ];
    let mut with_file = Valet::spawn_env(&[&stack.mcp, "--log-file", log_file.to_str().unwrap()], &env);
    with_file.handshake();
    assert!(text(&with_file.tool(1, "whoami", json!({}))).contains("ada"));
    std::thread::sleep(Duration::from_millis(3200)); // a refresh too
    assert_eq!(text(&with_file.tool(2, "echo", json!({"text": "x"}))), "x");
    let (st, _) = with_file.wait_within(Duration::from_secs(10));
    assert!(st.success());
    let mut to_stderr = Valet::spawn_env(&[&stack.mcp], &env);
    to_stderr.handshake();
    let (st, _) = to_stderr.wait_within(Duration::from_secs(10));
    assert!(st.success());
    let status = run(&["status"], &env);

    // The tokens, as the keyring holds them.
    let state: Value = serde_json::from_slice(&std::fs::read(home.path().join("state.json")).unwrap()).unwrap();
    let entry = &state["entries"][0];
    assert_eq!(entry["secrets"]["backend"], "keyring", "{state}");
    let account = entry["secrets"]["account"].as_str().unwrap();
    let out = Command::new("secret-tool")
        .args(["lookup", "service", "mcp-valet", "username", account])
        .output()
        .unwrap();
    let payload: Value =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|_| panic!("{}", String::from_utf8_lossy(&out.stdout)));
    let tokens: Vec<String> = ["access_token", "refresh_token", "id_token"]
        .iter()
        .filter_map(|k| payload[k].as_str().map(str::to_owned))
        .collect();
    assert!(
        tokens.len() >= 2,
        "{:?}",
        payload.as_object().map(|o| o.keys().collect::<Vec<_>>())
    );

    // Nowhere in what mcp-valet wrote: its files, its log file, its stderr, status output.
    let mut places: Vec<(String, Vec<u8>)> = Vec::new();
    for entry in walk(home.path()) {
        places.push((entry.display().to_string(), std::fs::read(&entry).unwrap()));
    }
    places.push(("log file".into(), std::fs::read(&log_file).unwrap()));
    places.push(("stderr".into(), to_stderr.stderr().into_bytes()));
    places.push(("status".into(), [status.stdout, status.stderr].concat()));
    assert!(
        std::fs::read_to_string(&log_file).unwrap().contains("TRACE"),
        "trace logging was on"
    );
    for (place, bytes) in &places {
        let hay = String::from_utf8_lossy(bytes);
        for t in &tokens {
            assert!(!hay.contains(t.as_str()), "a token appears in {place}");
            // Nor its signature-less head (the claims part alone would identify it).
            let claims = t.split('.').nth(1).unwrap_or(t);
            assert!(!hay.contains(claims), "a token's claims appear in {place}");
        }
    }
    common::keyring::passed(NAME);
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

/// The line of /proc/keys for the live key described `desc` (among the keys the caller may
/// view; an invalidated, revoked or dead key stays listed until the kernel collects it).
#[cfg(target_os = "linux")]
fn proc_key(desc: &str) -> Option<String> {
    std::fs::read_to_string("/proc/keys")
        .unwrap()
        .lines()
        .find(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            f.get(8) == Some(&format!("{desc}:").as_str()) && !f[1].contains(['i', 'R', 'D'])
        })
        .map(str::to_owned)
}

/// A real sign-in whose tokens go to the OS keyring (the default store), access tokens living
/// `ttl` seconds: the server, the home and the environment that reach that login.
#[cfg(target_os = "linux")]
fn signed_in_to_the_keyring(ttl: &str) -> (Stack, tempfile::TempDir, Vec<(String, String)>) {
    let stack = Stack::start(&["--access-ttl", ttl], &[]);
    let home = tempfile::tempdir().unwrap();
    let env = vec![
        ("MCP_VALET_HOME".to_owned(), home.path().to_str().unwrap().to_owned()),
        ("BROWSER".to_owned(), fake_browser()),
        ("MCP_VALET_TOKEN_STORE".to_owned(), String::new()), // the default: the OS keyring
        // On, as by default (the keyring session turns it off); each test logs out at the end,
        // which removes the copy.
        ("MCP_VALET_KERNEL_CACHE".to_owned(), "1".to_owned()),
    ];
    let out = run(&["login", &stack.mcp], &env);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    (stack, home, env)
}

#[cfg(target_os = "linux")]
#[test]
fn a_keyring_login_starts_from_the_kernel_copy_of_its_access_token() {
    const NAME: &str = "tokens::a_keyring_login_starts_from_the_kernel_copy_of_its_access_token";
    if !in_keyring_session(NAME) {
        return;
    }
    let (stack, home, env) = signed_in_to_the_keyring("40");

    // The keyring holds every token; the kernel a copy of the access token alone, for no
    // longer than the token lives, readable by this user only.
    let state: Value = serde_json::from_slice(&std::fs::read(home.path().join("state.json")).unwrap()).unwrap();
    let account = state["entries"][0]["secrets"]["account"].as_str().unwrap().to_owned();
    assert_eq!(state["entries"][0]["secrets"]["backend"], "keyring", "{state}");
    let out = Command::new("secret-tool")
        .args(["lookup", "service", "mcp-valet", "username", &account])
        .output()
        .unwrap();
    let payload: Value = serde_json::from_slice(&out.stdout).unwrap();
    let access = payload["access_token"].as_str().unwrap().to_owned();
    assert!(payload["refresh_token"].is_string());
    let desc = format!("mcp-valet:{account}");
    let line = proc_key(&desc).unwrap_or_else(|| panic!("no kernel key {desc}"));
    let fields: Vec<&str> = line.split_whitespace().collect();
    let ttl: u64 = fields[3]
        .strip_suffix('s')
        .and_then(|s| s.parse().ok())
        .unwrap_or(u64::MAX);
    assert!(ttl <= 40, "the copy outlives the token: {line}");
    assert!(fields[4].ends_with("0000"), "group and others get nothing: {line}");
    assert_eq!(fields[7], "user", "{line}");
    // Its size (the last column) is the access token's: nothing else is copied.
    assert_eq!(fields[9].parse::<usize>().ok(), Some(access.len()), "{line}");

    // With no D-Bus session at all, a new process still gets the token: no keyring round trip.
    let mut no_bus = env.clone();
    no_bus.push((
        "DBUS_SESSION_BUS_ADDRESS".to_owned(),
        format!("unix:path={}/no-bus", home.path().display()),
    ));
    let out = run(&["token", &stack.mcp], &no_bus);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), access);
    let mut v = Valet::spawn_env(&[&stack.mcp], &no_bus);
    v.handshake();
    assert!(text(&v.tool(1, "whoami", json!({}))).contains("ada"));
    let (st, _) = v.wait_within(Duration::from_secs(10));
    assert!(st.success());
    // Turned off, the keyring is the only source, and it is not reachable.
    let mut off = no_bus.clone();
    off.push(("MCP_VALET_KERNEL_CACHE".to_owned(), "0".to_owned()));
    let out = run(&["token", &stack.mcp], &off);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("keyring"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(stack.as_stats()["authorizationRequests"], 1, "nobody signed in again");

    // Logging out removes the copy with the item.
    assert!(run(&["logout", &stack.mcp], &env).status.success());
    assert_eq!(proc_key(&desc), None, "the copy went with the login");
    let out = run(&["token", &stack.mcp], &no_bus);
    assert_eq!(out.status.code(), Some(4));
    common::keyring::passed(NAME);
}

#[cfg(target_os = "linux")]
#[test]
fn a_token_from_the_kernel_copy_is_refreshed_with_the_keyring_refresh_token() {
    const NAME: &str = "tokens::a_token_from_the_kernel_copy_is_refreshed_with_the_keyring_refresh_token";
    if !in_keyring_session(NAME) {
        return;
    }
    let (stack, _home, mut env) = signed_in_to_the_keyring("3");

    // The bridge starts from the copy (the access token alone), and when that token runs out
    // it refreshes with the refresh token it reads from the keyring then: no new sign-in.
    env.push(("MCP_VALET_LOG".to_owned(), "mcp_valet=debug".to_owned()));
    let mut v = Valet::spawn_env(&[&stack.mcp], &env);
    v.handshake();
    assert!(text(&v.tool(1, "whoami", json!({}))).contains("ada"));
    std::thread::sleep(Duration::from_millis(3300));
    assert_eq!(text(&v.tool(2, "echo", json!({"text": "later"}))), "later");
    let (st, _) = v.wait_within(Duration::from_secs(10));
    assert!(st.success());
    let log = v.stderr();
    assert!(
        log.contains("the access token came from the kernel keyring's copy"),
        "{log}"
    );
    assert!(log.contains("access token refreshed"), "{log}");
    let stats = stack.as_stats();
    assert_eq!(grants(&stats, "refresh_token"), 1, "{stats}");
    assert_eq!(stats["authorizationRequests"], 1, "nobody signed in again: {stats}");
    // Leave nothing in the kernel's keyring (the login's copy goes with it).
    assert!(run(&["logout", &stack.mcp], &env).status.success());
    common::keyring::passed(NAME);
}
