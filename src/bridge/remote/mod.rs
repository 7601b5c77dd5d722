//! The remote side of the bridge, behind one seam: the relay hands every client message to
//! [`Remote::send`] (after [`Remote::admit`] has put it in order) and receives everything the
//! server says as [`Event`]s. The transports (Streamable HTTP, legacy HTTP+SSE) live behind
//! this seam; another protocol revision is another transport here, and the stdio side does
//! not change.

mod credentials;
mod ctx;
mod legacy_sse;
mod sse;
mod streamable;

use std::sync::{Arc, OnceLock};
use std::time::Instant;

use tokio::sync::RwLock;

use crate::bridge::message::{Id, Message};
use crate::cli::TransportChoice;

pub use credentials::Credentials;
pub use ctx::{Ctx, Event, MAX_AWAITING, Permit};
use legacy_sse::LegacySse;
use streamable::Streamable;

enum Active {
    Streamable,
    Sse,
}

pub struct Remote {
    ctx: Arc<Ctx>,
    choice: TransportChoice,
    active: OnceLock<Active>,
    gate: Arc<RwLock<()>>,
    streamable: Arc<Streamable>,
    legacy: Arc<LegacySse>,
}

impl Remote {
    pub fn new(ctx: Ctx, choice: TransportChoice) -> Arc<Remote> {
        let ctx = Arc::new(ctx);
        let active = OnceLock::new();
        if choice == TransportChoice::Sse {
            let _ = active.set(Active::Sse);
        }
        Arc::new(Remote {
            streamable: Streamable::new(ctx.clone()),
            legacy: LegacySse::new(ctx.clone()),
            ctx,
            choice,
            active,
            gate: Arc::new(RwLock::new(())),
        })
    }

    fn exclusive(&self, msg: &Message) -> bool {
        let lifecycle = msg.is_request("initialize") || msg.is_notification("notifications/initialized");
        self.active.get().is_none() || lifecycle
    }

    /// Waits for this message's turn. Call in the order the client sent the messages.
    pub async fn admit(&self, msg: &Message) -> Permit {
        if self.exclusive(msg) {
            Permit::Exclusive(self.gate.clone().write_owned().await)
        } else {
            drop(self.gate.read().await);
            Permit::Shared
        }
    }

    /// The message's turn if it is free right now.
    pub fn try_admit(&self, msg: &Message) -> Option<Permit> {
        if self.exclusive(msg) {
            self.gate.clone().try_write_owned().ok().map(Permit::Exclusive)
        } else {
            self.gate.try_read().ok().map(|_| Permit::Shared)
        }
    }

    /// Whether the server takes JSON-RPC batches (MCP 2025-03-26 only).
    pub fn accepts_batches(&self) -> bool {
        matches!(self.active.get(), Some(Active::Streamable)) && self.streamable.accepts_batches()
    }

    /// Delivers one message; failures come back as events, and one `Done` always follows.
    pub async fn send(self: Arc<Self>, msg: Message, permit: Permit) {
        let mut done = DoneGuard {
            ctx: &self.ctx,
            id: msg.request_id().cloned(),
            delivered: false,
        };
        let deadline = Instant::now() + self.ctx.request_timeout;
        done.delivered = match self.active.get() {
            Some(Active::Sse) => self.legacy.send(&msg, deadline).await,
            Some(Active::Streamable) => self.streamable.send(&msg, permit, deadline, false).await.delivered(),
            None => self.probe(msg.clone(), permit, deadline).await,
        };
    }

    /// The first exchange with a server in `auto` mode: Streamable HTTP, then HTTP+SSE when the
    /// answer is 400, 404 or 405.
    async fn probe(&self, msg: Message, permit: Permit, deadline: Instant) -> bool {
        let probing = self.choice == TransportChoice::Auto;
        match self.streamable.send(&msg, permit, deadline, probing).await {
            streamable::Outcome::Delivered => {
                let _ = self.active.set(Active::Streamable);
                true
            }
            streamable::Outcome::Failed => false,
            streamable::Outcome::NotStreamable(err) => match self.legacy.connect(deadline).await {
                Ok(()) => {
                    tracing::info!("the server does not speak Streamable HTTP; using the HTTP+SSE transport");
                    let _ = self.active.set(Active::Sse);
                    self.legacy.send(&msg, deadline).await
                }
                Err(sse_err) => {
                    tracing::debug!("HTTP+SSE fallback failed too: {sse_err}");
                    self.ctx.fail(&msg, err);
                    false
                }
            },
        }
    }

    /// Ends the session: closes streams and, for Streamable HTTP, sends DELETE.
    pub async fn shutdown(&self) {
        match self.active.get() {
            Some(Active::Streamable) => self.streamable.shutdown().await,
            Some(Active::Sse) => self.legacy.shutdown(),
            None => {}
        }
    }
}

struct DoneGuard<'a> {
    ctx: &'a Ctx,
    id: Option<Id>,
    delivered: bool,
}

impl Drop for DoneGuard<'_> {
    fn drop(&mut self) {
        self.ctx.emit(Event::Done {
            id: self.id.take(),
            delivered: self.delivered,
        });
    }
}
