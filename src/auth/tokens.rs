//! The token lifecycle for one server: the token in use (read from the store once), refresh
//! shortly before expiry or after a 401, sign-in when there is no usable token, step-up on
//! `insufficient_scope` — each single-flight in the process and, across processes, under the
//! store's lock, re-reading the store after taking it because another process may have done
//! the work already.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use reqwest::header::HeaderValue;
use url::Url;

use super::challenge::Challenge;
use super::discovery::{self, Discovery};
use super::prompt::{EnterCode, OpenUrl, Prompt};
use super::token::{self, Client, ClientAuth, OAuthError, Tokens};
use super::{AuthError, ResourceChoice, Settings, browser, redirect, registration};
use crate::http::HttpConfig;
use crate::store::{EntryKey, EntryMeta, Lock, Secret, Secrets, Store};
use crate::util::unix_now;

/// The issuer recorded for a token the user gave (`login --with-token`): no authorization
/// server stands behind it.
pub const STATIC_ISSUER: &str = "";

/// Refresh this long before the access token expires.
const EXPIRY_MARGIN: i64 = 60;
/// Sign-ins in a row without a request going through, before giving up (a server that keeps
/// refusing every token would otherwise open the browser forever).
const MAX_AUTHORIZATIONS: u32 = 3;
/// After a sign-in failed (declined, no browser, timed out), requests fail at once with that
/// error for this long instead of opening one browser tab each.
const FAILURE_COOLDOWN: std::time::Duration = std::time::Duration::from_secs(60);

/// Whether this client may ask the user to sign in (a browser or a device code), and who
/// shows what the user has to do.
#[derive(Clone)]
pub enum Interaction {
    /// The bridge and `login`: sign in when the server asks for it.
    Allowed(Arc<dyn Prompt>),
    /// `token` and `logout`: use, refresh or revoke what is stored, never ask the user.
    Never,
}

/// Whether a sign-in first looks for one another mcp-valet made meanwhile.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Reuse {
    /// A 401: another process may have signed in already; use that sign-in if so.
    CheckStoreFirst,
    /// `login` and step-up: the stored sign-in is the one that is not good enough.
    Fresh,
}

pub struct OAuthClient {
    http: HttpConfig,
    settings: Settings,
    store: Arc<Store>,
    /// The server URL as stored: the key of its logins.
    resource_key: String,
    /// Whether a browser (or device) sign-in may start.
    interaction: Interaction,
    state: Mutex<State>,
    flight: tokio::sync::Mutex<()>,
    authorizations: AtomicU32,
    last_failure: Mutex<Option<(std::time::Instant, AuthError)>>,
}

#[derive(Default)]
struct State {
    loaded: bool,
    held: Option<Held>,
    /// Changes whenever the token in use changes.
    generation: u64,
    /// Scopes requested so far (a step-up asks for these and the new ones).
    requested: Vec<String>,
}

#[derive(Clone)]
struct Held {
    key: EntryKey,
    meta: EntryMeta,
    secrets: Secrets,
    header: HeaderValue,
}

impl Held {
    /// Whether the login has a refresh token. The held secrets may be the access token alone
    /// (`Store::load_access`); the stored meta says whether there is more.
    fn refreshable(&self) -> bool {
        self.secrets.refresh_token.is_some() || self.meta.has_refresh_token
    }

    /// About to expire: within a minute, or within a fifth of its lifetime when it is short.
    fn expiring(&self) -> bool {
        self.meta.expires_at.is_some_and(|t| {
            let lifetime = t - self.meta.updated_at;
            let margin = if lifetime > 0 {
                (lifetime / 5).clamp(1, EXPIRY_MARGIN)
            } else {
                EXPIRY_MARGIN
            };
            unix_now() + margin >= t
        })
    }
}

/// Who `mcp-valet login` signed in.
pub struct LoginOutcome {
    pub account: Option<String>,
    pub issuer: Option<String>,
    pub scopes: Vec<String>,
    pub backend: Option<crate::store::Backend>,
}

