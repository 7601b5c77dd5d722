#![allow(dead_code)]

pub mod auth;
pub mod peers;
pub mod valet;
