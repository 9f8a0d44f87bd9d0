//! Browsing credentials: keyset pages, counts, positions, and one credential whole.
use sqlx::{AssertSqlSafe, Row};

use super::filter::{match_estimate, sort_expr, to_sql, to_sql_walking};
use super::{bind_filter, SqliteStore};
use crate::filter::{Query, Term};
use crate::domain::wire::split;
use crate::domain::*;
use crate::store::error::{Result, StoreError};
use crate::store::rows::*;

/// How far along the order a finding's first page is looked for before it is driven
/// from the findings instead (a page of the default order has its rule's credentials
/// near the start; a miss costs a few ms).
const WALK_WINDOW: usize = 4_000;

/// Active credentials idle past an `unused>` filter's bound beyond which its page is
/// found by walking the order instead (`idle_first`): a few ms of index either way.
const IDLE_DENSE: i64 = 50_000;

/// How a page's rows are found.
#[derive(Debug, Clone, Copy)]
enum Drive {
    /// As SQLite's planner chooses, the clauses written as `walk` says.
    Planner,
    /// Only among the next so many credentials of the order after the anchor.
    Window(usize),
    /// Off `credentials_idle`, among active credentials: an `unused>` filter's page
    /// in the default order (`idle_first`).
    Idle,
    /// Off credential_scopes' primary key (scope, key, credential), by the scope of
    /// this clause (`store::scope_order`).
    ScopeOrder(usize),
}

impl SqliteStore {
    /// Which clauses of a filter match so many credentials that the first page is
    /// found soonest by walking the sort index and testing each row: walking costs
    /// about 200·N/matches rows, driving from the clause's own index about
    /// 2.5·matches (a lookup and a sort each), so walking wins past √(80·N)
    /// matches. Counted on covering indexes and capped there: a few ms at 1M.
    async fn walkable(&self, query: &crate::filter::Query) -> Result<Vec<bool>> {
        let mut walk = vec![false; query.clauses.len()];
        if query.clauses.iter().all(|c| match_estimate(&c.term).is_none() || c.negated) {
            return Ok(walk);
        }
        let n: i64 = sqlx::query_scalar("SELECT coalesce(max(rowid), 0) FROM credentials").fetch_one(&self.pool).await?;
        let cap = ((80.0 * n as f64).sqrt() as i64).max(500);
        for (i, clause) in query.clauses.iter().enumerate() {
            if clause.negated {
                continue;
            }
            if let Some((sql, bind)) = match_estimate(&clause.term) {
                let matches: i64 = sqlx::query_scalar(sql).bind(bind).bind(cap).fetch_one(&self.pool).await?;
                walk[i] = matches >= cap;
            }
        }
        Ok(walk)
    }

