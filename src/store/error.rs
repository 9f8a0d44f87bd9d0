//! What can go wrong in the store, whichever backend holds it.
use std::path::PathBuf;

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
    #[error("{0}")]
    Claimed(Box<HeldClaim>),
    #[error("findings rule '{0}' has no query in this store")]
    UnknownRule(String),
}

/// Another process's live claim on a row: who, for what, since and until when.
#[derive(Debug, thiserror::Error)]
#[error("{target} is being handled by {operator} ({action}, process {holder}) since {since}; the claim lapses at {until} unless its outcome is recorded first")]
pub struct HeldClaim {
    pub target: String,
    pub action: String,
    pub operator: String,
    pub holder: String,
    pub since: String,
    pub until: String,
}

pub type Result<T> = std::result::Result<T, StoreError>;
