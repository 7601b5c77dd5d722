//! `mcp-valet login <URL>`: sign in now, in the browser (or with a device code), and say who
//! is signed in.

use std::sync::Arc;

use anyhow::Context;

use super::console::Console;
use crate::auth::{Interaction, OAuthClient};
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
    let host = http.url.host_str().unwrap_or("the server").to_owned();
    let oauth = OAuthClient::new(http, settings, store, Interaction::Allowed(console.clone()));
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
        let (backend, replaced) = oauth.keep_static_token(Secret::new(token)).await?;
        let replaced = match replaced {
            0 => String::new(),
            1 => " It replaces the earlier sign-in.".into(),
            n => format!(" It replaces {n} earlier sign-ins."),
        };
        console.say(format_args!(
            "Kept the token for {host} (in the {backend} store); it is sent as a bearer token.{replaced}"
        ));
        return Ok(());
    }
    let outcome = oauth.login().await?;
    if !outcome.signed_in {
        console.say(format_args!("{host} does not require signing in."));
        return Ok(());
    }
    let who = outcome.account.map(|a| format!(" as {a}")).unwrap_or_default();
    console.say(format_args!("Signed in to {host}{who}."));
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
