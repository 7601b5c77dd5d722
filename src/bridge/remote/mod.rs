//! The remote side of the bridge, behind one seam: the relay hands every client message to
//! [`Remote::send`] (after [`Remote::admit`] has put it in order) and receives everything the
//! server says as [`Event`]s. The transports (Streamable HTTP, legacy HTTP+SSE) live behind
//! this seam; another protocol revision is another transport here, and the stdio side does
//! not change.

mod credentials;
mod ctx;
mod downgrade;
pub mod era;
mod legacy_sse;
mod modern;
pub(crate) mod sse;
mod streamable;

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU64, Ordering};
use std::time::Instant;

use tokio::task::AbortHandle;

use tokio::sync::RwLock;

use crate::bridge::message::{Id, Kind, Message};
use crate::cli::{ProtocolChoice, TransportChoice};
use crate::failure::{Failure, FailureKind};

pub use credentials::Credentials;
pub use ctx::{Ctx, Event, MAX_AWAITING, Permit, STREAM_FOREVER};
use downgrade::{Downgrade, Link};
use era::Era;
use legacy_sse::LegacySse;
use modern::Modern;
use streamable::Streamable;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Active {
    Streamable = 1,
    Sse = 2,
    Modern = 3,
}

pub struct Remote {
    ctx: Arc<Ctx>,
    choice: TransportChoice,
    protocol: ProtocolChoice,
    /// The transport in use: 0 while unknown, else an `Active`. It changes back to 0 when a
    /// server turns out to speak another protocol revision than the one remembered.
    active: AtomicU8,
    /// The era is known to be (or remembered as) the handshake-era one: no discover probe.
    legacy_hint: AtomicBool,
    eras: era::EraCache,
    /// Writes of the era file still running.
    saves: std::sync::Mutex<Vec<tokio::task::JoinHandle<()>>>,
    gate: Arc<RwLock<()>>,
    streamable: Arc<Streamable>,
    legacy: Arc<LegacySse>,
    modern: Arc<Modern>,
    /// The task delivering each client request, so that a request the relay gave up on stops
    /// and releases what it holds (its turn, a connection). The number tells a task apart from
    /// a later one for a reused id.
    tasks: std::sync::Mutex<HashMap<Id, (u64, AbortHandle)>>,
    next_task: AtomicU64,
    downgrade: Downgrade,
    /// The host's first message has been looked at (`--transport sse`: whether it is a
    /// 2026-07-28 host).
    host_seen: AtomicBool,
}

impl Remote {
    pub fn new(ctx: Ctx, choice: TransportChoice, protocol: ProtocolChoice) -> Arc<Remote> {
        let ctx = Arc::new(ctx);
        let eras = era::EraCache::new(era::EraCache::default_home(), &ctx.http.url_text);
        let remembered = match protocol {
            ProtocolChoice::Auto if choice != TransportChoice::Sse => eras.load(),
            _ => None,
        };
        let active = match (choice, protocol, remembered) {
            (TransportChoice::Sse, _, _) => Active::Sse as u8,
            (_, ProtocolChoice::Modern, _) | (_, ProtocolChoice::Auto, Some(Era::Modern)) => Active::Modern as u8,
            _ => 0,
        };
        if let Some(e) = remembered {
            tracing::debug!(era = ?e, "the server's protocol era is remembered from an earlier run");
        }
        let legacy_hint = protocol == ProtocolChoice::Legacy || remembered == Some(Era::Legacy);
        let streamable = Streamable::new(ctx.clone());
        let (listeners, asks) = (streamable.listeners.clone(), streamable.asks.clone());
        Arc::new(Remote {
            downgrade: Downgrade::new(ctx.clone(), listeners.clone(), asks.clone()),
            streamable,
            legacy: LegacySse::new(ctx.clone(), listeners, asks),
            host_seen: AtomicBool::new(false),
            modern: Modern::new(ctx.clone()),
            ctx,
            choice,
            protocol,
            active: AtomicU8::new(active),
            legacy_hint: AtomicBool::new(legacy_hint),
            eras,
            saves: std::sync::Mutex::new(Vec::new()),
            gate: Arc::new(RwLock::new(())),
            tasks: std::sync::Mutex::new(HashMap::new()),
            next_task: AtomicU64::new(0),
        })
    }

