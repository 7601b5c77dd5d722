//! Who the client is to the authorization server, in the MCP specification's order:
//! pre-registered, client ID metadata document, dynamic client registration (RFC 7591).
//! Registrations are kept per issuer and reused while their redirect URI still fits.

use reqwest::header::ACCEPT;
use serde::Deserialize;
use url::Url;

use super::discovery::Discovery;
use super::token::{Client, ClientAuth};
use super::{AuthError, Settings};
use crate::audit::Entry;
use crate::http::HttpConfig;
use std::sync::Arc;

use crate::store::{Registration, Secret, Store};

pub const DEVICE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

/// The client identity to use with this authorization server.
pub async fn client(
    http: &HttpConfig,
    settings: &Settings,
    store: &Arc<Store>,
    d: &Discovery,
    redirect_uri: &str,
) -> Result<Client, AuthError> {
    let methods = d.server.token_endpoint_auth_methods_supported.as_deref();
    if let Some(id) = &settings.client_id {
        let auth = match &settings.client_secret {
            // As the user said (--static-oauth-client-metadata's `token_endpoint_auth_method`).
            Some(_) if settings.token_endpoint_auth_method.is_some() => {
                ClientAuth::parse(settings.token_endpoint_auth_method.as_deref().unwrap_or_default())
            }
            None => ClientAuth::None,
            Some(_) => match methods {
                Some(m)
                    if !m.iter().any(|x| x == "client_secret_basic") && m.iter().any(|x| x == "client_secret_post") =>
                {
                    ClientAuth::Post
                }
                _ => ClientAuth::Basic,
            },
        };
        return Ok(Client {
            id: id.clone(),
            secret: settings.client_secret.clone(),
            auth,
        });
    }
    if let Some(doc) = &settings.client_metadata_url {
        if d.server.client_id_metadata_document_supported {
            return Ok(Client {
                id: doc.clone(),
                secret: None,
                auth: ClientAuth::None,
            });
        }
        tracing::info!("the authorization server does not take client ID metadata documents; registering instead");
    }
    let Some(endpoint) = d.server.registration_endpoint.clone() else {
        return Err(AuthError::new(format!(
            "the authorization server {} offers no way for mcp-valet to register itself (no dynamic client \
             registration{}). Register an application with the provider and pass its id with --client-id",
            d.issuer,
            if settings.client_metadata_url.is_some() {
                " and no client ID metadata documents"
            } else {
                ""
            }
        )));
    };
    let profile = settings.profile.as_deref();
    let issuer = d.issuer.clone();
    let kept = {
        let issuer = issuer.clone();
        let profile = profile.map(str::to_owned);
        store
            .blocking(move |s| s.registration(&issuer, profile.as_deref()))
            .await
            .map_err(AuthError::store)?
    };
    if let Some(reg) = kept {
        if reg.kind == "dynamic" && reg.redirect_uris.iter().any(|u| u == redirect_uri) {
            tracing::debug!("reusing the client registration for {}", reg.issuer);
            return Ok(Client {
                id: reg.client_id,
                auth: reg
                    .token_endpoint_auth_method
                    .as_deref()
                    .map(ClientAuth::parse)
                    .unwrap_or(ClientAuth::None),
                secret: reg.client_secret,
            });
        }
        tracing::info!("the stored registration does not list this redirect URI; registering again");
    }
    let reg = register(http, settings, d, &endpoint, redirect_uri).await?;
    let client = Client {
        id: reg.client_id.clone(),
        auth: reg
            .token_endpoint_auth_method
            .as_deref()
            .map(ClientAuth::parse)
            .unwrap_or(ClientAuth::None),
        secret: reg.client_secret.clone(),
    };
    let profile = profile.map(str::to_owned);
    store
        .blocking(move |s| s.save_registration(&reg, profile.as_deref()))
        .await
        .map_err(AuthError::store)?;
    Ok(client)
}

#[derive(Deserialize)]
struct RegistrationResponse {
    client_id: String,
    #[serde(default)]
    client_secret: Option<Secret>,
    #[serde(default)]
    token_endpoint_auth_method: Option<String>,
    #[serde(default)]
    redirect_uris: Option<Vec<String>>,
}

