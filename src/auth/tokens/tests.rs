//! The token lifecycle without a network: a memory store, and a stand-in for the
//! authorization server that counts what it is asked.

use std::sync::atomic::AtomicUsize;
use std::time::Duration;

use serde_json::json;

use super::*;
use crate::auth::ResourceChoice;
use crate::auth::prompt::{EnterCode, OpenUrl, Prompt, Waiting};
use crate::auth::token::ClientAuth;
use crate::cli::RemoteArgs;
use crate::store::{Backend, StoreOptions};

/// What unit tests put where the authorization server would be.
pub trait StandIn: Send + Sync {
    /// Discovery and a grant.
    fn sign_in(&self, step_up: Option<Vec<String>>) -> Result<SignedIn, AuthError>;
    /// The refresh grant's token request.
    fn refresh(&self, form: &[(&str, &str)]) -> Result<Tokens, AuthError>;
}

const ISSUER: &str = "https://as.example";

#[derive(Default)]
struct AuthServer {
    sign_ins: AtomicUsize,
    refreshes: AtomicUsize,
    /// The scopes each sign-in was asked to add (a step-up's union).
    step_ups: Mutex<Vec<Option<Vec<String>>>>,
    /// Sign-ins fail with this while it is set.
    refuse: Mutex<Option<AuthError>>,
}

impl AuthServer {
    fn sign_ins(&self) -> usize {
        self.sign_ins.load(Ordering::SeqCst)
    }
    fn refreshes(&self) -> usize {
        self.refreshes.load(Ordering::SeqCst)
    }
}

fn tokens(access: &str, refresh: Option<&str>) -> Tokens {
    serde_json::from_value(json!({
        "access_token": access, "token_type": "Bearer", "expires_in": 3600, "refresh_token": refresh
    }))
    .unwrap()
}

impl StandIn for AuthServer {
    fn sign_in(&self, step_up: Option<Vec<String>>) -> Result<SignedIn, AuthError> {
        let n = self.sign_ins.fetch_add(1, Ordering::SeqCst) + 1;
        self.step_ups.lock().unwrap().push(step_up.clone());
        if let Some(e) = self.refuse.lock().unwrap().clone() {
            return Err(e);
        }
        Ok(SignedIn {
            issuer: ISSUER.into(),
            token_endpoint: Some(format!("{ISSUER}/token")),
            revocation_endpoint: None,
            scopes: step_up.unwrap_or_else(|| vec!["mcp".into()]),
            resource: None,
            granted: Granted {
                tokens: tokens(&format!("signed-in-{n}"), Some(&format!("refresh-{n}"))),
                client: Client {
                    id: "client".into(),
                    secret: None,
                    auth: ClientAuth::None,
                },
            },
        })
    }

    fn refresh(&self, form: &[(&str, &str)]) -> Result<Tokens, AuthError> {
        assert!(form.contains(&("grant_type", "refresh_token")), "{form:?}");
        let n = self.refreshes.fetch_add(1, Ordering::SeqCst) + 1;
        Ok(tokens(&format!("refreshed-{n}"), None))
    }
}

/// Nobody to ask: the stand-in signs in.
struct NoUser;

impl Prompt for NoUser {
    fn open_url(&self, _: &OpenUrl) {
        panic!("a unit test opens no browser");
    }
    fn enter_code(&self, _: &EnterCode) {
        panic!("a unit test shows no device code");
    }
    fn waiting(&self, _: &str) -> Waiting {
        Waiting::none()
    }
}

/// A client for `url` (one per test: the memory store's lock is per server), with the
/// stand-in in place of the authorization server.
fn client(url: &str) -> (Arc<OAuthClient>, Arc<AuthServer>) {
    let http = HttpConfig::new(&crate::settings::http(&RemoteArgs::for_url(url, false)).unwrap()).unwrap();
    let store_options = StoreOptions {
        backend: Some(Backend::Memory),
        home: None,
    };
    let settings = Settings {
        client_id: None,
        client_secret: None,
        client_metadata_url: None,
        scopes: None,
        resource: ResourceChoice::Published,
        assume_pkce: false,
        authorize_params: Vec::new(),
        device: false,
        client_credentials: false,
        no_browser: false,
        callback_port: None,
        redirect_uri: None,
        auth_timeout: Duration::from_secs(10),
        auth_timeout_given: false,
        profile: None,
        store: store_options.clone(),
        registration_metadata: Default::default(),
        token_endpoint_auth_method: None,
        auth_success_url: None,
        use_id_token: false,
        token_endpoint: None,
        issuer: None,
    };
    let store = Arc::new(Store::open(&store_options).unwrap());
    let server = Arc::new(AuthServer::default());
    let mut client = OAuthClient::new(http, settings, store, Interaction::Allowed(Arc::new(NoUser)));
    client.stand_in = Some(server.clone());
    (Arc::new(client), server)
}

