//! `mcp-valet import mcp-remote [URL…]`: takes the logins mcp-remote kept in plaintext files
//! (`~/.mcp-auth`, or MCP_REMOTE_CONFIG_DIR) into mcp-valet's store.
//!
//! mcp-remote keeps one directory per version of itself, `mcp-remote-<version>/`, and in it
//! files named `<hash>_client_info.json` (the client registration), `<hash>_tokens.json`
//! (the token response, with `expires_in` relative to when the file was written),
//! `<hash>_code_verifier*.txt`, `<hash>_lock.json` and `<hash>_debug.log`. The hash is the MD5
//! (hex) of the server URL exactly as mcp-remote was given it, joined with `|` to its
//! `--resource` and to its `--header`s as a JSON object with sorted names (values as written,
//! `${VAR}` unexpanded). A hash cannot be turned back into a URL: the user names the servers;
//! without URLs the command lists what it found and the URLs it recognises from the MCP
//! clients' configuration files.

mod md5;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context, bail};
use clap::{Args, ValueEnum};
use serde::Deserialize;

use super::console::Console;
use crate::auth::{Imported, ImportedClient, Interaction, Kept, OAuthClient};
use crate::cli::{RemoteArgs, StoreArgs};
use crate::http::HttpConfig;
use crate::store::{Secret, Store};

pub const HELP: &str = "\
Examples:
  # What is there, and which server URLs it belongs to
  mcp-valet import mcp-remote
  # Import the logins of these servers (the URLs exactly as in the client's configuration)
  mcp-valet import mcp-remote https://mcp.example.com/sse https://other.example/mcp
  # A server mcp-remote was given --resource and --header options for: the same ones here
  mcp-valet import mcp-remote https://mcp.example.com/mcp --resource https://tenant-a.example/ \\
      --header 'X-Team: ${TEAM}'
  # And delete mcp-remote's plaintext copies of what was imported
  mcp-valet import mcp-remote https://mcp.example.com/sse --remove

mcp-remote names its files by a hash of the URL (and of --resource and --header), which
cannot be turned back into a URL: name the servers as mcp-remote was given them.

Environment:
  MCP_REMOTE_CONFIG_DIR    where mcp-remote keeps its files (default: ~/.mcp-auth)

Exit status:
  0  imported (or, without URLs, listed)
  1  nothing to import, or an error";

/// Where imported logins come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Source {
    /// mcp-remote's ~/.mcp-auth (or MCP_REMOTE_CONFIG_DIR).
    McpRemote,
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// Where the logins come from.
    #[arg(value_enum, value_name = "FROM")]
    pub from: Source,

    /// The servers to import, exactly as mcp-remote was given them. Without any: list what is
    /// there.
    #[arg(value_name = "URL")]
    pub urls: Vec<String>,

    /// The `--resource` mcp-remote was given for these servers.
    #[arg(long, value_name = "URI")]
    pub resource: Option<String>,

    /// A `--header` mcp-remote was given (repeatable), as written in the configuration.
    #[arg(short = 'H', long = "header", value_name = "NAME: VALUE")]
    pub headers: Vec<String>,

    /// mcp-remote's directory. Default: MCP_REMOTE_CONFIG_DIR, else ~/.mcp-auth.
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,

    /// After importing, delete mcp-remote's files of the imported servers.
    #[arg(long)]
    pub remove: bool,

    /// Allow plain http:// to hosts other than loopback (to find the authorization server).
    #[arg(long)]
    pub allow_http: bool,

    #[command(flatten)]
    pub store: StoreArgs,
}

/// Larger files than this are not mcp-remote's.
const MAX_FILE: u64 = 1 << 20;
/// Directory entries looked at, at most.
const MAX_ENTRIES: usize = 100_000;

/// The files of one hash in one version directory.
#[derive(Debug, Default)]
struct Found {
    hash: String,
    version: String,
    client_info: Option<PathBuf>,
    tokens: Option<PathBuf>,
    /// Every file of this hash (code verifiers, lock, log too).
    files: Vec<PathBuf>,
}

#[derive(Deserialize)]
struct TokensFile {
    access_token: String,
    #[serde(default)]
    token_type: Option<String>,
    #[serde(default)]
    expires_in: Option<f64>,
    #[serde(default)]
    refresh_token: Option<String>,
    #[serde(default)]
    scope: Option<String>,
    #[serde(default)]
    id_token: Option<String>,
}