    /// Whether an `unused>D` page is looked for among the active credentials idle
    /// that long first (`credentials_idle`): in the default order read forwards, where
    /// active credentials come first, unless a clause with few matches drives the page
    /// or so many are idle (`IDLE_DENSE`) that a walk of the order finds a page sooner.
    /// Its matches gather where the order puts credentials that never expire, at the
    /// end of the active block, which a walk reaches late (232 ms at 1M).
    async fn idle_first(&self, req: &PageRequest, walk: &[bool]) -> Result<bool> {
        let forwards = req.sort.descending == matches!(req.anchor, PageAnchor::Before(_) | PageAnchor::Last);
        let idle = req.query.clauses.iter().find_map(|c| match c.term {
            Term::UnusedFor(d) if !c.negated => Some(d),
            _ => None,
        });
        let driven = req.query.clauses.iter().enumerate().any(|(i, c)| !c.negated && !walk[i] && match_estimate(&c.term).is_some());
        let (Some(d), SortColumn::ActiveFirst, true, false) = (idle, req.sort.column, forwards, driven) else { return Ok(false) };
        let idle: std::result::Result<i64, _> = sqlx::query_scalar(
            "SELECT count(*) FROM (SELECT 1 FROM credentials c INDEXED BY credentials_idle
             WHERE c.status = 'active' AND coalesce(c.last_used_at, c.issued_at, '') < ? LIMIT ?)",
        )
        .bind(fmt_ts(&(req.now - d)))
        .bind(IDLE_DENSE)
        .fetch_one(&self.pool)
        .await;
        match idle {
            Ok(n) => Ok(n < IDLE_DENSE),
            Err(sqlx::Error::Database(e)) if e.message().contains("no such index") => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    /// One page of rows by keyset: never OFFSET, so any depth costs the same.
    pub async fn page(&self, req: &PageRequest) -> Result<Vec<CredentialRow>> {
        if let Some(i) = crate::store::scope_order(req) {
            let rows = self.page_rows(req, &[], Drive::ScopeOrder(i)).await?;
            return Ok(credential_rows(&rows, &req.anchor));
        }
        let walk = self.walkable(&req.query).await?;
        // A finding gathers where the order puts its rule's credentials (active ones, in
        // the default order), so no count says whether walking pays: walk a window of the
        // order first, and drive from the findings only when it holds less than a page.
        let findings: Vec<usize> =
            req.query.clauses.iter().enumerate().filter(|(i, c)| !c.negated && matches!(c.term, Term::Finding(_)) && !walk[*i]).map(|(i, _)| i).collect();
        if findings.is_empty() && self.idle_first(req, &walk).await? {
            match self.page_rows(req, &walk, Drive::Idle).await {
                // All active credentials come before the rest in this order: a full page of
                // active matches is the page.
                Ok(rows) if rows.len() >= req.limit => return Ok(credential_rows(&rows, &req.anchor)),
                Ok(_) => {}
                // A first load builds its indexes at its end: until then, as the planner can.
                Err(StoreError::Db(e)) if e.to_string().contains("no such index") => {}
                Err(e) => return Err(e),
            }
        }
        let rows = if findings.is_empty() {
            self.page_rows(req, &walk, Drive::Planner).await?
        } else {
            let mut tried = walk.clone();
            findings.iter().for_each(|i| tried[*i] = true);
            let window = self.page_rows(req, &tried, Drive::Window(WALK_WINDOW)).await?;
            // A full page from the window is the page: any match beyond it comes later in the order.
            if window.len() >= req.limit { window } else { self.page_rows(req, &walk, Drive::Planner).await? }
        };
        Ok(credential_rows(&rows, &req.anchor))
    }

    /// The rows of one page, each clause driven or walked as `walk` says, the
    /// whole chosen as `drive` says.
    async fn page_rows(&self, req: &PageRequest, walk: &[bool], drive: Drive) -> Result<Vec<sqlx::sqlite::SqliteRow>> {
        // Driven by one scope, the other clauses are tested on each of its rows.
        let (filter, driving_scope) = match (drive, &req.query.clauses[..]) {
            (Drive::ScopeOrder(i), clauses) => {
                let rest = Query { clauses: clauses.iter().enumerate().filter(|(j, _)| *j != i).map(|(_, c)| c.clone()).collect() };
                let scope = match &clauses[i].term {
                    Term::Scope(s) => s.clone(),
                    other => return Err(StoreError::Conflict(format!("not a scope: {other}"))),
                };
                (to_sql_walking(&rest, req.now, &vec![true; rest.clauses.len()]), Some(scope))
            }
            _ => (to_sql_walking(&req.query, req.now, walk), None),
        };
        let expr = sort_expr(req.sort.column);
        // The scope rows' own copy of the key and id, so that their index gives the order.
        let (key_expr, id_expr) = if driving_scope.is_some() { ("s.k", "s.credential_id") } else { (expr, "c.id") };
        let asc = req.sort.descending == matches!(req.anchor, PageAnchor::Before(_) | PageAnchor::Last);
        let inclusive = matches!(req.anchor, PageAnchor::From(_));
        let (cmp, dir) = match (asc, inclusive) {
            (true, false) => (">", "ASC"),
            (true, true) => (">=", "ASC"),
            (false, false) => ("<", "DESC"),
            (false, true) => ("<=", "DESC"),
        };
        // `expr >= k AND (expr > k OR id > i)`, not a row value: SQLite seeks an
        // expression index only on a plain range over its first column.
        let key = match &req.anchor {
            PageAnchor::After(k) | PageAnchor::Before(k) | PageAnchor::From(k) => Some(k),
            PageAnchor::First | PageAnchor::Last => None,
        };
        let (outer, strict) = if asc { (">=", ">") } else { ("<=", "<") };
        let keyset =
            if key.is_some() { format!(" AND {key_expr} {outer} ? AND ({key_expr} {strict} ? OR {id_expr} {cmp} ?)") } else { String::new() };
        let order = format!(" ORDER BY {key_expr} {dir}, {id_expr} {dir} LIMIT ?");
        let select = format!(
            "SELECT c.id, c.issuer, c.kind, c.owner, coalesce(o.status, CASE WHEN c.owner = '' THEN 'none' ELSE 'unknown' END),
                    c.workload, c.scopes, c.binding, c.expires_at, c.last_used_at, c.status, {expr},
                    c.audience, c.issued_at, c.task_id, c.external_id"
        );
        let columns = format!("{select} FROM credentials c LEFT JOIN owners o ON o.id = c.owner");
        let window_end: Option<(String, String)> = match drive {
            Drive::Window(w) => {
                let sql = format!("SELECT {expr}, c.id FROM credentials c WHERE 1{keyset} ORDER BY {expr} {dir}, c.id {dir} LIMIT 1 OFFSET ?");
                let mut q = sqlx::query_as(AssertSqlSafe(sql));
                if let Some(k) = key {
                    q = q.bind(k.sort.clone()).bind(k.sort.clone()).bind(k.id.clone());
                }
                // Fewer rows than the window left in the order: the window is the rest of it.
                q.bind(w.saturating_sub(1) as i64).fetch_optional(&self.pool).await?
            }
            _ => None,
        };
        let sql = match drive {
            // CROSS JOIN keeps the scope rows outermost, walked in their index's order.
            Drive::ScopeOrder(_) => format!(
                "{select} FROM credential_scopes s CROSS JOIN credentials c ON c.id = s.credential_id LEFT JOIN owners o ON o.id = c.owner
                 WHERE s.scope = ? AND ({filter}){keyset}{order}",
                filter = filter.sql
            ),
            Drive::Planner => format!("{columns} WHERE ({filter}){keyset}{order}", filter = filter.sql),
            // The window ends at the key of its last row (read off the sort index alone):
            // a range of the sort index, walked in order until a page matches.
            Drive::Window(_) => {
                let within = if window_end.is_some() {
                    let (to, before) = if asc { ("<=", "<") } else { (">=", ">") };
                    format!(" AND {expr} {to} ? AND ({expr} {before} ? OR c.id {to} ?)")
                } else {
                    String::new()
                };
                format!("{columns} WHERE ({filter}){keyset}{within}{order}", filter = filter.sql)
            }
            // Among the active credentials, the page is chosen on the idle index alone
            // (idle time, status, this order's key, id); only its rows are read.
            Drive::Idle => format!(
                "{columns} WHERE c.rowid IN (SELECT c.rowid FROM credentials c INDEXED BY credentials_idle
                   WHERE c.status = 'active' AND ({filter}){keyset}{order}){order}",
                filter = filter.sql
            ),
        };
        let mut q = sqlx::query(AssertSqlSafe(sql));
        if let Some(scope) = driving_scope {
            q = q.bind(scope);
        }
        let mut q = bind_filter(q, &filter);
        if let Some(k) = key {
            q = q.bind(k.sort.clone()).bind(k.sort.clone()).bind(k.id.clone());
        }
        match drive {
            Drive::Planner | Drive::ScopeOrder(_) => {}
            Drive::Window(_) => {
                if let Some((sort, id)) = window_end {
                    q = q.bind(sort.clone()).bind(sort).bind(id);
                }
            }
            Drive::Idle => q = q.bind(req.limit as i64),
        }
        Ok(q.bind(req.limit as i64).fetch_all(&self.pool).await?)
    }

