//! Command-line interface: the clap types, also used to generate shell completions.

use std::path::PathBuf;
use std::time::Duration;

use clap::builder::{EnumValueParser, TypedValueParser as _};
use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::store::Backend;

mod help;
use help::*;

/// mcp-valet: a stdio MCP server that relays to a remote MCP server and signs in for you.
///
/// Run `mcp-valet <URL>` from a desktop MCP client: it speaks JSON-RPC on stdin/stdout and
/// relays every message to the remote server over Streamable HTTP (or the older HTTP+SSE
/// transport). Nothing but JSON-RPC is ever written to stdout; logs go to stderr.
#[derive(Debug, Parser)]
#[command(
    name = "mcp-valet",
    // Not the executable's file name: on Windows that is "mcp-valet.exe", and usage lines and
    // errors would say `mcp-valet.exe login …` where the user types `mcp-valet login …`.
    bin_name = "mcp-valet",
    version,
    after_help = help(TOP_EXAMPLES, crate::exit::HELP),
    args_conflicts_with_subcommands = true,
    arg_required_else_help = true,
    subcommand_negates_reqs = true,
    disable_help_subcommand = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,

    #[command(flatten)]
    pub bridge: BridgeArgs,

    /// The port for the sign-in redirect, after the URL as mcp-remote takes it (the same as
    /// --callback-port).
    #[arg(value_name = "PORT", value_parser = clap::value_parser!(u16), hide_short_help = true)]
    pub port: Option<u16>,

    #[command(flatten)]
    pub log: LogArgs,
}

impl Cli {
    /// Parses the process's arguments. `mcp-valet <URL> [OPTIONS]`, the command a desktop client
    /// runs at every start, is read by a parser that knows only the bridge's options: building
    /// every subcommand's definition costs memory and touches code the bridge never needs. Any
    /// other command line, and any bridge command line that does not parse (so that errors and
    /// `--help` read the same), goes to the full parser.
    pub fn parse_args() -> Cli {
        let mut args = std::env::args_os().skip(1);
        let url_first = args
            .next()
            .and_then(|a| {
                a.to_str()
                    .map(|a| a.starts_with("https://") || a.starts_with("http://"))
            })
            .unwrap_or(false);
        if url_first && let Ok(b) = BridgeCli::try_parse() {
            return Cli {
                command: None,
                bridge: b.bridge,
                port: b.port,
                log: b.log,
            };
        }
        Cli::parse()
    }
}

/// The bridge's command line alone (see [`Cli::parse_args`]).
#[derive(Debug, Parser)]
#[command(name = "mcp-valet", bin_name = "mcp-valet", version)]
struct BridgeCli {
    #[command(flatten)]
    bridge: BridgeArgs,

    /// As `Cli::port`.
    #[arg(value_name = "PORT", value_parser = clap::value_parser!(u16), hide_short_help = true)]
    port: Option<u16>,

