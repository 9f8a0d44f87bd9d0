//! Task grants: the queue (decisions on them are recorded elsewhere, still to port).
use sqlx::postgres::PgRow;
use sqlx::{AssertSqlSafe, Row};

use super::PgStore;
use crate::domain::wire::split;
use crate::domain::*;
use crate::store::error::{Result, StoreError};

const GRANT_COLUMNS: &str = "id, issuer, external_id, workload, requested_by, intent, scopes, audience, ttl_seconds, binding, requested_at, expires_at, status";

impl PgStore {
    /// Newest request first; a grant without a request time last, as SQLite orders NULL.
    pub async fn grants(&self, status: Option<GrantStatus>, limit: i64) -> Result<Vec<Grant>> {
        let sql = format!(
            r#"SELECT {GRANT_COLUMNS} FROM grants WHERE ($1::text IS NULL OR status = $1)
               ORDER BY requested_at COLLATE "C" DESC NULLS LAST, id COLLATE "C" LIMIT $2"#
        );
        let rows = sqlx::query(AssertSqlSafe(sql)).bind(status.map(|s| s.as_str())).bind(limit).fetch_all(&self.pool).await?;
        Ok(rows.iter().map(grant_from_row).collect())
    }

    /// A grant by local id or the issuer's id.
    pub async fn grant(&self, needle: &str) -> Result<Grant> {
        let sql = format!(r#"SELECT {GRANT_COLUMNS} FROM grants WHERE id = $1 OR external_id = $1 ORDER BY id COLLATE "C" LIMIT 1"#);
        let row = sqlx::query(AssertSqlSafe(sql)).bind(needle.trim()).fetch_optional(&self.pool).await?;
        row.as_ref().map(grant_from_row).ok_or_else(|| StoreError::NotFound(format!("grant {needle}")))
    }
}

fn grant_from_row(r: &PgRow) -> Grant {
    Grant {
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
    }
}
