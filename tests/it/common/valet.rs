//! Runs the real mcp-valet binary as a desktop client would: JSON-RPC lines on its stdin, its
//! stdout read line by line. Every stdout line is checked to be one JSON-RPC message: stdout
//! belongs to the protocol.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, Command, ExitStatus, Output, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

pub fn bin() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_mcp-valet"))
}

/// A fresh directory for mcp-valet's state, removed when dropped.
pub fn temp_home() -> tempfile::TempDir {
    tempfile::Builder::new().prefix("mcp-valet-test-").tempdir().unwrap()
}

pub struct Valet {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: Receiver<String>,
    stderr: Arc<Mutex<Vec<u8>>>,
    _home: Option<tempfile::TempDir>,
    /// Directories the test handed over (`keeping`), removed after the process is stopped.
    _kept: Vec<tempfile::TempDir>,
}

impl Valet {
    /// `mcp-valet <args>` with a private MCP_VALET_HOME and an in-memory token store.
    pub fn spawn(args: &[&str]) -> Valet {
        Valet::spawn_env(args, NO_ENV)
    }

    /// `spawn` with these variables too; an empty value removes the variable.
    pub fn spawn_env<K: AsRef<str>, V: AsRef<str>>(args: &[&str], envs: &[(K, V)]) -> Valet {
        let home = temp_home();
        let mut cmd = Command::new(bin());
        cmd.args(args)
            .env("MCP_VALET_HOME", home.path())
            .env("MCP_VALET_TOKEN_STORE", "memory")
            .env_remove("MCP_VALET_LOG")
            .env_remove("BROWSER")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        set_env(&mut cmd, envs);
        Valet::start(cmd, Some(home))
    }

    /// Starts `cmd`, a command line that runs mcp-valet (under wine, say) with its stdin,
    /// stdout and stderr piped; `home` is removed once the process has been stopped.
    pub fn start(mut cmd: Command, home: Option<tempfile::TempDir>) -> Valet {
        let mut child = cmd.spawn().expect("starting mcp-valet");
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
        let (stderr, _) = super::capture(child.stderr.take().unwrap());
        Valet {
            stdin: child.stdin.take(),
            child,
            lines: rx,
            stderr,
            _home: home,
            _kept: Vec::new(),
        }
    }

    /// Keeps `dir` (a browser's log, say) until this process has been stopped.
    pub fn keeping(mut self, dir: tempfile::TempDir) -> Valet {
        self._kept.push(dir);
        self
    }

    pub fn send(&mut self, msg: &Value) {
        self.send_raw(msg.to_string().as_bytes());
    }

    /// Writes bytes followed by a newline.
    pub fn send_raw(&mut self, bytes: &[u8]) {
        let stdin = self.stdin.as_mut().expect("stdin is open");
        stdin.write_all(bytes).unwrap();
        stdin.write_all(b"\n").unwrap();
        stdin.flush().unwrap();
    }

    /// The next stdout line, parsed; panics (with stderr) after `timeout`.
    pub fn recv_within(&mut self, timeout: Duration) -> Value {
        match self.lines.recv_timeout(timeout) {
            Ok(line) => parse_line(&line),
            Err(RecvTimeoutError::Timeout) => panic!(
                "no message from mcp-valet within {timeout:?}\n--- stderr ---\n{}",
                self.stderr()
            ),
            Err(RecvTimeoutError::Disconnected) => panic!("mcp-valet closed stdout\n--- stderr ---\n{}", self.stderr()),
        }
    }

    pub fn recv(&mut self) -> Value {
        self.recv_within(Duration::from_secs(20))
    }

    /// Reads until the response with this id arrives; returns it and what came before it.
    pub fn response_to(&mut self, id: &Value) -> (Value, Vec<Value>) {
        let mut before = Vec::new();
        loop {
            let m = self.recv();
            if m.get("id") == Some(id) && m.get("method").is_none() {
                return (m, before);
            }
            before.push(m);
        }
    }

