//! The token store against a real Secret Service (gnome-keyring-daemon in a private
//! `dbus-run-session`), and its fallback when no session bus exists.
//!
//! Each scenario runs in a child process of this test binary, with its own HOME, XDG
//! directories and D-Bus session: it never touches the user's keyring or data directory, the
//! keyring crate's once-per-process state starts fresh, and scenarios can run in parallel.
//!
//! Needs `dbus-run-session` (package dbus) and `gnome-keyring-daemon` (package gnome-keyring);
//! `secret-tool` (libsecret-tools) is used for extra checks when present. Without them the
//! Secret Service scenarios are skipped with a note, unless `MCP_VALET_REQUIRE_KEYRING=1`
//! (as in CI), which makes them fail. The no-bus fallback scenario needs nothing and always runs.

use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::common::keyring::{find_tool, in_keyring_session, is_child, passed, private_home, run_child, this_test};
use crate::store::{
    Backend, ChosenBy, CrashAfter, EntryKey, EntryMeta, Registration, Secret, Secrets, Store, StoreOptions,
};

/// Warnings to stderr, as the real program logs them.
fn init_logging() {
    let _ = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .with_max_level(tracing::Level::WARN)
        .try_init();
}

fn key(n: u32) -> EntryKey {
    EntryKey {
        resource: format!("https://mcp{n}.example.com/mcp"),
        issuer: "https://auth.example.com".into(),
        client_id: "client-1".into(),
        profile: None,
        tenant: None,
    }
}

fn meta(tag: &str) -> EntryMeta {
    EntryMeta {
        account: Some(format!("user-{tag}")),
        scopes: vec!["openid".into()],
        has_refresh_token: true,
        ..Default::default()
    }
}

fn secrets(tag: &str) -> Secrets {
    Secrets {
        access_token: Some(Secret::new(format!("at-SECRET-{tag}"))),
        refresh_token: Some(Secret::new(format!("rt-SECRET-{tag}"))),
        id_token: Some(Secret::new(format!("id-SECRET-{tag}"))),
    }
}

/// A JWT-looking token of about `len` bytes (base64url segments), different for each `tag`.
fn big_jwt(tag: &str, len: usize) -> String {
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15 ^ tag.bytes().fold(0, |h, b| h * 31 + u64::from(b));
    let mut seg = |n: usize| -> String {
        (0..n)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                alphabet[(x % 64) as usize] as char
            })
            .collect()
    };
    format!(
        "eyJhbGciOiJSUzI1NiJ9.{}.{}-{tag}",
        seg(len.saturating_sub(364)),
        seg(342)
    )
}

fn big_secrets(tag: &str) -> Secrets {
    Secrets {
        access_token: Some(Secret::new(big_jwt(&format!("a{tag}"), 12_000))),
        refresh_token: Some(Secret::new(format!("rt-SECRET-{tag}"))),
        id_token: Some(Secret::new(big_jwt(&format!("i{tag}"), 3_000))),
    }
}

fn open(home: &Path, backend: Option<Backend>) -> Store {
    Store::open(&StoreOptions {
        backend,
        home: Some(home.to_path_buf()),
    })
    .unwrap()
}

fn state(home: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(home.join("state.json")).unwrap()).unwrap()
}

