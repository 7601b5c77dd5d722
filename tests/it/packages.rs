//! The npm packages and Python wheels that `dist/package-npm` and `dist/package-wheel` build,
//! installed and run as a user would, with every registry out of reach: the tarballs with
//! `npm install --offline` (registry 127.0.0.1:9) and the bridge run through `npx`; the wheel
//! with `uvx --offline` and `pipx run` (pip with no index; uv and pipx themselves come from
//! tests/packages/install.sh). Each runs a real tools/call through the installed command
//! against the TypeScript SDK's server, every stdout line checked to be JSON-RPC. The binary
//! packaged is this build's, stripped (the packaging does not care which build it is). Bad
//! input to the packaging scripts gets a one-line error and writes nothing.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, ExitStatus, Output, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::common::peers::{Peer, PeerKind, ensure_installed, run_bounded};
use crate::common::valet::{bin, init_params, parse_line, temp_home, text};
use crate::common::{Captured, capture};

const INSTALL_LIMIT: Duration = Duration::from_secs(180);
/// An address where no registry listens: any attempt to reach one fails at once.
const NO_REGISTRY: &str = "http://127.0.0.1:9/";

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The Rust target this test binary was built for, as dist/build names its bin/ directories.
fn host_target() -> &'static str {
    match (std::env::consts::OS, std::env::consts::ARCH, cfg!(target_env = "musl")) {
        ("linux", "x86_64", false) => "x86_64-unknown-linux-gnu",
        ("linux", "x86_64", true) => "x86_64-unknown-linux-musl",
        ("linux", "aarch64", false) => "aarch64-unknown-linux-gnu",
        ("linux", "aarch64", true) => "aarch64-unknown-linux-musl",
        ("macos", "x86_64", _) => "x86_64-apple-darwin",
        ("macos", "aarch64", _) => "aarch64-apple-darwin",
        (os, arch, _) => panic!("no packaging target for {os}/{arch}"),
    }
}

/// A release directory as dist/build leaves it, with this build's binary only:
/// `bin/<host target>/mcp-valet`, stripped (a copy when `strip` is missing), and no VERSION
/// (so the version comes from Cargo.toml, as the binary's own does).
fn release_dir() -> tempfile::TempDir {
    let dir = tempfile::Builder::new().prefix("mcp-valet-pkg-").tempdir().unwrap();
    let bindir = dir.path().join("bin").join(host_target());
    std::fs::create_dir_all(&bindir).unwrap();
    let dest = bindir.join("mcp-valet");
    let stripped = Command::new("strip")
        .arg("-o")
        .arg(&dest)
        .arg(bin())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !stripped {
        std::fs::copy(bin(), &dest).unwrap();
    }
    dir
}

/// Runs `dist/<script> <outdir>`; returns its output.
fn package(script: &str, outdir: &Path) -> Output {
    let mut cmd = Command::new(repo().join("dist").join(script));
    cmd.arg(outdir);
    run_bounded(cmd, INSTALL_LIMIT)
}

/// `package`, which must succeed; returns the files it printed (one path a line).
fn built(script: &str, outdir: &Path) -> Vec<PathBuf> {
    let out = package(script, outdir);
    assert!(
        out.status.success(),
        "dist/{script} failed ({}):\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(PathBuf::from)
        .collect()
}

fn version() -> &'static str {
    env!("CARGO_PKG_VERSION")
}

