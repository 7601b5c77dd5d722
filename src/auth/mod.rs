//! Authorization towards the remote server. Today: no credentials, or the `Authorization`
//! header the user gave explicitly (which keeps OAuth off for that run).

use reqwest::header::HeaderMap;

use crate::bridge::remote::RemoteError;
use crate::http::HttpConfig;

pub enum Auth {
    /// No credentials of ours.
    None,
    /// The user passed `Authorization` with -H or --header-file; it is sent as given.
    Explicit,
}

impl Auth {
    pub fn for_config(http: &HttpConfig) -> Auth {
        if http.explicit_authorization {
            Auth::Explicit
        } else {
            Auth::None
        }
    }

    /// Adds our credentials to a request's headers.
    pub async fn apply(&self, _headers: &mut HeaderMap) -> Result<(), RemoteError> {
        Ok(())
    }

    /// The error for a 401 from the server.
    pub fn unauthorized(&self, http: &HttpConfig) -> RemoteError {
        let host = http.url.host_str().unwrap_or("the server");
        let msg = match self {
            Auth::Explicit => format!(
                "{host} rejected the Authorization header given with -H/--header-file (HTTP 401). \
                 Check that the token is valid and not expired"
            ),
            Auth::None => format!(
                "{host} requires authorization (HTTP 401). Pass credentials with -H 'Authorization: Bearer …' or --header-file"
            ),
        };
        RemoteError::new("unauthorized", msg).with_status(401)
    }
}
