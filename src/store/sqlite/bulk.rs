//! A first load into an empty inventory writes its rows without the secondary
//! indexes and builds them once at the end: a sorted build of each index instead
//! of a million inserts at random places in it. The definitions wait in
//! `deferred_indexes`, in the same transaction as the first page, so a load
//! killed halfway leaves a database that knows what it is missing.
use sqlx::{SqliteConnection, SqlitePool};

use crate::store::error::Result;

/// The writing connection's page cache while it ingests or builds indexes: they
/// touch index pages all over the file.
pub(super) const WRITER_CACHE: &str = "PRAGMA cache_size = -131072";

/// The tables a credential page writes; their secondary indexes are deferred.
const TABLES: &str = "'credentials', 'credential_scopes', 'delegation', 'usage_events', 'consent_events'";

/// In the first page's transaction into an empty inventory: sets the indexes aside.
pub(super) async fn defer_if_empty(tx: &mut SqliteConnection) -> Result<()> {
    let empty: bool = sqlx::query_scalar("SELECT NOT EXISTS (SELECT 1 FROM credentials)").fetch_one(&mut *tx).await?;
    if !empty {
        return Ok(());
    }
    let list = format!("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL AND tbl_name IN ({TABLES})");
    let indexes: Vec<(String, String)> = sqlx::query_as(sqlx::AssertSqlSafe(list)).fetch_all(&mut *tx).await?;
    for (name, sql) in indexes {
        sqlx::query("INSERT OR REPLACE INTO deferred_indexes (name, sql) VALUES (?, ?)").bind(&name).bind(&sql).execute(&mut *tx).await?;
        // A name from our own schema, quoted.
        let drop = format!("DROP INDEX \"{}\"", name.replace('"', "\"\""));
        sqlx::query(sqlx::AssertSqlSafe(drop)).execute(&mut *tx).await?;
    }
    Ok(())
}

/// Builds every deferred index again, in one transaction (none deferred: nothing to do).
pub(super) async fn restore(pool: &SqlitePool) -> Result<()> {
    let pending: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM deferred_indexes)").fetch_one(pool).await?;
    if !pending {
        return Ok(());
    }
    let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
    sqlx::query(WRITER_CACHE).execute(&mut *tx).await?;
    let indexes: Vec<(String, String)> = sqlx::query_as("SELECT name, sql FROM deferred_indexes ORDER BY name").fetch_all(&mut *tx).await?;
    for (name, sql) in indexes {
        sqlx::query(sqlx::AssertSqlSafe(sql)).execute(&mut *tx).await?;
        sqlx::query("DELETE FROM deferred_indexes WHERE name = ?").bind(&name).execute(&mut *tx).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// At open: a load whose process is gone left its indexes deferred; build them
/// now unless a live process is still syncing (it builds them when it ends).
pub(super) async fn restore_if_no_live_sync(pool: &SqlitePool) -> Result<()> {
    let holders: Vec<String> = sqlx::query_scalar("SELECT owner FROM sync_locks").fetch_all(pool).await?;
    if holders.iter().all(|h| crate::store::holder::holder_has_exited(h)) {
        restore(pool).await?;
    }
    Ok(())
}
