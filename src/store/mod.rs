//! The inventory in SQLite: migrations, typed queries, keyset paging. The only
//! module that writes SQL. Every value is bound; dynamic SQL is assembled only
//! from the fixed fragments below and from `filter::SqlFilter`, whose values are binds.
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use chrono::Utc;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{AssertSqlSafe, QueryBuilder, Row, Sqlite};

use crate::domain::{
    fmt_ts, parse_ts, Binding, ConsentEvent, Credential, CredentialKind, CredentialStatus, Grant,
    GrantStatus, Owner, OwnerStatus, Task, Timestamp, UsageEvent,
};
use crate::filter::{SqlFilter, SqlValue};

pub mod findings;
pub mod people;
pub mod reviews;
pub use findings::{FindingCount, FindingRow, RecomputeReport};
pub use people::{BlastItem, BlastRadius, ExpiringGroup, HeldRow, OwnerRow};
pub use reviews::{Campaign, ReviewItem, ReviewRecord};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
    #[error("migration: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("cannot create {path}: {source}")]
    Dir { path: PathBuf, source: std::io::Error },
    #[error("no credential matches '{0}'")]
    NotFound(String),
    #[error("'{0}' matches several credentials: give more of the id")]
    Ambiguous(String),
    #[error("{0}")]
    Conflict(String),
}

pub type Result<T> = std::result::Result<T, StoreError>;

// Every write transaction starts with BEGIN IMMEDIATE: a deferred one that reads
// first cannot upgrade to a write once another connection has written
// (SQLITE_BUSY_SNAPSHOT), and busy_timeout does not retry that; IMMEDIATE waits.

/// SQLite allows 32766 bound values per statement; 400 credentials x 22 columns stays well below.
const CHUNK: usize = 400;
const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

#[derive(Clone)]
pub struct Store {
    pool: SqlitePool,
    location: String,
}

