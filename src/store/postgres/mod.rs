//! The PostgreSQL backend: a team's shared inventory on the database their
//! platform team already runs. Its SQL and its migrations (`migrations/postgres/`)
//! are its own (sqlx's PostgreSQL driver, never the `Any` driver). Here the
//! database proves who acts: the operator is the login PostgreSQL authenticated.
//!
//! Opening, migrating, refusing a newer schema and the login's identity are
//! here; every method of `store_api!` is in the topic file named as SQLite's.
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};

use crate::store::error::{Result, StoreError};
use crate::store::sqlite::anchor::Anchor;

mod audit;
mod campaigns;
mod claims;
mod credentials;
mod decisions;
mod deployments;
mod filter;
mod findings;
mod grants;
mod ingest;
mod outbox;
mod people;
mod reviews;
pub mod roles;
mod sync_runs;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

#[derive(Clone)]
pub struct PgStore {
    pool: PgPool,
    location: String,
    /// The audit log's key (outside the database) and this console's head witness.
    anchor: Arc<Anchor>,
}

impl PgStore {
    /// Connects (the password by reference: `PGPASSWORD`, `PGPASSFILE` or
    /// `~/.pgpass`, as libpq; `sslmode` and `sslrootcert` in the URL), refuses a
    /// schema newer than this binary, and runs the migrations it lacks.
    /// The audit key is `audit_key` (`[audit] key_file`: the team's consoles share
    /// one key), else one of this machine's, created 0600 on first use.
    pub async fn open(url: &str, audit_key: Option<&Path>) -> Result<Self> {
        let options = PgConnectOptions::from_str(url)?.application_name("tokenward");
        let location = shown_url(url);
        let anchor = Arc::new(Anchor::for_file(&anchor_base(&options), audit_key)?);
        let pool = PgPoolOptions::new().max_connections(4).acquire_timeout(Duration::from_secs(10)).connect_with(options).await?;
        match applied_version(&pool).await? {
            Some(applied) if applied > known_version() => return Err(newer_schema(&location, applied)),
            Some(applied) if applied == known_version() => {}
            applied => {
                // Only a login that may change the schema can migrate; the others are told who must.
                MIGRATOR.run(&pool).await.map_err(|e| match e {
                    sqlx::migrate::MigrateError::Execute(db) if db.as_database_error().and_then(|d| d.code()).as_deref() == Some("42501") => StoreError::Conflict(format!(
                        "{location} is at schema version {}, this tokenward needs {}: run `tokenward db migrate` as a login that owns the schema ({db})",
                        applied.unwrap_or(0),
                        known_version()
                    )),
                    other => other.into(),
                })?;
            }
        }
        Ok(PgStore { pool, location, anchor })
    }

    /// The URL without its password.
    pub fn location(&self) -> &str {
        &self.location
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// The login PostgreSQL authenticated for this session: the operator.
    pub async fn session_user(&self) -> Result<String> {
        Ok(sqlx::query_scalar("SELECT session_user::text").fetch_one(&self.pool).await?)
    }

    /// The highest migration applied to this database, if any.
    pub async fn schema_version(&self) -> Result<Option<i64>> {
        applied_version(&self.pool).await
    }
}

/// Where this console keeps what anchors a PostgreSQL database's audit log: its
/// head witness (and the key, unless `[audit] key_file` names the team's).
fn anchor_base(options: &PgConnectOptions) -> PathBuf {
    let name = format!("{}-{}-{}", options.get_host(), options.get_port(), options.get_database().unwrap_or(options.get_username()));
    let safe: String = name.chars().map(|c| if c.is_ascii_alphanumeric() || c == '.' || c == '-' { c } else { '_' }).collect();
    crate::config::data_dir().join("postgres").join(safe)
}

/// The newest migration this binary knows.
pub fn known_version() -> i64 {
    MIGRATOR.iter().map(|m| m.version).max().unwrap_or(0)
}

async fn applied_version(pool: &PgPool) -> Result<Option<i64>> {
    let exists: bool = sqlx::query_scalar("SELECT to_regclass('_sqlx_migrations') IS NOT NULL").fetch_one(pool).await?;
    if !exists {
        return Ok(None);
    }
    Ok(sqlx::query_scalar("SELECT max(version) FROM _sqlx_migrations WHERE success").fetch_one(pool).await?)
}

/// A database migrated by a newer tokenward is left alone, with a clear word.
fn newer_schema(location: &str, applied: i64) -> StoreError {
    StoreError::Conflict(format!(
        "{location} has schema version {applied}, newer than this tokenward knows ({}): upgrade tokenward before using this database",
        known_version()
    ))
}

/// `postgres://user:secret@host/db` shown as `postgres://user@host/db`.
fn shown_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else { return url.to_string() };
    match rest.split_once('@') {
        Some((userinfo, host)) => format!("{scheme}://{}@{host}", userinfo.split(':').next().unwrap_or_default()),
        None => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_url_is_shown_without_its_password() {
        assert_eq!(super::shown_url("postgres://alice:s3cret@db.acme.test:5432/inv?sslmode=verify-full"), "postgres://alice@db.acme.test:5432/inv?sslmode=verify-full");
        assert_eq!(super::shown_url("postgres://db.acme.test/inv"), "postgres://db.acme.test/inv");
    }

    #[test]
    fn the_migrations_are_numbered() {
        assert!(super::known_version() >= 1);
    }
}
