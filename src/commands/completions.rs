//! `mcp-valet completions <shell>`: the completion script, generated from the clap definitions.

use clap::CommandFactory;

use crate::cli::Cli;

pub fn run(shell: clap_complete::Shell) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    write(shell, &mut out);
    Ok(())
}

pub fn write(shell: clap_complete::Shell, out: &mut dyn std::io::Write) {
    clap_complete::generate(shell, &mut Cli::command(), "mcp-valet", out);
}
