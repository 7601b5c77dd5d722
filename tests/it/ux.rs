//! The rough edges a new user hits from the shell (issue 13): each test runs the real binary
//! as a user or a script would, on pipes or on a pseudo-terminal.

use std::time::Duration;

use crate::common::auth::{Stack, fake_browser};
use crate::common::peers::{Peer, PeerKind};
use crate::common::pty::Pty;
use crate::common::valet::{NO_ENV, Valet, run, run_with_input, temp_home};

/// A private home with the file store, as `(name, value)` pairs for `run`.
fn file_env(home: &tempfile::TempDir) -> Vec<(String, String)> {
    vec![
        ("MCP_VALET_HOME".into(), home.path().to_str().unwrap().into()),
        ("MCP_VALET_TOKEN_STORE".into(), "file".into()),
    ]
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn status_with_nothing_to_use_exits_4_and_says_what_it_filtered() {
    let home = temp_home();
    let env = file_env(&home);
    // No logins at all: 4, so that `status || login` signs in.
    let out = run(&["status"], &env);
    assert_eq!(out.status.code(), Some(4), "{}", text(&out.stderr));
    let s = text(&out.stdout);
    assert!(s.contains("Not signed in to any server"), "{s}");
    // The store was chosen by the environment, and says so.
    assert!(s.contains("chosen by MCP_VALET_TOKEN_STORE"), "{s}");
    let out = run(&["status", "--token-store", "file"], &env);
    assert!(text(&out.stdout).contains("chosen by --token-store"));

    // One login; a profile that has none says so, and not "not signed in to any server".
    let key = "api-key-status-0123456789";
    let peer = Peer::start_with(PeerKind::StatefulJson, &["--require-bearer", key]);
    let out = run_with_input(&["login", &peer.url, "--with-token"], &env, key.as_bytes());
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = run(&["status"], &env);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    let out = run(&["status", "--profile", "nope"], &env);
    assert_eq!(out.status.code(), Some(4));
    let s = text(&out.stdout);
    assert!(
        s.contains("No login with profile nope; 1 other login is stored") && !s.contains("any server"),
        "{s}"
    );
    let out = run(&["status", &peer.url, "--profile", "nope"], &env);
    assert_eq!(out.status.code(), Some(4));
    assert!(text(&out.stdout).contains("--profile nope`"), "{}", text(&out.stdout));
}

/// `mcp-valet <args>` with its stdout a pipe whose reader has gone, as in `status | head -0`.
fn run_into_closed_pipe(args: &[&str], env: &[(String, String)]) -> std::process::Output {
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let mut cmd = std::process::Command::new(crate::common::valet::bin());
    cmd.args(args).stdin(std::process::Stdio::null()).stdout(writer);
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

#[test]
fn a_closed_stdout_is_not_an_error() {
    let home = temp_home();
    let env = file_env(&home);
    for args in [&["completions", "bash"][..], &["status", "--json"], &["--help"]] {
        let out = run_into_closed_pipe(args, &env);
        let err = text(&out.stderr);
        assert!(
            !err.contains("Broken pipe") && !err.contains("panicked"),
            "{args:?}: {err}"
        );
        assert!(
            matches!(out.status.code(), Some(0 | 4)),
            "{args:?}: {:?} {err}",
            out.status
        );
    }
    // With a login stored, `status` exits 0 although nobody read its table.
    let key = "api-key-pipe-0123456789";
    let peer = Peer::start_with(PeerKind::StatefulJson, &["--require-bearer", key]);
    assert!(
        run_with_input(&["login", &peer.url, "--with-token"], &env, key.as_bytes())
            .status
            .success()
    );
    let out = run_into_closed_pipe(&["status"], &env);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(out.stderr.is_empty(), "{}", text(&out.stderr));
}

fn on_pty(args: &[&str], env: &[(String, String)]) -> Pty {
    let mut cmd = std::process::Command::new(crate::common::valet::bin());
    cmd.args(args).env_remove("MCP_VALET_LOG").env_remove("NO_COLOR");
    for (k, v) in env {
        cmd.env(k, v);
    }
    Pty::spawn(cmd)
}

#[test]
fn the_bridge_on_a_terminal_says_what_it_is_for_and_ctrl_c_exits_130() {
    let home = temp_home();
    let env = file_env(&home);
    let url = "https://127.0.0.1:9/mcp";
    let mut t = on_pty(&[url], &env);
    let s = t.expect("Ctrl-C ends it", Duration::from_secs(20));
    assert!(s.contains(&format!("mcp-valet login {url}")), "{s}");
    assert!(s.contains(&format!("mcp-valet tools {url}")), "{s}");
    assert!(s.contains("relays JSON-RPC from an MCP client"), "{s}");
    t.type_in(b"\x03");
    let st = t.wait(Duration::from_secs(20));
    assert_eq!(st.code(), Some(130), "{st:?}\n{}", t.screen());
    assert!(!t.screen().contains("interrupted"), "no error line: {}", t.screen());

    // The end of input (Ctrl-D) is a normal end: 0.
    let mut t = on_pty(&[url], &env);
    t.expect("Ctrl-C ends it", Duration::from_secs(20));
    t.type_in(b"\x04");
    assert_eq!(t.wait(Duration::from_secs(20)).code(), Some(0), "{}", t.screen());

    // On a pipe, as MCP clients start it, it says nothing of the kind.
    let out = run(&[url], &env);
    assert!(!text(&out.stderr).contains("Ctrl-C"), "{}", text(&out.stderr));
    assert!(out.status.success());
}

#[test]
fn bare_mcp_valet_shows_the_help_and_usage_lines_show_only_what_was_typed() {
    let out = run(&[], &[("MCP_VALET_CLIENT_SECRET", "s3cret")]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    for sub in ["login", "logout", "status", "token", "completions"] {
        assert!(err.contains(&format!("  {sub} ")), "{sub} missing from:\n{err}");
    }
    // A secret in the environment neither shows in usage lines nor demands --client-id.
    let out = run(&["login"], &[("MCP_VALET_CLIENT_SECRET", "s3cret")]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2));
    assert!(err.contains("Usage: mcp-valet login <URL>"), "{err}");
    assert!(!err.contains("client-secret") && !err.contains("client-id"), "{err}");
    let out = run(&["token", "--client-secret", "x", "https://127.0.0.1:9/mcp"], NO_ENV);
    assert!(
        text(&out.stderr).contains("give its --client-id too"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn login_shows_the_url_beside_the_spinner_and_names_the_server() {
    let stack = Stack::start(&[], &[]);
    let home = temp_home();
    let mut env = file_env(&home);
    env.push(("BROWSER".into(), fake_browser()));
    // The scripted user takes a moment, so that the wait shows.
    env.push(("FAKE_BROWSER_DELAY_MS".into(), "1500".into()));
    let mut t = on_pty(&["login", &stack.mcp], &env);
    let s = t.expect("Ctrl-C cancels", Duration::from_secs(30));
    assert!(
        s.contains(&format!(
            "Opened a browser to sign in to {}. If the browser did not open, visit:",
            stack.mcp
        )),
        "{s}"
    );
    assert!(s.contains(&format!("{}/", stack.issuer)), "the authorization URL: {s}");
    assert!(
        s.contains("Waiting for you to sign in in the browser (up to 5m, --auth-timeout"),
        "{s}"
    );
    let s = t.expect(&format!("Signed in to {} as ada.", stack.mcp), Duration::from_secs(30));
    assert_eq!(t.wait(Duration::from_secs(10)).code(), Some(0), "{s}");

    // On pipes (a script), the same lines, and the wait said once.
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let out = run(&["login", &stack.mcp], &env);
    let err = text(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(
        err.contains("If the browser did not open, visit:") && err.contains("Ctrl-C cancels"),
        "{err}"
    );
    assert!(err.contains(&format!("Signed in to {} as ada.", stack.mcp)), "{err}");
}

#[test]
fn logout_says_once_what_happened_to_the_tokens() {
    let home = temp_home();
    let mut env = file_env(&home);
    env.push(("BROWSER".into(), fake_browser()));
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let stack = Stack::start(&[], &[]);
    assert!(run(&["login", &stack.mcp], &env).status.success());
    let out = run(&["logout", &stack.mcp], &env);
    let err = text(&out.stderr);
    assert!(out.status.success(), "{err}");
    // oidc-provider revokes refresh tokens but not its JWT access tokens
    // (`unsupported_token_type`): said as it happened, in one line.
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("; the server revoked the refresh token, but revoking the access token failed (")
            && err.contains("unsupported_token_type")
            && err.contains("so it expires on its own in "),
        "{err}"
    );
    assert!(!err.contains("WARN") && !err.contains("revoked its tokens"), "{err}");

    // The server is gone: one line that says the revocation failed, no WARN before it.
    assert!(run(&["login", &stack.mcp], &env).status.success());
    let mcp = stack.mcp.clone();
    drop(stack);
    let out = run(&["logout", &mcp], &env);
    let err = text(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("revoking at the server failed (") && err.contains("so the tokens expire on their own"),
        "{err}"
    );
    assert!(!err.contains("WARN") && !err.contains("revoked its tokens"), "{err}");

    // A kept API key does not expire on its own: it was only forgotten here.
    let key = "api-key-logout-0123456789";
    let peer = Peer::start_with(PeerKind::StatefulJson, &["--require-bearer", key]);
    assert!(
        run_with_input(&["login", &peer.url, "--with-token"], &env, key.as_bytes())
            .status
            .success()
    );
    let err = text(&run(&["logout", &peer.url], &env).stderr);
    assert!(
        err.contains("only forgotten here: it stays valid at the server until revoked there"),
        "{err}"
    );
    assert!(!err.contains("expire"), "{err}");
}

#[test]
fn a_device_code_wait_lasts_as_long_as_the_code_unless_auth_timeout_says_otherwise() {
    let home = temp_home();
    let env = file_env(&home);
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    // Nobody enters the code; it is valid for 3 seconds.
    let stack = Stack::start(&["--device-ttl", "3"], &[]);
    let out = run(&["login", &stack.mcp, "--device"], &env);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("Waiting for you to enter the code (it expires in 3s; Ctrl-C cancels)"),
        "{err}"
    );
    assert!(err.contains("the device code expired before it was entered"), "{err}");
    assert!(!err.contains("--auth-timeout"), "{err}");
    drop(stack);

    // A code valid for 10 minutes, and --auth-timeout 2s: the wait ends at 2s and says why.
    let stack = Stack::start(&[], &[]);
    let out = run(&["login", &stack.mcp, "--device", "--auth-timeout", "2s"], &env);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("(giving up after 2s; Ctrl-C cancels)"), "{err}");
    assert!(
        err.contains("gave up waiting for the device code to be entered after 2s (--auth-timeout)"),
        "{err}"
    );
    assert!(!err.contains("expired"), "{err}");

    // Without --auth-timeout, the 5-minute default of the browser does not cut the code's 10.
    let mut t = on_pty(&["login", &stack.mcp, "--device"], &file_env(&home));
    t.expect(
        "Waiting for you to enter the code (it expires in 10m; Ctrl-C cancels)",
        Duration::from_secs(30),
    );
    t.type_in(b"\x03");
    // Ctrl-C ends it as SIGINT does any command (the shell shows 130).
    let st = t.wait(Duration::from_secs(10));
    assert_eq!(
        std::os::unix::process::ExitStatusExt::signal(&st),
        Some(libc::SIGINT),
        "{st:?}"
    );
}

#[test]
fn waiting_on_another_instances_sign_in_says_who_it_is() {
    let stack = Stack::start(&[], &[]);
    let home = temp_home();
    let mut env = file_env(&home);
    env.push(("BROWSER".into(), fake_browser()));
    // The first login's user takes 4 seconds in the browser.
    let mut slow = env.clone();
    slow.push(("FAKE_BROWSER_DELAY_MS".into(), "4000".into()));
    let mut first = Valet::spawn_env(&["login", &stack.mcp], &slow);
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while !first.stderr().contains("Waiting for you to sign in") {
        assert!(std::time::Instant::now() < deadline, "{}", first.stderr());
        std::thread::sleep(Duration::from_millis(50));
    }
    // The second, on a terminal, says whom it waits for, then signs in itself.
    let mut t = on_pty(&["login", &stack.mcp], &env);
    let s = t.expect("to finish signing in to", Duration::from_secs(30));
    assert!(
        s.contains(&format!(
            "Waiting for another mcp-valet (pid {}, signing in for ",
            first.pid()
        )),
        "{s}"
    );
    assert!(s.contains(&stack.mcp) && s.contains("Ctrl-C cancels"), "{s}");
    let (st, _) = first.wait_within(Duration::from_secs(30));
    assert!(st.success(), "{}", first.stderr());
    t.expect("Signed in to", Duration::from_secs(30));
    assert_eq!(t.wait(Duration::from_secs(10)).code(), Some(0), "{}", t.screen());
}

#[test]
fn an_empty_variable_in_a_header_is_refused_like_an_unset_one() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("headers");
    std::fs::write(&file, "X-Api-Key: ${MCP_VALET_TEST_EMPTY}\n").unwrap();
    for args in [
        &[
            "https://127.0.0.1:9/mcp",
            "-H",
            "Authorization: Bearer ${MCP_VALET_TEST_EMPTY}",
        ][..],
        &["https://127.0.0.1:9/mcp", "--header-file", file.to_str().unwrap()],
        &[
            "token",
            "https://127.0.0.1:9/mcp",
            "-H",
            "X-Key: ${MCP_VALET_TEST_EMPTY}",
        ],
    ] {
        let out = std::process::Command::new(crate::common::valet::bin())
            .args(args)
            .env("MCP_VALET_TEST_EMPTY", "")
            .env("MCP_VALET_TOKEN_STORE", "memory")
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap();
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {err}");
        assert!(
            err.contains("uses ${MCP_VALET_TEST_EMPTY}, which is not set in the environment (or empty)"),
            "{args:?}: {err}"
        );
        assert!(out.stdout.is_empty());
    }
}

/// What bash's completion function offers for `line` (the cursor at its end), with the
/// script `mcp-valet completions bash` writes. COMP_WORDS is split as readline splits it:
/// at blanks, and at `:` (which is in COMP_WORDBREAKS), the `:` a word of its own.
fn bash_complete(line: &str, env: &[(String, String)]) -> Vec<String> {
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("mcp-valet.bash");
    std::fs::write(&script, run(&["completions", "bash"], NO_ENV).stdout).unwrap();
    let mut words: Vec<String> = Vec::new();
    for w in line.split(' ').filter(|w| !w.is_empty()) {
        for (i, part) in w.split(':').enumerate() {
            if i > 0 {
                words.push(":".into());
            }
            if !part.is_empty() {
                words.push(part.into());
            }
        }
    }
    if line.ends_with(' ') {
        words.push(String::new());
    }
    let cword = words.len() - 1;
    let prev = if cword > 0 {
        words[cword - 1].clone()
    } else {
        String::new()
    };
    let quoted: Vec<String> = words.iter().map(|w| format!("'{w}'")).collect();
    let program = format!(
        "source '{}'\nCOMP_WORDS=({})\nCOMP_CWORD={cword}\nCOMP_LINE='{line}'\nCOMP_POINT=${{#COMP_LINE}}\n\
         _mcp__valet mcp-valet '{}' '{prev}'\nprintf '%s\\n' \"${{COMPREPLY[@]}}\"\n",
        script.display(),
        quoted.join(" "),
        words[cword],
    );
    let bin_dir = crate::common::valet::bin().parent().unwrap().to_owned();
    let path = format!("{}:{}", bin_dir.display(), std::env::var("PATH").unwrap_or_default());
    let out = std::process::Command::new("bash")
        .args(["--norc", "--noprofile", "-c", &program])
        .env("PATH", path)
        .envs(env.iter().map(|(k, v)| (k, v)))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    text(&out.stdout)
        .lines()
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect()
}

#[test]
fn bash_completes_subcommands_their_options_and_stored_server_urls() {
    let home = temp_home();
    let env = file_env(&home);
    assert!(bash_complete("mcp-valet st", &env).contains(&"status".to_owned()));
    // The subcommands' own options (their match arms were misspelled: nothing completed).
    assert_eq!(bash_complete("mcp-valet status --j", &env), ["--json"]);
    assert_eq!(bash_complete("mcp-valet logout --a", &env), ["--all", "--allow-http"]);
    assert!(bash_complete("mcp-valet token --client-i", &env).contains(&"--client-id".to_owned()));

    // No logins: no URLs.
    assert!(
        !bash_complete("mcp-valet status ", &env)
            .iter()
            .any(|w| w.contains("127.0.0.1"))
    );
    let url = "http://127.0.0.1:9/mcp";
    let other = "http://127.0.0.1:19/other";
    for u in [url, other] {
        let out = run_with_input(&["login", u, "--with-token", "--no-check"], &env, b"k");
        assert!(out.status.success(), "{}", text(&out.stderr));
    }
    // Every subcommand whose argument is a server URL, tools and call included.
    for sub in ["status", "logout", "token", "login", "tools", "call", "doctor"] {
        let offered = bash_complete(&format!("mcp-valet {sub} "), &env);
        assert!(
            offered.contains(&url.to_owned()) && offered.contains(&other.to_owned()),
            "{sub}: {offered:?}"
        );
    }
    // Within a URL, after a `:`, bash wants what follows the last `:` only.
    assert_eq!(bash_complete("mcp-valet status http://127.0.0.1:1", &env), ["19/other"]);
    assert_eq!(
        bash_complete("mcp-valet logout --profile x http:", &env),
        ["//127.0.0.1:19/other", "//127.0.0.1:9/mcp"]
    );
    // Options still complete where a URL could go, and no URL where an option is typed.
    assert_eq!(bash_complete("mcp-valet status --js", &env), ["--json"]);
}

#[test]
fn a_declined_sign_in_says_how_to_try_again() {
    let stack = Stack::start(&[], &[]);
    let home = temp_home();
    let mut env = file_env(&home);
    env.push(("BROWSER".into(), fake_browser()));
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let out = run(&["login", &stack.mcp, "--authorize-param", "auto_approve=deny"], &env);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("The sign-in was declined"), "{err}");
    assert!(
        err.contains(&format!("To try again, run `mcp-valet login {}` again", stack.mcp)),
        "{err}"
    );

    // The bridge: sign in from a shell, or a request after the pause.
    let (mut v, _) = stack.bridge(&["--authorize-param", "auto_approve=deny"], &[]);
    let r = v.call(0, "initialize", crate::common::valet::init_params("2025-11-25"));
    let msg = crate::common::valet::valet_error(&r)["message"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        msg.contains(&format!("To try again, sign in with `mcp-valet login {}`", stack.mcp))
            && msg.contains("or send a request after 1m"),
        "{msg}"
    );
}

#[test]
fn a_pipeline_that_skips_initialize_is_told_to_send_it_first() {
    for kind in [PeerKind::StatefulJson, PeerKind::StatefulSse] {
        let peer = Peer::start(kind);
        let mut v = Valet::spawn(&[&peer.url]);
        let r = v.call(1, "tools/list", serde_json::json!({}));
        let e = crate::common::valet::valet_error(&r);
        let msg = e["message"].as_str().unwrap();
        assert_eq!(e["data"]["status"], 400, "{r}");
        assert!(
            msg.contains("No `initialize` was sent") && msg.contains("send initialize first"),
            "{kind:?}: {r}"
        );
        // After an initialize, a 400 says nothing of the kind.
        v.handshake();
        let r = v.call(
            2,
            "tools/call",
            serde_json::json!({"name": "echo", "arguments": {"text": "x"}}),
        );
        assert!(
            r.get("result").is_some() || !r.to_string().contains("initialize first"),
            "{r}"
        );
    }
}

#[test]
fn quiet_quiets_login_and_logout_and_no_color_is_honoured_on_a_terminal() {
    let stack = Stack::start(&[], &[]);
    let home = temp_home();
    let mut env = file_env(&home);
    env.push(("BROWSER".into(), fake_browser()));
    let pairs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    for args in [
        &["login", &stack.mcp, "-q"][..],
        &["logout", &stack.mcp, "-q"],
        &["logout", "--all", "-q"],
    ] {
        let out = run(args, &pairs);
        assert!(out.status.success(), "{args:?}: {}", text(&out.stderr));
        assert!(out.stderr.is_empty(), "{args:?} said: {}", text(&out.stderr));
    }
    let out = run_with_input(
        &["login", "http://127.0.0.1:9/mcp", "--with-token", "--no-check", "-q"],
        &pairs,
        b"k",
    );
    assert!(out.status.success() && out.stderr.is_empty(), "{}", text(&out.stderr));
    // Its errors stay.
    let out = run(
        &["logout", "https://127.0.0.1:9/x", "-q", "--token-store", "bogus"],
        &pairs,
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(!out.stderr.is_empty());

    // On a terminal: colour in the spinner and the log lines, none with NO_COLOR.
    let mut slow = env.clone();
    slow.push(("FAKE_BROWSER_DELAY_MS".into(), "1500".into()));
    let cyan_or_level = |s: &str| s.contains("\x1b[36m") || s.contains("\x1b[32m") || s.contains("\x1b[2m");
    let mut t = on_pty(&["login", &stack.mcp, "-v"], &slow);
    let s = t.expect("Signed in to", Duration::from_secs(30));
    assert_eq!(t.wait(Duration::from_secs(10)).code(), Some(0));
    assert!(cyan_or_level(&s), "colour expected on a terminal: {s:?}");
    slow.push(("NO_COLOR".into(), "1".into()));
    let mut t = on_pty(&["login", &stack.mcp, "-v"], &slow);
    let s = t.expect("Signed in to", Duration::from_secs(30));
    assert_eq!(t.wait(Duration::from_secs(10)).code(), Some(0));
    assert!(s.contains(" INFO ") || s.contains("INFO"), "-v logs: {s:?}");
    assert!(!cyan_or_level(&s), "no colour with NO_COLOR: {s:?}");
}

#[test]
fn every_subcommands_help_has_examples_its_exit_statuses_and_the_environment() {
    for cmd in [
        &[][..],
        &["login"],
        &["logout"],
        &["status"],
        &["token"],
        &["completions"],
    ] {
        for flag in ["--help", "-h"] {
            let out = run(&[cmd, &[flag]].concat(), NO_ENV);
            assert!(out.status.success());
            let help = text(&out.stdout);
            let examples = help
                .split("Examples:\n")
                .nth(1)
                .unwrap_or_else(|| panic!("{cmd:?}: {help}"));
            let shown = examples
                .lines()
                .take_while(|l| !l.is_empty())
                .filter(|l| l.starts_with("  ") && !l.trim_start().starts_with('#'))
                .count();
            assert!((2..=4).contains(&shown), "{cmd:?} {flag}: {shown} examples\n{help}");
            assert!(help.contains("\nExit status:\n  0"), "{cmd:?}: {help}");
            assert!(help.contains("MCP_VALET_HOME"), "{cmd:?}: {help}");
        }
    }
    let status = text(&run(&["status", "--help"], NO_ENV).stdout);
    assert!(
        status.contains("4  a login is required: one shown is not usable, or none matches"),
        "{status}"
    );
    // --profile filters in status and logout; it keeps a second identity in login.
    for cmd in ["status", "logout"] {
        let help = text(&run(&[cmd, "--help"], NO_ENV).stdout);
        assert!(
            help.contains("Only the login") && !help.contains("second identity for"),
            "{help}"
        );
    }
    assert!(text(&run(&["login", "--help"], NO_ENV).stdout).contains("Keep a second identity"));
    // token never signs in: no sign-in options but the client it may refresh with.
    let token = text(&run(&["token", "--help"], NO_ENV).stdout);
    for never in [
        "--scope",
        "--device",
        "--no-browser",
        "--callback-port",
        "--authorize-param",
        "--auth-timeout",
    ] {
        assert!(!token.contains(never), "token --help lists {never}");
    }
    assert!(token.contains("--client-id") && token.contains("--profile"), "{token}");
}
