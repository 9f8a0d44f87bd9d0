//! People and what they hold: owners with their credential counts (paged by
//! keyset), one owner's blast radius, credentials expiring soon by owner, and
//! "who held scope S at date D". Text is ordered and compared in the "C"
//! collation, byte by byte as SQLite does, whatever the database's default;
//! equality on an indexed credentials column says so too, since its index is
//! "C" and one of the default collation could not use it.
use sqlx::Row;

use super::PgStore;
use crate::domain::wire::split;
use crate::domain::*;
use crate::store::error::Result;
use crate::store::rows::*;

impl PgStore {
    /// A page of owners after `after` (by id), optionally of one status, with their counts.
    pub async fn owners_page(&self, status: Option<OwnerStatus>, after: Option<&str>, limit: i64) -> Result<Vec<OwnerRow>> {
        let rows = sqlx::query(
            r#"SELECT o.id, o.name, o.team, o.status, o.offboarded_at, o.source,
                    (SELECT count(*) FROM credentials c WHERE c.owner COLLATE "C" = o.id AND c.status = 'active') AS active,
                    (SELECT count(*) FROM credentials c WHERE c.owner COLLATE "C" = o.id) AS total
             FROM owners o
             WHERE ($1::text IS NULL OR o.status = $1) AND o.id COLLATE "C" > coalesce($2, '')
             ORDER BY o.id COLLATE "C" LIMIT $3"#,
        )
        .bind(status.map(OwnerStatus::as_str))
        .bind(after)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|r| OwnerRow {
                id: r.get("id"),
                name: r.get("name"),
                team: r.get("team"),
                status: OwnerStatus::parse(&r.get::<String, _>("status")).unwrap_or(OwnerStatus::Unknown),
                offboarded_at: r.get("offboarded_at"),
                source: r.get("source"),
                active: r.get("active"),
                total: r.get("total"),
            })
            .collect())
    }

    /// Every name the directory knows the same people by: each given name, the
    /// person an alias row names, and every alias naming one of those people.
    pub async fn identities(&self, names: &[String]) -> Result<Vec<String>> {
        let names: Vec<String> = names.iter().map(|n| n.trim().to_lowercase()).filter(|n| !n.is_empty()).collect();
        Ok(sqlx::query_scalar(
            r#"WITH given(n) AS (SELECT unnest($1::text[])),
                  persons(p) AS (SELECT n FROM given UNION SELECT person FROM owners WHERE id IN (SELECT n FROM given) AND person IS NOT NULL)
             SELECT n FROM (SELECT p AS n FROM persons UNION SELECT id FROM owners WHERE person IN (SELECT p FROM persons)) known
             ORDER BY n COLLATE "C""#,
        )
        .bind(names)
        .fetch_all(&self.pool)
        .await?)
    }

    /// Everything one person holds: credentials they own, credentials exchanged
    /// from those (parent links, any depth) or naming them in an act chain, and
    /// grants they asked for that are still pending.
    pub async fn blast_radius(&self, owner: &str) -> Result<BlastRadius> {
        let owner = owner.trim().to_lowercase();
        let status: Option<String> = sqlx::query_scalar("SELECT status FROM owners WHERE id = $1").bind(&owner).fetch_optional(&self.pool).await?;
        let status = status.map(|s| OwnerStatus::parse(&s).unwrap_or(OwnerStatus::Unknown));
        // A credential is either owned (in `mine`) or delegated, never both, so
        // grouping by relation too keeps one row per credential.
        let rows = sqlx::query(
            r#"WITH RECURSIVE
               mine(id) AS (SELECT id FROM credentials WHERE owner COLLATE "C" = $1),
               down(id, via, depth) AS (
                 SELECT c.id, c.parent_id, 1 FROM credentials c JOIN mine m ON c.parent_id = m.id
                 UNION
                 SELECT c.id, d.via, d.depth + 1 FROM credentials c JOIN down d ON c.parent_id = d.id WHERE d.depth < 16),
               acted(id) AS (SELECT credential_id FROM delegation WHERE actor = $1),
               radius(id, relation, via) AS (
                 SELECT id, 'owned'::text, NULL::text FROM mine
                 UNION SELECT id, 'delegated', via FROM down WHERE id NOT IN (SELECT id FROM mine)
                 UNION SELECT id, 'delegated', NULL FROM acted WHERE id NOT IN (SELECT id FROM mine))
             SELECT c.id, c.issuer, c.external_id, c.kind, c.owner, c.workload, c.scopes, c.status, r.relation, min(r.via COLLATE "C") AS via
             FROM radius r JOIN credentials c ON c.id = r.id
             GROUP BY c.id, r.relation
             ORDER BY c.status != 'active', r.relation COLLATE "C" DESC, c.issuer COLLATE "C", c.id COLLATE "C"
             LIMIT $2"#,
        )
        .bind(&owner)
        .bind(BLAST_CAP + 1)
        .fetch_all(&self.pool)
        .await?;
        let truncated = rows.len() as i64 > BLAST_CAP;
        let credentials = rows
            .into_iter()
            .map(|r| BlastItem {
                credential_id: r.get("id"),
                issuer: r.get("issuer"),
                external_id: r.get("external_id"),
                kind: CredentialKind::parse(&r.get::<String, _>("kind")).unwrap_or_default(),
                owner: r.get("owner"),
                workload: r.get("workload"),
                scopes: split(&r.get::<String, _>("scopes")),
                status: CredentialStatus::parse(&r.get::<String, _>("status")).unwrap_or_default(),
                relation: Relation::parse(&r.get::<String, _>("relation")).unwrap_or(Relation::Delegated),
                via: r.get("via"),
            })
            .take(BLAST_CAP as usize)
            .collect();
        let mut pending_grants = self.grants(Some(GrantStatus::Pending), 10_000).await?;
        pending_grants.retain(|g| g.requested_by.as_deref().is_some_and(|r| r.eq_ignore_ascii_case(&owner)));
        Ok(BlastRadius { owner, status, credentials, pending_grants, truncated })
    }

    /// Active credentials expiring between now and now + window, grouped by owner, soonest first.
    pub async fn expiring_by_owner(&self, now: Timestamp, until: Timestamp, limit: i64) -> Result<Vec<ExpiringGroup>> {
        // The owner's row is one per owner (its primary key): grouping by its status changes nothing.
        // A range of the active-first order ('0' and the expiry: active ones only), on its index.
        let sql = format!(
            r#"SELECT c.owner, coalesce(o.status, CASE WHEN c.owner = '' THEN 'none' ELSE 'unknown' END) AS owner_status,
                    count(*) AS n, min(c.expires_at COLLATE "C") AS soonest,
                    string_agg(DISTINCT c.workload COLLATE "C", ',' ORDER BY c.workload COLLATE "C") AS workloads
             FROM credentials c LEFT JOIN owners o ON o.id = c.owner
             WHERE {order} >= '0' || $1 AND {order} < '0' || $2
             GROUP BY c.owner, o.status ORDER BY soonest, c.owner COLLATE "C" LIMIT $3"#,
            order = super::filter::sort_expr(SortColumn::ActiveFirst)
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(fmt_ts(&now))
        .bind(fmt_ts(&until))
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|r| ExpiringGroup {
                owner: r.get("owner"),
                owner_status: OwnerStatus::parse(&r.get::<String, _>("owner_status")),
                credentials: r.get("n"),
                soonest: r.get("soonest"),
                workloads: r.get::<Option<String>, _>("workloads").unwrap_or_default().replace(',', " "),
            })
            .collect())
    }

    pub async fn count_expiring(&self, now: Timestamp, until: Timestamp) -> Result<i64> {
        let sql = format!("SELECT count(*) FROM credentials c WHERE {order} >= '0' || $1 AND {order} < '0' || $2", order = super::filter::sort_expr(SortColumn::ActiveFirst));
        Ok(sqlx::query_scalar(sqlx::AssertSqlSafe(sql)).bind(fmt_ts(&now)).bind(fmt_ts(&until)).fetch_one(&self.pool).await?)
    }

    /// Which credentials held `scope` at `at`: issued by then, not yet expired,
    /// revoked or gone, and holding the scope then (the scopes a sync saw before
    /// a change are kept in scope_snapshots; otherwise the current scopes stood).
    pub async fn held_scope_at(&self, scope: &str, at: Timestamp, limit: i64) -> Result<Vec<HeldRow>> {
        // SQLite's LIKE: case folded (there ASCII only), % and _ special, no escape character.
        let rows = sqlx::query(
            r#"SELECT c.id, c.issuer, c.external_id, c.owner, c.workload, c.kind, c.issued_at, c.expires_at, c.status,
                    coalesce((SELECT s.scopes FROM scope_snapshots s WHERE s.credential_id = c.id AND s.until_at COLLATE "C" > $2
                              ORDER BY s.until_at COLLATE "C" LIMIT 1), c.scopes) AS held
             FROM credentials c
             WHERE c.id IN (SELECT credential_id FROM credential_scopes WHERE scope = $1
                            UNION SELECT credential_id FROM scope_snapshots WHERE (' ' || scopes || ' ') ILIKE '% ' || $1 || ' %' ESCAPE '')
               AND (c.issued_at IS NULL OR c.issued_at COLLATE "C" <= $2)
               AND (c.expires_at IS NULL OR c.expires_at COLLATE "C" > $2)
               AND (c.gone_at IS NULL OR c.gone_at COLLATE "C" > $2)
               AND NOT EXISTS (SELECT 1 FROM consent_events e WHERE e.credential_id = c.id AND e.action = 'revoke' AND e.at COLLATE "C" <= $2)
             ORDER BY c.owner COLLATE "C", c.id COLLATE "C""#,
        )
        .bind(scope)
        .bind(fmt_ts(&at))
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .filter(|r| r.get::<String, _>("held").split(' ').any(|s| s == scope))
            .take(limit.max(0) as usize)
            .map(|r| HeldRow {
                credential_id: r.get("id"),
                issuer: r.get("issuer"),
                external_id: r.get("external_id"),
                owner: r.get("owner"),
                workload: r.get("workload"),
                kind: CredentialKind::parse(&r.get::<String, _>("kind")).unwrap_or_default(),
                scopes: split(&r.get::<String, _>("held")),
                issued_at: r.get("issued_at"),
                expires_at: r.get("expires_at"),
                status_now: CredentialStatus::parse(&r.get::<String, _>("status")).unwrap_or_default(),
            })
            .collect())
    }
}
