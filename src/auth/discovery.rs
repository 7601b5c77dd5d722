//! Finding the authorization server: protected resource metadata (RFC 9728), then the
//! authorization server's metadata (RFC 8414, OpenID Connect Discovery), in the order the MCP
//! specification gives; and the 2025-03-26 fallback for servers without resource metadata.

use reqwest::header::{ACCEPT, HeaderValue};
use serde::Deserialize;
use url::Url;

use super::AuthError;
use super::challenge::Challenge;
use crate::http::{HttpConfig, is_loopback};

/// Protected resource metadata (RFC 9728 §2).
#[derive(Clone, Debug, Deserialize)]
pub struct ResourceMetadata {
    pub resource: String,
    #[serde(default)]
    pub authorization_servers: Vec<String>,
    #[serde(default)]
    pub scopes_supported: Option<Vec<String>>,
}

/// Authorization server metadata (RFC 8414 §2; OpenID Connect Discovery shares the fields).
#[derive(Clone, Debug, Default, Deserialize)]
pub struct ServerMetadata {
    pub issuer: String,
    pub authorization_endpoint: Option<String>,
    pub token_endpoint: Option<String>,
    pub registration_endpoint: Option<String>,
    pub device_authorization_endpoint: Option<String>,
    pub revocation_endpoint: Option<String>,
    pub scopes_supported: Option<Vec<String>>,
    pub code_challenge_methods_supported: Option<Vec<String>>,
    pub token_endpoint_auth_methods_supported: Option<Vec<String>>,
    pub grant_types_supported: Option<Vec<String>>,
    #[serde(default)]
    pub client_id_metadata_document_supported: bool,
    #[serde(default)]
    pub authorization_response_iss_parameter_supported: bool,
}

/// What discovery found.
#[derive(Clone, Debug)]
pub struct Discovery {
    /// The RFC 8707 `resource` value: the metadata's `resource` exactly as published, else
    /// the server URL exactly as given.
    pub resource: String,
    pub resource_scopes: Option<Vec<String>>,
    pub issuer: String,
    pub server: ServerMetadata,
    /// `false` when the server published no metadata and default endpoints are used (2025-03-26).
    pub has_metadata: bool,
}

impl Discovery {
    /// For `--token-endpoint`: the authorization server is that endpoint's origin, and the
    /// resource the server URL as given.
    pub fn token_endpoint_only(http: &HttpConfig, endpoint: &str) -> Result<Discovery, AuthError> {
        let url = Url::parse(endpoint).map_err(|_| AuthError::new("--token-endpoint is not a URL"))?;
        check_endpoint(http, &url)?;
        let issuer = url.origin().ascii_serialization();
        Ok(Discovery {
            resource: http.url_text.clone(),
            resource_scopes: None,
            issuer: issuer.clone(),
            server: ServerMetadata {
                issuer,
                token_endpoint: Some(endpoint.to_owned()),
                ..ServerMetadata::default()
            },
            has_metadata: false,
        })
    }
}

/// Hosts of Microsoft Entra ID (and its national clouds): they support PKCE S256 without
/// saying so in their metadata.
const ENTRA_HOSTS: &[&str] = &[
    "login.microsoftonline.com",
    "login.microsoftonline.us",
    "login-us.microsoftonline.com",
    "login.partner.microsoftonline.cn",
    "login.chinacloudapi.cn",
    "login.microsoftonline.de",
];

pub fn is_entra(issuer: &str) -> bool {
    Url::parse(issuer)
        .ok()
        .and_then(|u| u.host_str().map(str::to_ascii_lowercase))
        .is_some_and(|h| ENTRA_HOSTS.contains(&h.as_str()))
}