impl Store {
    /// Opens (creating if needed) a database file in WAL mode and runs migrations.
    pub async fn open(path: &Path) -> Result<Self> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| StoreError::Dir { path: dir.to_path_buf(), source })?;
        }
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(10))
            // A large cache and memory-mapped reads: ingest touches many index pages at random.
            .pragma("cache_size", "-262144")
            .pragma("mmap_size", "8589934592")
            .pragma("temp_store", "memory")
            // Checkpoint every 64 MiB of WAL, not 4: hot index pages are copied once, not per page of sync.
            .pragma("wal_autocheckpoint", "65536");
        let pool = SqlitePoolOptions::new().max_connections(4).connect_with(options).await?;
        sqlx::migrate!("./migrations").run(&pool).await?;
        Ok(Store { pool, location: path.display().to_string() })
    }

    /// A private in-memory database (one connection: each `:memory:` connection is its own db).
    pub async fn open_in_memory() -> Result<Self> {
        let options = SqliteConnectOptions::from_str("sqlite::memory:")?;
        let pool = SqlitePoolOptions::new().max_connections(1).connect_with(options).await?;
        sqlx::migrate!("./migrations").run(&pool).await?;
        Ok(Store { pool, location: ":memory:".into() })
    }

    pub fn location(&self) -> &str {
        &self.location
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }

    // ---------------------------------------------------------------- issuers and sync runs

    pub async fn upsert_issuer(&self, name: &str, kind: &str, url: Option<&str>) -> Result<()> {
        sqlx::query(
            "INSERT INTO issuers (name, kind, url, added_at) VALUES (?, ?, ?, ?)
             ON CONFLICT(name) DO UPDATE SET kind = excluded.kind, url = excluded.url",
        )
        .bind(name)
        .bind(kind)
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

    /// Whole issuer pages of credentials in one transaction, with the run's
    /// resume cursor: what is committed and where to resume always agree.
    pub async fn ingest_credential_page(
        &self,
        run_id: i64,
        synced_at: Timestamp,
        items: &[Credential],
        pages: i64,
        next_cursor: Option<&str>,
    ) -> Result<()> {
        let synced = fmt_ts(&synced_at);
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        for chunk in items.chunks(CHUNK) {
            let known = existing_ids(&mut tx, chunk).await?;
            snapshot_scope_changes(&mut tx, chunk, &known, &synced).await?;
            upsert_credentials(&mut tx, chunk, &synced, run_id).await?;
            replace_children(&mut tx, chunk, &known).await?;
        }
        sqlx::query("UPDATE sync_runs SET pages = pages + ?, items = items + ?, cursor = ? WHERE id = ?")
            .bind(pages)
            .bind(items.len() as i64)
            .bind(next_cursor)
            .bind(run_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// People from an issuer or a directory. A directory (`authoritative`) is the
    /// source of truth on who left: a broker's word never overrides it.
    pub async fn ingest_owners(&self, source: &str, owners: &[Owner], synced_at: Timestamp, authoritative: bool) -> Result<()> {
        let synced = fmt_ts(&synced_at);
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        for chunk in owners.chunks(CHUNK) {
            let mut qb: QueryBuilder<Sqlite> = QueryBuilder::new(
                "INSERT INTO owners (id, email, name, team, status, source, offboarded_at, authoritative, synced_at) ",
            );
            qb.push_values(chunk, |mut b, o| {
                b.push_bind(o.email.to_lowercase())
                    .push_bind(o.email.clone())
                    .push_bind(o.name.clone())
                    .push_bind(o.team.clone())
                    .push_bind(o.status.as_str())
                    .push_bind(source.to_string())
                    .push_bind(o.offboarded_at.as_ref().map(fmt_ts))
                    .push_bind(authoritative as i64)
                    .push_bind(synced.clone());
            });
            qb.push(
                " ON CONFLICT(id) DO UPDATE SET email = excluded.email, name = coalesce(excluded.name, owners.name),
                  team = coalesce(excluded.team, owners.team),
                  status = CASE WHEN owners.authoritative > excluded.authoritative THEN owners.status ELSE excluded.status END,
                  offboarded_at = CASE WHEN owners.authoritative > excluded.authoritative THEN owners.offboarded_at ELSE excluded.offboarded_at END,
                  source = CASE WHEN owners.authoritative > excluded.authoritative THEN owners.source ELSE excluded.source END,
                  authoritative = max(owners.authoritative, excluded.authoritative), synced_at = excluded.synced_at",
            );
            qb.build().execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Grants are a small live queue: the issuer's list replaces ours.
    pub async fn replace_grants(&self, issuer: &str, grants: &[Grant], synced_at: Timestamp) -> Result<()> {
        let synced = fmt_ts(&synced_at);
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        sqlx::query("UPDATE grants SET status = 'expired' WHERE issuer = ? AND status = 'pending' AND synced_at < ?")
            .bind(issuer)
            .bind(&synced)
            .execute(&mut *tx)
            .await?;
        for g in grants {
            sqlx::query(
                "INSERT INTO grants (id, issuer, external_id, workload, requested_by, intent, scopes, audience, ttl_seconds,
                   binding, requested_at, expires_at, status, synced_at)
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                 ON CONFLICT(issuer, external_id) DO UPDATE SET workload = excluded.workload, requested_by = excluded.requested_by,
                   intent = excluded.intent, scopes = excluded.scopes, audience = excluded.audience, ttl_seconds = excluded.ttl_seconds,
                   binding = excluded.binding, requested_at = excluded.requested_at, expires_at = excluded.expires_at,
                   status = excluded.status, synced_at = excluded.synced_at",
            )
            .bind(&g.id)
            .bind(&g.issuer)
            .bind(&g.external_id)
            .bind(g.workload.clone().unwrap_or_default())
            .bind(g.requested_by.clone().unwrap_or_default())
            .bind(&g.intent)
            .bind(g.scopes.join(" "))
            .bind(g.audience.join(" "))
            .bind(g.ttl_seconds)
            .bind(g.binding.as_str())
            .bind(g.requested_at.as_ref().map(fmt_ts))
            .bind(g.expires_at.as_ref().map(fmt_ts))
            .bind(g.status.as_str())
            .bind(&synced)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
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
                kind: r.get(1),
                url: r.get(2),
                credentials: r.get(3),
                last_run: r.get::<Option<i64>, _>(4).map(|_| SyncRun {
                    id: r.get(4),
                    issuer: r.get(5),
                    started_at: r.get(6),
                    finished_at: r.get(7),
                    status: r.get(8),
                    pages: r.get(9),
                    items: r.get(10),
                    error: r.get(11),
                }),
            })
            .collect())
    }

    // ---------------------------------------------------------------- browsing

    /// One page of rows by keyset: never OFFSET, so any depth costs the same.
    pub async fn page(&self, req: &PageRequest) -> Result<Vec<CredentialRow>> {
        let expr = req.sort.column.expr();
        let asc = req.sort.descending == matches!(req.anchor, PageAnchor::Before(_) | PageAnchor::Last);
        let inclusive = matches!(req.anchor, PageAnchor::From(_));
        let (cmp, dir) = match (asc, inclusive) {
            (true, false) => (">", "ASC"),
            (true, true) => (">=", "ASC"),
            (false, false) => ("<", "DESC"),
            (false, true) => ("<=", "DESC"),
        };
        let mut sql = format!(
            "SELECT c.id, c.issuer, c.kind, c.owner, coalesce(o.status, CASE WHEN c.owner = '' THEN 'none' ELSE 'unknown' END),
                    c.workload, c.scopes, c.binding, c.expires_at, c.last_used_at, c.status, {expr},
                    c.audience, c.issued_at, c.task_id
             FROM credentials c LEFT JOIN owners o ON o.id = c.owner
             WHERE ({filter})",
            filter = req.filter.sql
        );
        // `expr >= k AND (expr > k OR id > i)`, not a row value: SQLite seeks an
        // expression index only on a plain range over its first column.
        let key = match &req.anchor {
            PageAnchor::After(k) | PageAnchor::Before(k) | PageAnchor::From(k) => {
                let (outer, strict) = if asc { (">=", ">") } else { ("<=", "<") };
                sql.push_str(&format!(" AND {expr} {outer} ? AND ({expr} {strict} ? OR c.id {cmp} ?)"));
                Some(k)
            }
            PageAnchor::First | PageAnchor::Last => None,
        };
        sql.push_str(&format!(" ORDER BY {expr} {dir}, c.id {dir} LIMIT ?"));
        let mut q = bind_filter(sqlx::query(AssertSqlSafe(sql)), &req.filter);
        if let Some(k) = key {
            q = q.bind(k.sort.clone()).bind(k.sort.clone()).bind(k.id.clone());
        }
        let rows = q.bind(req.limit as i64).fetch_all(&self.pool).await?;
        let mut out: Vec<CredentialRow> = rows
            .iter()
            .map(|r| CredentialRow {
                id: r.get(0),
                issuer: r.get(1),
                kind: r.get(2),
                owner: r.get(3),
                owner_status: r.get(4),
                workload: r.get(5),
                scopes: r.get(6),
                binding: r.get(7),
                expires_at: r.get::<Option<String>, _>(8).as_deref().and_then(parse_ts),
                last_used_at: r.get::<Option<String>, _>(9).as_deref().and_then(parse_ts),
                status: r.get(10),
                key: Key { sort: r.get(11), id: r.get(0) },
                audience: r.get(12),
                issued_at: r.get::<Option<String>, _>(13).as_deref().and_then(parse_ts),
                task_id: r.get(14),
            })
            .collect();
        if matches!(req.anchor, PageAnchor::Before(_) | PageAnchor::Last) {
            out.reverse();
        }
        Ok(out)
    }

    pub async fn count(&self, filter: &SqlFilter) -> Result<i64> {
        let sql = format!("SELECT count(*) FROM credentials c WHERE ({})", filter.sql);
        let q = bind_filter(sqlx::query(AssertSqlSafe(sql)), filter);
        Ok(q.fetch_one(&self.pool).await?.get(0))
    }

    /// Rows in display order before `key`: the position of a row, for the scrollbar.
    /// Costs an index range count, so the UI asks for it off the input path.
    pub async fn position(&self, filter: &SqlFilter, sort: Sort, key: &Key) -> Result<i64> {
        let expr = sort.column.expr();
        let (outer, strict) = if sort.descending { (">=", ">") } else { ("<=", "<") };
        let sql = format!(
            "SELECT count(*) FROM credentials c WHERE ({}) AND {expr} {outer} ? AND ({expr} {strict} ? OR c.id {strict} ?)",
            filter.sql
        );
        let q = bind_filter(sqlx::query(AssertSqlSafe(sql)), filter).bind(key.sort.clone()).bind(key.sort.clone()).bind(key.id.clone());
        Ok(q.fetch_one(&self.pool).await?.get(0))
    }

    /// The key of the row at `offset` in an order. OFFSET walks the index: only
    /// for the benchmark's choice of a middle, never on an interactive path.
    pub async fn key_at(&self, sort: Sort, offset: i64) -> Result<Option<Key>> {
        let expr = sort.column.expr();
        let dir = if sort.descending { "DESC" } else { "ASC" };
        let sql = format!("SELECT {expr}, c.id FROM credentials c ORDER BY {expr} {dir}, c.id {dir} LIMIT 1 OFFSET ?");
        let row = sqlx::query(AssertSqlSafe(sql)).bind(offset).fetch_optional(&self.pool).await?;
        Ok(row.map(|r| Key { sort: r.get(0), id: r.get(1) }))
    }

    /// A credential by local id, unique id prefix, external id or fingerprint.
    pub async fn resolve(&self, needle: &str) -> Result<String> {
        let needle = needle.trim();
        // One indexed lookup at a time (an OR across columns would scan the table):
        // the local id, then the fingerprint, then the issuer's id through (issuer, external_id).
        for sql in [
            "SELECT id FROM credentials WHERE id = ? LIMIT 2",
            "SELECT id FROM credentials WHERE fingerprint = ? LIMIT 2",
            "SELECT id FROM credentials WHERE issuer IN (SELECT name FROM issuers) AND external_id = ? LIMIT 2",
        ] {
            let found: Vec<String> = sqlx::query_scalar(sql).bind(needle).fetch_all(&self.pool).await?;
            match found.len() {
                0 => continue,
                1 => return Ok(found[0].clone()),
                _ => return Err(StoreError::Ambiguous(needle.into())),
            }
        }
        if needle.len() >= 4 && needle.chars().all(|c| c.is_ascii_hexdigit()) {
            let upper = format!("{needle}g");
            let ids: Vec<String> = sqlx::query_scalar("SELECT id FROM credentials WHERE id >= ? AND id < ? LIMIT 2")
                .bind(needle.to_lowercase())
                .bind(upper.to_lowercase())
                .fetch_all(&self.pool)
                .await?;
            return match ids.len() {
                1 => Ok(ids[0].clone()),
                0 => Err(StoreError::NotFound(needle.into())),
                _ => Err(StoreError::Ambiguous(needle.into())),
            };
        }
        Err(StoreError::NotFound(needle.into()))
    }

    pub async fn credential(&self, id: &str) -> Result<Credential> {
        let row = sqlx::query(
            "SELECT id, issuer, external_id, kind, fingerprint, client_id, subject, workload, owner, scopes, audience, binding,
                    issued_at, expires_at, last_used_at, status, task_id, task_intent, task_ended_at, parent_id
             FROM credentials WHERE id = ?",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await?
        .ok_or_else(|| StoreError::NotFound(id.into()))?;
        let ts = |i: usize| row.get::<Option<String>, _>(i).as_deref().and_then(parse_ts);
        let opt = |i: usize| Some(row.get::<String, _>(i)).filter(|s| !s.is_empty());
        let id: String = row.get(0);
        // tokenward records each decision it made, and the issuer reports it too:
        // a tokenward event the issuer also reports (same action, actor, scopes) is shown once.
        let rows = sqlx::query("SELECT at, actor, action, scopes, note, source FROM consent_events WHERE credential_id = ? ORDER BY at, id")
            .bind(&id)
            .fetch_all(&self.pool)
            .await?;
        let key = |r: &sqlx::sqlite::SqliteRow| (r.get::<String, _>(1), r.get::<String, _>(2), r.get::<String, _>(3));
        let from_issuer: std::collections::HashSet<_> = rows.iter().filter(|r| r.get::<String, _>(5) == "issuer").map(key).collect();
        let consent = rows
            .iter()
            .filter(|r| r.get::<String, _>(5) == "issuer" || !from_issuer.contains(&key(r)))
            .map(|r| ConsentEvent {
                at: parse_ts(&r.get::<String, _>(0)).unwrap_or_default(),
                actor: r.get(1),
                action: r.get(2),
                scopes: split(&r.get::<String, _>(3)),
                note: r.get(4),
            })
            .collect();
        let usage = sqlx::query("SELECT at, workload, origin FROM usage_events WHERE credential_id = ? ORDER BY at DESC, id LIMIT 50")
            .bind(&id)
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|r| UsageEvent { at: parse_ts(&r.get::<String, _>(0)).unwrap_or_default(), workload: r.get(1), origin: r.get(2) })
            .collect();
        let act_chain = sqlx::query_scalar("SELECT actor FROM delegation WHERE credential_id = ? ORDER BY position")
            .bind(&id)
            .fetch_all(&self.pool)
            .await?;
        let task_id: Option<String> = row.get(16);
        Ok(Credential {
            issuer: row.get(1),
            external_id: row.get(2),
            kind: CredentialKind::parse(&row.get::<String, _>(3)).unwrap_or(CredentialKind::AccessToken),
            fingerprint: row.get(4),
            client_id: opt(5),
            subject: opt(6),
            workload: opt(7),
            owner: opt(8),
            scopes: split(&row.get::<String, _>(9)),
            audience: split(&row.get::<String, _>(10)),
            binding: Binding::parse(&row.get::<String, _>(11)).unwrap_or(Binding::Bearer),
            issued_at: ts(12),
            expires_at: ts(13),
            last_used_at: ts(14),
            status: CredentialStatus::parse(&row.get::<String, _>(15)).unwrap_or(CredentialStatus::Active),
            task: task_id.map(|id| Task { id, intent: row.get(17), ended_at: ts(18) }),
            parent_id: row.get(19),
            act_chain,
            consent,
            usage,
            id,
        })
    }

    pub async fn owner(&self, email: &str) -> Result<Option<Owner>> {
        let row = sqlx::query("SELECT email, name, team, status, source, offboarded_at FROM owners WHERE id = ?")
            .bind(email.to_lowercase())
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|r| Owner {
            email: r.get(0),
            name: r.get(1),
            team: r.get(2),
            status: OwnerStatus::parse(&r.get::<String, _>(3)).unwrap_or(OwnerStatus::Unknown),
            source: r.get(4),
            offboarded_at: r.get::<Option<String>, _>(5).as_deref().and_then(parse_ts),
        }))
    }

    /// The parent chain of a credential (parent first), bounded against cycles.
    pub async fn lineage(&self, id: &str) -> Result<Vec<(String, String)>> {
        let rows = sqlx::query(
            "WITH RECURSIVE up(id, workload, parent_id, depth) AS (
                 SELECT id, workload, parent_id, 0 FROM credentials WHERE id = ?
                 UNION ALL
                 SELECT c.id, c.workload, c.parent_id, up.depth + 1 FROM credentials c JOIN up ON c.id = up.parent_id WHERE up.depth < 16)
             SELECT id, workload FROM up WHERE depth > 0 ORDER BY depth DESC",
        )
        .bind(id)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
    }

    pub async fn parent_external_to_local(&self, issuer: &str, external: &str) -> Result<Option<String>> {
        Ok(sqlx::query_scalar("SELECT id FROM credentials WHERE issuer = ? AND external_id = ?")
            .bind(issuer)
            .bind(external)
            .fetch_optional(&self.pool)
            .await?)
    }

    pub async fn grants(&self, status: Option<GrantStatus>, limit: i64) -> Result<Vec<Grant>> {
        let rows = sqlx::query(
            "SELECT id, issuer, external_id, workload, requested_by, intent, scopes, audience, ttl_seconds, binding,
                    requested_at, expires_at, status
             FROM grants WHERE (?1 IS NULL OR status = ?1) ORDER BY requested_at DESC, id LIMIT ?2",
        )
        .bind(status.map(|s| s.as_str()))
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .iter()
            .map(|r| Grant {
                id: r.get(0),
                issuer: r.get(1),
                external_id: r.get(2),
                workload: Some(r.get::<String, _>(3)).filter(|s| !s.is_empty()),
                requested_by: Some(r.get::<String, _>(4)).filter(|s| !s.is_empty()),
                intent: r.get(5),
                scopes: split(&r.get::<String, _>(6)),
                audience: split(&r.get::<String, _>(7)),
                ttl_seconds: r.get(8),
                binding: Binding::parse(&r.get::<String, _>(9)).unwrap_or(Binding::Bearer),
                requested_at: r.get::<Option<String>, _>(10).as_deref().and_then(parse_ts),
                expires_at: r.get::<Option<String>, _>(11).as_deref().and_then(parse_ts),
                status: GrantStatus::parse(&r.get::<String, _>(12)).unwrap_or(GrantStatus::Pending),
            })
            .collect())
    }

    /// A grant by local id or the issuer's id.
    pub async fn grant(&self, needle: &str) -> Result<Grant> {
        let id: Option<String> = sqlx::query_scalar("SELECT id FROM grants WHERE id = ?1 OR external_id = ?1 ORDER BY id LIMIT 1")
            .bind(needle.trim())
            .fetch_optional(&self.pool)
            .await?;
        let id = id.ok_or_else(|| StoreError::NotFound(format!("grant {needle}")))?;
        let all = self.grants(None, i64::MAX).await?;
        all.into_iter().find(|g| g.id == id).ok_or_else(|| StoreError::NotFound(format!("grant {needle}")))
    }

    /// The issuer accepted a decision: the grant, its consent events (attached to
    /// the credential it produced, if any) and the audit entry, in one transaction.
    pub async fn record_grant_decision(
        &self,
        grant: &Grant,
        decision: &GrantDecisionRecord,
        entry: &AuditDraft,
    ) -> Result<AuditEntry> {
        let at = fmt_ts(&entry.at);
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        sqlx::query("UPDATE grants SET status = ?, decided_by = ?, decided_at = ?, decision_note = ?, credential_id = ? WHERE id = ?")
            .bind(decision.status.as_str())
            .bind(&entry.actor)
            .bind(&at)
            .bind(&decision.note)
            .bind(&decision.credential_id)
            .bind(&grant.id)
            .execute(&mut *tx)
            .await?;
        let requested_at = grant.requested_at.as_ref().map(fmt_ts).unwrap_or_else(|| at.clone());
        let events = [
            ("request", grant.requested_by.clone().unwrap_or_default(), grant.scopes.join(" "), grant.intent.clone(), requested_at),
            (decision.status.as_str(), entry.actor.clone(), decision.scopes.join(" "), decision.note.clone(), at.clone()),
        ];
        for (action, actor, scopes, note, when) in events {
            let action = if action == "approved" { "approve" } else if action == "denied" { "deny" } else { action };
            let event = TokenwardConsent { credential_id: decision.credential_id.as_deref(), grant_id: Some(&grant.id), at: &when, actor: &actor, action, scopes: &scopes, note: note.as_deref() };
            insert_consent(&mut tx, &event).await?;
        }
        let written = append_audit(&mut tx, entry).await?;
        tx.commit().await?;
        Ok(written)
    }

    /// Who already gave the first of two approvals for a grant.
    pub async fn prior_approvers(&self, grant_id: &str) -> Result<Vec<String>> {
        Ok(sqlx::query_scalar("SELECT DISTINCT actor FROM consent_events WHERE grant_id = ? AND action = 'approve.partial' ORDER BY actor")
            .bind(grant_id)
            .fetch_all(&self.pool)
            .await?)
    }

    /// The person who owns most credentials of a workload: its accountable owner.
    pub async fn workload_owner(&self, workload: &str) -> Result<Option<String>> {
        Ok(sqlx::query_scalar(
            "SELECT owner FROM credentials WHERE workload = ? AND owner != '' GROUP BY owner ORDER BY count(*) DESC, owner LIMIT 1",
        )
        .bind(workload)
        .fetch_optional(&self.pool)
        .await?)
    }

    /// The first of two approvals: a consent event on the grant and the audit entry.
    pub async fn record_partial_approval(&self, grant: &Grant, scopes: &[String], note: &str, entry: &AuditDraft) -> Result<AuditEntry> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let (at, scopes) = (fmt_ts(&entry.at), scopes.join(" "));
        let event = TokenwardConsent { credential_id: None, grant_id: Some(&grant.id), at: &at, actor: &entry.actor, action: "approve.partial", scopes: &scopes, note: Some(note) };
        insert_consent(&mut tx, &event).await?;
        let written = append_audit(&mut tx, entry).await?;
        tx.commit().await?;
        Ok(written)
    }

    pub async fn open_findings_for(&self, credential_id: &str) -> Result<Vec<(String, String, String)>> {
        let rows = sqlx::query("SELECT rule, severity, summary FROM findings WHERE credential_id = ? AND closed_at IS NULL ORDER BY rule")
            .bind(credential_id)
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.iter().map(|r| (r.get(0), r.get(1), r.get(2))).collect())
    }

    // ---------------------------------------------------------------- actions

    /// The issuer confirmed a revocation: mark it, add the consent event and the
    /// audit entry in one transaction, so the store never disagrees with the log.
    pub async fn record_revocation(&self, id: &str, entry: &AuditDraft, reason: &str) -> Result<AuditEntry> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        sqlx::query("UPDATE credentials SET status = 'revoked' WHERE id = ?").bind(id).execute(&mut *tx).await?;
        let at = fmt_ts(&entry.at);
        let event = TokenwardConsent { credential_id: Some(id), grant_id: None, at: &at, actor: &entry.actor, action: "revoke", scopes: "", note: Some(reason) };
        insert_consent(&mut tx, &event).await?;
        let written = append_audit(&mut tx, entry).await?;
        sqlx::query("UPDATE revocation_outbox SET done_at = ? WHERE credential_id = ? AND done_at IS NULL")
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
        sqlx::query(
            "INSERT INTO revocation_outbox (credential_id, issuer, actor, reason, requested_at, attempts, last_error, next_attempt_at)
             VALUES (?, ?, ?, ?, ?, 1, ?, ?)",
        )
        .bind(id)
        .bind(issuer)
        .bind(actor)
        .bind(reason)
        .bind(fmt_ts(&Utc::now()))
        .bind(error)
        .bind(fmt_ts(&retry_at))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn pending_revocations(&self) -> Result<Vec<OutboxItem>> {
        let rows = sqlx::query(
            "SELECT id, credential_id, issuer, actor, reason, attempts, last_error FROM revocation_outbox WHERE done_at IS NULL ORDER BY id",
        )
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .iter()
            .map(|r| OutboxItem {
                id: r.get(0),
                credential_id: r.get(1),
                issuer: r.get(2),
                actor: r.get(3),
                reason: r.get(4),
                attempts: r.get(5),
                last_error: r.get(6),
            })
            .collect())
    }

    pub async fn note_outbox_failure(&self, id: i64, error: &str, retry_at: Timestamp) -> Result<()> {
        sqlx::query("UPDATE revocation_outbox SET attempts = attempts + 1, last_error = ?, next_attempt_at = ? WHERE id = ?")
            .bind(error)
            .bind(fmt_ts(&retry_at))
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    // ---------------------------------------------------------------- audit log

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

fn bind_filter<'q>(
    q: sqlx::query::Query<'q, Sqlite, sqlx::sqlite::SqliteArguments>,
    filter: &SqlFilter,
) -> sqlx::query::Query<'q, Sqlite, sqlx::sqlite::SqliteArguments> {
    bind_values(q, &filter.binds)
}

