//! The filter language in SQLite: each term of a `Query` becomes a fragment over
//! `credentials c` with its values as binds, never spliced into the text.
use crate::domain::{fmt_ts, OwnerStatus, Timestamp};
use crate::filter::{Query, Term};
use crate::store::rows::SortColumn;

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum SqlValue {
    Text(String),
    Int(i64),
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct SqlFilter {
    /// A boolean expression over `credentials c`; never NULL.
    pub(crate) sql: String,
    pub(crate) binds: Vec<SqlValue>,
}


/// The SQL sort expression of a column; each has an index `(expr, id)` in the migrations.
pub(crate) fn sort_expr(column: SortColumn) -> &'static str {
    match column {
        // As the index credentials_active_first writes it (migration 0010).
        SortColumn::ActiveFirst => "(CASE c.status WHEN 'active' THEN '0' ELSE '1' END || coalesce(c.expires_at, '9999-12-31T23:59:59Z'))",
        SortColumn::Id => "c.id",
        SortColumn::Owner => "c.owner",
        SortColumn::Workload => "c.workload",
        SortColumn::Expires => "coalesce(c.expires_at, '9999-12-31T23:59:59Z')",
        SortColumn::LastUsed => "coalesce(c.last_used_at, '')",
        SortColumn::Status => "c.status",
        SortColumn::Binding => "c.binding",
    }
}

/// Upper bound of a prefix range: the prefix with its last char incremented.
fn prefix_end(prefix: &str) -> String {
    let mut chars: Vec<char> = prefix.chars().collect();
    if let Some(last) = chars.pop() {
        chars.push(char::from_u32(last as u32 + 1).unwrap_or(char::MAX));
    }
    chars.into_iter().collect()
}

fn like_escape(s: &str) -> String {
    s.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_")
}

pub(crate) fn to_sql(query: &Query, now: Timestamp) -> SqlFilter {
    to_sql_walking(query, now, &[])
}

/// As `to_sql`, with the clauses whose index in `walk` is true written to be
/// tested row by row while the sort index is walked (many matches: a page of 200
/// is found after a few thousand rows), instead of driving the query from their
/// own index and sorting every match (few matches). `page` decides which.
pub(crate) fn to_sql_walking(query: &Query, now: Timestamp, walk: &[bool]) -> SqlFilter {
    let mut parts = Vec::new();
    let mut binds = Vec::new();
    let text = |b: &mut Vec<SqlValue>, s: String| b.push(SqlValue::Text(s));
    for (i, clause) in query.clauses.iter().enumerate() {
        let walking = walk.get(i).copied().unwrap_or(false);
        let frag = match &clause.term {
            Term::Owner(o) if o.contains('@') => {
                text(&mut binds, o.clone());
                "c.owner = ?".to_string()
            }
            Term::Owner(o) => {
                text(&mut binds, o.clone());
                text(&mut binds, prefix_end(o));
                "(c.owner >= ? AND c.owner < ?)".into()
            }
            Term::OwnerNone => "c.owner = ''".into(),
            Term::OwnerStatus(OwnerStatus::Unknown) => {
                "(c.owner != '' AND coalesce((SELECT o.status FROM owners o WHERE o.id = c.owner), 'unknown') = 'unknown')".into()
            }
            Term::OwnerStatus(s) => {
                text(&mut binds, s.as_str().into());
                if walking { "+c.owner IN (SELECT id FROM owners WHERE status = ?)" } else { "c.owner IN (SELECT id FROM owners WHERE status = ?)" }.into()
            }
            Term::Workload(w) => {
                text(&mut binds, w.clone());
                text(&mut binds, prefix_end(w));
                "(c.workload >= ? AND c.workload < ?)".into()
            }
            Term::Scope(s) => {
                text(&mut binds, s.clone());
                if walking {
                    "EXISTS (SELECT 1 FROM credential_scopes s WHERE s.scope = ? AND s.credential_id = c.id)"
                } else {
                    "c.id IN (SELECT credential_id FROM credential_scopes WHERE scope = ?)"
                }
                .into()
            }
            // Unary plus keeps SQLite off these few-valued indexes: walking the
            // sort index and filtering finds a page of 200 far sooner.
            Term::Binding(b) => {
                text(&mut binds, b.as_str().into());
                "+c.binding = ?".into()
            }
            Term::Status(s) => {
                text(&mut binds, s.as_str().into());
                "+c.status = ?".into()
            }
            Term::Issuer(i) => {
                text(&mut binds, i.clone());
                "+c.issuer = ?".into()
            }
            Term::Kind(k) => {
                text(&mut binds, k.as_str().into());
                "+c.kind = ?".into()
            }
            Term::ExpiresWithin(d) => {
                text(&mut binds, fmt_ts(&(now + *d)));
                "(c.expires_at IS NOT NULL AND c.expires_at < ?)".into()
            }
            Term::ExpiresBeyond(d) => {
                text(&mut binds, fmt_ts(&(now + *d)));
                "(c.expires_at IS NULL OR c.expires_at > ?)".into()
            }
            Term::ExpiresNever => "(c.expires_at IS NULL)".into(),
            Term::UnusedFor(d) => {
                text(&mut binds, fmt_ts(&(now - *d)));
                "(coalesce(c.last_used_at, c.issued_at, '') < ?)".into()
            }
            Term::TaskEnded => {
                text(&mut binds, fmt_ts(&now));
                "(c.task_ended_at IS NOT NULL AND c.task_ended_at <= ?)".into()
            }
            Term::Task(t) => {
                text(&mut binds, t.clone());
                "c.task_id = ?".into()
            }
            Term::Finding(r) => {
                text(&mut binds, r.clone());
                if walking {
                    "EXISTS (SELECT 1 FROM findings f WHERE f.rule = ? AND f.credential_id = c.id AND f.closed_at IS NULL)"
                } else {
                    "c.id IN (SELECT credential_id FROM findings WHERE rule = ? AND closed_at IS NULL)"
                }
                .into()
            }
            Term::Text(w) => {
                let pat = format!("%{}%", like_escape(w));
                for _ in 0..4 {
                    text(&mut binds, pat.clone());
                }
                "(c.id LIKE ? ESCAPE '\\' OR c.owner LIKE ? ESCAPE '\\' OR c.workload LIKE ? ESCAPE '\\' OR c.client_id LIKE ? ESCAPE '\\')".into()
            }
        };
        parts.push(if clause.negated { format!("NOT {frag}") } else { frag });
    }
    if parts.is_empty() {
        return SqlFilter { sql: "1".into(), binds };
    }
    SqlFilter { sql: parts.join(" AND "), binds }
}

