//! `mcp-valet import mcp-remote`: a ~/.mcp-auth laid out as mcp-remote writes it (version
//! directory, `<md5 of the URL>_tokens.json`, `_client_info.json`, code verifier, lock file)
//! is imported into the store; `status` and `token` show the login and the bridge uses it
//! against a server that requires that token. The originals stay unless `--remove`.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{Value, json};

use crate::common::auth::{Stack, fake_browser, grants};
use crate::common::peers::{Peer, PeerKind};
use crate::common::valet::{Valet, run, text};

/// The MD5 of `s` in hex, by the system's own tool (as mcp-remote names its files).
fn md5(s: &str) -> String {
    let mut cmd = Command::new("sh");
    cmd.args([
        "-c",
        "printf %s \"$1\" | md5sum 2>/dev/null || md5 -q -s \"$1\"",
        "sh",
        s,
    ]);
    let out = cmd.output().expect("md5sum");
    String::from_utf8(out.stdout)
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .to_owned()
}

/// mcp-remote's files for `url` under `base`, as version 0.1.38 writes them.
pub(crate) fn fabricate(base: &Path, url: &str, tokens: &Value, client: &Value) -> Vec<PathBuf> {
    let dir = base.join("mcp-remote-0.1.38");
    std::fs::create_dir_all(&dir).unwrap();
    let h = md5(url);
    let files = [
        (
            format!("{h}_tokens.json"),
            serde_json::to_string_pretty(tokens).unwrap(),
        ),
        (
            format!("{h}_client_info.json"),
            serde_json::to_string_pretty(client).unwrap(),
        ),
        (
            format!("{h}_code_verifier_4242.txt"),
            "a-verifier-left-behind".to_owned(),
        ),
        (
            format!("{h}_lock.json"),
            json!({"pid": 4242, "port": 40123, "timestamp": 1}).to_string(),
        ),
    ];
    files
        .into_iter()
        .map(|(name, body)| {
            let p = dir.join(name);
            std::fs::write(&p, body).unwrap();
            p
        })
        .collect()
}

pub(crate) fn env(home: &Path, valet_home: &Path, auth: &Path) -> Vec<(String, String)> {
    vec![
        ("HOME".into(), home.to_str().unwrap().into()),
        ("XDG_CONFIG_HOME".into(), home.join(".config").to_str().unwrap().into()),
        ("MCP_VALET_HOME".into(), valet_home.to_str().unwrap().into()),
        ("MCP_VALET_TOKEN_STORE".into(), "file".into()),
        ("MCP_REMOTE_CONFIG_DIR".into(), auth.to_str().unwrap().into()),
        ("BROWSER".into(), fake_browser()),
    ]
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn a_token_for_a_server_without_oauth_metadata_is_imported_and_used() {
    let key = "mcp-remote-imported-0123456789";
    let peer = Peer::start_with(PeerKind::StatefulJson, &["--require-bearer", key]);
    let home = tempfile::tempdir().unwrap();
    let (valet_home, auth) = (home.path().join("valet"), home.path().join("auth"));
    let env = env(home.path(), &valet_home, &auth);
    let files = fabricate(
        &auth,
        &peer.url,
        &json!({"access_token": key, "token_type": "Bearer", "expires_in": 3600, "refresh_token": "r1"}),
        &json!({"client_id": "mcp-remote-client", "redirect_uris": ["http://localhost:40123/oauth/callback"]}),
    );
    // A client's configuration that starts mcp-remote for the server: the listing names it.
    std::fs::create_dir_all(home.path().join(".cursor")).unwrap();
    std::fs::write(
        home.path().join(".cursor/mcp.json"),
        json!({"mcpServers": {"peer": {"command": "npx", "args": ["-y", "mcp-remote", peer.url]}}}).to_string(),
    )
    .unwrap();

    let out = run(&["import", "mcp-remote"], &env);
    let err = stderr(&out);
    assert!(out.status.success(), "{err}");
    assert!(
        err.contains(&md5(&peer.url)) && err.contains(&format!("= {}", peer.url)),
        "{err}"
    );
    assert!(
        err.contains(&format!("mcp-valet import mcp-remote {}", peer.url)),
        "{err}"
    );

    let out = run(&["import", "mcp-remote", &peer.url], &env);
    let err = stderr(&out);
    assert!(out.status.success(), "{err}");
    assert!(
        err.contains("Imported mcp-remote's login") && err.contains("the access token alone"),
        "{err}"
    );
    assert!(
        err.contains("--remove"),
        "tells how to delete the plaintext copies: {err}"
    );
    assert!(!err.contains(key), "no token in messages: {err}");
    assert!(files.iter().all(|f| f.exists()), "the originals stay without --remove");

    let out = run(&["token", &peer.url], &env);
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), key, "{}", stderr(&out));
    let rows: Value = serde_json::from_slice(&run(&["status", "--json"], &env).stdout).unwrap();
    assert_eq!(rows.as_array().unwrap().len(), 1, "{rows}");
    assert_eq!(rows[0]["usable"], true, "{rows}");
    assert_eq!(rows[0]["imported_from"], "mcp-remote", "{rows}");
    let s = String::from_utf8(run(&["status", &peer.url], &env).stdout).unwrap();
    assert!(
        s.contains("imported from: mcp-remote") && s.contains("the access token alone"),
        "{s}"
    );

    let mut v = Valet::spawn_env(&[&peer.url], &env);
    v.handshake();
    assert_eq!(text(&v.tool(1, "echo", json!({"text": "imported"}))), "imported");
    drop(v);

    // A second import of the same server: refused, nothing changed.
    let out = run(&["import", "mcp-remote", &peer.url], &env);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("already has a login"), "{}", stderr(&out));

    // Into another store, with --remove: mcp-remote's files of that server are gone.
    let other = home.path().join("valet2");
    let mut env2 = env.clone();
    env2[2].1 = other.to_str().unwrap().into();
    let out = run(&["import", "mcp-remote", &peer.url, "--remove"], &env2);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(files.iter().all(|f| !f.exists()), "--remove deletes mcp-remote's files");
}

