//! The scripts a newcomer runs first: `.ci/run` (what it does without root), and the demo
//! (`tests/peers/demo.sh`, with its check `tests/peers/demo-check.mjs`), run for real against
//! the bundled peers.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use crate::common::peers::{ensure_installed, peers_dir};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn text(o: &[u8]) -> String {
    String::from_utf8_lossy(o).into_owned()
}

fn write_exe(path: &Path, body: &str) {
    std::fs::write(path, format!("#!/bin/sh\n{body}\n")).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
}

/// `.ci/run --check` as a user who is not root, has no sudo that works, on a Debian system where
/// the packages in `absent` are not installed (everything else is: `dpkg-query` answers from
/// this list, `id -u` says 1000, `sudo` refuses, and `apt-get` records that it was called).
fn ci_check_as_a_user(absent: &str, ci: bool) -> (Output, bool) {
    let stubs = tempfile::tempdir().unwrap();
    if absent.contains("python3-venv") {
        // A python3 without venv/ensurepip, as Debian's is until python3-venv is installed.
        write_exe(&stubs.path().join("python3"), "exit 1");
    }
    let calls = stubs.path().join("apt-get.called");
    write_exe(
        &stubs.path().join("id"),
        "if [ \"$1\" = -u ]; then echo 1000; else echo uid=1000; fi",
    );
    write_exe(
        &stubs.path().join("sudo"),
        "echo 'sudo: a password is required' >&2; exit 1",
    );
    write_exe(
        &stubs.path().join("apt-get"),
        &format!("echo \"$@\" >> '{}'; exit 1", calls.display()),
    );
    write_exe(
        &stubs.path().join("dpkg-query"),
        "for p in $MISSING_PKGS; do [ \"$p\" = \"$3\" ] && exit 1; done; printf 'install ok installed'",
    );
    let path = format!("{}:{}", stubs.path().display(), std::env::var("PATH").unwrap());
    let mut c = Command::new("bash");
    c.arg(repo().join(".ci/run"))
        .arg("--check")
        .env("PATH", path)
        .env("MISSING_PKGS", absent)
        .env_remove("CI")
        .stdin(Stdio::null());
    if ci {
        c.env("CI", "true");
    }
    let out = c.output().unwrap();
    (out, calls.exists())
}

#[cfg(target_os = "linux")]
#[test]
fn ci_run_without_root_names_what_is_missing_installs_nothing_and_runs_the_rest() {
    let (out, apt_called) = ci_check_as_a_user("chromium libsecret-tools", false);
    let err = text(&out.stderr);
    assert!(!apt_called, "apt-get was run without root:\n{err}");
    assert!(
        err.contains("missing Debian packages: chromium libsecret-tools (not root"),
        "{err}"
    );
    assert!(
        err.contains("sudo apt-get install -y --no-install-recommends chromium libsecret-tools"),
        "the command that installs them:\n{err}"
    );
    assert!(
        err.contains("running what can run: the tests that need chromium libsecret-tools print SKIPPED"),
        "{err}"
    );
    assert!(
        !err.contains("MCP_VALET_REQUIRE_ALL=1"),
        "not strict with packages missing:\n{err}"
    );
    assert_eq!(out.status.code(), Some(1), "--check says something is missing:\n{err}");

    // In CI a missing package is an error, never a quiet skip.
    let (out, _) = ci_check_as_a_user("chromium", true);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("CI is set: every package is required, and chromium is missing"),
        "{err}"
    );

    // Everything there: strict, whoever runs it.
    let (out, apt_called) = ci_check_as_a_user("", true);
    let err = text(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(!apt_called);
    assert!(err.contains("MCP_VALET_REQUIRE_ALL=1"), "{err}");
}

#[cfg(target_os = "linux")]
#[test]
fn ci_run_without_root_stops_when_the_reference_peers_cannot_run() {
    // Without python3-venv (or node, npm) nearly every test would fail: stop with the reason
    // instead of running them.
    let (out, apt_called) = ci_check_as_a_user("python3-venv", false);
    let err = text(&out.stderr);
    assert!(!apt_called);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("sudo apt-get install -y --no-install-recommends python3-venv"),
        "{err}"
    );
    assert!(err.contains("python3-venv is missing: the reference peers"), "{err}");
    assert!(!err.contains("running what can run"), "{err}");
}

/// Runs the demo's check on these lines sent and these lines received.
fn demo_check(sent: &[&str], received: &[&str]) -> (bool, String) {
    ensure_installed();
    let d = tempfile::tempdir().unwrap();
    let (i, o) = (d.path().join("in"), d.path().join("out"));
    std::fs::write(&i, sent.join("\n") + "\n").unwrap();
    std::fs::write(&o, received.join("\n") + "\n").unwrap();
    let out = Command::new("node")
        .arg(peers_dir().join("demo-check.mjs"))
        .args([&i, &o])
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    (out.status.success(), text(&out.stdout))
}

