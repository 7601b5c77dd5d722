//! `mcp-valet config <client> <URL> [bridge options]`: the snippet that makes an MCP client
//! start mcp-valet for a server, and with `--write` the same merged into the client's own
//! configuration file (a backup first; the rest of the file byte for byte).

mod jsonc;

use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use clap::{Args, Parser};
use serde_json::{Value, json};

use super::console::Console;

pub const HELP: &str = "\
Examples:
  mcp-valet config claude-desktop https://mcp.example.com/mcp
  mcp-valet config cursor https://mcp.example.com/mcp --write
  mcp-valet config codex https://mcp.example.com/mcp --name example --deny-tool 'delete_*'
  mcp-valet config vscode https://mcp.example.com/mcp --npx

Clients: claude-desktop, claude-code, cursor, vscode, windsurf, zed, codex, gemini-cli.
Everything after the URL that is not one of the options above goes into the snippet as
bridge options, checked first. docs/clients.md lists each client's configuration file.
Sign in first (`mcp-valet login URL`) for clients that give a server little time to start
(Codex 10 s, Claude Code 30 s).

Exit status:
  0  printed (or written)
  1  the configuration file could not be read, parsed or written (nothing was written)
  2  invalid command-line usage (an unknown client, bridge options mcp-valet does not take)";

#[derive(Debug, Args)]
pub struct ConfigArgs {
    /// The MCP client: claude-desktop, claude-code, cursor, vscode, windsurf, zed, codex or gemini-cli.
    #[arg(value_name = "CLIENT")]
    pub client: String,

    /// The remote MCP server's URL.
    #[arg(value_name = "URL")]
    pub url: String,

    /// Bridge options for the snippet (e.g. `-H 'X-Team: a' --deny-tool 'delete_*'`).
    #[arg(value_name = "BRIDGE_OPTIONS", trailing_var_arg = true, allow_hyphen_values = true)]
    pub bridge: Vec<String>,

    /// The server's name in the client's configuration. Default: from the URL's host.
    #[arg(long, value_name = "NAME")]
    pub name: Option<String>,

    /// Start mcp-valet with `npx -y mcp-valet` instead of this binary's absolute path.
    #[arg(long)]
    pub npx: bool,

    /// Add the snippet to the client's configuration file (a backup is made first).
    #[arg(long)]
    pub write: bool,

    /// With --write: this file instead of the client's usual one.
    #[arg(long, value_name = "PATH")]
    pub config_path: Option<PathBuf>,
}

/// The clients, as the command line names them.
pub const CLIENTS: &[&str] = &[
    "claude-desktop",
    "claude-code",
    "cursor",
    "vscode",
    "windsurf",
    "zed",
    "codex",
    "gemini-cli",
];

/// How a client keeps its servers.
enum Format {
    /// A JSON (or commented JSON) file; the servers are members of `section`.
    Json {
        section: &'static str,
        comments: bool,
        /// Extra members of each server entry (VS Code's `"type": "stdio"`).
        stdio_type: bool,
    },
    /// Codex: `[mcp_servers.<name>]` tables in a TOML file.
    Toml,
    /// Claude Code: a `claude mcp add` command.
    Command,
}

fn format_of(client: &str) -> Format {
    match client {
        "vscode" => Format::Json {
            section: "servers",
            comments: true,
            stdio_type: true,
        },
        "zed" => Format::Json {
            section: "context_servers",
            comments: true,
            stdio_type: false,
        },
        "gemini-cli" => Format::Json {
            section: "mcpServers",
            comments: true,
            stdio_type: false,
        },
        "codex" => Format::Toml,
        "claude-code" => Format::Command,
        _ => Format::Json {
            section: "mcpServers",
            comments: false,
            stdio_type: false,
        },
    }
}

