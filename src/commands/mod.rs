//! One module per subcommand; bridge mode is the default command.

pub mod completions;

use crate::cli::{Cli, Command};

/// Runs what the command line asks for and returns the process exit code.
pub fn run(cli: Cli) -> anyhow::Result<u8> {
    match cli.command {
        Some(Command::Completions { shell }) => completions::run(shell),
        None => {
            let rt = runtime()?;
            let result = rt.block_on(crate::bridge::run(&cli.bridge));
            // Don't wait for a DNS lookup or a stuck read on the way out.
            rt.shutdown_background();
            result.map(|()| 0)
        }
    }
}

/// One thread is plenty: the pipes have threads of their own and the work is I/O.
pub fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_current_thread().enable_all().build()?)
}