/// A command run to the end (stdin closed, bounded) that must succeed; returns its stdout.
fn ok(cmd: Command) -> String {
    let what = format!("{cmd:?}");
    let out = run_bounded(cmd, INSTALL_LIMIT);
    assert!(
        out.status.success(),
        "{what} failed ({}):\n--- stdout ---\n{}\n--- stderr ---\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// A bridge started through some installed command, driven as a desktop client drives it.
struct Bridge {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: Receiver<String>,
    stderr: Captured,
    _home: tempfile::TempDir,
}

impl Bridge {
    /// Starts `cmd` (which ends in the server's URL) with a private MCP_VALET_HOME and an
    /// in-memory token store.
    fn spawn(mut cmd: Command) -> Bridge {
        let home = temp_home();
        cmd.env("MCP_VALET_HOME", home.path())
            .env("MCP_VALET_TOKEN_STORE", "memory")
            .env_remove("MCP_VALET_LOG")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().unwrap_or_else(|e| panic!("cannot start {cmd:?}: {e}"));
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let (stderr, _) = capture(child.stderr.take().unwrap());
        Bridge {
            stdin: child.stdin.take(),
            child,
            lines: rx,
            stderr,
            _home: home,
        }
    }

    fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.stderr.lock().unwrap()).into_owned()
    }

    fn send(&mut self, msg: Value) {
        let stdin = self.stdin.as_mut().expect("stdin is open");
        writeln!(stdin, "{msg}").unwrap();
        stdin.flush().unwrap();
    }

    /// The response to `id`, every stdout line up to it parsed as JSON-RPC (60 s at most:
    /// npx and pipx start slowly on a loaded machine).
    fn response(&mut self, id: i64) -> Value {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = self
                .lines
                .recv_timeout(left)
                .unwrap_or_else(|e| panic!("no response to {id} ({e:?})\n--- stderr ---\n{}", self.stderr()));
            let m = parse_line(&line);
            if m["id"] == json!(id) && m.get("method").is_none() {
                return m;
            }
        }
    }

    /// initialize, notifications/initialized, and tools/call echo: the round trip.
    fn round_trip(&mut self, word: &str) {
        self.send(json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": init_params("2025-11-25")}));
        let init = self.response(1);
        assert!(init["result"]["serverInfo"].is_object(), "{init}\n{}", self.stderr());
        self.send(json!({"jsonrpc": "2.0", "method": "notifications/initialized"}));
        self.send(json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call",
                         "params": {"name": "echo", "arguments": {"text": word}}}));
        let r = self.response(2);
        assert_eq!(text(&r), word, "{r}");
    }

    /// Closes stdin and waits (30 s at most) for the exit; every line left must be JSON-RPC.
    fn finish(&mut self) -> ExitStatus {
        self.stdin.take();
        let deadline = Instant::now() + Duration::from_secs(30);
        let status = loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                break s;
            }
            assert!(
                Instant::now() < deadline,
                "no exit 30 s after stdin closed\n{}",
                self.stderr()
            );
            thread::sleep(Duration::from_millis(20));
        };
        while let Ok(line) = self.lines.recv_timeout(Duration::from_millis(500)) {
            parse_line(&line);
        }
        status
    }
}

impl Drop for Bridge {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if thread::panicking() {
            eprintln!("--- the bridge's stderr ---\n{}", self.stderr());
        }
    }
}

// --- npm ------------------------------------------------------------------------------------

/// An npm project directory with the packages installed from their tarballs, offline: the
/// platform package and the launcher, as `npm install` of the launcher from a registry would
/// leave them. `scripts`: whether install scripts run (the launcher's postinstall).
struct NpmProject {
    dir: tempfile::TempDir,
}

impl NpmProject {
    fn install(tarballs: &[PathBuf], scripts: bool) -> NpmProject {
        ensure_installed(); // the peers, and so Node.js and npm, are there
        let dir = tempfile::Builder::new().prefix("mcp-valet-npm-").tempdir().unwrap();
        std::fs::write(dir.path().join("package.json"), "{\"private\": true}\n").unwrap();
        let project = NpmProject { dir };
        let mut cmd = project.npm("npm");
        cmd.args(["install", "--offline", "--no-audit", "--no-fund", "--no-package-lock"]);
        if !scripts {
            cmd.arg("--ignore-scripts");
        }
        // The platform package first, then the launcher that depends on it.
        let (launcher, platforms): (Vec<_>, Vec<_>) = tarballs.iter().partition(|p| {
            p.file_name()
                .unwrap()
                .to_str()
                .unwrap()
                .starts_with(&format!("mcp-valet-{}", version()))
        });
        cmd.args(platforms).args(launcher);
        ok(cmd);
        project
    }

    /// `program` (npm or npx) in the project, with no registry, cache or user config but
    /// the project's own.
    fn npm(&self, program: &str) -> Command {
        let d = self.dir.path();
        let mut cmd = Command::new(program);
        cmd.current_dir(d)
            .env("npm_config_registry", NO_REGISTRY)
            .env("npm_config_cache", d.join(".npm-cache"))
            .env("npm_config_userconfig", d.join(".npmrc"))
            .env("npm_config_update_notifier", "false")
            .env("npm_config_fund", "false")
            .env("npm_config_audit", "false");
        cmd
    }