fn bind_values<'q>(
    mut q: sqlx::query::Query<'q, Sqlite, sqlx::sqlite::SqliteArguments>,
    values: &[SqlValue],
) -> sqlx::query::Query<'q, Sqlite, sqlx::sqlite::SqliteArguments> {
    for v in values {
        q = match v {
            SqlValue::Text(s) => q.bind(s.clone()),
            SqlValue::Int(i) => q.bind(*i),
        };
    }
    q
}

async fn existing_ids(tx: &mut sqlx::SqliteConnection, chunk: &[Credential]) -> Result<Vec<String>> {
    let mut qb: QueryBuilder<Sqlite> = QueryBuilder::new("SELECT id FROM credentials WHERE id IN (");
    let mut ids = qb.separated(", ");
    for c in chunk {
        ids.push_bind(c.id.clone());
    }
    qb.push(")");
    Ok(qb.build_query_scalar().fetch_all(&mut *tx).await?)
}

/// Before a re-synced credential's scopes are replaced, keep what it held until now
/// (only when they changed): history answers "who held scope S at D" from these.
async fn snapshot_scope_changes(tx: &mut sqlx::SqliteConnection, chunk: &[Credential], known: &[String], synced: &str) -> Result<()> {
    if known.is_empty() {
        return Ok(());
    }
    let seen: Vec<&Credential> = chunk.iter().filter(|c| known.contains(&c.id)).collect();
    let mut qb: QueryBuilder<Sqlite> = QueryBuilder::new("INSERT OR IGNORE INTO scope_snapshots (credential_id, until_at, scopes) SELECT c.id, ");
    qb.push_bind(synced.to_string());
    qb.push(", c.scopes FROM credentials c JOIN (");
    qb.push_values(seen, |mut b, c| {
        b.push_bind(c.id.clone()).push_bind(c.scopes.join(" "));
    });
    qb.push(") n ON c.id = n.column1 WHERE c.scopes != n.column2");
    qb.build().execute(&mut *tx).await?;
    Ok(())
}

