//! `mcp-valet doctor URL [--json]`: walks the path a connection takes — DNS, proxy, TCP, TLS,
//! the HTTP transport, the sign-in metadata, the stored login, and whether the server accepts
//! it now — and says for each step that fails what to do. Exit 0 when the server is usable.

mod network;
mod report;

use std::io::Write;
use std::time::Duration;

use anyhow::Context;
use serde_json::{Value, json};

use super::console::Console;
use crate::auth::challenge::Challenge;
use crate::auth::{Interaction, discovery};
use crate::cli::DoctorArgs;
use crate::client::Client;
use crate::exit::LoginRequired;
use crate::http::HttpConfig;
use crate::store::Store;
use network::{network, transport};
use report::{Probe, Report, Status};

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
