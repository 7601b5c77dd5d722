//! `mcp-valet config <client> <URL>`: every client's snippet has the shape its client reads,
//! names this binary by its absolute path, and `--write` merges it into an existing file
//! (backup first, the rest byte for byte) or refuses a file it cannot parse, writing nothing.

use std::path::Path;

use serde_json::Value;

use crate::common::valet::{NO_ENV, bin, run};

const URL: &str = "https://mcp.example.com/mcp";

fn stdout(args: &[&str]) -> String {
    let out = run(args, NO_ENV);
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn absolute_binary(command: &str) {
    assert!(Path::new(command).is_absolute(), "{command}");
    assert_eq!(Path::new(command), bin().canonicalize().unwrap());
}

#[test]
fn every_client_gets_a_snippet_of_its_own_shape() {
    for (client, section) in [
        ("claude-desktop", "mcpServers"),
        ("cursor", "mcpServers"),
        ("windsurf", "mcpServers"),
        ("gemini-cli", "mcpServers"),
        ("vscode", "servers"),
        ("zed", "context_servers"),
    ] {
        let v: Value = serde_json::from_str(&stdout(&["config", client, URL, "--deny-tool", "delete_*"]))
            .unwrap_or_else(|e| panic!("{client}: not JSON: {e}"));
        let servers = v[section]
            .as_object()
            .unwrap_or_else(|| panic!("{client}: no {section}: {v}"));
        assert_eq!(servers.len(), 1, "{client}: {v}");
        // The name comes from the host.
        let entry = &servers["example"];
        absolute_binary(entry["command"].as_str().unwrap());
        assert_eq!(
            entry["args"],
            serde_json::json!([URL, "--deny-tool", "delete_*"]),
            "{client}"
        );
        assert_eq!(
            entry.get("type").and_then(Value::as_str),
            (client == "vscode").then_some("stdio")
        );
    }

    let toml = stdout(&["config", "codex", URL, "--name", "acme"]);
    let doc: toml_edit::DocumentMut = toml.parse().expect("codex: valid TOML");
    let t = &doc["mcp_servers"]["acme"];
    absolute_binary(t["command"].as_str().unwrap());
    assert_eq!(t["args"].as_array().unwrap().get(0).and_then(|a| a.as_str()), Some(URL));

    let cmd = stdout(&["config", "claude-code", URL]);
    let words: Vec<&str> = cmd.split_whitespace().collect();
    assert_eq!(
        &words[..6],
        ["claude", "mcp", "add", "--scope", "user", "example"],
        "{cmd}"
    );
    assert_eq!(words[6], "--");
    absolute_binary(words[7]);
    assert_eq!(words[8], URL);

    let npx: Value = serde_json::from_str(&stdout(&["config", "cursor", URL, "--npx"])).unwrap();
    assert_eq!(npx["mcpServers"]["example"]["command"], "npx");
    assert_eq!(
        npx["mcpServers"]["example"]["args"],
        serde_json::json!(["-y", "mcp-valet", URL])
    );
}

#[test]
fn unknown_clients_and_options_are_one_line_usage_errors() {
    let out = run(&["config", "notepad", URL], NO_ENV);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("notepad") && err.contains("claude-desktop") && err.contains("gemini-cli"),
        "{err}"
    );
    assert!(out.stdout.is_empty());

    let out = run(&["config", "cursor", URL, "--no-such-option"], NO_ENV);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--no-such-option"));
    let out = run(&["config", "cursor", "not a url"], NO_ENV);
    assert_eq!(out.status.code(), Some(2));
}

