//! tokenward: govern the credentials AI agents use. See DESIGN.md for the rooms.
pub mod actions;
pub mod audit;
pub mod bench;
pub mod cli;
pub mod config;
pub mod connectors;
pub mod demo;
pub mod detail;
pub mod domain;
pub mod filter;
pub mod findings;
pub mod policy;
pub mod protocol;
pub mod reference;
pub mod store;
pub mod sync;
pub mod tui;
