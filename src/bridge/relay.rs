//! The relay core: one task owns the table of requests the client is waiting on, so that every
//! request gets exactly one answer — the server's, or an error from mcp-valet saying what went
//! wrong — and nothing else reaches stdout.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use bytes::{BufMut, Bytes, BytesMut};
use serde_json::value::RawValue;
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;

use super::message::{self, Id, Invalid, Kind, Message, Parsed};
use super::remote::{Event, Remote, STREAM_FOREVER};
use super::signals::Signals;
use super::stdio::Input;
use crate::failure::{Failure, FailureKind, code};

pub struct Options {
    pub request_timeout: Duration,
    pub max_request_time: Duration,
    pub max_message: usize,
    pub tools: super::filter::ToolFilter,
    /// Log failed requests as warnings (bridge mode); the commands report them themselves.
    pub warn_failures: bool,
    /// `--keep-alive`: ping the server this often once the client has initialized.
    pub keep_alive: Option<Duration>,
}

/// The batch "slot" of mcp-valet's own keep-alive pings: no batch has it, so `fill` drops
/// their answers and nothing reaches the client.
const KEEP_ALIVE_SLOT: (u64, usize) = (u64::MAX, 0);
const KEEP_ALIVE_ID: &str = "mcp-valet-keep-alive-";

/// How long in-flight requests get after SIGINT/SIGTERM before they are answered with an error.
const SIGNAL_GRACE: Duration = Duration::from_millis(1000);
/// How long notifications still on their way get once every request is answered at EOF.
const EOF_LINGER: Duration = Duration::from_secs(5);
/// Events from the server handled in a row before a line from the client gets a turn.
const EVENT_RUN: u32 = 32;
/// Requests in flight at once. A desktop client has a handful; past this the client gets an
/// error at once for each further request, so the table stays bounded.
pub const MAX_PENDING: usize = 10_000;
/// Messages in one batch from the client. Past this every request in it is answered with an
/// error and nothing is sent.
pub const MAX_BATCH: usize = 10_000;

/// When a request's time is up. The heap holds one of these per registered request, earliest
/// first; entries of requests answered meanwhile (or whose deadline moved) are skipped when
/// they come up, and the heap is rebuilt when such entries make up most of it.
struct Due {
    at: Instant,
    id: Id,
}