    /// `npx --offline -y mcp-valet <args>`.
    fn npx(&self, args: &[&str]) -> Command {
        let mut cmd = self.npm("npx");
        cmd.args(["--offline", "-y", "mcp-valet"]).args(args);
        cmd
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }
}

fn npm_tarballs(dir: &Path) -> Vec<PathBuf> {
    let files = built("package-npm", dir);
    let names: Vec<String> = files
        .iter()
        .map(|f| f.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    let platform = platform_name();
    assert_eq!(
        names,
        [
            format!("mcp-valet-{platform}-{}.tgz", version()),
            format!("mcp-valet-{}.tgz", version())
        ],
        "{files:?}"
    );
    files
}

/// npm's name for this platform, as in `@mcp-valet/<it>`.
fn platform_name() -> String {
    let os = match std::env::consts::OS {
        "macos" => "darwin",
        os => os,
    };
    let cpu = match std::env::consts::ARCH {
        "x86_64" => "x64",
        "aarch64" => "arm64",
        a => a,
    };
    format!("{os}-{cpu}")
}

/// The tarballs installed offline twice: as npm installs them by default (the postinstall
/// puts the binary in place of the launcher) and with `--ignore-scripts` (the Node launcher
/// stays, as on Windows). Both run the bridge through `npx`; the launcher also relays SIGTERM,
/// the exit status and stderr, and names a missing platform package. One `npm pack` for both.
#[test]
fn npm_packages_install_offline_and_npx_runs_the_bridge() {
    let release = release_dir();
    let tarballs = npm_tarballs(release.path());
    let sums = std::fs::read_to_string(release.path().join("npm/SHA256SUMS")).unwrap();
    assert_eq!(sums.lines().count(), 2, "{sums}");
    let peer = Peer::start(PeerKind::StatefulSse);

    let project = NpmProject::install(&tarballs, true);
    // The postinstall put the binary itself where npm's .bin link points (no Node in front).
    let installed = std::fs::read(project.path("node_modules/mcp-valet/bin/mcp-valet")).unwrap();
    assert!(
        !installed.starts_with(b"#!"),
        "the postinstall left the Node launcher in place"
    );
    assert_eq!(ok(project.npx(&["--version"])), format!("mcp-valet {}\n", version()));
    let mut bridge = Bridge::spawn(project.npx(&[&peer.url]));
    bridge.round_trip("through npx");
    let status = bridge.finish();
    assert!(status.success(), "{status}\n{}", bridge.stderr());

    let project = NpmProject::install(&tarballs, false);
    let launcher = project.path("node_modules/.bin/mcp-valet");
    let script = std::fs::read(&launcher).unwrap();
    assert!(script.starts_with(b"#!/usr/bin/env node"), "not the Node launcher");
    let mut bridge = Bridge::spawn(project.npx(&[&peer.url]));
    bridge.round_trip("through npx and the launcher");
    assert!(bridge.finish().success(), "{}", bridge.stderr());
    launcher_relays(&project, &launcher, &peer);

    let echoed: Vec<Value> = peer
        .log()
        .into_iter()
        .filter(|e| e["body"]["params"]["name"] == "echo")
        .map(|e| e["body"]["params"]["arguments"]["text"].clone())
        .collect();
    assert_eq!(
        echoed,
        [
            json!("through npx"),
            json!("through npx and the launcher"),
            json!("launcher, no npx")
        ]
    );
}

/// SIGTERM to the Node launcher reaches the binary (which answers the call in flight and
/// exits 0, and so does the launcher); a usage error's status and stderr come through with
/// nothing on stdout; without the platform package, one line that names it.
fn launcher_relays(project: &NpmProject, launcher: &Path, peer: &Peer) {
    let mut cmd = Command::new(launcher);
    cmd.arg(&peer.url);
    let mut direct = Bridge::spawn(cmd);
    direct.round_trip("launcher, no npx");
    direct.send(json!({"jsonrpc": "2.0", "id": 3, "method": "tools/call",
                       "params": {"name": "slow", "arguments": {"ms": 20000}}}));
    peer.log_until(Duration::from_secs(20), |l| {
        l.iter().any(|e| e["body"]["params"]["name"] == "slow")
    });
    #[cfg(unix)]
    {
        let st = Command::new("kill")
            .args(["-TERM", &direct.child.id().to_string()])
            .status()
            .unwrap();
        assert!(st.success());
        let r = direct.response(3);
        assert_eq!(r["error"]["data"]["kind"], "shutdown", "{r}");
        assert!(direct.finish().success(), "{}", direct.stderr());
    }

    let mut cmd = Command::new(launcher);
    cmd.arg("--no-such-option");
    let out = run_bounded(cmd, INSTALL_LIMIT);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(out.stdout.is_empty());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--no-such-option"));

    std::fs::remove_dir_all(project.path(&format!("node_modules/@mcp-valet/{}", platform_name()))).unwrap();
    let out = run_bounded(Command::new(launcher), INSTALL_LIMIT);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(out.stdout.is_empty());
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains(&format!("@mcp-valet/{} is not installed", platform_name())),
        "{err}"
    );
}

