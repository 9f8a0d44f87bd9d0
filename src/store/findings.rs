//! The findings rules that are best said in SQL, one small function each, and
//! the set-based recompute that runs them. Each rule's query yields rows of
//! (credential_id, owner, summary, evidence) for the credentials it fires on;
//! `recompute` upserts them as open findings and closes what no rule saw again.
use sqlx::{AssertSqlSafe, Row};

use super::{Result, Store};
use crate::config::Thresholds;
use crate::domain::{fmt_ts, Timestamp};
use crate::filter::SqlValue;

/// One rule's query: a SELECT of (credential_id, owner, summary, evidence) with its binds.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleQuery {
    pub sql: String,
    pub binds: Vec<SqlValue>,
}

/// A human duration of an SQL expression in seconds: 45m, 36h, 143d (hours up to two days).
fn human(seconds: &str) -> String {
    format!(
        "(CASE WHEN ({s}) < 3600 THEN CAST(({s}) / 60 AS INTEGER) || 'm' WHEN ({s}) < 172800 THEN CAST(({s}) / 3600 AS INTEGER) || 'h' \
         ELSE CAST(({s}) / 86400 AS INTEGER) || 'd' END)",
        s = seconds
    )
}

/// Whether `c.scopes` (space-separated) holds a sensitive scope: the built-in
/// classes of `policy::is_sensitive` and the configured extra prefixes/suffixes.
fn sensitive(t: &Thresholds, binds: &mut Vec<SqlValue>) -> String {
    let mut prefixes: Vec<String> = vec!["admin:".into(), "payments:".into(), "secrets:".into()];
    let mut suffixes: Vec<String> = vec![":write".into(), ":prod".into()];
    for s in &t.sensitive {
        if s.starts_with(':') { suffixes.push(s.clone()) } else { prefixes.push(s.clone()) }
    }
    let mut terms = Vec::new();
    for p in prefixes {
        terms.push("(' ' || c.scopes) LIKE '% ' || ? || '%'".to_string());
        binds.push(SqlValue::Text(p));
    }
    for s in suffixes {
        terms.push("(c.scopes || ' ') LIKE '%' || ? || ' %'".to_string());
        binds.push(SqlValue::Text(s));
    }
    format!("({})", terms.join(" OR "))
}

/// The scope class of `policy::scope_class`, in SQL: 'admin', 'write' or 'read'.
const SCOPE_CLASS: &str = "(CASE WHEN (' ' || c.scopes) LIKE '% admin:%' OR (c.scopes || ' ') LIKE '%:admin %' OR c.scopes LIKE '%administration%' THEN 'admin' \
     WHEN (c.scopes || ' ') LIKE '%:write %' OR (c.scopes || ' ') LIKE '%:prod %' OR c.scopes LIKE '%:write:%' THEN 'write' ELSE 'read' END)";

/// An agent credential: one a workload uses, not a person's own token.
const AGENT: &str = "c.workload != '' AND c.kind != 'personal_access_token'";

fn q(sql: String, binds: Vec<SqlValue>) -> RuleQuery {
    RuleQuery { sql, binds }
}

pub fn owner_offboarded() -> RuleQuery {
    q(
        "SELECT c.id, c.owner, 'owner ' || c.owner || ' left' || coalesce(' on ' || substr(o.offboarded_at, 1, 10), '') || '; still ' || c.status,
                json_object('owner', c.owner, 'offboarded_at', o.offboarded_at, 'source', o.source)
         FROM credentials c JOIN owners o ON o.id = c.owner
         WHERE o.status = 'offboarded' AND c.status = 'active'"
            .into(),
        vec![],
    )
}

pub fn owner_missing() -> RuleQuery {
    q(
        "SELECT c.id, c.owner,
                CASE WHEN c.owner = '' THEN 'no owner on record' ELSE 'owner ' || c.owner || ' is unknown to the directory' END,
                json_object('owner', c.owner)
         FROM credentials c LEFT JOIN owners o ON o.id = c.owner
         WHERE c.status = 'active' AND (c.owner = '' OR o.id IS NULL OR o.status = 'unknown')"
            .into(),
        vec![],
    )
}

pub fn stale_unused(t: &Thresholds, now: Timestamp) -> RuleQuery {
    q(
        format!(
            "SELECT id, owner,
                    CASE WHEN last_used_at IS NULL THEN 'never used; issued ' || {h} || ' ago' ELSE 'unused for ' || {h} END,
                    json_object('last_used_at', last_used_at, 'issued_at', issued_at, 'stale_after_days', stale_days)
             FROM (SELECT c.id, c.owner, c.last_used_at, c.issued_at, unixepoch(?) - unixepoch(coalesce(c.last_used_at, c.issued_at)) AS idle, ? AS stale_days
                   FROM credentials c
                   WHERE c.status = 'active' AND coalesce(c.last_used_at, c.issued_at) < ?)",
            h = human("idle")
        ),
        vec![SqlValue::Text(fmt_ts(&now)), SqlValue::Int(t.stale.num_days()), SqlValue::Text(fmt_ts(&(now - t.stale)))],
    )
}

