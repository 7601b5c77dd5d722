//! Plain-language descriptions of failed HTTP exchanges: a short cause and what to try, as a
//! [`Failure`] whose kind tells timeouts, TLS, DNS, connection and redirect problems apart.
//! Both clients' errors are described in the same words.

use std::time::Duration;

use url::Url;

use crate::failure::{Failure, FailureKind};

/// What went wrong with an HTTP exchange, for people: a short cause and what to try.
pub fn describe_error(e: &reqwest::Error, url: &Url, timeout: Option<Duration>) -> Failure {
    let symptoms = Symptoms {
        timeout: e.is_timeout(),
        connect: e.is_connect(),
        redirect: e.is_redirect(),
        tls: is_tls_failure(e),
        cause: root_cause(e),
    };
    describe(&symptoms, url, timeout)
}

/// What a failed exchange amounts to, whichever client saw it.
pub(super) struct Symptoms {
    pub timeout: bool,
    pub connect: bool,
    pub redirect: bool,
    pub tls: bool,
    /// The innermost message.
    pub cause: String,
}

pub(super) fn describe(f: &Symptoms, url: &Url, timeout: Option<Duration>) -> Failure {
    let host = url.host_str().unwrap_or("the server");
    let cause = &f.cause;
    let lower = cause.to_ascii_lowercase();
    if f.timeout {
        let after = timeout
            .map(|t| format!(" within {}", crate::util::human_duration(t)))
            .unwrap_or_default();
        return Failure::new(
            FailureKind::Timeout,
            format!(
                "{host} did not answer{after}. The server may be overloaded or unreachable; try again, or raise the timeout"
            ),
        );
    }
    if url.scheme() == "https"
        && (f.tls
            || ["certificate", "tls", "handshake", "ssl"]
                .iter()
                .any(|w| lower.contains(w)))
    {
        return Failure::new(
            FailureKind::Tls,
            format!(
                "the TLS connection to {host} failed ({cause}). If the server uses a private certificate authority, pass its certificate with --ca-file"
            ),
        );
    }
    if f.connect {
        if lower.contains("dns")
            || lower.contains("failed to lookup")
            || lower.contains("name or service")
            || lower.contains("resolve")
        {
            return Failure::new(
                FailureKind::Dns,
                format!("could not resolve {host} ({cause}). Check the host name and your network or VPN"),
            );
        }
        if lower.contains("refused") {
            return Failure::new(
                FailureKind::Connect,
                format!(
                    "could not connect to {} (connection refused). Is the server running, and is the URL right?",
                    hostport(url)
                ),
            );
        }
        return Failure::new(
            FailureKind::Connect,
            format!(
                "could not connect to {} ({cause}). Check the URL, your network and any proxy settings",
                hostport(url)
            ),
        );
    }
    if f.redirect {
        return Failure::new(
            FailureKind::Redirect,
            format!("{host} redirected in a way mcp-valet will not follow ({cause}). Use the final URL directly"),
        );
    }
    Failure::new(
        FailureKind::Network,
        format!(
            "the connection to {host} failed ({cause}). Try again; if it persists, check your network and proxy settings"
        ),
    )
}

/// rustls reports handshake failures as `io::Error`s of kind `InvalidData`.
pub(super) fn is_tls_failure(e: &(dyn std::error::Error + 'static)) -> bool {
    has_io_kind(e, std::io::ErrorKind::InvalidData)
}

/// Whether an `io::Error` of `kind` is among the causes of `e`.
pub(super) fn has_io_kind(e: &(dyn std::error::Error + 'static), kind: std::io::ErrorKind) -> bool {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = e.source();
    while let Some(err) = cur {
        match err.downcast_ref::<std::io::Error>() {
            Some(io) if io.kind() == kind => return true,
            // `io::Error::source` skips the wrapped error itself: descend into it.
            Some(io) => cur = io.get_ref().map(|inner| inner as &(dyn std::error::Error + 'static)),
            None => cur = err.source(),
        }
    }
    false
}

fn hostport(url: &Url) -> String {
    match url.port_or_known_default() {
        Some(p) => format!("{}:{p}", url.host_str().unwrap_or("?")),
        None => url.host_str().unwrap_or("?").to_owned(),
    }
}

/// The innermost error message (reqwest's own message names the URL, which may hold a key).
pub(super) fn root_cause(e: &dyn std::error::Error) -> String {
    let mut cur: &dyn std::error::Error = e;
    let mut msg = String::new();
    while let Some(src) = cur.source() {
        msg = src.to_string();
        cur = src;
    }
    if msg.is_empty() {
        msg = "unknown error".into();
    }
    msg
}
