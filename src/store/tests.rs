//! Unit tests of the store: round trips on every back end, compatibility with other versions
//! of the files, damaged files, crashes (injected, and a real `kill -9`), concurrent writers.

use super::*;
use serde_json::Value;
use std::io::Write as _;
use std::path::Path;

fn key(n: u32) -> EntryKey {
    EntryKey {
        resource: format!("https://mcp{n}.example.com/mcp"),
        issuer: "https://auth.example.com".into(),
        client_id: "client-1".into(),
        profile: None,
        tenant: None,
    }
}

fn secrets(tag: &str) -> Secrets {
    Secrets {
        access_token: Some(Secret::new(format!("at-SECRET-{tag}"))),
        refresh_token: Some(Secret::new(format!("rt-SECRET-{tag}"))),
        id_token: Some(Secret::new(format!("id-SECRET-{tag}"))),
    }
}

fn meta(tag: &str) -> EntryMeta {
    EntryMeta {
        resource_indicator: Some("https://mcp.example.com".into()),
        account: Some(format!("user-{tag}")),
        scopes: vec!["openid".into(), format!("scope-{tag}")],
        expires_at: Some(1_900_000_000),
        has_refresh_token: true,
        token_endpoint: Some("https://auth.example.com/token".into()),
        revocation_endpoint: Some("https://auth.example.com/revoke".into()),
        token_endpoint_auth_method: Some("client_secret_basic".into()),
        era: Some("2025-11-25".into()),
        updated_at: 0,
        backend: None,
        extra: Map::new(),
    }
}

fn open(home: &Path, backend: Backend) -> Store {
    Store::open(&StoreOptions {
        backend: Some(backend),
        home: Some(home.to_path_buf()),
    })
    .unwrap()
}

fn read(home: &Path, name: &str) -> String {
    std::fs::read_to_string(home.join(name)).unwrap_or_default()
}

#[cfg(unix)]
fn mode(p: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

/// Runs `f` with this thread's warnings collected.
fn capture_warnings<R>(f: impl FnOnce() -> R) -> (R, String) {
    #[derive(Clone, Default)]
    struct Buf(Arc<Mutex<Vec<u8>>>);
    impl std::io::Write for Buf {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let buf = Buf::default();
    let w = buf.clone();
    let sub = tracing_subscriber::fmt()
        .with_writer(move || w.clone())
        .with_ansi(false)
        .with_max_level(tracing::Level::WARN)
        .finish();
    let r = tracing::subscriber::with_default(sub, f);
    let text = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
    (r, text)
}

#[test]
fn file_back_end_round_trip() {
    let d = tempfile::tempdir().unwrap();
    let home = d.path().join("home");
    let s = open(&home, Backend::File);
    assert!(s.load(&key(1)).unwrap().is_none());
    s.save(&key(1), &meta("a"), &secrets("a")).unwrap();
    let (m, sec) = s.load(&key(1)).unwrap().unwrap();
    assert_eq!(sec, secrets("a"));
    assert!(m.updated_at > 0, "save fills updated_at");
    let expected = EntryMeta {
        backend: Some(Backend::File),
        updated_at: m.updated_at,
        ..meta("a")
    };
    assert_eq!(m, expected, "every field comes back");
    // A second store (another process) sees it.
    let s2 = open(&home, Backend::File);
    assert_eq!(s2.load(&key(1)).unwrap().unwrap().1, secrets("a"));
    let found = s2.find(&key(1).resource, None, None).unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].1.backend, Some(Backend::File));
    assert!(s2.find(&key(1).resource, Some("work"), None).unwrap().is_empty());
    // state.json has no token; secrets.json has them, 0600; the directories are 0700.
    let state = read(&home, STATE_FILE);
    assert!(!state.contains("SECRET"), "{state}");
    assert!(state.contains("\"version\": 1"));
    assert!(read(&home, SECRETS_FILE).contains("rt-SECRET-a"));
    #[cfg(unix)]
    {
        assert_eq!(mode(&home), 0o700);
        assert_eq!(mode(&home.join(LOCKS_DIR)), 0o700);
        assert_eq!(mode(&home.join(STATE_FILE)), 0o600);
        assert_eq!(mode(&home.join(SECRETS_FILE)), 0o600);
    }
    // Replacing the login leaves exactly one secret item: the old one is removed.
    s.save(&key(1), &meta("b"), &secrets("b")).unwrap();
    assert_eq!(s2.load(&key(1)).unwrap().unwrap().1, secrets("b"));
    let file: Value = serde_json::from_str(&read(&home, SECRETS_FILE)).unwrap();
    assert_eq!(file["secrets"].as_object().unwrap().len(), 1);
    assert!(!read(&home, SECRETS_FILE).contains("SECRET-a"));
    // Delete removes both; a second delete says there was nothing.
    assert!(s2.delete(&key(1)).unwrap());
    assert!(!s2.delete(&key(1)).unwrap());
    assert!(s.load(&key(1)).unwrap().is_none());
    assert!(s.entries().unwrap().is_empty());
    assert!(!read(&home, SECRETS_FILE).contains("SECRET"));
}

