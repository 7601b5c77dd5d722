//! What mcp-valet answers a request with when it cannot pass on the server's answer: a
//! JSON-RPC error whose `data` is `{"source": "mcp-valet", "kind": …, "status"?, "detail"?}`.
//!
//! `data.kind` is a public contract: clients and scripts branch on it. Its values are the
//! variants of [`FailureKind`], in snake_case, and nothing else; the test at the bottom lists
//! them so that a change to the vocabulary is a visible change.

use bytes::Bytes;
use serde::Serialize;
use serde_json::value::RawValue;

/// Why a request failed, as `error.data.kind` tells the client. Each variant says what the
/// client (or the person reading its log) can do about it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FailureKind {
    /// The client sent a line that is not JSON. A bug in the client; retrying will not help.
    ParseError,
    /// The client sent JSON that is not a valid JSON-RPC message, or reused the id of a request
    /// still in flight. A bug in the client; send a valid message or a fresh id.
    InvalidRequest,
    /// A message from the client or from the server is larger than `--max-message-size`, or
    /// the server answers waiting for 2026-07-28 clients' retries would exceed 16 MiB (or
    /// `--max-message-size`, when larger). Raise the limit if such messages are expected.
    TooLarge,
    /// No answer in time (`--request-timeout`, `--max-request-time`, or a step of the
    /// exchange); mcp-valet stopped waiting. Retry, or raise the timeout.
    Timeout,
    /// The server answered with an HTTP error status (in `data.status`; what it said is in
    /// `data.detail`). The message says what to try; 5xx are usually worth a retry later.
    Http,
    /// The connection to the server broke during the exchange. Retry; check the network if it
    /// persists.
    Network,
    /// The TLS connection failed (often an unknown certificate authority). Pass the CA's
    /// certificate with `--ca-file`.
    Tls,
    /// The server's host name does not resolve. Check the URL, the network or the VPN.
    Dns,
    /// No connection to the server could be made. Is it running, and is the URL right?
    Connect,
    /// The server redirected somewhere mcp-valet does not follow (another origin, or too many
    /// hops). Use the final URL directly.
    Redirect,
    /// The server refused the credentials (HTTP 401) and mcp-valet will not retry: the
    /// `Authorization` header given with `-H` was rejected, or the server still refuses after
    /// a sign-in.
    Unauthorized,
    /// No usable login, and none can be made now (no browser or terminal to sign in with).
    /// Run the `mcp-valet login …` the message names, then retry.
    LoginRequired,
    /// Signing in or refreshing the token failed for another reason; the message says why.
    Auth,
    /// The server's answer breaks the MCP transport (wrong content type, no response to the
    /// request, an unusable endpoint). Usually a wrong URL or a server bug.
    Protocol,
    /// The server ended the MCP session and a new one could not be started. Retry later.
    Session,
    /// The server's response stream broke before the answer and could not be resumed. Retry.
    Stream,
    /// The HTTP+SSE stream was lost after the request was delivered: it may or may not have
    /// been carried out. Check before retrying anything that is not idempotent.
    ConnectionLost,
    /// mcp-valet is exiting (stdin closed or a signal) and the server had not answered.
    Shutdown,
    /// The tool is hidden by `--deny-tool`/`--allow-tool`, so mcp-valet refused the call
    /// without sending it. Change the filters to use it.
    ToolDenied,
    /// The server does not speak the MCP revision `--protocol` asks for. Try `--protocol auto`.
    Era,
    /// The request's parameters cannot be sent as the server's revision requires (a value
    /// that cannot go into a header, a missing `uri`). Fix the request.
    InvalidParams,
    /// The server needs input from the client (elicitation, sampling, roots) that this client
    /// did not declare or refused, or kept asking for more than 10 rounds.
    Input,
}

/// JSON-RPC error codes of mcp-valet's own answers.
pub mod code {
    pub const PARSE_ERROR: i64 = -32700;
    pub const INVALID_REQUEST: i64 = -32600;
    /// Implementation-defined server error: the remote could not be reached or failed.
    pub const REMOTE_ERROR: i64 = -32000;
    /// Same value as the MCP SDKs' RequestTimeout.
    pub const REQUEST_TIMEOUT: i64 = -32001;
    /// What MCP servers answer for an unknown tool.
    pub const INVALID_PARAMS: i64 = -32602;
}

/// A failure, described for the person reading the client's log.
#[derive(Debug, Clone)]
pub struct Failure {
    pub kind: FailureKind,
    pub message: String,
    pub status: Option<u16>,
    /// What the server itself said (an error message it sent), when it said something.
    pub detail: Option<String>,
    pub code: i64,
}