    pub async fn count(&self, query: &Query, now: Timestamp) -> Result<i64> {
        let filter = &to_sql(query, now);
        let sql = format!("SELECT count(*) FROM credentials c WHERE ({})", filter.sql);
        let q = bind_filter(sqlx::query(AssertSqlSafe(sql)), filter);
        Ok(q.fetch_one(&self.pool).await?.get(0))
    }

    pub async fn count_capped(&self, query: &Query, now: Timestamp, cap: i64) -> Result<i64> {
        let filter = &to_sql(query, now);
        // The cap is our own integer, written into the statement.
        let sql = format!("SELECT count(*) FROM (SELECT 1 FROM credentials c WHERE ({}) LIMIT {cap})", filter.sql);
        let q = bind_filter(sqlx::query(AssertSqlSafe(sql)), filter);
        Ok(q.fetch_one(&self.pool).await?.get(0))
    }

    /// Rows in display order before `key`: the position of a row, for the scrollbar.
    /// Costs an index range count, so the UI asks for it off the input path.
    pub async fn position(&self, query: &Query, now: Timestamp, sort: Sort, key: &Key) -> Result<i64> {
        let filter = &to_sql(query, now);
        let expr = sort_expr(sort.column);
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
        let expr = sort_expr(sort.column);
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
        let row = sqlx::query("SELECT email, name, team, status, source, offboarded_at, person FROM owners WHERE id = ?")
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

    /// The person who owns most credentials of a workload: its accountable owner.
    pub async fn workload_owner(&self, workload: &str) -> Result<Option<String>> {
        Ok(sqlx::query_scalar(
            "SELECT owner FROM credentials WHERE workload = ? AND owner != '' GROUP BY owner ORDER BY count(*) DESC, owner LIMIT 1",
        )
        .bind(workload)
        .fetch_optional(&self.pool)
        .await?)
    }

    pub async fn open_findings_for(&self, credential_id: &str) -> Result<Vec<(String, Severity, String)>> {
        let rows = sqlx::query("SELECT rule, severity, summary FROM findings WHERE credential_id = ? AND closed_at IS NULL ORDER BY rule")
            .bind(credential_id)
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.iter().map(|r| (r.get(0), Severity::parse(&r.get::<String, _>(1)).unwrap_or(Severity::Low), r.get(2))).collect())
    }
}