    #[command(flatten)]
    log: LogArgs,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Sign in to a server now (mcp-valet also signs in by itself when a server asks).
    #[command(after_help = help(LOGIN_EXAMPLES, crate::exit::LOGIN))]
    Login(LoginArgs),
    /// Sign out: revoke the tokens at the server when it allows, and delete them.
    #[command(
        after_help = help(LOGOUT_EXAMPLES, crate::exit::LOGOUT),
        mut_arg("profile", |a| a.help("Only the login kept under this profile name (--all: every profile)"))
    )]
    Logout(LogoutArgs),
    /// Show who is signed in where, and whether each login is usable (exit 4 if not).
    #[command(
        after_help = help(STATUS_EXAMPLES, crate::exit::STATUS),
        mut_arg("profile", |a| a.help("Only the logins kept under this profile name"))
    )]
    Status(StatusArgs),
    /// Print a valid access token for a server on stdout (refreshing it if needed).
    #[command(
        after_help = help(TOKEN_EXAMPLES, crate::exit::TOKEN),
        mut_arg("profile", |a| a.help("The login kept under this profile name"))
    )]
    Token(TokenArgs),
    /// List the server's tools: name, title, description and required arguments.
    #[command(after_help = TOOLS_HELP)]
    Tools(ToolsArgs),
    /// Call one of the server's tools and print what it returns.
    #[command(after_help = CALL_HELP)]
    Call(CallArgs),
    /// List the server's resources.
    #[command(after_help = RESOURCES_HELP)]
    Resources(ListArgs),
    /// Read one resource of the server and print its contents.
    #[command(after_help = READ_HELP)]
    Read(ReadArgs),
    /// List the server's prompts and their arguments.
    #[command(after_help = PROMPTS_HELP)]
    Prompts(ListArgs),
    /// Check each step of the way to a server (DNS, TCP, TLS, transport, sign-in) and say what to fix.
    #[command(after_help = DOCTOR_HELP)]
    Doctor(DoctorArgs),
    /// Print the configuration that makes an MCP client start mcp-valet (--write: add it to
    /// the client's configuration file).
    #[command(after_help = crate::commands::config::HELP)]
    Config(crate::commands::config::ConfigArgs),
    /// Import the logins another tool kept: mcp-remote's client registrations and tokens.
    #[command(after_help = crate::commands::import::HELP)]
    Import(crate::commands::import::ImportArgs),
    /// Write a shell completion script to stdout.
    #[command(after_help = help(COMPLETIONS_EXAMPLES, crate::exit::COMPLETIONS))]
    Completions {
        /// The shell to generate completions for.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

#[derive(Debug, Args)]
pub struct LoginArgs {
    #[command(flatten)]
    pub remote: RemoteArgs,

    /// Read a token (an API key the server accepts as a bearer token) from stdin and keep it
    /// in the token store instead of signing in: `mcp-valet login URL --with-token < key.txt`.
    #[arg(long)]
    pub with_token: bool,

    /// With --with-token: keep the token without first asking the server whether it accepts it
    /// (one MCP `initialize` with the token). `status` shows which tokens were checked.
    #[arg(long, requires = "with_token")]
    pub no_check: bool,

    #[command(flatten)]
    pub auth: AuthArgs,
}

#[derive(Debug, Args)]
pub struct LogoutArgs {
    /// The server to sign out of.
    #[arg(value_name = "URL", required_unless_present = "all")]
    pub url: Option<String>,

    /// Every login (of this server, or of all servers when no URL is given).
    #[arg(long)]
    pub all: bool,

    /// Only the login made with this --resource (one tenant's; default: every tenant's).
    #[arg(long, value_name = "URI")]
    pub resource: Option<String>,

    #[command(flatten)]
    pub store: StoreArgs,

    /// Allow plain http:// to hosts other than loopback for the revocation request.
    #[arg(long)]
    pub allow_http: bool,
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Only this server.
    #[arg(value_name = "URL")]
    pub url: Option<String>,

    /// Print JSON for scripts.
    #[arg(long)]
    pub json: bool,

    /// Show the last authentication events (sign-ins, refreshes, failures, …) from the audit
    /// log instead of the logins.
    #[arg(long)]
    pub events: bool,

    #[command(flatten)]
    pub store: StoreArgs,
}

/// `token` never signs in: of the sign-in options it takes only what refreshing a stored
/// login may need.
#[derive(Debug, Args)]
pub struct TokenArgs {
    #[command(flatten)]
    pub remote: RemoteArgs,

    /// The pre-registered OAuth client the login was made with (`login --client-id`), whose
    /// secret refreshing needs.
    #[arg(long, value_name = "ID", help_heading = "Sign-in (OAuth)")]
    pub client_id: Option<String>,

    /// The secret of --client-id. Prefer MCP_VALET_CLIENT_SECRET: argv is visible in `ps`.
    #[arg(long, value_name = "SECRET", help_heading = "Sign-in (OAuth)")]
    pub client_secret: Option<String>,

    /// The login made with this --resource (one tenant's).
    #[arg(long, value_name = "URI", help_heading = "Sign-in (OAuth)")]
    pub resource: Option<String>,

    #[command(flatten)]
    pub store: StoreArgs,
}

#[derive(Debug, Args)]
pub struct DoctorArgs {
    #[command(flatten)]
    pub bridge: BridgeArgs,

    /// Print the steps as JSON for scripts.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct ToolsArgs {
    #[command(flatten)]
    pub bridge: BridgeArgs,

    /// Print the tools as JSON (the server's tool objects) for scripts.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct CallArgs {
    #[command(flatten)]
    pub bridge: BridgeArgs,

    /// The tool's name.
    #[arg(value_name = "TOOL")]
    pub tool: String,

    /// The arguments as one JSON object, or `-` to read it from stdin.
    #[arg(value_name = "ARGS_JSON")]
    pub args: Option<String>,

    /// One argument, `key=value` (repeatable), typed by the tool's input schema.
    #[arg(long = "arg", value_name = "KEY=VALUE")]
    pub arg: Vec<String>,

    /// Print the whole result as JSON instead of its text content.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct ListArgs {
    #[command(flatten)]
    pub bridge: BridgeArgs,

    /// Print JSON (the server's objects) for scripts.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct ReadArgs {
    #[command(flatten)]
    pub bridge: BridgeArgs,

    /// The resource's URI, as `mcp-valet resources` lists it.
    #[arg(value_name = "URI")]
    pub uri: String,

    /// Print the whole result as JSON instead of the text contents.
    #[arg(long)]
    pub json: bool,
}

/// Which of the server's tools a client sees and may call.
#[derive(Debug, Args, Clone, Default)]
#[command(next_help_heading = "Tool filters")]
pub struct ToolFilterArgs {
    /// Show and allow only tools matching this glob (`*`, `?`; repeatable).
    #[arg(long = "allow-tool", value_name = "GLOB")]
    pub allow: Vec<String>,

    /// Hide tools matching this glob and refuse calls to them (repeatable; wins over
    /// --allow-tool).
    #[arg(long = "deny-tool", value_name = "GLOB")]
    pub deny: Vec<String>,

    /// As --deny-tool, but matched without regard to case (mcp-remote's spelling and meaning).
    #[arg(long = "ignore-tool", value_name = "GLOB", hide_short_help = true)]
    pub ignore: Vec<String>,
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

    /// Send the server a `ping` every 30s (or --ping-interval) while the bridge runs, so that
    /// an idle session is not dropped by the server or a load balancer.
    #[arg(long)]
    pub keep_alive: bool,

    /// The period of --keep-alive (giving it turns keep-alive on). A bare number is seconds.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub ping_interval: Option<Duration>,

    #[command(flatten)]
    pub tools: ToolFilterArgs,

    #[command(flatten)]
    pub auth: AuthArgs,
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

    /// MCP protocol revision: ask the server (auto, remembered per server), the
    /// initialize-based revisions up to 2025-11-25 (legacy), or 2026-07-28 (modern).
    #[arg(long, value_enum, default_value_t = ProtocolChoice::Auto)]
    pub protocol: ProtocolChoice,

    /// Allow plain http:// to hosts other than loopback (tokens and data travel unencrypted).
    #[arg(long)]
    pub allow_http: bool,

    /// Trust the CA certificates in this PEM file, in addition to the system's trust store.
    #[arg(long, value_name = "PEM")]
    pub ca_file: Option<PathBuf>,

    /// Give up connecting to the server after this long.
    #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = parse_duration)]
    pub connect_timeout: Duration,

    /// Connect over IPv4 only (for networks whose IPv6 routes lose packets instead of refusing).
    #[arg(long)]
    pub ipv4: bool,

    #[command(flatten)]
    pub compat: RemoteCompatArgs,
}

/// mcp-remote's options that mean little here: accepted so that its configurations keep
/// working, with a warning where the option changes nothing.
#[derive(Debug, Args, Clone, Default)]
#[command(next_help_heading = "Accepted for mcp-remote configurations")]
pub struct RemoteCompatArgs {
    /// Use the proxy from HTTP_PROXY/HTTPS_PROXY/NO_PROXY: mcp-valet always does (this changes
    /// nothing).
    #[arg(long, hide_short_help = true)]
    pub enable_proxy: bool,

    /// mcp-remote's wait for response headers; here --request-timeout bounds each request.
    #[arg(long, value_name = "SECONDS", hide_short_help = true)]
    pub headers_timeout: Option<String>,

    /// mcp-remote's wait between chunks of a body; here --request-timeout bounds each request.
    #[arg(long, value_name = "SECONDS", hide_short_help = true)]
    pub body_timeout: Option<String>,

    /// Do not keep the cookies the MCP server sets (by default they are sent back to it, for
    /// load balancers that keep a session on one node by cookie).
    #[arg(long, hide_short_help = true)]
    pub disable_cookies: bool,
}

/// How mcp-valet signs in to the server's authorization server (OAuth 2.1, as the MCP
/// specification describes). With none of these, everything is discovered from the server.
#[derive(Debug, Args, Clone)]
#[command(next_help_heading = "Sign-in (OAuth)")]
pub struct AuthArgs {
    /// Use this pre-registered OAuth client id instead of registering one.
    #[arg(long, value_name = "ID")]
    pub client_id: Option<String>,

    /// The secret of the pre-registered client. Prefer MCP_VALET_CLIENT_SECRET: argv is
    /// visible in `ps`.
    // Not clap's `env` (settings.rs reads the variable): clap would show the option in usage
    // lines, and demand what it `requires`, whenever the variable is set.
    #[arg(long, value_name = "SECRET")]
    pub client_secret: Option<String>,

    /// An https URL whose JSON document describes this client (a client ID metadata document),
    /// used when the authorization server supports them.
    #[arg(long, value_name = "URL")]
    pub client_metadata_url: Option<String>,

    /// Scopes to request (space-separated or repeated). Default: what the server asks for.
    #[arg(long = "scope", value_name = "SCOPE")]
    pub scopes: Vec<String>,

    /// Send this value as the RFC 8707 `resource` parameter instead of the one the server
    /// publishes. Logins made with it are kept apart from the server's other logins (one per
    /// tenant, as with mcp-remote). An empty value is --no-resource.
    #[arg(long, value_name = "URI")]
    pub resource: Option<String>,

    /// Do not send the `resource` parameter (Microsoft Entra ID v2 rejects it: AADSTS9010010).
    /// Wins over --resource.
    #[arg(long, alias = "disable-resource-parameter")]
    pub no_resource: bool,

    /// Trust that the authorization server supports PKCE S256 although its metadata does not say so.
    #[arg(long)]
    pub assume_pkce: bool,

    /// An extra parameter for the authorization request, `key=value` (repeatable), e.g.
    /// `access_type=offline` for Google.
    #[arg(long = "authorize-param", value_name = "KEY=VALUE")]
    pub authorize_params: Vec<String>,

    /// Sign in with the device authorization grant (a code to enter on another device).
    #[arg(long, alias = "device-code", conflicts_with = "client_credentials")]
    pub device: bool,

    /// Sign in as the client itself (client credentials grant; needs --client-id and a secret).
    #[arg(long, requires = "client_id")]
    pub client_credentials: bool,

    /// Print the sign-in URL on stderr instead of opening a browser.
    #[arg(long)]
    pub no_browser: bool,

    /// Port of the loopback listener that receives the browser's redirect. Default: derived
    /// from the server URL, so a registration stays valid across runs.
    #[arg(long, value_name = "PORT")]
    pub callback_port: Option<u16>,

    /// The redirect URI to register and send, a loopback http URL such as
    /// `http://localhost/` (its port may be omitted). Default: http://127.0.0.1:<port>/callback.
    #[arg(long, value_name = "URI")]
    pub redirect_uri: Option<String>,

    /// Give up waiting for the sign-in after this long. Default: 5m in the browser; with
    /// --device, as long as the device code is valid.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub auth_timeout: Option<Duration>,

    /// After a browser sign-in, send the browser on to this page (https, or http on this machine).
    #[arg(long, value_name = "URL")]
    pub auth_success_url: Option<String>,

    /// Send the ID token to the server instead of the access token (servers that check who the
    /// caller is, such as AWS Cognito in front of Bedrock AgentCore).
    #[arg(long)]
    pub use_id_token: bool,

    /// With --client-credentials: the authorization server's token endpoint, for servers that
    /// publish no metadata (discovery is skipped).
    #[arg(long, value_name = "URL", requires = "client_credentials")]
    pub token_endpoint: Option<String>,

    /// The authorization server (its issuer) to sign in at: refuse any other the server names.
    /// A pre-registered client is otherwise bound to the issuer of its first sign-in; this
    /// moves it (see docs/security.md).
    #[arg(long, value_name = "URL", conflicts_with = "token_endpoint")]
    pub issuer: Option<String>,

    #[command(flatten)]
    pub compat: AuthCompatArgs,

    #[command(flatten)]
    pub store: StoreArgs,
}

/// mcp-remote's sign-in options, in its spelling (see docs/mcp-remote.md).
#[derive(Debug, Args, Clone, Default)]
#[command(next_help_heading = "Accepted for mcp-remote configurations")]
pub struct AuthCompatArgs {
    /// A pre-registered client as JSON, `{"client_id": "…", "client_secret": "…"}`, or
    /// `@FILE` to read it from a file (`${VAR}` is expanded): --client-id and --client-secret.
    #[arg(long, value_name = "JSON|@FILE", hide_short_help = true, conflicts_with_all = ["client_id", "client_secret"])]
    pub static_oauth_client_info: Option<String>,

    /// Client metadata as JSON or `@FILE`: `scope` (as --scope), `token_endpoint_auth_method`,
    /// and fields to send when registering (`client_name`, …).
    #[arg(long, value_name = "JSON|@FILE", hide_short_help = true)]
    pub static_oauth_client_metadata: Option<String>,

    /// The host name of the redirect URI (`localhost` or `127.0.0.1`); with it, --callback-path
    /// or a port after the URL, the redirect URI is mcp-remote's http://HOST:PORT/oauth/callback.
    #[arg(long, value_name = "HOST", hide_short_help = true, conflicts_with = "redirect_uri")]
    pub host: Option<String>,

    /// The path of the redirect URI (mcp-remote's default: /oauth/callback).
    #[arg(long, value_name = "PATH", hide_short_help = true, conflicts_with = "redirect_uri")]
    pub callback_path: Option<String>,

    /// The registration fields of --static-oauth-client-metadata, read by `crate::compat`.
    #[arg(skip)]
    pub client_metadata: serde_json::Map<String, serde_json::Value>,
}

/// Which stored login to use.
#[derive(Debug, Args, Clone, Default)]
pub struct StoreArgs {
    /// Keep a second identity for the same server under this name (and use it later with
    /// the same --profile).
    #[arg(long, value_name = "NAME")]
    pub profile: Option<String>,

    /// Where tokens are kept: the OS keyring (default, falling back to a 0600 file when no
    /// keyring is usable), a file, or memory (this run only). Default: MCP_VALET_TOKEN_STORE.
    // Not clap's `env`: the store reads the variable itself, so that `status` can say which
    // one chose it.
    #[arg(
        long,
        value_parser = EnumValueParser::<TokenStore>::new().map(Backend::from),
        value_name = "STORE"
    )]
    pub token_store: Option<Backend>,
}