    fn tasks(&self) -> std::sync::MutexGuard<'_, HashMap<Id, (u64, AbortHandle)>> {
        self.tasks.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Starts delivering a message (`send`) in a task of its own; a request's task can be
    /// stopped with `give_up`.
    pub fn spawn_send(self: &Arc<Self>, msg: Message, permit: Permit) {
        let Kind::Request { id, .. } = &msg.kind else {
            tokio::spawn(self.clone().send(msg, permit));
            return;
        };
        let id = id.clone();
        let serial = self.next_task.fetch_add(1, Ordering::Relaxed);
        let me = self.clone();
        let key = id.clone();
        // Held while spawning, so that a task finishing at once removes its own entry.
        let mut tasks = self.tasks();
        let task = tokio::spawn(async move {
            me.clone().send(msg, permit).await;
            let mut tasks = me.tasks();
            if tasks.get(&key).is_some_and(|(s, _)| *s == serial) {
                tasks.remove(&key);
            }
        });
        tasks.insert(id, (serial, task.abort_handle()));
    }

    /// The relay has written (or dropped) a server message of `n` bytes.
    pub fn taken(&self, n: usize) {
        self.ctx.backlog.taken(n);
    }

    /// The relay answered request `id` itself (its time ran out): stop the work on it, which
    /// releases its turn (the lifecycle's for `initialize`) and its connection. The task's
    /// `Done` still reaches the relay.
    pub fn give_up(&self, id: &Id) {
        if let Some((_, task)) = self.tasks().remove(id) {
            task.abort();
        }
    }

    /// Writes the era file in the background; `shutdown` waits for it.
    fn remember(&self, era: Option<Era>) {
        let task = self.eras.save_later(era);
        self.saves.lock().unwrap_or_else(|e| e.into_inner()).push(task);
    }

    fn active(&self) -> Option<Active> {
        match self.active.load(Ordering::Acquire) {
            1 => Some(Active::Streamable),
            2 => Some(Active::Sse),
            3 => Some(Active::Modern),
            _ => None,
        }
    }

    fn set_active(&self, a: Active) {
        self.active.store(a as u8, Ordering::Release);
    }

    fn exclusive(&self, msg: &Message) -> bool {
        let lifecycle = msg.is_request("initialize") || msg.is_notification("notifications/initialized");
        self.active().is_none() || lifecycle
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
        matches!(self.active(), Some(Active::Streamable)) && self.streamable.accepts_batches()
    }

    /// Delivers one message; failures come back as events, and one `Done` always follows.
    pub async fn send(self: Arc<Self>, msg: Message, permit: Permit) {
        let mut done = DoneGuard {
            ctx: &self.ctx,
            id: msg.request_id().cloned(),
            delivered: false,
        };
        let deadline = Instant::now() + self.ctx.request_timeout;
        // Each way is boxed: this future is moved whole into its task, and unboxed it would be
        // as large as the largest of them (the probe's, ~8 KiB) for every message.
        done.delivered = match self.active() {
            Some(Active::Sse) if self.downgrade.on() => {
                Box::pin(self.downgrade.send(&self.sse_link(), &msg, permit, deadline)).await
            }
            Some(Active::Sse) if self.first_from_modern_host(&msg) => {
                Box::pin(self.downgrade_sse(&msg, permit, deadline)).await
            }
            Some(Active::Sse) => Box::pin(self.legacy.send(&msg, deadline)).await,
            Some(Active::Streamable) if self.downgrade.on() => {
                let link = Link::Streamable(self.streamable.clone());
                Box::pin(self.downgrade.send(&link, &msg, permit, deadline)).await
            }
            Some(Active::Streamable) => Box::pin(self.streamable.send(&msg, permit, deadline, false))
                .await
                .delivered(),
            Some(Active::Modern) => Box::pin(self.send_modern(&msg, permit, deadline)).await,
            None => Box::pin(self.probe(msg.clone(), permit, deadline)).await,
        };
    }

    fn sse_link(&self) -> Link {
        Link::Sse(self.legacy.clone())
    }

    /// With `--transport sse` no probe runs: whether the host's first message shows a
    /// 2026-07-28 host (only the first one is looked at).
    fn first_from_modern_host(&self, msg: &Message) -> bool {
        !self.host_seen.load(Ordering::Relaxed)
            && !self.host_seen.swap(true, Ordering::AcqRel)
            && downgrade::modern_host(msg)
    }

