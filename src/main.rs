//! mcp-valet: a stdio MCP server that relays to a remote MCP server and signs in for you.
//! The modules are in the library (`lib.rs`); this is the program: it runs a command and turns
//! its error into the last line on stderr and the exit status.

use std::process::ExitCode;

use mcp_valet::{cli, commands, compat, exit, logging, util};

// The static Linux builds (musl): musl's malloc costs the relay ~15% of its pipelined
// throughput; mimalloc brings it back to the glibc build's figures (docs/distribution.md).
#[cfg(target_env = "musl")]
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

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
    if std::env::var_os(commands::completions::COMPLETE_ENV).is_some_and(|v| v == "urls") {
        return match commands::completions::urls() {
            Ok(()) => ExitCode::SUCCESS,
            Err(_) => ExitCode::FAILURE,
        };
    }
    let mut cli = cli::Cli::parse_args();
    let notes = match compat::resolve(&mut cli) {
        Ok(n) => n,
        Err(e) => {
            eprintln!("mcp-valet: {}", util::terminal_lines(&e));
            return ExitCode::from(exit::USAGE);
        }
    };
    if let Err(e) = logging::init(&cli.log) {
        eprintln!("mcp-valet: {e:#}");
        return ExitCode::from(exit::USAGE);
    }
    for w in &notes.warnings {
        tracing::warn!("{w}");
    }
    for d in &notes.debug {
        tracing::debug!("{d}");
    }
    let code = match commands::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            if !exit::silent(&e) {
                // Errors may carry server-provided strings: no escape sequence reaches the terminal.
                let line = util::terminal_lines(&format!("mcp-valet: {e:#}"));
                if !logging::last_words(&line) {
                    eprintln!("{line}");
                }
            }
            ExitCode::from(exit::code(&e))
        }
    };
    logging::finish(std::time::Duration::from_secs(2));
    code
}
