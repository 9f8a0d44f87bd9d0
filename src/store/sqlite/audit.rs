//! The hash-chained audit log: appended inside the transaction of what it records.
use sqlx::Row;

use super::SqliteStore;
use crate::domain::*;
use crate::store::error::Result;
use crate::store::rows::*;

impl SqliteStore {
    pub async fn append_audit(&self, entry: &AuditDraft) -> Result<AuditEntry> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let written = append_audit(&mut tx, entry).await?;
        tx.commit().await?;
        Ok(written)
    }

    /// Entries after `after_seq`, in order: `audit verify` walks the chain in batches.
    pub async fn audit_entries(&self, after_seq: i64, limit: i64) -> Result<Vec<AuditEntry>> {
        let rows = sqlx::query("SELECT seq, at, actor, action, target, detail, prev_hash, hash FROM audit_log WHERE seq > ? ORDER BY seq LIMIT ?")
            .bind(after_seq)
            .bind(limit)
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.iter().map(audit_from_row).collect())
    }

    pub async fn audit_for_target(&self, target: &str, limit: i64) -> Result<Vec<AuditEntry>> {
        let rows = sqlx::query(
            "SELECT seq, at, actor, action, target, detail, prev_hash, hash FROM audit_log WHERE target = ? ORDER BY seq DESC LIMIT ?",
        )
        .bind(target)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.iter().map(audit_from_row).collect())
    }
}

pub(super) async fn append_audit(tx: &mut sqlx::SqliteConnection, entry: &AuditDraft) -> Result<AuditEntry> {
    let last = sqlx::query("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1").fetch_optional(&mut *tx).await?;
    let (seq, prev_hash) = match last {
        Some(r) => (r.get::<i64, _>(0) + 1, r.get::<String, _>(1)),
        None => (1, GENESIS.to_string()),
    };
    let mut written = AuditEntry {
        seq,
        at: fmt_ts(&entry.at),
        actor: entry.actor.clone(),
        action: entry.action.clone(),
        target: entry.target.clone(),
        detail: entry.detail.to_string(),
        prev_hash,
        hash: String::new(),
    };
    written.hash = written.compute_hash();
    sqlx::query("INSERT INTO audit_log (seq, at, actor, action, target, detail, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?)")
        .bind(written.seq)
        .bind(&written.at)
        .bind(&written.actor)
        .bind(&written.action)
        .bind(&written.target)
        .bind(&written.detail)
        .bind(&written.prev_hash)
        .bind(&written.hash)
        .execute(&mut *tx)
        .await?;
    Ok(written)
}

fn audit_from_row(r: &sqlx::sqlite::SqliteRow) -> AuditEntry {
    AuditEntry {
        seq: r.get(0),
        at: r.get(1),
        actor: r.get(2),
        action: r.get(3),
        target: r.get(4),
        detail: r.get(5),
        prev_hash: r.get(6),
        hash: r.get(7),
    }
}