/// The covering-index count (capped by a second bind, LIMIT) that says whether a
/// term matches many credentials, with its first bind; None for a term that is
/// always written one way.
pub(crate) fn match_estimate(term: &Term) -> Option<(&'static str, String)> {
    let (sql, bind) = match term {
        Term::Scope(s) => ("SELECT count(*) FROM (SELECT 1 FROM credential_scopes WHERE scope = ? LIMIT ?)", s.clone()),
        Term::OwnerStatus(s) if *s != OwnerStatus::Unknown => {
            ("SELECT count(*) FROM (SELECT 1 FROM credentials WHERE owner IN (SELECT id FROM owners WHERE status = ?) LIMIT ?)", s.as_str().to_string())
        }
        // Not findings: they gather where the sort puts them, so density says little
        // about how far a walk goes. `page` walks a bounded window for them instead.
        _ => return None,
    };
    Some((sql, bind))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::filter::parse;
    use chrono::{TimeZone, Utc};

    fn now() -> Timestamp {
        Utc.with_ymd_and_hms(2026, 11, 23, 12, 0, 0).single().expect("time")
    }

    #[test]
    fn sql_binds_every_value() {
        let q = parse("owner:ana scope:x'); DROP TABLE credentials;--").expect("parses");
        let s = to_sql(&q, now());
        assert!(!s.sql.contains("DROP"), "{}", s.sql);
        assert_eq!(s.binds[0], SqlValue::Text("ana".into()));
        assert_eq!(s.binds[1], SqlValue::Text("anb".into()));
        assert_eq!(to_sql(&Query::default(), now()).sql, "1");
    }

    /// The filters against a real SQLite with the real schema.
    fn db() -> rusqlite::Connection {
        let c = rusqlite::Connection::open_in_memory().expect("db");
        c.execute_batch(include_str!("../../../migrations/sqlite/0001_inventory.sql")).expect("schema");
        c.execute_batch(
            "INSERT INTO owners (id, email, status) VALUES ('ana@acme.test', 'ana@acme.test', 'active'), ('bo@acme.test', 'bo@acme.test', 'offboarded');
             INSERT INTO credentials (id, issuer, external_id, kind, owner, workload, client_id, scopes, binding, issued_at, expires_at, last_used_at, status, synced_at) VALUES
              ('a1', 'broker', 'e1', 'access_token', 'ana@acme.test', 'deploy-bot', 'deploy', 'repo:write', 'bearer', '2026-01-01T00:00:00Z', '2026-11-25T00:00:00Z', '2026-11-23T00:00:00Z', 'active', 'x'),
              ('b2', 'broker', 'e2', 'api_key', 'bo@acme.test', 'invoice-agent', 'inv', 'payments:read', 'dpop', '2025-01-01T00:00:00Z', NULL, NULL, 'active', 'x'),
              ('c3', 'gh', 'e3', 'personal_access_token', '', 'crm_sync', '', '', 'mtls', NULL, '2027-06-01T00:00:00Z', '2026-01-01T00:00:00Z', 'revoked', 'x'),
              ('d4', 'gh', 'e4', 'access_token', 'zed@elsewhere.test', 'crm-sync', '', '', 'bearer', '2026-11-20T00:00:00Z', '2026-11-01T00:00:00Z', NULL, 'expired', 'x');
             INSERT INTO credential_scopes VALUES ('repo:write', 'a1'), ('payments:read', 'b2');
             INSERT INTO findings (rule, severity, credential_id, summary, first_seen, last_seen) VALUES ('owner-offboarded', 'high', 'b2', 's', 'x', 'x');",
        )
        .expect("rows");
        c
    }

    fn ids(c: &rusqlite::Connection, q: &str) -> Vec<String> {
        ids_walking(c, q, false)
    }

    /// The rows a filter selects, each clause written to be driven from its index or walked.
    fn ids_walking(c: &rusqlite::Connection, q: &str, walking: bool) -> Vec<String> {
        let query = parse(q).expect("parses");
        let f = to_sql_walking(&query, now(), &vec![walking; query.clauses.len()]);
        let sql = format!("SELECT c.id FROM credentials c WHERE {} ORDER BY c.id", f.sql);
        let mut stmt = c.prepare(&sql).expect("prepares");
        let params: Vec<Box<dyn rusqlite::ToSql>> = f
            .binds
            .iter()
            .map(|b| match b {
                SqlValue::Text(s) => Box::new(s.clone()) as Box<dyn rusqlite::ToSql>,
                SqlValue::Int(i) => Box::new(*i),
            })
            .collect();
        let rows = stmt.query_map(rusqlite::params_from_iter(params.iter().map(|p| p.as_ref())), |r| r.get::<_, String>(0)).expect("query");
        rows.map(|r| r.expect("row")).collect()
    }

    #[test]
    fn filters_select_the_right_rows() {
        let c = db();
        assert_eq!(ids(&c, ""), ["a1", "b2", "c3", "d4"]);
        assert_eq!(ids(&c, "owner:ana@acme.test"), ["a1"]);
        assert_eq!(ids(&c, "owner:ANA"), ["a1"]);
        assert_eq!(ids(&c, "owner:none"), ["c3"]);
        assert_eq!(ids(&c, "-owner:none"), ["a1", "b2", "d4"]);
        assert_eq!(ids(&c, "owner-status:offboarded"), ["b2"]);
        assert_eq!(ids(&c, "owner-status:unknown"), ["d4"]);
        assert_eq!(ids(&c, "workload:crm"), ["c3", "d4"]);
        assert_eq!(ids(&c, "scope:repo:write"), ["a1"]);
        assert_eq!(ids(&c, "-scope:repo:write"), ["b2", "c3", "d4"]);
        assert_eq!(ids(&c, "binding:bearer status:active"), ["a1"]);
        assert_eq!(ids(&c, "issuer:gh -status:revoked"), ["d4"]);
        assert_eq!(ids(&c, "kind:api_key"), ["b2"]);
        assert_eq!(ids(&c, "expires<7d"), ["a1", "d4"]);
        assert_eq!(ids(&c, "-expires<7d"), ["b2", "c3"], "NULL expiry must survive negation");
        assert_eq!(ids(&c, "expires>30d"), ["b2", "c3"]);
        assert_eq!(ids(&c, "expires:never"), ["b2"]);
        assert_eq!(ids(&c, "unused>90d"), ["b2", "c3"]);
        assert_eq!(ids(&c, "-unused>90d"), ["a1", "d4"]);
        assert_eq!(ids(&c, "finding:owner-offboarded"), ["b2"]);
        assert_eq!(ids(&c, "inv"), ["b2"]);
        assert_eq!(ids(&c, "crm_"), ["c3"], "underscore is literal, not a LIKE wildcard");
        assert_eq!(ids(&c, "-zed"), ["a1", "b2", "c3"]);
    }

    #[test]
    fn a_clause_walked_row_by_row_selects_what_it_selects_driven() {
        let c = db();
        for q in [
            "scope:repo:write",
            "-scope:repo:write",
            "owner-status:offboarded",
            "-owner-status:offboarded",
            "owner-status:offboarded scope:payments:read",
            "finding:owner-offboarded",
            "-finding:owner-offboarded",
        ] {
            let (driven, walked) = (ids_walking(&c, q, false), ids_walking(&c, q, true));
            assert_eq!(driven, walked, "{q}");
            assert_ne!(to_sql_walking(&parse(q).expect("parses"), now(), &[true, true]).sql, to_sql(&parse(q).expect("parses"), now()).sql, "{q} has a walking form");
        }
    }

    #[test]
    fn indexed_terms_search_an_index() {
        let c = db();
        for q in ["owner:ana@acme.test", "scope:repo:write", "owner:an"] {
            let f = to_sql(&parse(q).expect("parses"), now());
            let sql = format!("EXPLAIN QUERY PLAN SELECT c.id FROM credentials c WHERE {}", f.sql);
            let mut stmt = c.prepare(&sql).expect("prepares");
            let binds: Vec<String> = f.binds.iter().map(|b| match b { SqlValue::Text(s) => s.clone(), SqlValue::Int(i) => i.to_string() }).collect();
            let plan: Vec<String> = stmt.query_map(rusqlite::params_from_iter(binds.iter()), |r| r.get::<_, String>(3)).expect("plan").map(|r| r.expect("row")).collect();
            assert!(!plan.iter().any(|p| p == "SCAN c"), "{q}: {plan:?}");
        }
    }
}
