//! Authorization towards the remote server: mcp-valet is the OAuth 2.1 public client on the
//! user's behalf (discovery, registration, browser or device sign-in, refresh, step-up), or
//! sends the `Authorization` header the user gave explicitly, which keeps OAuth off.

mod binding;
mod browser;
pub mod challenge;
pub mod discovery;
mod error;
mod grants;
mod imported;
mod kept;
pub mod prompt;
mod redirect;
mod registration;
mod settings;
pub mod token;
mod tokens;

pub use binding::same_issuer;
pub use error::AuthError;
pub use imported::{IMPORTED_FROM, Imported, ImportedClient, Kept};
pub use kept::{CHECKED_AT, Revocation};
pub use prompt::Interaction;
pub use settings::{AUTH_TIMEOUT, RESERVED, ResourceChoice, Settings};
pub use tokens::{OAuthClient, STATIC_ISSUER, resource_key};
