//! A short-lived copy of access tokens in the Linux kernel's key retention service
//! (keyrings(7)), so that a process starting with a login already in the Secret Service gets
//! its token with two system calls instead of a D-Bus connection, a Diffie-Hellman session and
//! two lookups (10–15 ms, and the memory of the D-Bus machinery).
//!
//! * What: the access token of a login whose secrets are in the OS keyring, and nothing else
//!   (never a refresh token, an ID token or a client secret: those are read from the keyring
//!   itself when they are needed, for a refresh or a revocation).
//! * Where: the user keyring (one per UID, in kernel memory: never on disk, never swapped), a
//!   `user` key described `mcp-valet:<item account>`. The account names one generation of one
//!   login, so a copy can only ever stand for the item it was made from.
//! * Who: the possessor and the owning user (who can read and write the Secret Service as well)
//!   may view, read, update, search and remove it; the group and others nothing.
//! * How long: the kernel removes it when the token expires, and at most `MAX_TTL_SECS` after it was
//!   made (a key kept with `login --with-token` has no expiry). `Store` removes it with the item
//!   (logout, replacement by a newer login).
//!
//! Everything here is best effort: a kernel without keyrings, a container whose seccomp filter
//! refuses `keyctl`, a full key quota: the copy is simply not made or not found, and the keyring
//! is read as before. `MCP_VALET_KERNEL_CACHE=0` turns it off.

/// The longest a copy lives, whatever the token's own expiry.
pub(crate) const MAX_TTL_SECS: u64 = 3600;

/// Turns the cache off when set to `0`, `off`, `false` or `no`.
const ENV: &str = "MCP_VALET_KERNEL_CACHE";

fn enabled() -> bool {
    static ON: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *ON.get_or_init(|| {
        !std::env::var(ENV)
            .is_ok_and(|v| matches!(v.trim().to_ascii_lowercase().as_str(), "0" | "off" | "false" | "no"))
    })
}

fn description(account: &str) -> String {
    format!("mcp-valet:{account}")
}

#[cfg(target_os = "linux")]
mod imp {
    use linux_keyutils::{KeyPermissionsBuilder, KeyRing, KeyRingIdentifier, Permission};

    fn user_keyring() -> Option<KeyRing> {
        KeyRing::from_special_id(KeyRingIdentifier::User, true).ok()
    }

    pub(super) fn get(desc: &str) -> Option<String> {
        let key = user_keyring()?.search(desc).ok()?;
        let bytes = key.read_to_vec().ok()?;
        String::from_utf8(bytes).ok().filter(|s| !s.is_empty())
    }

    pub(super) fn put(desc: &str, token: &str, ttl: u64) -> bool {
        if !super::leaves_half_the_quota(
            &std::fs::read_to_string("/proc/key-users").unwrap_or_default(),
            desc.len() + token.len(),
        ) {
            return false;
        }
        let Some(ring) = user_keyring() else {
            return false;
        };
        let Ok(key) = ring.add_key(desc, token) else {
            return false;
        };
        // A new key grants the possessor everything and its user only "view"; the timeout is set
        // before the user may read it, so there is never a readable copy without an expiry.
        let perms =
            || Permission::VIEW | Permission::READ | Permission::WRITE | Permission::SEARCH | Permission::SETATTR;
        let ok = key.set_timeout(ttl as usize).is_ok()
            && key
                .set_perms(KeyPermissionsBuilder::builder().posessor(perms()).user(perms()).build())
                .is_ok();
        if !ok {
            let _ = key.invalidate();
        }
        ok
    }

    pub(super) fn remove(desc: &str) {
        if let Some(ring) = user_keyring() {
            // Every copy with this description (a search finds one at a time; an invalidated
            // key is not found again). Bounded, whatever the kernel does.
            for _ in 0..8 {
                match ring.search(desc) {
                    Ok(key) if key.invalidate().is_ok() => {}
                    _ => break,
                }
            }
        }
    }
}

/// Whether a copy of `bytes` more leaves at least half of this user's key quota free: the
/// quota (by default 200 keys and 20000 bytes for a user other than root) is shared with other
/// software (Kerberos credential caches, fscrypt, …), which a cache must never starve.
/// `key_users` is /proc/key-users (`uid: usage nkeys/nikeys qnkeys/maxkeys qnbytes/maxbytes`);
/// when it cannot be read, the kernel's own quota check is the only one.
#[cfg(target_os = "linux")]
fn leaves_half_the_quota(key_users: &str, bytes: usize) -> bool {
    use std::os::unix::fs::MetadataExt;
    let Ok(uid) = std::fs::metadata("/proc/self").map(|m| m.uid()) else {
        return true;
    };
    let pair = |f: Option<&str>| -> Option<(u64, u64)> {
        let (used, max) = f?.split_once('/')?;
        Some((used.parse().ok()?, max.parse().ok()?))
    };
    for line in key_users.lines() {
        let mut f = line.split_whitespace();
        if f.next()
            .and_then(|u| u.strip_suffix(':'))
            .and_then(|u| u.parse::<u32>().ok())
            != Some(uid)
        {
            continue;
        }
        let (Some((keys, max_keys)), Some((used, max_bytes))) = (pair(f.nth(2)), pair(f.next())) else {
            return true;
        };
        return 2 * (keys + 1) <= max_keys && 2 * (used + bytes as u64) <= max_bytes;
    }
    true // no line yet: this user holds no key at all
}