#[test]
fn nothing_to_import_is_one_line_naming_the_problem() {
    let home = tempfile::tempdir().unwrap();
    let (valet_home, auth) = (home.path().join("valet"), home.path().join("auth"));
    let env = env(home.path(), &valet_home, &auth);
    let out = run(&["import", "mcp-remote"], &env);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("nothing to import") && err.contains("MCP_REMOTE_CONFIG_DIR"),
        "{err}"
    );

    std::fs::create_dir_all(auth.join("mcp-remote-0.1.38")).unwrap();
    let out = run(&["import", "mcp-remote"], &env);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("nothing to import"), "{}", stderr(&out));

    // A URL mcp-remote has nothing for.
    fabricate(
        &auth,
        "https://one.example/mcp",
        &json!({"access_token": "a", "token_type": "Bearer"}),
        &json!({"client_id": "c", "redirect_uris": []}),
    );
    let out = run(&["import", "mcp-remote", "https://two.example/mcp"], &env);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("has nothing for this URL") && err.contains(&md5("https://two.example/mcp")),
        "{err}"
    );
    assert!(!valet_home.join("state.json").exists(), "nothing was stored");
}

#[test]
fn an_oauth_login_is_imported_with_its_issuer_and_client() {
    // A real login (mcp-valet's own, in another home) gives real tokens of the stack's
    // authorization server, laid out as mcp-remote keeps them.
    let stack = Stack::start(&[], &[]);
    let home = tempfile::tempdir().unwrap();
    let RealLogin { auth, token, client_id } = real_login_as_mcp_remote(&stack, home.path(), json!({"scope": "mcp"}));

    let second = home.path().join("second");
    let env = env(home.path(), &second, &auth);
    let out = run(&["import", "mcp-remote", &stack.mcp], &env);
    let err = stderr(&out);
    assert!(out.status.success(), "{err}");
    assert!(
        err.contains(&format!("client registration at {}", stack.issuer)),
        "{err}"
    );
    let rows: Value = serde_json::from_slice(&run(&["status", "--json"], &env).stdout).unwrap();
    assert_eq!(rows[0]["issuer"], stack.issuer.as_str(), "{rows}");
    assert_eq!(rows[0]["client_id"], client_id.as_str(), "{rows}");
    assert_eq!(rows[0]["imported_from"], "mcp-remote", "{rows}");
    let refreshes = grants(&stack.as_stats(), "refresh_token");
    let out = run(&["token", &stack.mcp], &env);
    let fresh = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success() && !fresh.trim().is_empty(), "{}", stderr(&out));
    assert_ne!(fresh, token, "the expired imported token was refreshed");
    assert_eq!(grants(&stack.as_stats(), "refresh_token"), refreshes + 1);
    let mut v = Valet::spawn_env(&[&stack.mcp], &env);
    v.handshake();
    assert_eq!(
        text(&v.tool(1, "echo", json!({"text": "with the imported token"}))),
        "with the imported token"
    );
    assert_eq!(stack.as_stats()["authorizationRequests"], 1, "no second sign-in");
}

/// A real login (mcp-valet's own, in `home/first`) to the stack's authorization server, laid
/// out as mcp-remote keeps it in `home/auth`: its access token (expired already, so the first
/// use refreshes it with mcp-remote's client; `extra` adds fields to the tokens file), its
/// refresh token and its client.
pub(crate) struct RealLogin {
    pub auth: PathBuf,
    pub token: String,
    pub client_id: String,
}

pub(crate) fn real_login_as_mcp_remote(stack: &Stack, home: &Path, extra: Value) -> RealLogin {
    let (first, auth) = (home.join("first"), home.join("auth"));
    let env_first = env(home, &first, &auth);
    assert!(run(&["login", &stack.mcp], &env_first).status.success());
    let token = String::from_utf8(run(&["token", &stack.mcp], &env_first).stdout).unwrap();
    let rows: Value = serde_json::from_slice(&run(&["status", "--json"], &env_first).stdout).unwrap();
    let client_id = rows[0]["client_id"].as_str().unwrap().to_owned();
    let mut tokens = json!({"access_token": token.trim(), "token_type": "Bearer", "expires_in": 0,
                            "refresh_token": refresh_token_in(&first.join("secrets.json"))});
    if let (Some(t), Value::Object(more)) = (tokens.as_object_mut(), extra) {
        t.extend(more);
    }
    fabricate(
        &auth,
        &stack.mcp,
        &tokens,
        &json!({"client_id": client_id, "redirect_uris": ["http://localhost:40123/oauth/callback"],
                "token_endpoint_auth_method": "none"}),
    );
    RealLogin { auth, token, client_id }
}

/// The refresh token of the one login in a file store's secrets file.
pub(crate) fn refresh_token_in(secrets: &Path) -> String {
    fn find(v: &Value) -> Option<String> {
        match v {
            Value::Object(m) => match m.get("refresh_token").and_then(Value::as_str) {
                Some(r) => Some(r.to_owned()),
                None => m.values().find_map(find),
            },
            _ => None,
        }
    }
    let v: Value = serde_json::from_slice(&std::fs::read(secrets).unwrap()).unwrap();
    find(&v).expect("the login has a refresh token")
}
