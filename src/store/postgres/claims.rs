//! Action claims on PostgreSQL: the guarded row is locked (`FOR UPDATE`), so
//! consoles on every machine line up on it; the claim and the intent entry then
//! commit together, or nothing does and the issuer is never called.
use chrono::Utc;
use sqlx::PgConnection;

use super::audit::append_audit;
use super::PgStore;
use crate::domain::*;
use crate::store::error::Result;
use crate::store::rows::*;
use crate::store::claims::{judge, standing, GuardRow, HeldRow};
use crate::store::holder::new_holder;

impl PgStore {
    pub async fn claim_action(&self, guard: &ClaimGuard, intent: &AuditDraft, lease: chrono::Duration) -> Result<ActionClaim> {
        let now = Utc::now();
        let mut tx = super::audit::begin_audited(&self.pool).await?;
        // The row first: a second claimer waits here, then sees the first's claim.
        check_guard(&mut tx, guard).await?;
        refuse_live_claim(&mut tx, &intent.target, None, now).await?;
        let appended = append_audit(&mut tx, &self.anchor, intent).await?;
        let claim = ActionClaim { target: intent.target.clone(), holder: new_holder(), until: now + lease, intent_seq: appended.entry.seq };
        let action = intent.action.strip_suffix(".intent").unwrap_or(&intent.action);
        sqlx::query(
            "INSERT INTO action_claims (target, action, operator, holder, since, expires_at, intent_seq) VALUES ($1, $2, $3, $4, $5, $6, $7)
             ON CONFLICT (target) DO UPDATE SET action = excluded.action, operator = excluded.operator, holder = excluded.holder,
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
        appended.witness(&self.anchor);
        Ok(claim)
    }

    pub async fn release_claim(&self, claim: &ActionClaim, outcome: Option<&AuditDraft>) -> Result<Option<AuditEntry>> {
        let mut tx = super::audit::begin_audited(&self.pool).await?;
        let appended = match outcome {
            Some(entry) => Some(append_audit(&mut tx, &self.anchor, entry).await?),
            None => None,
        };
        sqlx::query("DELETE FROM action_claims WHERE target = $1 AND holder = $2").bind(&claim.target).bind(&claim.holder).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(appended.map(|a| a.witness(&self.anchor)))
    }
}

/// The outcome of an action on `target` is being recorded: whoever claimed it is done.
pub(super) async fn clear_claim(tx: &mut PgConnection, target: &str) -> Result<()> {
    sqlx::query("DELETE FROM action_claims WHERE target = $1").bind(target).execute(&mut *tx).await?;
    Ok(())
}

/// A Claimed error if a live claim on `target` other than `mine` stands; a lapsed one is cleared.
pub(super) async fn refuse_live_claim(tx: &mut PgConnection, target: &str, mine: Option<&ActionClaim>, now: Timestamp) -> Result<()> {
    let held: Option<HeldRow> =
        sqlx::query_as("SELECT action, operator, holder, since, expires_at FROM action_claims WHERE target = $1 FOR UPDATE")
            .bind(target)
            .fetch_optional(&mut *tx)
            .await?;
    if let Some(lapsed) = standing(target, held, mine, now)? {
        sqlx::query("DELETE FROM action_claims WHERE target = $1 AND holder = $2").bind(target).bind(&lapsed).execute(&mut *tx).await?;
    }
    Ok(())
}

/// The row's state still allows the action (the row is locked until commit), or a Conflict saying what it is now.
pub(super) async fn check_guard(tx: &mut PgConnection, guard: &ClaimGuard) -> Result<()> {
    let row: Option<GuardRow> = match guard {
        ClaimGuard::GrantPending(id) => sqlx::query_as("SELECT status, decided_by, decided_at FROM grants WHERE id = $1 FOR UPDATE").bind(id).fetch_optional(&mut *tx).await?,
        ClaimGuard::CredentialNotRevoked(id) => sqlx::query_as("SELECT status, NULL::text, NULL::text FROM credentials WHERE id = $1 FOR UPDATE").bind(id).fetch_optional(&mut *tx).await?,
        ClaimGuard::ReviewUndecided(item) => {
            sqlx::query_as("SELECT decision, decided_by, decided_at FROM review_items WHERE id = $1 FOR UPDATE").bind(item).fetch_optional(&mut *tx).await?
        }
    };
    judge(guard, row)
}
