//! SIGINT and SIGTERM for the relay: the first asks it to finish what is in flight.

/// Whether a SIGINT (Ctrl-C) arrived: the bridge then exits 130, as shells expect.
pub static INTERRUPTED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// SIGINT and SIGTERM (Ctrl-C on Windows). `recv` yields `true` for the first signal.
pub struct Signals {
    #[cfg(unix)]
    int: Option<tokio::signal::unix::Signal>,
    #[cfg(unix)]
    term: Option<tokio::signal::unix::Signal>,
    seen: bool,
}

impl Signals {
    /// Starts listening: from here on SIGINT and SIGTERM no longer end the process by
    /// themselves (so whatever tells a person Ctrl-C works comes after this).
    pub fn new() -> Signals {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            Signals {
                int: signal(SignalKind::interrupt()).ok(),
                term: signal(SignalKind::terminate()).ok(),
                seen: false,
            }
        }
        #[cfg(not(unix))]
        Signals { seen: false }
    }

    pub async fn recv(&mut self) -> bool {
        #[cfg(unix)]
        {
            let int = async {
                match &mut self.int {
                    Some(s) => s.recv().await,
                    None => std::future::pending().await,
                }
            };
            let term = async {
                match &mut self.term {
                    Some(s) => s.recv().await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                _ = int => INTERRUPTED.store(true, std::sync::atomic::Ordering::Relaxed),
                _ = term => {}
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
            INTERRUPTED.store(true, std::sync::atomic::Ordering::Relaxed);
        }
        !std::mem::replace(&mut self.seen, true)
    }
}
