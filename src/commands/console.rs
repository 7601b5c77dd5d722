//! The commands' terminal: human lines on stderr (silenced by `-q`), results on stdout, a
//! spinner while waiting for the user. The only place a command writes to the terminal; it
//! also shows what a sign-in asks of the user (`auth::prompt::Prompt`).

use std::fmt::Display;
use std::io::{BufRead, IsTerminal};
use std::time::Duration;

use crate::auth::prompt::{EnterCode, OpenUrl, Prompt, Waiting};
use crate::cli::LogArgs;

pub struct Console {
    /// `-q`: only errors on stderr.
    quiet: bool,
    stderr_tty: bool,
    /// Colour on stderr: a terminal, and no `NO_COLOR`.
    colour: bool,
}

impl Console {
    pub fn new(log: &LogArgs) -> Console {
        let stderr_tty = std::io::stderr().is_terminal();
        Console {
            quiet: log.quiet,
            stderr_tty,
            colour: colour_on_stderr(),
        }
    }

    /// A line for the human on stderr; nothing with `-q`.
    pub fn say(&self, line: impl Display) {
        if !self.quiet {
            eprintln!("{}", crate::util::terminal_lines(&line.to_string()));
        }
    }

    /// Where a command's result goes: stdout.
    pub fn result(&self) -> std::io::StdoutLock<'static> {
        std::io::stdout().lock()
    }

    /// A spinner on stderr while waiting, when stderr is a terminal and not `-q`.
    pub fn spinner(&self, message: &str) -> Option<indicatif::ProgressBar> {
        if !self.stderr_tty || self.quiet {
            return None;
        }
        let pb = indicatif::ProgressBar::new_spinner();
        if self.colour {
            pb.set_style(indicatif::ProgressStyle::with_template("{spinner:.cyan} {msg}").expect("a valid template"));
        }
        pb.set_message(message.to_owned());
        pb.enable_steady_tick(Duration::from_millis(100));
        Some(pb)
    }
}

/// Colour on stderr (for the console and the log lines): a terminal, and no `NO_COLOR`
/// (https://no-color.org: set and not empty).
pub fn colour_on_stderr() -> bool {
    std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

/// What the user must do to sign in is shown even with `-q`: without it there is no sign-in.
/// (A browser mcp-valet opened needs nothing more of the user: `-q` silences its URL.)
impl Prompt for Console {
    fn open_url(&self, ask: &OpenUrl) {
        if !(ask.opened && self.quiet) {
            eprintln!("{}", crate::util::terminal_lines(&ask.to_string()));
        }
    }

    fn enter_code(&self, ask: &EnterCode) {
        eprintln!("{}", crate::util::terminal_lines(&ask.to_string()));
    }

    /// Only with a terminal on stdin and stderr; `-q` does not silence the question.
    fn confirm(&self, question: &str) -> bool {
        if !(self.stderr_tty && std::io::stdin().is_terminal()) {
            return false;
        }
        eprint!("{} [y/N] ", crate::util::terminal_lines(question));
        let mut answer = String::new();
        let read = std::io::Read::take(std::io::stdin().lock(), 256).read_line(&mut answer);
        read.is_ok() && matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes")
    }

    fn waiting(&self, message: &str) -> Waiting {
        match self.spinner(message) {
            Some(pb) => Waiting::until(move || pb.finish_and_clear()),
            // No terminal to spin on: say it once, so that a log shows what the wait was.
            None => {
                self.say(message);
                Waiting::none()
            }
        }
    }
}
