//! The bridge's side of authorization: what goes into a request's `Authorization` header,
//! what a 401 or a 403 from the MCP server leads to, and how an authorization failure is
//! answered to the client. The retry policy around it (how often, never a change of transport)
//! is `Ctx::send`'s.

use std::sync::Arc;

use reqwest::header::HeaderMap;

use crate::auth::challenge::Challenge;
use crate::auth::{AuthError, OAuthClient};
use crate::failure::{Failure, FailureKind};
use crate::http::HttpConfig;

/// How requests to the MCP server are authorized.
pub enum Credentials {
    /// The user passed `Authorization` with -H or --header-file; it is sent as given.
    Explicit,
    /// mcp-valet signs in when the server asks for it.
    OAuth(Arc<OAuthClient>),
}

impl Credentials {
    /// Adds our credentials to a request's headers; returns which token was used.
    pub async fn apply(&self, headers: &mut HeaderMap) -> Result<Option<u64>, Failure> {
        match self {
            Credentials::Explicit => Ok(None),
            Credentials::OAuth(o) => match o.header().await.map_err(|e| from_auth(e, o))? {
                Some((value, generation)) => {
                    headers.insert(reqwest::header::AUTHORIZATION, value);
                    Ok(Some(generation))
                }
                None => Ok(None),
            },
        }
    }

    /// The server answered 401: get a (new) token. `Ok` means: send the request again.
    pub async fn on_unauthorized(&self, http: &HttpConfig, resp: &HeaderMap, sent: Option<u64>) -> Result<(), Failure> {
        match self {
            Credentials::Explicit => Err(self.rejected(http)),
            Credentials::OAuth(o) => {
                let c = Challenge::from_headers(resp);
                let o = o.clone();
                shielded(async move { o.unauthorized(&c, sent).await.map_err(|e| from_auth(e, &o)) }).await
            }
        }
    }

    /// The server answered 403. `Ok(true)`: authorized again with more scopes, send again.
    pub async fn on_forbidden(&self, resp: &HeaderMap, sent: Option<u64>) -> Result<bool, Failure> {
        let Credentials::OAuth(o) = self else { return Ok(false) };
        let c = Challenge::from_headers(resp);
        if !c.is_insufficient_scope() {
            return Ok(false);
        }
        let o = o.clone();
        shielded(async move { o.insufficient_scope(&c, sent).await.map_err(|e| from_auth(e, &o)) }).await?;
        Ok(true)
    }

    /// A request carrying our token went through.
    pub fn succeeded(&self) {
        if let Credentials::OAuth(o) = self {
            o.succeeded();
        }
    }

    /// The error for a 401 that will not be retried.
    pub fn rejected(&self, http: &HttpConfig) -> Failure {
        let host = http.url.host_str().unwrap_or("the server");
        let msg = match self {
            Credentials::Explicit => format!(
                "{host} rejected the Authorization header given with -H/--header-file (HTTP 401). \
                 Check that the token is valid and not expired; while that header is given, mcp-valet does not sign in itself"
            ),
            Credentials::OAuth(_) => format!("{host} still refuses the request after signing in (HTTP 401)"),
        };
        Failure::new(FailureKind::Unauthorized, msg).with_status(401)
    }
}

/// An authorization failure as the client sees it; a required login names the command.
fn from_auth(e: AuthError, oauth: &OAuthClient) -> Failure {
    let mut msg = e.message;
    if e.login_required {
        msg.push_str(&format!(". Sign in with `{}`", oauth.login_hint()));
    }
    let kind = if e.login_required {
        FailureKind::LoginRequired
    } else {
        FailureKind::Auth
    };
    Failure::new(kind, msg)
}

/// Runs a sign-in or refresh in a task of its own: when the relay gives up on the request that
/// started it (and stops that request's work), the sign-in still finishes, for the next request.
async fn shielded<T: Send + 'static>(
    work: impl std::future::Future<Output = Result<T, Failure>> + Send + 'static,
) -> Result<T, Failure> {
    tokio::spawn(work)
        .await
        .unwrap_or_else(|e| Err(Failure::new(FailureKind::Auth, format!("signing in stopped: {e}"))))
}
