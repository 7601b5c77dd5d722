//! Small helpers with no better home.

use std::time::Duration;

/// `250ms`, `3s`, `1.5s`, `5m`, `2h`: short and readable.
pub fn human_duration(d: Duration) -> String {
    let ms = d.as_millis();
    if ms < 1000 {
        format!("{ms}ms")
    } else if ms < 60_000 {
        if ms.is_multiple_of(1000) {
            format!("{}s", ms / 1000)
        } else {
            format!("{:.1}s", ms as f64 / 1000.0)
        }
    } else if ms < 3_600_000 && ms.is_multiple_of(60_000) {
        format!("{}m", ms / 60_000)
    } else if ms.is_multiple_of(3_600_000) {
        format!("{}h", ms / 3_600_000)
    } else {
        format!("{}s", ms / 1000)
    }
}

/// Environment variables that hold secrets mcp-valet was given (the ones `${VAR}` headers use);
/// programs it starts, such as the browser, are started without them.
static SECRET_VARS: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());

/// Notes that the variable `name` holds a secret.
pub fn mark_secret_var(name: &str) {
    let mut v = SECRET_VARS.lock().unwrap_or_else(|e| e.into_inner());
    if !v.iter().any(|n| n == name) {
        v.push(name.to_owned());
    }
}

/// The variables noted by `mark_secret_var`, and `MCP_VALET_CLIENT_SECRET`.
pub fn secret_vars() -> Vec<String> {
    let mut v = SECRET_VARS.lock().unwrap_or_else(|e| e.into_inner()).clone();
    v.push("MCP_VALET_CLIENT_SECRET".to_owned());
    v
}

/// A server-provided string on its way to a terminal: C0 and C1 control characters (escape
/// sequences, carriage returns, new lines) dropped, and at most `max` characters (then `…`).
pub fn for_terminal(s: &str, max: usize) -> String {
    let mut out: String = s.chars().filter(|c| !c.is_control()).take(max).collect();
    if s.chars().filter(|c| !c.is_control()).nth(max).is_some() {
        out.push('…');
    }
    out
}

/// Lines for the terminal: controls other than new lines and tabs dropped, so no escape
/// sequence from a server reaches the terminal whatever message it ended up in.
pub fn terminal_lines(s: &str) -> String {
    s.chars()
        .filter(|&c| c == '\n' || c == '\t' || !c.is_control())
        .collect()
}

/// Seconds since the Unix epoch.
pub fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Proves that the terminal sanitiser drops C0 and C1 controls (ESC, BEL, CSI, CR, LF) and
    /// caps the length.
    #[test]
    fn server_strings_lose_controls_and_length_on_the_way_to_a_terminal() {
        assert_eq!(for_terminal("a\u{1b}[2Jb\u{9b}c\r\n\u{7}d", 100), "a[2Jbcd");
        assert_eq!(for_terminal(&"x".repeat(10), 4), "xxxx…");
        assert_eq!(for_terminal("xxxx", 4), "xxxx");
        assert_eq!(terminal_lines("a\u{1b}]8;;u\u{7}\nb\tc"), "a]8;;u\nb\tc");
    }

    #[test]
    fn durations_read_well() {
        assert_eq!(human_duration(Duration::from_millis(250)), "250ms");
        assert_eq!(human_duration(Duration::from_millis(1500)), "1.5s");
        assert_eq!(human_duration(Duration::from_secs(3)), "3s");
        assert_eq!(human_duration(Duration::from_secs(300)), "5m");
        assert_eq!(human_duration(Duration::from_secs(7200)), "2h");
        assert_eq!(human_duration(Duration::from_secs(90)), "90s");
    }
}
