//! Logins made by another tool (mcp-remote), taken into the store as if mcp-valet had made
//! them: with the authorization server found by discovery, they refresh and revoke as usual;
//! without one, the access token is kept as a token the user gave (`login --with-token`).

use super::ResourceChoice;
use super::discovery::Discovery;
use super::error::AuthError;
use super::tokens::OAuthClient;
use crate::audit::Entry;
use crate::store::{Backend, EntryKey, EntryMeta, Registration, Secret, Secrets};
use crate::util::unix_now;

/// In an imported login's `EntryMeta::extra`: where it came from (`mcp-remote`).
pub const IMPORTED_FROM: &str = "imported_from";

/// A login another tool made.
pub struct Imported {
    pub from: &'static str,
    pub access_token: Secret,
    pub refresh_token: Option<Secret>,
    pub id_token: Option<Secret>,
    pub scopes: Vec<String>,
    /// Seconds since the Unix epoch.
    pub expires_at: Option<i64>,
    pub client: Option<ImportedClient>,
}

/// The client registration the login was made with.
pub struct ImportedClient {
    pub client_id: String,
    pub client_secret: Option<Secret>,
    pub redirect_uris: Vec<String>,
    pub token_endpoint_auth_method: Option<String>,
    pub created_at: Option<i64>,
}

/// How an import was kept.
pub enum Kept {
    /// With its authorization server: refreshed and revoked like any login.
    OAuth { issuer: String, refreshable: bool },
    /// The access token alone.
    TokenOnly,
}

impl OAuthClient {
    /// Whether the store already holds a login for this server (and profile).
    pub async fn has_login(&self) -> Result<bool, AuthError> {
        let (resource, profile) = (self.resource_key.clone(), self.settings.profile.clone());
        let tenant = self.settings.tenant().map(str::to_owned);
        self.store
            .blocking(move |s| Ok(!s.find(&resource, profile.as_deref(), tenant.as_deref())?.is_empty()))
            .await
            .map_err(AuthError::store)
    }

    /// Keeps `imp` for this server. With `d` (discovery found the authorization server) and
    /// a client registration, as an OAuth login; else the access token alone.
    pub async fn keep_imported(&self, d: Option<&Discovery>, imp: Imported) -> Result<(Backend, Kept), AuthError> {
        let _lock = self.lock().await?;
        let mut meta = EntryMeta {
            scopes: imp.scopes,
            expires_at: imp.expires_at,
            ..EntryMeta::default()
        };
        meta.extra.insert(IMPORTED_FROM.into(), imp.from.into());
        let (key, secrets, kept) = match (d, imp.client) {
            (Some(d), Some(client)) => {
                meta.resource_indicator = match &self.settings.resource {
                    ResourceChoice::Published => d.has_metadata.then(|| d.resource.clone()),
                    ResourceChoice::Override(r) => Some(r.clone()),
                    ResourceChoice::Omit => None,
                };
                meta.has_refresh_token = imp.refresh_token.is_some();
                meta.token_endpoint = d.server.token_endpoint.clone();
                meta.revocation_endpoint = d.server.revocation_endpoint.clone();
                let auth = client.token_endpoint_auth_method.clone().unwrap_or_else(|| {
                    if client.client_secret.is_some() {
                        "client_secret_basic"
                    } else {
                        "none"
                    }
                    .into()
                });
                meta.token_endpoint_auth_method = Some(auth.clone());
                self.keep_registration(&d.issuer, &client, &auth).await?;
                let key = EntryKey {
                    resource: self.resource_key.clone(),
                    issuer: d.issuer.clone(),
                    client_id: client.client_id.clone(),
                    profile: self.settings.profile.clone(),
                    tenant: self.settings.tenant().map(str::to_owned),
                };
                let kept = Kept::OAuth {
                    issuer: d.issuer.clone(),
                    refreshable: meta.has_refresh_token && meta.token_endpoint.is_some(),
                };
                let secrets = Secrets {
                    access_token: Some(imp.access_token),
                    refresh_token: imp.refresh_token,
                    id_token: imp.id_token,
                };
                (key, secrets, kept)
            }
            _ => {
                let key = self.static_key();
                let secrets = Secrets {
                    access_token: Some(imp.access_token),
                    ..Secrets::default()
                };
                (key, secrets, Kept::TokenOnly)
            }
        };
        self.save(key.clone(), meta.clone(), secrets).await?;
        let mut e = Entry::ok("sign_in", &self.resource_key);
        e.grant = Some(format!("imported from {}", imp.from));
        self.audit(e, &key, &meta);
        Ok((self.store.backend(), kept))
    }

    /// Keeps the registration, so that refreshing finds the client's secret. An existing
    /// registration of mcp-valet's own with this issuer is kept unless this client has a secret
    /// (it would not be found otherwise; mcp-valet registers anew at its next browser sign-in).
    async fn keep_registration(&self, issuer: &str, client: &ImportedClient, auth: &str) -> Result<(), AuthError> {
        let profile = self.settings.profile.clone();
        let (i, p) = (issuer.to_owned(), profile.clone());
        let existing = self
            .store
            .blocking(move |s| s.registration(&i, p.as_deref()))
            .await
            .map_err(AuthError::store)?;
        if existing.is_some() && client.client_secret.is_none() {
            return Ok(());
        }
        let reg = Registration {
            issuer: issuer.to_owned(),
            client_id: client.client_id.clone(),
            kind: "dynamic".into(),
            redirect_uris: client.redirect_uris.clone(),
            token_endpoint_auth_method: Some(auth.to_owned()),
            client_secret: client.client_secret.clone(),
            created_at: client.created_at.unwrap_or_else(unix_now),
            extra: serde_json::Map::new(),
        };
        self.store
            .blocking(move |s| s.save_registration(&reg, profile.as_deref()))
            .await
            .map_err(AuthError::store)
    }
}
