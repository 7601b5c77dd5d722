//! A pre-registered client is bound to its authorization server (issue 11, item 1): its secret
//! and its tokens never go to another issuer, whatever authorization server the MCP server
//! names later. The real authorization server (oidc-provider) and MCP server (tests/peers/auth)
//! play the honest side; the MCP server is then made to name a hostile authorization server, a
//! stand-in on 127.0.0.1 that records everything it receives.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::common::auth::{Stack, fake_browser, grants};
use crate::common::peers::http_request;
use crate::common::stand_in::{Out, Seen, serve};
use crate::common::valet::{run, text};
use serde_json::{Value, json};

const CLIENT: &str = "valet-service";
const SECRET: &str = "valet-service-secret";

/// A hostile authorization server: metadata naming itself, an authorization endpoint that sends
/// the browser straight back with a code, and a token endpoint that issues tokens to anyone.
/// Answers its issuer and the requests it saw.
fn hostile_authorization_server() -> (String, Arc<Mutex<Vec<Seen>>>) {
    let base = Arc::new(Mutex::new(String::new()));
    let b = base.clone();
    let (port, seen) = serve(move |req: &Seen| {
        let base = b.lock().unwrap().clone();
        let target = req.line.split_whitespace().nth(1).unwrap_or("").to_owned();
        let path = target.split('?').next().unwrap_or("");
        let reply = |status: &str, body: Value| {
            let body = body.to_string();
            Out::Whole(format!(
                "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
                body.len()
            ))
        };
        match path {
            p if p.starts_with("/.well-known/") => reply(
                "200 OK",
                json!({
                    "issuer": base,
                    "authorization_endpoint": format!("{base}/authorize"),
                    "token_endpoint": format!("{base}/token"),
                    "registration_endpoint": format!("{base}/register"),
                    "code_challenge_methods_supported": ["S256"],
                    "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
                    "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials"],
                }),
            ),
            "/authorize" => {
                let url = url::Url::parse(&format!("{base}{target}")).unwrap();
                let q = |k: &str| url.query_pairs().find(|(n, _)| n == k).map(|(_, v)| v.into_owned());
                let mut back = url::Url::parse(&q("redirect_uri").unwrap_or_default()).unwrap();
                back.query_pairs_mut()
                    .append_pair("code", "hostile-code")
                    .append_pair("state", &q("state").unwrap_or_default())
                    .append_pair("iss", &base);
                Out::Whole(format!(
                    "HTTP/1.1 302 Found\r\nLocation: {back}\r\nContent-Length: 0\r\n\r\n"
                ))
            }
            "/token" => reply(
                "200 OK",
                json!({"access_token": "hostile-at", "token_type": "Bearer", "expires_in": 3600,
                       "refresh_token": "hostile-rt"}),
            ),
            "/register" => reply("201 Created", json!({"client_id": "registered-at-hostile"})),
            _ => Out::Whole("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n".into()),
        }
    });
    let issuer = format!("http://127.0.0.1:{port}");
    *base.lock().unwrap() = issuer.clone();
    (issuer, seen)
}

/// What the hostile authorization server must never have received: a token request, or any
/// request carrying client authentication or the client's secret.
fn assert_nothing_sent(seen: &Mutex<Vec<Seen>>) {
    for r in seen.lock().unwrap().iter() {
        assert!(
            !r.line.starts_with("POST /token"),
            "the hostile issuer got a token request: {r:?}"
        );
        assert!(
            r.header("authorization").is_none(),
            "the hostile issuer got client authentication: {r:?}"
        );
        assert!(!r.body.contains(SECRET), "the hostile issuer got the secret: {r:?}");
    }
}

/// Makes the MCP server's resource metadata name `issuer` from now on.
fn switch_authorization_server(stack: &Stack, issuer: &str) {
    let origin = stack.mcp.trim_end_matches("/mcp");
    let body = json!([issuer]).to_string();
    let r = http_request(
        origin,
        "POST",
        "/test/authorization-servers",
        &[("content-type", "application/json")],
        Some(&body),
    );
    assert_eq!(r.status, 200, "{}", r.body);
}

