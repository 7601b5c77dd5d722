//! Where logins live. Secrets (tokens, client secrets) go to the OS keyring, or — when no
//! keyring can be used — to a 0600 file; the non-secret state (issuer, client id, scopes,
//! expiry, …) goes to a small versioned file. Every write that other processes may race is
//! done under a cross-process lock.
//!
//! Its mechanics know nothing about OAuth: it stores and retrieves what `auth` gives it (the
//! records in `model.rs` name what that is). This file holds the API and the save/load/delete
//! protocol; docs/store.md says which file does the rest.

// First, so that its `fail_point!` macro is defined where `save` uses it.
#[macro_use]
mod fail_points;

mod backend;
mod blocking;
mod documents;
mod error;
mod file_backend;
mod files;
pub(crate) use files::write_atomic;
mod handle;
pub(crate) mod ids;
mod kernel_cache;
mod lock;
mod model;
mod os_keyring;
mod state;

use std::path::PathBuf;
use std::sync::Arc;
#[cfg(test)]
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::Map;

use backend::{Payload, choose, client_payload, field, login_payload, payload_fields, resolve_home};
use error::io_error;
pub use error::{Result, StoreError};
#[cfg(test)]
pub(crate) use handle::CrashAfter;
use handle::{Choice, LOCKS_DIR, Memory, SECRETS_FILE, STATE_FILE};
pub use handle::{ChosenBy, HOME_ENV, Store, TOKEN_STORE_ENV};
pub use model::{Backend, EntryKey, EntryMeta, IssuerBinding, Registration, Secret, Secrets};
use state::{EntryRecord, RegistrationRecord, SecretRef, StateFile, StoredKey};

/// How to open the store.
#[derive(Clone, Debug, Default)]
pub struct StoreOptions {
    /// `--token-store`; else `MCP_VALET_TOKEN_STORE`; else keyring with file fallback.
    pub backend: Option<Backend>,
    /// `MCP_VALET_HOME`; else the platform's data directory.
    pub home: Option<PathBuf>,
}

/// A held cross-process lock; released on drop.
pub struct Lock {
    _inner: Box<dyn std::any::Any + Send>,
}

/// What `status` shows about the store (it words it). Asks nothing of the keyring.
#[derive(Clone, Debug)]
pub struct StoreInfo {
    /// Where new secrets go, as far as this process knows (see `Store::backend`).
    pub backend: Backend,
    pub chosen_by: ChosenBy,
    pub state_file: Option<PathBuf>,
    pub secrets_file: Option<PathBuf>,
    /// For the default choice: `None` while nothing in this process has tried the keyring,
    /// `Some(Err(reason))` once it was found unusable.
    pub keyring: Option<std::result::Result<(), String>>,
}

// Crash safety of `save` (and `save_registration`).
//
// The secrets and the state live in different places (the keyring and state.json, or
// secrets.json and state.json), and no operation updates both at once. So a save never
// overwrites anything a reader may be using:
//
//   1. The new secrets are written under a NEW item name, `login-<id>-<generation>`, with a
//      generation no other save uses (ids::new_generation). Nothing points at it yet.
//   2. Under the store lock, state.json is replaced atomically (temp file, fsync, rename, fsync
//      of the directory) by one whose record points at the new item.
//   3. The old item is deleted.
//
// A crash before (2) completes leaves state.json pointing at the old item, which is intact:
// the old login. A crash after (2) leaves it pointing at the new item, complete since (1)
// finished before (2) began: the new login. The only cost of a crash is an orphaned item (the
// unfinished new one, or the old one in (3)); a crash-free run leaves none. secrets.json
// writes are themselves atomic (same temp+rename), so a crash inside (1) or (3) in file mode
// leaves that file whole.
//
// Concurrent saves of one login by two processes write different generations, so they never
// clobber each other's items; the one that replaces state.json last wins, and each deletes the
// item it replaced. A reader that read state.json just before a save replaced it may find the
// old item gone: `load` then reads state.json again and follows the new pointer.
//
// `delete` goes the other way round: secrets first, then the record (a crash in between leaves
// a record whose secrets are gone, which `load` reports as "not logged in"), so that a failure
// to reach the keyring never leaves tokens behind with nothing pointing at them.

