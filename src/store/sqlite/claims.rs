//! Action claims: a row is claimed, its status checked and the intent written to
//! the audit log in one transaction before any issuer is called; the outcome's
//! transaction removes the claim. If that first transaction fails, nothing is sent.
use chrono::Utc;
use sqlx::SqliteConnection;

use super::audit::append_audit;
use crate::store::claims::{judge, standing, GuardRow, HeldRow};
use crate::store::holder::new_holder;
use super::SqliteStore;
use crate::domain::*;
use crate::store::error::Result;
use crate::store::rows::*;

impl SqliteStore {
    /// Claims `intent.target` for this process until `now + lease`: refused with
    /// who holds it if a live claim stands, or with the row's state if `guard` no
    /// longer holds; otherwise the claim and the intent entry commit together.
    pub async fn claim_action(&self, guard: &ClaimGuard, intent: &AuditDraft, lease: chrono::Duration) -> Result<ActionClaim> {
        let now = Utc::now();
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        refuse_live_claim(&mut tx, &intent.target, None, now).await?;
        check_guard(&mut tx, guard).await?;
        let written = append_audit(&mut tx, intent).await?;
        let claim = ActionClaim { target: intent.target.clone(), holder: new_holder(), until: now + lease, intent_seq: written.seq };
        let action = intent.action.strip_suffix(".intent").unwrap_or(&intent.action);
        sqlx::query(
            "INSERT INTO action_claims (target, action, operator, holder, since, expires_at, intent_seq) VALUES (?, ?, ?, ?, ?, ?, ?)
             ON CONFLICT(target) DO UPDATE SET action = excluded.action, operator = excluded.operator, holder = excluded.holder,
                 since = excluded.since, expires_at = excluded.expires_at, intent_seq = excluded.intent_seq",
        )
        .bind(&claim.target)
        .bind(action)
        .bind(&intent.actor)
        .bind(&claim.holder)
        .bind(fmt_ts(&now))
        .bind(fmt_ts(&claim.until))
        .bind(claim.intent_seq)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(claim)
    }

    /// Gives a claim up, with the entry that says how the action ended (the issuer
    /// refused, say), in one transaction.
    pub async fn release_claim(&self, claim: &ActionClaim, outcome: Option<&AuditDraft>) -> Result<Option<AuditEntry>> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let written = match outcome {
            Some(entry) => Some(append_audit(&mut tx, entry).await?),
            None => None,
        };
        sqlx::query("DELETE FROM action_claims WHERE target = ? AND holder = ?").bind(&claim.target).bind(&claim.holder).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(written)
    }
}

/// The outcome of an action on `target` is being recorded: whoever claimed it is done.
pub(super) async fn clear_claim(tx: &mut SqliteConnection, target: &str) -> Result<()> {
    sqlx::query("DELETE FROM action_claims WHERE target = ?").bind(target).execute(&mut *tx).await?;
    Ok(())
}

/// A Claimed error if a claim on `target` other than `mine` stands (not lapsed,
/// its process alive); a lapsed one is cleared.
pub(super) async fn refuse_live_claim(tx: &mut SqliteConnection, target: &str, mine: Option<&ActionClaim>, now: Timestamp) -> Result<()> {
    let held: Option<HeldRow> =
        sqlx::query_as("SELECT action, operator, holder, since, expires_at FROM action_claims WHERE target = ?")
            .bind(target)
            .fetch_optional(&mut *tx)
            .await?;
    if let Some(lapsed) = standing(target, held, mine, now)? {
        sqlx::query("DELETE FROM action_claims WHERE target = ? AND holder = ?").bind(target).bind(&lapsed).execute(&mut *tx).await?;
    }
    Ok(())
}

/// The row's state still allows the action, or a Conflict saying what it is now.
pub(super) async fn check_guard(tx: &mut SqliteConnection, guard: &ClaimGuard) -> Result<()> {
    let row: Option<GuardRow> = match guard {
        ClaimGuard::GrantPending(id) => sqlx::query_as("SELECT status, decided_by, decided_at FROM grants WHERE id = ?").bind(id).fetch_optional(&mut *tx).await?,
        ClaimGuard::CredentialNotRevoked(id) => sqlx::query_as("SELECT status, NULL, NULL FROM credentials WHERE id = ?").bind(id).fetch_optional(&mut *tx).await?,
        ClaimGuard::ReviewUndecided(item) => {
            sqlx::query_as("SELECT decision, decided_by, decided_at FROM review_items WHERE id = ?").bind(item).fetch_optional(&mut *tx).await?
        }
    };
    judge(guard, row)
}