/// `mcp-valet <args>` with the home `home` (file store), the scripted user as its browser and
/// the pre-registered client's secret in the environment; answers its exit code and stderr.
fn valet(home: &Path, args: &[&str]) -> (Option<i32>, String) {
    let out = run(
        args,
        &[
            ("MCP_VALET_HOME", home.to_str().unwrap()),
            ("MCP_VALET_TOKEN_STORE", "file"),
            ("MCP_VALET_CLIENT_SECRET", SECRET),
            ("BROWSER", &fake_browser()),
        ],
    );
    (out.status.code(), String::from_utf8_lossy(&out.stderr).into_owned())
}

/// Proves that the bridge never sends a pre-registered client's secret to an authorization
/// server other than the one it first signed in at, and says why: with --client-credentials it
/// signs in at the real authorization server; then the MCP server names a hostile one and the
/// token expires. The next 401 used to send `Basic valet-service:<secret>` to the hostile token
/// endpoint with no one watching; now the request fails with an error naming both issuers.
#[test]
fn the_bridge_never_sends_a_client_secret_to_a_new_authorization_server() {
    let stack = Stack::start(&["--access-ttl", "3"], &[]);
    let (hostile, seen) = hostile_authorization_server();
    let (mut v, _) = stack.bridge(
        &["--client-id", CLIENT, "--client-credentials"],
        &[("MCP_VALET_CLIENT_SECRET", SECRET)],
    );
    v.handshake();
    assert_eq!(text(&v.tool(1, "echo", json!({"text": "before"}))), "before");
    switch_authorization_server(&stack, &hostile);
    std::thread::sleep(Duration::from_secs(4)); // the client-credentials token expires
    let r = v.tool(2, "echo", json!({"text": "after"}));
    assert_nothing_sent(&seen);
    let msg = r["error"]["message"].as_str().unwrap_or_else(|| panic!("{r}"));
    assert!(msg.contains(&stack.issuer) && msg.contains(&hostile), "{msg}");
    assert!(msg.contains("--issuer"), "{msg}");
    assert_eq!(grants(&stack.as_stats(), "client_credentials"), 1);
    let log = v.stderr_when(Duration::from_secs(10), |l| l.contains(&hostile));
    assert!(log.contains(&hostile), "the change is logged: {log}");
    assert!(!log.contains(SECRET));
}

/// Proves that `login` never exchanges a code at, nor sends the secret of a pre-registered
/// client to, an authorization server other than the client's own: after a first sign-in at the
/// real authorization server, the MCP server names a hostile one whose authorization endpoint
/// sends the browser straight back with a code. `login` used to exchange that code at the
/// hostile token endpoint with `Basic valet-service:<secret>`; now, with no terminal to ask on,
/// it refuses before any browser opens and says how to accept the new issuer.
#[test]
fn login_never_sends_a_client_secret_to_a_new_authorization_server() {
    let stack = Stack::start(&[], &[]);
    let (hostile, seen) = hostile_authorization_server();
    let home = tempfile::tempdir().unwrap();
    // The first sign-in binds the client to the real issuer.
    let (code, err) = valet(home.path(), &["login", &stack.mcp, "--client-id", CLIENT]);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(grants(&stack.as_stats(), "authorization_code"), 1);
    switch_authorization_server(&stack, &hostile);
    let (code, err) = valet(home.path(), &["login", &stack.mcp, "--client-id", CLIENT]);
    assert_nothing_sent(&seen);
    assert_ne!(code, Some(0), "{err}");
    assert!(err.contains(&stack.issuer) && err.contains(&hostile), "{err}");
    assert!(err.contains(&format!("--issuer {hostile}")), "{err}");
    assert!(!err.contains(SECRET));
    assert!(
        !seen
            .lock()
            .unwrap()
            .iter()
            .any(|r| r.line.starts_with("GET /authorize")),
        "no browser was sent to the hostile issuer"
    );
}

