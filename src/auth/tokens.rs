//! The token lifecycle for one server: the token in use (read from the store once), refresh
//! shortly before expiry or after a 401, sign-in when there is no usable token, step-up on
//! `insufficient_scope` — each single-flight in the process and, across processes, under the
//! store's lock, re-reading the store after taking it because another process may have done
//! the work already. The grants that get a first token are in `grants.rs`.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

use reqwest::header::HeaderValue;
use url::Url;

use super::challenge::Challenge;
use super::discovery;
use super::error::AuthError;
use super::grants::{Ask, Granted, Grants, SignedIn};
use super::prompt::Interaction;
use super::settings::Settings;
use super::token::{self, Client, Tokens};
use crate::audit::Entry;
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

/// Whether a sign-in first looks for one another mcp-valet made meanwhile.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Reuse {
    /// A 401: another process may have signed in already; use that sign-in if so.
    CheckStoreFirst,
    /// `login` and step-up: the stored sign-in is the one that is not good enough.
    Fresh,
}

/// mcp-valet as the OAuth client of one MCP server: holds its token, and refreshes, signs in
/// or steps up when needed.
pub struct OAuthClient {
    pub(super) http: HttpConfig,
    pub(super) settings: Settings,
    pub(super) store: Arc<Store>,
    /// The server URL as stored: the key of its logins.
    pub(super) resource_key: String,
    /// Whether a browser (or device) sign-in may start, and who shows it to the user.
    pub(super) interaction: Interaction,
    state: Mutex<State>,
    flight: tokio::sync::Mutex<()>,
    authorizations: AtomicU32,
    last_failure: Mutex<Option<Failure>>,
    /// Unit tests: answers in place of the authorization server.
    #[cfg(test)]
    stand_in: Option<Arc<dyn tests::StandIn>>,
}

/// The last failed sign-in: when, the scope set a step-up asked for (None: a plain sign-in),
/// and its error.
type Failure = (std::time::Instant, Option<Vec<String>>, AuthError);

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
    /// With `--use-id-token`: the ID token's expiry, which counts as well as the access token's.
    id_expires_at: Option<i64>,
}

impl Held {
    /// Whether the login has a refresh token. The held secrets may be the access token alone
    /// (`Store::load_access`); the stored meta says whether there is more.
    fn refreshable(&self) -> bool {
        self.secrets.refresh_token.is_some() || self.meta.has_refresh_token
    }

