//! The command line itself: completions stay in step with the clap definitions, usage errors
//! exit 2, and bad configuration fails before anything is read from stdin.

use std::path::PathBuf;
use std::process::{Command, Stdio};

use crate::common::valet::{NO_ENV, bin, run};

fn valet() -> Command {
    Command::new(bin())
}

#[test]
fn completions_are_current() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("completions");
    let update = std::env::var_os("UPDATE_COMPLETIONS").is_some();
    for (shell, file) in [
        ("bash", "mcp-valet.bash"),
        ("zsh", "_mcp-valet"),
        ("fish", "mcp-valet.fish"),
    ] {
        let out = run(&["completions", shell], NO_ENV);
        assert!(out.status.success());
        let path = dir.join(file);
        if update {
            std::fs::write(&path, &out.stdout).unwrap();
            continue;
        }
        let committed = std::fs::read(&path).unwrap_or_default();
        assert!(
            committed == out.stdout,
            "completions/{file} is stale: run `UPDATE_COMPLETIONS=1 cargo test --test it completions_are_current`"
        );
    }
}

#[test]
fn usage_errors_exit_2_and_say_why() {
    let out = run(&[], NO_ENV);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("<URL>"));
    let out = run(&["https://example.com/mcp", "--request-timeout", "soon"], NO_ENV);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a duration"));
}

#[test]
fn help_documents_exit_codes() {
    let out = run(&["--help"], NO_ENV);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("Exit status:") && text.contains("a login is required (status, token)"),
        "{text}"
    );
}

#[test]
fn bad_configuration_fails_fast_without_touching_stdout() {
    for args in [
        &["http://example.com/mcp"][..],
        &["https://example.com/mcp", "-H", "NoColon"],
        &["https://example.com/mcp", "-H", "Mcp-Session-Id: x"],
        &["https://example.com/mcp", "-H", "X-Key: ${MCP_VALET_TEST_UNSET_VAR}"],
        &["https://example.com/mcp", "--header-file", "/nonexistent/headers"],
        &["https://example.com/mcp", "--ca-file", "/nonexistent/ca.pem"],
    ] {
        // stdin a pipe, as a desktop client starts us, closed at once.
        let out = valet()
            .args(args)
            .env_remove("MCP_VALET_TEST_UNSET_VAR")
            .stdin(Stdio::piped())
            .output()
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(1),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(out.stdout.is_empty(), "{args:?} wrote to stdout");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.starts_with("mcp-valet: "), "{args:?}: {err}");
    }
}

#[test]
fn plain_http_is_refused_with_a_way_out() {
    let out = run(&["http://example.com/mcp"], NO_ENV);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--allow-http"), "{err}");
}

#[test]
fn the_command_reference_documents_every_option() {
    // The reference tables live in docs/commands.md (the README links to them); mcp-remote's
    // spellings in docs/mcp-remote.md.
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("docs");
    let readme = ["commands.md", "mcp-remote.md"]
        .map(|f| std::fs::read_to_string(dir.join(f)).unwrap())
        .concat();
    for cmd in [&[][..], &["login"], &["logout"], &["status"], &["token"]] {
        let out = run(&[cmd, &["--help"]].concat(), NO_ENV);
        let help = String::from_utf8_lossy(&out.stdout);
        for word in help.split(|c: char| c.is_whitespace() || c == ',' || c == '[' || c == ']') {
            let Some(flag) = word.strip_prefix("--") else { continue };
            let flag: String = flag
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
                .collect();
            if flag.is_empty() || ["help", "version"].contains(&flag.as_str()) {
                continue;
            }
            assert!(
                readme.contains(&format!("--{flag}")),
                "docs/commands.md and docs/mcp-remote.md do not mention --{flag} (mcp-valet {cmd:?})"
            );
        }
    }
}

#[test]
fn quiet_silences_what_a_command_says_but_not_its_errors() {
    let home = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| {
        valet()
            .args(args)
            .env("MCP_VALET_HOME", home.path())
            .env("MCP_VALET_TOKEN_STORE", "file")
            .output()
            .unwrap()
    };
    let out = run(&["logout", "--all"]);
    assert!(out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("Not signed in to any server; nothing to remove."), "{err}");
    let out = run(&["logout", "--all", "-q"]);
    assert!(out.status.success());
    assert!(out.stderr.is_empty(), "{}", String::from_utf8_lossy(&out.stderr));
    // `token` with nothing stored: its error stays, and stdout stays empty.
    let out = run(&["token", "http://127.0.0.1:9/mcp", "-q"]);
    assert_eq!(out.status.code(), Some(4));
    assert!(out.stdout.is_empty());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("not signed in to 127.0.0.1") && err.contains("Sign in with"),
        "{err}"
    );
}
