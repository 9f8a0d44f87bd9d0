//! Issuers and sync runs: started, resumed, finished, and what each issuer holds.
use chrono::Utc;
use sqlx::Row;

use super::SqliteStore;
use crate::domain::*;
use crate::store::error::Result;
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

    /// Starts a sync run, or resumes the issuer's latest run if it stopped
    /// part-way (killed: still `running`; or failed) after committing a page.
    pub async fn begin_sync_run(&self, issuer: &str, now: Timestamp) -> Result<SyncRunStart> {
        let previous = sqlx::query(
            "SELECT id, started_at, cursor, pages, items, status FROM sync_runs WHERE issuer = ? ORDER BY id DESC LIMIT 1",
        )
        .bind(issuer)
        .fetch_optional(&self.pool)
        .await?;
        if let Some(row) = previous {
            let (id, status, cursor): (i64, String, Option<String>) = (row.get(0), row.get(5), row.get(2));
            if cursor.is_some() && (status == "running" || status == "failed") {
                sqlx::query("UPDATE sync_runs SET status = 'running', error = NULL, finished_at = NULL WHERE id = ?")
                    .bind(id)
                    .execute(&self.pool)
                    .await?;
                return Ok(SyncRunStart {
                    id,
                    started_at: parse_ts(&row.get::<String, _>(1)).unwrap_or(now),
                    resume_cursor: cursor,
                    pages: row.get(3),
                    items: row.get(4),
                });
            }
            if status == "running" {
                sqlx::query("UPDATE sync_runs SET status = 'failed', finished_at = ?, error = 'interrupted before its first page' WHERE id = ?")
                    .bind(fmt_ts(&now))
                    .bind(id)
                    .execute(&self.pool)
                    .await?;
            }
        }
        let id: i64 = sqlx::query_scalar("INSERT INTO sync_runs (issuer, started_at, status) VALUES (?, ?, 'running') RETURNING id")
            .bind(issuer)
            .bind(fmt_ts(&now))
            .fetch_one(&self.pool)
            .await?;
        Ok(SyncRunStart { id, started_at: now, resume_cursor: None, pages: 0, items: 0 })
    }

    /// Closes a run. On success every credential of the issuer the run did not
    /// see is marked gone (kept, for history). Returns how many went.
    pub async fn finish_sync_run(&self, run: &SyncRunStart, issuer: &str, error: Option<&str>, now: Timestamp) -> Result<u64> {
        let now = fmt_ts(&now);
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let mut gone = 0;
        if error.is_none() {
            gone = sqlx::query(
                "UPDATE credentials SET status = 'gone', gone_at = ? WHERE issuer = ? AND synced_run IS NOT ? AND status != 'gone'",
            )
            .bind(&now)
            .bind(issuer)
            .bind(run.id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
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