pub fn run(args: &ConfigArgs, console: &Console) -> anyhow::Result<()> {
    let mut args_owned;
    let args = if args.bridge.is_empty() {
        args
    } else {
        // This command's own options may also follow the URL.
        args_owned = ConfigArgs {
            client: args.client.clone(),
            url: args.url.clone(),
            bridge: Vec::new(),
            name: args.name.clone(),
            npx: args.npx,
            write: args.write,
            config_path: args.config_path.clone(),
        };
        take_own_options(&args.bridge, &mut args_owned)?;
        &args_owned
    };
    let client = args.client.to_ascii_lowercase();
    if !CLIENTS.contains(&client.as_str()) {
        return Err(crate::exit::usage(format!(
            "`{}` is not a client mcp-valet knows; use one of: {}",
            crate::util::for_terminal(&args.client, 60),
            CLIENTS.join(", ")
        )));
    }
    check_bridge_options(&args.url, &args.bridge)?;
    let name = match &args.name {
        Some(n) => {
            if n.is_empty() || !n.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
                return Err(crate::exit::usage(format!(
                    "--name `{}`: use letters, digits, `-` and `_` only (Codex accepts nothing else)",
                    crate::util::for_terminal(n, 60)
                )));
            }
            n.clone()
        }
        None => name_from_url(&args.url),
    };
    let (command, argv) = launcher(args)?;
    let format = format_of(&client);
    if args.write {
        return write(
            &client,
            &format,
            &name,
            &command,
            &argv,
            args.config_path.as_deref(),
            console,
        );
    }
    let snippet = match &format {
        Format::Json {
            section, stdio_type, ..
        } => jsonc::document(section, &name, &entry(&command, &argv, *stdio_type)),
        Format::Toml => toml_table(&name, &command, &argv),
        Format::Command => claude_code_command(&name, &command, &argv) + "\n",
    };
    let mut out = console.result();
    out.write_all(snippet.as_bytes())?;
    out.flush()?;
    Ok(())
}

/// Moves `--name`, `--npx`, `--write` and `--config-path` from the bridge options to `into`.
fn take_own_options(rest: &[String], into: &mut ConfigArgs) -> anyhow::Result<()> {
    let mut i = 0;
    while i < rest.len() {
        let a = rest[i].as_str();
        if a == "--" {
            into.bridge.extend(rest[i + 1..].iter().cloned());
            break;
        }
        let (flag, inline) = match a.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f, Some(v.to_owned())),
            _ => (a, None),
        };
        let value = |i: &mut usize| -> anyhow::Result<String> {
            if let Some(v) = &inline {
                return Ok(v.clone());
            }
            *i += 1;
            rest.get(*i)
                .cloned()
                .ok_or_else(|| crate::exit::usage(format!("{flag} needs a value")))
        };
        match flag {
            "--npx" if inline.is_none() => into.npx = true,
            "--write" if inline.is_none() => into.write = true,
            "--name" => into.name = Some(value(&mut i)?),
            "--config-path" => into.config_path = Some(PathBuf::from(value(&mut i)?)),
            _ => into.bridge.push(rest[i].clone()),
        }
        i += 1;
    }
    Ok(())
}

/// The bridge options must be ones `mcp-valet URL …` takes: a snippet the client cannot start
/// is worse than none.
fn check_bridge_options(url: &str, rest: &[String]) -> anyhow::Result<()> {
    let parsed = url::Url::parse(url)
        .ok()
        .filter(|u| matches!(u.scheme(), "http" | "https") && u.host_str().is_some());
    if parsed.is_none() {
        return Err(crate::exit::usage(format!(
            "`{}` is not an http(s) URL",
            crate::util::for_terminal(url, 200)
        )));
    }
    // The options first and the URL after `--`, so that clap reads the URL as a URL.
    let mut line: Vec<String> = vec!["mcp-valet".into()];
    line.extend(rest.iter().cloned());
    line.push("--".into());
    line.push(url.into());
    match crate::cli::Cli::try_parse_from(&line) {
        Ok(c) if c.command.is_none() => no_secrets(&c.bridge),
        Ok(_) => Err(crate::exit::usage("the bridge options name a subcommand")),
        Err(e) => {
            let msg = e.to_string();
            let first = msg.lines().next().unwrap_or("").trim_start_matches("error: ");
            Err(crate::exit::usage(format!(
                "a bridge option mcp-valet does not take: {first}"
            )))
        }
    }
}