async fn upsert_credentials(tx: &mut sqlx::SqliteConnection, chunk: &[Credential], synced: &str, run_id: i64) -> Result<()> {
    let mut qb: QueryBuilder<Sqlite> = QueryBuilder::new(
        "INSERT INTO credentials (id, issuer, external_id, kind, fingerprint, client_id, subject, workload, owner, scopes,
           audience, binding, issued_at, expires_at, last_used_at, status, task_id, task_intent, task_ended_at, parent_id, synced_at, synced_run) ",
    );
    qb.push_values(chunk, |mut b, c| {
        b.push_bind(c.id.clone())
            .push_bind(c.issuer.clone())
            .push_bind(c.external_id.clone())
            .push_bind(c.kind.as_str())
            .push_bind(c.fingerprint.clone())
            .push_bind(c.client_id.clone().unwrap_or_default())
            .push_bind(c.subject.clone().unwrap_or_default())
            .push_bind(c.workload.clone().unwrap_or_default())
            .push_bind(c.owner.as_deref().map(str::to_lowercase).unwrap_or_default())
            .push_bind(c.scopes.join(" "))
            .push_bind(c.audience.join(" "))
            .push_bind(c.binding.as_str())
            .push_bind(c.issued_at.as_ref().map(fmt_ts))
            .push_bind(c.expires_at.as_ref().map(fmt_ts))
            .push_bind(c.last_used_at.as_ref().map(fmt_ts))
            .push_bind(c.status.as_str())
            .push_bind(c.task.as_ref().map(|t| t.id.clone()))
            .push_bind(c.task.as_ref().and_then(|t| t.intent.clone()))
            .push_bind(c.task.as_ref().and_then(|t| t.ended_at.as_ref().map(fmt_ts)))
            .push_bind(c.parent_id.clone())
            .push_bind(synced.to_string())
            .push_bind(run_id);
    });
    qb.push(
        " ON CONFLICT(issuer, external_id) DO UPDATE SET kind = excluded.kind, fingerprint = excluded.fingerprint,
          client_id = excluded.client_id, subject = excluded.subject, workload = excluded.workload, owner = excluded.owner,
          scopes = excluded.scopes, audience = excluded.audience, binding = excluded.binding, issued_at = excluded.issued_at,
          expires_at = excluded.expires_at, last_used_at = excluded.last_used_at, status = excluded.status,
          task_id = excluded.task_id, task_intent = excluded.task_intent, task_ended_at = excluded.task_ended_at,
          parent_id = excluded.parent_id, synced_at = excluded.synced_at, synced_run = excluded.synced_run, gone_at = NULL",
    );
    qb.build().execute(&mut *tx).await?;
    Ok(())
}