impl Failure {
    pub fn new(kind: FailureKind, message: impl Into<String>) -> Failure {
        Failure {
            kind,
            message: message.into(),
            status: None,
            detail: None,
            code: code::REMOTE_ERROR,
        }
    }
    pub fn with_status(mut self, status: u16) -> Failure {
        self.status = Some(status);
        self
    }
    pub fn with_detail(mut self, detail: Option<String>) -> Failure {
        self.detail = detail;
        self
    }
    pub fn with_code(mut self, code: i64) -> Failure {
        self.code = code;
        self
    }

    /// The JSON-RPC error response for request `id` (`null` when there is none), the id
    /// exactly as the client wrote it. The one place an error object is built.
    pub fn response(&self, id: Option<&RawValue>) -> Bytes {
        #[derive(Serialize)]
        struct Resp<'a> {
            jsonrpc: &'static str,
            id: Option<&'a RawValue>,
            error: Error<'a>,
        }
        #[derive(Serialize)]
        struct Error<'a> {
            code: i64,
            message: &'a str,
            data: Data<'a>,
        }
        #[derive(Serialize)]
        struct Data<'a> {
            source: &'static str,
            kind: FailureKind,
            #[serde(skip_serializing_if = "Option::is_none")]
            status: Option<u16>,
            #[serde(skip_serializing_if = "Option::is_none")]
            detail: Option<&'a str>,
        }
        let v = serde_json::to_vec(&Resp {
            jsonrpc: "2.0",
            id,
            error: Error {
                code: self.code,
                message: &format!("mcp-valet: {}", self.message),
                data: Data {
                    source: "mcp-valet",
                    kind: self.kind,
                    status: self.status,
                    detail: self.detail.as_deref(),
                },
            },
        })
        .expect("serialising an error response cannot fail");
        Bytes::from(v)
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Failure {}

#[cfg(test)]
mod tests {
    use super::*;

    /// The public vocabulary of `error.data.kind`. A new variant does not compile here until it
    /// is listed; changing a spelling breaks clients that branch on it.
    #[test]
    fn the_kinds_clients_see() {
        use FailureKind::*;
        let spelled = |k: FailureKind| match k {
            ParseError => "parse_error",
            InvalidRequest => "invalid_request",
            TooLarge => "too_large",
            Timeout => "timeout",
            Http => "http",
            Network => "network",
            Tls => "tls",
            Dns => "dns",
            Connect => "connect",
            Redirect => "redirect",
            Unauthorized => "unauthorized",
            LoginRequired => "login_required",
            Auth => "auth",
            Protocol => "protocol",
            Session => "session",
            Stream => "stream",
            ConnectionLost => "connection_lost",
            Shutdown => "shutdown",
            ToolDenied => "tool_denied",
            Era => "era",
            InvalidParams => "invalid_params",
            Input => "input",
        };
        let all = [
            ParseError,
            InvalidRequest,
            TooLarge,
            Timeout,
            Http,
            Network,
            Tls,
            Dns,
            Connect,
            Redirect,
            Unauthorized,
            LoginRequired,
            Auth,
            Protocol,
            Session,
            Stream,
            ConnectionLost,
            Shutdown,
            ToolDenied,
            Era,
            InvalidParams,
            Input,
        ];
        for k in all {
            assert_eq!(serde_json::to_value(k).unwrap(), spelled(k));
        }
    }

    #[test]
    fn the_response_echoes_the_id_bytes() {
        let id = RawValue::from_string("\"abc\"".into()).unwrap();
        let f = Failure::new(FailureKind::Timeout, "timed out").with_code(code::REQUEST_TIMEOUT);
        let v = f.response(Some(&id));
        assert_eq!(
            std::str::from_utf8(&v).unwrap(),
            r#"{"jsonrpc":"2.0","id":"abc","error":{"code":-32001,"message":"mcp-valet: timed out","data":{"source":"mcp-valet","kind":"timeout"}}}"#
        );
        let f = Failure::new(FailureKind::Http, "no")
            .with_status(502)
            .with_detail(Some("down".into()));
        let v = f.response(None);
        assert_eq!(
            std::str::from_utf8(&v).unwrap(),
            r#"{"jsonrpc":"2.0","id":null,"error":{"code":-32000,"message":"mcp-valet: no","data":{"source":"mcp-valet","kind":"http","status":502,"detail":"down"}}}"#
        );
    }
}