/// The store key of a server: scheme and host lower-case, no fragment.
pub fn resource_key(url: &Url) -> String {
    let mut u = url.clone();
    u.set_fragment(None);
    u.to_string()
}

impl OAuthClient {
    pub fn new(http: HttpConfig, settings: Settings, store: Arc<Store>, interaction: Interaction) -> OAuthClient {
        let resource_key = resource_key(&http.url);
        OAuthClient {
            http,
            settings,
            store,
            resource_key,
            interaction,
            state: Mutex::new(State::default()),
            flight: tokio::sync::Mutex::new(()),
            authorizations: AtomicU32::new(0),
            last_failure: Mutex::new(None),
        }
    }

    /// The MCP server's host, as sign-in messages name it.
    fn host(&self) -> String {
        self.http.url.host_str().unwrap_or("the server").to_owned()
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The `Authorization` value to send now, and its generation; refreshes a token that is
    /// about to expire. `None`: no token (the server will say whether it needs one).
    pub async fn header(&self) -> Result<Option<(HeaderValue, u64)>, AuthError> {
        {
            let st = self.state();
            if st.loaded {
                match &st.held {
                    None => return Ok(None),
                    Some(h) if !h.expiring() || !h.refreshable() => {
                        return Ok(Some((h.header.clone(), st.generation)));
                    }
                    Some(_) => {}
                }
            }
        }
        let _one = self.flight.lock().await;
        if !self.state().loaded {
            let held = self.read_store().await?;
            let mut st = self.state();
            if let Some(h) = &held {
                st.requested = h.meta.scopes.clone();
            }
            st.held = held;
            st.loaded = true;
            st.generation += 1;
        }
        let expiring = self
            .state()
            .held
            .as_ref()
            .is_some_and(|h| h.expiring() && h.refreshable());
        if expiring {
            match self.refresh().await {
                Ok(()) => {}
                Err(e) if e.login_required => tracing::info!("the stored sign-in has expired: {e}"),
                Err(e) => tracing::warn!("refreshing the access token failed: {e}"),
            }
        }
        let st = self.state();
        Ok(st.held.as_ref().map(|h| (h.header.clone(), st.generation)))
    }

    /// A 401: refresh once if we sent a token that can be refreshed, else sign in.
    pub async fn unauthorized(&self, challenge: &Challenge, sent: Option<u64>) -> Result<(), AuthError> {
        let _one = self.flight.lock().await;
        let (changed, refreshable, kept) = {
            let st = self.state();
            let changed = match sent {
                Some(g) => g != st.generation,
                None => st.held.is_some(),
            };
            let refreshable = sent.is_some() && st.held.as_ref().is_some_and(Held::refreshable);
            let kept = sent.is_some() && st.held.as_ref().is_some_and(|h| h.key.issuer == STATIC_ISSUER);
            (changed, refreshable, kept)
        };
        if changed {
            return Ok(()); // the token changed while this request was out: just send again
        }
        if kept {
            return Err(AuthError::login_required(
                "the server rejected the token kept with `login --with-token`; keep a new one the same way",
            ));
        }
        if refreshable {
            match self.refresh().await {
                Ok(()) => return Ok(()),
                Err(e) if e.login_required => {}
                Err(e) => tracing::warn!("refreshing after a 401 failed: {e}"),
            }
        }
        self.authorize(challenge, None, Reuse::CheckStoreFirst).await
    }

    /// A 403 with `insufficient_scope`: sign in again asking for what we had and what the
    /// server now asks for.
    pub async fn insufficient_scope(&self, challenge: &Challenge, sent: Option<u64>) -> Result<(), AuthError> {
        let _one = self.flight.lock().await;
        let scopes = {
            let st = self.state();
            if sent.is_some_and(|g| g != st.generation) {
                return Ok(());
            }
            let mut scopes = st.requested.clone();
            for s in challenge.scopes() {
                if !scopes.contains(&s) {
                    scopes.push(s);
                }
            }
            scopes
        };
        tracing::info!(scopes = %scopes.join(" "), "the server needs more scopes; signing in again");
        self.authorize(challenge, Some(scopes), Reuse::Fresh).await
    }

    pub fn succeeded(&self) {
        if self.authorizations.load(Ordering::Relaxed) != 0 {
            self.authorizations.store(0, Ordering::Relaxed);
        }
    }

    /// `mcp-valet login`, for a server that asked for a sign-in with `challenge`: signs in
    /// whatever is stored.
    pub async fn login(&self, challenge: &Challenge) -> Result<LoginOutcome, AuthError> {
        let _one = self.flight.lock().await;
        self.authorize(challenge, None, Reuse::Fresh).await?;
        let st = self.state();
        let h = st.held.as_ref().expect("a successful sign-in holds a token");
        Ok(LoginOutcome {
            account: h.meta.account.clone(),
            issuer: Some(h.key.issuer.clone()),
            scopes: h.meta.scopes.clone(),
            backend: h.meta.backend,
        })
    }

    async fn lock(&self) -> Result<Lock, AuthError> {
        let scope = format!(
            "login|{}|{}",
            self.resource_key,
            self.settings.profile.as_deref().unwrap_or("")
        );
        let timeout = self.settings.auth_timeout;
        let lock = self
            .store
            .blocking(move |s| s.lock(&scope, timeout))
            .await
            .map_err(AuthError::store)?;
        lock.ok_or_else(|| {
            AuthError::new(format!(
                "another mcp-valet has been signing in to this server for {} and has not finished",
                crate::util::human_duration(timeout)
            ))
        })
    }

    /// The newest stored login for this server and profile, with its access token (the other
    /// secrets only if the store had to be read for it: `refresh` reads them again).
    async fn read_store(&self) -> Result<Option<Held>, AuthError> {
        let resource = self.resource_key.clone();
        let profile = self.settings.profile.clone();
        self.store
            .blocking(move |store| {
                for (key, _) in store.find(&resource, profile.as_deref())? {
                    if let Some((meta, secrets)) = store.load_access(&key)?
                        && let Some(h) = held(key, meta, secrets)
                    {
                        return Ok(Some(h));
                    }
                }
                Ok(None)
            })
            .await
            .map_err(AuthError::store)
    }

    fn adopt(&self, h: Held) {
        let mut st = self.state();
        st.requested = h.meta.scopes.clone();
        st.held = Some(h);
        st.loaded = true;
        st.generation += 1;
    }

    /// Refreshes the token in use (caller holds `flight`). Rotated refresh tokens are saved
    /// before anything uses them; `invalid_grant` drops the login.
    async fn refresh(&self) -> Result<(), AuthError> {
        let Some(mine) = self.state().held.clone() else {
            return Err(AuthError::login_required("not signed in"));
        };
        let _lock = self.lock().await?;
        // Another process may have refreshed (and rotated the refresh token) already.
        let key = mine.key.clone();
        let current = self
            .store
            .blocking(move |s| s.load(&key))
            .await
            .map_err(AuthError::store)?;
        let (meta, secrets) = match current {
            Some((meta, secrets)) => (meta, secrets),
            None => {
                self.forget();
                return Err(AuthError::login_required("the login was removed"));
            }
        };
        if secrets.access_token != mine.secrets.access_token
            && let Some(h) = held(mine.key.clone(), meta.clone(), secrets.clone())
            && !h.expiring()
        {
            tracing::debug!("another process refreshed the token already");
            self.adopt(h);
            return Ok(());
        }
        let Some(refresh_token) = secrets.refresh_token.clone() else {
            return Err(AuthError::login_required(
                "the sign-in has expired and cannot be refreshed",
            ));
        };
        let Some(endpoint) = meta.token_endpoint.clone() else {
            return Err(AuthError::login_required(
                "the stored sign-in does not say where to refresh it",
            ));
        };
        let client = self.client_for(&mine.key, &meta).await?;
        let resource = meta.resource_indicator.clone();
        let mut form = vec![
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token.expose()),
        ];
        if let Some(r) = &resource {
            form.push(("resource", r));
        }
        let tokens = match token::request(&self.http, &endpoint, &client, form, "refreshing the access token").await {
            Ok(t) => t,
            Err(e) if e.login_required => {
                // The refresh token is dead: drop the login, keep the registration.
                let key = mine.key.clone();
                let _ = self.store.blocking(move |s| s.delete(&key)).await;
                self.forget();
                return Err(e);
            }
            Err(e) => return Err(e),
        };
        let mut meta = meta;
        let secrets = Secrets {
            access_token: Some(tokens.access_token.clone()),
            refresh_token: tokens.refresh_token.clone().or(Some(refresh_token)),
            id_token: tokens.id_token.clone().or(secrets.id_token),
        };
        update_meta(&mut meta, &tokens);
        self.save(mine.key.clone(), meta, secrets).await?;
        tracing::debug!("access token refreshed");
        Ok(())
    }