/// Stores a login whose access token was issued `age` seconds ago and expires in `left`.
fn keep_login(c: &OAuthClient, access: &str, age: i64, left: i64, scopes: &[&str]) {
    let key = EntryKey {
        resource: c.resource_key.clone(),
        issuer: ISSUER.into(),
        client_id: "client".into(),
        profile: None,
        tenant: None,
    };
    let now = unix_now();
    let meta = EntryMeta {
        scopes: scopes.iter().map(|s| s.to_string()).collect(),
        expires_at: Some(now + left),
        has_refresh_token: true,
        token_endpoint: Some(format!("{ISSUER}/token")),
        updated_at: now - age,
        ..EntryMeta::default()
    };
    let secrets = Secrets {
        access_token: Some(Secret::new(access)),
        refresh_token: Some(Secret::new("stored-refresh")),
        id_token: None,
    };
    c.store.save(&key, &meta, &secrets).unwrap();
}

async fn bearer(c: &OAuthClient) -> Option<String> {
    c.header().await.unwrap().map(|(v, _)| v.to_str().unwrap().to_owned())
}

async fn generation(c: &OAuthClient) -> u64 {
    c.header().await.unwrap().expect("a token is held").1
}

fn challenge(scope: &str) -> Challenge {
    Challenge {
        scope: Some(scope.into()),
        error: Some("insufficient_scope".into()),
        ..Challenge::default()
    }
}

#[test]
fn a_token_is_expiring_within_a_minute_or_a_fifth_of_a_short_lifetime() {
    let now = unix_now();
    let h = |issued: i64, expires: Option<i64>| {
        held(
            EntryKey {
                resource: "r".into(),
                issuer: ISSUER.into(),
                client_id: "c".into(),
                profile: None,
                tenant: None,
            },
            EntryMeta {
                expires_at: expires,
                updated_at: issued,
                ..EntryMeta::default()
            },
            Secrets {
                access_token: Some(Secret::new("t")),
                ..Secrets::default()
            },
            false,
        )
        .unwrap()
    };
    assert!(!h(now, None).expiring(), "no expiry given");
    assert!(!h(now - 10, Some(now + 3590)).expiring(), "an hour's token, fresh");
    assert!(h(now - 3550, Some(now + 50)).expiring(), "an hour's token, 50 s left");
    assert!(
        !h(now - 70, Some(now + 30)).expiring(),
        "100 s lifetime: 30 s left is more than a fifth"
    );
    assert!(
        h(now - 85, Some(now + 15)).expiring(),
        "100 s lifetime: 15 s left is less than a fifth"
    );
    assert!(h(now - 100, Some(now - 1)).expiring(), "expired");
}

/// Proves that a hostile `expires_in` of 2^63 s or more does not wrap to an expiry in the past
/// (which made every request refresh): the expiry saturates, far in the future.
#[test]
fn a_huge_expires_in_is_a_far_expiry_not_a_past_one() {
    for e in [u64::MAX, 1 << 63, i64::MAX as u64] {
        let mut meta = EntryMeta {
            updated_at: unix_now(),
            ..EntryMeta::default()
        };
        let mut t = tokens("t", None);
        t.expires_in = Some(e);
        update_meta(&mut meta, &t);
        assert!(
            meta.expires_at.unwrap() > unix_now() + 3600,
            "{e}: {:?}",
            meta.expires_at
        );
        let h = held(
            EntryKey {
                resource: "r".into(),
                issuer: ISSUER.into(),
                client_id: "c".into(),
                profile: None,
                tenant: None,
            },
            meta,
            Secrets {
                access_token: Some(Secret::new("t")),
                ..Secrets::default()
            },
            false,
        )
        .unwrap();
        assert!(!h.expiring(), "{e}");
    }
}

#[tokio::test]
async fn a_token_about_to_expire_is_refreshed_before_it_is_sent() {
    let (c, server) = client("http://127.0.0.1:9/refresh-ahead");
    keep_login(&c, "stored", 3570, 30, &["mcp"]);
    assert_eq!(bearer(&c).await.as_deref(), Some("Bearer refreshed-1"));
    assert_eq!(bearer(&c).await.as_deref(), Some("Bearer refreshed-1"));
    assert_eq!(server.refreshes(), 1);
    assert_eq!(server.sign_ins(), 0);

    let (c, server) = client("http://127.0.0.1:9/fresh");
    keep_login(&c, "stored", 60, 3540, &["mcp"]);
    assert_eq!(bearer(&c).await.as_deref(), Some("Bearer stored"));
    assert_eq!(server.refreshes(), 0);
}

