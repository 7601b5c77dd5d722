//! `mcp-valet completions <shell>`: the completion script, generated from the clap definitions.

use clap::CommandFactory;

use crate::cli::Cli;

pub fn run(shell: clap_complete::Shell) -> anyhow::Result<()> {
    // Into memory first: clap_complete panics when a write fails (`completions bash | head`).
    let mut script = Vec::new();
    write(shell, &mut script);
    let mut out = std::io::stdout().lock();
    std::io::Write::write_all(&mut out, &script)?;
    std::io::Write::flush(&mut out)?;
    Ok(())
}

pub fn write(shell: clap_complete::Shell, out: &mut dyn std::io::Write) {
    clap_complete::generate(shell, &mut Cli::command(), "mcp-valet", out);
}