const SENT: &[&str] = &[
    r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{}}"#,
    r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#,
    r#"{"jsonrpc":"2.0","id":2,"method":"tools/list"}"#,
    "this line is not JSON",
];
const ANSWER_1: &str = r#"{"jsonrpc":"2.0","id":1,"result":{}}"#;
const ANSWER_2: &str = r#"{"result":{"tools":[]},"jsonrpc":"2.0","id":2}"#;
const PARSE_ERROR: &str = r#"{"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"Parse error"}}"#;

#[test]
fn the_demo_check_passes_only_when_every_request_got_exactly_one_answer() {
    let progress = r#"{"jsonrpc":"2.0","method":"notifications/progress","params":{"progressToken":"t","progress":1}}"#;
    let (ok, out) = demo_check(SENT, &[ANSWER_2, progress, PARSE_ERROR, ANSWER_1]);
    assert!(ok, "{out}");
    assert!(out.contains("Check passed: 2 request(s) (ids 1, 2)"), "{out}");
    // Each answer is shown with its id, however long it is.
    assert!(out.contains("← [id 2, result]"), "{out}");
    let long = format!(
        r#"{{"jsonrpc":"2.0","result":{{"text":"{}"}},"id":2}}"#,
        "x".repeat(5000)
    );
    let (ok, out) = demo_check(SENT, &[ANSWER_1, &long, PARSE_ERROR]);
    assert!(ok, "{out}");
    assert!(out.contains("← [id 2, result]") && out.contains("bytes)"), "{out}");

    for (received, problem) in [
        (vec![ANSWER_1, PARSE_ERROR], "request 2 (tools/list) got 0 answers"),
        (
            vec![ANSWER_1, ANSWER_2, ANSWER_2, PARSE_ERROR],
            "request 2 (tools/list) got 2 answers",
        ),
        (
            vec![ANSWER_1, ANSWER_2],
            "1 line(s) that are not JSON got 0 parse error(s)",
        ),
        (
            vec![ANSWER_1, ANSWER_2, PARSE_ERROR, "INFO signed in"],
            "stdout carries a line that is not JSON: INFO signed in",
        ),
        (
            vec![
                ANSWER_1,
                ANSWER_2,
                PARSE_ERROR,
                r#"{"jsonrpc":"2.0","id":7,"result":{}}"#,
            ],
            "an answer to id 7, which the client never sent",
        ),
        (
            vec![
                ANSWER_1,
                ANSWER_2,
                r#"{"jsonrpc":"2.0","id":null,"error":{"code":-32603,"message":"x"}}"#,
            ],
            "an answer with id null that is not a parse error",
        ),
    ] {
        let (ok, out) = demo_check(SENT, &received);
        assert!(!ok, "passed with {received:?}:\n{out}");
        assert!(out.contains(&format!("Check FAILED: {problem}")), "{problem}:\n{out}");
        assert!(!out.contains("Check passed"), "{out}");
    }
}

#[test]
fn the_demo_relays_a_session_signs_in_and_leaves_nothing_behind() {
    ensure_installed();
    let tmp = tempfile::tempdir().unwrap();
    let home = tempfile::tempdir().unwrap();
    let out = Command::new("bash")
        .arg(peers_dir().join("demo.sh"))
        .env("MCP_VALET", env!("CARGO_BIN_EXE_mcp-valet"))
        .env("TMPDIR", tmp.path())
        // The demo keeps its sign-in in its own temporary MCP_VALET_HOME: the user's home is
        // not touched (npm's cache stays where it is).
        .env(
            "npm_config_cache",
            std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".npm")).unwrap(),
        )
        .env("HOME", home.path())
        .env_remove("MCP_VALET_HOME")
        .env_remove("MCP_VALET_TOKEN_STORE")
        .env_remove("BROWSER")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let (so, se) = (text(&out.stdout), text(&out.stderr));
    assert!(out.status.success(), "{so}\n{se}");
    assert_eq!(so.matches("Check passed").count(), 2, "{so}");
    assert!(!so.contains("Check FAILED"), "{so}");
    // Part 1: the answers with their ids, mcp-valet's stderr under its own heading.
    for id in 1..=4 {
        assert!(so.contains(&format!("← [id {id}, ")), "answer {id} not shown:\n{so}");
    }
    assert!(so.contains("← [id null, error -32700]"), "{so}");
    assert!(so.contains("What mcp-valet logs on stderr"), "{so}");
    // Part 2: a sign-in against the bundled authorization server, and whoami says who.
    assert!(so.contains("Opened a browser to sign in"), "{so}");
    assert!(so.contains(r#"\"sub\":\"ada\""#), "whoami answers for ada:\n{so}");
    assert!(so.contains("account:       ada"), "status shows the login:\n{so}");
    let left: Vec<_> = std::fs::read_dir(tmp.path())
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect();
    assert!(left.is_empty(), "the demo left {left:?} in TMPDIR");
    let left: Vec<_> = std::fs::read_dir(home.path())
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect();
    assert!(left.is_empty(), "the demo left {left:?} in HOME");
}
