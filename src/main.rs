//! mcp-valet: a stdio MCP server that relays to a remote MCP server and signs in for you.

mod auth;
mod bridge;
mod cli;
mod commands;
mod failure;
mod http;
mod logging;
mod settings;
mod store;
mod util;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    // Bound what glibc keeps after a large answer without paying page faults for every one:
    // buffers up to 4 MiB come from the heap and are reused, more than 2 MiB left free at the
    // top of the heap is returned, and larger buffers are mapped and unmapped. (By default
    // glibc raises its thresholds after the first large buffer and keeps the memory.)
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: plain allocator settings, made before anything else runs.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 4 << 20);
        libc::mallopt(libc::M_TRIM_THRESHOLD, 2 << 20);
    }
    let cli = cli::Cli::parse();
    if let Err(e) = logging::init(&cli.log) {
        eprintln!("mcp-valet: {e:#}");
        return ExitCode::from(USAGE);
    }
    match commands::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            if !e.downcast_ref::<commands::LoginRequired>().is_some_and(|l| l.silent()) {
                eprintln!("mcp-valet: {e:#}");
            }
            ExitCode::from(exit_code(&e))
        }
    }
}

/// The exit statuses, for `--help`; `exit_code` decides them.
const EXIT_CODES: &str = "\
Exit status:
  0  success (in bridge mode: stdin closed and every request was answered)
  1  an error (bad configuration, unreachable server, …)
  2  invalid command-line usage
  4  a login is required (status, token)";

/// Invalid command-line usage (clap exits with it too) or logging options that cannot work.
const USAGE: u8 = 2;

/// The exit status of a command that failed with `e`: the one place it is decided.
fn exit_code(e: &anyhow::Error) -> u8 {
    if e.downcast_ref::<commands::LoginRequired>().is_some() {
        4
    } else {
        1
    }
}
