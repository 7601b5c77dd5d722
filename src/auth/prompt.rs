//! What a sign-in asks of the user, and who shows it. `auth` writes nothing to the terminal:
//! the commands show these requests through their console, the bridge logs them.

use std::fmt;
use std::sync::Arc;

/// Shows the user what to do to sign in, and that mcp-valet is waiting for it.
pub trait Prompt: Send + Sync {
    /// The authorization URL: to open (`--no-browser`), or opened in a browser, in case it
    /// did not show.
    fn open_url(&self, ask: &OpenUrl);
    /// RFC 8628: the user enters a code on another device.
    fn enter_code(&self, ask: &EnterCode);
    /// Shows that mcp-valet waits for the user until the returned value is dropped.
    fn waiting(&self, message: &str) -> Waiting;
    /// Asks the user a yes/no question; `false` when no one can be asked (no terminal, the
    /// bridge).
    fn confirm(&self, _question: &str) -> bool {
        false
    }
}

/// Whether this client may ask the user to sign in (a browser or a device code), and who
/// shows what the user has to do.
#[derive(Clone)]
pub enum Interaction {
    /// The bridge and `login`: sign in when the server asks for it.
    Allowed(Arc<dyn Prompt>),
    /// `token` and `logout`: use, refresh or revoke what is stored, never ask the user.
    Never,
}

/// The authorization URL to open in a browser.
pub struct OpenUrl {
    /// The MCP server being signed in to.
    pub server: String,
    pub url: url::Url,
    /// Whether mcp-valet opened a browser on it already.
    pub opened: bool,
}

impl fmt::Display for OpenUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.opened {
            write!(
                f,
                "Opened a browser to sign in to {}. If the browser did not open, visit:\n\n  {}\n",
                self.server, self.url
            )
        } else {
            write!(
                f,
                "To sign in to {}, open this URL in a browser:\n\n  {}\n",
                self.server, self.url
            )
        }
    }
}

/// A device code and where to enter it.
pub struct EnterCode {
    /// The MCP server being signed in to.
    pub server: String,
    pub verification_uri: String,
    pub user_code: String,
    pub verification_uri_complete: Option<String>,
}

impl fmt::Display for EnterCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "To sign in to {}, open {} and enter the code {}",
            self.server, self.verification_uri, self.user_code
        )?;
        if let Some(u) = &self.verification_uri_complete {
            write!(f, "\n(or open {u})")?;
        }
        Ok(())
    }
}

/// A waiting indicator; stops when dropped.
#[must_use = "the indicator stops when this is dropped"]
pub struct Waiting(Option<Box<dyn FnOnce() + Send>>);

impl Waiting {
    /// No indicator.
    pub fn none() -> Waiting {
        Waiting(None)
    }

    /// An indicator that `stop` takes down.
    pub fn until(stop: impl FnOnce() + Send + 'static) -> Waiting {
        Waiting(Some(Box::new(stop)))
    }
}

impl Drop for Waiting {
    fn drop(&mut self) {
        if let Some(stop) = self.0.take() {
            stop();
        }
    }
}

/// For the bridge, whose stderr is no terminal but the client's log: the requests go to the
/// log (at `warn`, so that the default level shows them), and there is no indicator.
pub struct LogPrompt;

impl Prompt for LogPrompt {
    fn open_url(&self, ask: &OpenUrl) {
        tracing::warn!("{ask}");
    }

    fn enter_code(&self, ask: &EnterCode) {
        tracing::warn!("{ask}");
    }

    fn waiting(&self, message: &str) -> Waiting {
        tracing::info!("{message}");
        Waiting::none()
    }
}
