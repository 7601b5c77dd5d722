//! What a `Store` is made of, and the names of its files: the definitions the store's files
//! share. Its methods are in `mod.rs` and the files docs/store.md lists.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use super::model::Backend;
use super::state::{Doc, StateFile};

/// The environment variable that chooses the home directory (`StoreOptions::home` wins).
pub const HOME_ENV: &str = "MCP_VALET_HOME";
/// The environment variable that chooses the back end (`StoreOptions::backend` wins).
pub const TOKEN_STORE_ENV: &str = "MCP_VALET_TOKEN_STORE";

pub(super) const STATE_FILE: &str = "state.json";
pub(super) const SECRETS_FILE: &str = "secrets.json";
pub(super) const LOCKS_DIR: &str = "locks";

/// Who chose the back end.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChosenBy {
    /// `StoreOptions::backend` (`--token-store`).
    Option,
    /// `MCP_VALET_TOKEN_STORE`.
    Env,
    /// Nobody: the keyring, falling back to the file when no keyring can be used.
    Default,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Choice {
    Chosen(Backend, ChosenBy),
    /// Keyring, else file, decided on first use.
    Auto,
}

/// A simulated crash point, for tests.
#[cfg(test)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum CrashAfter {
    /// After the first keyring chunk of the new secrets was written.
    FirstChunk,
    /// After the new secrets were written, before `state.json` points at them.
    Secrets,
    /// After `state.json` points at the new secrets, before the old ones are removed.
    State,
}

pub struct Store {
    pub(super) choice: Choice,
    /// `None` only for the memory back end.
    pub(super) home: Option<PathBuf>,
    pub(super) memory: Arc<Mutex<Memory>>,
    pub(super) keyring_chunk_limit: usize,
    #[cfg(test)]
    pub(super) fail_at: Mutex<Option<CrashAfter>>,
}

/// The memory back end: the same state document, and the secrets, in this process.
pub(super) struct Memory {
    pub(super) state: StateFile,
    pub(super) secrets: HashMap<String, String>,
}

impl Default for Memory {
    fn default() -> Memory {
        Memory {
            state: StateFile::empty(),
            secrets: HashMap::new(),
        }
    }
}
