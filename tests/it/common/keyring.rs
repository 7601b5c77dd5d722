//! Running a test scenario in a child process of the test binary, with a private HOME, and
//! optionally in its own D-Bus session with an unlocked gnome-keyring (a real Secret Service).

use std::io::Read;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Set in a child: the name of the scenario it runs.
pub const CHILD_ENV: &str = "MCP_VALET_KEYRING_TEST_CHILD";
pub const REQUIRE_ENV: &str = "MCP_VALET_REQUIRE_KEYRING";
pub const CHILD_TIMEOUT: Duration = Duration::from_secs(240);

pub fn find_tool(name: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

pub fn is_child(name: &str) -> bool {
    std::env::var(CHILD_ENV).is_ok_and(|v| v == name)
}

/// A command that runs scenario `name` of this binary.
pub fn this_test(name: &str) -> Command {
    let mut c = Command::new(std::env::current_exe().unwrap());
    c.args(["--exact", name, "--nocapture", "--test-threads=1"]);
    c.env(CHILD_ENV, name);
    c
}

/// A throwaway HOME with XDG directories, and the environment pointing at it.
pub fn private_home(c: &mut Command) -> tempfile::TempDir {
    let home = tempfile::tempdir().unwrap();
    let run = home.path().join("run");
    std::fs::create_dir(&run).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&run, std::fs::Permissions::from_mode(0o700)).unwrap();
    }
    c.env("HOME", home.path())
        .env("XDG_DATA_HOME", home.path().join("data"))
        .env("XDG_CONFIG_HOME", home.path().join("config"))
        .env("XDG_CACHE_HOME", home.path().join("cache"))
        .env("XDG_RUNTIME_DIR", &run)
        .env_remove("DBUS_SESSION_BUS_ADDRESS")
        .env_remove("MCP_VALET_HOME")
        .env_remove("MCP_VALET_TOKEN_STORE")
        // The kernel's user keyring is one per user, outside this private HOME and D-Bus
        // session: copies made there would outlive the scenario (by up to an hour). Off, unless a
        // scenario that tests the copy turns it on (and logs out, which removes it).
        .env("MCP_VALET_KERNEL_CACHE", "0")
        .env("RUST_BACKTRACE", "1");
    home
}

/// Runs `c`, printing its output; returns (success, stdout+stderr).
pub fn run_child(mut c: Command) -> (bool, String) {
    let mut child = c.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let mut so = child.stdout.take().unwrap();
    let mut se = child.stderr.take().unwrap();
    let t1 = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = so.read_to_string(&mut s);
        s
    });
    let t2 = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = se.read_to_string(&mut s);
        s
    });
    let deadline = Instant::now() + CHILD_TIMEOUT;
    let status = loop {
        if let Some(st) = child.try_wait().unwrap() {
            break Some(st);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let out = format!("{}{}", t1.join().unwrap(), t2.join().unwrap());
    println!("----- child output -----\n{out}----- end of child output -----");
    match status {
        Some(st) => (st.success(), out),
        None => (false, format!("{out}\n(timed out after {CHILD_TIMEOUT:?})")),
    }
}

/// `true` in the child, where scenario `name` runs; in the parent, runs the scenario in its own
/// keyring session (or skips it, see below) and returns `false`.
pub fn in_keyring_session(name: &str) -> bool {
    if is_child(name) {
        return true;
    }
    run_in_keyring_session(name);
    false
}

/// In the parent: runs scenario `name` in a fresh D-Bus session with an unlocked
/// gnome-keyring. Returns `false` when it was skipped: on a system other than Linux (the
/// Secret Service is the Linux back end; macOS's Keychain and Windows' Credential Manager are
/// not exercised by these scenarios), or where the tools are missing, unless
/// `MCP_VALET_REQUIRE_KEYRING=1` or `MCP_VALET_REQUIRE_ALL=1` makes that an error.
pub fn run_in_keyring_session(name: &str) -> bool {
    if !cfg!(target_os = "linux") {
        super::skip(
            name,
            "the keyring scenarios run a private gnome-keyring over D-Bus, which only Linux has \
             (this system's own keyring is not touched by the tests)",
        );
        return false;
    }
    let (Some(drs), Some(_), Some(_)) = (
        find_tool("dbus-run-session"),
        find_tool("gnome-keyring-daemon"),
        find_tool("secret-tool"),
    ) else {
        super::skip(
            name,
            "needs dbus-run-session, gnome-keyring-daemon and secret-tool \
             (Debian/Ubuntu: apt-get install -y dbus gnome-keyring libsecret-tools)",
        );
        return false;
    };
    let mut c = Command::new(drs);
    let _home = private_home(&mut c);
    // gnome-keyring-daemon --unlock creates the "login" collection with this password and
    // unlocks it; then the scenario runs in the same session.
    c.args([
        "--",
        "sh",
        "-c",
        "printf %s test-password | gnome-keyring-daemon --unlock --components=secrets >/dev/null && exec \"$@\"",
        "sh",
    ]);
    c.arg(std::env::current_exe().unwrap());
    c.args(["--exact", name, "--nocapture", "--test-threads=1"]);
    c.env(CHILD_ENV, name);
    let (ok, out) = run_child(c);
    assert!(ok, "scenario {name} failed in its keyring session:\n{out}");
    assert!(
        out.contains(&format!("SCENARIO {name} PASSED")),
        "scenario {name} did not run:\n{out}"
    );
    true
}

/// Marks a scenario as run (the parent checks for this line).
pub fn passed(name: &str) {
    println!("SCENARIO {name} PASSED");
}