#[derive(Deserialize)]
struct ClientInfoFile {
    client_id: String,
    #[serde(default)]
    client_secret: Option<String>,
    #[serde(default)]
    redirect_uris: Vec<String>,
    #[serde(default)]
    token_endpoint_auth_method: Option<String>,
    #[serde(default)]
    client_id_issued_at: Option<i64>,
}

pub async fn run(args: &ImportArgs, console: &Console) -> anyhow::Result<()> {
    let Source::McpRemote = args.from;
    let base = match &args.dir {
        Some(d) => d.clone(),
        None => match std::env::var_os("MCP_REMOTE_CONFIG_DIR").filter(|v| !v.is_empty()) {
            Some(d) => PathBuf::from(d),
            None => directories::BaseDirs::new()
                .context("cannot find the home directory (set MCP_REMOTE_CONFIG_DIR)")?
                .home_dir()
                .join(".mcp-auth"),
        },
    };
    let found = scan(&base)?;
    if found.iter().all(|f| f.tokens.is_none() && f.client_info.is_none()) {
        bail!(
            "nothing to import: no mcp-remote logins in {} (set MCP_REMOTE_CONFIG_DIR or --dir if mcp-remote kept them elsewhere)",
            base.display()
        );
    }
    if args.urls.is_empty() {
        return list(&found, &base, console);
    }
    let headers = parse_headers(&args.headers)?;
    let mut imported = 0;
    let mut problems = Vec::new();
    for url in &args.urls {
        let hash = mcp_remote_hash(url, args.resource.as_deref(), &headers);
        match import_one(args, url, &hash, &found, console).await {
            Ok(()) => imported += 1,
            Err(e) => {
                console.say(format_args!("{}: {e:#}", crate::http::redact_url_text(url)));
                problems.push(url);
            }
        }
    }
    if imported == 0 {
        bail!(
            "nothing imported ({} of {} server{} failed, as said above)",
            problems.len(),
            args.urls.len(),
            if args.urls.len() == 1 { "" } else { "s" }
        );
    }
    if !problems.is_empty() {
        bail!(
            "imported {imported} server(s); {} failed, as said above",
            problems.len()
        );
    }
    Ok(())
}

