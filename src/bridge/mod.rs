//! Bridge mode: stdio JSON-RPC on one side, the remote MCP server on the other.

mod filter;
pub mod message;
mod relay;
pub mod remote;
mod signals;
pub(crate) mod stdio;

use anyhow::Context;
use bytes::Bytes;
use tokio::sync::{mpsc, oneshot};

use std::sync::Arc;

use crate::auth::prompt::LogPrompt;
use crate::auth::{Interaction, OAuthClient};
use crate::cli::BridgeArgs;
use crate::http::HttpConfig;
use crate::store::Store;
use remote::Credentials;

/// Runs the bridge until the client closes stdin (or a signal), then closes the session.
/// `ready` runs once SIGINT and SIGTERM are handled (a message that says Ctrl-C ends it
/// belongs there: before, Ctrl-C would kill the process rather than end it cleanly).
pub async fn run(args: &BridgeArgs, ready: impl FnOnce()) -> anyhow::Result<()> {
    let signals = signals::Signals::new();
    ready();
    let (remote, events_rx) = connect(args, Interaction::Allowed(Arc::new(LogPrompt)))?;
    let opts = options(args)?;
    let (in_tx, in_rx) = mpsc::channel(256);
    let (out_tx, out_rx) = mpsc::channel(1024);
    let (broken_tx, broken_rx) = oneshot::channel();
    let (writer, _restore) = start_stdio(args.max_message_size, in_tx, out_rx, broken_tx);

    // A task of its own rather than the runtime's `block_on` future: waking that one makes
    // the scheduler poll for I/O once more before running it, a system call per message.
    let relay = tokio::spawn(relay::run(remote, events_rx, in_rx, out_tx, broken_rx, opts, signals));
    if let Err(e) = relay.await {
        tracing::error!("the relay stopped: {e}");
    }
    // The relay dropped its end of the stdout queue: wait until everything is written.
    match writer {
        Writer::Task(t) => {
            let _ = t.await;
        }
        Writer::Thread(t) => {
            let _ = tokio::task::spawn_blocking(move || t.join()).await;
        }
    }
    if signals::INTERRUPTED.load(std::sync::atomic::Ordering::Relaxed) {
        return Err(crate::exit::Interrupted.into());
    }
    Ok(())
}

/// The remote side as bridge mode builds it: HTTP settings, credentials, transports.
/// `interaction` says whether a 401 may lead to a sign-in.
fn connect(
    args: &BridgeArgs,
    interaction: Interaction,
) -> anyhow::Result<(Arc<remote::Remote>, mpsc::UnboundedReceiver<remote::Event>)> {
    let http = HttpConfig::new(&crate::settings::http(&args.remote)?)?;
    tracing::info!(url = %crate::http::redact_url(&http.url), "bridging stdio to the remote MCP server");
    if http.explicit_authorization {
        tracing::info!("an Authorization header was given; it is sent as is");
    }
    let credentials = if http.explicit_authorization {
        Credentials::Explicit
    } else {
        let settings = crate::settings::auth(&args.auth)?;
        let store = Arc::new(Store::open(&settings.store).context("opening the token store")?);
        let oauth = Arc::new(OAuthClient::new(http.clone(), settings, store, interaction));
        // Read a stored login while the client is still starting: the first keyring access
        // costs a D-Bus session set-up, which should not delay the first request.
        let early = oauth.clone();
        tokio::spawn(async move {
            if let Err(e) = early.header().await {
                tracing::debug!("reading the stored login failed: {e}");
            }
        });
        Credentials::OAuth(oauth)
    };
    let (events_tx, events_rx) = mpsc::unbounded_channel();
    let ctx = remote::Ctx {
        http,
        credentials,
        events: events_tx,
        max_message: args.max_message_size,
        request_timeout: args.request_timeout,
        max_request_time: args.max_request_time,
        awaiting: tokio::sync::Semaphore::new(remote::MAX_AWAITING),
        backlog: Default::default(),
    };
    Ok((
        remote::Remote::new(ctx, args.remote.transport, args.remote.protocol),
        events_rx,
    ))
}

