//! tokenward: govern the credentials AI agents use. docs/ARCHITECTURE.md maps the rooms.
// A governance console must not crash on hostile input: errors are values, never panics.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used, clippy::panic))]
pub mod actions;
pub mod audit;
pub mod bench;
pub mod cli;
pub mod config;
pub mod connectors;
pub mod context;
pub mod detail;
pub mod domain;
pub mod filter;
pub mod findings;
pub mod home;
pub mod policy;
pub mod protocol;
pub mod reference;
pub mod scan;
pub mod store;
pub mod sync;
pub mod tui;
