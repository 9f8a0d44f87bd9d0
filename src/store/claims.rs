//! What both backends decide alike about an action's claim: whether the guarded
//! row still allows the action, and whether a claim already on the row stands in
//! the way. Each backend reads the rows with its own SQL and asks here.
use super::error::{HeldClaim, Result, StoreError};
use super::holder::holder_has_exited;
use super::rows::{ActionClaim, ClaimGuard};
use crate::domain::{parse_ts, CredentialStatus, GrantStatus, Timestamp};

/// A guarded row as it stands: its state (a grant's or a credential's status, a
/// review item's decision), and who decided it when (NULL where the table has none).
pub(super) type GuardRow = (Option<String>, Option<String>, Option<String>);

/// A claim on a row: action, operator, holder, since, until.
pub(super) type HeldRow = (String, String, String, String, String);

/// The row's state still allows the action, or why not (NotFound, or a Conflict saying what it is now).
pub(super) fn judge(guard: &ClaimGuard, row: Option<GuardRow>) -> Result<()> {
    let decided = |by: Option<String>, at: Option<String>| match (by, at) {
        (Some(by), Some(at)) => format!(" by {by} at {at}"),
        (Some(by), None) => format!(" by {by}"),
        _ => String::new(),
    };
    match (guard, row) {
        (ClaimGuard::GrantPending(id), None) => Err(StoreError::NotFound(format!("grant {id}"))),
        (ClaimGuard::GrantPending(_), Some((Some(status), _, _))) if status == GrantStatus::Pending.as_str() => Ok(()),
        (ClaimGuard::GrantPending(id), Some((status, by, at))) => {
            Err(StoreError::Conflict(format!("grant {id} is {}{}, not pending", status.unwrap_or_default(), decided(by, at))))
        }
        (ClaimGuard::CredentialNotRevoked(id), None) => Err(StoreError::NotFound(id.clone())),
        (ClaimGuard::CredentialNotRevoked(id), Some((Some(s), _, _))) if s == CredentialStatus::Revoked.as_str() => {
            Err(StoreError::Conflict(format!("credential {id} is revoked already")))
        }
        (ClaimGuard::CredentialNotRevoked(_), Some(_)) => Ok(()),
        (ClaimGuard::ReviewUndecided(item), None) => Err(StoreError::NotFound(format!("review item {item}"))),
        (ClaimGuard::ReviewUndecided(_), Some((None, _, _))) => Ok(()),
        (ClaimGuard::ReviewUndecided(item), Some((Some(d), by, at))) => {
            Err(StoreError::Conflict(format!("review item {item} was decided already ({d}{})", decided(by, at))))
        }
    }
}

/// Whether the claim `held` on `target` stands in the way: Ok(None) if there is
/// none or it is `mine`; Ok(Some(holder)) if it lapsed (expired, or its process
/// has exited), for the caller to clear; a Claimed error naming it otherwise.
pub(super) fn standing(target: &str, held: Option<HeldRow>, mine: Option<&ActionClaim>, now: Timestamp) -> Result<Option<String>> {
    let Some((action, operator, holder, since, until)) = held else { return Ok(None) };
    if mine.is_some_and(|m| m.holder == holder) {
        return Ok(None);
    }
    if parse_ts(&until).is_none_or(|t| t <= now) || holder_has_exited(&holder) {
        return Ok(Some(holder));
    }
    Err(StoreError::Claimed(Box::new(HeldClaim { target: target.to_string(), action, operator, holder, since, until })))
}
