//! Exit statuses: the typed errors that choose one, the one function that decides, and the
//! text `--help` shows about them (as gh's `ghcmd` maps its errors in one place).

/// The exit statuses, for `--help`; [`code`] decides them.
pub const HELP: &str = "\
Exit status:
  0    success (in bridge mode: stdin closed, or SIGTERM, and every request was answered)
  1    an error (bad configuration, unreachable server, …)
  2    invalid command-line usage
  4    a login is required (status, token)
  130  interrupted with Ctrl-C (SIGINT)";

/// Each subcommand's exit statuses, for its `--help`.
pub const LOGIN: &str = "\
Exit status:
  0  signed in (or the token was kept, or the server needs no sign-in)
  1  the sign-in failed: declined, timed out, a token the server rejected, …
  2  invalid command-line usage";
pub const LOGOUT: &str = "\
Exit status:
  0  signed out (also when there was nothing to remove)
  1  an error (the token store could not be read or written)
  2  invalid command-line usage";
pub const STATUS: &str = "\
Exit status:
  0  every login shown is usable
  4  a login is required: one shown is not usable, or none matches
  1  an error (the token store could not be read)
  2  invalid command-line usage";
pub const TOKEN: &str = "\
Exit status:
  0  the token is on stdout
  4  a login is required (not signed in, or the sign-in expired and cannot be refreshed)
  1  an error (unreachable authorization server, …)
  2  invalid command-line usage";
pub const COMPLETIONS: &str = "\
Exit status:
  0  the script is on stdout
  2  invalid command-line usage";

/// Invalid command-line usage (clap exits with it too), or logging options that cannot work.
pub const USAGE: u8 = 2;

/// The exit status of a command that failed with `e`.
pub fn code(e: &anyhow::Error) -> u8 {
    if e.downcast_ref::<LoginRequired>().is_some() {
        4
    } else if e.downcast_ref::<Interrupted>().is_some() {
        130
    } else if e.downcast_ref::<Usage>().is_some() {
        USAGE
    } else if stdout_closed(e) {
        0
    } else {
        1
    }
}

/// Whether the command has already told the user everything about `e`.
pub fn silent(e: &anyhow::Error) -> bool {
    e.downcast_ref::<LoginRequired>().is_some_and(|l| l.message.is_none())
        || e.downcast_ref::<Interrupted>().is_some()
        || stdout_closed(e)
}

/// Whoever read our stdout stopped reading (`status | head -1`): not an error, as for
/// `cat`. Only a write to stdout fails with a bare `BrokenPipe` (network errors come wrapped
/// in their library's error type).
fn stdout_closed(e: &anyhow::Error) -> bool {
    let pipe = |k: std::io::ErrorKind| k == std::io::ErrorKind::BrokenPipe;
    e.downcast_ref::<std::io::Error>().is_some_and(|io| pipe(io.kind()))
        || e.downcast_ref::<serde_json::Error>()
            .and_then(serde_json::Error::io_error_kind)
            .is_some_and(pipe)
}

/// Invalid usage found after clap parsed the command line: exit 2, one line.
#[derive(Debug)]
pub struct Usage(pub String);

impl std::fmt::Display for Usage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Usage {}

pub fn usage(message: impl Into<String>) -> anyhow::Error {
    Usage(message.into()).into()
}

/// SIGINT (Ctrl-C) ended the command: exit 130, as shells expect of 128 + SIGINT.
#[derive(Debug)]
pub struct Interrupted;

impl std::fmt::Display for Interrupted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("interrupted")
    }
}

impl std::error::Error for Interrupted {}

/// A login is required: exit status 4 (as `gh` uses it).
#[derive(Debug)]
pub struct LoginRequired {
    /// What to tell the user; `None` when the command's output already said it.
    message: Option<String>,
}

impl LoginRequired {
    pub fn because(message: String) -> LoginRequired {
        LoginRequired { message: Some(message) }
    }
    pub fn said() -> LoginRequired {
        LoginRequired { message: None }
    }
}

impl std::fmt::Display for LoginRequired {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.message.as_deref().unwrap_or("a login is required"))
    }
}

impl std::error::Error for LoginRequired {}

#[cfg(test)]
mod tests {
    use super::*;
    use anyhow::Context;

    #[test]
    fn a_required_login_is_4_however_it_is_wrapped() {
        let e = anyhow::Error::new(LoginRequired::because("no login".into()));
        assert_eq!((code(&e), silent(&e)), (4, false));
        let e = Err::<(), _>(LoginRequired::said()).context("reading").unwrap_err();
        assert_eq!((code(&e), silent(&e)), (4, true));
        let e = anyhow::anyhow!("the server is down");
        assert_eq!((code(&e), silent(&e)), (1, false));
    }

    #[test]
    fn a_closed_stdout_is_no_error_and_ctrl_c_is_130() {
        let e = anyhow::Error::new(std::io::Error::from(std::io::ErrorKind::BrokenPipe));
        assert_eq!((code(&e), silent(&e)), (0, true));
        let e = anyhow::Error::new(std::io::Error::from(std::io::ErrorKind::NotFound));
        assert_eq!((code(&e), silent(&e)), (1, false));
        let e = anyhow::Error::new(Interrupted);
        assert_eq!((code(&e), silent(&e)), (130, true));
    }
}
