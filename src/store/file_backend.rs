//! The file back end: `secrets.json`, a 0600 file under the home directory that maps item names
//! to `{"written_at": <unix seconds>, "secrets": {…}}`, rewritten atomically under the store
//! lock like `state.json`. Items that no record points at are collected once they are old enough
//! to be leftovers of a crash.

use std::time::Duration;

use serde_json::{Map, Value};

use super::backend::{Payload, secret_ref};
use super::state::{self, SecretRef, SecretsFile, StateFile};
use super::{Backend, Result, SECRETS_FILE, STATE_FILE, Store, now_secs};

/// Unreferenced `secrets.json` items older than this are crash leftovers (see `file_put`).
const ORPHAN_AGE: Duration = Duration::from_secs(3600);

impl Store {
    /// Adds an item to `secrets.json`: `{"written_at": <unix seconds>, "secrets": {…}}`.
    pub(super) fn file_put(&self, base: &str, p: &Payload) -> Result<SecretRef> {
        let secrets: Value = serde_json::from_str(&p.0).expect("a payload is JSON");
        let mut item = Map::new();
        item.insert("written_at".into(), Value::from(now_secs()));
        item.insert("secrets".into(), secrets);
        self.modify_doc(SECRETS_FILE, |doc: &mut SecretsFile| {
            doc.secrets.insert(base.to_owned(), Value::Object(item));
            self.collect_file_orphans(doc);
            Ok(((), true))
        })?;
        Ok(secret_ref(Backend::File, base, 1))
    }

    /// The secrets of an item in `secrets.json`; `None` when it is not there.
    pub(super) fn file_get(&self, r: &SecretRef) -> Result<Option<Payload>> {
        if self.home.is_none() {
            return Ok(None);
        }
        let doc: SecretsFile = self.read_doc(SECRETS_FILE, false)?;
        Ok(doc
            .secrets
            .get(&r.account)
            .and_then(|item| item.get("secrets"))
            .map(|v| Payload(v.to_string())))
    }

    /// Removes an item from `secrets.json` (and collects orphans while the file is open).
    pub(super) fn file_delete(&self, r: &SecretRef) -> Result<()> {
        if self.home.is_none() {
            return Ok(());
        }
        self.modify_doc(SECRETS_FILE, |doc: &mut SecretsFile| {
            let before = doc.secrets.len();
            doc.secrets.remove(&r.account);
            self.collect_file_orphans(doc);
            Ok(((), doc.secrets.len() != before))
        })
    }

    /// Drops `secrets.json` items that nothing in state.json points at and that are older than
    /// `ORPHAN_AGE` (left by a crash between the steps of a save; a save in progress is far
    /// younger). Called under the store lock. Skipped when state.json cannot be read plainly.
    fn collect_file_orphans(&self, doc: &mut SecretsFile) {
        let Ok(st) = self.read_doc::<StateFile>(STATE_FILE, true) else {
            return;
        };
        if st.version > state::VERSION {
            return;
        }
        let used = st.referenced_accounts();
        let cutoff = now_secs() - ORPHAN_AGE.as_secs() as i64;
        doc.secrets.retain(|name, item| {
            used.contains(name.as_str())
                || item
                    .get("written_at")
                    .and_then(Value::as_i64)
                    .is_none_or(|t| t > cutoff)
        });
    }
}
