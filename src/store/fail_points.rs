//! Test hooks: fail points where `save` and `save_registration` stop as a crash would (cleaning
//! nothing up), and the keyring chunk size. Only the chunk hook exists outside tests, where it
//! does nothing.

#[cfg(test)]
use super::error::{INJECTED, Result, StoreError};
#[cfg(test)]
use super::handle::CrashAfter;
use super::handle::Store;
use super::os_keyring::KeyringError;

/// A simulated crash: in tests, `save` stops right there when told to, cleaning nothing up.
macro_rules! fail_point {
    ($store:expr, $at:ident) => {
        #[cfg(test)]
        $store.check_fail(CrashAfter::$at)?;
    };
}

impl Store {
    #[cfg(test)]
    pub(crate) fn inject_failure(&self, at: Option<CrashAfter>) {
        *self.fail_at.lock().unwrap_or_else(|e| e.into_inner()) = at;
    }

    #[cfg(test)]
    pub(super) fn check_fail(&self, at: CrashAfter) -> Result<()> {
        if *self.fail_at.lock().unwrap_or_else(|e| e.into_inner()) == Some(at) {
            return Err(StoreError(INJECTED.into()));
        }
        Ok(())
    }

    /// Splits keyring secrets into items of at most `n` bytes (Windows' limit, to test it here).
    /// Used by tests/store_keyring.rs, which compiles this module on its own.
    #[cfg(test)]
    #[allow(dead_code)]
    pub(crate) fn set_keyring_chunk_limit(&mut self, n: usize) {
        self.keyring_chunk_limit = n;
    }

    /// Runs after chunk `i` of a keyring item is written: in tests, the crash after the first one.
    pub(super) fn after_chunk(&self, i: u32) -> std::result::Result<(), KeyringError> {
        let _ = i;
        #[cfg(test)]
        if i == 0 && self.check_fail(CrashAfter::FirstChunk).is_err() {
            return Err(KeyringError::Injected);
        }
        Ok(())
    }
}
