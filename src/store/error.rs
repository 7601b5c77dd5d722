//! The store's error: words for the user, never a secret.

use std::fmt;
use std::path::Path;

#[derive(Debug)]
pub struct StoreError(pub String);

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for StoreError {}

pub type Result<T> = std::result::Result<T, StoreError>;

pub(super) fn io_error(what: &str, path: &Path, e: std::io::Error) -> StoreError {
    StoreError(format!("{what} {}: {e}", path.display()))
}

/// The message of a failure injected by a test (a simulated crash).
#[cfg(test)]
pub(crate) const INJECTED: &str = "injected failure (test)";
