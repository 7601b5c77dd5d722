pub mod auth;
pub mod era;
pub mod keyring;
pub mod peers;
pub mod pty;
pub mod stand_in;
pub mod valet;

/// Collects everything a child writes to a pipe (its stderr, say) on a thread of its own.
pub fn capture<R: std::io::Read + Send + 'static>(mut pipe: R) -> (Captured, std::thread::JoinHandle<()>) {
    let sink = Captured::default();
    let out = sink.clone();
    let t = std::thread::spawn(move || {
        let mut buf = [0u8; 8192];
        while let Ok(n) = pipe.read(&mut buf) {
            if n == 0 {
                break;
            }
            sink.lock().unwrap().extend_from_slice(&buf[..n]);
        }
    });
    (out, t)
}

pub type Captured = std::sync::Arc<std::sync::Mutex<Vec<u8>>>;

/// Set to `1` (as `.ci/run` does once every package the suite uses is installed), a test that
/// lacks something on this machine fails instead of being skipped. `MCP_VALET_REQUIRE_KEYRING=1`
/// (the older name, from when the keyring tests were the only ones that could be skipped) does
/// the same.
pub const REQUIRE_ALL_ENV: &str = "MCP_VALET_REQUIRE_ALL";

/// Whether every test must run (see `REQUIRE_ALL_ENV`).
pub fn everything_required() -> bool {
    let on = |v: &str| std::env::var(v).is_ok_and(|v| v == "1");
    on(REQUIRE_ALL_ENV) || on(keyring::REQUIRE_ENV)
}

/// For a test that cannot run on this machine (`reason` says what is missing and how to get
/// it): panics when every test must run, else prints a line starting with `SKIPPED` on stdout
/// and stderr (nextest shows them with the test's output) and returns, for the caller to return.
pub fn skip(test: &str, reason: &str) {
    if everything_required() {
        panic!(
            "{test}: {reason}; {REQUIRE_ALL_ENV}=1 (or {}=1) requires this test to run",
            keyring::REQUIRE_ENV
        );
    }
    println!("SKIPPED {test}: {reason}");
    eprintln!("SKIPPED {test}: {reason} (set {REQUIRE_ALL_ENV}=1 to make this an error)");
}

/// A port free on both 127.0.0.1 and [::1] at the time of asking (the sign-in listener binds
/// both for a `localhost` redirect URI).
pub fn free_port() -> u16 {
    loop {
        let v4 = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = v4.local_addr().unwrap().port();
        if std::net::TcpListener::bind(("::1", port)).is_ok() {
            return port;
        }
    }
}

/// The first of `names` found as a file in a directory of `PATH`.
pub fn on_path(names: &[&str]) -> Option<std::path::PathBuf> {
    let path = std::env::var_os("PATH")?;
    names
        .iter()
        .find_map(|n| std::env::split_paths(&path).map(|d| d.join(n)).find(|p| p.is_file()))
}
