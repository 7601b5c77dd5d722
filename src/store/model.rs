//! The records the store keeps: a login's key, its non-secret state and its secrets, and a
//! client registration. What `state.json` looks like around them is in `state.rs`.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::error::{Result, StoreError};

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
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
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
    /// The `--resource` the login was made with, when one was given: logins to one server for
    /// different tenants are kept apart (as mcp-remote does).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant: Option<String>,
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
    /// How the client authenticates at the token endpoint (`none`, `client_secret_basic`,
    /// `client_secret_post`), for refreshing and revoking. Older versions kept it in `extra`:
    /// the same key at the same place, so their files read the same.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_endpoint_auth_method: Option<String>,
    /// The MCP protocol revision (era) the server speaks, e.g. `2025-11-25`. Reserved: nothing
    /// writes it yet; the bridge is to record the server's era here so that a later run can
    /// start in it. Read and written back like any field meanwhile.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub era: Option<String>,
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
    /// How the client was registered. Only `dynamic` (RFC 7591) is ever stored: a pre-registered
    /// client (`--client-id`) or a client ID metadata document needs no stored registration. A
    /// stored registration of any other kind (written by another version) is not reused.
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

/// The authorization server a pre-registered client was bound to for one server (and profile,
/// and tenant): its secret, and the tokens it gets, go to that issuer only. Recorded at the
/// client's first sign-in, or pinned with `--issuer`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct IssuerBinding {
    /// The MCP server's canonical URL, as in `EntryKey::resource`.
    pub resource: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant: Option<String>,
    pub issuer: String,
    /// The client it was recorded for (informational).
    #[serde(default)]
    pub client_id: String,
    /// `true` when the user named the issuer (`--issuer`), `false` when it was the first seen.
    #[serde(default)]
    pub pinned: bool,
    /// Seconds since the Unix epoch.
    #[serde(default)]
    pub bound_at: i64,
    /// Fields written by a newer mcp-valet, kept as they are.
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

impl std::str::FromStr for Backend {
    type Err = StoreError;
    fn from_str(s: &str) -> Result<Backend> {
        match s.trim().to_ascii_lowercase().as_str() {
            "keyring" => Ok(Backend::Keyring),
            "file" => Ok(Backend::File),
            "memory" => Ok(Backend::Memory),
            _ => Err(StoreError(format!(
                "`{}` is not a token store; use keyring, file or memory",
                s.trim()
            ))),
        }
    }
}