    /// A 2026-07-28 host in front of a server of the HTTP+SSE transport: the bridge makes the
    /// handshake on it and translates, as on Streamable HTTP.
    async fn downgrade_sse(&self, msg: &Message, permit: Permit, deadline: Instant) -> bool {
        let link = self.sse_link();
        match self.downgrade.start(&link, msg, deadline).await {
            Ok(()) => {
                self.set_active(Active::Sse);
                self.downgrade.send(&link, msg, permit, deadline).await
            }
            Err(e) => {
                self.ctx.fail(msg, e);
                false
            }
        }
    }

    async fn send_modern(&self, msg: &Message, permit: Permit, deadline: Instant) -> bool {
        // Only a handshake keeps its turn: any other request may take long (a host's
        // subscriptions/listen lasts as long as the host keeps it), and the era is known now.
        let permit = if msg.is_request("initialize") {
            permit
        } else {
            drop(permit);
            Permit::Shared
        };
        let delivered = self.modern.send(msg, deadline).await;
        let stale = self.modern.take_stale();
        if stale && self.protocol == ProtocolChoice::Modern && msg.is_request("initialize") && !delivered {
            self.ctx.fail(
                msg,
                Failure::new(
                    FailureKind::Era,
                    format!(
                        "the server does not speak MCP {} (--protocol modern); try --protocol auto",
                        era::MODERN
                    ),
                ),
            );
            return false;
        }
        if stale && self.protocol == ProtocolChoice::Auto {
            tracing::info!("the server answered like a server of the older protocol; asking it again");
            self.remember(None);
            self.active.store(0, Ordering::Release);
            if msg.is_request("initialize") && !delivered {
                // Discover said legacy: the handshake goes to the server after all.
                self.became_legacy("server/discover");
                return Box::pin(self.probe(msg.clone(), permit, deadline)).await;
            }
            self.legacy_hint.store(false, Ordering::Release);
        }
        delivered
    }

    fn become_modern(&self, discover: Option<serde_json::Value>) {
        tracing::info!("the server speaks MCP {}", era::MODERN);
        if let Some(d) = discover {
            self.modern.set_discover(d);
        }
        self.set_active(Active::Modern);
        if self.protocol == ProtocolChoice::Auto {
            self.remember(Some(Era::Modern));
        }
    }

    /// Asks the server which era it speaks (`server/discover`). `None`: the request failed and
    /// has been answered with the error.
    async fn ask_era(&self, msg: &Message, deadline: Instant) -> Option<era::Verdict> {
        match self.modern.discover(deadline).await {
            Ok(v) => Some(v),
            Err(e) => {
                self.ctx.fail(msg, e);
                None
            }
        }
    }

    fn became_legacy(&self, why: &str) {
        tracing::info!("using the initialize-based MCP revisions: {why}");
        self.legacy_hint.store(true, Ordering::Release);
        if self.protocol == ProtocolChoice::Auto {
            self.remember(Some(Era::Legacy));
        }
    }

