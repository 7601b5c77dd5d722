//! The desktop client's side of a stdio bridge: spawn it with piped stdio, write one JSON-RPC
//! message per line, read replies line by line.

use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};

use crate::jsonrpc::{self, Incoming, Reply};
use crate::procs;

pub struct Spec {
    pub cmd: Vec<String>,
    pub env: Vec<(String, String)>,
    /// Where the bridge's stderr goes (a file, or /dev/null).
    pub stderr: String,
    /// `(KEY, DIR)`: every spawn gets KEY set to a new empty directory under DIR (a data
    /// directory with nothing remembered in it, e.g. mcp-valet's era file).
    pub fresh_dir_env: Option<(String, String)>,
}

/// Counts the fresh directories handed out (`Spec::fresh_dir_env`).
static FRESH: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

pub struct Bridge {
    pub pid: u32,
    child: Child,
    stdin: Option<ChildStdin>,
    out: BufReader<ChildStdout>,
    line: Vec<u8>,
    wbuf: Vec<u8>,
}

impl Bridge {
    pub fn spawn(spec: &Spec) -> Result<Bridge, String> {
        let (prog, args) = spec.cmd.split_first().ok_or("empty bridge command")?;
        let stderr = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&spec.stderr)
            .map_err(|e| format!("{}: {e}", spec.stderr))?;
        let mut cmd = Command::new(prog);
        cmd.args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(stderr))
            .kill_on_drop(true);
        for (k, v) in &spec.env {
            cmd.env(k, v);
        }
        if let Some((k, base)) = &spec.fresh_dir_env {
            let n = FRESH.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let dir = std::path::Path::new(base).join(format!("{}-{n}", std::process::id()));
            std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
            cmd.env(k, &dir);
        }
        let mut child = cmd.spawn().map_err(|e| format!("spawn {prog}: {e}"))?;
        let pid = child.id().ok_or("the bridge exited at once")?;
        let stdin = child.stdin.take();
        let out = BufReader::with_capacity(256 * 1024, child.stdout.take().ok_or("no stdout")?);
        Ok(Bridge {
            pid,
            child,
            stdin,
            out,
            line: Vec::with_capacity(64 * 1024),
            wbuf: Vec::new(),
        })
    }

    /// Writes one message and its newline in a single write.
    pub async fn send(&mut self, msg: &str) -> Result<(), String> {
        self.wbuf.clear();
        self.wbuf.extend_from_slice(msg.as_bytes());
        self.wbuf.push(b'\n');
        let stdin = self.stdin.as_mut().ok_or("stdin already closed")?;
        stdin
            .write_all(&self.wbuf)
            .await
            .map_err(|e| format!("write to the bridge: {e}"))
    }

    /// The next reply from the bridge; answers server requests and skips notifications.
    pub async fn recv_reply(&mut self) -> Result<Reply, String> {
        loop {
            self.line.clear();
            let n = self
                .out
                .read_until(b'\n', &mut self.line)
                .await
                .map_err(|e| format!("read from the bridge: {e}"))?;
            if n == 0 {
                return Err("the bridge closed its stdout".into());
            }
            let text = self.line.strip_suffix(b"\n").unwrap_or(&self.line);
            let text = text.strip_suffix(b"\r").unwrap_or(text);
            if text.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            match jsonrpc::parse(text)? {
                Incoming::Reply(r) => return Ok(r),
                Incoming::Request { id, method } => {
                    let a = jsonrpc::answer(&id, &method);
                    self.send(&a).await?;
                }
                Incoming::Other => {}
            }
        }
    }

    /// The last line read (the body of the last reply), e.g. for a full check.
    pub fn last_line(&self) -> &[u8] {
        &self.line
    }

    /// Sends a request and waits for its reply (other replies are an error: nothing else is
    /// in flight when this is used).
    pub async fn call(&mut self, id: u64, msg: &str) -> Result<Reply, String> {
        self.send(msg).await?;
        let r = self.recv_reply().await?;
        if r.id != id {
            return Err(format!("expected the reply to {id}, got one to {}", r.id));
        }
        Ok(r)
    }

    /// Closes stdin (the normal end of a session) and waits for the exit; after `grace`,
    /// SIGTERM to the whole tree, then SIGKILL. Returns how it ended.
    pub async fn shutdown(mut self, grace: Duration) -> String {
        let tree = procs::tree(self.pid);
        drop(self.stdin.take());
        let how = match tokio::time::timeout(grace, self.child.wait()).await {
            Ok(Ok(st)) => format!("exited ({st})"),
            Ok(Err(e)) => format!("wait failed: {e}"),
            Err(_) => {
                procs::signal_tree(self.pid, libc::SIGTERM);
                match tokio::time::timeout(Duration::from_secs(2), self.child.wait()).await {
                    Ok(_) => "did not exit on stdin close; ended by SIGTERM".into(),
                    Err(_) => {
                        procs::signal_tree(self.pid, libc::SIGKILL);
                        let _ = self.child.wait().await;
                        "did not exit on stdin close nor SIGTERM; killed".into()
                    }
                }
            }
        };
        // Orphaned grandchildren (re-parented when the bridge exited) must not linger.
        for p in tree.into_iter().skip(1) {
            if std::fs::metadata(format!("/proc/{p}")).is_ok() {
                // SAFETY: kill has no memory-safety preconditions.
                unsafe {
                    libc::kill(p as i32, libc::SIGKILL);
                }
            }
        }
        how
    }
}