/// Proves that a stored login of the pre-registered client at another issuer than the one the
/// client is bound to is never refreshed with the client's secret. Such a login is what the
/// hole this closes left behind (an older mcp-valet signed in wherever the server pointed); it
/// is planted here, newer than the real one, with an expired access token. `token` used to
/// refresh it at the hostile token endpoint with `Basic valet-service:<secret>`.
#[test]
fn a_login_at_another_issuer_is_never_refreshed_with_the_client_secret() {
    use crate::store::{Backend, EntryKey, EntryMeta, Secret, Secrets, Store, StoreOptions};
    let stack = Stack::start(&[], &[]);
    let (hostile, seen) = hostile_authorization_server();
    let home = tempfile::tempdir().unwrap();
    let (code, err) = valet(home.path(), &["login", &stack.mcp, "--client-id", CLIENT]);
    assert_eq!(code, Some(0), "{err}");
    let store = Store::open(&StoreOptions {
        backend: Some(Backend::File),
        home: Some(home.path().to_owned()),
    })
    .unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let (real_key, _) = store.find(&stack.mcp, None, None).unwrap().remove(0);
    assert_eq!(real_key.issuer, stack.issuer);
    let planted = EntryKey {
        issuer: hostile.clone(),
        ..real_key
    };
    let meta = EntryMeta {
        expires_at: Some(now - 10),
        has_refresh_token: true,
        token_endpoint: Some(format!("{hostile}/token")),
        token_endpoint_auth_method: Some("client_secret_basic".into()),
        updated_at: now + 100,
        ..EntryMeta::default()
    };
    let secrets = Secrets {
        access_token: Some(Secret::new("planted-at")),
        refresh_token: Some(Secret::new("planted-rt")),
        id_token: None,
    };
    store.save(&planted, &meta, &secrets).unwrap();
    let (code, err) = valet(home.path(), &["token", &stack.mcp, "--client-id", CLIENT]);
    assert_nothing_sent(&seen);
    assert_ne!(code, Some(0), "{err}");
    assert!(!err.contains(SECRET));
}

/// Guards the rule for refresh tokens: a refresh token goes only to the token endpoint of the
/// issuer that issued it, whatever the server names now. After the MCP server switches to a
/// hostile authorization server, the bridge's expiring login is refreshed at the real one (the
/// token endpoint stored with the login), and the hostile one receives no token request. (This
/// held before the binding too; it fails if a refresh ever follows a new discovery.)
#[test]
fn a_refresh_token_goes_only_to_the_issuer_that_issued_it() {
    let stack = Stack::start(&["--access-ttl", "4"], &[]);
    let (hostile, seen) = hostile_authorization_server();
    let (mut v, _) = stack.bridge(&["--client-id", CLIENT], &[("MCP_VALET_CLIENT_SECRET", SECRET)]);
    v.handshake();
    assert_eq!(text(&v.tool(1, "echo", json!({"text": "a"}))), "a");
    switch_authorization_server(&stack, &hostile);
    std::thread::sleep(Duration::from_secs(5));
    assert_eq!(text(&v.tool(2, "echo", json!({"text": "b"}))), "b");
    assert!(grants(&stack.as_stats(), "refresh_token") >= 1);
    assert_nothing_sent(&seen);
}

