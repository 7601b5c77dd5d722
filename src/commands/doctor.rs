//! `mcp-valet doctor URL [--json]`: walks the path a connection takes — DNS, proxy, TCP, TLS,
//! the HTTP transport, the sign-in metadata, the stored login, and whether the server accepts
//! it now — and says for each step that fails what to do. Exit 0 when the server is usable.

use std::io::Write;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use serde::Serialize;
use serde_json::{Value, json};
use url::Url;

use super::console::Console;
use crate::auth::challenge::Challenge;
use crate::auth::{Interaction, discovery};
use crate::cli::DoctorArgs;
use crate::client::Client;
use crate::exit::LoginRequired;
use crate::http::HttpConfig;
use crate::store::Store;

#[derive(Serialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
enum Status {
    Ok,
    Failed,
    /// Worth knowing, not in the way.
    Warning,
    /// Does not apply here.
    Skipped,
}

#[derive(Serialize)]
struct Step {
    step: &'static str,
    status: Status,
    detail: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    hint: Option<String>,
}

#[derive(Default)]
struct Report {
    steps: Vec<Step>,
}

impl Report {
    fn add(&mut self, step: &'static str, status: Status, detail: impl Into<String>, hint: Option<String>) {
        self.steps.push(Step {
            step,
            status,
            detail: detail.into(),
            hint,
        });
    }
    fn ok(&mut self, step: &'static str, detail: impl Into<String>) {
        self.add(step, Status::Ok, detail, None);
    }
    fn failed(&mut self, step: &'static str, detail: impl Into<String>, hint: impl Into<String>) {
        self.add(step, Status::Failed, detail, Some(hint.into()));
    }
}

/// What the server needs before it answers.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Need {
    Nothing,
    /// A sign-in mcp-valet can make (OAuth).
    SignIn,
    /// A key or token of the user's: 401 and no OAuth metadata.
    ApiKey,
}

fn api_key_hint(url: &str) -> String {
    format!(
        "pass the key with -H 'Authorization: Bearer …' (or --header-file), or keep it with `mcp-valet login {url} --with-token`"
    )
}

/// How the server answered an MCP `initialize` without credentials.
enum Probe {
    /// It answered (no sign-in needed for this request).
    Open,
    /// 401/403: it wants credentials.
    Challenged(Challenge),
    /// It does not take MCP here; the step already says why.
    Broken,
}

pub async fn run(args: &DoctorArgs, console: &Console) -> anyhow::Result<()> {
    let remote = &args.bridge.remote;
    let mut r = Report::default();
    let url_text = remote.url.clone().unwrap_or_default();
    let http = match crate::settings::http(remote).and_then(|s| HttpConfig::new(&s)) {
        Ok(h) => {
            r.ok("url", crate::http::redact_url(&h.url));
            Some(h)
        }
        Err(e) => {
            r.failed(
                "url",
                format!("{e:#}"),
                "give the server's full URL, e.g. https://mcp.example.com/mcp",
            );
            None
        }
    };
    let mut usable = false;
    let mut login_required = false;
    if let Some(http) = http
        && network(&mut r, &http, remote.ca_file.as_deref(), remote.connect_timeout).await
    {
        let probe = transport(&mut r, &http).await;
        let need = sign_in(&mut r, &http, &probe, &url_text).await;
        stored_login(&mut r, &args.bridge, &http, need)?;
        (usable, login_required) = accepts(&mut r, &args.bridge, &url_text, need).await;
    }

    let mut out = console.result();
    if args.json {
        let v = json!({"server": url_text, "usable": usable, "steps": r.steps});
        serde_json::to_writer_pretty(&mut out, &v)?;
        writeln!(out)?;
    } else {
        for s in &r.steps {
            let mark = match s.status {
                Status::Ok => "✓",
                Status::Failed => "✗",
                Status::Warning => "!",
                Status::Skipped => "–",
            };
            writeln!(out, "{mark} {:<22} {}", label(s.step), s.detail)?;
            if let Some(h) = &s.hint {
                writeln!(out, "  {:<22} → {h}", "")?;
            }
        }
        writeln!(
            out,
            "\n{}",
            if usable {
                "The server is usable."
            } else {
                "The server is not usable yet: see the steps marked ✗."
            }
        )?;
    }
    out.flush()?;
    match (usable, login_required) {
        (true, _) => Ok(()),
        (false, true) => Err(LoginRequired::said().into()),
        (false, false) => Err(anyhow::anyhow!("the server is not usable yet")),
    }
}

