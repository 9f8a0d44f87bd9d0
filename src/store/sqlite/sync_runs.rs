//! Issuers and sync runs: started, resumed, finished, and what each issuer holds.
use chrono::{Duration, Utc};
use sqlx::{Row, SqliteConnection};

use super::SqliteStore;
use crate::domain::*;
use crate::store::error::{Result, StoreError};
use crate::store::holder::{holder_has_exited, new_holder, SYNC_LOCK_MINUTES};
use crate::store::rows::*;


impl SqliteStore {
    pub async fn upsert_issuer(&self, name: &str, kind: IssuerKind, url: Option<&str>) -> Result<()> {
        sqlx::query(
            "INSERT INTO issuers (name, kind, url, added_at) VALUES (?, ?, ?, ?)
             ON CONFLICT(name) DO UPDATE SET kind = excluded.kind, url = excluded.url",
        )
        .bind(name)
        .bind(kind.as_str())
        .bind(url)
        .bind(fmt_ts(&Utc::now()))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Takes the issuer's sync lock, then starts a sync run, or resumes the
    /// issuer's latest run if it stopped part-way (killed: still `running`; or
    /// failed) after committing a page. A lock held by a live sync is a Conflict
    /// naming its holder; an expired one, or one whose process has exited, is taken over.
    pub async fn begin_sync_run(&self, issuer: &str, now: Timestamp) -> Result<SyncRunStart> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let lock = take_sync_lock(&mut tx, issuer, now).await?;
        let previous = sqlx::query(
            "SELECT id, started_at, cursor, pages, items, status, since FROM sync_runs WHERE issuer = ? ORDER BY id DESC LIMIT 1",
        )
        .bind(issuer)
        .fetch_optional(&mut *tx)
        .await?;
        if let Some(row) = previous {
            let (id, status, cursor): (i64, String, Option<String>) = (row.get(0), row.get(5), row.get(2));
            if cursor.is_some() && (status == "running" || status == "failed") {
                sqlx::query("UPDATE sync_runs SET status = 'running', error = NULL, finished_at = NULL WHERE id = ?")
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                let start = SyncRunStart {
                    id,
                    started_at: parse_ts(&row.get::<String, _>(1)).unwrap_or(now),
                    resume_cursor: cursor,
                    pages: row.get(3),
                    items: row.get(4),
                    lock,
                    since: row.get(6),
                };
                tx.commit().await?;
                return Ok(start);
            }
            if status == "running" {
                // No cursor: stopped before its first page, or after its last one but before it finished.
                let items: i64 = row.get(4);
                let error = if items == 0 { "interrupted before its first page" } else { "interrupted after its last page, before it finished: listed again" };
                sqlx::query("UPDATE sync_runs SET status = 'failed', finished_at = ?, error = ? WHERE id = ?")
                    .bind(fmt_ts(&now))
                    .bind(error)
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
            }
        }
        // A new run will not resume an older one: what those saw is of no more use.
        sqlx::query("DELETE FROM sync_seen WHERE run_id IN (SELECT id FROM sync_runs WHERE issuer = ?)").bind(issuer).execute(&mut *tx).await?;
        let id: i64 = sqlx::query_scalar("INSERT INTO sync_runs (issuer, started_at, status) VALUES (?, ?, 'running') RETURNING id")
            .bind(issuer)
            .bind(fmt_ts(&now))
            .fetch_one(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(SyncRunStart { id, started_at: now, resume_cursor: None, pages: 0, items: 0, lock, since: None })
    }

    /// Extends a run's sync lock as its pages commit; a Conflict if another sync took it over.
    pub async fn renew_sync_lock(&self, run: &SyncRunStart, now: Timestamp) -> Result<()> {
        let renewed = sqlx::query("UPDATE sync_locks SET expires_at = ? WHERE owner = ?")
            .bind(fmt_ts(&(now + Duration::minutes(SYNC_LOCK_MINUTES))))
            .bind(&run.lock)
            .execute(&self.pool)
            .await?
            .rows_affected();
        if renewed == 0 {
            return Err(lost_lock(&run.lock));
        }
        Ok(())
    }

    /// Closes a run and releases its sync lock. On success every credential of the
    /// issuer the run did not see is marked gone (kept, for history). Returns how
    /// many went. A run whose lock was taken over changes nothing: a Conflict.
    pub async fn finish_sync_run(&self, run: &SyncRunStart, issuer: &str, error: Option<&str>, now: Timestamp) -> Result<u64> {
        let now = fmt_ts(&now);
        // A first load built no secondary index as it went: build them now, before anything reads by them.
        super::bulk::restore(&self.pool).await?;
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        // A run that lost its lock must not mark gone what the new holder has yet to see.
        let released = sqlx::query("DELETE FROM sync_locks WHERE owner = ?").bind(&run.lock).execute(&mut *tx).await?.rows_affected();
        if released == 0 {
            return Err(lost_lock(&run.lock));
        }
        let mut gone = 0;
        // A delta listing named only what changed: what it did not name is not gone
        // (its tombstones were applied as its pages came, `mark_removed`).
        let since: Option<String> = sqlx::query_scalar("SELECT since FROM sync_runs WHERE id = ?").bind(run.id).fetch_one(&mut *tx).await?;
        if error.is_none() && since.is_none() {
            gone = sqlx::query(
                "UPDATE credentials SET status = 'gone', gone_at = ? WHERE issuer = ? AND synced_run IS NOT ? AND status != 'gone'
                 AND NOT EXISTS (SELECT 1 FROM sync_seen s WHERE s.run_id = ? AND s.credential_id = credentials.id)",
            )
            .bind(&now)
            .bind(issuer)
            .bind(run.id)
            .bind(run.id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        }
        if error.is_none() {
            sqlx::query("DELETE FROM sync_seen WHERE run_id = ?").bind(run.id).execute(&mut *tx).await?;
        }
        sqlx::query("UPDATE sync_runs SET status = ?, finished_at = ?, error = ? WHERE id = ?")
            .bind(if error.is_some() { "failed" } else { "ok" })
            .bind(&now)
            .bind(error)
            .bind(run.id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(gone)
    }

    pub async fn set_run_listing(&self, run_id: i64, since: Option<&str>, watermark: Option<&str>) -> Result<()> {
        sqlx::query("UPDATE sync_runs SET since = ?, watermark = ? WHERE id = ?").bind(since).bind(watermark).bind(run_id).execute(&self.pool).await?;
        Ok(())
    }

    pub async fn last_watermark(&self, issuer: &str, full_since: Timestamp) -> Result<Option<String>> {
        Ok(sqlx::query_scalar(
            "SELECT watermark FROM sync_runs WHERE issuer = ?1 AND status = 'ok' AND watermark IS NOT NULL
               AND EXISTS (SELECT 1 FROM sync_runs f WHERE f.issuer = ?1 AND f.status = 'ok' AND f.since IS NULL AND f.started_at >= ?2)
             ORDER BY id DESC LIMIT 1",
        )
        .bind(issuer)
        .bind(fmt_ts(&full_since))
        .fetch_optional(&self.pool)
        .await?)
    }

    pub async fn mark_removed(&self, issuer: &str, external_ids: &[String], now: Timestamp) -> Result<u64> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let mut gone = 0;
        for id in external_ids {
            gone += sqlx::query("UPDATE credentials SET status = 'gone', gone_at = ? WHERE issuer = ? AND external_id = ? AND status != 'gone'")
                .bind(fmt_ts(&now))
                .bind(issuer)
                .bind(id)
                .execute(&mut *tx)
                .await?
                .rows_affected();
        }
        tx.commit().await?;
        Ok(gone)
    }

    pub async fn sync_runs(&self, limit: i64) -> Result<Vec<SyncRun>> {
        let rows = sqlx::query(
            "SELECT id, issuer, started_at, finished_at, status, pages, items, error FROM sync_runs ORDER BY id DESC LIMIT ?",
        )
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.iter().map(sync_run_from_row).collect())
    }

    /// The newest run of every issuer, plus how many credentials each holds.
    pub async fn issuer_summaries(&self) -> Result<Vec<IssuerSummary>> {
        let rows = sqlx::query(
            "SELECT i.name, i.kind, i.url,
                    (SELECT count(*) FROM credentials c WHERE c.issuer = i.name) AS credentials,
                    r.id, r.issuer, r.started_at, r.finished_at, r.status, r.pages, r.items, r.error
             FROM issuers i
             LEFT JOIN sync_runs r ON r.id = (SELECT max(id) FROM sync_runs WHERE issuer = i.name)
             ORDER BY i.name",
        )
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .iter()
            .map(|r| IssuerSummary {
                name: r.get(0),
                kind: IssuerKind::parse(&r.get::<String, _>(1)).unwrap_or_default(),
                url: r.get(2),
                credentials: r.get(3),
                last_run: r.get::<Option<i64>, _>(4).map(|_| SyncRun {
                    id: r.get(4),
                    issuer: r.get(5),
                    started_at: r.get(6),
                    finished_at: r.get(7),
                    status: sync_status(&r.get::<String, _>(8)),
                    pages: r.get(9),
                    items: r.get(10),
                    error: r.get(11),
                }),
            })
            .collect())
    }
}

