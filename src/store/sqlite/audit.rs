//! The hash-chained, keyed audit log: appended inside the transaction of what it
//! records; its key and head witness live outside the database (`anchor.rs`).
use sqlx::Row;

use super::anchor::{self, read_witness, write_witness};
use super::SqliteStore;
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
        let rows = sqlx::query("SELECT seq, at, actor, action, target, detail, prev_hash, hash, mac FROM audit_log WHERE seq > ? ORDER BY seq LIMIT ?")
            .bind(after_seq)
            .bind(limit)
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.iter().map(audit_from_row).collect())
    }

    pub async fn audit_for_target(&self, target: &str, limit: i64) -> Result<Vec<AuditEntry>> {
        let rows = sqlx::query(
            "SELECT seq, at, actor, action, target, detail, prev_hash, hash, mac FROM audit_log WHERE target = ? ORDER BY seq DESC LIMIT ?",
        )
        .bind(target)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.iter().map(audit_from_row).collect())
    }

    /// The MAC an entry must carry after `prev_mac`, under this store's key (which never leaves the store).
    pub async fn audit_mac(&self, entry: &AuditEntry, prev_mac: &str) -> Result<String> {
        self.anchor.mac(prev_mac, entry)
    }

    /// The key, the witness and the append-only triggers, as they are now.
    pub async fn audit_anchor(&self) -> Result<AuditAnchor> {
        let mut problems = self.anchor.key_problems();
        let witness = match &self.anchor.witness_file {
            Some(path) => match read_witness(path) {
                Ok(Some(head)) => Some(head),
                Ok(None) => {
                    problems.push(format!("the head witness {} is missing", path.display()));
                    None
                }
                Err(e) => {
                    problems.push(format!("the head witness {} cannot be read: {e}", path.display()));
                    None
                }
            },
            None => None,
        };
        let mut missing_triggers = Vec::new();
        for name in ["audit_log_no_update", "audit_log_no_delete"] {
            // A trigger of the same name that no longer aborts counts as missing.
            let sql: Option<String> = sqlx::query_scalar("SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = ? AND tbl_name = 'audit_log'")
                .bind(name)
                .fetch_optional(&self.pool)
                .await?;
            if !sql.is_some_and(|s| s.contains("RAISE(ABORT")) {
                missing_triggers.push(name.to_string());
            }
        }
        let shown = |p: &Option<std::path::PathBuf>| p.as_ref().map(|p| p.display().to_string());
        Ok(AuditAnchor { key_file: shown(&self.anchor.key_file), witness_file: shown(&self.anchor.witness_file), witness, problems, missing_triggers })
    }

    /// Starts the witness of a new database, or of an existing one on the key's first use.
    pub(super) async fn start_witness(&self, fresh_file: bool) -> Result<()> {
        let Some(path) = &self.anchor.witness_file else { return Ok(()) };
        let first_use = self.anchor.key_created && matches!(read_witness(path), Ok(None));
        if !(fresh_file || first_use) {
            return Ok(());
        }
        let last = sqlx::query("SELECT seq, hash, mac FROM audit_log ORDER BY seq DESC LIMIT 1").fetch_optional(&self.pool).await?;
        let head = match last {
            Some(r) => {
                let seq: i64 = r.get(0);
                AuditHead { seq, hash: r.get(1), mac: r.get(2), keyed_from: seq + 1 }
            }
            None => anchor::empty_head(1),
        };
        write_witness(path, &head).map_err(|source| crate::store::error::StoreError::Dir { path: path.clone(), source })
    }
}

pub(super) async fn append_audit(tx: &mut sqlx::SqliteConnection, entry: &AuditDraft) -> Result<AuditEntry> {
    let anchor = anchor::of(tx).await?;
    let last = sqlx::query_as("SELECT seq, hash, mac FROM audit_log ORDER BY seq DESC LIMIT 1").fetch_optional(&mut *tx).await?;
    let written = anchor.seal(entry, last)?;
    sqlx::query("INSERT INTO audit_log (seq, at, actor, action, target, detail, prev_hash, hash, mac) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)")
        .bind(written.seq)
        .bind(&written.at)
        .bind(&written.actor)
        .bind(&written.action)
        .bind(&written.target)
        .bind(&written.detail)
        .bind(&written.prev_hash)
        .bind(&written.hash)
        .bind(&written.mac)
        .execute(&mut *tx)
        .await?;
    anchor::stage(tx, &anchor, &written).await?;
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
        mac: r.get(8),
    }
}
