//! `mcp-valet status [URL] [--json]`: who is signed in where, and whether each login is usable.
//! Reads only the non-secret state: never prints a secret, never needs the keyring.

use std::io::Write;

use anyhow::Context;
use serde::Serialize;

use crate::cli::StatusArgs;
use crate::store::{EntryKey, EntryMeta, Store};
use crate::util::unix_now;

use super::console::Console;
use crate::exit::LoginRequired;

#[derive(Serialize)]
struct Row<'a> {
    server: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    profile: Option<&'a str>,
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
}

pub fn run(args: &StatusArgs, console: &Console) -> anyhow::Result<()> {
    let store = Store::open(&crate::settings::store(&args.store)).context("opening the token store")?;
    let wanted = match &args.url {
        Some(u) => Some(crate::auth::resource_key(&crate::http::check_url(u, true)?)),
        None => None,
    };
    let mut entries: Vec<(EntryKey, EntryMeta)> = store
        .entries()
        .context("reading the token store")?
        .into_iter()
        .filter(|(k, _)| wanted.as_ref().is_none_or(|w| &k.resource == w))
        .filter(|(k, _)| args.store.profile.is_none() || k.profile == args.store.profile)
        .collect();
    entries.sort_by(|a, b| (&a.0.resource, &a.0.profile).cmp(&(&b.0.resource, &b.0.profile)));
    let now = unix_now();
    let rows: Vec<Row> = entries
        .iter()
        .map(|(k, m)| {
            let expired = m.expires_at.is_some_and(|t| t <= now);
            Row {
                server: &k.resource,
                profile: k.profile.as_deref(),
                account: m.account.as_deref(),
                issuer: &k.issuer,
                client_id: &k.client_id,
                scopes: &m.scopes,
                expires_at: m.expires_at,
                expired,
                refresh_token: m.has_refresh_token,
                usable: !expired || m.has_refresh_token,
                store: m.backend.map(|b| b.to_string()),
            }
        })
        .collect();
    let all_usable = rows.iter().all(|r| r.usable) && (wanted.is_none() || !rows.is_empty());
    let mut out = console.result();
    if args.json {
        serde_json::to_writer_pretty(&mut out, &rows)?;
        writeln!(out)?;
    } else if rows.is_empty() {
        match &args.url {
            Some(u) => writeln!(out, "Not signed in to {u}. Sign in with `mcp-valet login {u}`.")?,
            None => writeln!(out, "Not signed in to any server.")?,
        }
    } else {
        for r in &rows {
            let profile = r.profile.map(|p| format!(" (profile {p})")).unwrap_or_default();
            writeln!(out, "{}{profile}", r.server)?;
            writeln!(
                out,
                "  account:       {}",
                r.account.unwrap_or("(not disclosed by the server)")
            )?;
            if r.issuer == crate::auth::STATIC_ISSUER {
                writeln!(out, "  token:         kept with `login --with-token`")?;
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
                writeln!(out, "  → login required: `mcp-valet login {}{p}`", r.server)?;
            }
        }
    }
    if !args.json {
        // Settle keyring-or-file now, so the line below says which one it is.
        let _ = store.check_keyring();
        writeln!(out, "\n{}", store.describe())?;
    }
    if all_usable {
        Ok(())
    } else {
        // The table above says which login needs what.
        Err(LoginRequired::said().into())
    }
}