async fn register(
    http: &HttpConfig,
    settings: &Settings,
    d: &Discovery,
    endpoint: &str,
    redirect_uri: &str,
) -> Result<Registration, AuthError> {
    let url = Url::parse(endpoint).map_err(|_| AuthError::new("the registration endpoint is not a URL"))?;
    super::discovery::check_endpoint(http, &url)?;
    let supported = d.server.token_endpoint_auth_methods_supported.as_deref();
    // A public client, unless the server only takes confidential ones.
    let method = match supported {
        _ if settings.token_endpoint_auth_method.is_some() => {
            settings.token_endpoint_auth_method.as_deref().unwrap_or("none")
        }
        None => "none",
        Some(m) if m.iter().any(|x| x == "none") => "none",
        Some(m) if m.iter().any(|x| x == "client_secret_basic") => "client_secret_basic",
        Some(m) if m.iter().any(|x| x == "client_secret_post") => "client_secret_post",
        Some(_) => "none",
    };
    let mut grant_types = vec!["authorization_code", "refresh_token"];
    if settings.device {
        grant_types.push(DEVICE_GRANT);
    }
    let mut body = serde_json::json!({
        "client_name": "mcp-valet",
        "software_id": "mcp-valet",
        "software_version": env!("CARGO_PKG_VERSION"),
        "application_type": "native",
        "redirect_uris": [redirect_uri],
        "grant_types": grant_types,
        "response_types": ["code"],
        "token_endpoint_auth_method": method,
    });
    // The user's fields (--static-oauth-client-metadata) over these; never the redirect URI,
    // which must be the one mcp-valet listens on.
    if let Some(b) = body.as_object_mut() {
        for (k, v) in &settings.registration_metadata {
            if k != "redirect_uris" {
                b.insert(k.clone(), v.clone());
            }
        }
    }
    let resp = http
        .client
        .post(url.clone())
        .header(ACCEPT, "application/json")
        .json(&body)
        .timeout(std::time::Duration::from_secs(30))
        .send()
        .await
        .map_err(|e| AuthError::network(&e, &url))?;
    let status = resp.status();
    let bytes = crate::http::read_document(resp, &url)
        .await
        .map_err(|f| AuthError::new(f.message))?;
    if !status.is_success() {
        let said = serde_json::from_slice::<super::token::OAuthError>(&bytes)
            .map(|e| {
                format!(
                    ": `{}`{}",
                    crate::util::for_terminal(&e.error, 100),
                    e.error_description
                        .map(|d| format!(" ({})", crate::util::for_terminal(&d, 400)))
                        .unwrap_or_default()
                )
            })
            .unwrap_or_default();
        let hint = if said.contains("redirect") {
            ". It rejected the redirect URI; try --redirect-uri or --callback-port, or a pre-registered --client-id"
        } else {
            ""
        };
        let e = AuthError::new(format!(
            "registering mcp-valet with {} failed (HTTP {}){said}{hint}",
            d.issuer,
            status.as_u16()
        ));
        let mut entry = Entry::failed("registration", &super::resource_key(&http.url), &e.message);
        entry.issuer = Some(d.issuer.clone());
        crate::audit::record(entry);
        return Err(e);
    }
    let r: RegistrationResponse = serde_json::from_slice(&bytes)
        .map_err(|_| AuthError::new("the registration endpoint's answer is not a client registration"))?;
    tracing::info!(issuer = %d.issuer, "registered mcp-valet as an OAuth client");
    let mut entry = Entry::ok("registration", &super::resource_key(&http.url));
    entry.issuer = Some(d.issuer.clone());
    entry.client_id = Some(r.client_id.clone());
    entry.profile = settings.profile.clone();
    crate::audit::record(entry);
    Ok(Registration {
        issuer: d.issuer.clone(),
        client_id: r.client_id,
        kind: "dynamic".into(),
        redirect_uris: r.redirect_uris.unwrap_or_else(|| vec![redirect_uri.to_owned()]),
        token_endpoint_auth_method: Some(r.token_endpoint_auth_method.unwrap_or_else(|| method.to_owned())),
        client_secret: r.client_secret,
        created_at: crate::util::unix_now(),
        extra: Default::default(),
    })
}
