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
