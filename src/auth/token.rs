//! Requests to the token endpoint (authorization code, refresh, client credentials, device
//! code), the revocation endpoint, and PKCE.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use reqwest::header::{ACCEPT, HeaderValue};
use serde::Deserialize;
use sha2::Digest;
use url::Url;

use super::AuthError;
use crate::http::HttpConfig;
use crate::store::Secret;

/// How the client authenticates at the token endpoint (RFC 6749 §2.3, RFC 7591 §2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClientAuth {
    /// A public client: `client_id` in the body.
    None,
    /// `client_secret_basic`: HTTP Basic with the form-urlencoded id and secret.
    Basic,
    /// `client_secret_post`: id and secret in the body.
    Post,
}

impl ClientAuth {
    pub fn parse(s: &str) -> ClientAuth {
        match s {
            "client_secret_basic" => ClientAuth::Basic,
            "client_secret_post" => ClientAuth::Post,
            _ => ClientAuth::None,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            ClientAuth::None => "none",
            ClientAuth::Basic => "client_secret_basic",
            ClientAuth::Post => "client_secret_post",
        }
    }
}

/// The client as the token endpoint knows it.
#[derive(Clone, Debug)]
pub struct Client {
    pub id: String,
    pub secret: Option<Secret>,
    pub auth: ClientAuth,
}

/// A successful token response (RFC 6749 §5.1).
#[derive(Deserialize)]
pub struct Tokens {
    pub access_token: Secret,
    #[serde(default)]
    pub token_type: Option<String>,
    #[serde(default, deserialize_with = "lenient_u64")]
    pub expires_in: Option<u64>,
    #[serde(default)]
    pub refresh_token: Option<Secret>,
    #[serde(default)]
    pub scope: Option<String>,
    #[serde(default)]
    pub id_token: Option<Secret>,
}

/// Some servers send `expires_in` as a string.
fn lenient_u64<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum N {
        U(u64),
        F(f64),
        S(String),
    }
    Ok(match Option::<N>::deserialize(d)? {
        Some(N::U(n)) => Some(n),
        Some(N::F(f)) if f >= 0.0 => Some(f as u64),
        Some(N::S(s)) => s.trim().parse().ok(),
        _ => None,
    })
}

/// An OAuth error response (RFC 6749 §5.2).
#[derive(Clone, Debug, Deserialize)]
pub struct OAuthError {
    pub error: String,
    #[serde(default)]
    pub error_description: Option<String>,
}

impl OAuthError {
    /// What the server said, and what to try for the errors we know.
    pub fn into_auth_error(self, what: &str) -> AuthError {
        let desc = self
            .error_description
            .as_deref()
            .map(|d| {
                format!(
                    ": {}",
                    d.chars().filter(|c| !c.is_control()).take(400).collect::<String>()
                )
            })
            .unwrap_or_default();
        let hint = hint_for(&self.error, self.error_description.as_deref().unwrap_or(""));
        let mut e = AuthError::new(format!(
            "{what} failed: the authorization server said `{}`{desc}{hint}",
            crate::util::for_terminal(&self.error, 100)
        ));
        e.login_required = self.error == "invalid_grant";
        e.oauth_error = Some(self.error);
        e
    }
}

fn hint_for(error: &str, description: &str) -> &'static str {
    if description.contains("AADSTS9010010") || description.contains("AADSTS901002") || error == "invalid_target" {
        return ". The server rejects the `resource` parameter (Microsoft Entra ID does): retry with --no-resource";
    }
    if description.contains("AADSTS50011") {
        return ". The redirect URI is not registered for this app: register it, or pass the registered one with --redirect-uri";
    }
    if description.contains("AADSTS7000218") {
        return ". The app is not a public client: enable \"Allow public client flows\", or pass --client-secret";
    }
    match error {
        "invalid_grant" => ". The sign-in is no longer valid; sign in again",
        "invalid_client" => {
            ". The client is not known or its credentials are wrong: check --client-id and the client secret"
        }
        "invalid_scope" => ". Check the scopes requested (--scope)",
        "unauthorized_client" => ". This client may not use this way of signing in; check the app registration",
        "access_denied" => ". The sign-in was declined (on the consent page, or by the server's policy)",
        _ => "",
    }
}

/// A random string of `n` bytes, base64url without padding.
pub fn random(n: usize) -> String {
    let mut buf = vec![0u8; n];
    getrandom::fill(&mut buf).expect("the operating system's random number generator failed");
    URL_SAFE_NO_PAD.encode(buf)
}

/// A PKCE verifier (RFC 7636 §4.1: 43 characters from 32 random bytes) and its S256 challenge.
pub fn pkce() -> (Secret, String) {
    let verifier = random(32);
    let challenge = URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(verifier.as_bytes()));
    (Secret::new(verifier), challenge)
}

