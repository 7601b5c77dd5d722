//! The session the bridge made with a server of the older revisions for a 2026-07-28 host:
//! on Streamable HTTP or, for a server that only has it, on the 2024-11-05 HTTP+SSE transport.

use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;

use super::super::ctx::Permit;
use super::super::legacy_sse::LegacySse;
use super::super::streamable::Streamable;
use crate::bridge::message::Message;
use crate::failure::Failure;

#[derive(Clone)]
pub enum Link {
    Streamable(Arc<Streamable>),
    Sse(Arc<LegacySse>),
}

impl Link {
    /// Starts the session with the bridge's own `initialize` and `notifications/initialized`;
    /// the server's answer to the `initialize`.
    pub async fn handshake(
        &self,
        init: Message,
        initialized: Message,
        deadline: Instant,
    ) -> Result<Option<Bytes>, Failure> {
        match self {
            Link::Streamable(s) => s.adopt(init, Some(initialized), deadline).await,
            Link::Sse(s) => s.handshake(init, initialized, deadline).await.map(Some),
        }
    }

    /// Delivers a host message; a request's answer reaches the host as a 2026-07-28 one.
    pub async fn send(&self, msg: &Message, permit: Permit, deadline: Instant) -> bool {
        match self {
            Link::Streamable(s) => s.send_for_modern(msg, permit, deadline).await.delivered(),
            Link::Sse(s) => s.send_for_modern(msg, deadline).await,
        }
    }

    /// A message of the bridge's own for the server (an answer to one of its requests, a
    /// cancellation); failures are only logged.
    pub async fn post(&self, msg: &Message, deadline: Instant) {
        let ok = match self {
            Link::Streamable(s) => s.send(msg, Permit::Shared, deadline, false).await.delivered(),
            Link::Sse(s) => s.send(msg, deadline).await,
        };
        if !ok {
            tracing::debug!("a message of the bridge's own did not reach the server");
        }
    }

    /// A request of the bridge's own; the server's answer to it (the host never sees it).
    pub async fn call_quiet(&self, msg: &Message, deadline: Instant) -> Result<Bytes, Failure> {
        match self {
            Link::Streamable(s) => s.call_quiet(msg, deadline).await,
            Link::Sse(s) => s.call_quiet(msg, deadline).await,
        }
    }

    /// Whether a host request's HTTP exchange lasts until its answer (Streamable HTTP); on
    /// HTTP+SSE every answer comes on the one event stream.
    pub fn answers_on_exchange(&self) -> bool {
        matches!(self, Link::Streamable(_))
    }
}
