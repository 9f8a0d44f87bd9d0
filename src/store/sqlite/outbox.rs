//! Revocations: recorded once the issuer confirms, or queued in the outbox until it does.
use chrono::Utc;
use sqlx::Row;

use super::audit::append_audit;
use super::claims::clear_claim;
use super::{insert_consent, SqliteStore, TokenwardConsent};
use crate::domain::*;
use crate::store::error::Result;
use crate::store::rows::*;

impl SqliteStore {
    /// The issuer confirmed a revocation: mark it, add the consent event and the
    /// audit entry in one transaction, so the store never disagrees with the log.
    pub async fn record_revocation(&self, id: &str, entry: &AuditDraft, reason: &str) -> Result<AuditEntry> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        sqlx::query("UPDATE credentials SET status = 'revoked' WHERE id = ?").bind(id).execute(&mut *tx).await?;
        clear_claim(&mut tx, &format!("credential:{id}")).await?;
        let at = fmt_ts(&entry.at);
        let event = TokenwardConsent { credential_id: Some(id), grant_id: None, at: &at, actor: &entry.actor, action: "revoke", scopes: "", note: Some(reason) };
        insert_consent(&mut tx, &event).await?;
        let written = append_audit(&mut tx, entry).await?;
        sqlx::query("UPDATE revocation_outbox SET done_at = ?, claimed_by = NULL, claimed_until = NULL WHERE credential_id = ? AND done_at IS NULL")
            .bind(fmt_ts(&entry.at))
            .bind(id)
            .execute(&mut *tx)
            .await?;
        // Revoked: nothing left to act on, so its findings close now rather than at the next recompute.
        sqlx::query("UPDATE findings SET closed_at = ? WHERE credential_id = ? AND closed_at IS NULL").bind(&at).bind(id).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(written)
    }

    pub async fn enqueue_revocation(&self, id: &str, issuer: &str, actor: &str, reason: &str, error: &str, retry_at: Timestamp) -> Result<()> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let item = QueuedRevocation { credential_id: id, issuer, reason, error, retry_at };
        insert_outbox(&mut tx, &item, actor).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The issuer could not be reached: the revocation waits in the outbox, the
    /// audit entry says so and the action's claim ends, in one transaction.
    pub async fn record_queued_revocation(&self, item: &QueuedRevocation<'_>, entry: &AuditDraft) -> Result<AuditEntry> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        insert_outbox(&mut tx, item, &entry.actor).await?;
        let written = append_audit(&mut tx, entry).await?;
        clear_claim(&mut tx, &format!("credential:{}", item.credential_id)).await?;
        tx.commit().await?;
        Ok(written)
    }

    /// Every queued revocation not yet confirmed, due or not, claimed or not.
    pub async fn pending_revocations(&self) -> Result<Vec<OutboxItem>> {
        let rows = sqlx::query(
            "SELECT id, credential_id, issuer, actor, reason, attempts, last_error FROM revocation_outbox WHERE done_at IS NULL ORDER BY id",
        )
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.iter().map(outbox_item).collect())
    }

    /// Claims up to `limit` due rows for `owner` until `now + lease`, in one write
    /// transaction: rows not yet due, or claimed by another live claim, are left
    /// alone, so two processes retrying at once never send one revocation twice.
    pub async fn claim_revocations(&self, owner: &str, now: Timestamp, lease: chrono::Duration, limit: i64) -> Result<Vec<OutboxItem>> {
        let at = fmt_ts(&now);
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let rows = sqlx::query(
            "UPDATE revocation_outbox SET claimed_by = ?, claimed_until = ?
             WHERE id IN (SELECT id FROM revocation_outbox
                          WHERE done_at IS NULL AND (next_attempt_at IS NULL OR next_attempt_at <= ?)
                            AND (claimed_until IS NULL OR claimed_until <= ?)
                          ORDER BY id LIMIT ?)
             RETURNING id, credential_id, issuer, actor, reason, attempts, last_error",
        )
        .bind(owner)
        .bind(fmt_ts(&(now + lease)))
        .bind(&at)
        .bind(&at)
        .bind(limit)
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        let mut items: Vec<OutboxItem> = rows.iter().map(outbox_item).collect();
        items.sort_by_key(|i| i.id);
        Ok(items)
    }

    pub async fn note_outbox_failure(&self, id: i64, error: &str, retry_at: Timestamp) -> Result<()> {
        // The failed try releases its claim; the row waits for `retry_at`.
        sqlx::query(
            "UPDATE revocation_outbox SET attempts = attempts + 1, last_error = ?, next_attempt_at = ?, claimed_by = NULL, claimed_until = NULL WHERE id = ?",
        )
            .bind(error)
            .bind(fmt_ts(&retry_at))
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}

async fn insert_outbox(tx: &mut sqlx::SqliteConnection, item: &QueuedRevocation<'_>, actor: &str) -> Result<()> {
    sqlx::query(
        "INSERT INTO revocation_outbox (credential_id, issuer, actor, reason, requested_at, attempts, last_error, next_attempt_at)
         VALUES (?, ?, ?, ?, ?, 1, ?, ?)",
    )
    .bind(item.credential_id)
    .bind(item.issuer)
    .bind(actor)
    .bind(item.reason)
    .bind(fmt_ts(&Utc::now()))
    .bind(item.error)
    .bind(fmt_ts(&item.retry_at))
    .execute(&mut *tx)
    .await?;
    Ok(())
}

fn outbox_item(r: &sqlx::sqlite::SqliteRow) -> OutboxItem {
    OutboxItem {
        id: r.get(0),
        credential_id: r.get(1),
        issuer: r.get(2),
        actor: r.get(3),
        reason: r.get(4),
        attempts: r.get(5),
        last_error: r.get(6),
    }
}
