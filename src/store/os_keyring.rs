//! The OS keyring through the `keyring` crate (v4: Secret Service over zbus on Linux and the
//! BSDs, Keychain on macOS, Credential Manager on Windows).
//!
//! Items: service `mcp-valet`, account `<kind>-<id>-<generation>[-<chunk>]`; the secret is the
//! UTF-8 JSON of the item's secrets (see `Payload`), split into chunks of at most
//! `chunk_limit` bytes at character boundaries. Every call is a blocking round trip to the
//! keyring daemon (D-Bus on Linux): callers on an async runtime use `spawn_blocking`.
//!
//! Errors from the crate are turned into our own sentences here: some variants carry the data
//! that was read (`BadEncoding`, `BadDataFormat`), and we never print those.

use std::sync::{Mutex, OnceLock};

use keyring::{Entry, Error};

use super::ids::item_account;

/// The keyring "service" of every item we write.
pub(crate) const SERVICE: &str = "mcp-valet";

/// Windows Credential Manager stores at most `CRED_MAX_CREDENTIAL_BLOB_SIZE` = 2560 bytes per
/// credential (`set_secret` stores our UTF-8 bytes as they are). Secret Service and Keychain have
/// no practical limit (1 MiB tested); a generous limit there keeps a login at one item, hence one
/// round trip.
#[cfg(windows)]
pub(crate) const DEFAULT_CHUNK_LIMIT: usize = 2560;
#[cfg(not(windows))]
pub(crate) const DEFAULT_CHUNK_LIMIT: usize = 256 * 1024;

/// Why a keyring operation failed.
#[derive(Debug)]
pub(crate) enum KeyringError {
    /// No keyring can be used here (no session bus, no Secret Service, locked or missing
    /// collection, access denied): the automatic choice falls back to the file.
    Unavailable(String),
    /// Anything else (an item too long, data we did not write, …).
    Failed(String),
    /// A crash simulated by a test (see `fail_points`): nothing is cleaned up.
    #[cfg(test)]
    Injected,
}

impl KeyringError {
    pub(crate) fn message(&self) -> &str {
        match self {
            KeyringError::Unavailable(s) | KeyringError::Failed(s) => s,
            #[cfg(test)]
            KeyringError::Injected => super::error::INJECTED,
        }
    }
}

/// The outcome of starting the keyring store (a D-Bus connection on Linux), once per process.
static STARTED: OnceLock<Result<(), String>> = OnceLock::new();

/// Set when a write found the keyring unusable after the store itself started (for instance a
/// locked or missing collection): the automatic choice then stops trying it in this process.
static UNUSABLE: Mutex<Option<String>> = Mutex::new(None);

/// Whether the keyring store can be started, deciding it on the first call in this process
/// (a blocking D-Bus connection on Linux) and remembering it.
pub(crate) fn availability() -> Result<(), String> {
    STARTED
        .get_or_init(|| match Entry::store_status() {
            Ok(()) => Ok(()),
            Err(e) => Err(describe(e, &[])),
        })
        .clone()
}

/// Whether the automatic choice should use the keyring: it can be started, and no write has
/// found it unusable.
pub(crate) fn auto_availability() -> Result<(), String> {
    if let Some(reason) = UNUSABLE.lock().unwrap_or_else(|e| e.into_inner()).clone() {
        return Err(reason);
    }
    availability()
}

/// What is known of `auto_availability` without asking the keyring: `None` when nothing in this
/// process has tried it yet.
pub(crate) fn known_auto_availability() -> Option<Result<(), String>> {
    if let Some(reason) = UNUSABLE.lock().unwrap_or_else(|e| e.into_inner()).clone() {
        return Some(Err(reason));
    }
    STARTED.get().cloned()
}

pub(crate) fn mark_unusable(reason: &str) {
    let mut u = UNUSABLE.lock().unwrap_or_else(|e| e.into_inner());
    if u.is_none() {
        *u = Some(reason.to_owned());
    }
}

fn entry(account: &str) -> Result<Entry, KeyringError> {
    availability().map_err(KeyringError::Unavailable)?;
    Entry::new(SERVICE, account).map_err(|e| classify(e, &[]))
}

/// Splits `s` into pieces of at most `limit` bytes, never inside a character.
pub(crate) fn split_chunks(s: &str, limit: usize) -> Vec<&str> {
    let limit = limit.max(4);
    let mut out = Vec::new();
    let mut rest = s;
    while rest.len() > limit {
        let mut cut = limit;
        while !rest.is_char_boundary(cut) {
            cut -= 1;
        }
        let (a, b) = rest.split_at(cut);
        out.push(a);
        rest = b;
    }
    out.push(rest);
    out
}

/// Writes `secret` under `base` (split in chunks); returns the number of chunks. On failure,
/// removes what it wrote. `after_chunk` runs after each chunk (a test hook for crash tests).
pub(crate) fn put(
    base: &str,
    secret: &str,
    chunk_limit: usize,
    after_chunk: &mut dyn FnMut(u32) -> Result<(), KeyringError>,
) -> Result<u32, KeyringError> {
    let chunks = split_chunks(secret, chunk_limit);
    let n = u32::try_from(chunks.len()).map_err(|_| KeyringError::Failed("secret too large".into()))?;
    for (i, chunk) in chunks.iter().enumerate() {
        let i = i as u32;
        let result = entry(&item_account(base, i)).and_then(|e| {
            e.set_secret(chunk.as_bytes())
                .map_err(|err| classify(err, &[secret, chunk]))
        });
        if let Err(e) = result.and_then(|()| after_chunk(i)) {
            #[cfg(test)]
            if matches!(e, KeyringError::Injected) {
                return Err(e); // a simulated crash: nothing is cleaned up
            }
            let _ = delete(base, i + 1);
            return Err(e);
        }
    }
    Ok(n)
}

