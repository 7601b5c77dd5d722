//! Authorization towards the remote server: mcp-valet is the OAuth 2.1 public client on the
//! user's behalf (discovery, registration, browser or device sign-in, refresh, step-up), or
//! sends the `Authorization` header the user gave explicitly, which keeps OAuth off.

mod browser;
pub mod challenge;
pub mod discovery;
mod grants;
pub mod prompt;
mod redirect;
mod registration;
pub mod token;
mod tokens;

use std::time::Duration;

use url::Url;

pub use tokens::{Interaction, OAuthClient, STATIC_ISSUER, resource_key};

use crate::store::{Secret, StoreOptions};

/// Why authorization failed, in words for the user. Never holds a secret.
#[derive(Debug, Clone)]
pub struct AuthError {
    pub message: String,
    /// The user must sign in (again): no usable token and no way to get one without them.
    pub login_required: bool,
    /// The OAuth `error` code, when the authorization server sent one.
    pub oauth_error: Option<String>,
}

impl AuthError {
    pub fn new(message: impl Into<String>) -> AuthError {
        AuthError {
            message: message.into(),
            login_required: false,
            oauth_error: None,
        }
    }
    pub fn login_required(message: impl Into<String>) -> AuthError {
        AuthError {
            login_required: true,
            ..AuthError::new(message)
        }
    }
    pub fn network(e: &reqwest::Error, url: &Url) -> AuthError {
        AuthError::new(crate::http::describe_error(e, url, None).message)
    }
    pub fn store(e: crate::store::StoreError) -> AuthError {
        AuthError::new(format!("the token store failed: {e}"))
    }
}

impl std::fmt::Display for AuthError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for AuthError {}

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
    pub auth_timeout: Duration,
    pub profile: Option<String>,
    pub store: StoreOptions,
}

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
