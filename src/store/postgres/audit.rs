//! The hash-chained, keyed audit log on PostgreSQL: one chain for every writer.
//! Appends take a transaction-scoped advisory lock, so concurrent actions from
//! any machine line up and the chain never forks. The MAC key lives outside the
//! database (`[audit] key_file`, shared by the team's consoles); each console
//! keeps its own head witness of the entries it wrote, which the chain must
//! still hold.
use sqlx::postgres::PgRow;
use sqlx::{PgConnection, Row};

use super::PgStore;
use crate::store::error::{Result, StoreError};
use crate::store::rows::*;
use crate::store::sqlite::anchor::{advance, read_witness, write_witness, Anchor};

/// The channel every audited change is announced on (its payload: the action).
pub(super) const CHANGES_CHANNEL: &str = "tokenward_changes";

/// The advisory lock that serializes appends: one key for the whole chain.
const AUDIT_LOCK: i64 = 0x746f_6b65_6e77_6172; // "tokenwar"

/// What an append leaves to do after its transaction commits: move the witness.
pub(super) struct Appended {
    pub(super) entry: AuditEntry,
    witness: Option<AuditHead>,
}

impl Appended {
    /// After the commit: the witness names this entry (a witness that cannot be
    /// written stays at an older head the chain still holds).
    pub(super) fn witness(self, anchor: &Anchor) -> AuditEntry {
        if let (Some(path), Some(head)) = (&anchor.witness_file, &self.witness) {
            let _ = write_witness(path, head);
        }
        self.entry
    }
}

impl PgStore {
    /// Sends `tx` the action of every change another console (or this one)
    /// commits, as PostgreSQL announces it (LISTEN/NOTIFY: no polling); the
    /// listener reconnects by itself after a dropped connection.
    pub fn watch_changes(&self, tx: tokio::sync::mpsc::Sender<crate::store::rows::Change>) {
        let pool = self.pool.clone();
        tokio::spawn(async move {
            let Ok(mut listener) = sqlx::postgres::PgListener::connect_with(&pool).await else { return };
            if listener.listen(CHANGES_CHANNEL).await.is_err() {
                return;
            }
            while let Ok(n) = listener.recv().await {
                // Written by append_audit below; anything else on the channel is a bare action word.
                let change = serde_json::from_str(n.payload()).unwrap_or_else(|_| crate::store::rows::Change { action: n.payload().to_string(), ..Default::default() });
                if tx.send(change).await.is_err() {
                    return;
                }
            }
        });
    }

    pub async fn append_audit(&self, entry: &AuditDraft) -> Result<AuditEntry> {
        let mut tx = self.pool.begin().await?;
        let appended = append_audit(&mut tx, &self.anchor, entry).await?;
        tx.commit().await?;
        Ok(appended.witness(&self.anchor))
    }

    pub async fn audit_entries(&self, after_seq: i64, limit: i64) -> Result<Vec<AuditEntry>> {
        let rows = sqlx::query("SELECT seq, at, actor, action, target, detail, prev_hash, hash, mac FROM audit_log WHERE seq > $1 ORDER BY seq LIMIT $2")
            .bind(after_seq)
            .bind(limit)
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.iter().map(audit_from_row).collect())
    }

    pub async fn audit_for_target(&self, target: &str, limit: i64) -> Result<Vec<AuditEntry>> {
        let rows = sqlx::query("SELECT seq, at, actor, action, target, detail, prev_hash, hash, mac FROM audit_log WHERE target = $1 ORDER BY seq DESC LIMIT $2")
            .bind(target)
            .bind(limit)
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.iter().map(audit_from_row).collect())
    }

    pub async fn audit_mac(&self, entry: &AuditEntry, prev_mac: &str) -> Result<String> {
        self.anchor.mac(prev_mac, entry)
    }

    /// The key, this console's witness and the append-only triggers, as they are now.
    pub async fn audit_anchor(&self) -> Result<AuditAnchor> {
        let mut problems = self.anchor.key_problems();
        let witness = match &self.anchor.witness_file {
            Some(path) => match read_witness(path) {
                Ok(head) => head,
                Err(e) => {
                    problems.push(format!("the head witness {} cannot be read: {e}", path.display()));
                    None
                }
            },
            None => None,
        };
        let mut missing_triggers = Vec::new();
        for name in ["audit_log_no_update", "audit_log_no_delete", "audit_log_no_truncate"] {
            let enabled: Option<String> = sqlx::query_scalar("SELECT tgenabled::text FROM pg_trigger WHERE tgrelid = 'audit_log'::regclass AND tgname = $1")
                .bind(name)
                .fetch_optional(&self.pool)
                .await?;
            if enabled.as_deref().is_none_or(|e| e == "D") {
                missing_triggers.push(name.to_string());
            }
        }
        let shown = |p: &Option<std::path::PathBuf>| p.as_ref().map(|p| p.display().to_string());
        Ok(AuditAnchor { key_file: shown(&self.anchor.key_file), witness_file: shown(&self.anchor.witness_file), witness, problems, missing_triggers })
    }
}

