//! Browsing credentials: keyset pages, counts, positions, and one credential whole.
//! Orders and ranges compare text under the "C" collation, byte by byte as SQLite
//! does, so both backends page the same rows in the same order.
use sqlx::postgres::PgRow;
use sqlx::{AssertSqlSafe, Row};

use super::filter::{sort_expr, to_sql, Binds, ID};
use super::PgStore;
use crate::domain::wire::split;
use crate::domain::*;
use crate::filter::{Query, Term};
use crate::store::error::{Result, StoreError};
use crate::store::rows::*;

/// How far along the order a finding's first page is looked for before the whole
/// order is (the same window as SQLite's).
const WALK_WINDOW: usize = 4_000;

/// How a page's rows are found.
#[derive(Debug, Clone, Copy)]
enum Drive {
    /// As PostgreSQL's planner chooses.
    Planner,
    /// Only among the next so many credentials of the order after the anchor.
    Window(usize),
    /// Off `credential_scopes_order`, by the scope of this clause (`store::scope_order`).
    ScopeOrder(usize),
}

impl PgStore {
    /// One page of rows by keyset: never OFFSET, so any depth costs the same.
    pub async fn page(&self, req: &PageRequest) -> Result<Vec<CredentialRow>> {
        if let Some(i) = crate::store::scope_order(req) {
            return self.page_rows(req, Drive::ScopeOrder(i)).await;
        }
        // A finding gathers where the order puts its rule's credentials (active ones, in
        // the default order), and PostgreSQL would otherwise gather all of a rule's
        // findings and sort their credentials: look in a window of the order first, and
        // take the whole order only when that window holds less than a page (as SQLite does).
        let finding = req.query.clauses.iter().any(|c| !c.negated && matches!(c.term, Term::Finding(_)));
        if finding {
            let window = self.page_rows(req, Drive::Window(WALK_WINDOW)).await?;
            if window.len() >= req.limit {
                return Ok(window);
            }
        }
        self.page_rows(req, Drive::Planner).await
    }

