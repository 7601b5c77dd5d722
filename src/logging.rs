//! Logs go to stderr or a file, never to stdout (it carries the protocol).

use std::io::IsTerminal;

use anyhow::Context;
use tracing_subscriber::EnvFilter;

use crate::cli::LogArgs;

pub fn init(args: &LogArgs) -> anyhow::Result<()> {
    let level = if args.quiet {
        "error"
    } else {
        match args.verbose {
            0 => "warn",
            1 => "info",
            2 => "debug",
            _ => "trace",
        }
    };
    // Our own crate at the chosen level; dependencies one notch quieter unless asked.
    let default = format!("{}={level},warn", env!("CARGO_CRATE_NAME"));
    let filter = match std::env::var("MCP_VALET_LOG") {
        Ok(s) if !s.trim().is_empty() => {
            let s = if s.contains('=') || s.contains(',') {
                s
            } else {
                format!("{}={s},warn", env!("CARGO_CRATE_NAME"))
            };
            EnvFilter::try_new(&s).with_context(|| format!("MCP_VALET_LOG=`{s}` is not a valid log filter"))?
        }
        _ => EnvFilter::new(default),
    };
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_target(false);
    match &args.log_file {
        Some(path) => {
            let file = open_log(path).with_context(|| format!("opening the log file {}", path.display()))?;
            builder.with_ansi(false).with_writer(std::sync::Mutex::new(file)).init();
        }
        None => builder
            .with_ansi(std::io::stderr().is_terminal())
            .with_writer(std::io::stderr)
            .init(),
    }
    Ok(())
}

fn open_log(path: &std::path::Path) -> std::io::Result<std::fs::File> {
    let mut o = std::fs::OpenOptions::new();
    o.create(true).append(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        o.mode(0o600);
    }
    o.open(path)
}