#[test]
fn logins_without_secrets_and_partial_secrets() {
    let d = tempfile::tempdir().unwrap();
    let s = open(d.path(), Backend::File);
    s.save(&key(1), &meta("a"), &Secrets::default()).unwrap();
    assert_eq!(s.load(&key(1)).unwrap().unwrap().1, Secrets::default());
    let only_access = Secrets {
        access_token: Some(Secret::new("at-SECRET")),
        ..Default::default()
    };
    s.save(&key(1), &meta("a"), &only_access).unwrap();
    assert_eq!(s.load(&key(1)).unwrap().unwrap().1, only_access);
}

#[test]
fn profiles_and_newest_first() {
    let d = tempfile::tempdir().unwrap();
    let s = open(d.path(), Backend::File);
    let mut older = key(1);
    older.client_id = "old-client".into();
    let mut m = meta("old");
    m.updated_at = 100;
    s.save(&older, &m, &secrets("old")).unwrap();
    let mut m = meta("new");
    m.updated_at = 200;
    s.save(&key(1), &m, &secrets("new")).unwrap();
    let mut work = key(1);
    work.profile = Some("work".into());
    s.save(&work, &meta("work"), &secrets("work")).unwrap();
    let found = s.find(&key(1).resource, None, None).unwrap();
    assert_eq!(
        found.iter().map(|(k, _)| k.client_id.as_str()).collect::<Vec<_>>(),
        ["client-1", "old-client"]
    );
    let found = s.find(&key(1).resource, Some("work"), None).unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(s.load(&work).unwrap().unwrap().1, secrets("work"));
    assert_eq!(s.entries().unwrap().len(), 3);
}

#[test]
fn registrations_keep_the_client_secret_out_of_the_state_file() {
    let d = tempfile::tempdir().unwrap();
    let s = open(d.path(), Backend::File);
    let reg = Registration {
        issuer: "https://auth.example.com".into(),
        client_id: "dyn-1".into(),
        kind: "dynamic".into(),
        redirect_uris: vec!["http://127.0.0.1:33418/callback".into()],
        token_endpoint_auth_method: Some("client_secret_basic".into()),
        client_secret: Some(Secret::new("cs-SECRET-1")),
        created_at: 0,
        extra: Map::new(),
    };
    s.save_registration(&reg, None).unwrap();
    let mut public = reg.clone();
    public.client_secret = None;
    public.client_id = "pub-1".into();
    s.save_registration(&public, Some("work")).unwrap();
    let got = s.registration(&reg.issuer, None).unwrap().unwrap();
    assert_eq!(got.client_secret, reg.client_secret);
    assert_eq!(got.redirect_uris, reg.redirect_uris);
    assert!(got.created_at > 0);
    let got = s.registration(&reg.issuer, Some("work")).unwrap().unwrap();
    assert_eq!(got.client_id, "pub-1");
    assert_eq!(got.client_secret, None);
    assert!(!read(d.path(), STATE_FILE).contains("SECRET"));
    assert!(read(d.path(), SECRETS_FILE).contains("cs-SECRET-1"));
    assert!(s.delete_registration(&reg.issuer, None).unwrap());
    assert!(!s.delete_registration(&reg.issuer, None).unwrap());
    assert!(s.registration(&reg.issuer, None).unwrap().is_none());
    assert!(s.registration(&reg.issuer, Some("work")).unwrap().is_some());
    assert!(!read(d.path(), SECRETS_FILE).contains("SECRET"));
}

