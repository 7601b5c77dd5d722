//! The Windows build (x86_64-pc-windows-gnu, mingw-w64) run for real under wine: `--version`,
//! `--help`, `config`, a bridge session over stdio against the reference server, and a token kept
//! in Windows' Credential Manager (wine's advapi32 implements CredWriteW/CredReadW/CredDeleteW).
//!
//! The binary is this checkout's debug build for Windows, built here with cargo (nothing to do
//! when `.ci/run`'s Windows step has built it). It runs in the private wine prefix that
//! `tests/wine/prefix.sh` makes under the target directory, with the `bcryptprimitives.dll`
//! stand-in that Debian bookworm's wine 8.0 lacks (tests/wine/bcryptprimitives.c says why).
//! Without wine64, mingw-w64's gcc or the target's standard library, each test prints SKIPPED
//! with the reason, unless MCP_VALET_REQUIRE_ALL=1 makes that an error; MCP_VALET_CI_WINDOWS=0
//! (`.ci/run` without its Windows step) skips them in any case.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use serde_json::{Value, json};

use crate::common;
use crate::common::peers::{Peer, PeerKind};
use crate::common::valet::{Valet, init_params, temp_home, text};

const TARGET: &str = "x86_64-pc-windows-gnu";

/// Set to 0, the Windows tests are not wanted (`.ci/run`'s Windows step is off).
const OFF_ENV: &str = "MCP_VALET_CI_WINDOWS";

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The cargo target directory this test binary was built in (`<target>/debug/mcp-valet`).
fn target_dir() -> PathBuf {
    Path::new(env!("CARGO_BIN_EXE_mcp-valet"))
        .parent()
        .and_then(Path::parent)
        .expect("the target directory")
        .to_path_buf()
}

/// A Unix path as the Windows program sees it: wine maps `/` to drive Z:.
fn win_path(p: &Path) -> String {
    format!("Z:{}", p.display()).replace('/', "\\")
}

fn out_text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

struct Wine {
    wine64: PathBuf,
    prefix: PathBuf,
    exe: PathBuf,
}

/// Builds the Windows binary and the wine prefix, or says why it cannot (SKIPPED, or a panic
/// when every test must run).
fn wine(test: &str) -> Option<Wine> {
    if std::env::var(OFF_ENV).is_ok_and(|v| v == "0") {
        println!("SKIPPED {test}: {OFF_ENV}=0");
        eprintln!("SKIPPED {test}: {OFF_ENV}=0 turns the Windows tests off");
        return None;
    }
    let wine64 = Some(PathBuf::from("/usr/lib/wine/wine64"))
        .filter(|p| p.is_file())
        .or_else(|| common::on_path(&["wine64"]));
    let Some(wine64) = wine64 else {
        common::skip(test, "no wine64 (Debian: apt-get install wine wine64)");
        return None;
    };
    if common::on_path(&["x86_64-w64-mingw32-gcc"]).is_none() {
        common::skip(
            test,
            "no x86_64-w64-mingw32-gcc (Debian: apt-get install gcc-mingw-w64-x86-64)",
        );
        return None;
    }
    let has_std = Command::new("rustc")
        .args(["--print", "target-libdir", "--target", TARGET])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .and_then(|o| std::fs::read_dir(out_text(&o.stdout).trim()).ok())
        .is_some_and(|mut d| d.any(|e| e.is_ok_and(|e| e.file_name().to_string_lossy().starts_with("libstd-"))));
    if !has_std {
        common::skip(
            test,
            &format!("no Rust standard library for {TARGET} (rustup target add {TARGET})"),
        );
        return None;
    }

    let target = target_dir();
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let out = Command::new(cargo)
        .args([
            "build",
            "--quiet",
            "--target",
            TARGET,
            "--bin",
            "mcp-valet",
            "--manifest-path",
        ])
        .arg(repo().join("Cargo.toml"))
        .arg("--target-dir")
        .arg(&target)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "cargo build --target {TARGET}: {}",
        out_text(&out.stderr)
    );
    let exe = target.join(TARGET).join("debug/mcp-valet.exe");

    let out = Command::new(repo().join("tests/wine/prefix.sh"))
        .arg(target.join("wine-prefix"))
        .output()
        .unwrap();
    assert!(out.status.success(), "tests/wine/prefix.sh: {}", out_text(&out.stderr));
    let prefix = PathBuf::from(out_text(&out.stdout).trim());
    Some(Wine { wine64, prefix, exe })
}

impl Wine {
    /// `wine64 <program> <args>` in the private prefix, with no input.
    fn command(&self, program: &Path, args: &[&str]) -> Command {
        let mut c = Command::new(&self.wine64);
        c.arg(program)
            .args(args)
            .env("WINEPREFIX", &self.prefix)
            // Where Debian's wine keeps wineserver's socket (tests/wine/prefix.sh).
            .env("TMPDIR", &self.prefix)
            .env("WINEDEBUG", "-all")
            .env("WINEDLLOVERRIDES", "mscoree,mshtml=")
            .env_remove("MCP_VALET_LOG")
            .env_remove("MCP_VALET_TOKEN_STORE")
            .env_remove("BROWSER")
            .stdin(Stdio::null());
        c
    }

