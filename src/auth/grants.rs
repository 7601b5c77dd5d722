//! The grants that get a login's first tokens: authorization code with PKCE through the
//! browser and a loopback listener (with the RFC 9207 `iss` check), the device authorization
//! grant (RFC 8628), and client credentials; which one the settings choose, and the `scope`
//! and `resource` its requests carry.

use std::sync::Arc;
use std::time::Duration;

use url::Url;

use super::challenge::Challenge;
use super::discovery::{self, Discovery};
use super::error::AuthError;
use super::prompt::{EnterCode, Interaction, OpenUrl, Prompt};
use super::settings::{ResourceChoice, Settings};
use super::token::{self, Client, OAuthError, Tokens};
use super::{browser, redirect, registration};
use crate::http::HttpConfig;
use crate::store::{Secret, Store};

/// The longest wait between two polls of the device flow, whatever the server asks for.
const MAX_POLL_INTERVAL: Duration = Duration::from_secs(60);

/// `uri` when it is a web page the user may be told to open: https, or http on loopback; as
/// parsed (so without control characters), at most 2000 characters.
fn web_page(uri: &str) -> Option<String> {
    let url = Url::parse(uri).ok()?;
    let ok = match url.scheme() {
        "https" => true,
        "http" => url.host().is_some_and(|h| match h {
            url::Host::Domain(d) => d.eq_ignore_ascii_case("localhost"),
            url::Host::Ipv4(a) => a.is_loopback(),
            url::Host::Ipv6(a) => a.is_loopback(),
        }),
        _ => false,
    };
    (ok && url.as_str().len() <= 2000).then(|| url.to_string())
}

/// The longest a device-code sign-in waits, whatever lifetime the server gives the code.
const MAX_DEVICE_WAIT: Duration = Duration::from_secs(3600);

/// What the grants need of the client that runs them.
pub struct Grants<'a> {
    pub http: &'a HttpConfig,
    pub settings: &'a Settings,
    pub store: &'a Arc<Store>,
    pub interaction: &'a Interaction,
}

/// What a grant got: the tokens, and the client they were issued to.
pub struct Granted {
    pub tokens: Tokens,
    pub client: Client,
}

/// A finished sign-in: what its login keeps.
pub struct SignedIn {
    pub issuer: String,
    pub token_endpoint: Option<String>,
    pub revocation_endpoint: Option<String>,
    pub scopes: Vec<String>,
    pub resource: Option<String>,
    pub granted: Granted,
}

/// The `scope` and `resource` (RFC 8707) of one sign-in, or of a login's refresh: each of its
/// requests carries the same ones, built here.
pub struct Ask {
    scope: Option<String>,
    resource: Option<String>,
}

impl Ask {
    pub fn new(scopes: &[String], resource: Option<String>) -> Ask {
        Ask {
            scope: (!scopes.is_empty()).then(|| scopes.join(" ")),
            resource,
        }
    }

    pub fn resource(&self) -> Option<&str> {
        self.resource.as_deref()
    }

    /// A token request's form: the grant's own parameters, then `resource`.
    pub fn form<'a>(&'a self, grant: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
        let mut form = grant.to_vec();
        if let Some(r) = &self.resource {
            form.push(("resource", r));
        }
        form
    }

    /// A request that names the scopes too (the authorization URL, the device authorization,
    /// client credentials): the parameters given, `scope`, then `resource`.
    pub fn form_with_scope<'a>(&'a self, grant: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
        let mut form = grant.to_vec();
        if let Some(s) = &self.scope {
            form.push(("scope", s));
        }
        form.extend(self.form(&[]));
        form
    }
}

