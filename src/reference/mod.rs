//! The reference issuer: a deterministic synthetic organisation and an HTTP
//! server speaking inventory protocol v1 over it. It speaks only the protocol's
//! types and never touches the store, so it stays an honest outside party; it
//! is the model implementation of the protocol and the fixture of the tests.
pub mod org;
pub mod server;

pub use org::Org;
pub use server::{spawn, IssuerState, RunningIssuer};
