//! mcp-valet: a stdio MCP server that relays to a remote MCP server and signs in for you.

mod auth;
mod bridge;
mod cli;
mod commands;
mod http;
mod logging;
mod store;
mod util;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    // TLS through ring: smaller and quicker to build than aws-lc, and all we need.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let cli = cli::Cli::parse();
    if let Err(e) = logging::init(&cli.log) {
        eprintln!("mcp-valet: {e:#}");
        return ExitCode::from(2);
    }
    match commands::run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("mcp-valet: {e:#}");
            ExitCode::from(1)
        }
    }
}