    /// About to expire: within a minute, or within a fifth of its lifetime when it is short.
    fn expiring(&self) -> bool {
        let expires_at = match (self.meta.expires_at, self.id_expires_at) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        expires_at.is_some_and(|t| {
            let lifetime = t.saturating_sub(self.meta.updated_at);
            let margin = if lifetime > 0 {
                (lifetime / 5).clamp(1, EXPIRY_MARGIN)
            } else {
                EXPIRY_MARGIN
            };
            unix_now().saturating_add(margin) >= t
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
            #[cfg(test)]
            stand_in: None,
        }
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
                "the server rejected the token kept with `login --with-token`: keep a new one the same way, \
                 or sign in with OAuth (`mcp-valet login URL`, without --with-token)",
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

    pub(super) async fn lock(&self) -> Result<Lock, AuthError> {
        let mut scope = format!(
            "login|{}|{}",
            self.resource_key,
            self.settings.profile.as_deref().unwrap_or("")
        );
        if let Some(t) = self.settings.tenant() {
            scope = format!("{scope}|tenant|{t}");
        }
        let s = scope.clone();
        let free = self
            .store
            .blocking(move |store| store.lock(&s, std::time::Duration::ZERO))
            .await
            .map_err(AuthError::store)?;
        if let Some(lock) = free {
            return Ok(lock);
        }
        // Another mcp-valet is signing in (or refreshing): say who, while waiting for it.
        let s = scope.clone();
        let holder = self
            .store
            .blocking(move |store| Ok(store.lock_holder(&s)))
            .await
            .ok()
            .flatten();
        let who = match holder {
            Some((pid, since)) => format!(
                "another mcp-valet (pid {pid}, signing in for {})",
                crate::util::human_duration(std::time::Duration::from_secs(
                    u64::try_from(unix_now()).unwrap_or(0).saturating_sub(since)
                ))
            ),
            None => "another mcp-valet".to_owned(),
        };
        let timeout = self.settings.auth_timeout;
        let _waiting = match &self.interaction {
            Interaction::Allowed(prompt) => Some(prompt.waiting(&format!(
                "Waiting for {who} to finish signing in to {} (up to {}; Ctrl-C cancels)…",
                crate::http::redact_url_text(&self.http.url_text),
                crate::util::human_duration(timeout)
            ))),
            Interaction::Never => None,
        };
        let lock = self
            .store
            .blocking(move |s| s.lock(&scope, timeout))
            .await
            .map_err(AuthError::store)?;
        lock.ok_or_else(|| {
            AuthError::new(format!(
                "gave up after waiting {} for {who} to finish signing in to {} (--auth-timeout)",
                crate::util::human_duration(timeout),
                crate::http::redact_url_text(&self.http.url_text)
            ))
        })
    }

    /// The newest stored login for this server and profile, with its access token (the other
    /// secrets only if the store had to be read for it: `refresh` reads them again).
    async fn read_store(&self) -> Result<Option<Held>, AuthError> {
        let resource = self.resource_key.clone();
        let profile = self.settings.profile.clone();
        let tenant = self.settings.tenant().map(str::to_owned);
        let id_token = self.settings.use_id_token;
        self.store
            .blocking(move |store| {
                for (key, _) in store.find(&resource, profile.as_deref(), tenant.as_deref())? {
                    // The kernel's copy holds the access token only.
                    let found = if id_token {
                        store.load(&key)?
                    } else {
                        store.load_access(&key)?
                    };
                    if let Some((meta, secrets)) = found
                        && let Some(h) = held(key, meta, secrets, id_token)
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
            && let Some(h) = held(
                mine.key.clone(),
                meta.clone(),
                secrets.clone(),
                self.settings.use_id_token,
            )
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
        let ask = Ask::new(&[], meta.resource_indicator.clone());
        let form = ask.form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token.expose()),
        ]);
        let tokens = match self.refresh_request(&endpoint, &client, form).await {
            Ok(t) => t,
            Err(e) => {
                self.audit(
                    Entry::failed("refresh", &self.resource_key, &e.message),
                    &mine.key,
                    &meta,
                );
                return self.refresh_failed(e, &mine.key).await;
            }
        };
        let mut meta = meta;
        let secrets = Secrets {
            access_token: Some(tokens.access_token.clone()),
            refresh_token: tokens.refresh_token.clone().or(Some(refresh_token)),
            id_token: tokens.id_token.clone().or(secrets.id_token),
        };
        update_meta(&mut meta, &tokens);
        self.save(mine.key.clone(), meta.clone(), secrets).await?;
        let mut ok = Entry::ok("refresh", &self.resource_key);
        ok.grant = Some("refresh_token".into());
        self.audit(ok, &mine.key, &meta);
        tracing::debug!("access token refreshed");
        Ok(())
    }

    async fn refresh_failed(&self, e: AuthError, key: &EntryKey) -> Result<(), AuthError> {
        match e {
            e if e.login_required => {
                // The refresh token is dead: drop the login, keep the registration.
                let key = key.clone();
                let _ = self.store.blocking(move |s| s.delete(&key)).await;
                self.forget();
                Err(e)
            }
            e => Err(e),
        }
    }

    /// Records an event about a stored login in the audit log.
    pub(super) fn audit(&self, mut e: Entry, key: &EntryKey, meta: &EntryMeta) {
        e.profile = key.profile.clone();
        e.issuer = Some(key.issuer.clone());
        if !key.client_id.is_empty() {
            e.client_id = Some(key.client_id.clone());
        }
        e.account = meta.account.clone();
        e.scopes = meta.scopes.clone();
        crate::audit::record(e);
    }

    /// How this client signs in.
    fn grant(&self) -> &'static str {
        if self.settings.client_credentials {
            "client_credentials"
        } else if self.settings.device {
            "device_code"
        } else {
            "authorization_code"
        }
    }

    /// The refresh grant's token request.
    async fn refresh_request(
        &self,
        endpoint: &str,
        client: &Client,
        form: Vec<(&str, &str)>,
    ) -> Result<Tokens, AuthError> {
        #[cfg(test)]
        if let Some(stand_in) = &self.stand_in {
            tokio::task::yield_now().await;
            return stand_in.refresh(&form);
        }
        token::request(&self.http, endpoint, client, form, "refreshing the access token").await
    }

    fn forget(&self) {
        let mut st = self.state();
        st.held = None;
        st.generation += 1;
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

    /// How to try a declined sign-in again: `login` again, or (in the bridge, which waits
    /// `FAILURE_COOLDOWN` before it opens another browser tab) a request after that.
    fn try_again(&self, reuse: Reuse) -> String {
        match reuse {
            Reuse::Fresh => format!(". To try again, run `{}` again", self.login_hint()),
            Reuse::CheckStoreFirst => format!(
                ". To try again, sign in with `{}`, or send a request after {} for another sign-in",
                self.login_hint(),
                crate::util::human_duration(FAILURE_COOLDOWN)
            ),
        }
    }

    /// What `login` would have to say to the user about a login-required error.
    pub fn login_hint(&self) -> String {
        format!(
            "mcp-valet login {}{}",
            crate::http::redact_url_text(&self.http.url_text),
            self.settings
                .profile
                .as_ref()
                .map(|p| format!(" --profile {p}"))
                .unwrap_or_default()
        )
    }

    /// Signs in (caller holds `flight`): under the cross-process lock, after checking whether
    /// another process signed in meanwhile (`Reuse::CheckStoreFirst`).
    async fn authorize(
        &self,
        challenge: &Challenge,
        scopes: Option<Vec<String>>,
        reuse: Reuse,
    ) -> Result<(), AuthError> {
        // A step-up is keyed by its scope set: declined once, the same question is not asked
        // again (a new browser tab for each 403) until the cooldown ends.
        let asked = scopes.as_ref().map(|s| {
            let mut s = s.clone();
            s.sort();
            s.dedup();
            s
        });
        let failed = self.last_failure.lock().unwrap_or_else(|e| e.into_inner()).clone();
        if let Some((at, failed_scopes, e)) = failed
            && at.elapsed() < FAILURE_COOLDOWN
            && (reuse == Reuse::CheckStoreFirst || (asked.is_some() && failed_scopes == asked))
        {
            return Err(e);
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
        let attempt = if scopes.is_some() { "step_up" } else { "sign_in" };
        let result = self.authorize_now(challenge, scopes, reuse).await.map_err(|mut e| {
            if e.oauth_error.as_deref() == Some("access_denied") {
                e.message.push_str(&self.try_again(reuse));
            }
            e
        });
        match &result {
            Ok(()) => {
                self.authorizations.fetch_add(1, Ordering::Relaxed);
            }
            // Failing for want of an interactive sign-in is not a failed attempt.
            Err(e) if !e.login_required => {
                let mut entry = Entry::failed(attempt, &self.resource_key, &e.message);
                entry.profile = self.settings.profile.clone();
                entry.grant = Some(self.grant().into());
                crate::audit::record(entry);
                *self.last_failure.lock().unwrap_or_else(|e| e.into_inner()) =
                    Some((std::time::Instant::now(), asked, e.clone()));
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
        let event = if scopes.is_some() { "step_up" } else { "sign_in" };
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
        let SignedIn {
            issuer,
            token_endpoint,
            revocation_endpoint,
            scopes,
            resource,
            granted: Granted { tokens, client },
        } = self.sign_in(challenge, scopes).await?;
        let key = EntryKey {
            resource: self.resource_key.clone(),
            issuer,
            client_id: client.id.clone(),
            profile: self.settings.profile.clone(),
            tenant: self.settings.tenant().map(str::to_owned),
        };
        let mut meta = EntryMeta {
            resource_indicator: resource,
            scopes,
            token_endpoint,
            revocation_endpoint,
            ..EntryMeta::default()
        };
        meta.token_endpoint_auth_method = Some(client.auth.as_str().into());
        update_meta(&mut meta, &tokens);
        let secrets = Secrets {
            access_token: Some(tokens.access_token),
            refresh_token: tokens.refresh_token,
            id_token: tokens.id_token,
        };
        self.save(key.clone(), meta.clone(), secrets).await?;
        let mut e = Entry::ok(event, &self.resource_key);
        e.grant = Some(self.grant().into());
        self.audit(e, &key, &meta);
        tracing::info!("signed in to {}", self.http.url.host_str().unwrap_or("the server"));
        Ok(())
    }

    /// Discovery and a grant: the part of a sign-in that talks to the authorization server.
    async fn sign_in(&self, challenge: &Challenge, step_up: Option<Vec<String>>) -> Result<SignedIn, AuthError> {
        #[cfg(test)]
        if let Some(stand_in) = &self.stand_in {
            tokio::task::yield_now().await;
            return stand_in.sign_in(step_up);
        }
        let d = match &self.settings.token_endpoint {
            // `--token-endpoint` (with --client-credentials): no discovery, that endpoint.
            Some(te) => discovery::Discovery::token_endpoint_only(&self.http, te)?,
            None => discovery::discover(&self.http, challenge).await?,
        };
        // A pre-registered client signs in at its own issuer only (binding.rs).
        self.check_issuer(&d).await?;
        let grants = Grants {
            http: &self.http,
            settings: &self.settings,
            store: &self.store,
            interaction: &self.interaction,
        };
        let scopes = grants.choose_scopes(step_up, challenge, &d);
        self.state().requested = scopes.clone();
        let ask = Ask::new(&scopes, grants.resource(&d));
        let granted = grants.run(&d, &ask).await?;
        self.record_issuer(&d.issuer).await;
        Ok(SignedIn {
            issuer: d.issuer,
            token_endpoint: d.server.token_endpoint,
            revocation_endpoint: d.server.revocation_endpoint,
            scopes,
            resource: ask.resource().map(str::to_owned),
            granted,
        })
    }

    pub(super) async fn save(&self, key: EntryKey, mut meta: EntryMeta, secrets: Secrets) -> Result<(), AuthError> {
        meta.updated_at = unix_now();
        meta.backend = Some(self.store.backend());
        let (k, m, s) = (key.clone(), meta.clone(), secrets.clone());
        self.store
            .blocking(move |store| store.save(&k, &m, &s))
            .await
            .map_err(AuthError::store)?;
        let h = held(key, meta, secrets, self.settings.use_id_token).ok_or_else(|| {
            AuthError::new(if self.settings.use_id_token {
                "the authorization server issued no ID token, which --use-id-token sends; ask for the `openid` scope \
                 (--scope openid, or `scope` in --static-oauth-client-metadata)"
            } else {
                "the server issued an unusable access token"
            })
        })?;
        self.adopt(h);
        Ok(())
    }
}

fn update_meta(meta: &mut EntryMeta, tokens: &Tokens) {
    if let Some(s) = &tokens.scope {
        meta.scopes = super::challenge::split_scopes(s);
    }
    // Checked: a lifetime of 2^63 s or more used to wrap to an expiry in the past.
    meta.expires_at = tokens
        .expires_in
        .map(|e| unix_now().saturating_add(i64::try_from(e).unwrap_or(i64::MAX)));
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

/// The login as it is used: its `Authorization` value is the access token, or with `id_token`
/// (`--use-id-token`) the ID token, which then also decides when to renew (its `exp`).
fn held(key: EntryKey, meta: EntryMeta, secrets: Secrets, id_token: bool) -> Option<Held> {
    let at = secrets.access_token.as_ref()?;
    let (bearer, id_expires_at) = if id_token {
        let it = secrets.id_token.as_ref()?;
        let exp = token::jwt_claims(it.expose()).and_then(|c| c.get("exp").and_then(serde_json::Value::as_i64));
        (it, exp)
    } else {
        (at, None)
    };
    let mut header = HeaderValue::from_str(&format!("Bearer {}", bearer.expose())).ok()?;
    header.set_sensitive(true);
    Some(Held {
        key,
        meta,
        secrets,
        header,
        id_expires_at,
    })
}

#[cfg(test)]
mod tests;