fn label(step: &str) -> &str {
    match step {
        "url" => "URL",
        "proxy" => "proxy",
        "dns" => "DNS",
        "tcp" => "TCP",
        "tls" => "TLS",
        "transport" => "HTTP transport",
        "resource_metadata" => "resource metadata",
        "authorization_server" => "authorization server",
        "stored_login" => "stored login",
        "server" => "server accepts us",
        other => other,
    }
}

/// Proxy, DNS, TCP and TLS. `false` when the server cannot be reached at all.
async fn network(r: &mut Report, http: &HttpConfig, ca_file: Option<&std::path::Path>, timeout: Duration) -> bool {
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
async fn transport(r: &mut Report, http: &HttpConfig) -> Probe {
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

/// Resource and authorization-server metadata: what the server needs.
async fn sign_in(r: &mut Report, http: &HttpConfig, probe: &Probe, url: &str) -> Need {
    let challenge = match probe {
        Probe::Broken => return Need::Nothing,
        Probe::Challenged(c) => c.clone(),
        Probe::Open => Challenge::default(),
    };
    if http.explicit_authorization {
        r.add(
            "resource_metadata",
            Status::Skipped,
            "an Authorization header is given with -H/--header-file: mcp-valet does not sign in",
            None,
        );
        return Need::Nothing;
    }
    let prm = match discovery::find_resource_metadata(http, &challenge).await {
        Ok(p) => p,
        Err(e) => {
            r.failed(
                "resource_metadata",
                e.message,
                "the server's metadata is broken: tell its operator",
            );
            return Need::Nothing;
        }
    };
    let issuer = match (&prm, probe) {
        (Some((m, at)), _) => {
            let servers = m.authorization_servers.join(", ");
            if !discovery::resource_matches(&m.resource, &http.url) {
                r.failed(
                    "resource_metadata",
                    format!(
                        "{} names the resource {}, which is not this server",
                        crate::http::redact_url(at),
                        m.resource
                    ),
                    "mcp-valet refuses to sign in: a token for it could be used elsewhere. Check the URL",
                );
                return Need::Nothing;
            }
            r.ok(
                "resource_metadata",
                format!(
                    "{}: resource {}, authorization server {servers}",
                    crate::http::redact_url(at),
                    m.resource
                ),
            );
            match m.authorization_servers.first() {
                Some(i) => i.clone(),
                None => {
                    r.failed(
                        "authorization_server",
                        "the metadata names none",
                        "tell the server's operator",
                    );
                    return Need::Nothing;
                }
            }
        }
        (None, Probe::Open) => {
            r.add(
                "resource_metadata",
                Status::Skipped,
                "none: the server does not ask to sign in",
                None,
            );
            return Need::Nothing;
        }
        (None, _) => {
            r.add(
                "resource_metadata",
                Status::Warning,
                "none published (RFC 9728); trying the server's origin (MCP 2025-03-26)",
                None,
            );
            http.url.origin().ascii_serialization()
        }
    };
    match discovery::find_server_metadata_at(http, &issuer).await {
        Ok(Some((m, at))) => {
            let pkce = m
                .code_challenge_methods_supported
                .as_ref()
                .is_some_and(|v| v.iter().any(|x| x == "S256"));
            let mut how = Vec::new();
            if m.registration_endpoint.is_some() {
                how.push("dynamic registration");
            }
            if m.client_id_metadata_document_supported {
                how.push("client ID metadata documents");
            }
            if m.device_authorization_endpoint.is_some() {
                how.push("device codes");
            }
            let detail = format!(
                "{issuer} (metadata at {}); PKCE S256: {}; clients: {}",
                crate::http::redact_url(&at),
                if pkce { "yes" } else { "not advertised" },
                if how.is_empty() {
                    "pre-registered only".to_owned()
                } else {
                    how.join(", ")
                }
            );
            if !pkce && !discovery::is_entra(&issuer) {
                r.failed(
                    "authorization_server",
                    detail,
                    "mcp-valet signs in only with PKCE S256; if the server supports it anyway, add --assume-pkce",
                );
            } else if how.is_empty() {
                r.add(
                    "authorization_server",
                    Status::Warning,
                    detail,
                    Some(
                        "register an application with the provider and pass --client-id (see docs/providers.md)".into(),
                    ),
                );
            } else {
                r.ok("authorization_server", detail);
            }
            Need::SignIn
        }
        Ok(None) if prm.is_none() => {
            r.failed(
                "authorization_server",
                "the server wants credentials but publishes no OAuth metadata: it most likely takes an API key",
                api_key_hint(url),
            );
            Need::ApiKey
        }
        Ok(None) => {
            r.failed(
                "authorization_server",
                format!("no OAuth metadata for {issuer} (tried RFC 8414 and OpenID Connect discovery)"),
                "tell the server's operator; a pre-registered --client-id does not help without endpoints",
            );
            Need::Nothing
        }
        Err(e) => {
            r.failed(
                "authorization_server",
                e.message,
                "check the network path to the authorization server",
            );
            Need::Nothing
        }
    }
}

fn stored_login(r: &mut Report, args: &crate::cli::BridgeArgs, http: &HttpConfig, need: Need) -> anyhow::Result<()> {
    if http.explicit_authorization {
        r.add(
            "stored_login",
            Status::Skipped,
            "not used: an Authorization header is given",
            None,
        );
        return Ok(());
    }
    let opts = crate::settings::store(&args.auth.store);
    let store = Store::open(&opts).context("opening the token store")?;
    let key = crate::auth::resource_key(&http.url);
    let profile = args.auth.store.profile.clone();
    let found: Vec<_> = store
        .entries()
        .context("reading the token store")?
        .into_iter()
        .filter(|(k, _)| k.resource == key && k.profile == profile)
        .collect();
    let Some((k, m)) = found.into_iter().max_by_key(|(_, m)| m.updated_at) else {
        if need == Need::ApiKey {
            r.failed("stored_login", "no kept token", api_key_hint(&http.url_text));
        } else if need == Need::SignIn {
            r.failed(
                "stored_login",
                "none",
                format!("sign in with `mcp-valet login {}`", http.url_text),
            );
        } else {
            r.add("stored_login", Status::Skipped, "none (none needed so far)", None);
        }
        return Ok(());
    };
    let now = crate::util::unix_now();
    let expiry = match m.expires_at {
        None => "no expiry given".to_owned(),
        Some(t) if t <= now => format!(
            "expired {} ago",
            crate::util::human_duration(Duration::from_secs((now - t) as u64))
        ),
        Some(t) => format!(
            "expires in {}",
            crate::util::human_duration(Duration::from_secs((t - now) as u64))
        ),
    };
    let what = if k.issuer == crate::auth::STATIC_ISSUER {
        "a kept token (login --with-token)".to_owned()
    } else {
        format!(
            "{} at {}",
            m.account.as_deref().unwrap_or("an undisclosed account"),
            k.issuer
        )
    };
    let store_name = m.backend.map(|b| b.to_string()).unwrap_or_else(|| "?".into());
    let scopes = if m.scopes.is_empty() {
        String::new()
    } else {
        format!("; scopes {}", m.scopes.join(" "))
    };
    let detail = format!(
        "{what}{scopes}; access token {expiry}{}; kept in the {store_name} store",
        if m.has_refresh_token { ", refreshable" } else { "" }
    );
    let expired = m.expires_at.is_some_and(|t| t <= now);
    if expired && !m.has_refresh_token {
        r.failed(
            "stored_login",
            detail,
            format!("sign in again with `mcp-valet login {}`", http.url_text),
        );
    } else {
        r.ok("stored_login", detail);
    }
    Ok(())
}

/// Whether the server accepts us right now: a session through the bridge's own path, never
/// signing in. Returns (usable, a login is required).
async fn accepts(r: &mut Report, args: &crate::cli::BridgeArgs, url: &str, need: Need) -> (bool, bool) {
    let login_hint = if need == Need::ApiKey {
        api_key_hint(url)
    } else {
        format!("sign in with `mcp-valet login {url}`")
    };
    let mut client = match Client::connect(args, Interaction::Never).await {
        Ok(c) => c,
        Err(e) => {
            if e.downcast_ref::<LoginRequired>().is_some() {
                r.failed("server", format!("{e}"), login_hint);
                return (false, true);
            }
            r.failed(
                "server",
                format!("{e:#}"),
                "see the steps above; run with -v for the exchange",
            );
            return (false, false);
        }
    };
    let server: Value = client.server.clone();
    let tools = client.list("tools/list", "tools").await;
    client.close().await;
    let name = server["serverInfo"]["name"].as_str().unwrap_or("(unnamed)");
    let version = server["serverInfo"]["version"].as_str().unwrap_or("");
    let protocol = server["protocolVersion"].as_str().unwrap_or("?");
    match tools {
        Ok(t) => {
            r.ok(
                "server",
                format!("{name} {version} speaks MCP {protocol}; {} tools listed", t.len()),
            );
            (true, false)
        }
        Err(e) if e.downcast_ref::<LoginRequired>().is_some() => {
            r.failed("server", format!("{e}"), login_hint);
            (false, true)
        }
        // A server without tools answers tools/list with "method not found": still usable.
        Err(e) => {
            r.add(
                "server",
                Status::Warning,
                format!("{name} {version} speaks MCP {protocol}; tools/list failed: {e}"),
                None,
            );
            (true, false)
        }
    }
}
