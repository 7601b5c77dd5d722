//! mcp-valet: a stdio MCP server that relays to a remote MCP server and signs in for you.
//!
//! The module tree lives in this library so that the fuzz targets (`fuzz/`) can reach the
//! parsers; `main.rs` is the program. Nothing here is a stable API.

mod audit;
mod auth;
mod bridge;
pub mod cli;
mod client;
pub mod commands;
pub mod compat;
pub mod exit;
mod failure;
#[doc(hidden)]
pub mod fuzzing;
mod http;
pub mod logging;
mod settings;
mod store;
pub mod util;