/// Copies the access token of a login kept in the OS keyring to the kernel's short-lived cache,
/// for as long as the token is valid (capped by the cache).
fn copy_to_kernel_cache(r: &SecretRef, expires_at: Option<i64>, secrets: &Secrets) {
    if r.backend != Backend::Keyring {
        return;
    }
    let Some(token) = &secrets.access_token else {
        return;
    };
    let left = expires_at.map_or(i64::MAX, |t| t - now_secs());
    if left > 0 {
        kernel_cache::put(&r.account, token.expose(), left as u64);
    }
}

/// Seconds since the Unix epoch. A copy of `util::unix_now`: tests/store_keyring.rs compiles
/// this module on its own, without the rest of the crate.
fn now_secs() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// mcp-valet's data directory: `MCP_VALET_HOME`, else the platform's data directory.
pub fn data_home() -> Result<PathBuf> {
    resolve_home(None, std::env::var_os(HOME_ENV))
}

impl Store {
    /// Opens the store. Cheap: the keyring is only touched when a secret is read or written.
    pub fn open(opts: &StoreOptions) -> Result<Store> {
        let choice = choose(opts.backend, std::env::var_os(TOKEN_STORE_ENV))?;
        let home = match choice {
            Choice::Chosen(Backend::Memory, _) => None,
            _ => Some(resolve_home(opts.home.as_deref(), std::env::var_os(HOME_ENV))?),
        };
        Ok(Store {
            choice,
            home,
            memory: Arc::default(),
            keyring_chunk_limit: os_keyring::DEFAULT_CHUNK_LIMIT,
            #[cfg(test)]
            fail_at: Mutex::new(None),
        })
    }

    /// Where new secrets go. With the default choice this is `Keyring` until something in this
    /// process found the keyring unusable, then `File`; it never touches the keyring itself
    /// (see `check_keyring`). Each login records where its own secrets are
    /// (`EntryMeta::backend`).
    pub fn backend(&self) -> Backend {
        match self.choice {
            Choice::Chosen(b, _) => b,
            Choice::Auto => match os_keyring::known_auto_availability() {
                Some(Err(_)) => Backend::File,
                _ => Backend::Keyring,
            },
        }
    }

    /// Paths and choices, for `status`. Does not touch the keyring.
    pub fn describe(&self) -> StoreInfo {
        let (chosen_by, keyring) = match self.choice {
            Choice::Chosen(_, by) => (by, None),
            Choice::Auto => (ChosenBy::Default, os_keyring::known_auto_availability()),
        };
        StoreInfo {
            backend: self.backend(),
            chosen_by,
            state_file: self.home.as_ref().map(|h| h.join(STATE_FILE)),
            secrets_file: self.home.as_ref().map(|h| h.join(SECRETS_FILE)),
            keyring,
        }
    }

    /// Whether the OS keyring can be used, deciding it now if nothing in this process did yet
    /// (a blocking D-Bus connection on Linux; call it from `spawn_blocking`). `Err` holds a
    /// reason fit to show.
    pub fn check_keyring(&self) -> std::result::Result<(), String> {
        os_keyring::auto_availability()
    }

    /// Takes the cross-process lock named `scope` (e.g. a resource URL, or an issuer),
    /// waiting at most `timeout`. `Ok(None)` when the time ran out.
    pub fn lock(&self, scope: &str, timeout: Duration) -> Result<Option<Lock>> {
        let Some(home) = &self.home else {
            return Ok(lock::lock_local(scope, timeout).map(|l| Lock { _inner: Box::new(l) }));
        };
        let dir = home.join(LOCKS_DIR);
        self.ensure_dirs()?;
        let path = dir.join(ids::lock_name(scope));
        match lock::lock_file(&path, timeout) {
            Ok(Some(mut f)) => {
                lock::note_holder(&mut f, scope);
                Ok(Some(Lock { _inner: Box::new(f) }))
            }
            Ok(None) => Ok(None),
            Err(e) => Err(io_error("cannot lock", &path, e)),
        }
    }

