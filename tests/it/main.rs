//! The integration tests: one test binary (`cargo test --test it`), so that `common` and the
//! store module compile once. Each module runs the real mcp-valet binary, or the real store,
//! against real peers; its own `//!` says which.

mod common;

mod audit;
mod auth;
mod bounds;
mod bridge;
mod cli;
mod client;
mod compat;
mod config;
mod conformance;
mod era;
mod era_downgrade;
mod era_downgrade_faults;
mod era_faults;
mod era_hosts;
mod faults;
mod hardening;
mod import;
mod install;
mod issuer;
mod network;
mod packages;
mod peers_smoke;
mod setup;
mod store_keyring;
mod tokens;
mod ux;
mod windows;

// The store module itself, compiled into the test binary (kept so for its private items),
// for `store_keyring`, which needs its `cfg(test)` fail points. It sits at the root so that its
// `crate::store::…` paths resolve; its own unit tests come along and run here too (quick).
#[allow(dead_code, unused_imports)]
#[path = "../../src/store/mod.rs"]
mod store;