async fn import_one(
    args: &ImportArgs,
    url: &str,
    hash: &str,
    found: &[Found],
    console: &Console,
) -> anyhow::Result<()> {
    let shown = crate::http::redact_url_text(url);
    let mine: Vec<&Found> = found.iter().filter(|f| f.hash == hash).collect();
    // The newest tokens, whichever version of mcp-remote wrote them.
    let Some(best) = mine
        .iter()
        .filter(|f| f.tokens.is_some())
        .max_by_key(|f| f.tokens.as_deref().and_then(modified).unwrap_or(0))
    else {
        if mine.is_empty() {
            bail!(
                "mcp-remote has nothing for this URL (looked for {hash}_*); give the URL exactly as in the \
                 client's configuration, with the same --resource and --header options"
            );
        }
        bail!("mcp-remote kept no tokens for it (only a client registration): sign in with `mcp-valet login {shown}`");
    };
    let tokens_path = best.tokens.as_deref().expect("filtered on tokens");
    let tokens: TokensFile = read_json(tokens_path)?;
    if tokens
        .token_type
        .as_deref()
        .is_some_and(|t| !t.eq_ignore_ascii_case("bearer"))
    {
        bail!("{} holds a token that is not a bearer token", tokens_path.display());
    }
    let saved_at = modified(tokens_path).unwrap_or_else(crate::util::unix_now);
    let expires_at = tokens
        .expires_in
        .filter(|e| e.is_finite() && *e >= 0.0)
        .map(|e| saved_at.saturating_add(e.min(1e12) as i64));
    let client = match &best.client_info {
        Some(p) => {
            let c: ClientInfoFile = read_json(p)?;
            Some(ImportedClient {
                client_id: c.client_id,
                client_secret: c.client_secret.filter(|s| !s.is_empty()).map(Secret::new),
                redirect_uris: c.redirect_uris,
                token_endpoint_auth_method: c.token_endpoint_auth_method,
                created_at: c.client_id_issued_at,
            })
        }
        None => None,
    };

    let mut remote = RemoteArgs::for_url(url, args.allow_http);
    remote.headers = args.headers.clone();
    let http = HttpConfig::new(&crate::settings::http(&remote)?)?;
    let mut settings = crate::settings::stored_login(&args.store);
    if let Some(r) = &args.resource {
        settings.resource = crate::auth::ResourceChoice::Override(r.clone());
    }
    let store = Arc::new(Store::open(&settings.store).context("opening the token store")?);
    let oauth = OAuthClient::new(http.clone(), settings, store, Interaction::Never);
    if oauth.has_login().await? {
        bail!(
            "mcp-valet already has a login for it{}; `mcp-valet logout {shown}` first to import mcp-remote's instead",
            args.store
                .profile
                .as_deref()
                .map(|p| format!(" (profile {p})"))
                .unwrap_or_default()
        );
    }
    // Which authorization server issued the tokens: mcp-remote does not say, so ask the server.
    let discovered = match super::login::probe(&http).await {
        Ok(Some(challenge)) => match crate::auth::discovery::discover(&http, &challenge).await {
            Ok(d) if d.has_metadata => Ok(d),
            Ok(_) => Err("the server publishes no OAuth metadata".to_owned()),
            Err(e) => Err(e.to_string()),
        },
        Ok(None) => Err("the server does not ask for a sign-in".to_owned()),
        Err(e) => Err(e.to_string()),
    };
    // JWTs say who issued them (`iss`): a refresh token goes to that issuer only, never to
    // another one the server names now.
    let issued_by = [tokens.id_token.as_deref(), Some(tokens.access_token.as_str())]
        .into_iter()
        .flatten()
        .find_map(|t| Some(crate::auth::token::jwt_claims(t)?.get("iss")?.as_str()?.to_owned()));
    let discovered = match (discovered, issued_by) {
        (Ok(d), Some(iss)) if !crate::auth::same_issuer(&iss, &d.issuer) => {
            let shown = |i: &str| crate::util::for_terminal(&crate::http::redact_url_text(i), 200);
            Err(format!(
                "its tokens were issued by {}, but the server now names the authorization server {}",
                shown(&iss),
                shown(&d.issuer)
            ))
        }
        (d, _) => d,
    };
    let now = crate::util::unix_now();
    let expired = expires_at.is_some_and(|t| t <= now);
    if let Err(why) = &discovered {
        if expired {
            bail!(
                "its access token has expired and the authorization server to refresh it at is unknown ({why}): \
                 sign in with `mcp-valet login {shown}`"
            );
        }
        if client.is_some() {
            console.say(format_args!(
                "{shown}: could not find its authorization server ({why}); keeping the access token alone, \
                 which cannot be refreshed"
            ));
        }
    }
    let has_refresh = tokens.refresh_token.is_some();
    let imp = Imported {
        from: "mcp-remote",
        access_token: Secret::new(tokens.access_token),
        refresh_token: tokens.refresh_token.map(Secret::new),
        id_token: tokens.id_token.map(Secret::new),
        scopes: tokens
            .scope
            .as_deref()
            .map(crate::auth::challenge::split_scopes)
            .unwrap_or_default(),
        expires_at,
        client,
    };
    let (backend, kept) = oauth.keep_imported(discovered.as_ref().ok(), imp).await?;
    let how = match kept {
        Kept::OAuth { issuer, refreshable } => format!(
            "with its client registration at {}{}",
            crate::util::for_terminal(&issuer, 200),
            if refreshable {
                "; it refreshes as usual"
            } else if has_refresh {
                "; the server names no token endpoint, so it cannot be refreshed"
            } else {
                "; no refresh token: sign in again when it expires"
            }
        ),
        Kept::TokenOnly => "the access token alone: sign in with `mcp-valet login` when it expires".to_owned(),
    };
    let expiry = match expires_at {
        Some(t) if t <= now => " (the access token has expired)".to_owned(),
        Some(t) => format!(
            " (the access token expires in {})",
            crate::util::human_duration(Duration::from_secs(u64::try_from(t - now).unwrap_or(0)))
        ),
        None => String::new(),
    };
    console.say(format_args!(
        "Imported mcp-remote's login for {shown} into the {backend} store, {how}{expiry}."
    ));
    let copies: Vec<&PathBuf> = mine.iter().flat_map(|f| f.files.iter()).collect();
    if args.remove {
        let mut removed = 0;
        for p in &copies {
            match std::fs::remove_file(p) {
                Ok(()) => removed += 1,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => console.say(format_args!("  could not delete {}: {e}", p.display())),
            }
        }
        console.say(format_args!(
            "  deleted mcp-remote's {removed} file(s) of it ({hash}_*)."
        ));
        console.say(format_args!(
            "  The tokens themselves stay valid (both tools held the same ones): `mcp-valet logout {shown}` \
             revokes them at the server when you are done."
        ));
    } else {
        let dir = best.tokens.as_deref().and_then(Path::parent).unwrap_or(Path::new("."));
        console.say(format_args!(
            "  mcp-remote's plaintext copies are still in {} ({hash}_*): delete them with \
             `mcp-valet import mcp-remote {shown} --remove` (or `rm`) once mcp-valet works for you. Both tools \
             hold the same tokens; `mcp-valet logout {shown}` revokes them at the server.",
            dir.display()
        ));
    }
    Ok(())
}