    /// Who holds the cross-process lock named `scope`, when another process does: its process
    /// id and since when (seconds since the Unix epoch). Best effort, for telling the user.
    pub fn lock_holder(&self, scope: &str) -> Option<(u32, u64)> {
        let path = self.home.as_ref()?.join(LOCKS_DIR).join(ids::lock_name(scope));
        lock::read_holder(&path).filter(|(pid, _)| *pid != std::process::id())
    }

    /// The logins for a server (and profile, and tenant), newest first. For a tenant, a login
    /// kept before tenants were (no tenant, made with that `resource_indicator`) counts too,
    /// after the tenant's own.
    pub fn find(
        &self,
        resource: &str,
        profile: Option<&str>,
        tenant: Option<&str>,
    ) -> Result<Vec<(EntryKey, EntryMeta)>> {
        let mut v: Vec<_> = self
            .entries()?
            .into_iter()
            .filter(|(k, _)| k.resource == resource && k.profile.as_deref() == profile)
            .filter(|(k, m)| match (k.tenant.as_deref(), tenant) {
                (Some(a), Some(b)) => a == b,
                (None, None) => true,
                (None, Some(b)) => m.resource_indicator.as_deref() == Some(b),
                (Some(_), None) => false,
            })
            .collect();
        // A login kept for this very tenant before an older one that only has its resource.
        v.sort_by_key(|(k, m)| (k.tenant.as_deref() != tenant, std::cmp::Reverse(m.updated_at)));
        Ok(v)
    }

    /// Every login.
    pub fn entries(&self) -> Result<Vec<(EntryKey, EntryMeta)>> {
        let st = self.read_state()?;
        Ok(st.entry_records().map(|r| (r.key.to_key(), r.public_meta())).collect())
    }

    /// A login and all its secrets, read from the back end that holds them.
    pub fn load(&self, key: &EntryKey) -> Result<Option<(EntryMeta, Secrets)>> {
        let found = self.read_consistent(&key.resource, |st| {
            st.find_entry(key)
                .map(|r| ((r.public_meta(), r.secrets.clone()), r.secrets))
        })?;
        let Some(((meta, at), payload)) = found else {
            return Ok(None);
        };
        let Some(payload) = payload else {
            return Ok(Some((meta, Secrets::default())));
        };
        let m = payload_fields(&payload, &format!("the login for {}", key.resource))?;
        let secrets = Secrets {
            access_token: field(&m, "access_token"),
            refresh_token: field(&m, "refresh_token"),
            id_token: field(&m, "id_token"),
        };
        if let Some(r) = at {
            copy_to_kernel_cache(&r, meta.expires_at, &secrets);
        }
        Ok(Some((meta, secrets)))
    }

    /// A login and its access token, for use now. When the secrets are in the OS keyring, the
    /// token comes from the kernel's short-lived copy if there is one (Linux; see
    /// `kernel_cache`: two system calls instead of a keyring session), and then ONLY
    /// `access_token` is filled in: whoever needs the refresh or ID token (to refresh, to
    /// revoke) calls `load`. Otherwise this is `load`.
    pub fn load_access(&self, key: &EntryKey) -> Result<Option<(EntryMeta, Secrets)>> {
        if let Some(rec) = self.read_state()?.find_entry(key)
            && let Some(r) = &rec.secrets
            && r.backend == Backend::Keyring
            && let Some(token) = kernel_cache::get(&r.account)
        {
            tracing::debug!("the access token came from the kernel keyring's copy");
            let secrets = Secrets {
                access_token: Some(Secret::new(token)),
                ..Secrets::default()
            };
            return Ok(Some((rec.public_meta(), secrets)));
        }
        self.load(key)
    }

