//! One module per subcommand; bridge mode is the default command.

pub mod completions;
pub mod config;
pub mod console;
pub mod doctor;
pub mod events;
pub mod import;
pub mod login;
pub mod logout;
pub mod mcp;
pub mod status;
pub mod token;

use std::io::IsTerminal;
use std::sync::Arc;

use clap::CommandFactory;

use crate::cli::{Cli, Command};
use console::Console;

/// Runs what the command line asks for. Its errors decide the exit status (`crate::exit::code`).
pub fn run(cli: Cli) -> anyhow::Result<()> {
    let console = Arc::new(Console::new(&cli.log));
    match cli.command {
        Some(Command::Completions { shell }) => completions::run(shell),
        Some(Command::Config(args)) => config::run(&args, &console),
        Some(Command::Import(args)) => block_on(import::run(&args, &console)),
        Some(Command::Login(args)) => block_on(login::run(&args, console)),
        Some(Command::Logout(args)) => block_on(logout::run(&args, &console)),
        Some(Command::Status(args)) => status::run(&args, &console),
        Some(Command::Token(args)) => block_on(token::run(&args, &console)),
        Some(Command::Doctor(args)) => block_on(doctor::run(&args, &console)),
        Some(Command::Tools(args)) => block_on(mcp::tools(&args, console)),
        Some(Command::Call(args)) => block_on(mcp::call(&args, console)),
        Some(Command::Resources(args)) => block_on(mcp::resources(&args, console)),
        Some(Command::Read(args)) => block_on(mcp::read(&args, console)),
        Some(Command::Prompts(args)) => block_on(mcp::prompts(&args, console)),
        None => {
            let banner = std::io::stdin().is_terminal().then(|| {
                let url = crate::http::redact_url_text(cli.bridge.remote.url.as_deref().unwrap_or("URL"));
                on_a_terminal(&url)
            });
            let rt = runtime()?;
            let result = rt.block_on(crate::bridge::run(&cli.bridge, || {
                if let Some(b) = banner {
                    console.say(b);
                }
            }));
            // Don't wait for a DNS lookup or a stuck read on the way out.
            rt.shutdown_background();
            result
        }
    }
}

fn block_on(fut: impl std::future::Future<Output = anyhow::Result<()>>) -> anyhow::Result<()> {
    let rt = runtime()?;
    let r = rt.block_on(fut);
    rt.shutdown_background();
    r
}

/// One thread is plenty: the pipes have threads of their own and the work is I/O.
pub fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_current_thread().enable_all().build()?)
}

/// What bridge mode is for, when a human started it by hand: otherwise it waits silently for
/// JSON-RPC, and looks hung.
fn on_a_terminal(url: &str) -> String {
    let cmd = Cli::command();
    let has = |name: &str| cmd.find_subcommand(name).is_some();
    let mut tries = vec![(format!("mcp-valet login {url}"), "sign in now")];
    if has("tools") {
        tries.push((format!("mcp-valet tools {url}"), "list the server's tools"));
    }
    tries.push(("mcp-valet status".into(), "who is signed in where"));
    let width = tries.iter().map(|t| t.0.len()).max().unwrap_or(0);
    let tries: Vec<String> = tries.iter().map(|(c, what)| format!("  {c:<width$}  {what}")).collect();
    format!(
        "mcp-valet relays JSON-RPC from an MCP client (on stdin) to {url}; MCP clients start it \
         themselves, with the URL as its argument.\n\
         It now waits for JSON-RPC messages typed here, one per line; Ctrl-D or Ctrl-C ends it.\n\
         To try the server from a shell:\n{}",
        tries.join("\n")
    )
}