    /// The first exchange with a server whose era or transport is not known: `server/discover`
    /// (unless the era is remembered as legacy), then Streamable HTTP, then HTTP+SSE when the
    /// answer is 400, 404 or 405.
    async fn probe(&self, msg: Message, permit: Permit, deadline: Instant) -> bool {
        let discovered = !self.legacy_hint.load(Ordering::Acquire);
        if discovered {
            match self.ask_era(&msg, deadline).await {
                Some(era::Verdict::Modern(d)) => {
                    self.become_modern(d);
                    return self.send_modern(&msg, permit, deadline).await;
                }
                Some(era::Verdict::Legacy(why)) => self.became_legacy(&why),
                None => return false,
            }
        }
        if downgrade::modern_host(&msg) && self.choice != TransportChoice::Sse {
            // A 2026-07-28 host in front of a server of the older revisions: the bridge makes
            // the handshake and answers server/discover from it.
            let link = Link::Streamable(self.streamable.clone());
            match self.downgrade.start(&link, &msg, deadline).await {
                Ok(()) => {
                    self.set_active(Active::Streamable);
                    return self.downgrade.send(&link, &msg, permit, deadline).await;
                }
                Err(e) if self.choice == TransportChoice::Auto && matches!(e.status, Some(400 | 404 | 405)) => {
                    // No Streamable HTTP here: maybe the 2024-11-05 HTTP+SSE transport.
                    tracing::debug!("the bridge's initialize was refused ({e}); trying the HTTP+SSE transport");
                    match self.legacy.connect(deadline).await {
                        Ok(()) => {
                            tracing::info!("the server does not speak Streamable HTTP; using the HTTP+SSE transport");
                            return self.downgrade_sse(&msg, permit, deadline).await;
                        }
                        Err(sse_err) => {
                            tracing::debug!("HTTP+SSE fallback failed too: {sse_err}");
                            if !msg.is_request("server/discover") {
                                self.ctx.fail(&msg, e);
                                return false;
                            }
                        }
                    }
                }
                Err(e) if msg.is_request("server/discover") => {
                    tracing::info!("answering server/discover with -32601 (the host falls back to initialize): {e}");
                }
                Err(e) => {
                    self.ctx.fail(&msg, e);
                    return false;
                }
            }
        }
        if msg.is_request("server/discover") {
            // A 2026-07-28 host probing a server of the older revisions: it falls back to
            // initialize on this answer.
            let answer = Failure::new(
                FailureKind::Era,
                "the server speaks only the initialize-based MCP revisions; use initialize",
            );
            self.ctx.fail(&msg, answer.with_code(era::code::METHOD_NOT_FOUND));
            return false;
        }
        if discovered && let Some((init, initialized)) = self.modern.handshake() {
            // The host's handshake was answered here while the server spoke 2026-07-28:
            // start a session with it now.
            if let Err(e) = self.streamable.adopt(init, initialized, deadline).await {
                self.ctx.fail(&msg, e);
                return false;
            }
        }
        let probing = self.choice == TransportChoice::Auto || !discovered;
        match self.streamable.send(&msg, permit, deadline, probing).await {
            streamable::Outcome::Delivered => {
                self.set_active(Active::Streamable);
                true
            }
            streamable::Outcome::Failed => false,
            streamable::Outcome::NotStreamable(err) => {
                if !discovered && self.protocol == ProtocolChoice::Auto {
                    // Remembered as legacy, but refused: the server may have changed era.
                    match self.ask_era(&msg, deadline).await {
                        Some(era::Verdict::Modern(d)) => {
                            self.become_modern(d);
                            return self.send_modern(&msg, Permit::Shared, deadline).await;
                        }
                        Some(era::Verdict::Legacy(why)) => self.became_legacy(&why),
                        None => return false,
                    }
                }
                if self.choice != TransportChoice::Auto {
                    self.ctx.fail(&msg, err);
                    return false;
                }
                match self.legacy.connect(deadline).await {
                    Ok(()) => {
                        tracing::info!("the server does not speak Streamable HTTP; using the HTTP+SSE transport");
                        self.set_active(Active::Sse);
                        self.legacy.send(&msg, deadline).await
                    }
                    Err(sse_err) => {
                        tracing::debug!("HTTP+SSE fallback failed too: {sse_err}");
                        self.ctx.fail(&msg, err);
                        false
                    }
                }
            }
        }
    }

    /// Ends the session: closes streams and, for Streamable HTTP, sends DELETE.
    pub async fn shutdown(&self) {
        let saves = std::mem::take(&mut *self.saves.lock().unwrap_or_else(|e| e.into_inner()));
        for s in saves {
            let _ = s.await;
        }
        match self.active() {
            Some(Active::Streamable) => self.streamable.shutdown().await,
            Some(Active::Sse) => self.legacy.shutdown(),
            Some(Active::Modern) => self.modern.shutdown(),
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Proves that the future of `send`, which every message moves whole into a task of its
    /// own, stays small: with its ways unboxed it was as large as the largest (8 264 bytes in a
    /// release build), copied for every message (~10 % of the instructions per relayed call).
    #[test]
    fn the_future_every_message_moves_into_its_task_is_small() {
        fn returned<A, R>(_: impl FnOnce(A) -> R) -> usize {
            std::mem::size_of::<R>()
        }
        let size = returned(|(r, m, p): (Arc<Remote>, Message, Permit)| r.send(m, p));
        assert!(size <= 1024, "Remote::send's future is {size} bytes");
    }
}
