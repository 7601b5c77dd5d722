//! The text `--help` shows after the options: examples, the environment, exit statuses.

/// A subcommand's text after its options: examples, the environment, its exit statuses.
pub(super) fn help(examples: &str, exit: &str) -> String {
    format!("Examples:\n{examples}\n\n{ENVIRONMENT}\n\n{exit}")
}

pub(super) const ENVIRONMENT: &str = "\
Environment:
  MCP_VALET_HOME           where logins and registrations are kept (default: the platform's
                           data directory, e.g. ~/.local/share/mcp-valet)
  MCP_VALET_TOKEN_STORE    keyring, file or memory (as --token-store)
  MCP_VALET_CLIENT_SECRET  the secret of --client-id, kept out of argv
  MCP_VALET_LOG            the log level or filter, e.g. debug
  NO_COLOR                 no colour on a terminal";

pub(super) const TOP_EXAMPLES: &str =
    "  # What an MCP client runs (in its configuration: \"command\": \"mcp-valet\", \"args\": [URL])
  mcp-valet https://example.com/mcp
  # With an API key from the environment instead of signing in
  mcp-valet https://example.com/mcp -H 'Authorization: Bearer ${EXAMPLE_API_KEY}'
  # Sign in first, from a shell
  mcp-valet login https://example.com/mcp";

pub(super) const LOGIN_EXAMPLES: &str = "  mcp-valet login https://example.com/mcp
  # On a machine without a browser: a code to enter on another device
  mcp-valet login https://example.com/mcp --device
  # Keep an API key instead (read from stdin, checked with the server first)
  mcp-valet login https://example.com/mcp --with-token < key.txt";

pub(super) const LOGOUT_EXAMPLES: &str = "  mcp-valet logout https://example.com/mcp
  # A second identity, kept with --profile work
  mcp-valet logout https://example.com/mcp --profile work
  # Every login and client registration
  mcp-valet logout --all";

pub(super) const STATUS_EXAMPLES: &str = "  mcp-valet status
  # Sign in when needed (status exits 4 without a usable login)
  mcp-valet status https://example.com/mcp || mcp-valet login https://example.com/mcp
  # For scripts
  mcp-valet status --json";

pub(super) const TOKEN_EXAMPLES: &str =
    "  curl -H \"Authorization: Bearer $(mcp-valet token https://example.com/mcp)\" https://example.com/api
  # The token of a second identity
  mcp-valet token https://example.com/mcp --profile work";

pub(super) const COMPLETIONS_EXAMPLES: &str =
    "  mcp-valet completions bash > ~/.local/share/bash-completion/completions/mcp-valet
  mcp-valet completions zsh > ~/.zfunc/_mcp-valet
  mcp-valet completions fish > ~/.config/fish/completions/mcp-valet.fish";
/// The exit statuses of the commands that act as an MCP client, for their `--help`.
macro_rules! client_exit {
    () => {
        "Exit status:
  0  success
  1  an error (the server is unreachable, refused the request, …)
  2  invalid command-line usage
  4  a login is required (sign in with `mcp-valet login URL`; on a terminal these commands
     sign in by themselves)"
    };
}

pub(super) const TOOLS_HELP: &str = concat!(
    "Examples:
  mcp-valet tools https://mcp.example.com/mcp
  mcp-valet tools https://mcp.example.com/mcp --json | jq '.[].name'
  mcp-valet tools https://mcp.example.com/mcp --deny-tool 'delete_*'

",
    client_exit!()
);

pub(super) const CALL_HELP: &str = "Examples:
  mcp-valet call https://mcp.example.com/mcp echo '{\"text\": \"hi\"}'
  mcp-valet call https://mcp.example.com/mcp search --arg query=rust --arg limit=5
  echo '{\"text\": \"hi\"}' | mcp-valet call https://mcp.example.com/mcp echo - --json

`--arg` values take the type the tool's input schema gives the argument (`limit=5` is the
number 5 when the schema says number or integer); they override keys of ARGS_JSON.

Exit status:
  0  the tool ran
  1  the tool reported an error (isError), or another error
  2  invalid command-line usage
  4  a login is required (sign in with `mcp-valet login URL`; on a terminal these commands
     sign in by themselves)";

pub(super) const RESOURCES_HELP: &str = concat!(
    "Examples:
  mcp-valet resources https://mcp.example.com/mcp
  mcp-valet resources https://mcp.example.com/mcp --json

",
    client_exit!()
);

pub(super) const READ_HELP: &str = concat!(
    "Examples:
  mcp-valet read https://mcp.example.com/mcp file:///README.md
  mcp-valet read https://mcp.example.com/mcp peer://readme --json

",
    client_exit!()
);

pub(super) const PROMPTS_HELP: &str = concat!(
    "Examples:
  mcp-valet prompts https://mcp.example.com/mcp
  mcp-valet prompts https://mcp.example.com/mcp --json

",
    client_exit!()
);

pub(super) const DOCTOR_HELP: &str = "Examples:
  mcp-valet doctor https://mcp.example.com/mcp
  mcp-valet doctor https://mcp.example.com/mcp --json | jq '.steps[] | select(.status == \"failed\")'
  mcp-valet doctor https://mcp.example.com/mcp -H 'Authorization: Bearer ${API_KEY}'

Exit status:
  0  the server is usable (it accepted a session and listed its tools)
  1  it is not: the steps marked ✗ say what to do
  2  invalid command-line usage
  4  a login is required (sign in with `mcp-valet login URL`)";
