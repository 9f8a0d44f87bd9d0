//! Revocations on PostgreSQL: recorded once the issuer confirms, or queued in the
//! outbox, whose rows each console claims with `FOR UPDATE SKIP LOCKED`, so a
//! queued revocation is sent once however many consoles retry.
use chrono::Utc;
use sqlx::postgres::PgRow;
use sqlx::{PgConnection, Row};

use super::audit::append_audit;
use super::claims::clear_claim;
use super::PgStore;
use crate::domain::*;
use crate::store::error::Result;
use crate::store::rows::*;
use crate::store::sqlite::TokenwardConsent;

impl PgStore {
    pub async fn record_revocation(&self, id: &str, entry: &AuditDraft, reason: &str) -> Result<AuditEntry> {
        let mut tx = super::audit::begin_audited(&self.pool).await?;
        sqlx::query("UPDATE credentials SET status = 'revoked' WHERE id = $1").bind(id).execute(&mut *tx).await?;
        clear_claim(&mut tx, &format!("credential:{id}")).await?;
        let at = fmt_ts(&entry.at);
        let event = TokenwardConsent { credential_id: Some(id), grant_id: None, at: &at, actor: &entry.actor, action: "revoke", scopes: "", note: Some(reason) };
        insert_consent(&mut tx, &event).await?;
        let appended = append_audit(&mut tx, &self.anchor, entry).await?;
        sqlx::query("UPDATE revocation_outbox SET done_at = $1, claimed_by = NULL, claimed_until = NULL WHERE credential_id = $2 AND done_at IS NULL")
            .bind(&at)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("UPDATE findings SET closed_at = $1 WHERE credential_id = $2 AND closed_at IS NULL").bind(&at).bind(id).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(appended.witness(&self.anchor))
    }

    pub async fn enqueue_revocation(&self, id: &str, issuer: &str, actor: &str, reason: &str, error: &str, retry_at: Timestamp) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        let item = QueuedRevocation { credential_id: id, issuer, reason, error, retry_at };
        insert_outbox(&mut tx, &item, actor).await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn record_queued_revocation(&self, item: &QueuedRevocation<'_>, entry: &AuditDraft) -> Result<AuditEntry> {
        let mut tx = super::audit::begin_audited(&self.pool).await?;
        insert_outbox(&mut tx, item, &entry.actor).await?;
        let appended = append_audit(&mut tx, &self.anchor, entry).await?;
        clear_claim(&mut tx, &format!("credential:{}", item.credential_id)).await?;
        tx.commit().await?;
        Ok(appended.witness(&self.anchor))
    }

    pub async fn pending_revocations(&self) -> Result<Vec<OutboxItem>> {
        let rows = sqlx::query("SELECT id, credential_id, issuer, actor, reason, attempts, last_error FROM revocation_outbox WHERE done_at IS NULL ORDER BY id")
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.iter().map(outbox_item).collect())
    }

    /// Claims up to `limit` due rows: rows another console is claiming right now
    /// are skipped, not waited for, and a live claim is left alone.
    pub async fn claim_revocations(&self, owner: &str, now: Timestamp, lease: chrono::Duration, limit: i64) -> Result<Vec<OutboxItem>> {
        let at = fmt_ts(&now);
        let rows = sqlx::query(
            "UPDATE revocation_outbox SET claimed_by = $1, claimed_until = $2
             WHERE id IN (SELECT id FROM revocation_outbox
                          WHERE done_at IS NULL AND (next_attempt_at IS NULL OR next_attempt_at <= $3)
                            AND (claimed_until IS NULL OR claimed_until <= $3)
                          ORDER BY id LIMIT $4 FOR UPDATE SKIP LOCKED)
             RETURNING id, credential_id, issuer, actor, reason, attempts, last_error",
        )
        .bind(owner)
        .bind(fmt_ts(&(now + lease)))
        .bind(&at)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        let mut items: Vec<OutboxItem> = rows.iter().map(outbox_item).collect();
        items.sort_by_key(|i| i.id);
        Ok(items)
    }

    pub async fn note_outbox_failure(&self, id: i64, error: &str, retry_at: Timestamp) -> Result<()> {
        sqlx::query("UPDATE revocation_outbox SET attempts = attempts + 1, last_error = $1, next_attempt_at = $2, claimed_by = NULL, claimed_until = NULL WHERE id = $3")
            .bind(error)
            .bind(fmt_ts(&retry_at))
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}

/// A consent event tokenward itself records (a decision or revocation it made).
pub(super) async fn insert_consent(tx: &mut PgConnection, e: &TokenwardConsent<'_>) -> Result<()> {
    sqlx::query("INSERT INTO consent_events (credential_id, grant_id, at, actor, action, scopes, note, source) VALUES ($1, $2, $3, $4, $5, $6, $7, 'tokenward')")
        .bind(e.credential_id)
        .bind(e.grant_id)
        .bind(e.at)
        .bind(e.actor)
        .bind(e.action)
        .bind(e.scopes)
        .bind(e.note)
        .execute(&mut *tx)
        .await?;
    Ok(())
}

async fn insert_outbox(tx: &mut PgConnection, item: &QueuedRevocation<'_>, actor: &str) -> Result<()> {
    sqlx::query(
        "INSERT INTO revocation_outbox (credential_id, issuer, actor, reason, requested_at, attempts, last_error, next_attempt_at)
         VALUES ($1, $2, $3, $4, $5, 1, $6, $7)",
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

fn outbox_item(r: &PgRow) -> OutboxItem {
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