/// A transaction that will append to the audit log and lock rows: the chain's lock
/// comes first, so every such transaction takes its locks in one order (chain, then
/// rows) and two consoles deciding at once wait for each other instead of deadlocking
/// (a claim locked its row and then waited for the chain, while a recording held the
/// chain's turn and waited for a row).
pub(super) async fn begin_audited(pool: &sqlx::PgPool) -> Result<sqlx::Transaction<'static, sqlx::Postgres>> {
    let mut tx = pool.begin().await?;
    sqlx::query("SELECT pg_advisory_xact_lock($1)").bind(AUDIT_LOCK).execute(&mut *tx).await?;
    Ok(tx)
}

/// Appends one entry inside the caller's transaction, after every other writer's.
pub(super) async fn append_audit(tx: &mut PgConnection, anchor: &Anchor, entry: &AuditDraft) -> Result<Appended> {
    sqlx::query("SELECT pg_advisory_xact_lock($1)").bind(AUDIT_LOCK).execute(&mut *tx).await?;
    let last = sqlx::query_as("SELECT seq, hash, mac FROM audit_log ORDER BY seq DESC LIMIT 1").fetch_optional(&mut *tx).await?;
    let written = anchor.seal(entry, last)?;
    sqlx::query("INSERT INTO audit_log (seq, at, actor, action, target, detail, prev_hash, hash, mac) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)")
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
    // Every console listening hears of it when (and only if) this transaction commits.
    let change = crate::store::rows::Change { action: written.action.clone(), actor: written.actor.clone(), target: written.target.clone() };
    let payload = serde_json::to_string(&change).unwrap_or_else(|_| written.action.clone());
    sqlx::query("SELECT pg_notify($1, $2)").bind(CHANGES_CHANNEL).bind(&payload).execute(&mut *tx).await?;
    let witness = next_witness(tx, anchor, &written).await?;
    Ok(Appended { entry: written, witness })
}

/// The head this console's witness moves to, unless the witness names an entry
/// the chain no longer holds (a truncated or rewritten chain keeps its evidence).
async fn next_witness(tx: &mut PgConnection, anchor: &Anchor, head: &AuditEntry) -> Result<Option<AuditHead>> {
    let Some(path) = &anchor.witness_file else { return Ok(None) };
    let old = match read_witness(path) {
        Ok(Some(old)) => old,
        // This console's first entry: its witness starts here.
        Ok(None) => return Ok(Some(AuditHead { seq: head.seq, hash: head.hash.clone(), mac: head.mac.clone(), keyed_from: 1 })),
        Err(source) => return Err(StoreError::Dir { path: path.clone(), source }),
    };
    let held: Option<String> = if old.seq == 0 {
        Some(GENESIS.to_string())
    } else {
        sqlx::query_scalar("SELECT hash FROM audit_log WHERE seq = $1").bind(old.seq).fetch_optional(&mut *tx).await?
    };
    Ok(advance(&old, held.as_deref(), head))
}

fn audit_from_row(r: &PgRow) -> AuditEntry {
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
