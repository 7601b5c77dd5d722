//! `mcp-valet login <URL>`: sign in now, in the browser (or with a device code), and say who
//! is signed in.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;

use super::console::Console;
use crate::auth::challenge::Challenge;
use crate::auth::{AuthError, Interaction, OAuthClient, discovery};
use crate::cli::LoginArgs;
use crate::http::HttpConfig;
use crate::store::{Secret, Store};

pub async fn run(args: &LoginArgs, console: Arc<Console>) -> anyhow::Result<()> {
    let http = HttpConfig::new(&crate::settings::http(&args.remote)?)?;
    if http.explicit_authorization {
        anyhow::bail!("an Authorization header was given with -H/--header-file; there is nothing to sign in for");
    }
    let settings = crate::settings::auth(&args.auth)?;
    let store = Arc::new(Store::open(&settings.store).context("opening the token store")?);
    let oauth = OAuthClient::new(http.clone(), settings, store, Interaction::Allowed(console.clone()));
    if args.with_token {
        let mut token = String::new();
        std::io::Read::read_to_string(&mut std::io::stdin().lock(), &mut token)?;
        let token = token.trim();
        if token.is_empty() || token.contains(char::is_whitespace) {
            anyhow::bail!(
                "--with-token reads one token from stdin, and got {}",
                if token.is_empty() { "nothing" } else { "several words" }
            );
        }
        let token = Secret::new(token);
        let checked = !args.no_check;
        if checked {
            check_key(&http, &token).await?;
        }
        let (backend, replaced) = oauth.keep_static_token(token, checked).await?;
        let replaced = match replaced {
            0 => String::new(),
            1 => " It replaces the earlier sign-in.".into(),
            n => format!(" It replaces {n} earlier sign-ins."),
        };
        let how = if checked {
            "the server accepted it"
        } else {
            "not checked with the server (--no-check)"
        };
        console.say(format_args!(
            "Kept the token for {} (in the {backend} store; {how}); it is sent as a bearer token.{replaced}",
            crate::http::redact_url_text(&http.url_text)
        ));
        return Ok(());
    }
    let Some(challenge) = probe(&http).await? else {
        console.say(format_args!(
            "{} does not require signing in.",
            crate::http::redact_url_text(&http.url_text)
        ));
        return Ok(());
    };
    let outcome = oauth.login(&challenge).await?;
    let who = outcome.account.map(|a| format!(" as {a}")).unwrap_or_default();
    console.say(format_args!(
        "Signed in to {}{who}.",
        crate::http::redact_url_text(&http.url_text)
    ));
    if let Some(issuer) = outcome.issuer {
        console.say(format_args!("  authorization server: {issuer}"));
    }
    if !outcome.scopes.is_empty() {
        console.say(format_args!("  scopes: {}", outcome.scopes.join(" ")));
    }
    if let Some(b) = outcome.backend {
        console.say(format_args!("  tokens kept in: {b}"));
    }
    Ok(())
}

/// Sends an unauthenticated MCP `initialize` to learn the server's challenge. `None` when the
/// server needs no sign-in.
pub(super) async fn probe(http: &HttpConfig) -> Result<Option<Challenge>, AuthError> {
    let resp = initialize(http, None).await?;
    let status = resp.status().as_u16();
    if status == 401 || status == 403 {
        return Ok(Some(Challenge::from_headers(resp.headers())));
    }
    // Open to this request; maybe protected elsewhere. Close the session we just made.
    close(http, resp, None).await;
    // Some servers protect only some requests; they still publish resource metadata.
    Ok(discovery::find_resource_metadata(http, &Challenge::default())
        .await?
        .map(|_| Challenge::default()))
}

/// `--with-token`: one MCP `initialize` with the token, which the server must accept before
/// it is kept.
async fn check_key(http: &HttpConfig, token: &Secret) -> anyhow::Result<()> {
    let url = &crate::http::redact_url_text(&http.url_text);
    let resp = initialize(http, Some(token)).await.with_context(|| {
        format!("could not check the token with {url}; it was not kept (--no-check keeps it unchecked)")
    })?;
    let status = resp.status();
    if status.is_success() {
        close(http, resp, Some(token)).await;
        return Ok(());
    }
    if status.as_u16() == 401 || status.as_u16() == 403 {
        anyhow::bail!(
            "{url} rejected the token (HTTP {}); it was not kept. If the server signs users in with OAuth, \
             run `mcp-valet login {url}` without --with-token",
            status.as_u16()
        );
    }
    anyhow::bail!(
        "could not check the token: {url} answered an MCP initialize with HTTP {}; it was not kept \
         (--no-check keeps it unchecked)",
        status.as_u16()
    )
}

async fn initialize(http: &HttpConfig, token: Option<&Secret>) -> Result<reqwest::Response, AuthError> {
    let body = serde_json::json!({
        "jsonrpc": "2.0", "id": "mcp-valet-login", "method": "initialize",
        "params": {"protocolVersion": "2025-11-25", "capabilities": {},
                   "clientInfo": {"name": "mcp-valet", "version": env!("CARGO_PKG_VERSION")}}
    });
    let mut req = http
        .client
        .post(http.url.clone())
        .headers(http.headers.clone())
        .header(reqwest::header::ACCEPT, "application/json, text/event-stream")
        .json(&body)
        .timeout(Duration::from_secs(30));
    if let Some(t) = token {
        req = req.bearer_auth(t.expose());
    }
    req.send().await.map_err(|e| AuthError::network(&e, &http.url))
}

/// Ends the session an `initialize` opened, if it did.
async fn close(http: &HttpConfig, resp: reqwest::Response, token: Option<&Secret>) {
    let Some(session) = resp.headers().get("mcp-session-id").cloned() else {
        return;
    };
    drop(resp);
    let mut req = http
        .client
        .delete(http.url.clone())
        .headers(http.headers.clone())
        .header("mcp-session-id", session)
        .timeout(Duration::from_secs(5));
    if let Some(t) = token {
        req = req.bearer_auth(t.expose());
    }
    let _ = req.send().await;
}
