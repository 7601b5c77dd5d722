//! The sign-in options, checked: what `settings.rs` makes of the command line for `auth`.

use std::time::Duration;

use url::Url;

use crate::store::{Secret, StoreOptions};

/// Which `resource` (RFC 8707) to send.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ResourceChoice {
    /// What the server's metadata publishes, byte for byte.
    Published,
    Override(String),
    Omit,
}

/// The sign-in options, checked.
#[derive(Clone, Debug)]
pub struct Settings {
    pub client_id: Option<String>,
    pub client_secret: Option<Secret>,
    pub client_metadata_url: Option<String>,
    pub scopes: Option<Vec<String>>,
    pub resource: ResourceChoice,
    pub assume_pkce: bool,
    pub authorize_params: Vec<(String, String)>,
    pub device: bool,
    pub client_credentials: bool,
    pub no_browser: bool,
    pub callback_port: Option<u16>,
    pub redirect_uri: Option<Url>,
    /// How long to wait for the user (5m unless `--auth-timeout` says otherwise).
    pub auth_timeout: Duration,
    /// `--auth-timeout` was given: it also cuts a device-code wait, which otherwise lasts as
    /// long as the code is valid.
    pub auth_timeout_given: bool,
    pub profile: Option<String>,
    pub store: StoreOptions,
    /// Fields to send when registering (`--static-oauth-client-metadata`), over mcp-valet's own.
    pub registration_metadata: serde_json::Map<String, serde_json::Value>,
    /// How the client authenticates at the token endpoint, when the user says so.
    pub token_endpoint_auth_method: Option<String>,
    /// Where the browser goes after a sign-in (`--auth-success-url`).
    pub auth_success_url: Option<String>,
    /// Send the ID token to the MCP server instead of the access token.
    pub use_id_token: bool,
    /// `--token-endpoint` (client credentials without discovery).
    pub token_endpoint: Option<String>,
    /// `--issuer`: the only authorization server to sign in at.
    pub issuer: Option<String>,
}

impl Settings {
    /// What keeps this login apart from the server's other logins besides the profile: the
    /// `--resource` given (mcp-remote's way of keeping tenants apart).
    pub fn tenant(&self) -> Option<&str> {
        match &self.resource {
            ResourceChoice::Override(r) => Some(r),
            _ => None,
        }
    }
}

/// How long a sign-in waits for the user unless `--auth-timeout` says otherwise.
pub const AUTH_TIMEOUT: Duration = Duration::from_secs(300);

/// Authorization-request parameters mcp-valet sets itself.
pub const RESERVED: &[&str] = &[
    "response_type",
    "client_id",
    "redirect_uri",
    "state",
    "code_challenge",
    "code_challenge_method",
    "scope",
    "resource",
];