#[test]
fn memory_back_end_writes_nothing() {
    let d = tempfile::tempdir().unwrap();
    let home = d.path().join("home");
    let s = open(&home, Backend::Memory);
    s.save(&key(1), &meta("a"), &secrets("a")).unwrap();
    assert_eq!(s.load(&key(1)).unwrap().unwrap().1, secrets("a"));
    assert_eq!(s.load(&key(1)).unwrap().unwrap().0.backend, Some(Backend::Memory));
    let l = s.lock("scope", Duration::ZERO).unwrap().expect("free");
    assert!(s.lock("scope", Duration::from_millis(30)).unwrap().is_none());
    drop(l);
    assert!(s.delete(&key(1)).unwrap());
    assert!(!home.exists(), "memory mode created {}", home.display());
    assert!(s.describe().state_file.is_none());
    // Another store (as another process would be) sees nothing.
    s.save(&key(1), &meta("a"), &secrets("a")).unwrap();
    assert!(open(&home, Backend::Memory).load(&key(1)).unwrap().is_none());
}

#[test]
fn open_is_lazy() {
    // Opening reads nothing and creates nothing until a login is asked for; how fast that
    // is, is the benchmark's business, not a test's.
    let d = tempfile::tempdir().unwrap();
    let home = d.path().join("home");
    let opts = StoreOptions {
        backend: None,
        home: Some(home.clone()),
    };
    let s = Store::open(&opts).unwrap();
    assert!(s.find("https://x", None, None).unwrap().is_empty());
    assert!(s.describe().state_file.is_some());
    assert!(!home.exists(), "reading created files");
    let f = open(&home, Backend::File);
    for n in 0..20 {
        f.save(&key(n), &meta("a"), &secrets("a")).unwrap();
    }
    let s = Store::open(&opts).unwrap();
    assert_eq!(s.find(&key(7).resource, None, None).unwrap().len(), 1);
}

#[test]
fn choosing_the_back_end_and_the_home() {
    use std::ffi::OsString;
    assert_eq!(choose(None, None).unwrap(), Choice::Auto);
    assert_eq!(choose(None, Some(OsString::from(" "))).unwrap(), Choice::Auto);
    assert_eq!(
        choose(None, Some(OsString::from("File"))).unwrap(),
        Choice::Chosen(Backend::File, ChosenBy::Env)
    );
    assert_eq!(
        choose(Some(Backend::Memory), Some(OsString::from("file"))).unwrap(),
        Choice::Chosen(Backend::Memory, ChosenBy::Option)
    );
    let e = choose(None, Some(OsString::from("vault"))).unwrap_err().to_string();
    assert!(e.contains(TOKEN_STORE_ENV) && e.contains("vault"), "{e}");
    // Absolute paths as the platform spells them: on Windows "/x/y" is relative to the current
    // drive, and made absolute as "C:\x\y" (or "Z:\x\y" under wine).
    let (xy, z) = if cfg!(windows) {
        (r"C:\x\y", r"C:\z")
    } else {
        ("/x/y", "/z")
    };
    let p = resolve_home(Some(Path::new(xy)), Some(OsString::from(z))).unwrap();
    assert_eq!(p, Path::new(xy));
    let p = resolve_home(None, Some(OsString::from(z))).unwrap();
    assert_eq!(p, Path::new(z));
    let p = resolve_home(None, Some(OsString::from("rel"))).unwrap();
    assert!(p.is_absolute() && p.ends_with("rel"));
    if std::env::var_os("HOME").is_some() {
        let p = resolve_home(None, None).unwrap();
        assert!(p.ends_with("mcp-valet"), "{}", p.display());
    }
}

