//! Deployments: where a scan found credentials in plain text, by fingerprint
//! (the SQLite twin says more). Paths are compared and ordered in the "C" collation.
use std::collections::HashMap;

use sqlx::Row;

use super::PgStore;
use crate::domain::*;
use crate::store::error::Result;
use crate::store::rows::*;

const SELECT: &str = r#"SELECT d.host, d.path, d.location, d.format, d.fingerprint, d.key_id, d.first_seen, d.last_seen, c.id, c.issuer, c.status
     FROM deployments d LEFT JOIN credentials c ON c.id = coalesce(
         (SELECT x.id FROM credentials x WHERE x.fingerprint = d.fingerprint ORDER BY x.id COLLATE "C" LIMIT 1),
         (SELECT x.id FROM credentials x WHERE d.key_id IS NOT NULL AND x.kind = 'api_key' AND x.external_id = d.key_id ORDER BY x.id COLLATE "C" LIMIT 1))"#;

impl PgStore {
    pub async fn record_deployments(&self, host: &str, roots: &[String], found: &[FoundSecret], now: Timestamp) -> Result<u64> {
        let now = fmt_ts(&now);
        let mut tx = self.pool.begin().await?;
        // One scan of a host at a time replaces what the last one saw.
        sqlx::query("SELECT pg_advisory_xact_lock(hashtext('tokenward-scan:' || $1))").bind(host).execute(&mut *tx).await?;
        let under = r#"host = $1 AND (path = $2 OR left(path, length($3)) COLLATE "C" = $3)"#;
        let mut first: HashMap<(String, String), String> = HashMap::new();
        for root in roots {
            let below = crate::store::path_below(root);
            let rows = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT path, location, first_seen FROM deployments WHERE {under}")))
                .bind(host)
                .bind(root)
                .bind(&below)
                .fetch_all(&mut *tx)
                .await?;
            first.extend(rows.iter().map(|r| ((r.get(0), r.get(1)), r.get(2))));
            sqlx::query(sqlx::AssertSqlSafe(format!("DELETE FROM deployments WHERE {under}"))).bind(host).bind(root).bind(&below).execute(&mut *tx).await?;
        }
        for f in found {
            let seen = first.get(&(f.path.clone(), f.location.clone())).unwrap_or(&now);
            sqlx::query(
                "INSERT INTO deployments (host, path, location, format, fingerprint, key_id, first_seen, last_seen) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
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
        let order = r#"ORDER BY d.host COLLATE "C", d.path COLLATE "C", d.location COLLATE "C""#;
        let rows = match credential_id {
            Some(id) => {
                sqlx::query(sqlx::AssertSqlSafe(format!(r#"{SELECT} WHERE c.id COLLATE "C" = $1 {order} LIMIT $2"#)))
                    .bind(id)
                    .bind(limit)
                    .fetch_all(&self.pool)
                    .await?
            }
            None => sqlx::query(sqlx::AssertSqlSafe(format!("{SELECT} {order} LIMIT $1"))).bind(limit).fetch_all(&self.pool).await?,
        };
        Ok(rows
            .iter()
            .map(|r| Deployment {
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
            })
            .collect())
    }
}
