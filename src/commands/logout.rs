//! `mcp-valet logout [URL] [--profile P] [--all]`: revoke the tokens at the server when it
//! offers revocation (RFC 7009), then delete them; say what was removed.

use std::sync::Arc;

use anyhow::Context;

use super::console::Console;
use crate::auth::{Interaction, OAuthClient, Revocation};
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
        .filter(|(k, _)| args.resource.is_none() || k.tenant == args.resource)
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
        let revoked = if key.issuer == crate::auth::STATIC_ISSUER {
            "; the token kept with --with-token was only forgotten here: it stays valid at the server \
             until revoked there"
                .to_owned()
        } else if meta.revocation_endpoint.is_none() {
            "; the server offers no revocation, so the tokens were only forgotten here and expire on their own"
                .to_owned()
        } else {
            let outcome = match &secrets {
                Ok(Some((_, secrets))) => {
                    let remote = RemoteArgs::for_url(&key.resource, args.allow_http);
                    match crate::settings::http(&remote).and_then(|s| HttpConfig::new(&s)) {
                        Ok(http) => {
                            let settings = crate::settings::stored_login(&args.store);
                            let oauth = OAuthClient::new(http, settings, store.clone(), Interaction::Never);
                            oauth.revoke(&key, &meta, secrets).await.map_err(|e| e.message)
                        }
                        Err(e) => Err(format!("{e:#}")),
                    }
                }
                Ok(None) => Err("its tokens were not in the store".into()),
                Err(e) => Err(format!("reading its tokens failed: {e}")),
            };
            let left = meta
                .expires_at
                .map(|t| std::time::Duration::from_secs(t.saturating_sub(crate::util::unix_now()).max(0) as u64));
            revocation(outcome, left)
        };
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

/// What `logout` says about revocation, once, in words: what the server revoked, and what it
/// did not and why.
fn revocation(outcome: Result<Option<Revocation>, String>, access_left: Option<std::time::Duration>) -> String {
    let when = access_left
        .map(|d| format!(" (the access token in {})", crate::util::human_duration(d)))
        .unwrap_or_default();
    let r = match outcome {
        Ok(Some(r)) => r,
        Ok(None) => return format!("; the server offers no revocation, so the tokens expire on their own{when}"),
        Err(e) => return format!("; revoking at the server failed ({e}), so the tokens expire on their own{when}"),
    };
    // ["refresh token", "access token"] → "refresh and access tokens"
    let tokens = |v: &[&str]| {
        let kinds: Vec<&str> = v.iter().map(|t| t.trim_end_matches(" token")).collect();
        format!("{} token{}", kinds.join(" and "), if v.len() > 1 { "s" } else { "" })
    };
    let failed: Vec<&str> = r.failed.iter().map(|f| f.0).collect();
    match (r.revoked.is_empty(), r.failed.first()) {
        (true, None) => String::new(),
        (false, None) => format!("; the server revoked the {}", tokens(&r.revoked)),
        (true, Some((_, why))) => {
            format!("; revoking at the server failed ({why}), so the tokens expire on their own{when}")
        }
        (false, Some((_, why))) => format!(
            "; the server revoked the {}, but revoking the {} failed ({why}), so it expires on its own{}",
            tokens(&r.revoked),
            tokens(&failed),
            access_left
                .map(|d| format!(" in {}", crate::util::human_duration(d)))
                .unwrap_or_default(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn revocation_is_said_once_and_as_it_happened() {
        let r = |revoked: Vec<&'static str>, failed: Vec<&'static str>| {
            revocation(
                Ok(Some(Revocation {
                    revoked,
                    failed: failed.into_iter().map(|f| (f, "HTTP 503".to_owned())).collect(),
                })),
                Some(std::time::Duration::from_secs(600)),
            )
        };
        assert_eq!(
            r(vec!["refresh token", "access token"], vec![]),
            "; the server revoked the refresh and access tokens"
        );
        assert_eq!(r(vec!["access token"], vec![]), "; the server revoked the access token");
        assert_eq!(
            r(vec!["refresh token"], vec!["access token"]),
            "; the server revoked the refresh token, but revoking the access token failed (HTTP 503), so it expires on its own in 10m"
        );
        assert_eq!(
            r(vec![], vec!["refresh token", "access token"]),
            "; revoking at the server failed (HTTP 503), so the tokens expire on their own (the access token in 10m)"
        );
        assert!(
            revocation(Err("no route".into()), None).ends_with("failed (no route), so the tokens expire on their own")
        );
    }
}
