//! mcp-valet: a stdio MCP server that relays to a remote MCP server and signs in for you.

mod auth;
mod bridge;
mod cli;
mod commands;
mod http;
mod logging;
mod store;
mod tls;
mod util;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    // Large buffers (a 1 MiB tool result) are mapped and returned to the system when freed,
    // instead of glibc raising its threshold and keeping them in the heap.
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: a plain allocator setting, made before anything else runs.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 128 * 1024);
    }
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
