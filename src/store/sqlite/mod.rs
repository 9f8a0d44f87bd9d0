//! The SQLite backend: the embedded default, one file in WAL mode. Its SQL and
//! its migrations (`migrations/sqlite/`) are its own; the `Store` facade is the
//! only way in. Every value is bound; dynamic SQL is assembled only from fixed
//! fragments and from the filter translation in `filter`, whose values are binds.
use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous};
use sqlx::Sqlite;

use crate::store::error::Result;

pub(super) mod anchor;
mod audit;
mod bulk;
mod claims;
mod credentials;
mod demo;
mod deployments;
pub mod file;
mod filter;
mod findings;
mod grants;
mod ingest;
mod outbox;
mod people;
mod reviews;
mod sync_runs;

pub(crate) use filter::{SqlFilter, SqlValue};

// Every write transaction starts with BEGIN IMMEDIATE: a deferred one that reads
// first cannot upgrade to a write once another connection has written
// (SQLITE_BUSY_SNAPSHOT), and busy_timeout does not retry that; IMMEDIATE waits.

/// SQLite allows 32766 bound values per statement; 400 credentials x 22 columns stays well below.
pub(super) const CHUNK: usize = 400;

/// A connection's page cache (negative: KiB); the writer's is `bulk::WRITER_CACHE`.
const READER_CACHE: &str = "-24576";
const SOFT_HEAP_LIMIT: &str = "67108864";

#[derive(Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
    location: String,
    /// The audit log's key and witness, outside the database.
    anchor: Arc<anchor::Anchor>,
}

impl SqliteStore {
    /// Opens (creating if needed) a database file in WAL mode and runs migrations;
    /// the audit key is `audit_key`, or `<db>.audit-key` beside it.
    pub async fn open(path: &Path, audit_key: Option<&Path>) -> Result<Self> {
        // A new file at this path makes any witness beside it a previous database's (the demo resets so).
        let fresh = !path.exists();
        file::create_private(path)?;
        let anchor = Arc::new(anchor::Anchor::for_file(path, audit_key)?);
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(10))
            // Memory is bounded: a 24 MiB page cache a connection (the writer's grows
            // to WRITER_CACHE while it ingests) and no memory map, whose touched pages
            // would count in the process's resident set (4.4 GB at 1M credentials).
            // Reads past the cache come from the OS page cache.
            .pragma("cache_size", READER_CACHE)
            .pragma("mmap_size", "0")
            // All of SQLite's memory in this process (every connection's cache, sorts)
            // yields past 64 MiB: what browsing a million rows holds stays bounded.
            .pragma("soft_heap_limit", SOFT_HEAP_LIMIT)
            // Sorts and temporary b-trees (an index build, the findings) spill to a
            // file past the page cache instead of growing the process.
            .pragma("temp_store", "file")
            // Checkpoint every 64 MiB of WAL, not 4: hot index pages are copied once, not per page of sync.
            .pragma("wal_autocheckpoint", "65536");
        let pool = pool_options(4, &anchor).connect_with(options).await?;
        sqlx::migrate!("./migrations/sqlite").run(&pool).await?;
        bulk::restore_if_no_live_sync(&pool).await?;
        let store = SqliteStore { pool, location: path.display().to_string(), anchor };
        store.start_witness(fresh).await?;
        Ok(store)
    }

    /// A private in-memory database (one connection: each `:memory:` connection is its own db).
    pub async fn open_in_memory() -> Result<Self> {
        let options = SqliteConnectOptions::from_str("sqlite::memory:")?;
        let anchor = Arc::new(anchor::Anchor::in_memory()?);
        let pool = pool_options(1, &anchor).connect_with(options).await?;
        sqlx::migrate!("./migrations/sqlite").run(&pool).await?;
        Ok(SqliteStore { pool, location: ":memory:".into(), anchor })
    }

    /// A file is one console's: its own changes refresh its views, and the
    /// periodic tick covers another process writing the same file.
    pub fn watch_changes(&self, tx: tokio::sync::mpsc::Sender<crate::store::rows::Change>) {
        drop(tx);
    }

    /// A file proves no login: the OS account is the identity (see `context`).
    pub async fn acting_login(&self) -> Result<Option<crate::store::rows::DbLogin>> {
        Ok(None)
    }

    pub fn location(&self) -> &str {
        &self.location
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// Every connection learns the audit anchor as it opens: appends inside any transaction find the key.
fn pool_options(max: u32, anchor: &Arc<anchor::Anchor>) -> SqlitePoolOptions {
    let anchor = anchor.clone();
    SqlitePoolOptions::new().max_connections(max).after_connect(move |conn, _meta| {
        let anchor = anchor.clone();
        Box::pin(async move { anchor::attach(conn, anchor).await })
    })
}

pub(super) fn bind_filter<'q>(
    q: sqlx::query::Query<'q, Sqlite, sqlx::sqlite::SqliteArguments>,
    filter: &SqlFilter,
) -> sqlx::query::Query<'q, Sqlite, sqlx::sqlite::SqliteArguments> {
    bind_values(q, &filter.binds)
}

pub(super) fn bind_values<'q>(
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

/// A consent event tokenward itself records (a decision or revocation it made).
pub(super) struct TokenwardConsent<'a> {
    pub(super) credential_id: Option<&'a str>,
    pub(super) grant_id: Option<&'a str>,
    pub(super) at: &'a str,
    pub(super) actor: &'a str,
    pub(super) action: &'a str,
    pub(super) scopes: &'a str,
    pub(super) note: Option<&'a str>,
}

pub(super) async fn insert_consent(tx: &mut sqlx::SqliteConnection, e: &TokenwardConsent<'_>) -> Result<()> {
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