    fn forget(&self) {
        let mut st = self.state();
        st.held = None;
        st.generation += 1;
    }

    /// The client credentials for a stored login's refresh or revocation.
    async fn client_for(&self, key: &EntryKey, meta: &EntryMeta) -> Result<Client, AuthError> {
        let auth = meta
            .extra
            .get("token_endpoint_auth_method")
            .and_then(|v| v.as_str())
            .map(ClientAuth::parse)
            .unwrap_or(ClientAuth::None);
        let mut secret = None;
        if self.settings.client_id.as_deref() == Some(key.client_id.as_str()) {
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

    /// Keeps a token given by the user (`login --with-token`) for this server; returns where,
    /// and how many earlier logins it replaced.
    pub async fn keep_static_token(&self, token: Secret) -> Result<(crate::store::Backend, usize), AuthError> {
        let key = EntryKey {
            resource: self.resource_key.clone(),
            issuer: STATIC_ISSUER.into(),
            client_id: String::new(),
            profile: self.settings.profile.clone(),
        };
        let secrets = Secrets {
            access_token: Some(token),
            ..Secrets::default()
        };
        let _lock = self.lock().await?;
        // The kept token replaces any sign-in for this server (so that a later refresh of an
        // older login cannot make that login the newest again); like `logout`, the replaced
        // tokens are revoked where the server offers it.
        let (resource, profile) = (self.resource_key.clone(), self.settings.profile.clone());
        let replaced = self
            .store
            .blocking(move |store| {
                let mut v = Vec::new();
                for (old, _) in store.find(&resource, profile.as_deref())? {
                    if let Some((meta, secrets)) = store.load(&old)? {
                        v.push((old, meta, secrets));
                    }
                }
                Ok(v)
            })
            .await
            .map_err(AuthError::store)?;
        for (old, meta, secrets) in &replaced {
            if let Err(e) = self.revoke(old, meta, secrets).await {
                tracing::warn!("revoking the replaced sign-in failed ({e}); its tokens expire on their own");
            }
            let old = old.clone();
            self.store
                .blocking(move |s| s.delete(&old))
                .await
                .map_err(AuthError::store)?;
        }
        self.save(key, EntryMeta::default(), secrets).await?;
        Ok((self.store.backend(), replaced.len()))
    }

    /// A usable access token for scripts (`mcp-valet token`): refreshed when it is about to
    /// expire; never an interactive sign-in.
    pub async fn access_token(&self) -> Result<Secret, AuthError> {
        self.header().await?;
        let st = self.state();
        match &st.held {
            Some(h) if !h.expiring() || h.meta.expires_at.is_some_and(|t| unix_now() < t) => Ok(h
                .secrets
                .access_token
                .clone()
                .expect("a held login has an access token")),
            Some(_) => Err(AuthError::login_required(
                "the access token has expired and could not be refreshed",
            )),
            None => Err(AuthError::login_required(format!(
                "not signed in to {}",
                self.http.url.host_str().unwrap_or("the server")
            ))),
        }
    }

    /// What `login` would have to say to the user about a login-required error.
    pub fn login_hint(&self) -> String {
        format!(
            "mcp-valet login {}{}",
            self.http.url_text,
            self.settings
                .profile
                .as_ref()
                .map(|p| format!(" --profile {p}"))
                .unwrap_or_default()
        )
    }

    /// Revokes (when the server offers it) and deletes a stored login.
    pub async fn revoke(&self, key: &EntryKey, meta: &EntryMeta, secrets: &Secrets) -> Result<bool, AuthError> {
        let Some(endpoint) = meta.revocation_endpoint.clone() else {
            return Ok(false);
        };
        let client = self.client_for(key, meta).await?;
        let mut revoked = false;
        for (tok, hint) in [
            (&secrets.refresh_token, "refresh_token"),
            (&secrets.access_token, "access_token"),
        ] {
            if let Some(t) = tok {
                match token::revoke(&self.http, &endpoint, &client, t, hint).await {
                    Ok(()) => revoked = true,
                    Err(e) => tracing::warn!("revoking the {hint} failed: {e}"),
                }
            }
        }
        Ok(revoked)
    }

    /// Signs in (caller holds `flight`): under the cross-process lock, after checking whether
    /// another process signed in meanwhile (`Reuse::CheckStoreFirst`).
    async fn authorize(
        &self,
        challenge: &Challenge,
        scopes: Option<Vec<String>>,
        reuse: Reuse,
    ) -> Result<(), AuthError> {
        if reuse == Reuse::CheckStoreFirst {
            let failed = self.last_failure.lock().unwrap_or_else(|e| e.into_inner()).clone();
            if let Some((at, e)) = failed
                && at.elapsed() < FAILURE_COOLDOWN
            {
                return Err(e);
            }
        }
        if self.authorizations.load(Ordering::Relaxed) >= MAX_AUTHORIZATIONS {
            return Err(AuthError::new(format!(
                "the server kept refusing access after {MAX_AUTHORIZATIONS} successful sign-ins{}",
                challenge
                    .scope
                    .as_ref()
                    .map(|s| format!(" (it asks for the scopes `{s}`)"))
                    .unwrap_or_default()
            )));
        }
        let result = self.authorize_now(challenge, scopes, reuse).await;
        match &result {
            Ok(()) => {
                self.authorizations.fetch_add(1, Ordering::Relaxed);
            }
            // Failing for want of an interactive sign-in is not a failed attempt.
            Err(e) if !e.login_required => {
                *self.last_failure.lock().unwrap_or_else(|e| e.into_inner()) =
                    Some((std::time::Instant::now(), e.clone()));
            }
            Err(_) => {}
        }
        result
    }

    async fn authorize_now(
        &self,
        challenge: &Challenge,
        scopes: Option<Vec<String>>,
        reuse: Reuse,
    ) -> Result<(), AuthError> {
        let _lock = self.lock().await?;
        if reuse == Reuse::CheckStoreFirst {
            let mine = self.state().held.as_ref().map(|h| h.secrets.access_token.clone());
            if let Some(h) = self.read_store().await?
                && Some(h.secrets.access_token.clone()) != mine
                && !h.expiring()
            {
                tracing::info!("signed in by another mcp-valet meanwhile; using that sign-in");
                self.adopt(h);
                return Ok(());
            }
        }
        let d = discovery::discover(&self.http, challenge).await?;
        let scopes = self.choose_scopes(scopes, challenge, &d);
        self.state().requested = scopes.clone();
        let resource = match &self.settings.resource {
            ResourceChoice::Published => Some(d.resource.clone()),
            ResourceChoice::Override(r) => Some(r.clone()),
            ResourceChoice::Omit => None,
        };
        let (tokens, client, port) = if self.settings.client_credentials {
            let client = registration::client(&self.http, &self.settings, &self.store, &d, "").await?;
            (
                self.client_credentials(&d, &client, &scopes, resource.as_deref())
                    .await?,
                client,
                None,
            )
        } else {
            let Interaction::Allowed(prompt) = &self.interaction else {
                return Err(AuthError::login_required(format!(
                    "{} requires signing in",
                    self.http.url.host_str().unwrap_or("the server")
                )));
            };
            if self.settings.device {
                let redirect = redirect::uri(&self.settings, &d.issuer, 0);
                let client = registration::client(&self.http, &self.settings, &self.store, &d, &redirect).await?;
                (
                    self.device(prompt.as_ref(), &d, &client, &scopes, resource.as_deref())
                        .await?,
                    client,
                    None,
                )
            } else {
                let (t, c, p) = self.browser(prompt.as_ref(), &d, &scopes, resource.as_deref()).await?;
                (t, c, Some(p))
            }
        };
        let key = EntryKey {
            resource: self.resource_key.clone(),
            issuer: d.issuer.clone(),
            client_id: client.id.clone(),
            profile: self.settings.profile.clone(),
        };
        let mut meta = EntryMeta {
            resource_indicator: resource,
            scopes: scopes.clone(),
            token_endpoint: d.server.token_endpoint.clone(),
            revocation_endpoint: d.server.revocation_endpoint.clone(),
            callback_port: port,
            ..EntryMeta::default()
        };
        meta.extra
            .insert("token_endpoint_auth_method".into(), client.auth.as_str().into());
        update_meta(&mut meta, &tokens);
        let secrets = Secrets {
            access_token: Some(tokens.access_token),
            refresh_token: tokens.refresh_token,
            id_token: tokens.id_token,
        };
        self.save(key, meta, secrets).await?;
        tracing::info!("signed in to {}", self.http.url.host_str().unwrap_or("the server"));
        Ok(())
    }

    async fn save(&self, key: EntryKey, mut meta: EntryMeta, secrets: Secrets) -> Result<(), AuthError> {
        meta.updated_at = unix_now();
        meta.backend = Some(self.store.backend());
        let (k, m, s) = (key.clone(), meta.clone(), secrets.clone());
        self.store
            .blocking(move |store| store.save(&k, &m, &s))
            .await
            .map_err(AuthError::store)?;
        let h = held(key, meta, secrets).ok_or_else(|| AuthError::new("the server issued an unusable access token"))?;
        self.adopt(h);
        Ok(())
    }

    /// `--scope`, else the step-up union, else the challenge's scope, else everything the
    /// resource publishes, else nothing; plus `offline_access` when the server lists it.
    fn choose_scopes(&self, step_up: Option<Vec<String>>, challenge: &Challenge, d: &Discovery) -> Vec<String> {
        let mut scopes = if let Some(s) = &self.settings.scopes {
            s.clone()
        } else if let Some(s) = step_up.filter(|s| !s.is_empty()) {
            s
        } else if !challenge.scopes().is_empty() {
            challenge.scopes()
        } else {
            d.resource_scopes.clone().unwrap_or_default()
        };
        let offline = "offline_access".to_owned();
        if !self.settings.client_credentials
            && self.settings.scopes.is_none()
            && d.server.scopes_supported.as_ref().is_some_and(|s| s.contains(&offline))
            && !scopes.contains(&offline)
        {
            scopes.push(offline);
        }
        scopes
    }

    async fn browser(
        &self,
        prompt: &dyn Prompt,
        d: &Discovery,
        scopes: &[String],
        resource: Option<&str>,
    ) -> Result<(Tokens, Client, u16), AuthError> {
        let m = &d.server;
        let advertised = m
            .code_challenge_methods_supported
            .as_ref()
            .is_some_and(|v| v.iter().any(|x| x == "S256"));
        if d.has_metadata && !advertised && !self.settings.assume_pkce && !discovery::is_entra(&d.issuer) {
            return Err(AuthError::new(format!(
                "the authorization server {} does not say it supports PKCE (no S256 in code_challenge_methods_supported); \
                 the MCP specification says not to sign in then. If you know it supports PKCE S256, pass --assume-pkce",
                d.issuer
            )));
        }
        let endpoint = m
            .authorization_endpoint
            .as_deref()
            .ok_or_else(|| AuthError::new(format!("{} has no authorization endpoint", d.issuer)))?;
        let mut auth_url =
            Url::parse(endpoint).map_err(|_| AuthError::new("the authorization endpoint is not a URL"))?;
        discovery::check_endpoint(&self.http, &auth_url)?;
        let path = redirect::path(&self.settings, &d.issuer);
        let ports = redirect::ports(&self.settings, &self.http.url_text);
        let (listener, port) = browser::Listener::bind(&ports, &path).await?;
        let redirect_uri = redirect::uri(&self.settings, &d.issuer, port);
        let client = registration::client(&self.http, &self.settings, &self.store, d, &redirect_uri).await?;
        let (verifier, challenge) = token::pkce();
        let state = token::random(16);
        {
            let mut q = auth_url.query_pairs_mut();
            q.append_pair("response_type", "code")
                .append_pair("client_id", &client.id)
                .append_pair("redirect_uri", &redirect_uri)
                .append_pair("state", &state)
                .append_pair("code_challenge", &challenge)
                .append_pair("code_challenge_method", "S256");
            if !scopes.is_empty() {
                q.append_pair("scope", &scopes.join(" "));
            }
            if let Some(r) = resource {
                q.append_pair("resource", r);
            }
            for (k, v) in &self.settings.authorize_params {
                q.append_pair(k, v);
            }
        }
        if self.settings.no_browser {
            prompt.open_url(&OpenUrl {
                host: self.host(),
                url: auth_url,
            });
        } else if let Err(why) = browser::open(&auth_url) {
            return Err(AuthError::new(format!(
                "could not open a browser to sign in: {why}. Sign in with a code on another device with --device, \
                 or use --no-browser to get the URL to open yourself"
            )));
        } else {
            tracing::info!("opened the browser to sign in");
        }
        let waiting = prompt.waiting("Waiting for you to sign in in the browser…");
        let cb = listener.wait(&state, self.settings.auth_timeout).await;
        drop(waiting);
        let cb = cb?;
        // RFC 9207: the issuer in the response must be the one we sent the user to.
        let iss = cb.params.get("iss");
        match iss {
            None if m.authorization_response_iss_parameter_supported => {
                return Err(AuthError::new(
                    "the authorization response lacks the `iss` parameter its server promised (RFC 9207); it was rejected",
                ));
            }
            Some(i) if i != &m.issuer => {
                return Err(AuthError::new(
                    "the authorization response came from another issuer than expected (RFC 9207 `iss` mismatch); it was rejected",
                ));
            }
            _ => {}
        }
        if let Some(error) = cb.params.get("error") {
            return Err(OAuthError {
                error: error.clone(),
                error_description: cb.params.get("error_description").cloned(),
            }
            .into_auth_error("signing in"));
        }
        let code = cb
            .params
            .get("code")
            .ok_or_else(|| AuthError::new("the authorization response carries no code"))?;
        let token_endpoint = m
            .token_endpoint
            .as_deref()
            .ok_or_else(|| AuthError::new("no token endpoint"))?;
        let mut form = vec![
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", redirect_uri.as_str()),
            ("code_verifier", verifier.expose()),
        ];
        if let Some(r) = resource {
            form.push(("resource", r));
        }
        let tokens = token::request(&self.http, token_endpoint, &client, form, "signing in").await?;
        Ok((tokens, client, port))
    }

    async fn client_credentials(
        &self,
        d: &Discovery,
        client: &Client,
        scopes: &[String],
        resource: Option<&str>,
    ) -> Result<Tokens, AuthError> {
        let endpoint = d
            .server
            .token_endpoint
            .as_deref()
            .ok_or_else(|| AuthError::new("no token endpoint"))?;
        let joined = scopes.join(" ");
        let mut form = vec![("grant_type", "client_credentials")];
        if !scopes.is_empty() {
            form.push(("scope", &joined));
        }
        if let Some(r) = resource {
            form.push(("resource", r));
        }
        token::request(
            &self.http,
            endpoint,
            client,
            form,
            "getting a token with the client credentials",
        )
        .await
    }

    /// RFC 8628: show a code, poll until the user has entered it.
    async fn device(
        &self,
        prompt: &dyn Prompt,
        d: &Discovery,
        client: &Client,
        scopes: &[String],
        resource: Option<&str>,
    ) -> Result<Tokens, AuthError> {
        let m = &d.server;
        let endpoint = m.device_authorization_endpoint.as_deref().ok_or_else(|| {
            AuthError::new(format!(
                "{} does not offer sign-in with a device code (no device_authorization_endpoint)",
                d.issuer
            ))
        })?;
        if let Some(g) = &m.grant_types_supported
            && !g.iter().any(|x| x == registration::DEVICE_GRANT)
        {
            return Err(AuthError::new(format!(
                "{} does not allow the device code grant",
                d.issuer
            )));
        }
        #[derive(serde::Deserialize)]
        struct DeviceAuth {
            device_code: Secret,
            user_code: String,
            #[serde(alias = "verification_url")]
            verification_uri: String,
            verification_uri_complete: Option<String>,
            expires_in: Option<u64>,
            interval: Option<u64>,
        }
        let joined = scopes.join(" ");
        let mut form: Vec<(&str, &str)> = Vec::new();
        if !scopes.is_empty() {
            form.push(("scope", &joined));
        }
        if let Some(r) = resource {
            form.push(("resource", r));
        }
        let (status, bytes) = token::post_form(&self.http, endpoint, client, form).await?;
        if !status.is_success() {
            return Err(token::failure(status, &bytes, "starting the device sign-in"));
        }
        let da: DeviceAuth = serde_json::from_slice(&bytes)
            .map_err(|_| AuthError::new("the device authorization answer is not usable"))?;
        prompt.enter_code(&EnterCode {
            host: self.host(),
            verification_uri: da.verification_uri,
            user_code: da.user_code,
            verification_uri_complete: da.verification_uri_complete,
        });
        let token_endpoint = m
            .token_endpoint
            .as_deref()
            .ok_or_else(|| AuthError::new("no token endpoint"))?;
        let mut interval = Duration::from_secs(da.interval.unwrap_or(5).max(1));
        let give_up = tokio::time::Instant::now()
            + Duration::from_secs(da.expires_in.unwrap_or(900)).min(self.settings.auth_timeout);
        let waiting = prompt.waiting("Waiting for you to enter the code…");
        let result = loop {
            tokio::time::sleep(interval).await;
            if tokio::time::Instant::now() > give_up {
                break Err(AuthError::new(
                    "the device code expired before it was entered; try again",
                ));
            }
            let mut form = vec![
                ("grant_type", registration::DEVICE_GRANT),
                ("device_code", da.device_code.expose()),
            ];
            if let Some(r) = resource {
                form.push(("resource", r));
            }
            match token::request(
                &self.http,
                token_endpoint,
                client,
                form,
                "signing in with the device code",
            )
            .await
            {
                Ok(t) => break Ok(t),
                Err(e) if e.oauth_error.as_deref() == Some("authorization_pending") => {}
                Err(e) if e.oauth_error.as_deref() == Some("slow_down") => interval += Duration::from_secs(5),
                Err(e) => break Err(e),
            }
        };
        drop(waiting);
        result
    }
}

fn update_meta(meta: &mut EntryMeta, tokens: &Tokens) {
    if let Some(s) = &tokens.scope {
        meta.scopes = super::challenge::split_scopes(s);
    }
    meta.expires_at = tokens.expires_in.map(|e| unix_now() + e as i64);
    meta.has_refresh_token = tokens.refresh_token.is_some() || meta.has_refresh_token;
    let claims = tokens
        .id_token
        .as_ref()
        .and_then(|t| token::jwt_claims(t.expose()))
        .or_else(|| token::jwt_claims(tokens.access_token.expose()));
    if let Some(name) = claims.as_ref().and_then(token::account_name) {
        meta.account = Some(name);
    }
}

fn held(key: EntryKey, meta: EntryMeta, secrets: Secrets) -> Option<Held> {
    let at = secrets.access_token.as_ref()?;
    let mut header = HeaderValue::from_str(&format!("Bearer {}", at.expose())).ok()?;
    header.set_sensitive(true);
    Some(Held {
        key,
        meta,
        secrets,
        header,
    })
}
