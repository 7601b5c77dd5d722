//! The per-server era file (`eras.json` in MCP_VALET_HOME), as the era tests read and seed it.

use std::path::Path;

use serde_json::Value;

/// What mcp-valet remembers about the server at `url`, from its era file.
pub fn remembered(home: &Path, url: &str) -> Option<String> {
    let text = std::fs::read_to_string(home.join("eras.json")).ok()?;
    let v: Value = serde_json::from_str(&text).unwrap();
    v["servers"][era_key(url)]["era"].as_str().map(str::to_owned)
}

/// The key of `url` in the era file: the first 16 bytes of its SHA-256, in hex.
pub fn era_key(url: &str) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(url.as_bytes())
        .iter()
        .take(16)
        .map(|b| format!("{b:02x}"))
        .collect()
}
