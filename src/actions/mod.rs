//! The things an operator does. The TUI and the CLI both call these, so every
//! action has one code path, one set of checks and one audit record.

mod base;
mod bulk;
mod deployments;
mod grants;
mod permissions;
mod review;
mod revoke;
mod triage;
pub use bulk::{BulkProgress, BulkResults, FilterPlan, FilterRevokeReport, OwnerRevokeReport, FILTER_CAP};
pub use base::{ActionError, Actions};
pub use grants::{ApproveInput, GrantOutcome};
pub use permissions::{Act, Permissions};
pub use review::{ReviewDecision, ReviewEvidence, ReviewOutcome};
pub use revoke::{RevokeOutcome, RevokeStatus};
pub use triage::{TriageFinding, TriageReport, TriageRevocation, MAX_TOKEN_BYTES};