    /// Saves a login; a crash at any point leaves either the old or the new one.
    pub fn save(&self, key: &EntryKey, meta: &EntryMeta, secrets: &Secrets) -> Result<()> {
        self.check_state_writable()?;
        let mut meta = meta.clone();
        if meta.updated_at == 0 {
            meta.updated_at = now_secs();
        }
        let base = format!("login-{}-{}", ids::entry_id(key), ids::new_generation());
        let new_ref = match login_payload(secrets) {
            Some(p) => Some(self.put_secret(&base, &p)?),
            None => None,
        };
        meta.backend = Some(new_ref.as_ref().map_or_else(|| self.backend(), |r| r.backend));
        let expires_at = meta.expires_at;
        fail_point!(self, Secrets);
        let rec = EntryRecord {
            key: StoredKey::from_key(key),
            meta,
            secrets: new_ref.clone(),
            extra: Map::new(),
        };
        let old = self.put_or_undo(new_ref.as_ref(), |st| st.put_entry(rec).and_then(|o| o.secrets))?;
        fail_point!(self, State);
        if let Some(r) = &new_ref {
            copy_to_kernel_cache(r, expires_at, secrets);
        }
        self.drop_replaced(old, new_ref.as_ref(), &key.resource);
        Ok(())
    }

    /// Removes a login; `false` when there was none.
    pub fn delete(&self, key: &EntryKey) -> Result<bool> {
        let st = self.read_state()?;
        let Some(rec) = st.find_entry(key) else {
            return Ok(false);
        };
        // Check before removing secrets: a record we may not remove must keep its secrets.
        self.check_state_writable_doc(&st)?;
        if let Some(r) = &rec.secrets {
            self.delete_secret(r)?;
        }
        let removed = self.modify_state(|st| {
            let v = st.remove_entry(key);
            let changed = !v.is_empty();
            Ok((v, changed))
        })?;
        for r in removed {
            self.drop_replaced(r.secrets, rec.secrets.as_ref(), &key.resource);
        }
        Ok(true)
    }

    /// The registration kept for an authorization server (and profile).
    pub fn registration(&self, issuer: &str, profile: Option<&str>) -> Result<Option<Registration>> {
        let found = self.read_consistent(issuer, |st| {
            st.find_registration(issuer, profile)
                .map(|r| (r.registration, r.secrets))
        })?;
        let Some((mut reg, payload)) = found else {
            return Ok(None);
        };
        reg.client_secret = match payload {
            Some(p) => field(
                &payload_fields(&p, &format!("the client registration at {issuer}"))?,
                "client_secret",
            ),
            None => None,
        };
        Ok(Some(reg))
    }

    pub fn save_registration(&self, reg: &Registration, profile: Option<&str>) -> Result<()> {
        self.check_state_writable()?;
        let base = format!(
            "client-{}-{}",
            ids::registration_id(&reg.issuer, &reg.client_id, profile),
            ids::new_generation()
        );
        let new_ref = match client_payload(reg.client_secret.as_ref()) {
            Some(p) => Some(self.put_secret(&base, &p)?),
            None => None,
        };
        fail_point!(self, Secrets);
        let issuer = reg.issuer.clone();
        let mut reg = reg.clone();
        if reg.created_at == 0 {
            reg.created_at = now_secs();
        }
        let rec = RegistrationRecord {
            profile: profile.map(str::to_owned),
            registration: reg,
            secrets: new_ref.clone(),
            extra: Map::new(),
        };
        let old = self.put_or_undo(new_ref.as_ref(), |st| st.put_registration(rec).and_then(|o| o.secrets))?;
        fail_point!(self, State);
        self.drop_replaced(old, new_ref.as_ref(), &issuer);
        Ok(())
    }

