//! The filter language in PostgreSQL: each term of a `Query` becomes a fragment
//! over `credentials c` with its values as numbered binds, never spliced into the
//! text. Binds are numbered by the list they are pushed onto (`Binds`), so a
//! filter's binds and the binds of the query around it (keyset, limit) share one
//! numbering whatever their order. Text is compared under the "C" collation: byte
//! order, as SQLite compares it, and the order of the keyset indexes.
use sqlx::postgres::{PgArguments, Postgres};
use sqlx::query::Query as SqlQuery;

use crate::domain::{fmt_ts, OwnerStatus, Timestamp};
use crate::filter::{Query, Term};
use crate::store::rows::SortColumn;

#[derive(Debug, Clone, PartialEq)]
pub(super) enum PgValue {
    Text(String),
    Int(i64),
}

/// The values of one statement, in the order of their `$n` placeholders.
#[derive(Debug, Default, Clone, PartialEq)]
pub(super) struct Binds(Vec<PgValue>);

impl Binds {
    /// Adds a text value; returns its placeholder.
    pub(super) fn text(&mut self, s: impl Into<String>) -> String {
        self.push(PgValue::Text(s.into()))
    }

    /// Adds an integer value; returns its placeholder.
    pub(super) fn int(&mut self, i: i64) -> String {
        self.push(PgValue::Int(i))
    }

    fn push(&mut self, v: PgValue) -> String {
        self.0.push(v);
        format!("${}", self.0.len())
    }

    /// Binds every value to `q`, in placeholder order.
    pub(super) fn bind_to<'q>(&self, mut q: SqlQuery<'q, Postgres, PgArguments>) -> SqlQuery<'q, Postgres, PgArguments> {
        for v in &self.0 {
            q = match v {
                PgValue::Text(s) => q.bind(s.clone()),
                PgValue::Int(i) => q.bind(*i),
            };
        }
        q
    }

    #[cfg(test)]
    pub(super) fn values(&self) -> &[PgValue] {
        &self.0
    }
}

/// The sort expression of a column, byte-ordered; each has an index `(expr, id)` in the migrations.
pub(super) fn sort_expr(column: SortColumn) -> &'static str {
    match column {
        // As the index credentials_active_first writes it (migration 0004_active_first_sync_seen).
        SortColumn::ActiveFirst => r#"(CASE c.status WHEN 'active' THEN '0' ELSE '1' END || coalesce(c.expires_at, '9999-12-31T23:59:59Z')) COLLATE "C""#,
        SortColumn::Id => r#"c.id COLLATE "C""#,
        SortColumn::Owner => r#"c.owner COLLATE "C""#,
        SortColumn::Workload => r#"c.workload COLLATE "C""#,
        SortColumn::Expires => r#"coalesce(c.expires_at, '9999-12-31T23:59:59Z') COLLATE "C""#,
        SortColumn::LastUsed => r#"coalesce(c.last_used_at, '') COLLATE "C""#,
        SortColumn::Status => r#"c.status COLLATE "C""#,
        SortColumn::Binding => r#"c.binding COLLATE "C""#,
    }
}

/// The row's id in byte order: every keyset's tie-breaker.
pub(super) const ID: &str = r#"c.id COLLATE "C""#;

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