impl PartialEq for Due {
    fn eq(&self, other: &Due) -> bool {
        self.at == other.at
    }
}
impl Eq for Due {}
impl PartialOrd for Due {
    fn partial_cmp(&self, other: &Due) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Due {
    fn cmp(&self, other: &Due) -> std::cmp::Ordering {
        self.at.cmp(&other.at)
    }
}

struct Pending {
    raw_id: Box<RawValue>,
    method: Box<str>,
    deadline: Instant,
    hard_deadline: Instant,
    token: Option<Id>,
    slot: Option<(u64, usize)>,
    delivered: bool,
}

impl Pending {
    fn due(&self) -> Instant {
        self.deadline.min(self.hard_deadline)
    }
}

/// A batch from the client, answered as one array once all its requests are answered.
struct Batch {
    slots: Vec<Option<Bytes>>,
    missing: usize,
}

#[derive(PartialEq)]
enum Closing {
    Open,
    Eof(Instant),
    Signal(Instant),
}

pub struct Relay {
    queued: Arc<Queued>,
    remote: Arc<Remote>,
    out: mpsc::Sender<Bytes>,
    dispatch: mpsc::Sender<Message>,
    pending: HashMap<Id, Pending>,
    /// The deadlines of `pending`, earliest first (with stale entries; see `Due`).
    deadlines: BinaryHeap<Reverse<Due>>,
    by_token: HashMap<Id, Id>,
    batches: HashMap<u64, Batch>,
    next_batch: u64,
    inflight: usize,
    opts: Options,
    closing: Closing,
    /// The client sent `notifications/initialized`: the session is up, pings may go.
    initialized: bool,
    /// Keep-alive pings sent, and the id of the one still unanswered.
    pings: u64,
    ping_pending: Option<Id>,
}

/// Runs the bridge until stdin ends (and every request is answered) or a signal arrives.
pub async fn run(
    remote: Arc<Remote>,
    mut events: mpsc::UnboundedReceiver<Event>,
    mut stdin: mpsc::Receiver<Input>,
    out: mpsc::Sender<Bytes>,
    mut stdout_broken: oneshot::Receiver<std::io::Error>,
    opts: Options,
    mut signals: Signals,
) {
    let (dispatch, queue) = mpsc::channel(1024);
    let queued = Arc::new(Queued::default());
    tokio::spawn(dispatcher(remote.clone(), queue, queued.clone()));
    let mut relay = Relay {
        queued,
        remote: remote.clone(),
        out,
        dispatch,
        pending: HashMap::new(),
        deadlines: BinaryHeap::new(),
        by_token: HashMap::new(),
        batches: HashMap::new(),
        next_batch: 0,
        inflight: 0,
        opts,
        closing: Closing::Open,
        initialized: false,
        pings: 0,
        ping_pending: None,
    };
    let ping_every = relay.opts.keep_alive;
    let mut pings = tokio::time::interval(ping_every.unwrap_or(Duration::from_secs(3600)));
    pings.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    pings.reset();
    let mut streak = 0u32;
    let far = Instant::now() + Duration::from_secs(86400 * 365);
    loop {
        let idle = relay.pending.is_empty() && relay.inflight == 0;
        match relay.closing {
            Closing::Eof(_) if idle => break,
            Closing::Signal(_) if idle => break,
            _ => {}
        }
        let wake = relay.next_deadline().unwrap_or(far);
        let stop = match relay.closing {
            Closing::Open => far,
            Closing::Eof(t) if relay.pending.is_empty() => t + EOF_LINGER,
            Closing::Eof(_) => far,
            Closing::Signal(t) => t,
        };
        // Events come first, but a server that never stops sending must not keep the
        // client's requests waiting: after a run of events, stdin gets a turn.
        if streak >= EVENT_RUN {
            streak = 0;
            if relay.closing == Closing::Open
                && let Ok(input) = stdin.try_recv()
            {
                relay.on_input(Some(input)).await;
                continue;
            }
        }
        tokio::select! {
            biased;
            _ = &mut stdout_broken => {
                tracing::warn!("stdout was closed by the client; stopping");
                break;
            }
            Some(ev) = events.recv() => {
                streak += 1;
                let inbound = match &ev {
                    Event::Inbound(m) => m.raw.len(),
                    _ => 0,
                };
                relay.on_event(ev).await;
                if inbound > 0 {
                    relay.remote.taken(inbound);
                }
            }
            input = stdin.recv(), if relay.closing == Closing::Open => {
                streak = 0;
                relay.on_input(input).await;
            }
            _ = tokio::time::sleep_until(wake), if wake < far => relay.expire().await,
            _ = pings.tick(), if ping_every.is_some() && relay.closing == Closing::Open => relay.ping().await,
            first = signals.recv() => {
                if !first || matches!(relay.closing, Closing::Signal(_)) {
                    break;
                }
                tracing::info!("interrupted; answering what is in flight, then exiting");
                relay.closing = Closing::Signal(Instant::now() + SIGNAL_GRACE);
            }
            _ = tokio::time::sleep_until(stop), if stop < far => break,
        }
    }
    relay.abandon().await;
    // Closing the session must not hold up the exit for long.
    let _ = tokio::time::timeout(Duration::from_secs(3), remote.shutdown()).await;
}

/// Hands messages to the remote in the order the client sent them.
async fn dispatcher(remote: Arc<Remote>, mut queue: mpsc::Receiver<Message>, queued: Arc<Queued>) {
    while let Some(msg) = queue.recv().await {
        let permit = remote.admit(&msg).await;
        remote.spawn_send(msg, permit);
        queued.done();
    }
}

/// Messages handed to the dispatcher and not yet sent on their way.
#[derive(Default)]
struct Queued(std::sync::atomic::AtomicUsize);

impl Queued {
    fn get(&self) -> usize {
        self.0.load(std::sync::atomic::Ordering::Acquire)
    }
    fn add(&self) {
        self.0.fetch_add(1, std::sync::atomic::Ordering::AcqRel);
    }
    fn done(&self) {
        self.0.fetch_sub(1, std::sync::atomic::Ordering::AcqRel);
    }
}

impl Relay {
    async fn write(&self, msg: Bytes) {
        // Fails only when the stdout thread has stopped, which the main loop notices.
        let _ = self.out.send(msg).await;
    }

