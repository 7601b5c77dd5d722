//! The audit log of authentication events (sign-in, refresh, step-up, failure, revocation,
//! logout, registration), as the MCP security guidance asks: JSON lines in the data
//! directory (`audit.jsonl`, 0600), rotated once (`audit.jsonl.1`) past [`MAX_BYTES`].
//! Each line says when, which process, which server, issuer, account and scopes, and how it
//! ended; never a token, code, verifier or secret. Writing it never fails an operation.

use std::io::{BufRead, Read, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// The log is rotated once it is larger than this.
pub const MAX_BYTES: u64 = 1 << 20;
/// The longest `reason` kept (an error message).
const MAX_REASON: usize = 500;
const FILE: &str = "audit.jsonl";
const ROTATED: &str = "audit.jsonl.1";

/// One authentication event.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub struct Entry {
    /// RFC 3339, UTC; set when recorded.
    #[serde(default)]
    pub time: String,
    /// `sign_in`, `refresh`, `step_up`, `failure`, `revocation`, `logout`, `registration`.
    pub event: String,
    /// `ok` or `failed`.
    pub outcome: String,
    /// The MCP server (its resource key).
    pub server: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub scopes: Vec<String>,
    /// How tokens were obtained (`authorization_code`, `device_code`, `client_credentials`,
    /// `refresh_token`, `kept_token`), or which token was revoked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grant: Option<String>,
    /// The OAuth client id (public, not a secret).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// For failures: what was attempted (`sign_in`, `refresh`, `step_up`, `registration`, `revocation`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attempt: Option<String>,
    /// For failures: why, in words (error messages never hold a secret).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default)]
    pub pid: u32,
}

impl Entry {
    pub fn ok(event: &str, server: &str) -> Entry {
        Entry {
            event: event.into(),
            outcome: "ok".into(),
            server: server.into(),
            ..Entry::default()
        }
    }

    /// A failed `attempt`.
    pub fn failed(attempt: &str, server: &str, reason: &str) -> Entry {
        let mut reason = reason.to_owned();
        if reason.len() > MAX_REASON {
            let mut cut = MAX_REASON;
            while !reason.is_char_boundary(cut) {
                cut -= 1;
            }
            reason.truncate(cut);
            reason.push('…');
        }
        Entry {
            event: "failure".into(),
            outcome: "failed".into(),
            attempt: Some(attempt.into()),
            reason: Some(reason),
            server: server.into(),
            ..Entry::default()
        }
    }
}

/// Appends `e` to the log in the data directory.
pub fn record(mut e: Entry) {
    // Unit tests run without a data directory of their own.
    if cfg!(test) {
        return;
    }
    e.time = rfc3339(crate::util::unix_now());
    e.pid = std::process::id();
    let Ok(dir) = crate::store::data_home() else { return };
    if let Err(err) = append(&dir, &e) {
        tracing::debug!("writing the audit log failed: {err}");
    }
}

fn append(dir: &Path, e: &Entry) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let path = dir.join(FILE);
    if std::fs::metadata(&path).is_ok_and(|m| m.len() >= MAX_BYTES) {
        std::fs::rename(&path, dir.join(ROTATED))?;
    }
    let mut line = serde_json::to_vec(e).map_err(std::io::Error::other)?;
    line.push(b'\n');
    let mut opts = std::fs::OpenOptions::new();
    opts.create(true).append(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    // One write of a whole line: concurrent processes append without interleaving.
    opts.open(&path)?.write_all(&line)
}

/// The log's files, oldest first.
pub fn files() -> anyhow::Result<Vec<PathBuf>> {
    let dir = crate::store::data_home()?;
    Ok(vec![dir.join(ROTATED), dir.join(FILE)])
}

/// The last `n` events (of `server` when given), oldest first.
pub fn last(n: usize, server: Option<&str>) -> anyhow::Result<Vec<Entry>> {
    let mut out = std::collections::VecDeque::new();
    for path in files()? {
        let Ok(f) = std::fs::File::open(&path) else { continue };
        // Bounded: a file is rotated past MAX_BYTES, so more than twice that is not ours.
        for line in std::io::BufReader::new(f.take(2 * MAX_BYTES)).lines() {
            let Ok(line) = line else { break };
            let Ok(e) = serde_json::from_str::<Entry>(&line) else {
                continue;
            };
            if server.is_some_and(|s| e.server != s) {
                continue;
            }
            out.push_back(e);
            if out.len() > n {
                out.pop_front();
            }
        }
    }
    Ok(out.into())
}

/// `2026-12-06T03:20:00Z` for seconds since the Unix epoch.
fn rfc3339(secs: i64) -> String {
    let (days, rem) = (secs.div_euclid(86400), secs.rem_euclid(86400));
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(1_796_527_245), "2026-12-06T03:20:45Z");
    }

    #[test]
    fn the_log_rotates_once_and_is_private() {
        let dir = tempfile::tempdir().unwrap();
        let e = Entry::failed("refresh", "https://h.example/mcp", &"x".repeat(2000));
        assert!(e.reason.as_ref().unwrap().len() < 600);
        let line = serde_json::to_vec(&e).unwrap().len() as u64 + 1;
        for _ in 0..(MAX_BYTES / line + 2) {
            append(dir.path(), &e).unwrap();
        }
        let rotated = std::fs::metadata(dir.path().join(ROTATED)).unwrap().len();
        assert!(rotated >= MAX_BYTES && rotated < MAX_BYTES + line, "{rotated}");
        let current = std::fs::metadata(dir.path().join(FILE)).unwrap();
        assert!(current.len() < MAX_BYTES);
        #[cfg(unix)]
        assert_eq!(
            std::os::unix::fs::PermissionsExt::mode(&current.permissions()) & 0o777,
            0o600
        );
        for _ in 0..(MAX_BYTES / line + 2) {
            append(dir.path(), &e).unwrap();
        }
        let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(names.len(), 2, "one rotation only");
    }
}
