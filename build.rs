//! Release builds for x86_64 glibc Linux lay the code the bridge runs out together.
//!
//! The kernel maps 64 KiB of the binary around every page of code touched (fault-around), so
//! the ~1.5 MB of code run at start and per request, spread over 7 MiB of text, kept 4.5 MiB of
//! it resident. `dist/hot-text.txt` lists those functions (from profiles of bench/run's json and
//! modern workloads; `bench/hot-text` regenerates it) and lld places them first, next to each
//! other: 1.0 MiB less resident text, measured with bench/run's workload (file-backed RSS 7.1-7.5
//! -> 6.1-6.4 MiB). The names carry the build's symbol hashes, which change with the profile,
//! the compiler and the versions of the package and its dependencies: a name the build no
//! longer has is skipped, so a stale list costs memory (bench/run shows it), never
//! correctness. Rerun bench/hot-text then.
//!
//! Only where the linker is known to be lld: rustc >= 1.90 links x86_64-unknown-linux-gnu with
//! its own rust-lld, unless a linker is configured (then nothing is added).

use std::env;
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=dist/hot-text.txt");
    println!("cargo:rerun-if-env-changed=MCP_VALET_NO_TEXT_ORDER");
    println!("cargo:rerun-if-env-changed=MCP_VALET_LINK_MAP");
    let var = |k: &str| env::var(k).unwrap_or_default();
    // bench/hot-text: the link map names the functions of the stripped binary by address.
    // (An unstripped build would not do: `strip` is part of the profile, and so of every
    // symbol's hash.)
    if let Ok(map) = env::var("MCP_VALET_LINK_MAP") {
        println!("cargo:rustc-link-arg-bins=-Wl,-Map={map}");
    }
    if var("PROFILE") != "release"
        || var("TARGET") != "x86_64-unknown-linux-gnu"
        || env::var_os("MCP_VALET_NO_TEXT_ORDER").is_some()
        || env::var_os("RUSTC_LINKER").is_some()
        || var("CARGO_ENCODED_RUSTFLAGS").contains("link")
        || !rustc_links_with_lld()
    {
        return;
    }
    let list = format!("{}/dist/hot-text.txt", var("CARGO_MANIFEST_DIR"));
    println!("cargo:rustc-link-arg-bins=-Wl,--symbol-ordering-file={list}");
    println!("cargo:rustc-link-arg-bins=-Wl,--no-warn-symbol-ordering");
}

/// rustc 1.90 or later (the first to link x86_64-unknown-linux-gnu with rust-lld by default).
fn rustc_links_with_lld() -> bool {
    let rustc = env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let Ok(out) = Command::new(rustc).arg("-V").output() else {
        return false;
    };
    let v = String::from_utf8_lossy(&out.stdout);
    let mut nums = v.split_whitespace().nth(1).unwrap_or("").split('.');
    let major: u32 = nums.next().and_then(|n| n.parse().ok()).unwrap_or(0);
    let minor: u32 = nums.next().and_then(|n| n.parse().ok()).unwrap_or(0);
    major > 1 || (major == 1 && minor >= 90)
}