    /// Hands a message to the remote side, in order: straight away when nothing is queued
    /// before it and its turn is free (the usual case), else through the dispatcher.
    async fn forward(&mut self, msg: Message) {
        self.inflight += 1;
        if self.queued.get() == 0
            && let Some(permit) = self.remote.try_admit(&msg)
        {
            self.remote.spawn_send(msg, permit);
            return;
        }
        self.queued.add();
        if self.dispatch.send(msg).await.is_err() {
            self.inflight -= 1;
        }
    }

    async fn on_input(&mut self, input: Option<Input>) {
        match input {
            Some(Input::Line(line)) => self.on_line(line).await,
            Some(Input::TooLong { id, len }) => self.on_too_long(id, len).await,
            Some(Input::Eof) | None => {
                self.drop_ping();
                tracing::debug!(
                    pending = self.pending.len(),
                    "stdin closed; answering what is in flight"
                );
                self.closing = Closing::Eof(Instant::now());
            }
            Some(Input::Failed(e)) => {
                tracing::error!("reading stdin failed: {e}");
                self.closing = Closing::Eof(Instant::now());
            }
        }
    }

    async fn on_line(&mut self, line: Bytes) {
        match message::parse(line) {
            Ok(Parsed::Single(msg)) => self.on_message(msg, None).await,
            Ok(Parsed::Batch { raw, items }) => self.on_batch(raw, items).await,
            Err(e) => {
                let answer = invalid_answer(&e);
                tracing::warn!("invalid message from the client: {e}");
                self.write(answer).await;
            }
        }
    }

    async fn on_too_long(&mut self, id: Option<Box<RawValue>>, len: usize) {
        tracing::warn!(
            len,
            limit = self.opts.max_message,
            "a message from the client is larger than --max-message-size"
        );
        let error = Failure::new(
            FailureKind::TooLarge,
            format!(
                "the message is {len} bytes, over the limit of {} bytes (--max-message-size)",
                self.opts.max_message
            ),
        )
        .with_code(code::INVALID_REQUEST);
        self.write(error.response(id.as_deref())).await;
    }

    async fn on_batch(&mut self, raw: Bytes, items: Vec<Result<Message, Invalid>>) {
        if items.len() > MAX_BATCH {
            return self.refuse_batch(items).await;
        }
        let batch_id = self.next_batch;
        self.next_batch += 1;
        let mut batch = Batch {
            slots: Vec::new(),
            missing: 0,
        };
        let whole = self.remote.accepts_batches() && items.iter().all(Result::is_ok) && !self.opts.tools.is_active();
        let mut msgs = Vec::new();
        for item in items {
            match item {
                Ok(m) => {
                    let slot = m.request_id().is_some().then(|| {
                        batch.slots.push(None);
                        batch.missing += 1;
                        (batch_id, batch.slots.len() - 1)
                    });
                    msgs.push((m, slot));
                }
                Err(e) => batch.slots.push(Some(invalid_answer(&e))),
            }
        }
        let nothing_to_wait_for = batch.missing == 0;
        let answered_now = batch.slots.iter().any(Option::is_some);
        self.batches.insert(batch_id, batch);
        if nothing_to_wait_for {
            // Only notifications and responses (and invalid items): answer the invalid ones now.
            let b = self.batches.remove(&batch_id).expect("just inserted");
            if answered_now {
                self.write(join_batch(b.slots)).await;
            }
        }
        if whole {
            let mut ids = Vec::new();
            for (m, slot) in &msgs {
                if let Kind::Request { id, .. } = &m.kind {
                    if !self.register(m, *slot).await {
                        continue;
                    }
                    ids.push(id.clone());
                }
            }
            let batch_msg = Message {
                raw,
                kind: Kind::Batch { ids },
                raw_id: None,
                progress_token: None,
                cancel_target: None,
            };
            self.forward(batch_msg).await;
        } else {
            for (m, slot) in msgs {
                self.on_message(m, slot).await;
            }
        }
    }

