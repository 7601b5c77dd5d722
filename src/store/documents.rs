//! Reading and writing the versioned documents (`state.json`, `secrets.json`) on disk: the
//! store lock around every rewrite, atomic replacement, moving a damaged file aside, and the
//! refusal to change a file written by a newer mcp-valet. The memory back end keeps its state
//! document in `Store::memory` instead.

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::state::{self, Doc, StateFile};
use super::{HOME_ENV, LOCKS_DIR, Result, STATE_FILE, Store, StoreError, files, io_error, lock, now_secs};

const STORE_LOCK: &str = "store.lock";
/// The store-wide lock is held for a few file operations only; waiting longer than this means
/// something is wrong, and we say so rather than hang.
const STORE_LOCK_WAIT: Duration = Duration::from_secs(30);

impl Store {
    pub(super) fn home_path(&self, name: &str) -> PathBuf {
        self.home.as_ref().expect("a disk store has a home").join(name)
    }

    pub(super) fn ensure_dirs(&self) -> Result<()> {
        let home = self.home.as_ref().expect("a disk store has a home");
        let locks = home.join(LOCKS_DIR);
        files::ensure_dir(home).map_err(|e| io_error("cannot create", home, e))?;
        files::ensure_dir(&locks).map_err(|e| io_error("cannot create", &locks, e))
    }

    fn store_lock(&self) -> Result<std::fs::File> {
        self.ensure_dirs()?;
        let path = self.home_path(LOCKS_DIR).join(STORE_LOCK);
        match lock::lock_file(&path, STORE_LOCK_WAIT) {
            Ok(Some(f)) => Ok(f),
            Ok(None) => Err(StoreError(format!(
                "another mcp-valet process has held the store lock {} for over {}s",
                path.display(),
                STORE_LOCK_WAIT.as_secs()
            ))),
            Err(e) => Err(io_error("cannot lock", &path, e)),
        }
    }

    /// Reads a versioned document; a damaged one is moved aside (under the store lock) and
    /// read as empty. `held`: the caller holds the store lock.
    pub(super) fn read_doc<T: Doc>(&self, name: &str, held: bool) -> Result<T> {
        let path = self.home_path(name);
        let Some(bytes) = files::read_optional(&path).map_err(|e| io_error("cannot read", &path, e))? else {
            return Ok(T::empty());
        };
        match T::parse(&bytes) {
            Ok(doc) => Ok(doc),
            Err(_) if !held => {
                let _lock = self.store_lock()?;
                self.read_doc(name, true)
            }
            Err(reason) => {
                let aside =
                    files::move_aside(&path, now_secs()).map_err(|e| io_error("cannot move aside", &path, e))?;
                let lost = if name == STATE_FILE {
                    "the logins listed in it must sign in again"
                } else {
                    "the logins whose tokens were in it must sign in again"
                };
                tracing::warn!(
                    "{} was damaged ({reason}); moved it to {} and started a new one; {lost}",
                    path.display(),
                    aside.display()
                );
                Ok(T::empty())
            }
        }
    }

    /// Read-modify-write of a document under the store lock, written atomically. `f` returns
    /// its result and whether it changed anything.
    pub(super) fn modify_doc<T: Doc, R>(&self, name: &str, f: impl FnOnce(&mut T) -> Result<(R, bool)>) -> Result<R> {
        let _lock = self.store_lock()?;
        let mut doc: T = self.read_doc(name, true)?;
        let path = self.home_path(name);
        check_writable(&path, doc.version())?;
        let (r, changed) = f(&mut doc)?;
        if changed {
            files::remove_stale_temps(&path);
            files::write_atomic(&path, &doc.to_bytes()).map_err(|e| io_error("cannot write", &path, e))?;
        }
        Ok(r)
    }

    /// Fails early, before any secret is written or removed, when state.json may not be changed.
    pub(super) fn check_state_writable(&self) -> Result<()> {
        let st = self.read_state()?;
        self.check_state_writable_doc(&st)
    }

    pub(super) fn check_state_writable_doc(&self, st: &StateFile) -> Result<()> {
        match &self.home {
            Some(_) => check_writable(&self.home_path(STATE_FILE), st.version),
            None => Ok(()),
        }
    }

    pub(super) fn read_state(&self) -> Result<StateFile> {
        if self.home.is_none() {
            return Ok(self.mem().state.clone());
        }
        self.read_doc(STATE_FILE, false)
    }

    pub(super) fn modify_state<R>(&self, f: impl FnOnce(&mut StateFile) -> Result<(R, bool)>) -> Result<R> {
        if self.home.is_none() {
            return f(&mut self.mem().state).map(|(r, _)| r);
        }
        self.modify_doc(STATE_FILE, f)
    }
}

/// Refuses to change a file written by a newer mcp-valet.
fn check_writable(path: &Path, version: u64) -> Result<()> {
    if version > state::VERSION {
        return Err(StoreError(format!(
            "{} was written by a newer mcp-valet (format version {version}; this one knows up to {}), \
             so this one will not change it; upgrade mcp-valet, or set {HOME_ENV} to another directory",
            path.display(),
            state::VERSION
        )));
    }
    Ok(())
}