/// Proves that `--issuer` pins the authorization server: pinned to another issuer than the one
/// the server names, `login` refuses (naming both) before any request to the authorization
/// server the server names; pinned to the right one, it signs in.
#[test]
fn an_issuer_pinned_with_the_option_is_the_only_one_signed_in_at() {
    let stack = Stack::start(&[], &[]);
    let (hostile, seen) = hostile_authorization_server();
    let home = tempfile::tempdir().unwrap();
    let (code, err) = valet(
        home.path(),
        &["login", &stack.mcp, "--client-id", CLIENT, "--issuer", &hostile],
    );
    assert_ne!(code, Some(0), "{err}");
    assert!(
        err.contains("pinned with --issuer") && err.contains(&stack.issuer),
        "{err}"
    );
    assert_eq!(stack.as_stats()["authorizationRequests"], 0);
    assert_nothing_sent(&seen);
    let (code, err) = valet(
        home.path(),
        &["login", &stack.mcp, "--client-id", CLIENT, "--issuer", &stack.issuer],
    );
    assert_eq!(code, Some(0), "{err}");
}

/// Proves that on a terminal `login` asks before it moves a pre-registered client to the new
/// authorization server the server names, and that only a yes sends it there: "n" ends the
/// login with nothing sent to the new issuer; "y" signs in there (the user's choice).
#[test]
fn login_on_a_terminal_asks_before_moving_the_client_to_a_new_issuer() {
    use crate::common::pty::Pty;
    let stack = Stack::start(&[], &[]);
    let (hostile, seen) = hostile_authorization_server();
    let home = tempfile::tempdir().unwrap();
    let (code, err) = valet(home.path(), &["login", &stack.mcp, "--client-id", CLIENT]);
    assert_eq!(code, Some(0), "{err}");
    switch_authorization_server(&stack, &hostile);
    let on_terminal = |answer: &[u8]| {
        let mut c = std::process::Command::new(crate::common::valet::bin());
        c.args(["login", &stack.mcp, "--client-id", CLIENT])
            .env("MCP_VALET_HOME", home.path())
            .env("MCP_VALET_TOKEN_STORE", "file")
            .env("MCP_VALET_CLIENT_SECRET", SECRET)
            .env("BROWSER", fake_browser())
            .env_remove("MCP_VALET_LOG");
        let mut pty = Pty::spawn(c);
        let asked = pty.expect("[y/N]", Duration::from_secs(30));
        assert!(asked.contains(&stack.issuer) && asked.contains(&hostile), "{asked}");
        pty.type_in(answer);
        let status = pty.wait(Duration::from_secs(60));
        (status, pty.screen())
    };
    let (status, screen) = on_terminal(b"n\r");
    assert!(!status.success(), "{screen}");
    assert_nothing_sent(&seen);
    let (status, screen) = on_terminal(b"y\r");
    assert!(status.success(), "{screen}");
    assert!(
        seen.lock().unwrap().iter().any(|r| r.line.starts_with("POST /token")),
        "after a yes, the sign-in went to the new issuer"
    );
}

/// Proves that an imported mcp-remote login's refresh token goes only to the issuer that issued
/// it: mcp-remote does not record the issuer, so `import` asks the server, which now names a
/// hostile authorization server; the tokens' own `iss` names the real one. The refresh token
/// used to be filed under the hostile issuer and sent to its token endpoint at the first use;
/// now the import refuses to attach it there (the access token has expired, so nothing is kept).
#[test]
fn an_imported_refresh_token_goes_only_to_the_issuer_that_issued_it() {
    use crate::import::{env, real_login_as_mcp_remote};
    let stack = Stack::start(&[], &[]);
    let (hostile, seen) = hostile_authorization_server();
    let home = tempfile::tempdir().unwrap();
    let auth = real_login_as_mcp_remote(&stack, home.path(), json!({})).auth;
    switch_authorization_server(&stack, &hostile);
    let env = env(home.path(), &home.path().join("second"), &auth);
    let imported = run(&["import", "mcp-remote", &stack.mcp], &env);
    let used = run(&["token", &stack.mcp], &env);
    assert_nothing_sent(&seen);
    let err = String::from_utf8_lossy(&imported.stderr);
    assert!(err.contains(&stack.issuer) && err.contains(&hostile), "{err}");
    assert!(!used.status.success());
}