    /// A batch over `MAX_BATCH` messages: each request in it gets an error, nothing is sent.
    async fn refuse_batch(&mut self, items: Vec<Result<Message, Invalid>>) {
        let n = items.len();
        tracing::warn!(
            n,
            limit = MAX_BATCH,
            "refusing a batch from the client with too many messages"
        );
        let error = Failure::new(
            FailureKind::InvalidRequest,
            format!("the batch has {n} messages, over mcp-valet's limit of {MAX_BATCH}; nothing in it was sent. Send fewer at a time"),
        )
        .with_code(code::INVALID_REQUEST);
        let answers: Vec<Option<Bytes>> = items
            .iter()
            .map(|item| match item {
                Ok(m) => m
                    .request_id()
                    .and(m.raw_id.as_deref())
                    .map(|raw| error.response(Some(raw))),
                Err(e) => Some(invalid_answer(e)),
            })
            .collect();
        if answers.iter().any(Option::is_some) {
            self.write(join_batch(answers)).await;
        }
    }

    /// Puts a request in the table; answers at once when its id is already in use, or when
    /// `MAX_PENDING` requests are already waiting.
    async fn register(&mut self, msg: &Message, slot: Option<(u64, usize)>) -> bool {
        let (Kind::Request { id, method }, Some(raw_id)) = (&msg.kind, &msg.raw_id) else {
            return false;
        };
        if self.pending.len() >= MAX_PENDING {
            let error = Failure::new(
                FailureKind::InvalidRequest,
                format!(
                    "{MAX_PENDING} requests are already waiting for the server, mcp-valet's limit; this one was not sent. Wait for answers before sending more"
                ),
            )
            .with_code(code::INVALID_REQUEST);
            self.fill(slot, error.response(Some(raw_id))).await;
            return false;
        }
        if self.pending.contains_key(id) {
            let error = Failure::new(
                FailureKind::InvalidRequest,
                format!("request id {id} is already in use by a request that has not been answered"),
            )
            .with_code(code::INVALID_REQUEST);
            let answer = error.response(Some(raw_id));
            self.fill(slot, answer).await;
            return false;
        }
        let now = Instant::now();
        if let Some(token) = &msg.progress_token {
            self.by_token.insert(token.clone(), id.clone());
        }
        // A 2026-07-28 `subscriptions/listen` is a stream for as long as the host keeps it:
        // neither timeout applies (it ends when either side closes it).
        let (wait, most) = if &**method == "subscriptions/listen" {
            (STREAM_FOREVER, STREAM_FOREVER)
        } else {
            (self.opts.request_timeout, self.opts.max_request_time)
        };
        let pending = Pending {
            raw_id: raw_id.clone(),
            method: method.clone(),
            deadline: now + wait,
            hard_deadline: now + most,
            token: msg.progress_token.clone(),
            slot,
            delivered: false,
        };
        self.schedule(pending.due(), id.clone());
        self.pending.insert(id.clone(), pending);
        tracing::debug!(%id, method = &**method, "request");
        true
    }

    async fn on_message(&mut self, msg: Message, slot: Option<(u64, usize)>) {
        match &msg.kind {
            Kind::Request { .. } => {
                if let Some(refused) = self.opts.tools.refuse(&msg) {
                    return self.fill(slot, refused).await;
                }
                if !self.register(&msg, slot).await {
                    return;
                }
            }
            Kind::Notification { method } => {
                tracing::debug!(method = &**method, "notification");
                if &**method == "notifications/initialized" {
                    self.initialized = true;
                }
                if let Some(target) = &msg.cancel_target {
                    // The client no longer waits for this answer.
                    if let Some(p) = self.take(target) {
                        self.unfill(p.slot).await;
                    }
                }
            }
            Kind::Response { id } => tracing::debug!(%id, "response from the client"),
            Kind::Batch { .. } => {}
        }
        self.forward(msg).await;
    }

    /// `--keep-alive`: a `ping` of mcp-valet's own, unless the session is not up yet or the
    /// last one is still unanswered. Its answer goes nowhere (`KEEP_ALIVE_SLOT`).
    async fn ping(&mut self) {
        if !self.initialized
            || self
                .ping_pending
                .as_ref()
                .is_some_and(|id| self.pending.contains_key(id))
        {
            return;
        }
        self.pings += 1;
        let line = format!(
            r#"{{"jsonrpc":"2.0","id":"{KEEP_ALIVE_ID}{}","method":"ping"}}"#,
            self.pings
        );
        let Ok(Parsed::Single(msg)) = message::parse(Bytes::from(line)) else {
            return;
        };
        let Kind::Request { id, .. } = &msg.kind else { return };
        let id = id.clone();
        if self.register(&msg, Some(KEEP_ALIVE_SLOT)).await {
            tracing::debug!("keep-alive ping");
            self.ping_pending = Some(id);
            self.forward(msg).await;
        }
    }