#[test]
fn a_newer_state_file_is_read_but_never_written() {
    let d = tempfile::tempdir().unwrap();
    let s = open(d.path(), Backend::File);
    s.save(&key(1), &meta("a"), &secrets("a")).unwrap();
    let mut v: Value = serde_json::from_str(&read(d.path(), STATE_FILE)).unwrap();
    v["version"] = Value::from(2);
    v["new_thing"] = Value::from(true);
    let newer = serde_json::to_string(&v).unwrap();
    std::fs::write(d.path().join(STATE_FILE), &newer).unwrap();
    assert_eq!(s.entries().unwrap().len(), 1);
    assert_eq!(s.load(&key(1)).unwrap().unwrap().1, secrets("a"));
    let e = s.save(&key(2), &meta("b"), &secrets("b")).unwrap_err().to_string();
    assert!(e.contains("newer mcp-valet") && e.contains("version 2"), "{e}");
    let e = s.delete(&key(1)).unwrap_err().to_string();
    assert!(e.contains("newer mcp-valet"), "{e}");
    assert_eq!(read(d.path(), STATE_FILE), newer, "never clobbered");
    assert_eq!(s.load(&key(1)).unwrap().unwrap().1, secrets("a"));
    // The failed save left no new item behind.
    let file: Value = serde_json::from_str(&read(d.path(), SECRETS_FILE)).unwrap();
    assert_eq!(file["secrets"].as_object().unwrap().len(), 1);
    // A newer file whose structure we cannot read is not "damaged": not moved aside, not
    // written.
    let changed = br#"{"version": 3, "entries": {"by_id": {}}}"#;
    std::fs::write(d.path().join(STATE_FILE), changed).unwrap();
    assert!(s.entries().unwrap().is_empty());
    assert!(s.save(&key(2), &meta("b"), &secrets("b")).is_err());
    assert_eq!(read(d.path(), STATE_FILE).as_bytes(), changed);
    assert_eq!(std::fs::read_dir(d.path()).unwrap().count(), 3, "state, secrets, locks");
}

#[test]
fn a_damaged_state_file_is_moved_aside_with_a_warning() {
    let d = tempfile::tempdir().unwrap();
    std::fs::write(d.path().join(STATE_FILE), b"{\"version\": 1, \"entries\": [").unwrap();
    let s = open(d.path(), Backend::File);
    let (r, warnings) = capture_warnings(|| s.entries());
    assert!(r.unwrap().is_empty());
    assert!(warnings.contains("state.json was damaged"), "{warnings}");
    assert!(warnings.contains("state.json.corrupt-"), "{warnings}");
    assert_eq!(warnings.lines().count(), 1, "{warnings}");
    let aside: Vec<_> = std::fs::read_dir(d.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.starts_with("state.json.corrupt-"))
        .collect();
    assert_eq!(aside.len(), 1);
    assert_eq!(
        std::fs::read(d.path().join(&aside[0])).unwrap(),
        b"{\"version\": 1, \"entries\": ["
    );
    s.save(&key(1), &meta("a"), &secrets("a")).unwrap();
    assert_eq!(s.load(&key(1)).unwrap().unwrap().1, secrets("a"));
}

#[test]
fn a_damaged_secrets_file_costs_those_logins_only() {
    let d = tempfile::tempdir().unwrap();
    let s = open(d.path(), Backend::File);
    s.save(&key(1), &meta("a"), &secrets("a")).unwrap();
    std::fs::write(d.path().join(SECRETS_FILE), b"\x00garbage rt-SECRET").unwrap();
    let (r, warnings) = capture_warnings(|| s.load(&key(1)));
    assert!(r.unwrap().is_none());
    assert!(warnings.contains("secrets.json was damaged"), "{warnings}");
    assert!(!warnings.contains("SECRET"), "{warnings}");
    s.save(&key(1), &meta("b"), &secrets("b")).unwrap();
    assert_eq!(s.load(&key(1)).unwrap().unwrap().1, secrets("b"));
}

