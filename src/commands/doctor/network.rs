//! The first steps of `doctor`: how the server is reached (proxy, DNS, TCP, TLS) and which
//! HTTP transport answers an MCP `initialize`.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use url::Url;

use super::report::{Probe, Report, Status};
use crate::auth::challenge::Challenge;
use crate::http::HttpConfig;

/// Proxy, DNS, TCP and TLS. `false` when the server cannot be reached at all.
pub(super) async fn network(
    r: &mut Report,
    http: &HttpConfig,
    ca_file: Option<&std::path::Path>,
    timeout: Duration,
) -> bool {
    let url = &http.url;
    let host = url.host_str().unwrap_or_default().trim_matches(['[', ']']).to_owned();
    let port = url.port_or_known_default().unwrap_or(443);
    let proxy = proxy_for(url);
    match &proxy {
        None if crate::http::is_loopback(url) => r.ok("proxy", "none (a server on this machine is never proxied)"),
        None => r.ok("proxy", "none: a direct connection"),
        Some(p) => r.add(
            "proxy",
            Status::Warning,
            format!("through {p} (from the proxy environment variables)"),
            Some("if the server is on your network, add its host to NO_PROXY".into()),
        ),
    }
    // Where the TCP connection goes: the proxy, or the server.
    let (dial_host, dial_port) = match proxy.as_ref().and_then(|p| Url::parse(p).ok()) {
        Some(p) => (
            p.host_str().unwrap_or_default().trim_matches(['[', ']']).to_owned(),
            p.port_or_known_default().unwrap_or(8080),
        ),
        None => (host.clone(), port),
    };
    let lookup = tokio::time::timeout(timeout, tokio::net::lookup_host((dial_host.as_str(), dial_port))).await;
    let addrs: Vec<SocketAddr> = match lookup {
        Ok(Ok(a)) => a.collect(),
        Ok(Err(e)) => {
            r.failed(
                "dns",
                format!("{dial_host} does not resolve ({e})"),
                "check the host name in the URL, your network, or the VPN the server needs",
            );
            return false;
        }
        Err(_) => {
            r.failed(
                "dns",
                format!("looking up {dial_host} took too long"),
                "check your network and DNS settings",
            );
            return false;
        }
    };
    let shown: Vec<String> = addrs.iter().take(3).map(|a| a.ip().to_string()).collect();
    r.ok("dns", format!("{dial_host} → {}", shown.join(", ")));
    let mut connected = None;
    let mut last_err = String::new();
    for a in addrs.iter().take(4) {
        match tokio::time::timeout(timeout, tokio::net::TcpStream::connect(a)).await {
            Ok(Ok(s)) => {
                connected = Some((s, *a));
                break;
            }
            Ok(Err(e)) => last_err = e.to_string(),
            Err(_) => last_err = "timed out".into(),
        }
    }
    let Some((stream, addr)) = connected else {
        r.failed(
            "tcp",
            format!("no connection to {dial_host} port {dial_port} ({last_err})"),
            "is the server running and the port right? A firewall may be in the way",
        );
        return false;
    };
    r.ok("tcp", format!("connected to {addr}"));
    if url.scheme() != "https" {
        r.add("tls", Status::Skipped, "plain http", None);
        return true;
    }
    if proxy.is_some() {
        r.add(
            "tls",
            Status::Skipped,
            "through the proxy: checked by the HTTP request below",
            None,
        );
        return true;
    }
    let config = match crate::http::tls_config(ca_file) {
        Ok(c) => c,
        Err(e) => {
            r.failed("tls", format!("{e:#}"), "check the file given with --ca-file");
            return false;
        }
    };
    let stream = stream.into_std().ok();
    let name = host.clone();
    let outcome = tokio::task::spawn_blocking(move || handshake(stream, config, &name, timeout))
        .await
        .unwrap_or_else(|e| Err(e.to_string()));
    match outcome {
        Ok(version) => r.ok("tls", format!("{version}, the certificate is valid for {host}")),
        Err(e) => {
            let hint = if e.contains("UnknownIssuer") || e.contains("issuer") {
                "the certificate is signed by an authority this machine does not trust: if the server uses a private CA, pass its certificate with --ca-file"
            } else if e.contains("NotValidForName") || e.contains("name") {
                "the certificate is for another host name: check the URL"
            } else if e.contains("Expired") {
                "the server's certificate has expired: tell its operator"
            } else {
                "the server does not speak TLS here, or refuses this client's TLS: check the URL (http or https?) and the port"
            };
            r.failed("tls", format!("the TLS handshake failed: {e}"), hint);
            return false;
        }
    }
    true
}