/// A client's configuration file is plain text that other programs read and back up: no
/// secret goes into it. A client secret belongs in MCP_VALET_CLIENT_SECRET (or the keyring,
/// by `login`), a credential header's value in `${VAR}` (or `--header-file`, or
/// `login --with-token`). Refused with one line that names the way instead; the value is not
/// repeated.
fn no_secrets(bridge: &crate::cli::BridgeArgs) -> anyhow::Result<()> {
    if bridge.auth.client_secret.is_some() {
        return Err(crate::exit::usage(
            "--client-secret would be written into the client's configuration file: set \
             MCP_VALET_CLIENT_SECRET in the client's environment for the server instead",
        ));
    }
    if bridge
        .auth
        .compat
        .static_oauth_client_info
        .as_deref()
        .is_some_and(|info| !info.starts_with('@') && info.contains("client_secret"))
    {
        return Err(crate::exit::usage(
            "--static-oauth-client-info would write the client secret into the client's \
             configuration file: give it as @FILE, or use --client-id with MCP_VALET_CLIENT_SECRET",
        ));
    }
    for h in &bridge.remote.headers {
        let (name, value) = h.split_once(':').unwrap_or((h, ""));
        let name = name.trim().to_ascii_lowercase();
        let credential = ["authorization", "cookie", "key", "token", "secret", "password"]
            .iter()
            .any(|w| name.contains(w));
        if credential && !value.contains("${") {
            return Err(crate::exit::usage(format!(
                "the header `{}` would put its value into the client's configuration file: \
                 write it as `{}: ${{VARIABLE}}` (set in the client's environment for the server), \
                 or keep it with `mcp-valet login URL --with-token`",
                crate::util::for_terminal(name.trim(), 80),
                crate::util::for_terminal(name.trim(), 80)
            )));
        }
    }
    Ok(())
}

