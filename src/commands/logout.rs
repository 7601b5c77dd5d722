//! `mcp-valet logout [URL] [--profile P] [--all]`: revoke the tokens at the server when it
//! offers revocation (RFC 7009), then delete them; say what was removed.

use std::sync::Arc;

use anyhow::Context;

use super::console::Console;
use crate::auth::{Interaction, OAuthClient};
use crate::cli::{LogoutArgs, RemoteArgs};
use crate::http::HttpConfig;
use crate::store::Store;

pub async fn run(args: &LogoutArgs, console: &Console) -> anyhow::Result<()> {
    let opts = crate::settings::store(&args.store);
    let store = Arc::new(Store::open(&opts).context("opening the token store")?);
    let wanted = match &args.url {
        Some(u) => Some(crate::auth::resource_key(&crate::http::check_url(u, true)?)),
        None => None,
    };
    let entries: Vec<_> = store
        .entries()
        .context("reading the token store")?
        .into_iter()
        .filter(|(k, _)| wanted.as_ref().is_none_or(|w| &k.resource == w))
        .filter(|(k, _)| args.all && args.store.profile.is_none() || k.profile == args.store.profile)
        .collect();
    if entries.is_empty() {
        match &args.url {
            Some(u) => console.say(format_args!(
                "Not signed in to {}; nothing to remove.",
                crate::http::redact_url_text(u)
            )),
            None => console.say(format_args!("Not signed in to any server; nothing to remove.")),
        }
        return Ok(());
    }
    let mut forgotten = Vec::new();
    for (key, meta) in entries {
        forgotten.push((key.issuer.clone(), key.profile.clone()));
        let secrets = {
            let key = key.clone();
            store.blocking(move |s| s.load(&key)).await
        };
        let mut revoked = String::new();
        if let Ok(Some((_, secrets))) = &secrets
            && meta.revocation_endpoint.is_some()
        {
            let remote = RemoteArgs::for_url(&key.resource, args.allow_http);
            let outcome = match crate::settings::http(&remote).and_then(|s| HttpConfig::new(&s)) {
                Ok(http) => {
                    let settings = crate::settings::stored_login(&args.store);
                    let oauth = OAuthClient::new(http, settings, store.clone(), Interaction::Never);
                    oauth.revoke(&key, &meta, secrets).await
                }
                Err(e) => Err(crate::auth::AuthError::new(e.to_string())),
            };
            revoked = match outcome {
                Ok(true) => "; the server revoked its tokens".into(),
                Ok(false) => String::new(),
                Err(e) => format!("; revoking at the server failed ({e}), the tokens expire on their own"),
            };
        } else if meta.revocation_endpoint.is_none() {
            revoked = "; the server offers no revocation, the tokens expire on their own".into();
        }
        let removed = {
            let k = key.clone();
            store.blocking(move |s| s.delete(&k)).await
        }
        .context("deleting the login failed")?;
        if removed {
            let mut e = crate::audit::Entry::ok("logout", &key.resource);
            e.issuer = Some(key.issuer.clone());
            e.profile = key.profile.clone();
            e.account = meta.account.clone();
            e.scopes = meta.scopes.clone();
            crate::audit::record(e);
            let who = meta.account.as_deref().map(|a| format!(" ({a})")).unwrap_or_default();
            let profile = key
                .profile
                .as_deref()
                .map(|p| format!(", profile {p}"))
                .unwrap_or_default();
            let server = crate::http::redact_url_text(&key.resource);
            console.say(format_args!("Signed out of {server}{who}{profile}{revoked}."));
        }
    }
    // `logout --all` with no server also forgets the client registrations of those servers.
    if args.all && args.url.is_none() {
        let mut issuers: Vec<(String, Option<String>)> = forgotten
            .into_iter()
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        issuers.dedup();
        for (issuer, profile) in issuers {
            let removed = store
                .blocking(move |s| s.delete_registration(&issuer, profile.as_deref()).map(|r| (r, issuer)))
                .await;
            if let Ok((true, issuer)) = removed {
                console.say(format_args!("Forgot the client registration with {issuer}."));
            }
        }
    }
    Ok(())
}
