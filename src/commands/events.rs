//! `mcp-valet status --events [URL] [--json]`: the last authentication events of the audit log
//! (`crate::audit`).

use std::io::Write;

use crate::cli::StatusArgs;

use super::console::Console;

/// Events shown.
const LAST: usize = 20;

pub fn run(args: &StatusArgs, console: &Console) -> anyhow::Result<()> {
    let server = match &args.url {
        Some(u) => Some(crate::auth::resource_key(&crate::http::check_url(u, true)?)),
        None => None,
    };
    let mut events = crate::audit::last(LAST, server.as_deref())?;
    if let Some(p) = &args.store.profile {
        events.retain(|e| e.profile.as_ref() == Some(p));
    }
    let mut out = console.result();
    if args.json {
        serde_json::to_writer_pretty(&mut out, &events)?;
        writeln!(out)?;
        return Ok(());
    }
    if events.is_empty() {
        writeln!(out, "No authentication events recorded.")?;
    }
    for e in &events {
        write!(out, "{}  {:<12} {:<6} {}", e.time, e.event, e.outcome, e.server)?;
        if let Some(p) = &e.profile {
            write!(out, " (profile {p})")?;
        }
        writeln!(out)?;
        let mut detail = Vec::new();
        if let Some(a) = &e.attempt {
            detail.push(format!("attempt: {a}"));
        }
        if let Some(a) = &e.account {
            detail.push(format!("account: {a}"));
        }
        if let Some(i) = &e.issuer
            && i != crate::auth::STATIC_ISSUER
        {
            detail.push(format!("issuer: {i}"));
        }
        if !e.scopes.is_empty() {
            detail.push(format!("scopes: {}", e.scopes.join(" ")));
        }
        if let Some(g) = &e.grant {
            detail.push(format!("grant: {g}"));
        }
        detail.push(format!("pid: {}", e.pid));
        writeln!(out, "    {}", detail.join(", "))?;
        if let Some(r) = &e.reason {
            writeln!(out, "    reason: {r}")?;
        }
    }
    if let Some(f) = crate::audit::files()?.last() {
        writeln!(out, "\nAudit log: {}", f.display())?;
    }
    Ok(())
}
