//! Authorization towards the remote server: mcp-valet is the OAuth 2.1 public client on the
//! user's behalf (discovery, registration, browser or device sign-in, refresh, step-up), or
//! sends the `Authorization` header the user gave explicitly, which keeps OAuth off.

mod browser;
pub mod challenge;
pub mod discovery;
mod registration;
mod session;
pub mod token;

use std::time::Duration;

use anyhow::{Context, bail};
use url::Url;

pub use session::{OAuth, STATIC_ISSUER, resource_key};

use crate::cli::AuthArgs;
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
const RESERVED: &[&str] = &[
    "response_type",
    "client_id",
    "redirect_uri",
    "state",
    "code_challenge",
    "code_challenge_method",
    "scope",
    "resource",
];

impl Settings {
    pub fn from_args(a: &AuthArgs) -> anyhow::Result<Settings> {
        let scopes: Vec<String> = a.scopes.iter().flat_map(|s| challenge::split_scopes(s)).collect();
        let mut authorize_params = Vec::new();
        for p in &a.authorize_params {
            let Some((k, v)) = p.split_once('=') else {
                bail!("--authorize-param `{p}` is not key=value");
            };
            let k = k.trim();
            if RESERVED.contains(&k) {
                bail!(
                    "--authorize-param cannot set `{k}`: mcp-valet sets it itself (use --scope, --resource, --redirect-uri or --client-id)"
                );
            }
            authorize_params.push((k.to_owned(), v.to_owned()));
        }
        if let Some(u) = &a.client_metadata_url {
            let url = Url::parse(u).context("--client-metadata-url is not a URL")?;
            if url.scheme() != "https" || url.path().len() <= 1 {
                bail!("--client-metadata-url must be an https URL with a path");
            }
        }
        let redirect_uri = match &a.redirect_uri {
            None => None,
            Some(u) => {
                let url = Url::parse(u).context("--redirect-uri is not a URL")?;
                if url.scheme() != "http" || !crate::http::is_loopback(&url) {
                    bail!(
                        "--redirect-uri must be a loopback http URL such as http://localhost/ or http://127.0.0.1/callback"
                    );
                }
                Some(url)
            }
        };
        if a.client_credentials && a.client_secret.is_none() {
            bail!("--client-credentials needs the client's secret (MCP_VALET_CLIENT_SECRET or --client-secret)");
        }
        Ok(Settings {
            client_id: a.client_id.clone(),
            client_secret: a.client_secret.clone().map(Secret::new),
            client_metadata_url: a.client_metadata_url.clone(),
            scopes: (!scopes.is_empty()).then_some(scopes),
            resource: match (&a.resource, a.no_resource) {
                (_, true) => ResourceChoice::Omit,
                (Some(r), false) => ResourceChoice::Override(r.clone()),
                (None, false) => ResourceChoice::Published,
            },
            assume_pkce: a.assume_pkce,
            authorize_params,
            device: a.device,
            client_credentials: a.client_credentials,
            no_browser: a.no_browser,
            callback_port: a.callback_port,
            redirect_uri,
            auth_timeout: a.auth_timeout,
            profile: a.store.profile.clone(),
            store: store_options(&a.store),
        })
    }
}

pub fn store_options(a: &crate::cli::StoreArgs) -> StoreOptions {
    StoreOptions {
        backend: a.token_store,
        home: None,
    }
}