/// A registry of our own on 127.0.0.1 serving just the tarballs `dist/package-npm` wrote (a
/// packument per package, with each tarball's integrity), so that the very command a client
/// configuration holds, `npx -y mcp-valet URL`, resolves the launcher, picks the platform
/// package among its optional dependencies by `os`/`cpu`, installs both (the postinstall runs)
/// and runs the bridge. Records every path asked for.
struct Registry {
    url: String,
    asked: Arc<Mutex<Vec<String>>>,
    stop: Arc<AtomicBool>,
    thread: Option<thread::JoinHandle<()>>,
}

impl Registry {
    fn serve(tarballs: &[PathBuf]) -> Registry {
        use base64::Engine;
        use sha2::Digest;
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/", listener.local_addr().unwrap());
        let mut files: HashMap<String, Vec<u8>> = HashMap::new();
        for tgz in tarballs {
            let out = Command::new("tar")
                .arg("-xzOf")
                .arg(tgz)
                .arg("package/package.json")
                .output()
                .unwrap();
            assert!(out.status.success(), "tar: {out:?}");
            let mut manifest: Value = serde_json::from_slice(&out.stdout).unwrap();
            let bytes = std::fs::read(tgz).unwrap();
            let file = tgz.file_name().unwrap().to_str().unwrap().to_string();
            let integrity = format!(
                "sha512-{}",
                base64::engine::general_purpose::STANDARD.encode(sha2::Sha512::digest(&bytes))
            );
            manifest["dist"] = json!({"tarball": format!("{url}-/{file}"), "integrity": integrity});
            let name = manifest["name"].as_str().unwrap().to_string();
            let version = manifest["version"].as_str().unwrap().to_string();
            let packument = json!({"name": name, "dist-tags": {"latest": version},
                                   "versions": {version: manifest}});
            files.insert(
                format!("/{}", name.replace('/', "%2f")),
                packument.to_string().into_bytes(),
            );
            files.insert(format!("/-/{file}"), bytes);
        }
        let asked = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        listener.set_nonblocking(true).unwrap();
        let (asked2, stop2) = (asked.clone(), stop.clone());
        let thread = thread::spawn(move || {
            while !stop2.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((conn, _)) => {
                        let files = files.clone();
                        let asked = asked2.clone();
                        thread::spawn(move || serve_one(conn, &files, &asked));
                    }
                    Err(_) => thread::sleep(Duration::from_millis(10)),
                }
            }
        });
        Registry {
            url,
            asked,
            stop,
            thread: Some(thread),
        }
    }

    fn asked(&self) -> Vec<String> {
        self.asked.lock().unwrap().clone()
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Answers the requests on one connection (keep-alive; at most 100, each head at most 64 KiB).
fn serve_one(mut conn: TcpStream, files: &HashMap<String, Vec<u8>>, asked: &Mutex<Vec<String>>) {
    conn.set_nonblocking(false).unwrap();
    conn.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut reader = BufReader::new(conn.try_clone().unwrap());
    for _ in 0..100 {
        let mut head = String::new();
        loop {
            let mut line = String::new();
            match reader.read_line(&mut line) {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
            if line == "\r\n" || head.len() > 65536 {
                break;
            }
            head.push_str(&line);
        }
        let path = head.split_whitespace().nth(1).unwrap_or("").to_string();
        // npm asks for scoped packages as /@scope%2fname (either case of the escape).
        let key = path.replace("%2F", "%2f");
        asked.lock().unwrap().push(path);
        let (status, body): (&str, &[u8]) = match files.get(&key) {
            Some(b) => ("200 OK", b),
            None => ("404 Not Found", b"{\"error\":\"not found\"}"),
        };
        let kind = if key.starts_with("/-/") {
            "application/octet-stream"
        } else {
            "application/json"
        };
        let resp = format!(
            "HTTP/1.1 {status}\r\nContent-Type: {kind}\r\nContent-Length: {}\r\n\r\n",
            body.len()
        );
        if conn.write_all(resp.as_bytes()).is_err() || conn.write_all(body).is_err() {
            return;
        }
    }
}

/// A Windows x86_64 PE header and nothing else: the binary of a platform npm must skip here.
fn fake_windows_exe() -> Vec<u8> {
    let mut b = vec![0u8; 0x46];
    b[..2].copy_from_slice(b"MZ");
    b[0x3c] = 0x40; // e_lfanew
    b[0x40..0x44].copy_from_slice(b"PE\0\0");
    b[0x44..0x46].copy_from_slice(&0x8664u16.to_le_bytes());
    b
}

/// `npx -y mcp-valet URL` with nothing installed, the registry our own: the same command as
/// in a client's configuration. The release has a second platform (win32-x64, a bare PE
/// header): npm reads its packument but fetches neither its tarball nor anything but this
/// platform's; the postinstall swaps in the binary; stdout carries only JSON-RPC while npx
/// installs.
#[cfg(not(windows))]
#[test]
fn npx_y_mcp_valet_installs_from_a_registry_and_runs_the_bridge() {
    let release = release_dir();
    let win = release.path().join("bin/x86_64-pc-windows-gnu");
    std::fs::create_dir_all(&win).unwrap();
    std::fs::write(win.join("mcp-valet.exe"), fake_windows_exe()).unwrap();
    let tarballs = built("package-npm", release.path());
    assert_eq!(tarballs.len(), 3, "{tarballs:?}");
    let registry = Registry::serve(&tarballs);
    let peer = Peer::start(PeerKind::StatefulJson);
    let home = tempfile::Builder::new().prefix("mcp-valet-npx-").tempdir().unwrap();
    let h = home.path();
    let mut cmd = Command::new("npx");
    cmd.current_dir(h)
        .env("HOME", h)
        .env("npm_config_registry", &registry.url)
        .env("npm_config_cache", h.join(".npm-cache"))
        .env("npm_config_userconfig", h.join(".npmrc"))
        .env("npm_config_update_notifier", "false")
        .args(["-y", "mcp-valet", &peer.url]);
    let mut bridge = Bridge::spawn(cmd);
    bridge.round_trip("npx -y from a registry");
    assert!(bridge.finish().success(), "{}", bridge.stderr());

    let platform = platform_name();
    // npm's audit request (answered 404) aside, the packages' files and nothing else.
    let mut asked: Vec<String> = registry
        .asked()
        .into_iter()
        .map(|p| p.replace("%2F", "%2f"))
        .filter(|p| !p.starts_with("/-/npm/"))
        .collect();
    asked.sort();
    asked.dedup();
    let mut want = vec![
        "/mcp-valet".to_string(),
        format!("/@mcp-valet%2f{platform}"),
        "/@mcp-valet%2fwin32-x64".to_string(),
        format!("/-/mcp-valet-{}.tgz", version()),
        format!("/-/mcp-valet-{platform}-{}.tgz", version()),
    ];
    want.sort();
    assert_eq!(asked, want);
    // The binary itself stands where npx's .bin link points; no win32 package was installed.
    let npx_dir = h.join(".npm-cache").join("_npx");
    let trees: Vec<PathBuf> = std::fs::read_dir(&npx_dir)
        .unwrap()
        .flatten()
        .map(|e| e.path().join("node_modules"))
        .filter(|p| p.join("mcp-valet").exists())
        .collect();
    assert_eq!(trees.len(), 1, "{trees:?}");
    let installed = std::fs::read(trees[0].join("mcp-valet/bin/mcp-valet")).unwrap();
    assert!(!installed.starts_with(b"#!"), "the Node launcher stayed");
    assert!(trees[0].join(format!("@mcp-valet/{platform}")).exists());
    assert!(!trees[0].join("@mcp-valet/win32-x64").exists());
}

// --- Python ---------------------------------------------------------------------------------

/// tests/packages/.venv/bin with uv and pipx (installed once, from a lock file with hashes).
fn python_tools() -> PathBuf {
    static RESULT: OnceLock<Result<(), String>> = OnceLock::new();
    let dir = repo().join("tests").join("packages");
    let result = RESULT.get_or_init(|| {
        let out = Command::new("bash")
            .arg(dir.join("install.sh"))
            .stdin(Stdio::null())
            .output()
            .map_err(|e| e.to_string())?;
        if out.status.success() {
            Ok(())
        } else {
            Err(String::from_utf8_lossy(&out.stderr).into_owned())
        }
    });
    if let Err(e) = result {
        panic!("tests/packages/install.sh failed:\n{e}");
    }
    dir.join(".venv").join("bin")
}

/// `tool` (uvx or pipx) with HOME, caches and tool directories in `home`, no index, no
/// user configuration.
fn py_tool(tool: &str, home: &Path) -> Command {
    let tools = python_tools();
    let mut cmd = Command::new(tools.join(tool));
    let path = format!("{}:{}", tools.display(), std::env::var("PATH").unwrap_or_default());
    cmd.env("PATH", path)
        .env("HOME", home)
        .env("XDG_CACHE_HOME", home.join("cache"))
        .env("XDG_DATA_HOME", home.join("data"))
        .env("XDG_CONFIG_HOME", home.join("config"))
        .env("UV_CACHE_DIR", home.join("uv-cache"))
        .env("UV_TOOL_DIR", home.join("uv-tools"))
        .env("UV_NO_CONFIG", "1")
        .env("UV_OFFLINE", "1")
        .env("UV_PYTHON_DOWNLOADS", "never")
        .env("PIPX_HOME", home.join("pipx"))
        .env("PIPX_BIN_DIR", home.join("pipx-bin"))
        .env("PIPX_MAN_DIR", home.join("pipx-man"))
        .env("PIP_NO_INDEX", "1")
        .env("PIP_DISABLE_PIP_VERSION_CHECK", "1")
        .env("PIP_CONFIG_FILE", "/dev/null")
        .env_remove("VIRTUAL_ENV")
        .env_remove("PYTHONPATH");
    cmd
}

#[test]
fn the_wheel_runs_with_uvx_and_pipx_from_local_files() {
    let release = release_dir();
    let files = built("package-wheel", release.path());
    assert_eq!(files.len(), 1, "{files:?}");
    let wheel = &files[0];
    let name = wheel.file_name().unwrap().to_str().unwrap();
    assert!(
        name.starts_with(&format!("mcp_valet-{}-py3-none-", version())),
        "{name}"
    );
    let wheel_dir = release.path().join("python");
    let home = tempfile::Builder::new().prefix("mcp-valet-py-").tempdir().unwrap();
    let want = format!("mcp-valet {}\n", version());

    // uvx --from <wheel>, and by name from the wheel's directory as the only source.
    let mut uvx = py_tool("uvx", home.path());
    uvx.args(["--offline", "--from"])
        .arg(wheel)
        .args(["mcp-valet", "--version"]);
    assert_eq!(ok(uvx), want);
    let peer = Peer::start(PeerKind::StatefulJson);
    let mut uvx = py_tool("uvx", home.path());
    uvx.args(["--offline", "--no-index", "--find-links"])
        .arg(&wheel_dir)
        .args(["mcp-valet", &peer.url]);
    let mut bridge = Bridge::spawn(uvx);
    bridge.round_trip("through uvx");
    assert!(bridge.finish().success(), "{}", bridge.stderr());

    // pipx run --spec <wheel>, with pip given no index.
    let mut pipx = py_tool("pipx", home.path());
    pipx.args(["run", "--spec"]).arg(wheel).args(["mcp-valet", "--version"]);
    assert_eq!(ok(pipx), want);
    let mut pipx = py_tool("pipx", home.path());
    pipx.args(["run", "--spec"]).arg(wheel).args(["mcp-valet", &peer.url]);
    let mut bridge = Bridge::spawn(pipx);
    bridge.round_trip("through pipx");
    assert!(bridge.finish().success(), "{}", bridge.stderr());

    let echoed: Vec<Value> = peer
        .log()
        .into_iter()
        .filter(|e| e["body"]["params"]["name"] == "echo")
        .map(|e| e["body"]["params"]["arguments"]["text"].clone())
        .collect();
    assert_eq!(echoed, [json!("through uvx"), json!("through pipx")]);
}

// --- bad input ------------------------------------------------------------------------------

/// Every platform of a full release (headers only: the packaging reads formats, never runs
/// them): each gets its npm package (static Linux with no `libc` restriction, musl chosen over
/// gnu for one platform) and its wheel, tagged by what the header says.
#[test]
fn every_platform_gets_its_package_and_wheel_tag() {
    let dir = tempfile::Builder::new().prefix("mcp-valet-pkg-all-").tempdir().unwrap();
    let d = dir.path();
    let mut arm = fake_elf();
    arm[18] = 183; // EM_AARCH64
    let mut mac = vec![0u8; 32];
    mac[..4].copy_from_slice(b"\xcf\xfa\xed\xfe");
    mac[4..8].copy_from_slice(&0x0100_000cu32.to_le_bytes()); // CPU_TYPE_ARM64
    let mut glibc_x64 = fake_elf();
    glibc_x64.extend_from_slice(b"GLIBC_2.28"); // ignored: the musl build wins
    for (target, file, data) in [
        ("x86_64-unknown-linux-musl", "mcp-valet", fake_elf()),
        ("x86_64-unknown-linux-gnu", "mcp-valet", glibc_x64),
        ("aarch64-unknown-linux-musl", "mcp-valet", arm),
        ("x86_64-pc-windows-gnu", "mcp-valet.exe", fake_windows_exe()),
        ("aarch64-apple-darwin", "mcp-valet", mac),
    ] {
        std::fs::create_dir_all(d.join("bin").join(target)).unwrap();
        std::fs::write(d.join("bin").join(target).join(file), data).unwrap();
    }
    std::fs::write(d.join("VERSION"), "2.0.0\n").unwrap();

    let wheels: Vec<String> = built("package-wheel", d)
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        wheels,
        [
            "mcp_valet-2.0.0-py3-none-manylinux_2_17_x86_64.manylinux2014_x86_64.musllinux_1_1_x86_64.whl",
            "mcp_valet-2.0.0-py3-none-manylinux_2_17_aarch64.manylinux2014_aarch64.musllinux_1_1_aarch64.whl",
            "mcp_valet-2.0.0-py3-none-win_amd64.whl",
            "mcp_valet-2.0.0-py3-none-macosx_11_0_arm64.whl",
        ]
    );
    // The Windows wheel's script keeps its .exe, and RECORD lists it with its hash.
    let record = Command::new("python3")
        .args(["-c", "import sys, zipfile; sys.stdout.write(zipfile.ZipFile(sys.argv[1]).read('mcp_valet-2.0.0.dist-info/RECORD').decode())"])
        .arg(d.join("python/mcp_valet-2.0.0-py3-none-win_amd64.whl"))
        .output()
        .unwrap();
    let record = String::from_utf8_lossy(&record.stdout);
    assert!(
        record.starts_with("mcp_valet-2.0.0.data/scripts/mcp-valet.exe,sha256="),
        "{record}"
    );

    let tarballs: Vec<String> = built("package-npm", d)
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        tarballs,
        [
            "mcp-valet-linux-x64-2.0.0.tgz",
            "mcp-valet-linux-arm64-2.0.0.tgz",
            "mcp-valet-win32-x64-2.0.0.tgz",
            "mcp-valet-darwin-arm64-2.0.0.tgz",
            "mcp-valet-2.0.0.tgz",
        ]
    );
    let manifest = |tgz: &str| -> Value {
        let out = Command::new("tar")
            .arg("-xzOf")
            .arg(d.join("npm").join(tgz))
            .arg("package/package.json")
            .output()
            .unwrap();
        serde_json::from_slice(&out.stdout).unwrap()
    };
    let linux = manifest("mcp-valet-linux-x64-2.0.0.tgz");
    assert_eq!(linux["os"], json!(["linux"]));
    assert_eq!(linux["cpu"], json!(["x64"]));
    assert!(linux.get("libc").is_none(), "a static binary runs on any libc: {linux}");
    assert!(
        linux["description"]
            .as_str()
            .unwrap()
            .contains("x86_64-unknown-linux-musl")
    );
    assert_eq!(
        manifest("mcp-valet-win32-x64-2.0.0.tgz")["files"],
        json!(["bin/mcp-valet.exe"])
    );
    let launcher = manifest("mcp-valet-2.0.0.tgz");
    assert_eq!(
        launcher["optionalDependencies"],
        json!({"@mcp-valet/linux-x64": "2.0.0", "@mcp-valet/linux-arm64": "2.0.0",
               "@mcp-valet/win32-x64": "2.0.0", "@mcp-valet/darwin-arm64": "2.0.0"})
    );
}

