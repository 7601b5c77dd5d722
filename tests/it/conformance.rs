//! The official MCP conformance suite (`@modelcontextprotocol/conformance`): the 0.1.16 `core`
//! suite (plus its backcompat and draft scenarios) and the 0.2.0-alpha.12 `--requirements
//! 2025-11-25` set, each against its baseline of expected failures. See tests/conformance/.

use std::path::PathBuf;
use std::process::Command;

#[test]
fn the_official_conformance_suite_passes() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/conformance");
    let out_dir = tempfile::tempdir().unwrap();
    let out = Command::new("sh")
        .arg(dir.join("run.sh"))
        .env("MCP_VALET_BIN", env!("CARGO_BIN_EXE_mcp-valet"))
        .env("CONFORMANCE_OUT", out_dir.path())
        .output()
        .expect("running tests/conformance/run.sh");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    println!("{stdout}");
    assert!(out.status.success(), "conformance failures:\n{stdout}\n{stderr}");
}