fn options(args: &BridgeArgs) -> anyhow::Result<relay::Options> {
    Ok(relay::Options {
        request_timeout: args.request_timeout,
        max_request_time: args.max_request_time,
        max_message: args.max_message_size,
        tools: filter::ToolFilter::new(&args.tools)?,
        warn_failures: true,
        keep_alive: (args.keep_alive || args.ping_interval.is_some())
            .then(|| args.ping_interval.unwrap_or(std::time::Duration::from_secs(30))),
    })
}

/// The bridge with in-memory channels in place of stdin and stdout, for the commands that act
/// as an MCP client (`tools`, `call`, …): the same remote side, relay and tool filters.
pub struct InProcess {
    /// JSON-RPC lines to the server, as a client writes them to the bridge's stdin. Dropping
    /// it is the end of stdin: the relay answers what is in flight and closes the session.
    pub input: Option<mpsc::Sender<Bytes>>,
    /// What the bridge would write to stdout, one JSON-RPC message each.
    pub output: mpsc::Receiver<Bytes>,
    relay: tokio::task::JoinHandle<()>,
    _stdout_open: oneshot::Sender<std::io::Error>,
}

impl InProcess {
    pub fn start(args: &BridgeArgs, interaction: Interaction) -> anyhow::Result<InProcess> {
        let (remote, events_rx) = connect(args, interaction)?;
        let (line_tx, mut line_rx) = mpsc::channel::<Bytes>(64);
        let (in_tx, in_rx) = mpsc::channel(64);
        tokio::spawn(async move {
            while let Some(line) = line_rx.recv().await {
                if in_tx.send(stdio::Input::Line(line)).await.is_err() {
                    return;
                }
            }
            let _ = in_tx.send(stdio::Input::Eof).await;
        });
        let (out_tx, out_rx) = mpsc::channel(1024);
        let (broken_tx, broken_rx) = oneshot::channel();
        let opts = relay::Options {
            warn_failures: false,
            ..options(args)?
        };
        let signals = signals::Signals::new();
        let relay = tokio::spawn(relay::run(remote, events_rx, in_rx, out_tx, broken_rx, opts, signals));
        Ok(InProcess {
            input: Some(line_tx),
            output: out_rx,
            relay,
            _stdout_open: broken_tx,
        })
    }

    /// Ends the session (DELETE for Streamable HTTP) once every request is answered.
    pub async fn close(mut self) {
        self.input.take();
        // Drain, so that the relay never waits on a full output queue.
        while self.output.recv().await.is_some() {}
        let _ = self.relay.await;
    }
}

enum Writer {
    // Only Unix serves pipes and sockets on the runtime (the Windows build warned).
    #[cfg_attr(not(unix), allow(dead_code))]
    Task(tokio::task::JoinHandle<()>),
    Thread(std::thread::JoinHandle<()>),
}

/// Pipes and sockets are served on the runtime's thread; anything else by a thread each.
/// The second value restores the descriptors' flags when dropped.
fn start_stdio(
    max: usize,
    input: mpsc::Sender<stdio::Input>,
    output: mpsc::Receiver<bytes::Bytes>,
    broken: oneshot::Sender<std::io::Error>,
) -> (Writer, Option<Box<dyn std::any::Any>>) {
    #[cfg(unix)]
    if let Some(restore) = stdio::pipes::take() {
        match stdio::pipes::start(max, input.clone(), output, broken) {
            Ok(task) => return (Writer::Task(task), Some(Box::new(restore))),
            Err((e, output_back, broken_back)) => {
                tracing::debug!("stdio cannot be polled ({e}); using threads");
                drop(restore);
                stdio::spawn_reader(std::io::stdin(), max, input);
                return (
                    Writer::Thread(stdio::spawn_writer(std::io::stdout(), output_back, broken_back)),
                    None,
                );
            }
        }
    }
    stdio::spawn_reader(std::io::stdin(), max, input);
    (
        Writer::Thread(stdio::spawn_writer(std::io::stdout(), output, broken)),
        None,
    )
}
