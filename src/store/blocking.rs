//! The store from async code: its calls block (files, locks, the keyring's D-Bus), so they
//! run on tokio's blocking threads, and a worker that died comes back as a `StoreError`.

use std::sync::Arc;

use super::{Result, Store, StoreError};

impl Store {
    /// Runs `f` with the store on a blocking thread.
    pub async fn blocking<T, F>(self: &Arc<Self>, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Store) -> Result<T> + Send + 'static,
    {
        let store = self.clone();
        tokio::task::spawn_blocking(move || f(&store))
            .await
            .map_err(|e| StoreError(format!("the token store's worker stopped: {e}")))?
    }
}