pub fn long_lived(t: &Thresholds) -> RuleQuery {
    let life = "unixepoch(c.expires_at) - unixepoch(c.issued_at)";
    q(
        format!(
            "SELECT id, owner, 'lifetime ' || {h} || ' on ' || class || ' scopes (policy maximum ' || {m} || ')',
                    json_object('issued_at', issued_at, 'expires_at', expires_at, 'class', class, 'max_seconds', max_s)
             FROM (SELECT c.id, c.owner, c.issued_at, c.expires_at, {life} AS life, {class} AS class,
                          CASE {class} WHEN 'admin' THEN ? WHEN 'write' THEN ? ELSE ? END AS max_s
                   FROM credentials c
                   WHERE c.status = 'active' AND c.expires_at IS NOT NULL AND c.issued_at IS NOT NULL)
             WHERE life > max_s",
            h = human("life"),
            m = human("max_s"),
            class = SCOPE_CLASS,
        ),
        vec![SqlValue::Int(t.max_admin.num_seconds()), SqlValue::Int(t.max_write.num_seconds()), SqlValue::Int(t.max_read.num_seconds())],
    )
}

pub fn no_expiry() -> RuleQuery {
    q(
        "SELECT c.id, c.owner, c.kind || ' never expires' || coalesce('; issued ' || substr(c.issued_at, 1, 10), ''),
                json_object('kind', c.kind, 'issued_at', c.issued_at)
         FROM credentials c WHERE c.status = 'active' AND c.expires_at IS NULL"
            .into(),
        vec![],
    )
}

pub fn bearer_sensitive(t: &Thresholds) -> RuleQuery {
    let mut binds = Vec::new();
    let cond = sensitive(t, &mut binds);
    q(
        format!(
            "SELECT c.id, c.owner, 'bearer (unbound) token holding ' || c.scopes, json_object('scopes', c.scopes, 'binding', c.binding)
             FROM credentials c WHERE c.status = 'active' AND c.binding = 'bearer' AND {cond}"
        ),
        binds,
    )
}

pub fn shared_across_workloads(t: &Thresholds) -> RuleQuery {
    // Within the window before each credential's latest use: distinct workloads (people
    // excluded: that is human-use) and origins. The same workload from one origin is normal.
    q(
        format!(
            "SELECT c.id, c.owner,
                    'used by ' || s.workloads || ' workload' || iif(s.workloads = 1, '', 's') || ' from ' || s.origins || ' origin' || iif(s.origins = 1, '', 's')
                    || ' in ' || {h},
                    json_object('workloads', s.workloads, 'origins', s.origins, 'window_seconds', s.win, 'last_use', s.last)
             FROM (SELECT u.credential_id, count(DISTINCT u.workload) AS workloads, count(DISTINCT u.origin) AS origins, max(l.last) AS last, ? AS win
                   FROM usage_events u
                   JOIN (SELECT credential_id, max(at) AS last FROM usage_events GROUP BY credential_id) l ON l.credential_id = u.credential_id
                   WHERE u.at >= strftime('%Y-%m-%dT%H:%M:%SZ', l.last, '-' || ? || ' seconds') AND coalesce(u.workload, '') NOT LIKE '%@%'
                   GROUP BY u.credential_id
                   HAVING count(DISTINCT u.workload) > 1 OR count(DISTINCT u.origin) > 1) s
             JOIN credentials c ON c.id = s.credential_id
             WHERE c.status = 'active'",
            h = human("s.win")
        ),
        vec![SqlValue::Int(t.shared_window.num_seconds()), SqlValue::Int(t.shared_window.num_seconds())],
    )
}

pub fn used_after_task() -> RuleQuery {
    let after = "unixepoch(c.last_used_at) - unixepoch(c.task_ended_at)";
    q(
        format!(
            "SELECT c.id, c.owner, 'used ' || {h} || ' after its task ' || c.task_id || ' ended',
                    json_object('task_id', c.task_id, 'task_ended_at', c.task_ended_at, 'last_used_at', c.last_used_at)
             FROM credentials c
             WHERE c.status = 'active' AND c.task_ended_at IS NOT NULL AND c.last_used_at > c.task_ended_at",
            h = human(after)
        ),
        vec![],
    )
}