pub async fn discover(http: &HttpConfig, challenge: &Challenge) -> Result<Discovery, AuthError> {
    let server = &http.url;
    let prm = find_resource_metadata(http, challenge).await?;
    let Some((prm, prm_url)) = prm else {
        return legacy_discovery(http).await;
    };
    if !resource_matches(&prm.resource, server) {
        return Err(AuthError::new(format!(
            "the server's resource metadata ({}) names the resource `{}`, which is not this server ({}); \
             refusing to sign in, since a token for it could be used elsewhere",
            crate::http::redact_url(&prm_url),
            crate::util::for_terminal(&crate::http::redact_url_text(&prm.resource), 200),
            crate::http::redact_url(server)
        )));
    }
    let Some(issuer) = prm.authorization_servers.first().cloned() else {
        return Err(AuthError::new(format!(
            "the server's resource metadata ({}) names no authorization server",
            crate::http::redact_url(&prm_url)
        )));
    };
    let server_meta = find_server_metadata(http, &issuer).await?.ok_or_else(|| {
        AuthError::new(format!(
            "found no OAuth metadata for the authorization server {} (tried RFC 8414 and OpenID Connect discovery)",
            crate::util::for_terminal(&issuer, 200)
        ))
    })?;
    Ok(Discovery {
        resource: prm.resource,
        resource_scopes: prm.scopes_supported,
        issuer,
        server: server_meta,
        has_metadata: true,
    })
}

/// RFC 9728: the URL from the challenge, else the path-aware well-known URL, then the root one.
pub async fn find_resource_metadata(
    http: &HttpConfig,
    challenge: &Challenge,
) -> Result<Option<(ResourceMetadata, Url)>, AuthError> {
    let server = &http.url;
    let mut candidates = Vec::new();
    if let Some(u) = &challenge.resource_metadata {
        match Url::parse(u) {
            Ok(u) => candidates.push(u),
            Err(_) => tracing::warn!("ignoring a resource_metadata challenge parameter that is not a URL"),
        }
    }
    let path = server.path().trim_end_matches('/');
    if !path.is_empty() {
        candidates.push(join_origin(
            server,
            &format!("/.well-known/oauth-protected-resource{path}"),
        )?);
    }
    candidates.push(join_origin(server, "/.well-known/oauth-protected-resource")?);
    for url in candidates {
        if let Some(m) = get_json::<ResourceMetadata>(http, &url).await? {
            tracing::debug!(url = %crate::http::redact_url(&url), "found protected resource metadata");
            return Ok(Some((m, url)));
        }
    }
    Ok(None)
}

/// RFC 8414 §3 and OpenID Connect Discovery, in the order the MCP specification gives; the
/// document's `issuer` must be the issuer exactly.
pub async fn find_server_metadata(http: &HttpConfig, issuer: &str) -> Result<Option<ServerMetadata>, AuthError> {
    Ok(find_server_metadata_at(http, issuer).await?.map(|(m, _)| m))
}

/// [`find_server_metadata`], with the URL that answered.
pub async fn find_server_metadata_at(
    http: &HttpConfig,
    issuer: &str,
) -> Result<Option<(ServerMetadata, Url)>, AuthError> {
    let base = Url::parse(issuer).map_err(|_| {
        AuthError::new(format!(
            "the authorization server `{}` is not a URL",
            crate::util::for_terminal(issuer, 200)
        ))
    })?;
    let path = base.path().trim_end_matches('/');
    let urls: Vec<String> = if path.is_empty() {
        vec![
            "/.well-known/oauth-authorization-server".into(),
            "/.well-known/openid-configuration".into(),
        ]
    } else {
        vec![
            format!("/.well-known/oauth-authorization-server{path}"),
            format!("/.well-known/openid-configuration{path}"),
            format!("{path}/.well-known/openid-configuration"),
        ]
    };
    for p in urls {
        let url = join_origin(&base, &p)?;
        if let Some(m) = get_json::<ServerMetadata>(http, &url).await? {
            if m.issuer != issuer {
                return Err(AuthError::new(format!(
                    "the metadata at {} says its issuer is `{}`, not `{issuer}`; refusing to use it (RFC 8414 §3.3)",
                    crate::http::redact_url(&url),
                    m.issuer
                )));
            }
            return Ok(Some((m, url)));
        }
    }
    Ok(None)
}