/// What is there, with the URLs the clients' configuration files name that fit a hash.
fn list(found: &[Found], base: &Path, console: &Console) -> anyhow::Result<()> {
    let candidates = urls_in_client_configs();
    let mut out = String::new();
    let now = crate::util::unix_now();
    let mut known = Vec::new();
    for f in found.iter().filter(|f| f.tokens.is_some() || f.client_info.is_some()) {
        let what = match (&f.tokens, &f.client_info) {
            (Some(t), _) => format!(
                "tokens saved {} ago",
                crate::util::human_duration(Duration::from_secs(
                    u64::try_from(now - modified(t).unwrap_or(now)).unwrap_or(0)
                ))
            ),
            (None, _) => "a client registration only".to_owned(),
        };
        let url = candidates
            .iter()
            .find(|(u, _)| mcp_remote_hash(u, None, &[]) == f.hash)
            .map(|(u, from)| {
                if f.tokens.is_some() && !known.contains(u) {
                    known.push(u.clone());
                }
                format!(
                    "\n    = {} (named in {})",
                    crate::http::redact_url_text(u),
                    from.display()
                )
            })
            .unwrap_or_default();
        out.push_str(&format!("  {} (mcp-remote {}): {what}{url}\n", f.hash, f.version));
    }
    console.say(format_args!(
        "mcp-remote's logins in {}:\n{}",
        base.display(),
        out.trim_end()
    ));
    if known.is_empty() {
        console.say(
            "mcp-remote names them by a hash of the server URL. To import, name the servers as mcp-remote was \
             given them (with the same --resource and --header options): mcp-valet import mcp-remote URL…",
        );
    } else {
        console.say(format_args!(
            "To import those named above: mcp-valet import mcp-remote {}\n(others: name the servers as mcp-remote \
             was given them, with the same --resource and --header options)",
            known
                .iter()
                .map(|u| crate::http::redact_url_text(u))
                .collect::<Vec<_>>()
                .join(" ")
        ));
    }
    Ok(())
}

/// mcp-remote's files, grouped by version directory and hash.
fn scan(base: &Path) -> anyhow::Result<Vec<Found>> {
    let entries = match std::fs::read_dir(base) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => bail!(
            "nothing to import: {} does not exist (set MCP_REMOTE_CONFIG_DIR or --dir if mcp-remote kept its logins elsewhere)",
            base.display()
        ),
        Err(e) => bail!("cannot read {}: {e}", base.display()),
    };
    let mut found: Vec<Found> = Vec::new();
    let mut seen = 0;
    for dir in entries.flatten() {
        let name = dir.file_name().to_string_lossy().into_owned();
        let Some(version) = name.strip_prefix("mcp-remote-") else {
            continue;
        };
        if !dir.file_type().is_ok_and(|t| t.is_dir()) {
            continue;
        }
        let Ok(files) = std::fs::read_dir(dir.path()) else {
            continue;
        };
        for file in files.flatten() {
            seen += 1;
            if seen > MAX_ENTRIES {
                bail!("{} holds too many files to be mcp-remote's", base.display());
            }
            let fname = file.file_name().to_string_lossy().into_owned();
            let Some((hash, rest)) = fname.split_once('_') else {
                continue;
            };
            if hash.len() != 32 || !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
                continue;
            }
            let i = match found.iter().position(|f| f.hash == hash && f.version == version) {
                Some(i) => i,
                None => {
                    found.push(Found {
                        hash: hash.to_owned(),
                        version: version.to_owned(),
                        ..Found::default()
                    });
                    found.len() - 1
                }
            };
            let path = file.path();
            match rest {
                "tokens.json" => found[i].tokens = Some(path.clone()),
                "client_info.json" => found[i].client_info = Some(path.clone()),
                _ => {}
            }
            found[i].files.push(path);
        }
    }
    found.sort_by(|a, b| (&a.hash, &a.version).cmp(&(&b.hash, &b.version)));
    Ok(found)
}

fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> anyhow::Result<T> {
    let meta = std::fs::metadata(path).with_context(|| format!("reading {}", path.display()))?;
    if meta.len() > MAX_FILE {
        bail!("{} is too large to be mcp-remote's", path.display());
    }
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    // serde_json's message names a position, never the content.
    serde_json::from_slice(&bytes)
        .map_err(|e| anyhow::anyhow!("{} is not what mcp-remote writes ({e})", path.display()))
}

/// When a file was last written, in seconds since the Unix epoch.
fn modified(path: &Path) -> Option<i64> {
    let t = std::fs::metadata(path).ok()?.modified().ok()?;
    let secs = t.duration_since(UNIX_EPOCH).ok()?.as_secs();
    let _ = SystemTime::now();
    i64::try_from(secs).ok()
}

/// `--header` values as mcp-remote reads them: `Name: value` with a name of letters, digits,
/// `_` and `-`; a later header of the same name replaces an earlier one.
fn parse_headers(raw: &[String]) -> anyhow::Result<Vec<(String, String)>> {
    let mut out: Vec<(String, String)> = Vec::new();
    for h in raw {
        let Some((name, value)) = h.split_once(':') else {
            bail!(
                "--header `{}` is not `Name: value`",
                crate::util::for_terminal(h.split(':').next().unwrap_or(""), 60)
            );
        };
        if name.is_empty()
            || !name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        {
            bail!(
                "--header: `{}` is not a header name mcp-remote takes",
                crate::util::for_terminal(name, 60)
            );
        }
        let value = value.trim_start().to_owned();
        match out.iter_mut().find(|(n, _)| n == name) {
            Some(slot) => slot.1 = value,
            None => out.push((name.to_owned(), value)),
        }
    }
    Ok(out)
}

/// The name mcp-remote gives a server's files.
fn mcp_remote_hash(url: &str, resource: Option<&str>, headers: &[(String, String)]) -> String {
    let mut parts = vec![url.to_owned()];
    if let Some(r) = resource.filter(|r| !r.is_empty()) {
        parts.push(r.to_owned());
    }
    if !headers.is_empty() {
        let mut sorted: Vec<&(String, String)> = headers.iter().collect();
        sorted.sort_by(|a, b| a.0.cmp(&b.0));
        let q = |s: &str| serde_json::to_string(s).expect("a string serialises");
        let members: Vec<String> = sorted.iter().map(|(n, v)| format!("{}:{}", q(n), q(v))).collect();
        parts.push(format!("{{{}}}", members.join(",")));
    }
    md5::hex(parts.join("|").as_bytes())
}

/// Every http(s) URL in the MCP clients' configuration files, with the file it is in.
fn urls_in_client_configs() -> Vec<(String, PathBuf)> {
    let mut paths: Vec<PathBuf> = super::config::CLIENTS
        .iter()
        .filter_map(|c| super::config::default_path(c).ok())
        .collect();
    if let Some(d) = directories::BaseDirs::new() {
        paths.push(d.home_dir().join(".claude.json"));
    }
    let mut out: Vec<(String, PathBuf)> = Vec::new();
    for p in paths {
        let Ok(meta) = std::fs::metadata(&p) else { continue };
        if meta.len() > 16 * MAX_FILE {
            continue;
        }
        let Ok(text) = std::fs::read_to_string(&p) else {
            continue;
        };
        for (i, _) in text.match_indices("http") {
            let rest = &text[i..];
            if !(rest.starts_with("http://") || rest.starts_with("https://")) {
                continue;
            }
            let end = rest
                .find(|c: char| c == '"' || c == '\'' || c.is_whitespace() || c == ',' || c == ']')
                .unwrap_or(rest.len());
            let url = &rest[..end];
            if !out.iter().any(|(u, _)| u == url) {
                out.push((url.to_owned(), p.clone()));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_as_mcp_remote_does() {
        // md5("https://mcp.example.com/sse"), as mcp-remote names that server's files.
        assert_eq!(
            mcp_remote_hash("https://mcp.example.com/sse", None, &[]),
            md5::hex(b"https://mcp.example.com/sse")
        );
        assert_eq!(
            mcp_remote_hash("https://h/mcp", Some("https://r/"), &[]),
            md5::hex(b"https://h/mcp|https://r/")
        );
        let h = parse_headers(&["X-B: 2".into(), "X-A:1".into(), "X-B:   3".into()]).unwrap();
        assert_eq!(
            mcp_remote_hash("https://h/mcp", None, &h),
            md5::hex(br#"https://h/mcp|{"X-A":"1","X-B":"3"}"#)
        );
        assert!(parse_headers(&["no colon".into()]).is_err());
        assert!(parse_headers(&["Bad Name: x".into()]).is_err());
    }
}