#[cfg(not(target_os = "linux"))]
mod imp {
    pub(super) fn get(_desc: &str) -> Option<String> {
        None
    }
    pub(super) fn put(_desc: &str, _token: &str, _ttl: u64) -> bool {
        false
    }
    pub(super) fn remove(_desc: &str) {}
}

/// The access token copied for the keyring item `account`, if the kernel still holds it.
pub(crate) fn get(account: &str) -> Option<String> {
    if !enabled() {
        return None;
    }
    imp::get(&description(account))
}

/// Copies the access token of the keyring item `account` for `ttl` seconds (capped at
/// `MAX_TTL_SECS`; nothing when 0). Answers whether the copy was made.
pub(crate) fn put(account: &str, token: &str, ttl: u64) -> bool {
    if !enabled() || ttl == 0 || token.is_empty() {
        return false;
    }
    imp::put(&description(account), token, ttl.min(MAX_TTL_SECS))
}

/// Removes the copy for the keyring item `account` (none is fine). Done even when the cache is
/// turned off, so that turning it off never leaves a copy behind.
pub(crate) fn remove(account: &str) {
    imp::remove(&description(account));
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    /// Whether this kernel lets us use the user keyring (a container's seccomp filter may not).
    fn available() -> bool {
        let probe = format!("probe-{}", crate::store::ids::new_generation());
        let ok = put(&probe, "x", 5);
        remove(&probe);
        if !ok {
            assert!(
                std::env::var_os("MCP_VALET_REQUIRE_KEYRING").is_none(),
                "MCP_VALET_REQUIRE_KEYRING is set, but the kernel keyring cannot be used here"
            );
            eprintln!("SKIPPED: the kernel keyring cannot be used here");
        }
        ok
    }

    #[test]
    fn copies_are_read_back_replaced_and_removed() {
        if !available() {
            return;
        }
        let account = format!("login-test-{}", crate::store::ids::new_generation());
        assert_eq!(get(&account), None);
        assert!(put(&account, "at-one", 60));
        assert_eq!(get(&account).as_deref(), Some("at-one"));
        // Copied again (a later read of the same item), the copy is updated in place.
        assert!(put(&account, "at-two", 60));
        assert_eq!(get(&account).as_deref(), Some("at-two"));
        remove(&account);
        assert_eq!(get(&account), None);
        remove(&account); // nothing to remove is fine
        assert!(!put(&account, "at", 0), "no copy without a lifetime");
        assert_eq!(get(&account), None);
    }

    #[test]
    fn a_copy_never_takes_the_second_half_of_the_key_quota() {
        use std::os::unix::fs::MetadataExt;
        let uid = std::fs::metadata("/proc/self").unwrap().uid();
        let users =
            |keys: &str, bytes: &str| format!("    7:     3 3/3 1/200 10/20000\n{uid:5}:    14 13/13 {keys} {bytes}\n");
        assert!(leaves_half_the_quota(&users("5/200", "1000/20000"), 2000));
        assert!(
            leaves_half_the_quota(&users("5/200", "8000/20000"), 2000),
            "exactly half"
        );
        assert!(!leaves_half_the_quota(&users("5/200", "8000/20000"), 2001));
        assert!(
            leaves_half_the_quota(&users("99/200", "100/20000"), 10),
            "the 100th key of 200"
        );
        assert!(
            !leaves_half_the_quota(&users("100/200", "100/20000"), 10),
            "keys count too"
        );
        assert!(
            leaves_half_the_quota(&users("6/1000000", "24459/25000000"), 12_000),
            "root's quota"
        );
        assert!(leaves_half_the_quota("", 10), "no line: no key held yet");
        assert!(
            leaves_half_the_quota(&users("x", "y"), 10),
            "unreadable: the kernel decides"
        );
    }

    #[test]
    fn copies_expire_and_grant_nothing_to_others() {
        if !available() {
            return;
        }
        let account = format!("login-test-{}", crate::store::ids::new_generation());
        assert!(put(&account, "short-lived", 1));
        let ring = linux_keyutils::KeyRing::from_special_id(linux_keyutils::KeyRingIdentifier::User, false).unwrap();
        let key = ring.search(&description(&account)).unwrap();
        let perm = key.metadata().unwrap().get_perms().bits();
        assert_eq!(perm & 0xffff, 0, "group and others get nothing: {perm:#x}");
        assert_eq!(
            perm >> 24,
            0x2f,
            "possessor: view, read, write, search, setattr: {perm:#x}"
        );
        assert_eq!(
            (perm >> 16) & 0xff,
            0x2f,
            "user: view, read, write, search, setattr: {perm:#x}"
        );
        std::thread::sleep(std::time::Duration::from_millis(2100));
        assert_eq!(get(&account), None, "the kernel dropped the expired copy");
        remove(&account);
    }
}