/// MCP 2025-03-26: no resource metadata; the authorization server is the MCP server's origin,
/// with metadata at its root, else the default endpoints `/authorize`, `/token`, `/register`.
async fn legacy_discovery(http: &HttpConfig) -> Result<Discovery, AuthError> {
    let origin = http.url.origin().ascii_serialization();
    tracing::debug!("no protected resource metadata; trying the authorization server at the server's origin");
    let (server, has_metadata) = match find_server_metadata(http, &origin).await? {
        Some(m) => (m, true),
        None => (
            ServerMetadata {
                issuer: origin.clone(),
                authorization_endpoint: Some(format!("{origin}/authorize")),
                token_endpoint: Some(format!("{origin}/token")),
                registration_endpoint: Some(format!("{origin}/register")),
                ..ServerMetadata::default()
            },
            false,
        ),
    };
    Ok(Discovery {
        resource: http.url_text.clone(),
        resource_scopes: None,
        issuer: origin,
        server,
        has_metadata,
    })
}

/// RFC 9728 §3.3 and RFC 8707: the published resource must be this server: the same origin,
/// and a path that is this server's path or a parent of it.
pub fn resource_matches(resource: &str, server: &Url) -> bool {
    let Ok(r) = Url::parse(resource) else { return false };
    if r.origin() != server.origin() {
        return false;
    }
    let rp = r.path().trim_end_matches('/');
    let sp = server.path().trim_end_matches('/');
    sp == rp || sp.starts_with(&format!("{rp}/"))
}

fn join_origin(base: &Url, path: &str) -> Result<Url, AuthError> {
    let mut u = base.clone();
    u.set_path(path);
    u.set_query(None);
    u.set_fragment(None);
    Ok(u)
}

/// Refuses endpoints that would leak credentials or reach into private networks: plain http
/// (except loopback or with --allow-http), and literal private or link-local addresses when
/// the MCP server itself is public.
pub fn check_endpoint(http: &HttpConfig, url: &Url) -> Result<(), AuthError> {
    match url.scheme() {
        "https" => {}
        "http" if http.allow_http || is_loopback(url) => {}
        _ => {
            return Err(AuthError::new(format!(
                "refusing the OAuth endpoint {}: it must use https://",
                crate::http::redact_url(url)
            )));
        }
    }
    let private = crate::http::is_private_host; // names: checked once resolved, in http
    if private(url) && !private(&http.url) && !is_loopback(&http.url) {
        return Err(AuthError::new(format!(
            "refusing the OAuth endpoint {}: a public server pointed at a private address",
            crate::http::redact_url(url)
        )));
    }
    Ok(())
}

/// GETs a JSON document: `None` for a 4xx (not there), an error for anything else that fails.
async fn get_json<T: serde::de::DeserializeOwned>(http: &HttpConfig, url: &Url) -> Result<Option<T>, AuthError> {
    check_endpoint(http, url)?;
    let resp = http
        .client
        .get(url.clone())
        .header(ACCEPT, HeaderValue::from_static("application/json"))
        .timeout(std::time::Duration::from_secs(30))
        .send()
        .await
        .map_err(|e| AuthError::network(&e, url))?;
    let status = resp.status();
    if status.is_client_error() {
        return Ok(None);
    }
    if !status.is_success() {
        return Err(AuthError::new(format!(
            "{} answered HTTP {} during sign-in discovery; try again later",
            crate::http::redact_url(url),
            status.as_u16()
        )));
    }
    let body = crate::http::read_document(resp, url)
        .await
        .map_err(|f| AuthError::new(f.message))?;
    match serde_json::from_slice(&body) {
        Ok(v) => Ok(Some(v)),
        Err(e) => {
            tracing::debug!(url = %crate::http::redact_url(url), "not usable metadata: {e}");
            Ok(None)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resource_must_be_this_server() {
        let s = Url::parse("https://h.example/mcp").unwrap();
        assert!(resource_matches("https://h.example/mcp", &s));
        assert!(resource_matches("https://h.example", &s));
        assert!(resource_matches("https://h.example/", &s));
        assert!(!resource_matches("https://h.example/other", &s));
        assert!(!resource_matches("https://h.example/mc", &s));
        assert!(!resource_matches("https://evil.example/mcp", &s));
        assert!(!resource_matches("http://h.example/mcp", &s));
        assert!(!resource_matches("not a url", &s));
    }

    #[test]
    fn entra_hosts() {
        assert!(is_entra("https://login.microsoftonline.com/tenant/v2.0"));
        assert!(!is_entra("https://login.example.com/"));
    }
}