/// `dist/<script> <dir>` must fail with one line on stderr containing `needle`, and leave
/// `<dir>` with the entries it had.
fn refused(script: &str, dir: &Path, needle: &str) {
    let before = listing(dir);
    let out = package(script, dir);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "dist/{script}: {out:?}");
    assert!(out.stdout.is_empty(), "{out:?}");
    assert_eq!(err.lines().count(), 1, "dist/{script}: {err}");
    assert!(err.starts_with(&format!("dist/{script}: error: ")), "{err}");
    assert!(err.contains(needle), "dist/{script}: {err:?} does not say {needle:?}");
    assert_eq!(listing(dir), before, "dist/{script} left something behind");
}

/// The 64-byte header of an x86_64 ELF executable, and nothing else.
fn fake_elf() -> Vec<u8> {
    let mut h = vec![0u8; 64];
    h[..4].copy_from_slice(b"\x7fELF");
    h[4] = 2; // 64-bit
    h[5] = 1; // little-endian
    h[18] = 62; // EM_X86_64
    h
}

fn listing(dir: &Path) -> Vec<String> {
    let mut all = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            all.push(p.strip_prefix(dir).unwrap().display().to_string());
            if p.is_dir() {
                todo.push(p);
            }
        }
    }
    all.sort();
    all
}