fn handshake(
    stream: Option<std::net::TcpStream>,
    config: rustls::ClientConfig,
    host: &str,
    timeout: Duration,
) -> Result<String, String> {
    let mut tcp = stream.ok_or("the connection was lost")?;
    tcp.set_nonblocking(false).map_err(|e| e.to_string())?;
    tcp.set_read_timeout(Some(timeout)).map_err(|e| e.to_string())?;
    tcp.set_write_timeout(Some(timeout)).map_err(|e| e.to_string())?;
    let name = rustls::pki_types::ServerName::try_from(host.to_owned()).map_err(|e| e.to_string())?;
    let mut conn = rustls::ClientConnection::new(Arc::new(config), name).map_err(|e| e.to_string())?;
    while conn.is_handshaking() {
        conn.complete_io(&mut tcp).map_err(|e| e.to_string())?;
    }
    Ok(match conn.protocol_version() {
        Some(rustls::ProtocolVersion::TLSv1_3) => "TLS 1.3".into(),
        Some(rustls::ProtocolVersion::TLSv1_2) => "TLS 1.2".into(),
        Some(v) => format!("{v:?}"),
        None => "TLS".into(),
    })
}

/// The proxy the environment chooses for `url` (credentials hidden); none for loopback.
fn proxy_for(url: &Url) -> Option<String> {
    if crate::http::is_loopback(url) {
        return None;
    }
    let uri = url.as_str().parse::<hyper::Uri>().ok()?;
    let intercept = hyper_util::client::proxy::matcher::Matcher::from_system().intercept(&uri)?;
    let p = intercept.uri().to_string();
    Some(Url::parse(&p).map(|u| crate::http::redact_url(&u)).unwrap_or(p))
}

/// An unauthenticated `initialize`, as `login` sends it: which transport answers, and whether
/// the server wants credentials.
pub(super) async fn transport(r: &mut Report, http: &HttpConfig) -> Probe {
    let body = json!({
        "jsonrpc": "2.0", "id": "mcp-valet-doctor", "method": "initialize",
        "params": {"protocolVersion": crate::client::PROTOCOL_VERSION, "capabilities": {},
                   "clientInfo": {"name": "mcp-valet", "version": env!("CARGO_PKG_VERSION")}}
    });
    let sent = http
        .client
        .post(http.url.clone())
        .headers(http.headers.clone())
        .header(reqwest::header::ACCEPT, "application/json, text/event-stream")
        .json(&body)
        .timeout(Duration::from_secs(30))
        .send()
        .await;
    let resp = match sent {
        Ok(resp) => resp,
        Err(e) => {
            let f = crate::http::describe_error(&e, &http.url, Some(Duration::from_secs(30)));
            let hint = match f.kind {
                crate::failure::FailureKind::Tls => "pass the certificate of a private CA with --ca-file",
                _ => "check the URL, and any proxy settings",
            };
            r.failed("transport", f.message, hint);
            return Probe::Broken;
        }
    };
    let status = resp.status().as_u16();
    let version = format!("{:?}", resp.version());
    let ctype = resp
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let session = resp.headers().get("mcp-session-id").cloned();
    let challenge = Challenge::from_headers(resp.headers());
    drop(resp);
    if let Some(session) = session {
        let _ = http
            .client
            .delete(http.url.clone())
            .headers(http.headers.clone())
            .header("mcp-session-id", session)
            .timeout(Duration::from_secs(5))
            .send()
            .await;
    }
    match status {
        200..=299 => {
            let kind = if ctype.starts_with("text/event-stream") {
                "SSE"
            } else {
                "JSON"
            };
            r.ok(
                "transport",
                format!("Streamable HTTP ({version}, answers with {kind}); the protocol revision is below"),
            );
            Probe::Open
        }
        401 | 403 => {
            r.ok(
                "transport",
                format!("{version}; the server wants credentials (HTTP {status}) before it says more"),
            );
            Probe::Challenged(challenge)
        }
        400 | 404 | 405 => {
            // Perhaps the older HTTP+SSE transport (MCP 2024-11-05): a GET opens its stream.
            let sse = http
                .client
                .get(http.url.clone())
                .headers(http.headers.clone())
                .header(reqwest::header::ACCEPT, "text/event-stream")
                .timeout(Duration::from_secs(10))
                .send()
                .await;
            match sse {
                Ok(s)
                    if s.status().is_success()
                        && s.headers()
                            .get(reqwest::header::CONTENT_TYPE)
                            .and_then(|v| v.to_str().ok())
                            .is_some_and(|c| c.starts_with("text/event-stream")) =>
                {
                    r.ok("transport", format!("HTTP+SSE, the 2024-11-05 transport ({version})"));
                    Probe::Open
                }
                Ok(s) if matches!(s.status().as_u16(), 401 | 403) => {
                    let status = s.status().as_u16();
                    r.ok(
                        "transport",
                        format!("HTTP+SSE; the server wants credentials (HTTP {status})"),
                    );
                    Probe::Challenged(Challenge::from_headers(s.headers()))
                }
                _ => {
                    r.failed(
                        "transport",
                        format!("HTTP {status} to an MCP POST, and no HTTP+SSE stream either"),
                        "check the URL: MCP endpoints often end in /mcp, or /sse for older servers",
                    );
                    Probe::Broken
                }
            }
        }
        _ => {
            r.failed(
                "transport",
                format!("HTTP {status} to an MCP initialize"),
                if status >= 500 {
                    "a problem on the server's side: try again later"
                } else {
                    "check the URL"
                },
            );
            Probe::Broken
        }
    }
}