/// Secrets given as bridge options would land in the client's plain-text configuration file
/// (and its backups): `config` refuses them, in one line that does not repeat the value and
/// names the way to keep it out (an environment variable, `${VAR}`, `login --with-token`).
/// Before the rule, each of these printed (or with --write, wrote) the secret.
#[test]
fn secrets_are_not_written_into_a_client_configuration() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mcp.json");
    let p = path.to_str().unwrap();
    for secret_args in [
        &["--client-id", "abc", "--client-secret", "s3cr3t-value"][..],
        &["-H", "Authorization: Bearer s3cr3t-value"],
        &["--header", "X-Api-Key: s3cr3t-value"],
        &[
            "--static-oauth-client-info",
            r#"{"client_id":"a","client_secret":"s3cr3t-value"}"#,
        ],
    ] {
        let argv = [
            &["config", "cursor", URL][..],
            secret_args,
            &["--write", "--config-path", p],
        ]
        .concat();
        let out = run(&argv, NO_ENV);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{secret_args:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(!err.contains("s3cr3t-value") && out.stdout.is_empty(), "{err}");
        assert!(!path.exists(), "nothing may be written");
    }
    // A credential header by reference, and an ordinary header, are fine.
    for ok_args in [
        &["-H", "Authorization: Bearer ${EXAMPLE_TOKEN}"][..],
        &["-H", "X-Region: eu"],
    ] {
        let out = run(&[&["config", "cursor", URL][..], ok_args].concat(), NO_ENV);
        assert!(
            out.status.success(),
            "{ok_args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn write_merges_into_an_existing_file_and_keeps_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    // Claude Desktop: strict JSON with other settings and another server, odd spacing kept.
    let path = dir.path().join("claude_desktop_config.json");
    let before = "{\n\t\"globalShortcut\": \"Ctrl+Space\",\n\t\"mcpServers\": {\n\t\t\"files\": { \"command\": \"npx\", \"args\": [\"-y\", \"fs\"] }\n\t}\n}\n";
    std::fs::write(&path, before).unwrap();
    let p = path.to_str().unwrap();
    let out = run(
        &["config", "claude-desktop", URL, "--write", "--config-path", p],
        NO_ENV,
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stderr).contains(p), "says where it wrote");
    let after = std::fs::read_to_string(&path).unwrap();
    let cut = before.find("] }").unwrap() + 3;
    assert!(
        after.starts_with(&before[..cut]) && after.ends_with(&before[cut..]),
        "{after}"
    );
    let v: Value = serde_json::from_str(&after).unwrap();
    assert_eq!(v["globalShortcut"], "Ctrl+Space");
    assert_eq!(v["mcpServers"]["files"]["command"], "npx");
    absolute_binary(v["mcpServers"]["example"]["command"].as_str().unwrap());
    assert_eq!(
        std::fs::read_to_string(dir.path().join("claude_desktop_config.json.bak")).unwrap(),
        before
    );

    // Zed: comments and trailing commas stay.
    let zed = dir.path().join("settings.json");
    let zed_before =
        "// Zed settings\n{\n  \"theme\": \"One Dark\", // mine\n  /* fonts */ \"buffer_font_size\": 15,\n}\n";
    std::fs::write(&zed, zed_before).unwrap();
    let out = run(
        &[
            "config",
            "zed",
            URL,
            "--name",
            "ex",
            "--write",
            "--config-path",
            zed.to_str().unwrap(),
        ],
        NO_ENV,
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let after = std::fs::read_to_string(&zed).unwrap();
    let cut = zed_before.find("15,").unwrap() + 3;
    assert!(
        after.starts_with(&zed_before[..cut]) && after.ends_with("\n}\n"),
        "{after}"
    );
    assert!(
        after.contains("\"context_servers\": {\n    \"ex\": {\n      \"command\": "),
        "{after}"
    );

    // Codex: the table is appended; a second write replaces it in place.
    let codex = dir.path().join("config.toml");
    let codex_before = "model = \"o3\" # mine\n\n[mcp_servers.files]\ncommand = \"npx\"\n";
    std::fs::write(&codex, codex_before).unwrap();
    let c = codex.to_str().unwrap();
    for _ in 0..2 {
        let out = run(&["config", "codex", URL, "--write", "--config-path", c], NO_ENV);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }
    let after = std::fs::read_to_string(&codex).unwrap();
    assert!(after.starts_with(codex_before), "{after}");
    assert_eq!(after.matches("[mcp_servers.example]").count(), 1, "{after}");
    let doc: toml_edit::DocumentMut = after.parse().unwrap();
    assert_eq!(doc["mcp_servers"]["files"]["command"].as_str(), Some("npx"));
    assert!(dir.path().join("config.toml.bak").exists() && dir.path().join("config.toml.bak.1").exists());

    // A file that does not exist yet is created, with its directory.
    let fresh = dir.path().join("new").join("mcp.json");
    let out = run(
        &[
            "config",
            "cursor",
            URL,
            "--write",
            "--config-path",
            fresh.to_str().unwrap(),
        ],
        NO_ENV,
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: Value = serde_json::from_slice(&std::fs::read(&fresh).unwrap()).unwrap();
    assert_eq!(v["mcpServers"]["example"]["args"][0], URL);
}

#[test]
fn a_file_it_cannot_parse_is_refused_and_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    for (client, file, text) in [
        ("cursor", "mcp.json", "{\"mcpServers\": {\"a\": {},}}\n"), // a trailing comma: not JSON
        ("claude-desktop", "c.json", "// a comment\n{}\n"),
        ("vscode", "mcp.json", "{\"servers\": {\n"),
        ("windsurf", "w.json", "{\"mcpServers\": [1]}\n"),
        ("codex", "config.toml", "[mcp_servers.a\ncommand = 1\n"),
    ] {
        let path = dir.path().join(file);
        std::fs::write(&path, text).unwrap();
        let out = run(
            &[
                "config",
                client,
                URL,
                "--write",
                "--config-path",
                path.to_str().unwrap(),
            ],
            NO_ENV,
        );
        assert_eq!(out.status.code(), Some(1), "{client}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(err.lines().count(), 1, "{client}: {err}");
        assert!(
            err.contains("nothing was written") && err.contains(file),
            "{client}: {err}"
        );
        assert_eq!(std::fs::read_to_string(&path).unwrap(), text, "{client}");
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .flatten()
            .map(|e| e.file_name())
            .collect();
        assert_eq!(names.len(), 1, "{client}: no backup, no temporary file: {names:?}");
        std::fs::remove_file(&path).unwrap();
    }
}