/// Reads the item `base` written in `chunks` chunks. `Ok(None)` when any chunk is missing.
pub(crate) fn get(base: &str, chunks: u32) -> Result<Option<String>, KeyringError> {
    let mut out = Vec::new();
    for i in 0..chunks.max(1) {
        match entry(&item_account(base, i))?.get_secret() {
            Ok(bytes) => out.extend_from_slice(&bytes),
            Err(Error::NoEntry) => return Ok(None),
            Err(e) => return Err(classify(e, &[])),
        }
    }
    String::from_utf8(out).map(Some).map_err(|_| {
        KeyringError::Failed(format!(
            "the keyring item {base} does not hold text written by mcp-valet"
        ))
    })
}

/// Deletes the item `base` (all `chunks`); an item already gone is fine. Tries every chunk and
/// reports the first error.
pub(crate) fn delete(base: &str, chunks: u32) -> Result<(), KeyringError> {
    let mut first = None;
    for i in 0..chunks.max(1) {
        let r = entry(&item_account(base, i)).and_then(|e| match e.delete_credential() {
            Ok(()) | Err(Error::NoEntry) => Ok(()),
            Err(err) => Err(classify(err, &[])),
        });
        if let Err(e) = r {
            first.get_or_insert(e);
        }
    }
    first.map_or(Ok(()), Err)
}

fn classify(e: Error, secrets: &[&str]) -> KeyringError {
    match e {
        Error::NoDefaultStore | Error::PlatformFailure(_) | Error::NoStorageAccess(_) => {
            KeyringError::Unavailable(describe(&e, secrets))
        }
        other => KeyringError::Failed(describe(&other, secrets)),
    }
}

/// Our own sentence for a keyring error: never the data the error may carry, and never any of
/// `secrets` even if the platform echoed one.
fn describe(e: &Error, secrets: &[&str]) -> String {
    let s = match e {
        Error::NoDefaultStore => match STARTED.get() {
            Some(Err(reason)) => reason.clone(),
            _ => "no keyring store could be started".to_owned(),
        },
        Error::PlatformFailure(inner) => platform_reason(&inner.to_string()),
        Error::NoStorageAccess(inner) => {
            format!("the keyring refused access (locked, no default collection, or denied): {inner}")
        }
        Error::NoEntry => "no such keyring item".to_owned(),
        Error::BadEncoding(_) | Error::BadDataFormat(..) => {
            "the keyring returned data in a form mcp-valet did not write".to_owned()
        }
        Error::BadStoreFormat(_) => "the keyring's own data is damaged".to_owned(),
        Error::TooLong(what, limit) => format!("the keyring limits {what} to {limit} and the value is longer"),
        Error::Invalid(what, why) => format!("the keyring rejected the {what}: {why}"),
        Error::Ambiguous(items) => format!("{} keyring items match one name", items.len()),
        Error::NotSupportedByStore(why) => format!("the keyring does not support this: {why}"),
        _ => "unexpected keyring error".to_owned(),
    };
    redact(s, secrets)
}

fn platform_reason(s: &str) -> String {
    let lower = s.to_ascii_lowercase();
    if lower.contains("no such file") || lower.contains("notfound") || lower.contains("connection refused") {
        format!("no D-Bus session bus or Secret Service reachable: {s}")
    } else if lower.contains("serviceunknown") || lower.contains("org.freedesktop.secrets") {
        format!("no Secret Service (gnome-keyring, KeePassXC, KWallet…) on the session bus: {s}")
    } else {
        s.to_owned()
    }
}

/// Cuts long platform messages and blanks out any secret they might echo.
fn redact(mut s: String, secrets: &[&str]) -> String {
    for secret in secrets {
        if secret.len() >= 4 && s.contains(secret) {
            s = s.replace(secret, "…");
        }
    }
    if s.len() > 400 {
        let mut cut = 400;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s.truncate(cut);
        s.push('…');
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_split_at_character_boundaries_and_join_back() {
        let s = "ab€cd€€e".repeat(1000); // 3-byte characters straddle every limit
        for limit in [4, 5, 7, 2560, 100_000] {
            let parts = split_chunks(&s, limit);
            assert!(parts.iter().all(|p| p.len() <= limit.max(4)));
            assert_eq!(parts.concat(), s);
        }
        assert_eq!(split_chunks("", 2560), vec![""]);
        assert_eq!(split_chunks(&"x".repeat(2560), 2560).len(), 1);
        assert_eq!(split_chunks(&"x".repeat(2561), 2560).len(), 2);
        assert_eq!(split_chunks(&"x".repeat(12_000), 2560).len(), 5);
    }

    #[test]
    fn errors_never_carry_the_data() {
        let e = Error::BadEncoding(b"rt-SECRET".to_vec());
        assert!(!describe(&e, &[]).contains("SECRET"));
        let e = Error::BadDataFormat(b"rt-SECRET".to_vec(), "x".into());
        assert!(!describe(&e, &[]).contains("SECRET"));
        let e = Error::PlatformFailure("daemon said: rt-SECRET-VALUE is bad".into());
        let d = describe(&e, &["rt-SECRET-VALUE"]);
        assert!(!d.contains("SECRET"), "{d}");
        let e = Error::PlatformFailure("x".repeat(5000).into());
        assert!(describe(&e, &[]).len() < 500);
    }
}
