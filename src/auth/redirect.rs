//! Where the browser comes back to (RFC 8252 §7.3, a loopback redirect URI): the URI to
//! register and send, its path, and the ports to listen on for it.

use url::Url;

use super::Settings;
use super::discovery;
use crate::store::ids::fnv1a64;

/// The redirect URI for a port: `--redirect-uri`, else `http://localhost:<port>` for
/// Microsoft Entra ID (what its app registrations list), else `http://127.0.0.1:<port>/callback`.
pub fn uri(settings: &Settings, issuer: &str, port: u16) -> String {
    let mut url = match &settings.redirect_uri {
        Some(u) => u.clone(),
        None if discovery::is_entra(issuer) => Url::parse("http://localhost").expect("a valid URL"),
        None => Url::parse("http://127.0.0.1/callback").expect("a valid URL"),
    };
    if url.port().is_none() && port != 0 {
        let _ = url.set_port(Some(port));
    }
    let mut s = url.to_string();
    // `http://localhost:1234/` is registered as `http://localhost`: keep what was given.
    if url.path() == "/"
        && settings
            .redirect_uri
            .as_ref()
            .is_none_or(|u| !u.as_str().ends_with('/'))
    {
        s.pop();
    }
    s
}

/// The path the listener answers on: that of `--redirect-uri`, else `/` for Entra ID, else
/// `/callback`.
pub fn path(settings: &Settings, issuer: &str) -> String {
    settings
        .redirect_uri
        .as_ref()
        .map(|u| u.path().to_owned())
        .unwrap_or_else(|| {
            if discovery::is_entra(issuer) {
                "/".into()
            } else {
                "/callback".into()
            }
        })
}

/// Ports to try for the callback: the one pinned, else one derived from the server URL (so a
/// registration keeps fitting), then any free one.
pub fn ports(settings: &Settings, server_url: &str) -> Vec<u16> {
    if let Some(p) = settings.redirect_uri.as_ref().and_then(|u| u.port()) {
        return vec![p];
    }
    if let Some(p) = settings.callback_port {
        return vec![p];
    }
    let derived = 10_000 + (fnv1a64(server_url.as_bytes()) % 20_000) as u16;
    vec![derived, derived + 1, 0]
}
