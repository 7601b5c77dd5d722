//! `mcp-valet status [URL] [--json]`: who is signed in where, and whether each login is usable.
//! Reads only the non-secret state: never prints a secret, never needs the keyring.

use std::fmt;
use std::io::Write;

use anyhow::Context;
use serde::Serialize;

use crate::cli::StatusArgs;
use crate::store::{Backend, ChosenBy, EntryKey, EntryMeta, Store, StoreInfo, TOKEN_STORE_ENV};
use crate::util::unix_now;

use super::console::Console;
use crate::exit::LoginRequired;

#[derive(Serialize)]
struct Row<'a> {
    server: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    profile: Option<&'a str>,
    /// The `--resource` the login was made with (one login per tenant).
    #[serde(skip_serializing_if = "Option::is_none")]
    resource: Option<&'a str>,
    account: Option<&'a str>,
    issuer: &'a str,
    client_id: &'a str,
    scopes: &'a [String],
    /// Seconds since the Unix epoch.
    expires_at: Option<i64>,
    expired: bool,
    refresh_token: bool,
    usable: bool,
    store: Option<String>,
    /// A token kept with `login --with-token`: when the server accepted it (seconds since the
    /// Unix epoch), or `null` when it was kept with `--no-check`.
    #[serde(skip_serializing_if = "Option::is_none")]
    checked_at: Option<Option<i64>>,
    /// A login another tool made (`import`): which one, e.g. `mcp-remote`.
    #[serde(skip_serializing_if = "Option::is_none")]
    imported_from: Option<&'a str>,
}

pub fn run(args: &StatusArgs, console: &Console) -> anyhow::Result<()> {
    if args.events {
        return super::events::run(args, console);
    }
    let store = Store::open(&crate::settings::store(&args.store)).context("opening the token store")?;
    let wanted = match &args.url {
        Some(u) => Some(crate::auth::resource_key(&crate::http::check_url(u, true)?)),
        None => None,
    };
    let all = store.entries().context("reading the token store")?;
    let stored = all.len();
    let mut entries: Vec<(EntryKey, EntryMeta)> = all
        .into_iter()
        .filter(|(k, _)| wanted.as_ref().is_none_or(|w| &k.resource == w))
        .filter(|(k, _)| args.store.profile.is_none() || k.profile == args.store.profile)
        .collect();
    entries.sort_by(|a, b| (&a.0.resource, &a.0.profile, &a.0.tenant).cmp(&(&b.0.resource, &b.0.profile, &b.0.tenant)));
    let now = unix_now();
    let rows: Vec<Row> = entries
        .iter()
        .map(|(k, m)| {
            let expired = m.expires_at.is_some_and(|t| t <= now);
            Row {
                server: &k.resource,
                profile: k.profile.as_deref(),
                resource: k.tenant.as_deref(),
                account: m.account.as_deref(),
                issuer: &k.issuer,
                client_id: &k.client_id,
                scopes: &m.scopes,
                expires_at: m.expires_at,
                expired,
                refresh_token: m.has_refresh_token,
                usable: !expired || m.has_refresh_token,
                store: m.backend.map(|b| b.to_string()),
                checked_at: (k.issuer == crate::auth::STATIC_ISSUER)
                    .then(|| m.extra.get(crate::auth::CHECKED_AT).and_then(|v| v.as_i64())),
                imported_from: m.extra.get(crate::auth::IMPORTED_FROM).and_then(|v| v.as_str()),
            }
        })
        .collect();
    // Nothing to use is a login required too, so that `status || login` signs in.
    let all_usable = !rows.is_empty() && rows.iter().all(|r| r.usable);
    let mut out = console.result();
    if args.json {
        serde_json::to_writer_pretty(&mut out, &rows)?;
        writeln!(out)?;
    } else if rows.is_empty() {
        let profile = args.store.profile.as_deref();
        let with = profile.map(|p| format!(" with profile {p}")).unwrap_or_default();
        let flag = profile.map(|p| format!(" --profile {p}")).unwrap_or_default();
        match &args.url {
            Some(u) => {
                let u = crate::http::redact_url_text(u);
                writeln!(
                    out,
                    "Not signed in to {u}{with}. Sign in with `mcp-valet login {u}{flag}`."
                )?
            }
            None if stored > 0 => writeln!(
                out,
                "No login{with}; {stored} other login{} stored (`mcp-valet status` lists them).",
                if stored == 1 { " is" } else { "s are" }
            )?,
            None => writeln!(
                out,
                "Not signed in to any server. Sign in with `mcp-valet login <URL>`."
            )?,
        }
    } else {
        for r in &rows {
            let profile = r.profile.map(|p| format!(" (profile {p})")).unwrap_or_default();
            let tenant = r
                .resource
                .map(|t| format!(" (--resource {})", crate::http::redact_url_text(t)))
                .unwrap_or_default();
            writeln!(out, "{}{profile}{tenant}", crate::http::redact_url_text(r.server))?;
            writeln!(
                out,
                "  account:       {}",
                r.account.unwrap_or("(not disclosed by the server)")
            )?;
            if let Some(from) = r.imported_from {
                writeln!(out, "  imported from: {from}")?;
            }
            if r.issuer == crate::auth::STATIC_ISSUER && r.imported_from.is_some() {
                writeln!(
                    out,
                    "  token:         the access token alone (no authorization server found)"
                )?;
            } else if r.issuer == crate::auth::STATIC_ISSUER {
                let checked = match r.checked_at.flatten() {
                    Some(_) => "the server accepted it when it was kept",
                    None => "not checked with the server (--no-check)",
                };
                writeln!(out, "  token:         kept with `login --with-token`; {checked}")?;
            } else {
                writeln!(out, "  issuer:        {}", r.issuer)?;
                writeln!(out, "  client id:     {}", r.client_id)?;
            }
            if !r.scopes.is_empty() {
                writeln!(out, "  scopes:        {}", r.scopes.join(" "))?;
            }
            let expiry = match r.expires_at {
                None => "no expiry given".to_owned(),
                Some(t) if t <= now => format!(
                    "expired {} ago",
                    crate::util::human_duration(std::time::Duration::from_secs((now - t) as u64))
                ),
                Some(t) => format!(
                    "expires in {}",
                    crate::util::human_duration(std::time::Duration::from_secs((t - now) as u64))
                ),
            };
            writeln!(out, "  access token:  {expiry}")?;
            writeln!(out, "  refresh token: {}", if r.refresh_token { "yes" } else { "no" })?;
            writeln!(out, "  stored in:     {}", r.store.as_deref().unwrap_or("?"))?;
            if !r.usable {
                let p = r.profile.map(|p| format!(" --profile {p}")).unwrap_or_default();
                let server = crate::http::redact_url_text(r.server);
                writeln!(out, "  → login required: `mcp-valet login {server}{p}`")?;
            }
        }
    }
    if !args.json {
        // Settle keyring-or-file now, so the line below says which one it is.
        let _ = store.check_keyring();
        writeln!(out, "\n{}", StoreLines(&store.describe()))?;
    }
    if all_usable {
        Ok(())
    } else {
        // The table above says which login needs what.
        Err(LoginRequired::said().into())
    }
}