/// A boolean expression over `credentials c` (never NULL), its values pushed onto `binds`.
pub(super) fn to_sql(query: &Query, now: Timestamp, binds: &mut Binds) -> String {
    let mut parts = Vec::new();
    for clause in &query.clauses {
        let frag = match &clause.term {
            Term::Owner(o) if o.contains('@') => format!(r#"c.owner COLLATE "C" = {}"#, binds.text(o)),
            Term::Owner(o) => {
                let (from, to) = (binds.text(o), binds.text(prefix_end(o)));
                format!(r#"(c.owner COLLATE "C" >= {from} AND c.owner COLLATE "C" < {to})"#)
            }
            Term::OwnerNone => "c.owner = ''".into(),
            Term::OwnerStatus(OwnerStatus::Unknown) => {
                "(c.owner != '' AND coalesce((SELECT o.status FROM owners o WHERE o.id = c.owner), 'unknown') = 'unknown')".into()
            }
            Term::OwnerStatus(s) => format!("c.owner IN (SELECT id FROM owners WHERE status = {})", binds.text(s.as_str())),
            Term::Workload(w) => {
                let (from, to) = (binds.text(w), binds.text(prefix_end(w)));
                format!(r#"(c.workload COLLATE "C" >= {from} AND c.workload COLLATE "C" < {to})"#)
            }
            Term::Scope(s) => format!("c.id IN (SELECT credential_id FROM credential_scopes WHERE scope = {})", binds.text(s)),
            Term::Binding(b) => format!("c.binding = {}", binds.text(b.as_str())),
            Term::Status(s) => format!("c.status = {}", binds.text(s.as_str())),
            Term::Issuer(i) => format!("c.issuer = {}", binds.text(i)),
            Term::Kind(k) => format!("c.kind = {}", binds.text(k.as_str())),
            Term::ExpiresWithin(d) => {
                format!(r#"(c.expires_at IS NOT NULL AND c.expires_at COLLATE "C" < {})"#, binds.text(fmt_ts(&(now + *d))))
            }
            Term::ExpiresBeyond(d) => {
                format!(r#"(c.expires_at IS NULL OR c.expires_at COLLATE "C" > {})"#, binds.text(fmt_ts(&(now + *d))))
            }
            Term::ExpiresNever => "(c.expires_at IS NULL)".into(),
            Term::UnusedFor(d) => format!(r#"(coalesce(c.last_used_at, c.issued_at, '') COLLATE "C" < {})"#, binds.text(fmt_ts(&(now - *d)))),
            Term::TaskEnded => format!(r#"(c.task_ended_at IS NOT NULL AND c.task_ended_at COLLATE "C" <= {})"#, binds.text(fmt_ts(&now))),
            Term::Task(t) => format!("c.task_id = {}", binds.text(t)),
            Term::Finding(r) => format!("c.id IN (SELECT credential_id FROM findings WHERE rule = {} AND closed_at IS NULL)", binds.text(r)),
            // SQLite's LIKE folds ASCII case only: so does ILIKE under the "C" collation.
            Term::Text(w) => {
                let p = binds.text(format!("%{}%", like_escape(w)));
                let cols = [r#"c.id COLLATE "C""#, r#"c.owner COLLATE "C""#, r#"c.workload COLLATE "C""#, r#"c.client_id COLLATE "C""#];
                format!("({})", cols.map(|col| format!(r"{col} ILIKE {p} ESCAPE E'\\'")).join(" OR "))
            }
        };
        parts.push(if clause.negated { format!("NOT {frag}") } else { frag });
    }
    if parts.is_empty() {
        return "TRUE".into();
    }
    parts.join(" AND ")
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
    fn every_value_is_a_numbered_bind() {
        let q = parse("owner:ana scope:x'); DROP TABLE credentials;--").expect("parses");
        let mut binds = Binds::default();
        let sql = to_sql(&q, now(), &mut binds);
        assert!(!sql.contains("DROP"), "{sql}");
        let n = binds.values().len();
        assert!((1..=n).all(|i| sql.contains(&format!("${i}"))) && !sql.contains(&format!("${}", n + 1)), "{sql}");
        assert_eq!(binds.values()[..2], [PgValue::Text("ana".into()), PgValue::Text("anb".into())]);
        assert_eq!(to_sql(&Query::default(), now(), &mut Binds::default()), "TRUE");
    }

    #[test]
    fn a_filter_after_other_binds_numbers_on_from_them() {
        let mut binds = Binds::default();
        assert_eq!(binds.int(7), "$1");
        let sql = to_sql(&parse("status:active crm").expect("parses"), now(), &mut binds);
        assert!(sql.starts_with("c.status = $2 AND (") && sql.contains("ILIKE $3") && !sql.contains("$4"), "{sql}");
        assert_eq!(binds.text("after"), "$4");
        assert_eq!(binds.values().len(), 4);
    }
}