    /// `mcp-valet.exe <args>` with MCP_VALET_HOME at `home`.
    fn valet(&self, home: &Path, args: &[&str]) -> Command {
        let mut c = self.command(&self.exe, args);
        c.env("MCP_VALET_HOME", win_path(home));
        c
    }

    fn run(&self, home: &Path, args: &[&str]) -> Output {
        self.valet(home, args).output().unwrap()
    }

    fn run_with_input(&self, home: &Path, args: &[&str], input: &[u8]) -> Output {
        use std::io::Write;
        let mut child = self
            .valet(home, args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(input).unwrap();
        child.wait_with_output().unwrap()
    }

    /// The items under wine's Credential Manager key (one registry key per credential), read
    /// live through wineserver with wine's own `reg.exe`.
    fn credentials(&self) -> Vec<String> {
        let out = self
            .command(Path::new("reg"), &["query", r"HKCU\Software\Wine\Credential Manager"])
            .output()
            .unwrap();
        // In a new prefix the key does not exist until the first credential is written: no
        // items. Any other failure of `reg` fails the test.
        if !out.status.success() && out_text(&out.stdout).contains("Unable to find the specified registry key") {
            return Vec::new();
        }
        assert!(
            out.status.success(),
            "reg query: {}{}",
            out_text(&out.stdout),
            out_text(&out.stderr)
        );
        out_text(&out.stdout)
            .lines()
            .filter_map(|l| {
                l.trim()
                    .strip_prefix(r"HKEY_CURRENT_USER\Software\Wine\Credential Manager\")
            })
            .map(str::to_owned)
            .collect()
    }
}

#[test]
fn windows_exe_prints_its_version_help_and_a_client_config() {
    let Some(w) = wine("windows_exe_prints_its_version_help_and_a_client_config") else {
        return;
    };
    let bytes = std::fs::read(&w.exe).unwrap();
    assert_eq!(&bytes[..2], b"MZ", "a PE executable");
    let home = temp_home();

    let out = w.run(home.path(), &["--version"]);
    assert!(out.status.success(), "{}", out_text(&out.stderr));
    assert_eq!(
        out_text(&out.stdout),
        format!("mcp-valet {}\n", env!("CARGO_PKG_VERSION"))
    );

    // Usage names the command as the user types it, not the file name `mcp-valet.exe`.
    let out = w.run(home.path(), &["--help"]);
    let help = out_text(&out.stdout);
    assert!(out.status.success(), "{}", out_text(&out.stderr));
    assert!(help.contains("Usage: mcp-valet [OPTIONS] <URL> [PORT]"), "{help}");
    assert!(!help.contains("mcp-valet.exe"), "{help}");
    let out = w.run(home.path(), &["login"]);
    let err = out_text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("Usage: mcp-valet login") && !err.contains(".exe"), "{err}");

    // The snippet starts this very binary by its Windows path.
    let url = "https://mcp.example.com/mcp";
    let out = w.run(home.path(), &["config", "claude-desktop", url]);
    assert!(out.status.success(), "{}", out_text(&out.stderr));
    let snippet: Value = serde_json::from_slice(&out.stdout).unwrap();
    let servers = snippet["mcpServers"].as_object().unwrap();
    assert_eq!(servers.len(), 1, "{snippet}");
    let entry = servers.values().next().unwrap();
    assert_eq!(entry["command"], json!(win_path(&w.exe)), "{snippet}");
    assert_eq!(entry["args"], json!([url]), "{snippet}");

    // --write edits a client's file through Windows' file APIs, and a second run keeps it as is.
    let file = home.path().join("claude_desktop_config.json");
    std::fs::write(&file, r#"{"mcpServers": {"other": {"command": "x"}}, "theme": "dark"}"#).unwrap();
    let args = [
        "config",
        "claude-desktop",
        url,
        "--name",
        "ex",
        "--write",
        "--config-path",
    ];
    let file_w = win_path(&file);
    let out = w.run(home.path(), &[&args[..], &[file_w.as_str()]].concat());
    assert!(out.status.success(), "{}", out_text(&out.stderr));
    let written: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert_eq!(
        written["mcpServers"]["ex"]["command"],
        json!(win_path(&w.exe)),
        "{written}"
    );
    assert_eq!(written["mcpServers"]["other"], json!({"command": "x"}), "{written}");
    assert_eq!(written["theme"], "dark", "{written}");
}

#[test]
fn windows_exe_bridges_a_stdio_session_to_the_reference_server() {
    let Some(w) = wine("windows_exe_bridges_a_stdio_session_to_the_reference_server") else {
        return;
    };
    let peer = Peer::start(PeerKind::StatefulSse);
    let home = temp_home();
    let mut cmd = w.valet(home.path(), &[&peer.url]);
    cmd.env("MCP_VALET_TOKEN_STORE", "memory")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    // Every stdout line is parsed as one JSON-RPC message (`parse_line`), or the test fails.
    let mut v = Valet::start(cmd, Some(home));
    let mut answers: HashMap<String, u32> = HashMap::new();
    let mut count = |m: &Value| {
        if m.get("method").is_none() {
            *answers.entry(m["id"].to_string()).or_default() += 1;
        }
    };

    let r = v.call(0, "initialize", init_params("2025-11-25"));
    count(&r);
    assert_eq!(r["result"]["protocolVersion"], "2025-11-25", "{r}");
    v.send(&json!({"jsonrpc": "2.0", "method": "notifications/initialized"}));

    // Five requests at once, then a line that is not JSON.
    v.send(&json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"}));
    for id in 2..=4 {
        let args = json!({"name": "echo", "arguments": {"text": format!("hello {id} ✓")}});
        v.send(&json!({"jsonrpc": "2.0", "id": id, "method": "tools/call", "params": args}));
    }
    v.send(&json!({"jsonrpc": "2.0", "id": "p", "method": "ping"}));
    v.send_raw(b"{not json");
    let mut got = HashMap::new();
    while got.len() < 6 {
        let m = v.recv();
        count(&m);
        if m.get("method").is_none() {
            got.insert(m["id"].to_string(), m);
        }
    }
    let tools = got["1"]["result"]["tools"].as_array().expect("tools/list result");
    assert!(tools.iter().any(|t| t["name"] == "echo"), "{tools:?}");
    for id in 2..=4 {
        assert_eq!(text(&got[&id.to_string()]), format!("hello {id} ✓"));
    }
    assert_eq!(got["\"p\""]["result"], json!({}));
    assert_eq!(got["null"]["error"]["code"], -32700, "{:?}", got["null"]);

    // End of input: a clean exit, and nothing more on stdout.
    let (status, rest) = v.wait_within(Duration::from_secs(20));
    assert!(status.success(), "{status:?}\n{}", v.stderr());
    for m in &rest {
        count(m);
    }
    let expected: HashMap<String, u32> = ["0", "1", "2", "3", "4", "\"p\"", "null"]
        .iter()
        .map(|id| (id.to_string(), 1))
        .collect();
    assert_eq!(answers, expected, "each request answered exactly once");
    // The server saw the calls, all in one session.
    let log = peer.log();
    let calls = log.iter().filter(|e| e["body"]["method"] == "tools/call").count();
    assert_eq!(calls, 3, "{log:?}");
}

#[test]
fn windows_exe_keeps_a_token_in_the_credential_manager() {
    let Some(w) = wine("windows_exe_keeps_a_token_in_the_credential_manager") else {
        return;
    };
    // Longer than one Credential Manager blob (2,560 bytes): kept in two items.
    let key: String = (0..3000).map(|i| (b'a' + (i % 26) as u8) as char).collect();
    let peer = Peer::start_with(PeerKind::StatefulJson, &["--require-bearer", &key]);
    let home = temp_home();
    let before = w.credentials();

    let out = w.run_with_input(
        home.path(),
        &["login", &peer.url, "--with-token", "--token-store", "keyring"],
        format!("{key}\n").as_bytes(),
    );
    let err = out_text(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(
        err.contains("Kept the token") && err.contains("keyring") && !err.contains(&key),
        "{err}"
    );

    let added: Vec<String> = w.credentials().into_iter().filter(|c| !before.contains(c)).collect();
    assert_eq!(added.len(), 2, "two Credential Manager items: {added:?}");
    assert!(added.iter().all(|c| c.ends_with(".mcp-valet")), "{added:?}");
    // Nothing secret in the files.
    for entry in std::fs::read_dir(home.path()).unwrap() {
        let p = entry.unwrap().path();
        if p.is_file() {
            assert!(!std::fs::read_to_string(&p).unwrap().contains(&key), "{}", p.display());
        }
    }

    let out = w.run(home.path(), &["status", &peer.url]);
    let s = out_text(&out.stdout);
    assert!(out.status.success(), "{s}{}", out_text(&out.stderr));
    assert!(
        s.contains("stored in:     keyring") && s.contains("token store: OS keyring"),
        "{s}"
    );
    let out = w.run(home.path(), &["token", &peer.url]);
    assert!(out.status.success(), "{}", out_text(&out.stderr));
    assert_eq!(out_text(&out.stdout), format!("{key}\n"));

    // The bridge sends it.
    let mut cmd = w.valet(home.path(), &[&peer.url]);
    cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut v = Valet::start(cmd, None);
    v.handshake();
    assert_eq!(
        text(&v.tool(1, "echo", json!({"text": "with the kept key"}))),
        "with the kept key"
    );
    let (status, _) = v.wait_within(Duration::from_secs(20));
    assert!(status.success());
    assert!(!v.stderr().contains(&key));

    let out = w.run(home.path(), &["logout", &peer.url]);
    assert!(out.status.success(), "{}", out_text(&out.stderr));
    let out = w.run(home.path(), &["token", &peer.url]);
    assert_eq!(out.status.code(), Some(4), "{}", out_text(&out.stderr));
    let left: Vec<String> = w.credentials().into_iter().filter(|c| added.contains(c)).collect();
    assert!(left.is_empty(), "logout left {left:?}");
}