#[test]
fn secrets_removed_by_hand_read_as_logged_out_and_delete_tolerates_it() {
    let d = tempfile::tempdir().unwrap();
    let s = open(d.path(), Backend::File);
    s.save(&key(1), &meta("a"), &secrets("a")).unwrap();
    std::fs::write(d.path().join(SECRETS_FILE), b"{\"version\": 1, \"secrets\": {}}").unwrap();
    let (r, warnings) = capture_warnings(|| s.load(&key(1)));
    assert!(r.unwrap().is_none());
    assert!(warnings.contains("missing from the token file"), "{warnings}");
    assert_eq!(s.find(&key(1).resource, None, None).unwrap().len(), 1);
    assert!(s.delete(&key(1)).unwrap());
    assert!(s.entries().unwrap().is_empty());
}

#[test]
fn unknown_fields_written_by_another_version_survive_save_and_delete() {
    let d = tempfile::tempdir().unwrap();
    let s = open(d.path(), Backend::File);
    s.save(&key(1), &meta("a"), &secrets("a")).unwrap();
    s.save(&key(2), &meta("b"), &secrets("b")).unwrap();
    let mut v: Value = serde_json::from_str(&read(d.path(), STATE_FILE)).unwrap();
    v["future"] = serde_json::json!({"x": 1});
    v["entries"][0]["meta"]["future_meta"] = Value::from("kept");
    v["entries"][0]["future_record"] = Value::from(7);
    v["entries"]
        .as_array_mut()
        .unwrap()
        .push(serde_json::json!({"key": {"resource": "r"}, "format": "v9"}));
    std::fs::write(d.path().join(STATE_FILE), serde_json::to_vec(&v).unwrap()).unwrap();
    // A caller that builds a fresh EntryMeta (no extra) does not erase the newer fields.
    s.save(&key(1), &meta("c"), &secrets("c")).unwrap();
    assert!(s.delete(&key(2)).unwrap());
    let back: Value = serde_json::from_str(&read(d.path(), STATE_FILE)).unwrap();
    assert_eq!(back["future"], serde_json::json!({"x": 1}));
    assert_eq!(back["entries"][0]["meta"]["future_meta"], "kept");
    assert_eq!(back["entries"][0]["future_record"], 7);
    assert_eq!(back["entries"][0]["meta"]["account"], "user-c");
    assert_eq!(back["entries"][1]["format"], "v9");
    assert_eq!(back["entries"].as_array().unwrap().len(), 2);
    let (m, sec) = s.load(&key(1)).unwrap().unwrap();
    assert_eq!(sec, secrets("c"));
    assert_eq!(m.extra["future_meta"], "kept");
}

