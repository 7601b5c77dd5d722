#![allow(dead_code)]

pub mod auth;
pub mod keyring;
pub mod peers;
pub mod valet;
