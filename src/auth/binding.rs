//! A pre-registered client is bound to one authorization server: its secret, and the tokens it
//! gets, go to that issuer only. The issuer is the one pinned with `--issuer`, else the one
//! recorded at the client's first sign-in for this server, profile and tenant (for a login made
//! before issuers were recorded: the issuer of the stored login of that client). When the server
//! names another authorization server, mcp-valet says so and does not sign in unattended; an
//! interactive `login` asks, and `login --issuer NEW` accepts the new one.
//!
//! A refresh token goes only to the token endpoint stored with its login, which came from the
//! metadata of the issuer that issued it; a login of the pre-registered client made at another
//! issuer is never refreshed or revoked with the client's secret.

use super::discovery::Discovery;
use super::error::AuthError;
use super::prompt::Interaction;
use super::token::{Client, ClientAuth};
use super::tokens::{OAuthClient, STATIC_ISSUER};
use crate::store::{EntryKey, EntryMeta, IssuerBinding};

/// Where the bound issuer comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Source {
    /// `--issuer`.
    Pinned,
    /// The client's first sign-in (or its stored login).
    Recorded,
}

/// Issuer identifiers compare as strings (RFC 8414 §3.3), a trailing slash aside.
pub fn same_issuer(a: &str, b: &str) -> bool {
    a.trim_end_matches('/') == b.trim_end_matches('/')
}

/// An issuer as a message shows it: no query, no control characters, bounded.
fn shown(issuer: &str) -> String {
    crate::util::for_terminal(&crate::http::redact_url_text(issuer), 200)
}

impl OAuthClient {
    /// A pre-registered client that discovery finds the authorization server for (not
    /// `--token-endpoint`, which names the server itself).
    fn pre_registered(&self) -> Option<&str> {
        self.settings
            .client_id
            .as_deref()
            .filter(|_| self.settings.token_endpoint.is_none())
    }

    /// The issuer this server's pre-registered client is bound to, and whence; `None` before
    /// its first sign-in.
    async fn bound_issuer(&self) -> Result<Option<(String, Source)>, AuthError> {
        if let Some(i) = &self.settings.issuer {
            return Ok(Some((i.clone(), Source::Pinned)));
        }
        let Some(client_id) = self.settings.client_id.clone() else {
            return Ok(None);
        };
        let (resource, profile) = (self.resource_key.clone(), self.settings.profile.clone());
        let tenant = self.settings.tenant().map(str::to_owned);
        let found = self
            .store
            .blocking(move |s| {
                if let Some(b) = s.issuer_binding(&resource, profile.as_deref(), tenant.as_deref())? {
                    return Ok(Some(b.issuer));
                }
                // A login made before issuers were recorded: the issuer it was made at.
                Ok(s.find(&resource, profile.as_deref(), tenant.as_deref())?
                    .into_iter()
                    .find(|(k, _)| k.client_id == client_id && k.issuer != STATIC_ISSUER)
                    .map(|(k, _)| k.issuer))
            })
            .await
            .map_err(AuthError::store)?;
        Ok(found.map(|i| (i, Source::Recorded)))
    }