/// Scopes, delegation, issuer consent and usage follow the issuer's latest word.
/// Only rows seen before can have children to clear, so ask which those are first.
async fn replace_children(tx: &mut sqlx::SqliteConnection, chunk: &[Credential], known: &[String]) -> Result<()> {
    for table in [
        "DELETE FROM credential_scopes WHERE credential_id IN ",
        "DELETE FROM delegation WHERE credential_id IN ",
        "DELETE FROM usage_events WHERE credential_id IN ",
        "DELETE FROM consent_events WHERE source = 'issuer' AND credential_id IN ",
    ] {
        let mut qb: QueryBuilder<Sqlite> = QueryBuilder::new(table);
        if known.is_empty() {
            break;
        }
        qb.push("(");
        let mut ids = qb.separated(", ");
        for id in known {
            ids.push_bind(id.clone());
        }
        qb.push(")");
        qb.build().execute(&mut *tx).await?;
    }
    let scopes: Vec<(&str, &str)> = chunk.iter().flat_map(|c| c.scopes.iter().map(move |s| (c.id.as_str(), s.as_str()))).collect();
    for part in scopes.chunks(CHUNK * 10) {
        let mut qb: QueryBuilder<Sqlite> = QueryBuilder::new("INSERT OR IGNORE INTO credential_scopes (credential_id, scope) ");
        qb.push_values(part, |mut b, (id, s)| {
            b.push_bind(id.to_string()).push_bind(s.to_string());
        });
        qb.build().execute(&mut *tx).await?;
    }
    let chain: Vec<(&str, usize, &str)> =
        chunk.iter().flat_map(|c| c.act_chain.iter().enumerate().map(move |(i, a)| (c.id.as_str(), i, a.as_str()))).collect();
    for part in chain.chunks(CHUNK * 5) {
        let mut qb: QueryBuilder<Sqlite> = QueryBuilder::new("INSERT OR IGNORE INTO delegation (credential_id, position, actor) ");
        qb.push_values(part, |mut b, (id, i, a)| {
            b.push_bind(id.to_string()).push_bind(*i as i64).push_bind(a.to_string());
        });
        qb.build().execute(&mut *tx).await?;
    }
    let usage: Vec<(&str, &UsageEvent)> = chunk.iter().flat_map(|c| c.usage.iter().map(move |u| (c.id.as_str(), u))).collect();
    for part in usage.chunks(CHUNK * 5) {
        let mut qb: QueryBuilder<Sqlite> = QueryBuilder::new("INSERT INTO usage_events (credential_id, at, workload, origin) ");
        qb.push_values(part, |mut b, (id, u)| {
            b.push_bind(id.to_string()).push_bind(fmt_ts(&u.at)).push_bind(u.workload.clone()).push_bind(u.origin.clone());
        });
        qb.build().execute(&mut *tx).await?;
    }
    let consent: Vec<(&str, &ConsentEvent)> = chunk.iter().flat_map(|c| c.consent.iter().map(move |e| (c.id.as_str(), e))).collect();
    for part in consent.chunks(CHUNK * 3) {
        let mut qb: QueryBuilder<Sqlite> =
            QueryBuilder::new("INSERT INTO consent_events (credential_id, at, actor, action, scopes, note, source) ");
        qb.push_values(part, |mut b, (id, e)| {
            b.push_bind(id.to_string())
                .push_bind(fmt_ts(&e.at))
                .push_bind(e.actor.clone())
                .push_bind(e.action.clone())
                .push_bind(e.scopes.join(" "))
                .push_bind(e.note.clone())
                .push_bind("issuer");
        });
        qb.build().execute(&mut *tx).await?;
    }
    Ok(())
}