    /// At the end of stdin, an unanswered keep-alive ping is no reason to wait.
    fn drop_ping(&mut self) {
        if let Some(id) = self.ping_pending.take() {
            self.take(&id);
        }
    }

    fn take(&mut self, id: &Id) -> Option<Pending> {
        let p = self.pending.remove(id)?;
        if let Some(t) = &p.token {
            self.by_token.remove(t);
        }
        Some(p)
    }

    async fn on_event(&mut self, ev: Event) {
        match ev {
            Event::Inbound(msg) => match &msg.kind {
                Kind::Response { id } => match self.take(id) {
                    Some(p) if &*p.method == "tools/list" => self.fill(p.slot, self.opts.tools.list(msg.raw)).await,
                    Some(p) => self.fill(p.slot, msg.raw).await,
                    None => {
                        tracing::debug!(%id, "dropping an answer nobody waits for (answered already, cancelled, or unknown)")
                    }
                },
                Kind::Notification { .. } => {
                    if let Some(token) = &msg.progress_token
                        && let Some(req) = self.by_token.get(token)
                        && let Some(p) = self.pending.get_mut(req)
                    {
                        p.deadline = p.deadline.max(Instant::now() + self.opts.request_timeout);
                    }
                    self.write(msg.raw).await;
                }
                Kind::Request { .. } => self.write(msg.raw).await,
                Kind::Batch { .. } => {}
            },
            Event::Failed { id, error } => {
                if let Some(p) = self.take(&id) {
                    if p.slot == Some(KEEP_ALIVE_SLOT) {
                        tracing::warn!("the keep-alive ping failed: {error}");
                    } else if self.opts.warn_failures {
                        tracing::warn!(%id, method = &*p.method, "request failed: {error}");
                    } else {
                        tracing::debug!(%id, method = &*p.method, "request failed: {error}");
                    }
                    let answer = error.response(Some(&p.raw_id));
                    self.fill(p.slot, answer).await;
                }
            }
            Event::Done { id, delivered } => {
                self.inflight = self.inflight.saturating_sub(1);
                if delivered
                    && let Some(id) = id
                    && let Some(p) = self.pending.get_mut(&id)
                {
                    p.delivered = true;
                }
            }
            Event::ConnectionLost => {
                let lost: Vec<Id> = self
                    .pending
                    .iter()
                    .filter(|(_, p)| p.delivered)
                    .map(|(id, _)| id.clone())
                    .collect();
                let error = Failure::new(
                    FailureKind::ConnectionLost,
                    "the connection to the server was lost before it answered; the request may or may not have been carried out",
                );
                for id in lost {
                    if let Some(p) = self.take(&id) {
                        self.fill(p.slot, error.response(Some(&p.raw_id))).await;
                    }
                }
            }
        }
    }

    /// Writes an answer, or files it in its batch and writes the batch when it is complete.
    async fn fill(&mut self, slot: Option<(u64, usize)>, answer: Bytes) {
        let Some((b, i)) = slot else {
            return self.write(answer).await;
        };
        let Some(batch) = self.batches.get_mut(&b) else { return };
        batch.slots[i] = Some(answer);
        batch.missing -= 1;
        self.flush_batch(b).await;
    }

    /// A batch member that will never be answered (cancelled by the client).
    async fn unfill(&mut self, slot: Option<(u64, usize)>) {
        if let Some((b, _)) = slot
            && let Some(batch) = self.batches.get_mut(&b)
        {
            batch.missing -= 1;
            self.flush_batch(b).await;
        }
    }

    async fn flush_batch(&mut self, b: u64) {
        if self.batches.get(&b).is_some_and(|x| x.missing == 0) {
            let batch = self.batches.remove(&b).expect("checked");
            if batch.slots.iter().any(Option::is_some) {
                self.write(join_batch(batch.slots)).await;
            }
        }
    }

    /// Files a deadline. When stale entries (of requests answered before their time) make up
    /// most of the heap, it is rebuilt from the table: amortised O(1) per request, and the
    /// heap never holds more than about twice the requests in flight.
    fn schedule(&mut self, at: Instant, id: Id) {
        if self.deadlines.len() >= 1024 && self.deadlines.len() > 2 * self.pending.len() {
            self.deadlines = self
                .pending
                .iter()
                .map(|(id, p)| {
                    Reverse(Due {
                        at: p.due(),
                        id: id.clone(),
                    })
                })
                .collect();
        }
        self.deadlines.push(Reverse(Due { at, id }));
    }