pub fn scope_beyond_consent() -> RuleQuery {
    // Only credentials with a consent record (without one, no-consent-trail fires):
    // each scope held must appear in some approval.
    q(
        "SELECT c.id, c.owner, 'holds ' || x.scopes || ' that no approval granted', json_object('unconsented', x.scopes)
         FROM (SELECT s.credential_id, group_concat(s.scope, ' ') AS scopes
               FROM credential_scopes s
               WHERE EXISTS (SELECT 1 FROM consent_events a WHERE a.credential_id = s.credential_id AND a.action = 'approve')
                 AND NOT EXISTS (SELECT 1 FROM consent_events a WHERE a.credential_id = s.credential_id AND a.action = 'approve'
                                 AND (' ' || a.scopes || ' ') LIKE '% ' || s.scope || ' %')
               GROUP BY s.credential_id) x
         JOIN credentials c ON c.id = x.credential_id
         WHERE c.status = 'active'"
            .into(),
        vec![],
    )
}

pub fn silent_renewal(t: &Thresholds) -> RuleQuery {
    q(
        "SELECT c.id, c.owner, 'renewed ' || r.n || ' times since the last consent', json_object('renewals', r.n, 'last_consent', r.consent)
         FROM (SELECT e.credential_id, count(*) AS n, max(k.at) AS consent
               FROM consent_events e
               LEFT JOIN (SELECT credential_id, max(at) AS at FROM consent_events WHERE action IN ('request', 'approve') GROUP BY credential_id) k
                 ON k.credential_id = e.credential_id
               WHERE e.action = 'renew' AND e.at > coalesce(k.at, '')
               GROUP BY e.credential_id HAVING count(*) >= ?) r
         JOIN credentials c ON c.id = r.credential_id
         WHERE c.status = 'active'"
            .into(),
        vec![SqlValue::Int(t.renewals as i64)],
    )
}

pub fn no_consent_trail() -> RuleQuery {
    q(
        format!(
            "SELECT c.id, c.owner, 'agent credential of ' || c.workload || ' with no request or approval on record', json_object('workload', c.workload)
             FROM credentials c
             WHERE c.status = 'active' AND {AGENT}
               AND NOT EXISTS (SELECT 1 FROM consent_events e WHERE e.credential_id = c.id AND e.action IN ('request', 'approve'))"
        ),
        vec![],
    )
}

pub fn human_use() -> RuleQuery {
    q(
        format!(
            "SELECT c.id, c.owner, 'used interactively by ' || h.who || ' from ' || coalesce(h.origin, 'unknown origin'),
                    json_object('person', h.who, 'origin', h.origin, 'at', h.at)
             FROM (SELECT credential_id, max(workload) AS who, max(origin) AS origin, max(at) AS at FROM usage_events
                   WHERE workload LIKE '%@%' GROUP BY credential_id) h
             JOIN credentials c ON c.id = h.credential_id
             WHERE c.status = 'active' AND {AGENT}"
        ),
        vec![],
    )
}

/// What one recompute found and changed, per rule.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct RuleRun {
    pub rule: String,
    pub open: i64,
    pub millis: i64,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct RecomputeReport {
    pub run: i64,
    pub open: i64,
    pub opened: i64,
    pub closed: i64,
    pub millis: i64,
    pub rules: Vec<RuleRun>,
}

/// One open finding, as `findings` lists it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct FindingRow {
    pub rule: String,
    pub severity: String,
    pub credential_id: String,
    pub owner: Option<String>,
    pub summary: String,
    pub frameworks: Vec<String>,
    pub first_seen: String,
    pub last_seen: String,
    #[serde(skip)]
    pub external_id: String,
    #[serde(skip)]
    pub issuer: String,
}

/// Open findings by rule and severity.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct FindingCount {
    pub rule: String,
    pub severity: String,
    pub open: i64,
}

/// A rule as the engine hands it to the store.
pub struct RuleSpec<'a> {
    pub rule: &'a str,
    pub severity: &'a str,
    pub frameworks: &'a str,
    pub query: RuleQuery,
}