    /// Sends a request and waits for its response.
    pub fn call(&mut self, id: i64, method: &str, params: Value) -> Value {
        self.send(&json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}));
        self.response_to(&json!(id)).0
    }

    /// initialize + notifications/initialized; returns the initialize result.
    pub fn handshake(&mut self) -> Value {
        let r = self.call(0, "initialize", init_params("2025-11-25"));
        assert!(
            r.get("result").is_some(),
            "initialize failed: {r}\n--- stderr ---\n{}",
            self.stderr()
        );
        self.send(&json!({"jsonrpc": "2.0", "method": "notifications/initialized"}));
        r["result"].clone()
    }

    pub fn tool(&mut self, id: i64, name: &str, args: Value) -> Value {
        self.call(id, "tools/call", json!({"name": name, "arguments": args}))
    }

    pub fn close_stdin(&mut self) {
        self.stdin.take();
    }

    /// Waits for exit; returns the status and everything left on stdout.
    pub fn wait_within(&mut self, timeout: Duration) -> (ExitStatus, Vec<Value>) {
        self.close_stdin();
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                // The reader thread ends at EOF; collect what it still holds.
                let mut rest = Vec::new();
                while let Ok(line) = self.lines.recv_timeout(Duration::from_millis(500)) {
                    rest.push(parse_line(&line));
                }
                return (status, rest);
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!(
                    "mcp-valet did not exit within {timeout:?}\n--- stderr ---\n{}",
                    self.stderr()
                );
            }
            thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn signal(&self, sig: &str) {
        let st = Command::new("kill")
            .args([&format!("-{sig}"), &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(st.success());
    }

    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.stderr.lock().unwrap()).into_owned()
    }

    /// stderr once `done` holds for it, or as it is after `wait`: a line written just before
    /// an answer may still be on its way through the pipe when the answer is read.
    pub fn stderr_when(&self, wait: Duration, done: impl Fn(&str) -> bool) -> String {
        let end = Instant::now() + wait;
        loop {
            let text = self.stderr();
            if done(&text) || Instant::now() >= end {
                return text;
            }
            thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Valet {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if thread::panicking() {
            eprintln!("--- mcp-valet stderr ---\n{}", self.stderr());
        }
    }
}

/// No variables beyond the inherited environment, for `run` and `Valet::spawn_env`.
pub const NO_ENV: &[(&str, &str)] = &[];

/// `envs` on top of the inherited environment; an empty value removes the variable.
fn set_env<K: AsRef<str>, V: AsRef<str>>(cmd: &mut Command, envs: &[(K, V)]) {
    for (k, v) in envs {
        let (k, v) = (k.as_ref(), v.as_ref());
        if v.is_empty() {
            cmd.env_remove(k);
        } else {
            cmd.env(k, v);
        }
    }
}

/// `mcp-valet <args>` run to the end with stdin closed, as a script runs a command; `envs` as
/// for `Valet::spawn_env`, on top of the inherited environment. Unless `envs` names one, the
/// command gets a throw-away `MCP_VALET_HOME` (removed when it ends), so that nothing it keeps,
/// such as a server's protocol era, lands in the user's data directory: pass `MCP_VALET_HOME`
/// when commands are to share state.
pub fn run<K: AsRef<str>, V: AsRef<str>>(args: &[&str], envs: &[(K, V)]) -> Output {
    let home = temp_home();
    let mut cmd = Command::new(bin());
    cmd.args(args).env("MCP_VALET_HOME", home.path()).stdin(Stdio::null());
    set_env(&mut cmd, envs);
    cmd.output().expect("running mcp-valet")
}

/// `run`, with `input` on stdin (then closed).
pub fn run_with_input<K: AsRef<str>, V: AsRef<str>>(args: &[&str], envs: &[(K, V)], input: &[u8]) -> Output {
    let home = temp_home();
    let mut cmd = Command::new(bin());
    cmd.args(args)
        .env("MCP_VALET_HOME", home.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    set_env(&mut cmd, envs);
    let mut child = cmd.spawn().expect("running mcp-valet");
    child.stdin.take().unwrap().write_all(input).unwrap();
    child.wait_with_output().unwrap()
}

/// One stdout line must be exactly one compact JSON-RPC 2.0 message (or a batch of them).
pub fn parse_line(line: &str) -> Value {
    let v: Value =
        serde_json::from_str(line).unwrap_or_else(|e| panic!("stdout carried a line that is not JSON ({e}): {line:?}"));
    let ok = |m: &Value| m.get("jsonrpc") == Some(&json!("2.0"));
    match &v {
        Value::Array(a) => assert!(!a.is_empty() && a.iter().all(ok), "not a JSON-RPC batch: {line}"),
        m => assert!(ok(m), "not a JSON-RPC message: {line}"),
    }
    v
}

pub fn init_params(version: &str) -> Value {
    json!({"protocolVersion": version, "capabilities": {"elicitation": {}, "sampling": {}, "roots": {"listChanged": true}},
           "clientInfo": {"name": "mcp-valet-tests", "version": "0"}})
}

/// The text of the first content item of a tools/call result.
pub fn text(resp: &Value) -> &str {
    resp["result"]["content"][0]["text"]
        .as_str()
        .unwrap_or_else(|| panic!("no text content in {resp}"))
}

/// Asserts an error that mcp-valet itself produced and returns it.
pub fn valet_error(resp: &Value) -> &Value {
    let e = &resp["error"];
    assert!(e.is_object(), "expected an error, got {resp}");
    assert_eq!(e["data"]["source"], "mcp-valet", "not an error from mcp-valet: {resp}");
    assert!(e["message"].as_str().unwrap().starts_with("mcp-valet: "), "{resp}");
    e
}
