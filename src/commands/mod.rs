//! One module per subcommand; bridge mode is the default command.

pub mod completions;
pub mod console;
pub mod doctor;
pub mod events;
pub mod login;
pub mod logout;
pub mod mcp;
pub mod status;
pub mod token;

use std::sync::Arc;

use crate::cli::{Cli, Command};
use console::Console;

/// Runs what the command line asks for. Its errors decide the exit status (`crate::exit::code`).
pub fn run(cli: Cli) -> anyhow::Result<()> {
    let console = Arc::new(Console::new(&cli.log));
    match cli.command {
        Some(Command::Completions { shell }) => completions::run(shell),
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
            let rt = runtime()?;
            let result = rt.block_on(crate::bridge::run(&cli.bridge));
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