impl Store {
    /// Runs every rule in one transaction: what fires is upserted open (first seen
    /// kept, or reset if it had closed), what no longer fires is closed.
    pub async fn recompute_findings(&self, rules: Vec<RuleSpec<'_>>, now: Timestamp) -> Result<RecomputeReport> {
        let started = std::time::Instant::now();
        let at = fmt_ts(&now);
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let run: i64 = sqlx::query_scalar("INSERT INTO findings_runs (started_at) VALUES (?) RETURNING id").bind(&at).fetch_one(&mut *tx).await?;
        let before: i64 = sqlx::query_scalar("SELECT count(*) FROM findings WHERE closed_at IS NULL").fetch_one(&mut *tx).await?;
        let mut per_rule = Vec::new();
        for spec in rules {
            let rule_started = std::time::Instant::now();
            let sql = format!(
                "INSERT INTO findings (rule, severity, credential_id, owner, summary, evidence, frameworks, first_seen, last_seen, seen_run)
                 SELECT ?, ?, f.id, nullif(f.owner, ''), f.summary, f.evidence, ?, ?, ?, ?
                 FROM (SELECT NULL AS id, NULL AS owner, NULL AS summary, NULL AS evidence WHERE 0 UNION ALL {}) f WHERE true
                 ON CONFLICT(rule, credential_id) DO UPDATE SET
                   severity = excluded.severity, owner = excluded.owner, summary = excluded.summary, evidence = excluded.evidence,
                   frameworks = excluded.frameworks, last_seen = excluded.last_seen, seen_run = excluded.seen_run,
                   first_seen = CASE WHEN findings.closed_at IS NULL THEN findings.first_seen ELSE excluded.first_seen END,
                   closed_at = NULL",
                spec.query.sql
            );
            let mut query = sqlx::query(AssertSqlSafe(sql)).bind(spec.rule).bind(spec.severity).bind(spec.frameworks).bind(&at).bind(&at).bind(run);
            for b in &spec.query.binds {
                query = match b {
                    SqlValue::Text(s) => query.bind(s.clone()),
                    SqlValue::Int(i) => query.bind(*i),
                };
            }
            query.execute(&mut *tx).await?;
            per_rule.push(RuleRun { rule: spec.rule.to_string(), open: 0, millis: rule_started.elapsed().as_millis() as i64 });
        }
        let counts: Vec<(String, i64)> =
            sqlx::query_as("SELECT rule, count(*) FROM findings WHERE seen_run = ? GROUP BY rule").bind(run).fetch_all(&mut *tx).await?;
        for r in &mut per_rule {
            r.open = counts.iter().find(|(rule, _)| *rule == r.rule).map(|(_, n)| *n).unwrap_or(0);
        }
        let closed = sqlx::query("UPDATE findings SET closed_at = ? WHERE closed_at IS NULL AND seen_run IS NOT ?")
            .bind(&at)
            .bind(run)
            .execute(&mut *tx)
            .await?
            .rows_affected() as i64;
        let open: i64 = per_rule.iter().map(|r| r.open).sum();
        let millis = started.elapsed().as_millis() as i64;
        // Every finding open before was either seen again (still open) or closed; the rest opened now.
        let opened = open - (before - closed);
        sqlx::query("UPDATE findings_runs SET finished_at = ?, open = ?, opened = ?, closed = ?, millis = ? WHERE id = ?")
            .bind(fmt_ts(&chrono::Utc::now()))
            .bind(open)
            .bind(opened)
            .bind(closed)
            .bind(millis)
            .bind(run)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(RecomputeReport { run, open, opened, closed, millis, rules: per_rule })
    }

    /// Open findings, optionally of one rule, most severe first; at most `limit`.
    pub async fn open_findings(&self, rule: Option<&str>, limit: i64) -> Result<Vec<FindingRow>> {
        let rows = sqlx::query(
            "SELECT f.rule, f.severity, f.credential_id, f.owner, f.summary, f.frameworks, f.first_seen, f.last_seen,
                    coalesce(c.external_id, '') AS external_id, coalesce(c.issuer, '') AS issuer
             FROM findings f LEFT JOIN credentials c ON c.id = f.credential_id
             WHERE f.closed_at IS NULL AND (?1 IS NULL OR f.rule = ?1)
             ORDER BY CASE f.severity WHEN 'critical' THEN 0 WHEN 'high' THEN 1 WHEN 'medium' THEN 2 ELSE 3 END, f.rule, f.credential_id
             LIMIT ?2",
        )
        .bind(rule)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|r| FindingRow {
                rule: r.get("rule"),
                severity: r.get("severity"),
                credential_id: r.get("credential_id"),
                owner: r.get("owner"),
                summary: r.get("summary"),
                frameworks: r.get::<String, _>("frameworks").split("; ").filter(|s| !s.is_empty()).map(str::to_string).collect(),
                first_seen: r.get("first_seen"),
                last_seen: r.get("last_seen"),
                external_id: r.get("external_id"),
                issuer: r.get("issuer"),
            })
            .collect())
    }

    /// Counts of open findings by rule and severity.
    pub async fn finding_counts(&self) -> Result<Vec<FindingCount>> {
        let rows = sqlx::query("SELECT rule, severity, count(*) AS n FROM findings WHERE closed_at IS NULL GROUP BY rule, severity")
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.into_iter().map(|r| FindingCount { rule: r.get("rule"), severity: r.get("severity"), open: r.get("n") }).collect())
    }

    /// When findings were last computed, if ever.
    pub async fn last_findings_run(&self) -> Result<Option<(String, i64)>> {
        Ok(sqlx::query_as("SELECT started_at, millis FROM findings_runs WHERE finished_at IS NOT NULL ORDER BY id DESC LIMIT 1")
            .fetch_optional(&self.pool)
            .await?)
    }
}