/// The command and arguments the client is to run.
fn launcher(args: &ConfigArgs) -> anyhow::Result<(String, Vec<String>)> {
    let mut argv = Vec::new();
    let command = if args.npx {
        argv.extend(["-y".to_owned(), "mcp-valet".to_owned()]);
        "npx".to_owned()
    } else {
        let exe = std::env::current_exe().context("finding this program's path")?;
        let exe = std::fs::canonicalize(&exe).unwrap_or(exe);
        let s = exe.to_string_lossy().into_owned();
        // Windows: canonicalize gives a `\\?\` path, which not every client can start.
        s.strip_prefix(r"\\?\").map(str::to_owned).unwrap_or(s)
    };
    argv.push(args.url.clone());
    argv.extend(args.bridge.iter().cloned());
    Ok((command, argv))
}

/// A server name from the URL: the host's meaningful labels (`mcp.example.com` → `example`).
pub fn name_from_url(url: &str) -> String {
    let host = url::Url::parse(url)
        .ok()
        .and_then(|u| {
            let port = u.port().map(|p| format!("-{p}")).unwrap_or_default();
            u.host_str()
                .map(|h| (h.trim_matches(['[', ']']).to_ascii_lowercase(), port))
        })
        .unwrap_or_else(|| ("server".into(), String::new()));
    let (host, port) = host;
    let is_ip = host.parse::<std::net::IpAddr>().is_ok();
    let name = if is_ip || !host.contains('.') {
        format!("{host}{port}")
    } else {
        let mut labels: Vec<&str> = host.split('.').collect();
        labels.pop(); // the top-level domain
        while labels.len() > 1 && matches!(labels[0], "mcp" | "www" | "api") {
            labels.remove(0);
        }
        labels.join("-")
    };
    let name: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .collect();
    let name = name.trim_matches('-').to_owned();
    if name.is_empty() { "server".into() } else { name }
}

fn entry(command: &str, argv: &[String], stdio_type: bool) -> Value {
    if stdio_type {
        json!({"type": "stdio", "command": command, "args": argv})
    } else {
        json!({"command": command, "args": argv})
    }
}

/// Codex's table. A JSON string is a valid TOML basic string, so serde_json quotes the values.
fn toml_table(name: &str, command: &str, argv: &[String]) -> String {
    let q = |s: &str| serde_json::to_string(s).expect("a string serialises");
    let args: Vec<String> = argv.iter().map(|a| q(a)).collect();
    format!(
        "[mcp_servers.{name}]\ncommand = {}\nargs = [{}]\n",
        q(command),
        args.join(", ")
    )
}

fn claude_code_command(name: &str, command: &str, argv: &[String]) -> String {
    let mut words = vec![
        "claude".to_owned(),
        "mcp".into(),
        "add".into(),
        "--scope".into(),
        "user".into(),
        shell_quote(name),
        "--".into(),
        shell_quote(command),
    ];
    words.extend(argv.iter().map(|a| shell_quote(a)));
    words.join(" ")
}

/// POSIX shell quoting: bare when safe, else single quotes.
fn shell_quote(s: &str) -> String {
    if !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || "-_./:=@%+,".contains(c)) {
        s.to_owned()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

/// Each client's configuration file on this machine.
pub fn default_path(client: &str) -> anyhow::Result<PathBuf> {
    let dirs = directories::BaseDirs::new().context("cannot find the home directory")?;
    let home = dirs.home_dir();
    // The platform's configuration directory: ~/.config (XDG_CONFIG_HOME) on Linux,
    // ~/Library/Application Support on macOS, %APPDATA% on Windows.
    let config = dirs.config_dir();
    Ok(match client {
        "claude-desktop" => config.join("Claude").join("claude_desktop_config.json"),
        "cursor" => home.join(".cursor").join("mcp.json"),
        "vscode" => config.join("Code").join("User").join("mcp.json"),
        "windsurf" => home.join(".codeium").join("windsurf").join("mcp_config.json"),
        "zed" => {
            if cfg!(windows) {
                config.join("Zed").join("settings.json")
            } else if cfg!(target_os = "macos") {
                home.join(".config").join("zed").join("settings.json")
            } else {
                config.join("zed").join("settings.json")
            }
        }
        "codex" => match std::env::var_os("CODEX_HOME").filter(|v| !v.is_empty()) {
            Some(h) => PathBuf::from(h).join("config.toml"),
            None => home.join(".codex").join("config.toml"),
        },
        "gemini-cli" => home.join(".gemini").join("settings.json"),
        _ => bail!("{client} has no configuration file mcp-valet writes"),
    })
}

fn write(
    client: &str,
    format: &Format,
    name: &str,
    command: &str,
    argv: &[String],
    path: Option<&Path>,
    console: &Console,
) -> anyhow::Result<()> {
    if let Format::Command = format {
        // Claude Code keeps its servers itself (in ~/.claude.json, beside much else): its own
        // command adds one. mcp-valet runs nothing on the user's behalf.
        let cmd = claude_code_command(name, command, argv);
        let mut out = console.result();
        writeln!(out, "{cmd}")?;
        out.flush()?;
        console.say("Claude Code adds servers with its own command: run the line above (nothing was written).");
        return Ok(());
    }
    let path = match path {
        Some(p) => p.to_owned(),
        None => default_path(client)?,
    };
    let shown = path.display().to_string();
    let existing = match std::fs::read(&path) {
        Ok(b) => {
            Some(String::from_utf8(b).map_err(|_| anyhow::anyhow!("{shown} is not UTF-8 text; nothing was written"))?)
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => bail!("cannot read {shown}: {e}; nothing was written"),
    };
    let text = existing.as_deref().unwrap_or("");
    let (new_text, replaced) = match format {
        Format::Json {
            section,
            comments,
            stdio_type,
        } => {
            let value = entry(command, argv, *stdio_type);
            let kind = if *comments { "JSON (with comments)" } else { "JSON" };
            let (t, e) = jsonc::set(text, *comments, section, name, &value).map_err(|e| {
                anyhow::anyhow!("{shown} is not valid {kind}: {e}; fix or move it, nothing was written")
            })?;
            (t, e == jsonc::Edit::Replaced)
        }
        Format::Toml => toml_set(text, name, command, argv)
            .map_err(|e| anyhow::anyhow!("{shown} is not valid TOML: {e}; fix or move it, nothing was written"))?,
        Format::Command => unreachable!("handled above"),
    };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let backup = match &existing {
        Some(_) => Some(backup(&path)?),
        None => None,
    };
    replace_file(&path, new_text.as_bytes()).with_context(|| format!("writing {shown}"))?;
    let what = if replaced { "Replaced" } else { "Added" };
    console.say(format_args!("{what} the server `{name}` in {shown}."));
    match backup {
        Some(b) => console.say(format_args!("  the previous file is kept as {}", b.display())),
        None => console.say("  (a new file)"),
    }
    console.say(format_args!("  restart {client} (or reload its MCP servers) to use it"));
    Ok(())
}

/// Codex: `[mcp_servers.<name>]` appended, or the existing table replaced in place.
fn toml_set(text: &str, name: &str, command: &str, argv: &[String]) -> Result<(String, bool), String> {
    let mut doc: toml_edit::DocumentMut = text.parse().map_err(|e: toml_edit::TomlError| {
        e.to_string()
            .lines()
            .next()
            .unwrap_or("a syntax error")
            .trim()
            .to_owned()
    })?;
    let exists = doc
        .get("mcp_servers")
        .and_then(|s| s.as_table_like())
        .is_some_and(|t| t.contains_key(name));
    let table = toml_table(name, command, argv);
    let out = if exists {
        let fresh: toml_edit::DocumentMut = table.parse().map_err(|e: toml_edit::TomlError| e.to_string())?;
        let new_item = fresh["mcp_servers"][name].clone();
        doc["mcp_servers"][name] = new_item;
        doc.to_string()
    } else {
        let mut out = text.to_owned();
        if !out.is_empty() && !out.ends_with('\n') {
            out.push('\n');
        }
        if !out.is_empty() {
            out.push('\n');
        }
        out.push_str(&table);
        out
    };
    // Appending fails when the file defines mcp_servers another way (an inline table).
    let check: toml_edit::DocumentMut = out.parse().map_err(|_| {
        "its `mcp_servers` is written in a form mcp-valet cannot add a table to (an inline table?)".to_owned()
    })?;
    if check
        .get("mcp_servers")
        .and_then(|s| s.get(name))
        .and_then(|t| t.get("command"))
        .and_then(|c| c.as_str())
        != Some(command)
    {
        return Err("the edit did not read back as expected".into());
    }
    Ok((out, exists))
}

/// A copy of `path` beside it, `<name>.bak` (or `.bak.1`, `.bak.2`, … when that exists).
fn backup(path: &Path) -> anyhow::Result<PathBuf> {
    let file = path
        .file_name()
        .context("the configuration path names no file")?
        .to_string_lossy();
    for n in 0..1000 {
        let candidate = if n == 0 {
            path.with_file_name(format!("{file}.bak"))
        } else {
            path.with_file_name(format!("{file}.bak.{n}"))
        };
        if candidate.exists() {
            continue;
        }
        std::fs::copy(path, &candidate)
            .with_context(|| format!("making the backup {}; nothing was written", candidate.display()))?;
        return Ok(candidate);
    }
    bail!("too many backups beside {}; remove some", path.display())
}

/// Writes `bytes` to a temporary file beside `path` and renames it over `path`, keeping the
/// old file's permissions: a reader sees the old file or the new one, never half of one.
fn replace_file(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let tmp = dir.join(format!(
        ".{}.mcp-valet-{}.tmp",
        path.file_name().map(|n| n.to_string_lossy()).unwrap_or_default(),
        std::process::id()
    ));
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        if let Ok(meta) = std::fs::metadata(path) {
            std::fs::set_permissions(&tmp, meta.permissions())?;
        }
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_from_urls() {
        assert_eq!(name_from_url("https://mcp.notion.com/mcp"), "notion");
        assert_eq!(name_from_url("https://api.githubcopilot.com/mcp/"), "githubcopilot");
        assert_eq!(name_from_url("https://tools.acme.co.uk/mcp"), "tools-acme-co");
        assert_eq!(name_from_url("http://127.0.0.1:8080/mcp"), "127-0-0-1-8080");
        assert_eq!(name_from_url("http://localhost:3000/mcp"), "localhost-3000");
        assert_eq!(name_from_url("http://[::1]:3000/mcp"), "1-3000");
    }

    #[test]
    fn codex_tables() {
        let argv = vec!["https://h.example/mcp".to_owned(), "-H".into(), "X-A: \"b\"".into()];
        let text = "# my settings\nmodel = \"o3\"\n\n[mcp_servers.other]\ncommand = \"x\"\n";
        let (out, replaced) = toml_set(text, "h", "/bin/mcp-valet", &argv).unwrap();
        assert!(!replaced && out.starts_with(text), "{out}");
        let (again, replaced) = toml_set(&out, "h", "/usr/bin/mcp-valet", &argv).unwrap();
        assert!(replaced && again.starts_with(text), "{again}");
        assert!(again.contains("/usr/bin/mcp-valet") && !again.contains("\"/bin/mcp-valet"));
        assert!(toml_set("model = \n", "h", "c", &argv).is_err());
        assert!(toml_set("mcp_servers = { other = { command = \"x\" } }\n", "h", "c", &argv).is_err());
    }

    #[test]
    fn shell_words() {
        assert_eq!(shell_quote("https://h.example/mcp"), "https://h.example/mcp");
        assert_eq!(shell_quote("X-A: b"), "'X-A: b'");
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
    }
}