#[test]
fn a_login_written_by_an_older_version_reads_and_saves_the_same() {
    // Older versions kept `token_endpoint_auth_method` in `extra` (written by `auth`, not by a
    // newer mcp-valet): the same key at the same level as the field now, so it reads into the
    // field and is written back where those versions look for it. They also wrote
    // `callback_port`, which nothing read: it is now an unknown field, kept as it is.
    let d = tempfile::tempdir().unwrap();
    let s = open(d.path(), Backend::File);
    s.save(&key(1), &meta("a"), &secrets("a")).unwrap();
    let mut v: Value = serde_json::from_str(&read(d.path(), STATE_FILE)).unwrap();
    v["entries"][0]["meta"] = serde_json::json!({
        "resource_indicator": "https://mcp.example.com",
        "account": "user-a",
        "scopes": ["openid"],
        "expires_at": 1_900_000_000,
        "has_refresh_token": true,
        "token_endpoint": "https://auth.example.com/token",
        "revocation_endpoint": "https://auth.example.com/revoke",
        "callback_port": 33418,
        "updated_at": 1_890_000_000,
        "backend": "file",
        "token_endpoint_auth_method": "client_secret_post"
    });
    std::fs::write(d.path().join(STATE_FILE), serde_json::to_vec(&v).unwrap()).unwrap();
    let (m, sec) = s.load(&key(1)).unwrap().unwrap();
    assert_eq!(sec, secrets("a"));
    assert_eq!(m.token_endpoint_auth_method.as_deref(), Some("client_secret_post"));
    assert!(!m.extra.contains_key("token_endpoint_auth_method"), "{:?}", m.extra);
    assert_eq!(m.extra["callback_port"], 33418);
    assert_eq!(m.account.as_deref(), Some("user-a"));
    // What a refresh does: save what was read, changed.
    let refreshed = EntryMeta {
        expires_at: Some(1_900_003_600),
        ..m
    };
    s.save(&key(1), &refreshed, &sec).unwrap();
    let back: Value = serde_json::from_str(&read(d.path(), STATE_FILE)).unwrap();
    let meta = &back["entries"][0]["meta"];
    assert_eq!(meta["token_endpoint_auth_method"], "client_secret_post");
    assert_eq!(meta["callback_port"], 33418);
    assert_eq!(meta["expires_at"], 1_900_003_600);
    let text = read(d.path(), STATE_FILE);
    assert_eq!(text.matches("token_endpoint_auth_method").count(), 1, "{text}");
    assert_eq!(
        s.load(&key(1)).unwrap().unwrap().0,
        EntryMeta {
            backend: Some(Backend::File),
            ..refreshed
        }
    );
}

#[test]
fn old_orphaned_items_in_the_secrets_file_are_collected() {
    let d = tempfile::tempdir().unwrap();
    let s = open(d.path(), Backend::File);
    s.save(&key(1), &meta("a"), &secrets("a")).unwrap();
    let mut v: Value = serde_json::from_str(&read(d.path(), SECRETS_FILE)).unwrap();
    let items = v["secrets"].as_object_mut().unwrap();
    items.insert(
        "login-dead-old".into(),
        serde_json::json!({"written_at": 1, "secrets": {"access_token": "at-SECRET-orphan"}}),
    );
    items.insert(
        "login-dead-young".into(),
        serde_json::json!({"written_at": now_secs(), "secrets": {"access_token": "x"}}),
    );
    std::fs::write(d.path().join(SECRETS_FILE), serde_json::to_vec(&v).unwrap()).unwrap();
    s.save(&key(2), &meta("b"), &secrets("b")).unwrap();
    let file = read(d.path(), SECRETS_FILE);
    assert!(!file.contains("login-dead-old"), "{file}");
    assert!(
        file.contains("login-dead-young"),
        "a save in progress elsewhere is left alone"
    );
    assert_eq!(s.load(&key(1)).unwrap().unwrap().1, secrets("a"));
    assert_eq!(s.load(&key(2)).unwrap().unwrap().1, secrets("b"));
}

#[test]
fn a_crash_between_the_steps_of_a_save_leaves_the_old_or_the_new_login() {
    for (at, expect_new) in [(CrashAfter::Secrets, false), (CrashAfter::State, true)] {
        for backend in [Backend::File, Backend::Memory] {
            let d = tempfile::tempdir().unwrap();
            let s = open(d.path(), backend);
            s.save(&key(1), &meta("old"), &secrets("old")).unwrap();
            s.inject_failure(Some(at));
            let e = s.save(&key(1), &meta("new"), &secrets("new")).unwrap_err();
            assert_eq!(e.to_string(), error::INJECTED);
            s.inject_failure(None);
            // What a process started after the crash sees:
            let after = if backend == Backend::Memory {
                &s
            } else {
                &open(d.path(), backend)
            };
            let (m, sec) = after.load(&key(1)).unwrap().expect("a login survives");
            let tag = if expect_new { "new" } else { "old" };
            assert_eq!(sec, secrets(tag), "{at:?} {backend}");
            assert_eq!(m.account.unwrap(), format!("user-{tag}"), "{at:?} {backend}");
            // And the next save works and cleans up after itself.
            after.save(&key(1), &meta("next"), &secrets("next")).unwrap();
            assert_eq!(after.load(&key(1)).unwrap().unwrap().1, secrets("next"));
        }
    }
}