/// A consent event tokenward itself records (a decision or revocation it made).
struct TokenwardConsent<'a> {
    credential_id: Option<&'a str>,
    grant_id: Option<&'a str>,
    at: &'a str,
    actor: &'a str,
    action: &'a str,
    scopes: &'a str,
    note: Option<&'a str>,
}

async fn insert_consent(tx: &mut sqlx::SqliteConnection, e: &TokenwardConsent<'_>) -> Result<()> {
    sqlx::query(
        "INSERT INTO consent_events (credential_id, grant_id, at, actor, action, scopes, note, source) VALUES (?, ?, ?, ?, ?, ?, ?, 'tokenward')",
    )
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

async fn append_audit(tx: &mut sqlx::SqliteConnection, entry: &AuditDraft) -> Result<AuditEntry> {
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

fn sync_run_from_row(r: &sqlx::sqlite::SqliteRow) -> SyncRun {
    SyncRun {
        id: r.get(0),
        issuer: r.get(1),
        started_at: r.get(2),
        finished_at: r.get(3),
        status: r.get(4),
        pages: r.get(5),
        items: r.get(6),
        error: r.get(7),
    }
}

pub fn split(s: &str) -> Vec<String> {
    s.split_whitespace().map(str::to_string).collect()
}

// ---------------------------------------------------------------- row types

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SortColumn {
    Id,
    Owner,
    Workload,
    Expires,
    LastUsed,
    Status,
    Binding,
}

impl SortColumn {
    pub const CYCLE: &'static [SortColumn] = &[
        SortColumn::Expires,
        SortColumn::LastUsed,
        SortColumn::Owner,
        SortColumn::Workload,
        SortColumn::Binding,
        SortColumn::Status,
        SortColumn::Id,
    ];

    /// The SQL sort expression; each has an index `(expr, id)` in the migration.
    pub fn expr(self) -> &'static str {
        match self {
            SortColumn::Id => "c.id",
            SortColumn::Owner => "c.owner",
            SortColumn::Workload => "c.workload",
            SortColumn::Expires => "coalesce(c.expires_at, '9999-12-31T23:59:59Z')",
            SortColumn::LastUsed => "coalesce(c.last_used_at, '')",
            SortColumn::Status => "c.status",
            SortColumn::Binding => "c.binding",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            SortColumn::Id => "id",
            SortColumn::Owner => "owner",
            SortColumn::Workload => "workload",
            SortColumn::Expires => "expires",
            SortColumn::LastUsed => "last used",
            SortColumn::Status => "status",
            SortColumn::Binding => "binding",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::CYCLE.iter().copied().find(|c| c.label().replace(' ', "-") == s || c.label().replace(' ', "_") == s)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sort {
    pub column: SortColumn,
    pub descending: bool,
}

impl Default for Sort {
    fn default() -> Self {
        Sort { column: SortColumn::Expires, descending: false }
    }
}

/// A row's position in a sort order: the keyset cursor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Key {
    pub sort: String,
    pub id: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PageAnchor {
    First,
    Last,
    After(Key),
    Before(Key),
    /// This key and after: re-reads a window in place.
    From(Key),
}

#[derive(Debug, Clone, PartialEq)]
pub struct PageRequest {
    pub filter: SqlFilter,
    pub sort: Sort,
    pub anchor: PageAnchor,
    pub limit: usize,
}

/// What the credential table shows: a narrow row, not the whole credential.
#[derive(Debug, Clone, PartialEq)]
pub struct CredentialRow {
    pub id: String,
    pub issuer: String,
    pub kind: String,
    pub owner: String,
    /// active | offboarded | unknown | none
    pub owner_status: String,
    pub workload: String,
    pub scopes: String,
    pub binding: String,
    pub expires_at: Option<Timestamp>,
    pub last_used_at: Option<Timestamp>,
    pub status: String,
    pub key: Key,
    pub audience: String,
    pub issued_at: Option<Timestamp>,
    pub task_id: Option<String>,
}

#[derive(Debug, Clone)]
pub struct SyncRunStart {
    pub id: i64,
    pub started_at: Timestamp,
    pub resume_cursor: Option<String>,
    pub pages: i64,
    pub items: i64,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct SyncRun {
    pub id: i64,
    pub issuer: String,
    pub started_at: String,
    pub finished_at: Option<String>,
    pub status: String,
    pub pages: i64,
    pub items: i64,
    pub error: Option<String>,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct IssuerSummary {
    pub name: String,
    pub kind: String,
    pub url: Option<String>,
    pub credentials: i64,
    pub last_run: Option<SyncRun>,
}

/// What the issuer accepted for a grant.
#[derive(Debug, Clone)]
pub struct GrantDecisionRecord {
    pub status: GrantStatus,
    pub scopes: Vec<String>,
    pub note: Option<String>,
    /// The local id of the credential the approval produced.
    pub credential_id: Option<String>,
}

#[derive(Debug, Clone)]
pub struct AuditDraft {
    pub at: Timestamp,
    pub actor: String,
    pub action: String,
    pub target: String,
    pub detail: serde_json::Value,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct AuditEntry {
    pub seq: i64,
    pub at: String,
    pub actor: String,
    pub action: String,
    pub target: String,
    pub detail: String,
    pub prev_hash: String,
    pub hash: String,
}

impl AuditEntry {
    pub fn compute_hash(&self) -> String {
        use sha2::{Digest, Sha256};
        let mut h = Sha256::new();
        for part in [&self.prev_hash, &self.seq.to_string(), &self.at, &self.actor, &self.action, &self.target, &self.detail] {
            h.update((part.len() as u64).to_be_bytes());
            h.update(part.as_bytes());
        }
        hex::encode(h.finalize())
    }

    pub fn genesis() -> &'static str {
        GENESIS
    }
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct OutboxItem {
    pub id: i64,
    pub credential_id: String,
    pub issuer: String,
    pub actor: String,
    pub reason: String,
    pub attempts: i64,
    pub last_error: Option<String>,
}