impl Grants<'_> {
    /// The MCP server's host, as sign-in messages name it.
    fn host(&self) -> String {
        self.http.url.host_str().unwrap_or("the server").to_owned()
    }

    /// The `resource` to send (RFC 8707): what the server publishes, `--resource`, or none.
    pub fn resource(&self, d: &Discovery) -> Option<String> {
        match &self.settings.resource {
            ResourceChoice::Published => Some(d.resource.clone()),
            ResourceChoice::Override(r) => Some(r.clone()),
            ResourceChoice::Omit => None,
        }
    }

    /// `--scope`, else the step-up union, else the challenge's scope, else everything the
    /// resource publishes, else nothing; plus `offline_access` when the server lists it.
    pub fn choose_scopes(&self, step_up: Option<Vec<String>>, challenge: &Challenge, d: &Discovery) -> Vec<String> {
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

    /// Runs the grant the settings choose: client credentials, else (when the user may be
    /// asked) the device code or the browser.
    pub async fn run(&self, d: &Discovery, ask: &Ask) -> Result<Granted, AuthError> {
        if self.settings.client_credentials {
            let client = registration::client(self.http, self.settings, self.store, d, "").await?;
            let tokens = self.client_credentials(d, &client, ask).await?;
            return Ok(Granted { tokens, client });
        }
        let Interaction::Allowed(prompt) = self.interaction else {
            return Err(AuthError::login_required(format!(
                "{} requires signing in",
                self.host()
            )));
        };
        if self.settings.device {
            let redirect = redirect::uri(self.settings, &d.issuer, 0);
            let client = registration::client(self.http, self.settings, self.store, d, &redirect).await?;
            let tokens = self.device(prompt.as_ref(), d, &client, ask).await?;
            Ok(Granted { tokens, client })
        } else {
            self.authorization_code(prompt.as_ref(), d, ask).await
        }
    }

    /// Authorization code with PKCE: the browser, a loopback listener for its way back, the
    /// RFC 9207 `iss` check, the code exchange.
    async fn authorization_code(&self, prompt: &dyn Prompt, d: &Discovery, ask: &Ask) -> Result<Granted, AuthError> {
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
        discovery::check_endpoint(self.http, &auth_url)?;
        let path = redirect::path(self.settings, &d.issuer);
        let ports = redirect::ports(self.settings, &self.http.url_text);
        let (listener, port) =
            browser::Listener::bind(&ports, &path, self.settings.auth_success_url.as_deref()).await?;
        let redirect_uri = redirect::uri(self.settings, &d.issuer, port);
        let client = registration::client(self.http, self.settings, self.store, d, &redirect_uri).await?;
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
            for (k, v) in ask.form_with_scope(&[]) {
                q.append_pair(k, v);
            }
            for (k, v) in &self.settings.authorize_params {
                q.append_pair(k, v);
            }
        }
        let opened = !self.settings.no_browser;
        if opened && let Err(why) = browser::open(&auth_url) {
            return Err(AuthError::new(format!(
                "could not open a browser to sign in: {why}. Sign in with a code on another device with --device, \
                 or use --no-browser to get the URL to open yourself"
            )));
        }
        prompt.open_url(&OpenUrl {
            server: crate::http::redact_url_text(&self.http.url_text),
            url: auth_url,
            opened,
        });
        let waiting = prompt.waiting(&format!(
            "Waiting for you to sign in in the browser (up to {}, --auth-timeout; Ctrl-C cancels)…",
            crate::util::human_duration(self.settings.auth_timeout)
        ));
        let cb = listener.wait(&state, self.settings.auth_timeout).await;
        drop(waiting);
        let mut cb = cb?;
        let browser_conn = cb.browser.take();
        let result = self.exchange(cb, m, ask, &client, &redirect_uri, verifier).await;
        if let Some(conn) = browser_conn {
            browser::finish(conn, self.settings.auth_success_url.as_deref(), result.is_ok()).await;
        }
        result.map(|tokens| Granted { tokens, client })
    }

    /// The authorization response, checked, and its code exchanged for tokens.
    async fn exchange(
        &self,
        cb: browser::Callback,
        m: &discovery::ServerMetadata,
        ask: &Ask,
        client: &token::Client,
        redirect_uri: &str,
        verifier: crate::store::Secret,
    ) -> Result<Tokens, AuthError> {
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
        let form = ask.form(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", redirect_uri),
            ("code_verifier", verifier.expose()),
        ]);
        token::request(self.http, token_endpoint, client, form, "signing in").await
    }

    async fn client_credentials(&self, d: &Discovery, client: &Client, ask: &Ask) -> Result<Tokens, AuthError> {
        let endpoint = d
            .server
            .token_endpoint
            .as_deref()
            .ok_or_else(|| AuthError::new("no token endpoint"))?;
        let form = ask.form_with_scope(&[("grant_type", "client_credentials")]);
        token::request(
            self.http,
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
        ask: &Ask,
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
        let form = ask.form_with_scope(&[]);
        let (status, bytes) = token::post_form(self.http, endpoint, client, form).await?;
        if !status.is_success() {
            return Err(token::failure(status, &bytes, "starting the device sign-in"));
        }
        let da: DeviceAuth = serde_json::from_slice(&bytes)
            .map_err(|_| AuthError::new("the device authorization answer is not usable"))?;
        // What the user is told to open must be a web page (https; http only on loopback), and
        // nothing the server sends reaches the terminal with control characters.
        let verification_uri = web_page(&da.verification_uri).ok_or_else(|| {
            AuthError::new(format!(
                "the device sign-in page `{}` is not an https URL; refusing to show it",
                crate::util::for_terminal(&da.verification_uri, 200)
            ))
        })?;
        prompt.enter_code(&EnterCode {
            server: crate::http::redact_url_text(&self.http.url_text),
            verification_uri,
            user_code: crate::util::for_terminal(&da.user_code, 64),
            verification_uri_complete: da.verification_uri_complete.as_deref().and_then(web_page),
        });
        let token_endpoint = m
            .token_endpoint
            .as_deref()
            .ok_or_else(|| AuthError::new("no token endpoint"))?;
        // The server's interval is clamped (a huge one would outwait the deadline), and no
        // sleep goes past the deadline.
        let mut interval = Duration::from_secs(da.interval.unwrap_or(5).clamp(1, MAX_POLL_INTERVAL.as_secs()));
        // RFC 8628 makes expires_in required; 15 minutes when a server leaves it out anyway.
        // Bounded: a server's number must not keep the user waiting for days (or overflow).
        let lifetime = Duration::from_secs(da.expires_in.unwrap_or(900).clamp(1, MAX_DEVICE_WAIT.as_secs()));
        let cut = self.settings.auth_timeout_given && self.settings.auth_timeout < lifetime;
        let limit = if cut { self.settings.auth_timeout } else { lifetime };
        let give_up = tokio::time::Instant::now() + limit;
        let waiting = prompt.waiting(&format!(
            "Waiting for you to enter the code ({} {}; Ctrl-C cancels)…",
            if cut { "giving up after" } else { "it expires in" },
            crate::util::human_duration(limit)
        ));
        let expired = || {
            AuthError::new(if cut {
                format!(
                    "gave up waiting for the device code to be entered after {} (--auth-timeout); run the login again",
                    crate::util::human_duration(limit)
                )
            } else {
                format!(
                    "the device code expired before it was entered (it was valid for {}); run the login again",
                    crate::util::human_duration(limit)
                )
            })
        };
        let result = loop {
            let now = tokio::time::Instant::now();
            if now >= give_up {
                break Err(expired());
            }
            tokio::time::sleep(interval.min(give_up - now)).await;
            if tokio::time::Instant::now() >= give_up {
                break Err(expired());
            }
            let form = ask.form(&[
                ("grant_type", registration::DEVICE_GRANT),
                ("device_code", da.device_code.expose()),
            ]);
            match token::request(
                self.http,
                token_endpoint,
                client,
                form,
                "signing in with the device code",
            )
            .await
            {
                Ok(t) => break Ok(t),
                Err(e) if e.oauth_error.as_deref() == Some("authorization_pending") => {}
                Err(e) if e.oauth_error.as_deref() == Some("slow_down") => {
                    interval = (interval + Duration::from_secs(5)).min(MAX_POLL_INTERVAL)
                }
                Err(e) if e.oauth_error.as_deref() == Some("expired_token") => {
                    break Err(AuthError::new(
                        "the device code expired before it was entered (the authorization server says so); \
                         run the login again",
                    ));
                }
                Err(e) => break Err(e),
            }
        };
        drop(waiting);
        result
    }
}