impl RemoteArgs {
    /// The defaults (as the definitions above give them), for a server URL that comes from
    /// the token store.
    pub fn for_url(url: &str, allow_http: bool) -> RemoteArgs {
        #[derive(Parser)]
        struct Only {
            #[command(flatten)]
            remote: RemoteArgs,
        }
        let mut args = Only::try_parse_from(["mcp-valet", "--", url])
            .expect("a URL alone is a valid command line")
            .remote;
        args.allow_http = allow_http;
        args
    }
}

/// The values of `--token-store`: the store's back ends as the command line spells and
/// explains them (the store itself knows nothing of clap).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum TokenStore {
    /// The OS keyring (Secret Service, Keychain, Credential Manager).
    Keyring,
    /// A 0600 file under the state directory.
    File,
    /// This process only; nothing is written.
    Memory,
}

impl From<TokenStore> for Backend {
    fn from(t: TokenStore) -> Backend {
        match t {
            TokenStore::Keyring => Backend::Keyring,
            TokenStore::File => Backend::File,
            TokenStore::Memory => Backend::Memory,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TransportChoice {
    /// Streamable HTTP, falling back to HTTP+SSE when the server answers 400, 404 or 405
    /// (mcp-remote's `http-first`; its `sse-first` also means this here).
    #[value(alias = "http-first", alias = "sse-first")]
    Auto,
    /// Streamable HTTP only (MCP 2025-03-26 and later; mcp-remote's `http-only`).
    #[value(alias = "http-only")]
    StreamableHttp,
    /// The older HTTP+SSE transport only (MCP 2024-11-05; mcp-remote's `sse-only`).
    #[value(alias = "sse-only")]
    Sse,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ProtocolChoice {
    /// Probe with `server/discover` once, remember the answer per server, re-probe when it proves wrong.
    Auto,
    /// The initialize-based revisions (2025-11-25 and older) only; never probe.
    Legacy,
    /// MCP 2026-07-28 only.
    Modern,
}

#[derive(Debug, Args, Clone)]
#[command(next_help_heading = "Logging")]
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

    /// Debug logs on stderr (-vv; mcp-remote's spelling). Wins over --silent.
    #[arg(long, global = true, hide_short_help = true)]
    pub debug: bool,

    /// Only errors on stderr (-q; mcp-remote's spelling).
    #[arg(long, global = true, hide_short_help = true)]
    pub silent: bool,
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
    bounded_duration(d)
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

/// The longest duration any option accepts. Deadlines are `Instant::now() + duration`, which
/// aborts the process when it overflows; thirty days is longer than any wait mcp-valet does.
pub const MAX_DURATION: std::time::Duration = std::time::Duration::from_secs(30 * 24 * 3600);

/// A duration from the command line, refused when it is longer than [`MAX_DURATION`].
pub fn bounded_duration(d: std::time::Duration) -> Result<std::time::Duration, String> {
    if d > MAX_DURATION {
        return Err(format!(
            "a duration of at most 30 days ({}h) is accepted",
            MAX_DURATION.as_secs() / 3600
        ));
    }
    Ok(d)
}

#[cfg(test)]
mod tests;
