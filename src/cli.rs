//! Command-line interface: the clap types, also used to generate shell completions.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

const EXIT_CODES: &str = "\
Exit status:
  0  success (in bridge mode: stdin closed and every request was answered)
  1  an error (bad configuration, unreachable server, …)
  2  invalid command-line usage
  4  a login is required (status, token)";

/// mcp-valet: a stdio MCP server that relays to a remote MCP server and signs in for you.
///
/// Run `mcp-valet <URL>` from a desktop MCP client: it speaks JSON-RPC on stdin/stdout and
/// relays every message to the remote server over Streamable HTTP (or the older HTTP+SSE
/// transport). Nothing but JSON-RPC is ever written to stdout; logs go to stderr.
#[derive(Debug, Parser)]
#[command(
    name = "mcp-valet",
    version,
    about,
    long_about = None,
    after_help = EXIT_CODES,
    args_conflicts_with_subcommands = true,
    subcommand_negates_reqs = true,
    disable_help_subcommand = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,

    #[command(flatten)]
    pub bridge: BridgeArgs,

    #[command(flatten)]
    pub log: LogArgs,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Write a shell completion script to stdout.
    Completions {
        /// The shell to generate completions for.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

/// Options of bridge mode (`mcp-valet <URL>`).
#[derive(Debug, Args)]
pub struct BridgeArgs {
    #[command(flatten)]
    pub remote: RemoteArgs,

    /// Give up on a request after this long without an answer (progress notifications reset
    /// the clock). Accepts e.g. `300`, `90s`, `5m`, `1h`, `500ms`.
    #[arg(long, value_name = "DURATION", default_value = "5m", value_parser = parse_duration)]
    pub request_timeout: Duration,

    /// Upper bound for one request however much progress it reports.
    #[arg(long, value_name = "DURATION", default_value = "1h", value_parser = parse_duration)]
    pub max_request_time: Duration,

    /// Largest JSON-RPC message accepted from the client or the server (e.g. `64MiB`).
    #[arg(long, value_name = "BYTES", default_value = "64MiB", value_parser = parse_size)]
    pub max_message_size: usize,
}

/// How to reach the remote MCP server; shared by every command that talks to it.
#[derive(Debug, Args, Clone)]
pub struct RemoteArgs {
    /// URL of the remote MCP server, e.g. https://example.com/mcp
    #[arg(value_name = "URL", required = true)]
    pub url: Option<String>,

    /// Extra HTTP header for every request to the server, `Name: value` (repeatable).
    /// `${VAR}` in the value is replaced by the environment variable VAR. Values are never
    /// logged.
    #[arg(short = 'H', long = "header", value_name = "NAME: VALUE")]
    pub headers: Vec<String>,

    /// Read extra headers from a file, one `Name: value` per line (blank lines and lines
    /// starting with `#` are ignored; `${VAR}` is expanded). Keeps secrets out of `ps`.
    #[arg(long, value_name = "PATH")]
    pub header_file: Option<PathBuf>,

    /// Transport to the server: try Streamable HTTP and fall back to HTTP+SSE (auto), or force one.
    #[arg(long, value_enum, default_value_t = TransportChoice::Auto)]
    pub transport: TransportChoice,

    /// Allow plain http:// to hosts other than loopback (tokens and data travel unencrypted).
    #[arg(long)]
    pub allow_http: bool,

    /// Trust the CA certificates in this PEM file, in addition to the system's trust store.
    #[arg(long, value_name = "PEM")]
    pub ca_file: Option<PathBuf>,

    /// Give up connecting to the server after this long.
    #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = parse_duration)]
    pub connect_timeout: Duration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TransportChoice {
    /// Streamable HTTP, falling back to HTTP+SSE when the server answers 400, 404 or 405.
    Auto,
    /// Streamable HTTP only (MCP 2025-03-26 and later).
    StreamableHttp,
    /// The older HTTP+SSE transport only (MCP 2024-11-05).
    Sse,
}

#[derive(Debug, Args, Clone)]
pub struct LogArgs {
    /// More log output on stderr (-v info, -vv debug, -vvv trace).
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,

    /// Only errors on stderr.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,

    /// Write logs to this file instead of stderr. MCP_VALET_LOG (e.g. `debug`) overrides the level.
    #[arg(long, value_name = "PATH", global = true)]
    pub log_file: Option<PathBuf>,
}

/// Parses `300`, `300s`, `500ms`, `5m`, `1h` (a bare number is seconds).
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let n: u64 = num
        .parse()
        .map_err(|_| format!("`{s}` is not a duration (try 30s, 5m, 1h or 500ms)"))?;
    let d = match unit.trim() {
        "" | "s" => Duration::from_secs(n),
        "ms" => Duration::from_millis(n),
        "m" | "min" => Duration::from_secs(n.saturating_mul(60)),
        "h" => Duration::from_secs(n.saturating_mul(3600)),
        _ => return Err(format!("`{s}` is not a duration (try 30s, 5m, 1h or 500ms)")),
    };
    if d.is_zero() {
        return Err("a duration must be greater than zero".into());
    }
    Ok(d)
}

/// Parses `1048576`, `512KiB`, `64MiB`, `1GiB` (also `K`, `M`, `G`, `KB`, `MB`, `GB` as powers of 1024).
pub fn parse_size(s: &str) -> Result<usize, String> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let n: usize = num
        .parse()
        .map_err(|_| format!("`{s}` is not a size (try 65536, 512KiB or 64MiB)"))?;
    let mult: usize = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        "g" | "gb" | "gib" => 1 << 30,
        _ => return Err(format!("`{s}` is not a size (try 65536, 512KiB or 64MiB)")),
    };
    let v = n.checked_mul(mult).ok_or_else(|| format!("`{s}` is too large"))?;
    if v < 1024 {
        return Err("the message size limit must be at least 1KiB".into());
    }
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("300").unwrap(), Duration::from_secs(300));
        assert_eq!(parse_duration("90s").unwrap(), Duration::from_secs(90));
        assert_eq!(parse_duration("5m").unwrap(), Duration::from_secs(300));
        assert_eq!(parse_duration("1h").unwrap(), Duration::from_secs(3600));
        assert_eq!(parse_duration("250ms").unwrap(), Duration::from_millis(250));
        assert!(parse_duration("0").is_err());
        assert!(parse_duration("5 parsecs").is_err());
        assert!(parse_duration("").is_err());
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_size("64MiB").unwrap(), 64 << 20);
        assert_eq!(parse_size("512k").unwrap(), 512 << 10);
        assert_eq!(parse_size("2048").unwrap(), 2048);
        assert!(parse_size("10").is_err());
        assert!(parse_size("lots").is_err());
    }
}
