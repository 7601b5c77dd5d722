//! Logs go to stderr or a file, never to stdout (it carries the protocol).
//!
//! Logging never blocks the relay: a client that does not read the bridge's stderr would
//! otherwise stop it at the first full pipe (logs are written from the runtime's one thread,
//! which also handles SIGTERM). Lines are handed to a writer thread through a bounded queue;
//! when the queue is full they are dropped and counted, and the count is written once the
//! writer catches up ([`Lossy`]).

use std::io::Write;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, TrySendError};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use anyhow::Context;
use tracing_subscriber::EnvFilter;

use crate::cli::LogArgs;

pub fn init(args: &LogArgs) -> anyhow::Result<()> {
    let level = if args.quiet {
        "error"
    } else {
        match args.verbose {
            0 => "warn",
            1 => "info",
            2 => "debug",
            _ => "trace",
        }
    };
    // Our own crate at the chosen level; dependencies one notch quieter unless asked.
    let default = format!("{}={level},warn", env!("CARGO_CRATE_NAME"));
    let filter = match std::env::var("MCP_VALET_LOG") {
        Ok(s) if !s.trim().is_empty() => {
            let s = if s.contains('=') || s.contains(',') {
                s
            } else {
                format!("{}={s},warn", env!("CARGO_CRATE_NAME"))
            };
            EnvFilter::try_new(&s).with_context(|| format!("MCP_VALET_LOG=`{s}` is not a valid log filter"))?
        }
        _ => EnvFilter::new(default),
    };
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_target(false);
    match &args.log_file {
        Some(path) => {
            let file = open_log(path).with_context(|| format!("opening the log file {}", path.display()))?;
            builder
                .with_ansi(false)
                .with_writer(Lossy::start(Box::new(file)))
                .init();
        }
        None => builder
            .with_ansi(crate::commands::console::colour_on_stderr())
            .with_writer(Lossy::start(Box::new(std::io::stderr())))
            .init(),
    }
    Ok(())
}

/// Lines waiting for the writer, at most (a line is one log event).
const QUEUE_LINES: usize = 1024;
/// Bytes waiting for the writer, at most.
const QUEUE_BYTES: usize = 1 << 20;

/// The log writer of this process, once `init` has run.
static LOG: OnceLock<Lossy> = OnceLock::new();

/// A bounded, lossy log writer: each event goes into a queue that a thread of its own
/// drains into the real output; an event that does not fit is dropped and counted.
#[derive(Clone)]
pub struct Lossy {
    queue: SyncSender<Vec<u8>>,
    shared: Arc<Shared>,
}

struct Shared {
    /// Bytes queued and not yet written.
    queued: AtomicUsize,
    /// Events dropped since the last report.
    dropped: AtomicU64,
}

impl Lossy {
    fn start(out: Box<dyn Write + Send>) -> Lossy {
        let (queue, rx) = std::sync::mpsc::sync_channel(QUEUE_LINES);
        let shared = Arc::new(Shared {
            queued: AtomicUsize::new(0),
            dropped: AtomicU64::new(0),
        });
        let s = shared.clone();
        std::thread::Builder::new()
            .name("log-writer".into())
            .spawn(move || write_out(rx, out, &s))
            .expect("starting the log writer thread");
        let lossy = Lossy { queue, shared };
        let _ = LOG.set(lossy.clone());
        lossy
    }

    /// Queues one event; drops it (and counts it) when the queue is full.
    fn offer(&self, line: &[u8]) {
        let sh = &self.shared;
        if sh.queued.fetch_add(line.len(), Ordering::AcqRel) + line.len() > QUEUE_BYTES {
            sh.queued.fetch_sub(line.len(), Ordering::AcqRel);
            sh.dropped.fetch_add(1, Ordering::Relaxed);
            return;
        }
        match self.queue.try_send(line.to_vec()) {
            Ok(()) => {}
            Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => {
                sh.queued.fetch_sub(line.len(), Ordering::AcqRel);
                sh.dropped.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}

fn write_out(rx: Receiver<Vec<u8>>, mut out: Box<dyn Write + Send>, sh: &Shared) {
    loop {
        match rx.recv_timeout(Duration::from_millis(500)) {
            Ok(line) => {
                let _ = out.write_all(&line);
                sh.queued.fetch_sub(line.len(), Ordering::AcqRel);
            }
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => return,
        }
        let dropped = sh.dropped.load(Ordering::Relaxed);
        if dropped > 0 {
            let _ = writeln!(
                out,
                "mcp-valet: {dropped} log lines were dropped: the log output was not read fast enough"
            );
            let _ = out.flush();
            // Counted as reported only once written (`finish` waits for that).
            sh.dropped.fetch_sub(dropped, Ordering::Relaxed);
        }
    }
}

impl std::io::Write for Lossy {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.offer(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Lossy {
    type Writer = Lossy;

    fn make_writer(&'a self) -> Lossy {
        self.clone()
    }
}

/// A last line for the person at the terminal (the error a command ended with), through the
/// log writer when there is one, so that it cannot block either. `false`: there is none, and
/// the caller writes the line itself.
pub fn last_words(line: &str) -> bool {
    match LOG.get() {
        Some(log) => {
            log.offer(format!("{line}\n").as_bytes());
            true
        }
        None => false,
    }
}

/// Before the process exits: gives the writer up to `wait` to write what is queued.
pub fn finish(wait: Duration) {
    let Some(log) = LOG.get() else { return };
    let sh = &log.shared;
    // An empty line wakes the writer to report what was dropped.
    let _ = log.queue.try_send(Vec::new());
    let until = Instant::now() + wait;
    while (sh.queued.load(Ordering::Acquire) > 0 || sh.dropped.load(Ordering::Relaxed) > 0) && Instant::now() < until {
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn open_log(path: &std::path::Path) -> std::io::Result<std::fs::File> {
    let mut o = std::fs::OpenOptions::new();
    o.create(true).append(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        o.mode(0o600);
    }
    o.open(path)
}
