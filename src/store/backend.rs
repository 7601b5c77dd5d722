//! Which back end holds new secrets (the option, the environment, or the keyring with a fallback
//! to the file), and the dispatch of each secret operation to the back end that holds the item:
//! the keyring (`os_keyring`), the file (`secrets.json`) or this process's memory.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use serde_json::{Map, Value};

#[cfg(test)]
use super::error::INJECTED;
use super::error::{Result, StoreError, io_error};
use super::handle::{Choice, ChosenBy, HOME_ENV, SECRETS_FILE, Store, TOKEN_STORE_ENV};
use super::kernel_cache;
use super::model::{Backend, Secret, Secrets};
use super::os_keyring::{self, KeyringError};
use super::state::SecretRef;

/// The secrets of one item as JSON text: `{"access_token": "…", …}` or `{"client_secret": "…"}`.
/// Not `Debug`, not `Display`.
pub(super) struct Payload(pub(super) String);

/// The back end asked for by the option, else by the environment, else the automatic choice.
pub(super) fn choose(option: Option<Backend>, env: Option<std::ffi::OsString>) -> Result<Choice> {
    if let Some(b) = option {
        return Ok(Choice::Chosen(b, ChosenBy::Option));
    }
    match env {
        None => Ok(Choice::Auto),
        Some(v) => {
            let v = v
                .into_string()
                .map_err(|_| StoreError(format!("{TOKEN_STORE_ENV} is not valid Unicode")))?;
            if v.trim().is_empty() {
                return Ok(Choice::Auto);
            }
            let b = v
                .parse::<Backend>()
                .map_err(|e| StoreError(format!("{TOKEN_STORE_ENV}: {e}")))?;
            Ok(Choice::Chosen(b, ChosenBy::Env))
        }
    }
}

/// `StoreOptions::home`, else `MCP_VALET_HOME`, else the platform's data directory.
pub(super) fn resolve_home(option: Option<&Path>, env: Option<std::ffi::OsString>) -> Result<PathBuf> {
    let chosen = match (option, env) {
        (Some(p), _) => Some(p.to_path_buf()),
        (None, Some(v)) if !v.is_empty() => Some(PathBuf::from(v)),
        _ => None,
    };
    let home = match chosen {
        Some(p) => p,
        None => directories::ProjectDirs::from("", "", "mcp-valet")
            .map(|d| d.data_dir().to_path_buf())
            .ok_or_else(|| {
                StoreError(format!(
                    "cannot find your home directory to keep logins in; set {HOME_ENV} to a directory"
                ))
            })?,
    };
    std::path::absolute(&home).map_err(|e| io_error("cannot use the directory", &home, e))
}

pub(super) fn login_payload(s: &Secrets) -> Option<Payload> {
    let mut m = Map::new();
    for (name, v) in [
        ("access_token", &s.access_token),
        ("refresh_token", &s.refresh_token),
        ("id_token", &s.id_token),
    ] {
        if let Some(v) = v {
            m.insert(name.into(), Value::String(v.expose().to_owned()));
        }
    }
    (!m.is_empty()).then(|| Payload(Value::Object(m).to_string()))
}

pub(super) fn client_payload(secret: Option<&Secret>) -> Option<Payload> {
    let secret = secret?;
    let mut m = Map::new();
    m.insert("client_secret".into(), Value::String(secret.expose().to_owned()));
    Some(Payload(Value::Object(m).to_string()))
}

pub(super) fn payload_fields(p: &Payload, what: &str) -> Result<Map<String, Value>> {
    match serde_json::from_str::<Value>(&p.0) {
        Ok(Value::Object(m)) => Ok(m),
        _ => Err(StoreError(format!(
            "the stored secrets of {what} are damaged (not what mcp-valet wrote); sign in again"
        ))),
    }
}

pub(super) fn field(m: &Map<String, Value>, name: &str) -> Option<Secret> {
    m.get(name).and_then(Value::as_str).map(Secret::new)
}

/// Announces, once per process, that tokens go to the file because no keyring is usable.
fn announce_fallback(reason: &str, file: &Path) {
    static ANNOUNCED: AtomicBool = AtomicBool::new(false);
    if !ANNOUNCED.swap(true, Ordering::SeqCst) {
        #[cfg(unix)]
        let how = "mode 0600";
        #[cfg(not(unix))]
        let how = "readable by your user only";
        tracing::warn!(
            "no usable OS keyring ({reason}); storing tokens in {} ({how})",
            file.display()
        );
    }
}

