//! Installing a release (issue 12): `dist/build --prebuilt` packs the test-built binary the way a
//! release packs its static one, and the real `install.sh` installs it from a local release
//! directory into a temporary prefix, with no cargo on its PATH. (The cross builds themselves
//! take minutes each; docs/distribution.md has their figures.)

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// The release target install.sh picks on this machine, if it has one.
fn host_target() -> Option<&'static str> {
    match (std::env::consts::OS, std::env::consts::ARCH) {
        ("linux", "x86_64") => Some("x86_64-unknown-linux-musl"),
        ("linux", "aarch64") => Some("aarch64-unknown-linux-musl"),
        _ => None,
    }
}

/// A release directory with one archive for `target`, made by dist/build's packaging.
fn release_dir(target: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(repo().join("dist/build"))
        .args([
            "--prebuilt",
            env!("CARGO_BIN_EXE_mcp-valet"),
            "--target",
            target,
            "--no-packages",
            "--out",
        ])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "dist/build --prebuilt: {}", text(&out.stderr));
    dir
}

/// A directory with a `cargo` that records that it ran and fails, so that a test sees whether
/// install.sh fell back to building, and no real build starts.
fn stub_cargo(dir: &Path) -> PathBuf {
    let bin = dir.join("stub-bin");
    std::fs::create_dir_all(&bin).unwrap();
    let cargo = bin.join("cargo");
    std::fs::write(
        &cargo,
        format!(
            "#!/bin/sh\necho \"$@\" >> '{}'\nexit 1\n",
            dir.join("cargo-calls").display()
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&cargo, std::fs::Permissions::from_mode(0o755)).unwrap();
    bin
}

fn install_sh(release: &str, prefix: &Path, home: &Path, stub: &Path) -> Output {
    Command::new("sh")
        .arg(repo().join("install.sh"))
        .arg("--prefix")
        .arg(prefix)
        .env("MCP_VALET_RELEASE_URL", release)
        .env("HOME", home)
        .env("PATH", format!("{}:/usr/bin:/bin", stub.display()))
        .output()
        .unwrap()
}

#[test]
fn install_sh_installs_the_prebuilt_binary_from_a_local_release() {
    let Some(target) = host_target() else {
        eprintln!("skipped: no prebuilt binary is made for this platform");
        return;
    };
    let release = release_dir(target);
    let name = format!("mcp-valet-{target}.tar.gz");
    let sums = std::fs::read_to_string(release.path().join(format!("{name}.sha256"))).unwrap();
    assert!(
        sums.ends_with(&format!("  {name}\n")) && sums.split(' ').next().unwrap().len() == 64,
        "{sums}"
    );
    assert!(release.path().join(format!("bin/{target}/mcp-valet")).is_file());
    assert_eq!(
        std::fs::read_to_string(release.path().join("VERSION")).unwrap().trim(),
        env!("CARGO_PKG_VERSION")
    );

    let tmp = tempfile::tempdir().unwrap();
    let stub = stub_cargo(tmp.path());
    let prefix = tmp.path().join("prefix");
    // Both spellings of a local release: a file:// URL and a plain directory path.
    for url in [
        format!("file://{}", release.path().display()),
        release.path().display().to_string(),
    ] {
        let out = install_sh(&url, &prefix, tmp.path(), &stub);
        let err = text(&out.stderr);
        assert!(out.status.success(), "{err}");
        assert!(err.contains("checksum verified"), "{err}");
        assert!(
            !tmp.path().join("cargo-calls").exists(),
            "install.sh built from source: {err}"
        );
        // The installed binary runs.
        let v = Command::new(prefix.join("bin/mcp-valet"))
            .arg("--version")
            .output()
            .unwrap();
        assert!(v.status.success());
        assert_eq!(
            text(&v.stdout).trim(),
            format!("mcp-valet {}", env!("CARGO_PKG_VERSION"))
        );
        assert!(prefix.join("share/zsh/site-functions/_mcp-valet").is_file());
        assert!(prefix.join("share/bash-completion/completions/mcp-valet").is_file());
        assert!(prefix.join("share/fish/vendor_completions.d/mcp-valet.fish").is_file());
    }
}

#[test]
fn install_sh_refuses_an_archive_whose_checksum_does_not_match() {
    let Some(target) = host_target() else {
        eprintln!("skipped: no prebuilt binary is made for this platform");
        return;
    };
    let release = release_dir(target);
    // The archive changed after its checksum was written: one byte appended.
    let archive = release.path().join(format!("mcp-valet-{target}.tar.gz"));
    let mut bytes = std::fs::read(&archive).unwrap();
    bytes.push(0);
    std::fs::write(&archive, bytes).unwrap();

    let tmp = tempfile::tempdir().unwrap();
    let stub = stub_cargo(tmp.path());
    let prefix = tmp.path().join("prefix");
    let out = install_sh(release.path().to_str().unwrap(), &prefix, tmp.path(), &stub);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 1, "one line: {err}");
    assert!(
        lines[0].contains("checksum mismatch") && lines[0].contains("--from-source"),
        "{err}"
    );
    assert!(lines[0].contains("nothing was installed"), "{err}");
    assert!(!prefix.exists(), "something was written under the prefix");
    // A mismatch is never papered over by building instead.
    assert!(!tmp.path().join("cargo-calls").exists());
}

#[test]
fn install_sh_builds_from_source_when_the_release_has_nothing_for_this_platform() {
    // A release with only a Windows archive: nothing for this machine, so install.sh goes to
    // cargo (the stub, which fails, so no build runs here) and installs nothing.
    let release = release_dir("x86_64-pc-windows-gnu");
    assert!(release.path().join("mcp-valet-x86_64-pc-windows-gnu.zip").is_file());
    let tmp = tempfile::tempdir().unwrap();
    let stub = stub_cargo(tmp.path());
    let prefix = tmp.path().join("prefix");
    let out = install_sh(release.path().to_str().unwrap(), &prefix, tmp.path(), &stub);
    let err = text(&out.stderr);
    assert!(err.contains("No prebuilt binary"), "{err}");
    assert!(err.contains("building from source"), "{err}");
    let calls = std::fs::read_to_string(tmp.path().join("cargo-calls")).unwrap();
    assert!(calls.starts_with("build --release --locked --manifest-path"), "{calls}");
    assert!(!out.status.success());
    assert!(
        err.contains("the build failed") && err.contains("nothing was installed"),
        "{err}"
    );
    assert!(!prefix.join("bin/mcp-valet").exists());
}
