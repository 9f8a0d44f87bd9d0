//! Deployments: where a scan found credentials in plain text, by fingerprint.
use std::collections::HashMap;

use sqlx::{AssertSqlSafe, Row};

use super::SqliteStore;
use crate::domain::*;
use crate::store::error::Result;
use crate::store::rows::*;

/// The rows recorded on `host` under a root: the root itself, or anything below it.
const UNDER: &str = "host = ? AND (path = ? OR substr(path, 1, length(?)) = ?)";

/// The columns of a deployment with its credential, joined by fingerprint, or by
/// the cloud access key id written beside the secret (an API key's issuer id).
const SELECT: &str = "SELECT d.host, d.path, d.location, d.format, d.fingerprint, d.key_id, d.first_seen, d.last_seen, c.id, c.issuer, c.status
     FROM deployments d LEFT JOIN credentials c ON c.id = coalesce(
         (SELECT x.id FROM credentials x WHERE x.fingerprint = d.fingerprint ORDER BY x.id LIMIT 1),
         (SELECT x.id FROM credentials x WHERE d.key_id IS NOT NULL AND x.kind = 'api_key' AND x.external_id = d.key_id ORDER BY x.id LIMIT 1))";

impl SqliteStore {
    pub async fn record_deployments(&self, host: &str, roots: &[String], found: &[FoundSecret], now: Timestamp) -> Result<u64> {
        let now = fmt_ts(&now);
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let mut first: HashMap<(String, String), String> = HashMap::new();
        for root in roots {
            let below = crate::store::path_below(root);
            let rows = sqlx::query(AssertSqlSafe(format!("SELECT path, location, first_seen FROM deployments WHERE {UNDER}")))
                .bind(host)
                .bind(root)
                .bind(&below)
                .bind(&below)
                .fetch_all(&mut *tx)
                .await?;
            first.extend(rows.iter().map(|r| ((r.get(0), r.get(1)), r.get(2))));
            sqlx::query(AssertSqlSafe(format!("DELETE FROM deployments WHERE {UNDER}"))).bind(host).bind(root).bind(&below).bind(&below).execute(&mut *tx).await?;
        }
        for f in found {
            let seen = first.get(&(f.path.clone(), f.location.clone())).unwrap_or(&now);
            sqlx::query(
                "INSERT INTO deployments (host, path, location, format, fingerprint, key_id, first_seen, last_seen) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                 ON CONFLICT (host, path, location) DO UPDATE SET format = excluded.format, fingerprint = excluded.fingerprint,
                     key_id = excluded.key_id, last_seen = excluded.last_seen",
            )
            .bind(host)
            .bind(&f.path)
            .bind(&f.location)
            .bind(&f.format)
            .bind(&f.fingerprint)
            .bind(&f.key_id)
            .bind(seen)
            .bind(&now)
            .execute(&mut *tx)
            .await?;
        }
        let held: i64 = sqlx::query_scalar("SELECT count(*) FROM deployments").fetch_one(&mut *tx).await?;
        tx.commit().await?;
        Ok(held as u64)
    }

    pub async fn deployments(&self, credential_id: Option<&str>, limit: i64) -> Result<Vec<Deployment>> {
        let rows = match credential_id {
            Some(id) => {
                sqlx::query(AssertSqlSafe(format!("{SELECT} WHERE c.id = ? ORDER BY d.host, d.path, d.location LIMIT ?")))
                    .bind(id)
                    .bind(limit)
                    .fetch_all(&self.pool)
                    .await?
            }
            None => sqlx::query(AssertSqlSafe(format!("{SELECT} ORDER BY d.host, d.path, d.location LIMIT ?"))).bind(limit).fetch_all(&self.pool).await?,
        };
        Ok(rows.iter().map(deployment_from_row).collect())
    }
}

fn deployment_from_row(r: &sqlx::sqlite::SqliteRow) -> Deployment {
    Deployment {
        host: r.get(0),
        path: r.get(1),
        location: r.get(2),
        format: r.get(3),
        fingerprint: r.get(4),
        key_id: r.get(5),
        first_seen: r.get(6),
        last_seen: r.get(7),
        credential_id: r.get(8),
        issuer: r.get(9),
        status: r.get(10),
    }
}