#[test]
fn concurrent_writers_lose_nothing() {
    let d = tempfile::tempdir().unwrap();
    let home = Arc::new(d.path().to_path_buf());
    let threads: Vec<_> = (0..6)
        .map(|t| {
            let home = home.clone();
            std::thread::spawn(move || {
                let s = open(&home, Backend::File); // one store per thread, as processes would
                for i in 0..8 {
                    let n = t * 100 + i;
                    s.save(&key(n), &meta(&n.to_string()), &secrets(&n.to_string()))
                        .unwrap();
                    // And the same login over and over, racing the other threads.
                    s.save(&key(9999), &meta(&n.to_string()), &secrets(&n.to_string()))
                        .unwrap();
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let s = open(&home, Backend::File);
    assert_eq!(s.entries().unwrap().len(), 6 * 8 + 1);
    for t in 0..6 {
        for i in 0..8 {
            let n = t * 100 + i;
            assert_eq!(s.load(&key(n)).unwrap().unwrap().1, secrets(&n.to_string()));
        }
    }
    let (m, sec) = s.load(&key(9999)).unwrap().unwrap();
    let tag = m.account.unwrap().trim_start_matches("user-").to_owned();
    assert_eq!(sec, secrets(&tag), "meta and secrets come from the same save");
    // Every replaced item was removed: one item per login.
    let file: Value = serde_json::from_str(&read(&home, SECRETS_FILE)).unwrap();
    assert_eq!(file["secrets"].as_object().unwrap().len(), 6 * 8 + 1);
}

#[test]
fn store_locks_are_per_scope() {
    let d = tempfile::tempdir().unwrap();
    let s = open(d.path(), Backend::File);
    let a = s
        .lock("https://mcp.example.com/mcp", Duration::ZERO)
        .unwrap()
        .expect("free");
    let s2 = open(d.path(), Backend::File);
    assert!(
        s2.lock("https://mcp.example.com/mcp", Duration::from_millis(60))
            .unwrap()
            .is_none()
    );
    assert!(
        s2.lock("https://other.example.com/mcp", Duration::ZERO)
            .unwrap()
            .is_some()
    );
    drop(a);
    assert!(
        s2.lock("https://mcp.example.com/mcp", Duration::ZERO)
            .unwrap()
            .is_some()
    );
    let lock_files = std::fs::read_dir(d.path().join(LOCKS_DIR)).unwrap().count();
    assert_eq!(lock_files, 2);
}

#[test]
fn store_and_lock_can_cross_threads() {
    fn send_sync<T: Send + Sync>() {}
    fn send<T: Send>() {}
    send_sync::<Store>();
    send::<Lock>();
}

#[test]
fn debug_output_shows_no_secret() {
    let text = format!("{:?}", secrets("a"));
    assert!(!text.contains("SECRET"), "{text}");
    let d = tempfile::tempdir().unwrap();
    let s = open(d.path(), Backend::File);
    s.save(&key(1), &meta("a"), &secrets("a")).unwrap();
    let text = format!("{:?} {:?}", s.load(&key(1)).unwrap(), s.describe());
    assert!(!text.contains("SECRET"), "{text}");
}

/// The child half of `kill_9_during_saves_leaves_a_whole_login`: saves one login over and
/// over until it is killed. Does nothing in a normal test run.
#[test]
fn crash_child_saves_forever() {
    let Ok(home) = std::env::var("MCP_VALET_TEST_CRASH_HOME") else {
        return;
    };
    let s = open(Path::new(&home), Backend::File);
    let start: u64 = std::env::var("MCP_VALET_TEST_CRASH_START").unwrap().parse().unwrap();
    for i in start.. {
        s.save(&key(1), &meta(&i.to_string()), &secrets(&i.to_string()))
            .unwrap();
        println!("\nSAVED {i}");
        std::io::stdout().flush().unwrap();
    }
}

#[cfg(unix)]
#[test]
fn kill_9_during_saves_leaves_a_whole_login() {
    use std::io::BufRead;
    use std::process::{Command, Stdio};
    if env!("CARGO_CRATE_NAME") != "mcp_valet" {
        return; // runs in the unit tests; not again where an integration test includes this module
    }
    let d = tempfile::tempdir().unwrap();
    let mut last = 0u64;
    for round in 0..8u64 {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "store::tests::crash_child_saves_forever",
                "--nocapture",
                "--test-threads=1",
            ])
            .env("MCP_VALET_TEST_CRASH_HOME", d.path())
            .env("MCP_VALET_TEST_CRASH_START", (last + 1).to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut out = std::io::BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        while !line.starts_with("SAVED") {
            line.clear();
            assert_ne!(out.read_line(&mut line).unwrap(), 0, "the child died");
        }
        // Let it run on for a while, then kill it at some point of some save.
        std::thread::sleep(Duration::from_millis(3 + round * 11));
        child.kill().unwrap();
        child.wait().unwrap();
        let s = open(d.path(), Backend::File);
        let (m, sec) = s.load(&key(1)).unwrap().expect("a login survives the kill");
        let tag = m.account.unwrap().trim_start_matches("user-").to_owned();
        assert_eq!(sec, secrets(&tag), "round {round}: meta and secrets from one save");
        last = tag.parse().unwrap();
    }
    assert!(last > 8, "the child saved {last} times");
    // A normal save afterwards leaves no temporary file behind.
    open(d.path(), Backend::File)
        .save(&key(1), &meta("z"), &secrets("z"))
        .unwrap();
    let temps: Vec<_> = std::fs::read_dir(d.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.contains(".tmp-"))
        .collect();
    assert!(temps.is_empty(), "{temps:?}");
}

#[test]
fn tenants_are_kept_apart_and_older_logins_still_found() {
    let dir = tempfile::tempdir().unwrap();
    let s = open(dir.path(), Backend::File);
    let mut t1 = key(1);
    t1.tenant = Some("https://t1.example.com/".into());
    let mut t2 = key(1);
    t2.tenant = Some("https://t2.example.com/".into());
    s.save(&t1, &meta("t1"), &secrets("t1")).unwrap();
    s.save(&t2, &meta("t2"), &secrets("t2")).unwrap();
    let r = &key(1).resource;
    let only = |t: &str| s.find(r, None, Some(t)).unwrap();
    assert_eq!(only("https://t1.example.com/").len(), 1);
    assert_eq!(only("https://t1.example.com/")[0].0, t1);
    assert_eq!(only("https://t2.example.com/")[0].0, t2);
    assert_eq!(s.load(&t1).unwrap().unwrap().1, secrets("t1"));
    assert_eq!(s.load(&t2).unwrap().unwrap().1, secrets("t2"));
    // Without a tenant, neither tenant's login is used.
    assert!(s.find(r, None, None).unwrap().is_empty());
    // A login from before tenants (no tenant in its key) made with that resource counts for it,
    // and still for a run without --resource.
    let mut m = meta("old");
    m.resource_indicator = Some("https://t3.example.com/".into());
    s.save(&key(1), &m, &secrets("old")).unwrap();
    assert_eq!(only("https://t3.example.com/")[0].0, key(1));
    assert_eq!(s.find(r, None, None).unwrap()[0].0, key(1));
    assert_eq!(only("https://t1.example.com/")[0].0, t1);
    assert_eq!(s.entries().unwrap().len(), 3);
    // A newer login without a tenant whose resource is a tenant's comes after that tenant's own.
    let mut m = meta("newer");
    m.resource_indicator = Some("https://t1.example.com/".into());
    m.updated_at = i64::MAX / 2;
    s.save(&key(1), &m, &secrets("newer")).unwrap();
    let found = only("https://t1.example.com/");
    assert_eq!((found.len(), &found[0].0), (2, &t1));
}