/// The secret reference state.json keeps for login `resource`.
fn secret_ref(home: &Path, resource: &str) -> Value {
    state(home)["entries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["key"]["resource"] == resource)
        .map(|e| e["secrets"].clone())
        .expect("the login is in state.json")
}

/// What `secret-tool` (libsecret, a client independent of ours) finds under this account.
fn secret_tool_lookup(account: &str) -> Option<String> {
    let tool = find_tool("secret-tool")?;
    let out = Command::new(tool)
        .args(["lookup", "service", "mcp-valet", "username", account])
        .output()
        .unwrap();
    Some(String::from_utf8(out.stdout).unwrap())
}

fn no_secret_in_state(home: &Path) {
    let text = std::fs::read_to_string(home.join("state.json")).unwrap();
    assert!(
        !text.contains("SECRET") && !text.contains("eyJ"),
        "a token in state.json:\n{text}"
    );
}

#[test]
fn keyring_round_trip() {
    const NAME: &str = "store_keyring::keyring_round_trip";
    if !in_keyring_session(NAME) {
        return;
    }
    init_logging();
    let d = tempfile::tempdir().unwrap();
    let home = d.path();
    // The default choice: keyring, no fallback here.
    let s = open(home, None);
    assert_eq!(s.describe().keyring, None, "open must not touch the keyring");
    let t = Instant::now();
    assert_eq!(s.check_keyring(), Ok(()));
    let connect = t.elapsed();
    let t = Instant::now();
    s.save(&key(1), &meta("a"), &secrets("a")).unwrap();
    let first_save = t.elapsed();
    assert_eq!(s.backend(), Backend::Keyring);

    let r = secret_ref(home, &key(1).resource);
    assert_eq!(r["backend"], "keyring");
    let account = r["account"].as_str().unwrap().to_owned();
    assert!(account.starts_with("login-"), "{account}");
    assert!(!home.join("secrets.json").exists(), "nothing went to the file");
    no_secret_in_state(home);
    if let Some(found) = secret_tool_lookup(&account) {
        assert!(
            found.contains("rt-SECRET-a") && found.contains("at-SECRET-a"),
            "secret-tool: {found}"
        );
    }

    // Another store (as another process would) reads it back; entries record the back end.
    let s2 = open(home, None);
    let t = Instant::now();
    let (m, sec) = s2.load(&key(1)).unwrap().unwrap();
    let load = t.elapsed();
    assert_eq!(sec, secrets("a"));
    assert_eq!(m.backend, Some(Backend::Keyring));
    assert_eq!(
        s2.find(&key(1).resource, None, None).unwrap()[0].1.backend,
        Some(Backend::Keyring)
    );

    // Replacing the login moves it to a new item and removes the old one.
    s2.save(&key(1), &meta("b"), &secrets("b")).unwrap();
    assert_eq!(s.load(&key(1)).unwrap().unwrap().1, secrets("b"));
    let account_b = secret_ref(home, &key(1).resource)["account"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_ne!(account, account_b);
    if let Some(found) = secret_tool_lookup(&account) {
        assert_eq!(found, "", "the replaced item is gone");
    }

    // A store whose default is now the file still reads the keyring login from the keyring.
    let f = open(home, Some(Backend::File));
    assert_eq!(f.load(&key(1)).unwrap().unwrap().1, secrets("b"));

    // The client secret of a registration goes to the keyring too.
    let reg = Registration {
        issuer: "https://auth.example.com".into(),
        client_id: "dyn-1".into(),
        kind: "dynamic".into(),
        redirect_uris: vec![],
        token_endpoint_auth_method: Some("client_secret_post".into()),
        client_secret: Some(Secret::new("cs-SECRET-1")),
        created_at: 0,
        extra: Default::default(),
    };
    s.save_registration(&reg, None).unwrap();
    let st = state(home);
    assert_eq!(st["registrations"][0]["secrets"]["backend"], "keyring");
    no_secret_in_state(home);
    assert_eq!(
        s2.registration(&reg.issuer, None).unwrap().unwrap().client_secret,
        reg.client_secret
    );
    assert!(s2.delete_registration(&reg.issuer, None).unwrap());

    // Raw round-trip time: one read of one item.
    let n = 20;
    let t = Instant::now();
    for _ in 0..n {
        s.load(&key(1)).unwrap().unwrap();
    }
    let per_load = t.elapsed() / n;
    let t = Instant::now();
    for i in 0..n {
        s.save(&key(1), &meta("b"), &secrets(&format!("t{i}"))).unwrap();
    }
    let per_save = t.elapsed() / n;
    println!(
        "KEYRING TIMING: connect (Secret Service session) {connect:?}; first save {first_save:?}; \
         load in a second store {load:?}; load (1 item) {per_load:?}; \
         save (write new item + state.json + delete old item) {per_save:?}"
    );
    s.save(&key(1), &meta("b"), &secrets("b")).unwrap();
    let account_b = secret_ref(home, &key(1).resource)["account"]
        .as_str()
        .unwrap()
        .to_owned();

    // Delete removes the item; a secret already gone is tolerated.
    assert!(s.delete(&key(1)).unwrap());
    if let Some(found) = secret_tool_lookup(&account_b) {
        assert_eq!(found, "");
    }
    assert!(s.load(&key(1)).unwrap().is_none());
    s.save(&key(2), &meta("c"), &secrets("c")).unwrap();
    let acc = secret_ref(home, &key(2).resource)["account"]
        .as_str()
        .unwrap()
        .to_owned();
    if let Some(tool) = find_tool("secret-tool") {
        let st = Command::new(tool)
            .args(["clear", "service", "mcp-valet", "username", &acc])
            .status()
            .unwrap();
        assert!(st.success());
        assert!(
            s.load(&key(2)).unwrap().is_none(),
            "removed behind our back: logged out"
        );
    }
    assert!(s.delete(&key(2)).unwrap());
    assert!(s.entries().unwrap().is_empty());
    passed(NAME);
}

#[test]
fn keyring_large_tokens_and_chunks() {
    const NAME: &str = "store_keyring::keyring_large_tokens_and_chunks";
    if !in_keyring_session(NAME) {
        return;
    }
    init_logging();
    let d = tempfile::tempdir().unwrap();
    let home = d.path();
    let big = big_secrets("1");
    assert!(big.access_token.as_ref().unwrap().expose().len() >= 12_000);

    // This platform's limit: one item.
    let s = open(home, Some(Backend::Keyring));
    s.save(&key(1), &meta("a"), &big).unwrap();
    assert_eq!(s.load(&key(1)).unwrap().unwrap().1, big);
    let r = secret_ref(home, &key(1).resource);
    assert!(r.get("chunks").is_none(), "one item on Linux: {r}");

    // Windows' limit (2560 bytes per credential), exercised here.
    let mut w = open(home, Some(Backend::Keyring));
    w.set_keyring_chunk_limit(2560);
    w.save(&key(1), &meta("b"), &big).unwrap();
    let r = secret_ref(home, &key(1).resource);
    let chunks = r["chunks"].as_u64().unwrap() as u32;
    assert!(chunks >= 6, "{r}");
    println!("a {}-byte login in {chunks} chunks of at most 2560 bytes", {
        let t = |s: &Option<Secret>| s.as_ref().map_or(0, |s| s.expose().len());
        t(&big.access_token) + t(&big.refresh_token) + t(&big.id_token)
    });
    let base = r["account"].as_str().unwrap().to_owned();
    if find_tool("secret-tool").is_some() {
        let mut joined = String::new();
        for i in 0..chunks {
            let acc = if i == 0 { base.clone() } else { format!("{base}-{i}") };
            let part = secret_tool_lookup(&acc).unwrap();
            assert!(
                !part.is_empty() && part.len() <= 2560,
                "chunk {i}: {} bytes",
                part.len()
            );
            joined.push_str(&part);
        }
        let v: Value = serde_json::from_str(&joined).unwrap();
        assert_eq!(
            v["access_token"].as_str(),
            big.access_token.as_ref().map(|t| t.expose())
        );
    }
    no_secret_in_state(home);
    // Any reader gets it back, whatever its own chunk limit.
    assert_eq!(open(home, None).load(&key(1)).unwrap().unwrap().1, big);

    // Crashes at each step of a chunked save leave the old or the new login.
    let newer = big_secrets("2");
    for (at, expect) in [
        (CrashAfter::FirstChunk, &big),
        (CrashAfter::Secrets, &big),
        (CrashAfter::State, &newer),
    ] {
        w.save(&key(1), &meta("old"), &big).unwrap();
        w.inject_failure(Some(at));
        w.save(&key(1), &meta("new"), &newer).unwrap_err();
        w.inject_failure(None);
        let (m, sec) = open(home, None).load(&key(1)).unwrap().unwrap();
        assert_eq!(&sec, expect, "{at:?}");
        let tag = if std::ptr::eq(expect, &big) { "old" } else { "new" };
        assert_eq!(m.account.unwrap(), format!("user-{tag}"), "{at:?}");
    }

    // Delete removes every chunk.
    let r = secret_ref(home, &key(1).resource);
    let (base, chunks) = (r["account"].as_str().unwrap().to_owned(), r["chunks"].as_u64().unwrap());
    assert!(w.delete(&key(1)).unwrap());
    if find_tool("secret-tool").is_some() {
        for i in 0..chunks {
            let acc = if i == 0 { base.clone() } else { format!("{base}-{i}") };
            assert_eq!(secret_tool_lookup(&acc).unwrap(), "", "chunk {i} left behind");
        }
    }
    passed(NAME);
}

/// The grandchild of `keyring_kill_9_during_saves`: saves one chunked login over and over.
#[test]
fn keyring_saver_grandchild() {
    const NAME: &str = "store_keyring::keyring_saver_grandchild";
    if !is_child(NAME) {
        return;
    }
    let home = PathBuf::from(std::env::var("MCP_VALET_TEST_HOME").unwrap());
    let start: u64 = std::env::var("MCP_VALET_TEST_START").unwrap().parse().unwrap();
    let mut s = open(&home, Some(Backend::Keyring));
    s.set_keyring_chunk_limit(2560);
    for i in start.. {
        s.save(&key(1), &meta(&i.to_string()), &big_secrets(&i.to_string()))
            .unwrap();
        println!("\nSAVED {i}");
    }
}

#[test]
fn keyring_kill_9_during_saves() {
    const NAME: &str = "store_keyring::keyring_kill_9_during_saves";
    if !in_keyring_session(NAME) {
        return;
    }
    let d = tempfile::tempdir().unwrap();
    let mut last = 0u64;
    for round in 0..6u64 {
        let mut c = this_test("store_keyring::keyring_saver_grandchild");
        c.env("MCP_VALET_TEST_HOME", d.path())
            .env("MCP_VALET_TEST_START", (last + 1).to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        let mut child = c.spawn().unwrap();
        let mut out = std::io::BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        while !line.starts_with("SAVED") {
            line.clear();
            assert_ne!(out.read_line(&mut line).unwrap(), 0, "the saver died");
        }
        std::thread::sleep(Duration::from_millis(5 + round * 23));
        child.kill().unwrap(); // SIGKILL, somewhere inside a save
        child.wait().unwrap();
        let (m, sec) = open(d.path(), None).load(&key(1)).unwrap().expect("a login survives");
        let tag = m.account.unwrap().trim_start_matches("user-").to_owned();
        assert_eq!(sec, big_secrets(&tag), "round {round}: meta and secrets from one save");
        println!("round {round}: killed after save {tag}; the login read back whole");
        last = tag.parse().unwrap();
    }
    passed(NAME);
}

/// Linux and the BSDs only: elsewhere the keyring does not depend on D-Bus.
#[cfg(all(unix, not(any(target_os = "macos", target_os = "ios"))))]
#[test]
fn fallback_without_a_session_bus() {
    const NAME: &str = "store_keyring::fallback_without_a_session_bus";
    if !is_child(NAME) {
        let mut c = this_test(NAME);
        let home = private_home(&mut c);
        // A bus address that leads nowhere, and no /run/user/<uid>/bus in XDG_RUNTIME_DIR.
        c.env(
            "DBUS_SESSION_BUS_ADDRESS",
            format!("unix:path={}", home.path().join("no-bus").display()),
        );
        let (ok, out) = run_child(c);
        assert!(ok, "{out}");
        assert!(out.contains(&format!("SCENARIO {NAME} PASSED")), "{out}");
        let warnings: Vec<_> = out.lines().filter(|l| l.contains("no usable OS keyring")).collect();
        assert_eq!(warnings.len(), 1, "exactly one warning per process:\n{out}");
        assert!(warnings[0].contains("WARN"), "{}", warnings[0]);
        assert!(warnings[0].contains("secrets.json (mode 0600)"), "{}", warnings[0]);
        assert!(!out.contains("SECRET"), "a secret in the output:\n{out}");
        return;
    }
    init_logging();
    let d = tempfile::tempdir().unwrap();
    let home = d.path();
    // Two stores, several saves: one warning for the whole process.
    let s = open(home, None);
    assert_eq!(s.backend(), Backend::Keyring, "undecided until the first secret access");
    s.save(&key(1), &meta("a"), &secrets("a")).unwrap();
    assert_eq!(s.backend(), Backend::File);
    let reason = s.describe().keyring.unwrap().unwrap_err();
    println!("fallback reason: {reason}");
    let info = s.describe();
    assert_eq!((info.backend, info.chosen_by), (Backend::File, ChosenBy::Default));
    let s2 = open(home, None);
    s2.save(&key(2), &meta("b"), &secrets("b")).unwrap();
    s2.save(&key(1), &meta("c"), &secrets("c")).unwrap();
    let (m, sec) = s.load(&key(1)).unwrap().unwrap();
    assert_eq!(sec, secrets("c"));
    assert_eq!(m.backend, Some(Backend::File));
    assert_eq!(secret_ref(home, &key(2).resource)["backend"], "file");
    no_secret_in_state(home);
    let file = home.join("secrets.json");
    assert!(std::fs::read_to_string(&file).unwrap().contains("rt-SECRET-b"));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&file).unwrap().permissions().mode() & 0o777, 0o600);
    }

    // An explicit keyring choice fails clearly instead of falling back, and writes nothing.
    let k = open(home, Some(Backend::Keyring));
    let before = std::fs::read(&file).unwrap();
    let e = k.save(&key(3), &meta("d"), &secrets("d")).unwrap_err().to_string();
    println!("explicit keyring error: {e}");
    assert!(
        e.contains("OS keyring cannot be used") && e.contains("--token-store keyring"),
        "{e}"
    );
    assert!(!e.contains("SECRET"), "{e}");
    assert_eq!(std::fs::read(&file).unwrap(), before);
    assert!(k.find(&key(3).resource, None, None).unwrap().is_empty());

    // A login kept in the keyring cannot be read here: a clear error, not a panic or a hang.
    let mut st = state(home);
    st["entries"][0]["secrets"]["backend"] = "keyring".into();
    std::fs::write(home.join("state.json"), serde_json::to_vec(&st).unwrap()).unwrap();
    let e = s.load(&key(1)).unwrap_err().to_string();
    println!("keyring login without a keyring: {e}");
    assert!(e.contains("in the OS keyring, which cannot be used here"), "{e}");
    passed(NAME);
}
