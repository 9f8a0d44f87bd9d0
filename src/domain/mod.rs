//! Plain types of the inventory and of its governance. No I/O here.
#[macro_use]
mod macros;
mod consent;
mod governance;
mod inventory;
pub mod redact;
pub mod text;
mod time;
pub mod wire;

pub use consent::*;
pub use governance::*;
pub use inventory::*;
pub use time::*;
