//! The real sign-in peers (tests/peers/auth/): an oidc-provider authorization server and an
//! MCP server (official TS SDK) that checks its JWTs, started together by stack.mjs.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use serde_json::Value;

use super::peers::{ensure_installed, http_request, peers_dir};
use super::valet::Valet;

pub struct Stack {
    pub issuer: String,
    pub mcp: String,
    child: Child,
    _stdin: Option<ChildStdin>,
    stderr: Arc<Mutex<Vec<u8>>>,
}

impl Stack {
    /// `node stack.mjs <as_args> -- <mcp_args>`.
    pub fn start(as_args: &[&str], mcp_args: &[&str]) -> Stack {
        ensure_installed();
        let mut cmd = Command::new("node");
        cmd.arg(auth_dir().join("stack.mjs"))
            .args(as_args)
            .arg("--")
            .args(mcp_args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("starting stack.mjs");
        let (stderr, _) = super::capture(child.stderr.take().unwrap());
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        thread::spawn(move || {
            let mut lines = BufReader::new(stdout).lines();
            let _ = tx.send(lines.next());
            for _ in lines {}
        });
        let line = match rx.recv_timeout(Duration::from_secs(60)) {
            Ok(Some(Ok(l))) => l,
            other => {
                let _ = child.kill();
                panic!(
                    "stack.mjs did not start ({other:?}):\n{}",
                    String::from_utf8_lossy(&stderr.lock().unwrap())
                );
            }
        };
        let v: Value = serde_json::from_str(&line).unwrap();
        Stack {
            issuer: v["issuer"].as_str().unwrap().to_owned(),
            mcp: v["mcp"].as_str().unwrap().to_owned(),
            _stdin: child.stdin.take(),
            child,
            stderr,
        }
    }

    fn get(&self, url: &str) -> Value {
        let (base, path) = split(url);
        let r = http_request(&base, "GET", &path, &[], None);
        assert_eq!(r.status, 200, "GET {url}: {}", r.body);
        serde_json::from_str(&r.body).unwrap()
    }

    /// The authorization server's counters (`GET /test/stats`).
    pub fn as_stats(&self) -> Value {
        self.get(&format!("{}/test/stats", self.issuer))
    }

    /// The MCP server's counters.
    pub fn mcp_stats(&self) -> Value {
        let (base, _) = split(&self.mcp);
        self.get(&format!("{base}/test/stats"))
    }

    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.stderr.lock().unwrap()).into_owned()
    }

    /// mcp-valet bridging to this stack's MCP server (`args` after its URL, `env` on top), with
    /// the scripted user as its browser. Returns the bridge and the browser's log, which exists
    /// once a browser has been opened.
    pub fn bridge(&self, args: &[&str], env: &[(&str, &str)]) -> (Valet, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("browser.log");
        let mut all = vec![
            ("BROWSER".to_owned(), fake_browser()),
            ("FAKE_BROWSER_LOG".to_owned(), log.to_str().unwrap().to_owned()),
        ];
        all.extend(env.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        let args: Vec<&str> = std::iter::once(self.mcp.as_str()).chain(args.iter().copied()).collect();
        (Valet::spawn_env(&args, &all).keeping(dir), log)
    }
}

/// How many tokens the authorization server issued with this grant type (from `as_stats`).
pub fn grants(stats: &Value, grant: &str) -> u64 {
    stats["token"][grant].as_u64().unwrap_or(0)
}

impl Drop for Stack {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if thread::panicking() {
            eprintln!("--- stack.mjs stderr ---\n{}", self.stderr());
        }
    }
}

fn split(url: &str) -> (String, String) {
    let after = url.find("://").map(|i| i + 3).unwrap();
    let slash = url[after..].find('/').map(|i| i + after).unwrap_or(url.len());
    (
        url[..slash].to_owned(),
        if slash == url.len() {
            "/".into()
        } else {
            url[slash..].to_owned()
        },
    )
}

pub fn auth_dir() -> PathBuf {
    peers_dir().join("auth")
}

/// `BROWSER` value of the scripted user (plain HTTP through the real login and consent pages).
pub fn fake_browser() -> String {
    auth_dir().join("fakebrowser.mjs").to_str().unwrap().to_owned()
}

/// `BROWSER` value that drives the real pages in headless Chromium.
pub fn chromium_browser() -> String {
    auth_dir().join("chromium.mjs").to_str().unwrap().to_owned()
}