impl Store {
    /// Where new secrets go, deciding the automatic choice if needed (this may start the keyring).
    pub(super) fn put_secret(&self, base: &str, p: &Payload) -> Result<SecretRef> {
        let chosen_by = match self.choice {
            Choice::Chosen(Backend::Memory, _) => {
                self.mem().secrets.insert(base.to_owned(), p.0.clone());
                return Ok(secret_ref(Backend::Memory, base, 1));
            }
            Choice::Chosen(Backend::File, _) => return self.file_put(base, p),
            Choice::Chosen(Backend::Keyring, by) => Some(by),
            Choice::Auto => None,
        };
        if chosen_by.is_none()
            && let Err(reason) = os_keyring::auto_availability()
        {
            announce_fallback(&reason, &self.home_path(SECRETS_FILE));
            return self.file_put(base, p);
        }
        match os_keyring::put(base, &p.0, self.keyring_chunk_limit, &mut |i| self.after_chunk(i)) {
            Ok(chunks) => Ok(secret_ref(Backend::Keyring, base, chunks)),
            Err(KeyringError::Unavailable(reason)) if chosen_by.is_none() => {
                os_keyring::mark_unusable(&reason);
                announce_fallback(&reason, &self.home_path(SECRETS_FILE));
                self.file_put(base, p)
            }
            Err(KeyringError::Unavailable(reason)) => {
                let how = match chosen_by {
                    Some(ChosenBy::Env) => format!("{TOKEN_STORE_ENV}=keyring"),
                    _ => "--token-store keyring".to_owned(),
                };
                Err(StoreError(format!(
                    "the OS keyring cannot be used ({reason}); {how} asks for it, so the tokens were not stored. \
                     Use --token-store file (or {TOKEN_STORE_ENV}=file) to keep them in a 0600 file under {}",
                    self.home.as_ref().map(|h| h.display().to_string()).unwrap_or_default()
                )))
            }
            #[cfg(test)]
            Err(KeyringError::Injected) => Err(StoreError(INJECTED.into())),
            Err(KeyringError::Failed(m)) => Err(StoreError(format!("cannot store the tokens in the OS keyring: {m}"))),
        }
    }

    /// The secrets an item holds, from the back end that holds them (whatever the current
    /// choice). `None` when the item is gone.
    pub(super) fn get_secret(&self, r: &SecretRef) -> Result<Option<Payload>> {
        match r.backend {
            Backend::Memory => Ok(self.mem().secrets.get(&r.account).cloned().map(Payload)),
            Backend::File => self.file_get(r),
            Backend::Keyring => match os_keyring::get(&r.account, r.chunks) {
                Ok(s) => Ok(s.map(Payload)),
                Err(KeyringError::Unavailable(reason)) => Err(StoreError(format!(
                    "this login's tokens are in the OS keyring, which cannot be used here ({reason}); \
                     sign in again to keep new tokens elsewhere, or run where the keyring is available"
                ))),
                Err(e) => Err(StoreError(format!(
                    "cannot read the tokens from the OS keyring: {}",
                    e.message()
                ))),
            },
        }
    }

    /// Removes an item; one already gone is fine.
    pub(super) fn delete_secret(&self, r: &SecretRef) -> Result<()> {
        match r.backend {
            Backend::Memory => {
                self.mem().secrets.remove(&r.account);
                Ok(())
            }
            Backend::File => self.file_delete(r),
            Backend::Keyring => {
                kernel_cache::remove(&r.account);
                os_keyring::delete(&r.account, r.chunks).map_err(|e| {
                    StoreError(format!(
                        "cannot remove the tokens from the OS keyring ({}); nothing was changed, try again where the keyring is usable",
                        e.message()
                    ))
                })
            }
        }
    }
}

pub(super) fn secret_ref(backend: Backend, account: &str, chunks: u32) -> SecretRef {
    SecretRef {
        backend,
        account: account.to_owned(),
        chunks,
        extra: Map::new(),
    }
}