    /// Before a sign-in at the authorization server `d` found: refuses one other than the
    /// issuer pinned with `--issuer` or bound to the pre-registered client. On a terminal,
    /// `login` asks whether to move the client to the new issuer.
    pub(super) async fn check_issuer(&self, d: &Discovery) -> Result<(), AuthError> {
        if self.settings.issuer.is_none() && self.pre_registered().is_none() {
            return Ok(()); // dynamic registrations are made per issuer: nothing to carry over
        }
        let Some((bound, source)) = self.bound_issuer().await? else {
            return Ok(()); // the first sign-in: recorded once it succeeds
        };
        if same_issuer(&bound, &d.issuer) {
            return Ok(());
        }
        let (old, new) = (shown(&bound), shown(&d.issuer));
        let server = crate::http::redact_url_text(&self.http.url_text);
        if source == Source::Pinned {
            let msg = format!(
                "{server} names the authorization server {new}, not {old} as pinned with --issuer; \
                 refusing to sign in there. If the change is expected, pass `--issuer {new}` instead"
            );
            tracing::warn!("{msg}");
            return Err(AuthError::new(msg));
        }
        let id = crate::util::for_terminal(self.pre_registered().unwrap_or_default(), 200);
        tracing::warn!(
            old_issuer = %old,
            new_issuer = %new,
            "the authorization server of {server} changed; the pre-registered client `{id}` is bound to {old}"
        );
        if let Interaction::Allowed(prompt) = &self.interaction
            && prompt.confirm(&format!(
                "The authorization server of {server} changed from {old} to {new}. The pre-registered client `{id}` \
                 is bound to {old}; send it{} to {new} instead?",
                if self.settings.client_secret.is_some() {
                    " and its secret"
                } else {
                    ""
                }
            ))
        {
            return Ok(());
        }
        Err(AuthError::new(format!(
            "the authorization server of {server} changed from {old} to {new}, but the pre-registered client `{id}` \
             is bound to {old}. mcp-valet sends neither the client's secret nor its tokens to another issuer, so it \
             did not sign in. If the change is expected, accept the new issuer with `{} --client-id {id}{} --issuer {new}`",
            self.login_hint(),
            if self.settings.client_credentials {
                " --client-credentials"
            } else {
                ""
            }
        )))
    }

    /// After a successful sign-in at `issuer`: binds the pre-registered client to it (pinned
    /// when `--issuer` named it).
    pub(super) async fn record_issuer(&self, issuer: &str) {
        let Some(client_id) = self.pre_registered().map(str::to_owned) else {
            return;
        };
        let pinned = self.settings.issuer.is_some();
        let binding = IssuerBinding {
            resource: self.resource_key.clone(),
            profile: self.settings.profile.clone(),
            tenant: self.settings.tenant().map(str::to_owned),
            issuer: issuer.to_owned(),
            client_id,
            pinned,
            bound_at: 0,
            extra: Default::default(),
        };
        let result = self
            .store
            .blocking(move |s| {
                let old = s.issuer_binding(&binding.resource, binding.profile.as_deref(), binding.tenant.as_deref())?;
                if old.is_some_and(|o| {
                    same_issuer(&o.issuer, &binding.issuer) && o.client_id == binding.client_id && o.pinned >= pinned
                }) {
                    return Ok(());
                }
                s.save_issuer_binding(&binding)
            })
            .await;
        if let Err(e) = result {
            tracing::warn!("could not record the issuer of the pre-registered client: {e}");
        }
    }

    /// The client credentials for a stored login's refresh or revocation. The pre-registered
    /// client's secret goes only to the issuer it is bound to.
    pub(super) async fn client_for(&self, key: &EntryKey, meta: &EntryMeta) -> Result<Client, AuthError> {
        let auth = meta
            .token_endpoint_auth_method
            .as_deref()
            .map(ClientAuth::parse)
            .unwrap_or(ClientAuth::None);
        let mut secret = None;
        if self.settings.client_id.as_deref() == Some(key.client_id.as_str()) {
            if self.settings.client_secret.is_some()
                && let Some((bound, _)) = self.bound_issuer().await?
                && !same_issuer(&bound, &key.issuer)
            {
                return Err(AuthError::login_required(format!(
                    "the stored sign-in was made at {} with the pre-registered client `{}`, which is bound to {}; \
                     mcp-valet does not send the client's secret there",
                    shown(&key.issuer),
                    crate::util::for_terminal(&key.client_id, 200),
                    shown(&bound)
                )));
            }
            secret = self.settings.client_secret.clone();
        } else if auth != ClientAuth::None {
            let (issuer, profile) = (key.issuer.clone(), key.profile.clone());
            let reg = self
                .store
                .blocking(move |s| s.registration(&issuer, profile.as_deref()))
                .await
                .map_err(AuthError::store)?;
            secret = reg
                .filter(|r| r.client_id == key.client_id)
                .and_then(|r| r.client_secret);
        }
        Ok(Client {
            id: key.client_id.clone(),
            secret,
            auth,
        })
    }
}