    /// The earliest deadline filed; it may belong to a request answered since (then `expire`
    /// finds nothing to do but drop it), never later than the earliest real one.
    fn next_deadline(&self) -> Option<Instant> {
        self.deadlines.peek().map(|Reverse(d)| d.at)
    }

    /// Answers requests whose time is up, and tells the server to stop working on them.
    async fn expire(&mut self) {
        let now = Instant::now();
        let mut expired = Vec::new();
        while let Some(Reverse(d)) = self.deadlines.peek()
            && d.at <= now
        {
            let Reverse(Due { id, .. }) = self.deadlines.pop().expect("peeked");
            match self.pending.get(&id).map(Pending::due) {
                None => {} // answered already
                Some(due) if due <= now => expired.push(id),
                // Its deadline moved (progress), or the id was reused: file it again.
                Some(due) => self.deadlines.push(Reverse(Due { at: due, id })),
            }
        }
        for id in expired {
            let Some(p) = self.take(&id) else { continue };
            let (limit, flag) = if p.hard_deadline <= now {
                (self.opts.max_request_time, "--max-request-time")
            } else {
                (self.opts.request_timeout, "--request-timeout")
            };
            let error = Failure::new(
                FailureKind::Timeout,
                format!(
                    "the server did not answer `{}` within {} ({flag}); the request was cancelled",
                    p.method,
                    crate::util::human_duration(limit)
                ),
            )
            .with_code(code::REQUEST_TIMEOUT);
            tracing::warn!(%id, method = &*p.method, "{error}");
            self.remote.give_up(&id);
            if &*p.method != "initialize" {
                let cancel = cancel_notification(&p.raw_id, "timed out in mcp-valet");
                self.forward(cancel).await;
            }
            self.fill(p.slot, error.response(Some(&p.raw_id))).await;
        }
    }

    /// At exit, answers whatever is still waiting.
    async fn abandon(&mut self) {
        let ids: Vec<Id> = self.pending.keys().cloned().collect();
        let error = Failure::new(
            FailureKind::Shutdown,
            "mcp-valet is shutting down and the server has not answered this request",
        );
        for id in ids {
            if let Some(p) = self.take(&id) {
                self.fill(p.slot, error.response(Some(&p.raw_id))).await;
            }
        }
    }
}

fn invalid_answer(e: &Invalid) -> Bytes {
    let (id, c, kind, what) = match e {
        Invalid::Parse(_) => (
            None,
            code::PARSE_ERROR,
            FailureKind::ParseError,
            "not a JSON-RPC message",
        ),
        Invalid::Request { id, .. } => (
            id.as_deref(),
            code::INVALID_REQUEST,
            FailureKind::InvalidRequest,
            "not a valid JSON-RPC message",
        ),
    };
    Failure::new(kind, format!("the line is {what}: {e}"))
        .with_code(c)
        .response(id)
}

fn join_batch(slots: Vec<Option<Bytes>>) -> Bytes {
    let mut out = BytesMut::new();
    out.put_u8(b'[');
    for (n, s) in slots.into_iter().flatten().enumerate() {
        if n > 0 {
            out.put_u8(b',');
        }
        out.extend_from_slice(&s);
    }
    out.put_u8(b']');
    out.freeze()
}

fn cancel_notification(id: &RawValue, reason: &str) -> Message {
    #[derive(serde::Serialize)]
    struct N<'a> {
        jsonrpc: &'static str,
        method: &'static str,
        params: P<'a>,
    }
    #[derive(serde::Serialize)]
    struct P<'a> {
        #[serde(rename = "requestId")]
        request_id: &'a RawValue,
        reason: &'a str,
    }
    let raw = serde_json::to_vec(&N {
        jsonrpc: "2.0",
        method: "notifications/cancelled",
        params: P { request_id: id, reason },
    })
    .expect("serialising a notification cannot fail");
    Message {
        raw: Bytes::from(raw),
        kind: Kind::Notification {
            method: "notifications/cancelled".into(),
        },
        raw_id: None,
        progress_token: None,
        cancel_target: Id::from_raw(id),
    }
}
