//! Stable names: FNV-1a 64 (fixed by its spec, so the same on every platform, Rust version
//! and run, unlike std's `DefaultHasher`), the id of a login or a registration, and fresh
//! generation ids for secret items.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use super::model::EntryKey;

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

/// FNV-1a, 64 bits, fed in pieces.
#[derive(Clone, Copy)]
pub(crate) struct Fnv(u64);

impl Fnv {
    pub(crate) fn new() -> Fnv {
        Fnv(FNV_OFFSET)
    }

    pub(crate) fn write(&mut self, bytes: &[u8]) -> &mut Fnv {
        for b in bytes {
            self.0 ^= u64::from(*b);
            self.0 = self.0.wrapping_mul(FNV_PRIME);
        }
        self
    }

    /// A field followed by a separator that cannot occur in it (NUL), so that
    /// ("ab", "c") and ("a", "bc") differ.
    fn field(&mut self, s: &str) -> &mut Fnv {
        self.write(s.as_bytes()).write(&[0])
    }

    fn optional(&mut self, s: Option<&str>) -> &mut Fnv {
        match s {
            None => self.write(b"-\0"),
            Some(s) => self.write(b"+").field(s),
        }
    }

    pub(crate) fn finish(&self) -> u64 {
        self.0
    }
}

pub(crate) fn fnv1a64(bytes: &[u8]) -> u64 {
    Fnv::new().write(bytes).finish()
}

pub(crate) fn hex(v: u64) -> String {
    format!("{v:016x}")
}

/// The stable id of a login: hash of resource, issuer, client id and profile.
pub(crate) fn entry_id(key: &EntryKey) -> String {
    let mut f = Fnv::new();
    f.field("login")
        .field(&key.resource)
        .field(&key.issuer)
        .field(&key.client_id)
        .optional(key.profile.as_deref());
    // Only when there is one: the ids of the logins made before tenants existed stay the same.
    if let Some(t) = &key.tenant {
        f.field("tenant").field(t);
    }
    hex(f.finish())
}

/// The stable id of a client registration: hash of issuer, client id and profile.
pub(crate) fn registration_id(issuer: &str, client_id: &str, profile: Option<&str>) -> String {
    hex(Fnv::new()
        .field("client")
        .field(issuer)
        .field(client_id)
        .optional(profile)
        .finish())
}

/// The file name of the lock for `scope`.
pub(crate) fn lock_name(scope: &str) -> String {
    format!("{}.lock", hex(Fnv::new().field("lock").field(scope).finish()))
}

/// A generation id that no other save (in this or another process, now or later) picks:
/// the clock in nanoseconds, the process id, a per-process counter and an address,
/// mixed through FNV. Secrets of each save go under a new generation, so two writers
/// never write the same keyring item (see the crash-safety note in `mod.rs`).
pub(crate) fn new_generation() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let local = 0u8;
    let addr = std::ptr::addr_of!(local) as usize as u64;
    hex(Fnv::new()
        .write(&nanos.to_le_bytes())
        .write(&std::process::id().to_le_bytes())
        .write(&n.to_le_bytes())
        .write(&addr.to_le_bytes())
        .finish())
}

/// The account name of one secret item: `login-<id>-<generation>`, and for the chunks after the
/// first, `…-<n>`.
pub(crate) fn item_account(base: &str, chunk: u32) -> String {
    if chunk == 0 {
        base.to_owned()
    } else {
        format!("{base}-{chunk}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv1a64_known_vectors() {
        // From the FNV reference test suite (draft-eastlake-fnv, fnv-1a 64).
        assert_eq!(fnv1a64(b""), 0xcbf29ce484222325);
        assert_eq!(fnv1a64(b"a"), 0xaf63dc4c8601ec8c);
        assert_eq!(fnv1a64(b"foobar"), 0x85944171f73967e8);
    }

    #[test]
    fn entry_ids_are_stable_and_distinct() {
        let key = EntryKey {
            resource: "https://mcp.example.com/mcp".into(),
            issuer: "https://auth.example.com".into(),
            client_id: "abc".into(),
            profile: None,
            tenant: None,
        };
        // Pinned: changing this breaks every stored login, so it must never change.
        assert_eq!(entry_id(&key), "bf3e9004faa1a134");
        let mut p = key.clone();
        p.profile = Some(String::new());
        assert_ne!(entry_id(&key), entry_id(&p));
        let mut t = key.clone();
        t.tenant = Some("https://t1.example.com/".into());
        assert_ne!(entry_id(&key), entry_id(&t));
        // Field boundaries count: ("ab", "c") is not ("a", "bc").
        let mut a = key.clone();
        (a.resource, a.issuer) = ("ab".into(), "c".into());
        let mut b = key.clone();
        (b.resource, b.issuer) = ("a".into(), "bc".into());
        assert_ne!(entry_id(&a), entry_id(&b));
        assert_eq!(
            registration_id("https://auth.example.com", "abc", Some("work")),
            registration_id("https://auth.example.com", "abc", Some("work"))
        );
        assert_ne!(
            registration_id("https://auth.example.com", "abc", Some("work")),
            registration_id("https://auth.example.com", "abc", None)
        );
    }

    #[test]
    fn generations_differ() {
        let mut seen = std::collections::HashSet::new();
        for _ in 0..10_000 {
            assert!(seen.insert(new_generation()));
        }
    }
}
