//! Between clap and the rest: the command line's values, checked and resolved into the plain
//! settings that `auth` and `http` take (as uv's `settings.rs` does). Only `cli`, `commands`,
//! `bridge` and this file know clap's types.

use anyhow::{Context, bail};
use url::Url;

use crate::auth;
use crate::cli::{AuthArgs, RemoteArgs, StoreArgs};
use crate::http::HttpSettings;
use crate::store::{Secret, StoreOptions};

/// The client secret of `--client-id`, kept out of argv.
pub const CLIENT_SECRET_ENV: &str = "MCP_VALET_CLIENT_SECRET";

/// How to reach the server.
pub fn http(a: &RemoteArgs) -> anyhow::Result<HttpSettings> {
    Ok(HttpSettings {
        url: a.url.clone().context("a server URL is required")?,
        headers: a.headers.clone(),
        header_file: a.header_file.clone(),
        allow_http: a.allow_http,
        ca_file: a.ca_file.clone(),
        connect_timeout: a.connect_timeout,
        ipv4: a.ipv4,
        cookies: !a.compat.disable_cookies,
    })
}

/// The sign-in options, checked.
pub fn auth(a: &AuthArgs) -> anyhow::Result<auth::Settings> {
    let scopes: Vec<String> = a.scopes.iter().flat_map(|s| auth::challenge::split_scopes(s)).collect();
    let mut authorize_params = Vec::new();
    for p in &a.authorize_params {
        let Some((k, v)) = p.split_once('=') else {
            bail!("--authorize-param `{p}` is not key=value");
        };
        let k = k.trim();
        if auth::RESERVED.contains(&k) {
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
    let client_secret = client_secret(&a.client_id, &a.client_secret)?;
    if a.client_credentials && client_secret.is_none() {
        bail!("--client-credentials needs the client's secret (MCP_VALET_CLIENT_SECRET or --client-secret)");
    }
    Ok(auth::Settings {
        client_id: a.client_id.clone(),
        client_secret: client_secret.map(Secret::new),
        client_metadata_url: a.client_metadata_url.clone(),
        scopes: (!scopes.is_empty()).then_some(scopes),
        resource: match (&a.resource, a.no_resource) {
            (_, true) => auth::ResourceChoice::Omit,
            (Some(r), false) => auth::ResourceChoice::Override(r.clone()),
            (None, false) => auth::ResourceChoice::Published,
        },
        assume_pkce: a.assume_pkce,
        authorize_params,
        device: a.device,
        client_credentials: a.client_credentials,
        no_browser: a.no_browser,
        callback_port: a.callback_port,
        redirect_uri,
        auth_timeout: a.auth_timeout.unwrap_or(auth::AUTH_TIMEOUT),
        auth_timeout_given: a.auth_timeout.is_some(),
        profile: a.store.profile.clone(),
        store: store(&a.store),
        token_endpoint_auth_method: a
            .compat
            .client_metadata
            .get("token_endpoint_auth_method")
            .and_then(|v| v.as_str())
            .map(str::to_owned),
        registration_metadata: a.compat.client_metadata.clone(),
        auth_success_url: a.auth_success_url.clone(),
        use_id_token: a.use_id_token,
        token_endpoint: a.token_endpoint.clone(),
        issuer: a.issuer.as_deref().map(issuer).transpose()?,
    })
}

/// `--issuer`: an issuer identifier (RFC 8414 §2): an http(s) URL without query, fragment or
/// credentials.
fn issuer(text: &str) -> anyhow::Result<String> {
    let text = text.trim();
    let ok = Url::parse(text).is_ok_and(|u| {
        matches!(u.scheme(), "https" | "http")
            && u.host().is_some()
            && u.query().is_none()
            && u.fragment().is_none()
            && u.username().is_empty()
            && u.password().is_none()
    });
    if !ok {
        bail!(
            "--issuer takes the authorization server's issuer, an https URL without query or fragment (its metadata's `issuer`)"
        );
    }
    Ok(text.to_owned())
}

/// The secret of `--client-id`: `--client-secret`, else MCP_VALET_CLIENT_SECRET. The variable
/// only counts with --client-id: it may be set for another server's client.
fn client_secret(id: &Option<String>, secret: &Option<String>) -> anyhow::Result<Option<String>> {
    if secret.is_some() && id.is_none() {
        bail!("--client-secret is the secret of a pre-registered client: give its --client-id too");
    }
    Ok(match (id, secret) {
        (None, _) => None,
        (Some(_), Some(s)) => Some(s.clone()),
        (Some(_), None) => std::env::var(CLIENT_SECRET_ENV).ok().filter(|s| !s.is_empty()),
    })
}

/// `token`: the stored login's settings, with the pre-registered client's secret if given.
pub fn token(a: &crate::cli::TokenArgs) -> anyhow::Result<auth::Settings> {
    let mut s = stored_login(&a.store);
    s.client_secret = client_secret(&a.client_id, &a.client_secret)?.map(Secret::new);
    s.client_id = a.client_id.clone();
    if let Some(r) = a.resource.as_ref().filter(|r| !r.trim().is_empty()) {
        s.resource = auth::ResourceChoice::Override(r.trim().to_owned());
    }
    Ok(s)
}

/// The sign-in settings of a login that is only looked after (`logout` revokes it with the
/// client it was made with): no sign-in options, the store the user named.
pub fn stored_login(a: &StoreArgs) -> auth::Settings {
    auth::Settings {
        client_id: None,
        client_secret: None,
        client_metadata_url: None,
        scopes: None,
        resource: auth::ResourceChoice::Published,
        assume_pkce: false,
        authorize_params: Vec::new(),
        device: false,
        client_credentials: false,
        no_browser: false,
        callback_port: None,
        redirect_uri: None,
        auth_timeout: std::time::Duration::from_secs(30),
        auth_timeout_given: true,
        profile: a.profile.clone(),
        store: store(a),
        registration_metadata: Default::default(),
        token_endpoint_auth_method: None,
        auth_success_url: None,
        use_id_token: false,
        token_endpoint: None,
        issuer: None,
    }
}

/// Which token store to open.
pub fn store(a: &StoreArgs) -> StoreOptions {
    StoreOptions {
        backend: a.token_store,
        home: None,
    }
}