    /// The rows of one page, found as `drive` says.
    async fn page_rows(&self, req: &PageRequest, drive: Drive) -> Result<Vec<CredentialRow>> {
        let mut binds = Binds::default();
        // Driven by one scope, the other clauses are tested on each of its rows.
        let (filter, driving_scope) = match drive {
            Drive::ScopeOrder(i) => {
                let scope = match &req.query.clauses[i].term {
                    Term::Scope(s) => binds.text(s),
                    other => return Err(StoreError::Conflict(format!("not a scope: {other}"))),
                };
                let rest = Query { clauses: req.query.clauses.iter().enumerate().filter(|(j, _)| *j != i).map(|(_, c)| c.clone()).collect() };
                (to_sql(&rest, req.now, &mut binds), Some(scope))
            }
            _ => (to_sql(&req.query, req.now, &mut binds), None),
        };
        let window = match drive {
            Drive::Window(w) => Some(w),
            _ => None,
        };
        let expr = sort_expr(req.sort.column);
        // The scope rows' own copy of the key and id, so that their index gives the order.
        let (key_expr, id_expr) = if driving_scope.is_some() { (r#"s.k COLLATE "C""#, r#"s.credential_id COLLATE "C""#) } else { (expr, ID) };
        let asc = req.sort.descending == matches!(req.anchor, PageAnchor::Before(_) | PageAnchor::Last);
        let inclusive = matches!(req.anchor, PageAnchor::From(_));
        let (cmp, dir) = match (asc, inclusive) {
            (true, false) => (">", "ASC"),
            (true, true) => (">=", "ASC"),
            (false, false) => ("<", "DESC"),
            (false, true) => ("<=", "DESC"),
        };
        let from = match &driving_scope {
            Some(scope) => format!(
                "credential_scopes s JOIN credentials c ON c.id = s.credential_id LEFT JOIN owners o ON o.id = c.owner WHERE s.scope = {scope} AND"
            ),
            None => "credentials c LEFT JOIN owners o ON o.id = c.owner WHERE".to_string(),
        };
        let mut sql = format!(
            "SELECT c.id, c.issuer, c.kind, c.owner, coalesce(o.status, CASE WHEN c.owner = '' THEN 'none' ELSE 'unknown' END),
                    c.workload, c.scopes, c.binding, c.expires_at, c.last_used_at, c.status, {expr},
                    c.audience, c.issued_at, c.task_id, c.external_id
             FROM {from} ({filter})"
        );
        // A row value: PostgreSQL seeks the `(expr, id)` index on it directly.
        let keyset = |binds: &mut Binds, key_expr: &str, id_expr: &str| match &req.anchor {
            PageAnchor::After(k) | PageAnchor::Before(k) | PageAnchor::From(k) => {
                let (sort, id) = (binds.text(&k.sort), binds.text(&k.id));
                format!(" AND ({key_expr}, {id_expr}) {cmp} ({sort}, {id})")
            }
            PageAnchor::First | PageAnchor::Last => String::new(),
        };
        let outer = keyset(&mut binds, key_expr, id_expr);
        sql.push_str(&outer);
        if let Some(w) = window {
            // The window is read off the sort index alone (the inner `c` is its own table).
            let inner = keyset(&mut binds, expr, ID);
            let limit = binds.int(w as i64);
            sql.push_str(&format!(" AND c.id IN (SELECT c.id FROM credentials c WHERE true{inner} ORDER BY {expr} {dir}, {ID} {dir} LIMIT {limit})"));
        }
        sql.push_str(&format!(" ORDER BY {key_expr} {dir}, {id_expr} {dir} LIMIT {}", binds.int(req.limit as i64)));
        let rows = binds.bind_to(sqlx::query(AssertSqlSafe(sql))).fetch_all(&self.pool).await?;
        Ok(credential_rows(&rows, &req.anchor))
    }

    pub async fn count(&self, query: &Query, now: Timestamp) -> Result<i64> {
        let mut binds = Binds::default();
        let sql = format!("SELECT count(*) FROM credentials c WHERE ({})", to_sql(query, now, &mut binds));
        Ok(binds.bind_to(sqlx::query(AssertSqlSafe(sql))).fetch_one(&self.pool).await?.get(0))
    }

    pub async fn count_capped(&self, query: &Query, now: Timestamp, cap: i64) -> Result<i64> {
        let mut binds = Binds::default();
        // The cap is our own integer, written into the statement.
        let sql = format!("SELECT count(*) FROM (SELECT 1 FROM credentials c WHERE ({}) LIMIT {cap}) m", to_sql(query, now, &mut binds));
        Ok(binds.bind_to(sqlx::query(AssertSqlSafe(sql))).fetch_one(&self.pool).await?.get(0))
    }

    /// Rows in display order before `key`: the position of a row, for the scrollbar.
    /// Costs an index range count, so the UI asks for it off the input path.
    pub async fn position(&self, query: &Query, now: Timestamp, sort: Sort, key: &Key) -> Result<i64> {
        let mut binds = Binds::default();
        let filter = to_sql(query, now, &mut binds);
        let expr = sort_expr(sort.column);
        let before = if sort.descending { ">" } else { "<" };
        let (k, id) = (binds.text(&key.sort), binds.text(&key.id));
        let sql = format!("SELECT count(*) FROM credentials c WHERE ({filter}) AND ({expr}, {ID}) {before} ({k}, {id})");
        Ok(binds.bind_to(sqlx::query(AssertSqlSafe(sql))).fetch_one(&self.pool).await?.get(0))
    }

    /// The key of the row at `offset` in an order. OFFSET walks the index: only
    /// for the benchmark's choice of a middle, never on an interactive path.
    pub async fn key_at(&self, sort: Sort, offset: i64) -> Result<Option<Key>> {
        let expr = sort_expr(sort.column);
        let dir = if sort.descending { "DESC" } else { "ASC" };
        let sql = format!("SELECT {expr}, c.id FROM credentials c ORDER BY {expr} {dir}, {ID} {dir} LIMIT 1 OFFSET $1");
        let row = sqlx::query(AssertSqlSafe(sql)).bind(offset).fetch_optional(&self.pool).await?;
        Ok(row.map(|r| Key { sort: r.get(0), id: r.get(1) }))
    }

    /// A credential by local id, unique id prefix, external id or fingerprint.
    pub async fn resolve(&self, needle: &str) -> Result<String> {
        let needle = needle.trim();
        // One indexed lookup at a time: the local id, then the fingerprint, then the issuer's id.
        for sql in [
            "SELECT id FROM credentials WHERE id = $1 LIMIT 2",
            "SELECT id FROM credentials WHERE fingerprint = $1 LIMIT 2",
            "SELECT id FROM credentials WHERE issuer IN (SELECT name FROM issuers) AND external_id = $1 LIMIT 2",
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
            let ids: Vec<String> = sqlx::query_scalar(r#"SELECT id FROM credentials WHERE id COLLATE "C" >= $1 AND id COLLATE "C" < $2 LIMIT 2"#)
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
             FROM credentials WHERE id = $1",
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
        let rows = sqlx::query(r#"SELECT at, actor, action, scopes, note, source FROM consent_events WHERE credential_id = $1 ORDER BY at COLLATE "C", id"#)
            .bind(&id)
            .fetch_all(&self.pool)
            .await?;
        let key = |r: &PgRow| (r.get::<String, _>(1), r.get::<String, _>(2), r.get::<String, _>(3));
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
        let usage = sqlx::query(r#"SELECT at, workload, origin FROM usage_events WHERE credential_id = $1 ORDER BY at COLLATE "C" DESC, id LIMIT 50"#)
            .bind(&id)
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|r| UsageEvent { at: parse_ts(&r.get::<String, _>(0)).unwrap_or_default(), workload: r.get(1), origin: r.get(2) })
            .collect();
        let act_chain = sqlx::query_scalar("SELECT actor FROM delegation WHERE credential_id = $1 ORDER BY position")
            .bind(&id)
            .fetch_all(&self.pool)
            .await?;
        let task_id: Option<String> = row.get(16);
        Ok(Credential {
            issuer: row.get(1),
            external_id: row.get(2),
            kind: CredentialKind::parse(&row.get::<String, _>(3)).unwrap_or_default(),
            fingerprint: row.get(4),
            client_id: opt(5),
            subject: opt(6),
            workload: opt(7),
            owner: opt(8),
            scopes: split(&row.get::<String, _>(9)),
            audience: split(&row.get::<String, _>(10)),
            binding: Binding::parse(&row.get::<String, _>(11)).unwrap_or_default(),
            issued_at: ts(12),
            expires_at: ts(13),
            last_used_at: ts(14),
            status: CredentialStatus::parse(&row.get::<String, _>(15)).unwrap_or_default(),
            task: task_id.map(|id| Task { id, intent: row.get(17), ended_at: ts(18) }),
            parent_id: row.get(19),
            act_chain,
            consent,
            usage,
            id,
        })
    }

    pub async fn owner(&self, email: &str) -> Result<Option<Owner>> {
        let row = sqlx::query("SELECT email, name, team, status, source, offboarded_at, person FROM owners WHERE id = $1")
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
            alias_of: r.get(6),
        }))
    }

    /// The parent chain of a credential (parent first), bounded against cycles.
    pub async fn lineage(&self, id: &str) -> Result<Vec<(String, String)>> {
        let rows = sqlx::query(
            "WITH RECURSIVE up(id, workload, parent_id, depth) AS (
                 SELECT id, workload, parent_id, 0 FROM credentials WHERE id = $1
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
        Ok(sqlx::query_scalar("SELECT id FROM credentials WHERE issuer = $1 AND external_id = $2")
            .bind(issuer)
            .bind(external)
            .fetch_optional(&self.pool)
            .await?)
    }

    /// The person who owns most credentials of a workload: its accountable owner.
    pub async fn workload_owner(&self, workload: &str) -> Result<Option<String>> {
        Ok(sqlx::query_scalar(
            r#"SELECT owner FROM credentials WHERE workload = $1 AND owner != '' GROUP BY owner ORDER BY count(*) DESC, owner COLLATE "C" LIMIT 1"#,
        )
        .bind(workload)
        .fetch_optional(&self.pool)
        .await?)
    }

    pub async fn open_findings_for(&self, credential_id: &str) -> Result<Vec<(String, Severity, String)>> {
        let rows = sqlx::query(r#"SELECT rule, severity, summary FROM findings WHERE credential_id = $1 AND closed_at IS NULL ORDER BY rule COLLATE "C""#)
            .bind(credential_id)
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.iter().map(|r| (r.get(0), Severity::parse(&r.get::<String, _>(1)).unwrap_or(Severity::Low), r.get(2))).collect())
    }
}
