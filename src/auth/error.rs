//! The error of every authorization step: words for the user, and whether signing in again
//! would help.

use url::Url;

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
