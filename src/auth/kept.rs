//! Tokens the user hands in or gives back: a key kept with `login --with-token`, and the
//! revocation of a stored login's tokens (RFC 7009) at `logout` or when a kept key replaces it.

use super::error::AuthError;
use super::token;
use super::tokens::{OAuthClient, STATIC_ISSUER};
use crate::audit::Entry;
use crate::store::{EntryKey, EntryMeta, Secret, Secrets};
use crate::util::unix_now;

/// What the server revoked of a login's tokens, and what it did not (with why).
#[derive(Debug, Default)]
pub struct Revocation {
    pub revoked: Vec<&'static str>,
    pub failed: Vec<(&'static str, String)>,
}

/// In a kept token's `EntryMeta::extra`: when the server accepted it (seconds since the Unix
/// epoch); absent when it was kept with `--no-check`.
pub const CHECKED_AT: &str = "checked_at";

impl OAuthClient {
    /// Where a token without a sign-in behind it (given by the user, or imported without its
    /// client) is kept for this server, profile and tenant.
    pub(super) fn static_key(&self) -> EntryKey {
        EntryKey {
            resource: self.resource_key.clone(),
            issuer: STATIC_ISSUER.into(),
            client_id: String::new(),
            profile: self.settings.profile.clone(),
            tenant: self.settings.tenant().map(str::to_owned),
        }
    }

    /// Keeps a token given by the user (`login --with-token`) for this server, noting whether
    /// the server accepted it (`checked`); returns where, and how many earlier logins it replaced.
    pub async fn keep_static_token(
        &self,
        token: Secret,
        checked: bool,
    ) -> Result<(crate::store::Backend, usize), AuthError> {
        let key = self.static_key();
        let secrets = Secrets {
            access_token: Some(token),
            ..Secrets::default()
        };
        let _lock = self.lock().await?;
        // The kept token replaces any sign-in for this server (so that a later refresh of an
        // older login cannot make that login the newest again); like `logout`, the replaced
        // tokens are revoked where the server offers it.
        let (resource, profile) = (self.resource_key.clone(), self.settings.profile.clone());
        let tenant = self.settings.tenant().map(str::to_owned);
        let replaced = self
            .store
            .blocking(move |store| {
                let mut v = Vec::new();
                for (old, _) in store.find(&resource, profile.as_deref(), tenant.as_deref())? {
                    if let Some((meta, secrets)) = store.load(&old)? {
                        v.push((old, meta, secrets));
                    }
                }
                Ok(v)
            })
            .await
            .map_err(AuthError::store)?;
        for (old, meta, secrets) in &replaced {
            match self.revoke(old, meta, secrets).await {
                Err(e) => tracing::warn!("revoking the replaced sign-in failed ({e}); its tokens expire on their own"),
                Ok(Some(r)) if !r.failed.is_empty() => tracing::warn!(
                    "revoking the replaced sign-in failed ({}); its tokens expire on their own",
                    r.failed[0].1
                ),
                Ok(_) => {}
            }
            let old = old.clone();
            self.store
                .blocking(move |s| s.delete(&old))
                .await
                .map_err(AuthError::store)?;
        }
        let mut meta = EntryMeta::default();
        if checked {
            meta.extra.insert(CHECKED_AT.into(), unix_now().into());
        }
        self.save(key.clone(), meta.clone(), secrets).await?;
        let mut e = Entry::ok("sign_in", &self.resource_key);
        e.grant = Some("kept_token".into());
        self.audit(e, &key, &meta);
        Ok((self.store.backend(), replaced.len()))
    }

    /// Asks the server to revoke a stored login's tokens (RFC 7009). `None` when the server
    /// offers no revocation.
    pub async fn revoke(
        &self,
        key: &EntryKey,
        meta: &EntryMeta,
        secrets: &Secrets,
    ) -> Result<Option<Revocation>, AuthError> {
        let Some(endpoint) = meta.revocation_endpoint.clone() else {
            return Ok(None);
        };
        let client = self.client_for(key, meta).await?;
        let mut outcome = Revocation::default();
        for (tok, hint) in [
            (&secrets.refresh_token, "refresh token"),
            (&secrets.access_token, "access token"),
        ] {
            if let Some(t) = tok {
                let wire = if hint == "refresh token" {
                    "refresh_token"
                } else {
                    "access_token"
                };
                match token::revoke(&self.http, &endpoint, &client, t, wire).await {
                    Ok(()) => {
                        let mut e = Entry::ok("revocation", &key.resource);
                        e.grant = Some(wire.into());
                        self.audit(e, key, meta);
                        outcome.revoked.push(hint);
                    }
                    Err(err) => {
                        let mut e = Entry::failed("revocation", &key.resource, &err.message);
                        e.grant = Some(wire.into());
                        self.audit(e, key, meta);
                        outcome.failed.push((hint, err.message));
                    }
                }
            }
        }
        Ok(Some(outcome))
    }
}