/// POSTs a form to an OAuth endpoint (token, device authorization, revocation) with the
/// client's authentication; returns the status and the body.
pub async fn post_form(
    http: &HttpConfig,
    endpoint: &str,
    client: &Client,
    mut form: Vec<(&str, &str)>,
) -> Result<(reqwest::StatusCode, bytes::Bytes), AuthError> {
    let url =
        Url::parse(endpoint).map_err(|_| AuthError::new(format!("the OAuth endpoint `{endpoint}` is not a URL")))?;
    super::discovery::check_endpoint(http, &url)?;
    let mut rb = http
        .client
        .post(url.clone())
        .header(ACCEPT, HeaderValue::from_static("application/json"))
        .header(reqwest::header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .timeout(std::time::Duration::from_secs(60));
    match (client.auth, &client.secret) {
        (ClientAuth::Basic, Some(secret)) => {
            // RFC 6749 §2.3.1: both parts are form-urlencoded before Base64.
            let user = form_urlencode(&client.id);
            let pass = form_urlencode(secret.expose());
            let mut v = HeaderValue::from_str(&format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"))
            ))
            .map_err(|_| AuthError::new("the client credentials cannot be sent in a header"))?;
            v.set_sensitive(true);
            rb = rb.header(reqwest::header::AUTHORIZATION, v);
        }
        (ClientAuth::Post, Some(secret)) => {
            form.push(("client_id", &client.id));
            form.push(("client_secret", secret.expose()));
        }
        _ => form.push(("client_id", &client.id)),
    }
    let resp = rb
        .body(serde_urlencoded(&form))
        .send()
        .await
        .map_err(|e| AuthError::network(&e, &url))?;
    let status = resp.status();
    let bytes = crate::http::read_document(resp, &url)
        .await
        .map_err(|f| AuthError::new(f.message))?;
    Ok((status, bytes))
}

/// The OAuth error in a failed answer, or a plain one naming the status.
pub fn failure(status: reqwest::StatusCode, body: &[u8], what: &str) -> AuthError {
    match serde_json::from_slice::<OAuthError>(body) {
        Ok(e) => e.into_auth_error(what),
        Err(_) => AuthError::new(format!("{what} failed: the server answered HTTP {}", status.as_u16())),
    }
}

/// A token request (code exchange, refresh, client credentials, device code).
pub async fn request(
    http: &HttpConfig,
    endpoint: &str,
    client: &Client,
    form: Vec<(&str, &str)>,
    what: &str,
) -> Result<Tokens, AuthError> {
    let (status, bytes) = post_form(http, endpoint, client, form).await?;
    if !status.is_success() {
        return Err(failure(status, &bytes, what));
    }
    let tokens: Tokens = serde_json::from_slice(&bytes).map_err(|_| {
        AuthError::new(format!(
            "{what} failed: the token endpoint's answer is not a token response"
        ))
    })?;
    if let Some(t) = &tokens.token_type
        && !t.eq_ignore_ascii_case("bearer")
    {
        return Err(AuthError::new(format!(
            "{what} failed: the server issued a `{t}` token; mcp-valet supports Bearer tokens only"
        )));
    }
    Ok(tokens)
}

/// RFC 7009: asks the server to forget a token.
pub async fn revoke(
    http: &HttpConfig,
    endpoint: &str,
    client: &Client,
    token: &Secret,
    hint: &str,
) -> Result<(), AuthError> {
    let form = vec![("token", token.expose()), ("token_type_hint", hint)];
    let (status, body) = post_form(http, endpoint, client, form).await?;
    if status.is_success() {
        Ok(())
    } else {
        Err(failure(status, &body, "revoking the token"))
    }
}

pub fn form_urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

pub fn serde_urlencoded(pairs: &[(&str, &str)]) -> String {
    let mut ser = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        ser.append_pair(k, v);
    }
    ser.finish()
}

/// The claims of a JWT, read without verifying it: only to show who signed in.
pub fn jwt_claims(token: &str) -> Option<serde_json::Map<String, serde_json::Value>> {
    let payload = token.split('.').nth(1)?;
    let bytes = URL_SAFE_NO_PAD.decode(payload.trim_end_matches('=')).ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// A readable name for who signed in, from ID-token (or JWT access-token) claims.
pub fn account_name(claims: &serde_json::Map<String, serde_json::Value>) -> Option<String> {
    ["preferred_username", "email", "upn", "unique_name", "name", "sub"]
        .iter()
        .find_map(|k| claims.get(*k).and_then(|v| v.as_str()).filter(|s| !s.is_empty()))
        // From unverified claims, shown by `login` and `status`.
        .map(|s| crate::util::for_terminal(s, 200))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pkce_pair_is_rfc7636() {
        let (v, c) = pkce();
        assert_eq!(v.expose().len(), 43);
        assert!(
            v.expose()
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        );
        assert_eq!(c, URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(v.expose().as_bytes())));
        // RFC 7636 appendix B.
        let known = URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(b"dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"));
        assert_eq!(known, "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
    }

    #[test]
    fn basic_auth_parts_are_form_encoded() {
        assert_eq!(form_urlencode("a b:c/d"), "a+b%3Ac%2Fd");
    }

    #[test]
    fn token_response_is_lenient_and_secret() {
        let t: Tokens = serde_json::from_str(
            r#"{"access_token":"at-123","token_type":"bearer","expires_in":"3600","scope":"a b"}"#,
        )
        .unwrap();
        assert_eq!(t.expires_in, Some(3600));
        assert!(!format!("{:?}", t.access_token).contains("at-123"));
    }

    #[test]
    fn errors_carry_hints() {
        let e = OAuthError {
            error: "invalid_request".into(),
            error_description: Some(
                "AADSTS9010010: The resource parameter provided in the request doesn't match".into(),
            ),
        }
        .into_auth_error("signing in");
        assert!(e.message.contains("--no-resource"), "{}", e.message);
        let e = OAuthError {
            error: "invalid_grant".into(),
            error_description: None,
        }
        .into_auth_error("refresh");
        assert!(e.login_required);
    }

    #[test]
    fn account_from_claims() {
        let payload = URL_SAFE_NO_PAD.encode(br#"{"sub":"u1","email":"ada@example.com"}"#);
        let claims = jwt_claims(&format!("h.{payload}.s")).unwrap();
        assert_eq!(account_name(&claims).as_deref(), Some("ada@example.com"));
        assert!(jwt_claims("opaque").is_none());
    }
}