    /// The issuer a pre-registered client is bound to for this server, profile and tenant.
    pub fn issuer_binding(
        &self,
        resource: &str,
        profile: Option<&str>,
        tenant: Option<&str>,
    ) -> Result<Option<IssuerBinding>> {
        Ok(self.read_state()?.find_issuer(resource, profile, tenant))
    }

    /// Records (or replaces) the issuer a pre-registered client is bound to.
    pub fn save_issuer_binding(&self, binding: &IssuerBinding) -> Result<()> {
        self.check_state_writable()?;
        let mut b = binding.clone();
        if b.bound_at == 0 {
            b.bound_at = now_secs();
        }
        self.modify_state(|st| {
            st.put_issuer(b);
            Ok(((), true))
        })
    }

    pub fn delete_registration(&self, issuer: &str, profile: Option<&str>) -> Result<bool> {
        let st = self.read_state()?;
        let Some(rec) = st.find_registration(issuer, profile) else {
            return Ok(false);
        };
        self.check_state_writable_doc(&st)?;
        if let Some(r) = &rec.secrets {
            self.delete_secret(r)?;
        }
        let removed = self.modify_state(|st| {
            let v = st.remove_registration(issuer, profile);
            let changed = !v.is_empty();
            Ok((v, changed))
        })?;
        for r in removed {
            self.drop_replaced(r.secrets, rec.secrets.as_ref(), issuer);
        }
        Ok(true)
    }
}

impl Store {
    fn mem(&self) -> std::sync::MutexGuard<'_, Memory> {
        self.memory.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Finds a record with `find` and reads the secrets it points at. When they are missing,
    /// reads state.json again: if a concurrent save moved the record to new secrets, follows
    /// it; if not, the secrets are really gone (removed by hand): warns and answers `None`.
    fn read_consistent<T>(
        &self,
        what: &str,
        find: impl Fn(&StateFile) -> Option<(T, Option<SecretRef>)>,
    ) -> Result<Option<(T, Option<Payload>)>> {
        let mut st = self.read_state()?;
        for _ in 0..5 {
            let Some((t, r)) = find(&st) else {
                return Ok(None);
            };
            let Some(r) = r else {
                return Ok(Some((t, None)));
            };
            if let Some(p) = self.get_secret(&r)? {
                return Ok(Some((t, Some(p))));
            }
            let again = self.read_state()?;
            if find(&again).map(|(_, r2)| r2) == Some(Some(r.clone())) {
                tracing::warn!(
                    "the tokens of the login for {what} are missing from the {} (removed outside mcp-valet?); sign in again",
                    match r.backend {
                        Backend::Keyring => "OS keyring",
                        Backend::File => "token file",
                        Backend::Memory => "memory store",
                    }
                );
                return Ok(None);
            }
            st = again;
        }
        Err(StoreError(format!(
            "the login for {what} kept changing while it was read; try again"
        )))
    }

    /// Records a login or registration in the state file (`put` returns the secret reference of
    /// the record it replaced); when that fails, removes the secret just written for it, so
    /// that nothing points nowhere and nothing is orphaned.
    fn put_or_undo(
        &self,
        written: Option<&SecretRef>,
        put: impl FnOnce(&mut StateFile) -> Option<SecretRef>,
    ) -> Result<Option<SecretRef>> {
        self.modify_state(|st| Ok((put(st), true))).inspect_err(|_| {
            if let Some(r) = written {
                let _ = self.delete_secret(r);
            }
        })
    }

    /// Removes the secrets a save or a delete replaced, unless they are the ones kept. A
    /// failure only leaves an orphaned item behind, so it is logged, not returned.
    fn drop_replaced(&self, old: Option<SecretRef>, kept: Option<&SecretRef>, what: &str) {
        if let Some(old) = old
            && Some(&old) != kept
            && let Err(e) = self.delete_secret(&old)
        {
            tracing::debug!("could not remove the replaced secrets of {what}: {e}");
        }
    }
}

#[cfg(test)]
mod tests;