/// Takes the issuer's lock in the caller's transaction, or says who holds it.
async fn take_sync_lock(tx: &mut SqliteConnection, issuer: &str, now: Timestamp) -> Result<String> {
    let held: Option<(String, String, String)> = sqlx::query_as("SELECT owner, since, expires_at FROM sync_locks WHERE issuer = ?")
        .bind(issuer)
        .fetch_optional(&mut *tx)
        .await?;
    if let Some((owner, since, expires_at)) = held {
        let expired = parse_ts(&expires_at).is_none_or(|t| t <= now);
        if !expired && !holder_has_exited(&owner) {
            return Err(StoreError::Conflict(format!(
                "issuer {issuer} is being synced by {owner} since {since} (its lock lapses at {expires_at} unless renewed)"
            )));
        }
    }
    let owner = new_holder();
    sqlx::query(
        "INSERT INTO sync_locks (issuer, owner, since, expires_at) VALUES (?, ?, ?, ?)
         ON CONFLICT(issuer) DO UPDATE SET owner = excluded.owner, since = excluded.since, expires_at = excluded.expires_at",
    )
    .bind(issuer)
    .bind(&owner)
    .bind(fmt_ts(&now))
    .bind(fmt_ts(&(now + Duration::minutes(SYNC_LOCK_MINUTES))))
    .execute(&mut *tx)
    .await?;
    Ok(owner)
}

fn lost_lock(owner: &str) -> StoreError {
    StoreError::Conflict(format!("this sync ({owner}) lost its issuer lock to another sync: nothing was marked gone"))
}

pub(super) fn sync_run_from_row(r: &sqlx::sqlite::SqliteRow) -> SyncRun {
    SyncRun {
        id: r.get(0),
        issuer: r.get(1),
        started_at: r.get(2),
        finished_at: r.get(3),
        status: sync_status(&r.get::<String, _>(4)),
        pages: r.get(5),
        items: r.get(6),
        error: r.get(7),
    }
}

/// A run whose status is none of the known ones did not finish well.
fn sync_status(s: &str) -> SyncStatus {
    SyncStatus::parse(s).unwrap_or(SyncStatus::Failed)
}