#[test]
fn packaging_refuses_bad_release_directories_with_one_line_and_writes_nothing() {
    for script in ["package-npm", "package-wheel"] {
        let dir = tempfile::Builder::new().prefix("mcp-valet-pkg-bad-").tempdir().unwrap();
        let d = dir.path();
        refused(script, d, "bin does not exist");
        std::fs::create_dir(d.join("bin")).unwrap();
        refused(script, d, "no binaries in");
        std::fs::create_dir(d.join("bin/x86_64-pc-windows-gnu")).unwrap();
        refused(script, d, "x86_64-pc-windows-gnu/mcp-valet.exe is missing");
        // A Linux (x86_64 ELF) binary where the Windows one belongs.
        std::fs::write(d.join("bin/x86_64-pc-windows-gnu/mcp-valet.exe"), fake_elf()).unwrap();
        refused(script, d, "is not a x86_64 PE executable");
        std::fs::remove_dir_all(d.join("bin/x86_64-pc-windows-gnu")).unwrap();
        std::fs::create_dir(d.join("bin/sparc-sun-solaris")).unwrap();
        refused(script, d, "sparc-sun-solaris is not a target this packaging knows");
        std::fs::remove_dir(d.join("bin/sparc-sun-solaris")).unwrap();
        std::fs::create_dir(d.join("bin").join(host_target())).unwrap();
        std::fs::write(d.join("bin").join(host_target()).join("mcp-valet"), b"#!/bin/sh\n").unwrap();
        std::fs::write(d.join("VERSION"), "1.2\n").unwrap();
        refused(script, d, "'1.2' in ");
        std::fs::write(d.join("VERSION"), "1.2.3\n").unwrap();
        refused(script, d, "is not a");
    }

    // A good directory with a VERSION: that version, and a second run replaces the first.
    let release = release_dir();
    std::fs::write(release.path().join("VERSION"), "7.8.9-rc.1\n").unwrap();
    let wheels = built("package-wheel", release.path());
    let name = wheels[0].file_name().unwrap().to_str().unwrap().to_string();
    assert!(name.starts_with("mcp_valet-7.8.9rc1-py3-none-"), "{name}");
    std::fs::write(release.path().join("VERSION"), "7.8.10\n").unwrap();
    built("package-wheel", release.path());
    let now = listing(&release.path().join("python"));
    assert_eq!(now.len(), 2, "{now:?}");
    assert!(now.iter().any(|n| n.starts_with("mcp_valet-7.8.10-")), "{now:?}");
    // A failing run leaves the last good python/ alone.
    std::fs::write(release.path().join("VERSION"), "not-a-version\n").unwrap();
    refused("package-wheel", release.path(), "not-a-version");
    assert_eq!(listing(&release.path().join("python")), now);
}