/// The lines of `status` about the store: where new tokens go and why, and where logins are.
struct StoreLines<'a>(&'a StoreInfo);

impl fmt::Display for StoreLines<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let info = self.0;
        let file = info
            .secrets_file
            .as_ref()
            .map(|p| p.display().to_string())
            .unwrap_or_default();
        match (info.chosen_by, info.backend) {
            (_, Backend::Memory) => write!(f, "token store: memory (this process only; nothing is written)")?,
            (ChosenBy::Default, _) => match &info.keyring {
                Some(Err(reason)) => write!(
                    f,
                    "token store: file {file} (mode 0600), because no OS keyring is usable: {reason}"
                )?,
                Some(Ok(())) => write!(f, "token store: OS keyring")?,
                None => write!(f, "token store: OS keyring, or {file} (mode 0600) if none is usable")?,
            },
            (by, b) => {
                let by = if by == ChosenBy::Env {
                    TOKEN_STORE_ENV
                } else {
                    "--token-store"
                };
                match b {
                    Backend::File => write!(f, "token store: file {file} (mode 0600), chosen by {by}")?,
                    _ => write!(f, "token store: OS keyring, chosen by {by}")?,
                }
            }
        }
        if let Some(p) = &info.state_file {
            write!(f, "\nlogin state: {}", p.display())?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    #[test]
    fn the_store_lines_say_where_tokens_go_and_why() {
        let home = Path::new("/home/ann/.local/share/mcp-valet");
        let (state, secrets) = (home.join("state.json"), home.join("secrets.json"));
        let lines = |backend, chosen_by, keyring| {
            let info = StoreInfo {
                backend,
                chosen_by,
                state_file: Some(state.clone()),
                secrets_file: Some(secrets.clone()),
                keyring,
            };
            StoreLines(&info).to_string()
        };
        let (file, at) = (secrets.display(), format!("\nlogin state: {}", state.display()));
        assert_eq!(
            lines(Backend::File, ChosenBy::Default, Some(Err("no D-Bus".into()))),
            format!("token store: file {file} (mode 0600), because no OS keyring is usable: no D-Bus{at}")
        );
        assert_eq!(
            lines(Backend::Keyring, ChosenBy::Default, Some(Ok(()))),
            format!("token store: OS keyring{at}")
        );
        assert_eq!(
            lines(Backend::Keyring, ChosenBy::Default, None),
            format!("token store: OS keyring, or {file} (mode 0600) if none is usable{at}")
        );
        assert_eq!(
            lines(Backend::File, ChosenBy::Env, None),
            format!("token store: file {file} (mode 0600), chosen by MCP_VALET_TOKEN_STORE{at}")
        );
        assert_eq!(
            lines(Backend::Keyring, ChosenBy::Option, None),
            format!("token store: OS keyring, chosen by --token-store{at}")
        );
        let memory = StoreInfo {
            backend: Backend::Memory,
            chosen_by: ChosenBy::Option,
            state_file: None,
            secrets_file: None,
            keyring: None,
        };
        assert_eq!(
            StoreLines(&memory).to_string(),
            "token store: memory (this process only; nothing is written)"
        );
    }
}