#[tokio::test]
async fn concurrent_callers_share_one_refresh() {
    let (c, server) = client("http://127.0.0.1:9/single-flight");
    keep_login(&c, "stored", 3570, 30, &["mcp"]);
    let callers: Vec<_> = (0..16)
        .map(|_| {
            let c = c.clone();
            tokio::spawn(async move { bearer(&c).await })
        })
        .collect();
    for caller in callers {
        assert_eq!(caller.await.unwrap().as_deref(), Some("Bearer refreshed-1"));
    }
    assert_eq!(server.refreshes(), 1);
}

#[tokio::test]
async fn a_step_up_asks_for_the_scopes_held_and_the_ones_challenged() {
    let (c, server) = client("http://127.0.0.1:9/step-up");
    keep_login(&c, "stored", 60, 3540, &["mcp:read", "mcp:write"]);
    let sent = generation(&c).await;
    c.insufficient_scope(&challenge("mcp:write mcp:admin"), Some(sent))
        .await
        .unwrap();
    assert_eq!(
        *server.step_ups.lock().unwrap(),
        [Some(vec![
            "mcp:read".to_owned(),
            "mcp:write".into(),
            "mcp:admin".into()
        ])]
    );
    assert_eq!(bearer(&c).await.as_deref(), Some("Bearer signed-in-1"));
    // A 403 for the token used before the step-up: the new one is simply sent.
    c.insufficient_scope(&challenge("mcp:other"), Some(sent)).await.unwrap();
    assert_eq!(server.sign_ins(), 1);
}

#[tokio::test]
async fn a_failed_sign_in_is_not_tried_again_for_a_while() {
    let (c, server) = client("http://127.0.0.1:9/cooldown");
    *server.refuse.lock().unwrap() = Some(AuthError::new("signing in failed: `access_denied`"));
    let first = c.unauthorized(&Challenge::default(), None).await.unwrap_err();
    let second = c.unauthorized(&Challenge::default(), None).await.unwrap_err();
    assert_eq!(first.message, second.message);
    assert_eq!(server.sign_ins(), 1, "the second request got the first one's error");
    // `login` asks for a sign-in on purpose: it does try again.
    assert!(c.login(&Challenge::default()).await.is_err());
    assert_eq!(server.sign_ins(), 2);

    // Wanting a sign-in that may not happen is no failed attempt.
    let (c, server) = client("http://127.0.0.1:9/no-cooldown");
    *server.refuse.lock().unwrap() = Some(AuthError::login_required("the server requires signing in"));
    c.unauthorized(&Challenge::default(), None).await.unwrap_err();
    c.unauthorized(&Challenge::default(), None).await.unwrap_err();
    assert_eq!(server.sign_ins(), 2);
}

/// Proves that a declined step-up is not asked for again at once: each `403 insufficient_scope`
/// used to open a new browser tab, even right after the user declined. The cooldown is keyed by
/// the scope set: a step-up to other scopes is still tried.
#[tokio::test]
async fn a_declined_step_up_is_not_asked_for_again_for_a_while() {
    let (c, server) = client("http://127.0.0.1:9/step-up-cooldown");
    keep_login(&c, "stored", 60, 3540, &["mcp:read"]);
    *server.refuse.lock().unwrap() = Some(AuthError::new("signing in failed: `access_denied`"));
    let sent = generation(&c).await;
    let first = c
        .insufficient_scope(&challenge("mcp:admin"), Some(sent))
        .await
        .unwrap_err();
    let second = c
        .insufficient_scope(&challenge("mcp:admin"), Some(sent))
        .await
        .unwrap_err();
    assert_eq!(first.message, second.message);
    assert_eq!(server.sign_ins(), 1, "the second 403 got the first one's error");
    // Another scope set is another question for the user.
    c.insufficient_scope(&challenge("mcp:write"), Some(sent))
        .await
        .unwrap_err();
    assert_eq!(server.sign_ins(), 2);
    // `login` asks on purpose: it does try again.
    assert!(c.login(&Challenge::default()).await.is_err());
    assert_eq!(server.sign_ins(), 3);
}

#[tokio::test]
async fn at_most_three_sign_ins_until_a_request_goes_through() {
    let (c, server) = client("http://127.0.0.1:9/cap");
    c.unauthorized(&Challenge::default(), None).await.unwrap();
    for _ in 0..2 {
        let sent = generation(&c).await;
        c.insufficient_scope(&challenge("more"), Some(sent)).await.unwrap();
    }
    assert_eq!(server.sign_ins(), 3);
    let sent = generation(&c).await;
    let e = c.insufficient_scope(&challenge("more"), Some(sent)).await.unwrap_err();
    assert!(
        e.message.contains("kept refusing access after 3 successful sign-ins"),
        "{e}"
    );
    assert_eq!(server.sign_ins(), 3);
    // A request went through: the count starts again.
    c.succeeded();
    c.insufficient_scope(&challenge("more"), Some(sent)).await.unwrap();
    assert_eq!(server.sign_ins(), 4);
}
