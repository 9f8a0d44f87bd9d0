//! The findings rules that are best said in SQL, one small function each, and
//! the set-based recompute that runs them: the same rules as the SQLite
//! backend's, in PostgreSQL's words. Times are RFC 3339 text as there: spans are
//! taken on `::timestamptz`, order is the text's in the "C" collation; SQLite's
//! LIKE (ASCII case folded, no escape character) is `ILIKE ... ESCAPE ''`.
use sqlx::{AssertSqlSafe, Row};

use super::PgStore;
use crate::config::Thresholds;
use crate::domain::*;
use crate::store::error::{Result, StoreError};
use crate::store::rows::*;

/// A bound value of a rule's query.
#[derive(Debug, Clone, PartialEq)]
enum Bind {
    Text(String),
    Int(i64),
}

/// The values a statement binds, numbering its placeholders `$1`, `$2`... as they are asked for.
#[derive(Debug, Default)]
struct Binds(Vec<Bind>);

impl Binds {
    fn text(&mut self, v: impl Into<String>) -> String {
        self.0.push(Bind::Text(v.into()));
        format!("${}", self.0.len())
    }

    fn int(&mut self, v: i64) -> String {
        self.0.push(Bind::Int(v));
        format!("${}::bigint", self.0.len())
    }

    fn bind<'q>(&self, mut q: sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments>) -> sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments> {
        for v in &self.0 {
            q = match v {
                Bind::Text(s) => q.bind(s.clone()),
                Bind::Int(i) => q.bind(*i),
            };
        }
        q
    }
}

/// Whole seconds since the epoch of an RFC 3339 text expression (SQLite's `unixepoch`).
fn epoch(text: &str) -> String {
    format!("floor(date_part('epoch', ({text})::timestamptz))::bigint")
}

/// A human duration of an SQL expression in seconds: 45m, 36h, 143d (hours up to two days).
fn human(seconds: &str) -> String {
    format!(
        "(CASE WHEN ({s}) < 3600 THEN (({s}) / 60)::bigint || 'm' WHEN ({s}) < 172800 THEN (({s}) / 3600)::bigint || 'h' \
         ELSE (({s}) / 86400)::bigint || 'd' END)",
        s = seconds
    )
}

/// Whether `c.scopes` (space-separated) holds a sensitive scope: the built-in
/// classes of `policy::is_sensitive` and the configured extra prefixes/suffixes.
fn sensitive(t: &Thresholds, b: &mut Binds) -> String {
    let mut prefixes: Vec<String> = vec!["admin:".into(), "payments:".into(), "secrets:".into()];
    let mut suffixes: Vec<String> = vec![":write".into(), ":prod".into()];
    for s in &t.sensitive {
        if s.starts_with(':') { suffixes.push(s.clone()) } else { prefixes.push(s.clone()) }
    }
    let mut terms = Vec::new();
    for p in prefixes {
        terms.push(format!("(' ' || c.scopes) ILIKE '% ' || {} || '%' ESCAPE ''", b.text(p)));
    }
    for s in suffixes {
        terms.push(format!("(c.scopes || ' ') ILIKE '%' || {} || ' %' ESCAPE ''", b.text(s)));
    }
    format!("({})", terms.join(" OR "))
}

/// The scope class of `policy::scope_class`, in SQL: 'admin', 'write' or 'read'.
const SCOPE_CLASS: &str = "(CASE WHEN (' ' || c.scopes) ILIKE '% admin:%' OR (c.scopes || ' ') ILIKE '%:admin %' OR c.scopes ILIKE '%administration%' THEN 'admin' \
     WHEN (c.scopes || ' ') ILIKE '%:write %' OR (c.scopes || ' ') ILIKE '%:prod %' OR c.scopes ILIKE '%:write:%' THEN 'write' ELSE 'read' END)";

/// An agent credential: one a workload uses, not a person's own token.
const AGENT: &str = "c.workload != '' AND c.kind != 'personal_access_token'";

// The rules read three fact tables `prepare_facts` builds in one pass each at the
// start of a recompute (temporary): `fx_cred` (every ACTIVE credential, narrow,
// with its owner's status), `fx_usage` (per credential: last use and whether more
// than one workload/origin or a person appears) and `fx_consent` (per credential:
// last consent, approvals, the scopes approved, renewals). Each rule's SELECT
// yields (id, owner, summary, evidence), binding its values into `b`.

fn owner_offboarded() -> String {
    "SELECT c.id, c.owner, 'owner ' || c.owner || ' left' || coalesce(' on ' || substr(c.offboarded_at, 1, 10), '') || '; still active',
            json_build_object('owner', c.owner, 'offboarded_at', c.offboarded_at)
     FROM fx_cred c WHERE c.owner_status = 'offboarded'"
        .into()
}

fn owner_missing() -> String {
    "SELECT c.id, c.owner,
            CASE WHEN c.owner = '' THEN 'no owner on record' ELSE 'owner ' || c.owner || ' is unknown to the directory' END,
            json_build_object('owner', c.owner)
     FROM fx_cred c WHERE c.owner = '' OR c.owner_status IS NULL OR c.owner_status = 'unknown'"
        .into()
}

fn stale_unused(t: &Thresholds, now: Timestamp, b: &mut Binds) -> String {
    let (now_epoch, days, since) = (epoch(&b.text(fmt_ts(&now))), b.int(t.stale.num_days()), b.text(fmt_ts(&(now - t.stale))));
    format!(
        r#"SELECT id, owner,
                CASE WHEN last_used_at IS NULL THEN 'never used; issued ' || {h} || ' ago' ELSE 'unused for ' || {h} END,
                json_build_object('last_used_at', last_used_at, 'issued_at', issued_at, 'stale_after_days', stale_days)
         FROM (SELECT c.id, c.owner, c.last_used_at, c.issued_at, {now_epoch} - {used} AS idle, {days} AS stale_days
               FROM fx_cred c WHERE coalesce(c.last_used_at, c.issued_at) COLLATE "C" < {since}) x"#,
        h = human("idle"),
        used = epoch("coalesce(c.last_used_at, c.issued_at)"),
    )
}

/// A credential's lifetime above its scope class's maximum; one that never expires
/// is measured by its age so far (a cloud access key older than its class allows).
fn long_lived(t: &Thresholds, now: Timestamp, b: &mut Binds) -> String {
    // OFFSET 0 keeps the class computed once a row: flattened, the planner would repeat its ILIKEs.
    let now = b.text(fmt_ts(&now));
    let (admin, write, read) = (b.int(t.max_admin.num_seconds()), b.int(t.max_write.num_seconds()), b.int(t.max_read.num_seconds()));
    format!(
        "SELECT id, owner, CASE WHEN expires_at IS NULL THEN 'never expires; age ' ELSE 'lifetime ' END || {h} || ' on ' || class || ' scopes (policy maximum ' || {m} || ')',
                json_build_object('issued_at', issued_at, 'expires_at', expires_at, 'class', class, 'max_seconds', max_s)
         FROM (SELECT y.*, CASE class WHEN 'admin' THEN {admin} WHEN 'write' THEN {write} ELSE {read} END AS max_s
               FROM (SELECT c.id, c.owner, c.issued_at, c.expires_at, {expires} - {issued} AS life, {class} AS class
                     FROM fx_cred c WHERE c.issued_at IS NOT NULL OFFSET 0) y) x
         WHERE life > max_s",
        h = human("life"),
        m = human("max_s"),
        class = SCOPE_CLASS,
        expires = epoch(&format!("coalesce(c.expires_at, {now})")),
        issued = epoch("c.issued_at"),
    )
}

fn no_expiry() -> String {
    "SELECT c.id, c.owner, c.kind || ' never expires' || coalesce('; issued ' || substr(c.issued_at, 1, 10), ''),
            json_build_object('kind', c.kind, 'issued_at', c.issued_at)
     FROM fx_cred c WHERE c.expires_at IS NULL"
        .into()
}

fn bearer_sensitive(t: &Thresholds, b: &mut Binds) -> String {
    let cond = sensitive(t, b);
    format!(
        "SELECT c.id, c.owner, 'bearer (unbound) token holding ' || c.scopes, json_build_object('scopes', c.scopes, 'binding', c.binding)
         FROM fx_cred c WHERE c.binding = 'bearer' AND {cond}"
    )
}

fn shared_across_workloads(t: &Thresholds, b: &mut Binds) -> String {
    // Candidates saw more than one workload or origin at all; for them, count the distinct
    // workloads (people excluded: that is human-use) and origins within the window before the latest use.
    let (win, window) = (b.int(t.shared_window.num_seconds()), b.int(t.shared_window.num_seconds()));
    format!(
        "SELECT c.id, c.owner,
                'used by ' || s.workloads || ' workload' || CASE WHEN s.workloads = 1 THEN '' ELSE 's' END
                || ' from ' || s.origins || ' origin' || CASE WHEN s.origins = 1 THEN '' ELSE 's' END || ' in ' || {h},
                json_build_object('workloads', s.workloads, 'origins', s.origins, 'window_seconds', s.win, 'last_use', s.last)
         FROM (SELECT u.credential_id, count(DISTINCT u.workload) AS workloads, count(DISTINCT u.origin) AS origins, max(x.last) AS last, {win} AS win
               FROM fx_usage x JOIN usage_events u ON u.credential_id = x.credential_id
               WHERE x.mixed AND u.at::timestamptz >= x.last::timestamptz - make_interval(secs => {window})
                 AND coalesce(u.workload, '') NOT LIKE '%@%'
               GROUP BY u.credential_id
               HAVING count(DISTINCT u.workload) > 1 OR count(DISTINCT u.origin) > 1) s
         JOIN fx_cred c ON c.id = s.credential_id",
        h = human("s.win")
    )
}

fn used_after_task() -> String {
    format!(
        r#"SELECT c.id, c.owner, 'used ' || {h} || ' after its task ' || c.task_id || ' ended',
                json_build_object('task_id', c.task_id, 'task_ended_at', c.task_ended_at, 'last_used_at', c.last_used_at)
         FROM fx_cred c WHERE c.task_ended_at IS NOT NULL AND c.last_used_at COLLATE "C" > c.task_ended_at"#,
        h = human(&format!("{} - {}", epoch("c.last_used_at"), epoch("c.task_ended_at")))
    )
}

fn scope_beyond_consent() -> String {
    // Only credentials with an approval on record (without one, no-consent-trail
    // fires): each scope held must appear in some approval. Listed in byte order, as on SQLite.
    r#"SELECT c.id, c.owner, 'holds ' || x.scopes || ' that no approval granted', json_build_object('unconsented', x.scopes)
     FROM (SELECT s.credential_id, string_agg(s.scope, ' ' ORDER BY s.scope COLLATE "C") AS scopes
           FROM fx_consent k JOIN credential_scopes s ON s.credential_id = k.credential_id
           WHERE k.approvals > 0 AND (' ' || k.granted || ' ') NOT ILIKE '% ' || s.scope || ' %' ESCAPE ''
           GROUP BY s.credential_id) x
     JOIN fx_cred c ON c.id = x.credential_id"#
        .into()
}

fn silent_renewal(t: &Thresholds, b: &mut Binds) -> String {
    let (at_least, count) = (b.int(t.renewals as i64), b.int(t.renewals as i64));
    format!(
        r#"SELECT c.id, c.owner, 'renewed ' || r.n || ' times since the last consent', json_build_object('renewals', r.n, 'last_consent', r.consent)
         FROM (SELECT k.credential_id, count(*) AS n, max(k.consent_at) AS consent
               FROM fx_consent k JOIN consent_events e ON e.credential_id = k.credential_id
               WHERE k.renewals >= {at_least} AND e.action = 'renew' AND e.at COLLATE "C" > coalesce(k.consent_at, '')
               GROUP BY k.credential_id HAVING count(*) >= {count}) r
         JOIN fx_cred c ON c.id = r.credential_id"#
    )
}

fn no_consent_trail() -> String {
    format!(
        "SELECT c.id, c.owner, 'agent credential of ' || c.workload || ' with no request or approval on record', json_build_object('workload', c.workload)
         FROM fx_cred c LEFT JOIN fx_consent k ON k.credential_id = c.id
         WHERE {AGENT} AND k.consent_at IS NULL"
    )
}

fn human_use() -> String {
    format!(
        "SELECT c.id, c.owner, 'used interactively by ' || x.person || ' from ' || coalesce(x.person_origin, 'unknown origin'),
                json_build_object('person', x.person, 'origin', x.person_origin)
         FROM fx_usage x JOIN fx_cred c ON c.id = x.credential_id
         WHERE x.person IS NOT NULL AND {AGENT}"
    )
}

/// Credentials found in an agent configuration (`tokenward scan`) by fingerprint,
/// active ones (`live`) or those no longer active: few rows, driven from deployments.
fn deployed(live: bool) -> String {
    let (status, summary) = if live {
        ("c.status = 'active'", "'in plain text in ' || count(DISTINCT d.path) || ' file(s), e.g. ' || min(d.path COLLATE \"C\") || ' (' || min(d.location COLLATE \"C\") || ')'")
    } else {
        ("c.status != 'active'", "c.status || ' at its issuer, still in ' || count(DISTINCT d.path) || ' file(s), e.g. ' || min(d.path COLLATE \"C\") || ' (' || min(d.location COLLATE \"C\") || ')'")
    };
    format!(
        "SELECT c.id, c.owner, {summary}, json_build_object('files', count(DISTINCT d.path), 'hosts', count(DISTINCT d.host), 'status', c.status)
         FROM (SELECT d.path, d.host, d.location, c.id AS credential_id FROM deployments d JOIN credentials c ON c.fingerprint = d.fingerprint
               UNION SELECT d.path, d.host, d.location, c.id FROM deployments d JOIN credentials c ON c.kind = 'api_key' AND c.external_id = d.key_id) d
           JOIN credentials c ON c.id = d.credential_id
             WHERE {status} GROUP BY c.id, c.owner, c.status"
    )
}

/// Secrets in agent configurations no issuer knows: a finding on the fingerprint
/// itself (there is no credential to hang it on).
fn unknown_deployed() -> String {
    r#"SELECT d.fingerprint, '', 'a secret no issuer knows, in plain text in ' || count(DISTINCT d.path) || ' file(s), e.g. ' || min(d.host COLLATE "C") || ':' || min(d.path COLLATE "C") || ' (' || min(d.location COLLATE "C") || ')',
            json_build_object('files', count(DISTINCT d.path), 'hosts', count(DISTINCT d.host))
     FROM deployments d WHERE NOT EXISTS (SELECT 1 FROM credentials c WHERE c.fingerprint = d.fingerprint)
           AND NOT EXISTS (SELECT 1 FROM credentials c WHERE d.key_id IS NOT NULL AND c.kind = 'api_key' AND c.external_id = d.key_id)
         GROUP BY d.fingerprint"#
        .into()
}

/// The query of one rule with the configured thresholds, its values bound into `b`.
fn rule_query(rule: &str, t: &Thresholds, now: Timestamp, b: &mut Binds) -> Option<String> {
    Some(match rule {
        "owner-offboarded" => owner_offboarded(),
        "owner-missing" => owner_missing(),
        "stale-unused" => stale_unused(t, now, b),
        "long-lived" => long_lived(t, now, b),
        "no-expiry" => no_expiry(),
        "bearer-sensitive" => bearer_sensitive(t, b),
        "shared-across-workloads" => shared_across_workloads(t, b),
        "used-after-task" => used_after_task(),
        "scope-beyond-consent" => scope_beyond_consent(),
        "silent-renewal" => silent_renewal(t, b),
        "no-consent-trail" => no_consent_trail(),
        "human-use" => human_use(),
        "plaintext-in-config" => deployed(true),
        "revoked-still-deployed" => deployed(false),
        "unknown-in-config" => unknown_deployed(),
        _ => return None,
    })
}

const FACT_TABLES: [&str; 4] = ["fx_found", "fx_cred", "fx_usage", "fx_consent"];

/// Builds the fact tables the rules read, one pass over each source table.
async fn prepare_facts(tx: &mut sqlx::PgConnection) -> Result<()> {
    drop_fact_tables(tx).await?;
    for sql in [
        "CREATE TEMP TABLE fx_cred (id TEXT PRIMARY KEY, owner TEXT NOT NULL, owner_status TEXT, offboarded_at TEXT, kind TEXT, workload TEXT,
            scopes TEXT, binding TEXT, issued_at TEXT, expires_at TEXT, last_used_at TEXT, task_id TEXT, task_ended_at TEXT)",
        "INSERT INTO fx_cred SELECT c.id, c.owner, o.status, o.offboarded_at, c.kind, c.workload, c.scopes, c.binding, c.issued_at, c.expires_at,
            c.last_used_at, c.task_id, c.task_ended_at
         FROM credentials c LEFT JOIN owners o ON o.id = c.owner WHERE c.status = 'active'",
        "CREATE TEMP TABLE fx_usage (credential_id TEXT PRIMARY KEY, last TEXT, mixed BOOLEAN, person TEXT, person_origin TEXT)",
        // The person (and origin) named is the greatest in byte order, as SQLite's max picks it.
        r#"INSERT INTO fx_usage
         SELECT credential_id, max(at COLLATE "C"), min(coalesce(workload, '')) != max(coalesce(workload, '')) OR min(coalesce(origin, '')) != max(coalesce(origin, '')),
                max(CASE WHEN workload LIKE '%@%' THEN workload END COLLATE "C"), max(CASE WHEN workload LIKE '%@%' THEN origin END COLLATE "C")
         FROM usage_events GROUP BY credential_id
         HAVING min(coalesce(workload, '')) != max(coalesce(workload, '')) OR min(coalesce(origin, '')) != max(coalesce(origin, ''))
             OR max(CASE WHEN workload LIKE '%@%' THEN 1 END) IS NOT NULL"#,
        "CREATE TEMP TABLE fx_consent (credential_id TEXT PRIMARY KEY, consent_at TEXT, approvals BIGINT, granted TEXT, renewals BIGINT)",
        r#"INSERT INTO fx_consent
         SELECT credential_id, max(CASE WHEN action IN ('request', 'approve') THEN at END COLLATE "C"), count(*) FILTER (WHERE action = 'approve'),
                coalesce(string_agg(CASE WHEN action = 'approve' THEN scopes END, ' '), ''), count(*) FILTER (WHERE action = 'renew')
         FROM consent_events WHERE credential_id IS NOT NULL GROUP BY credential_id"#,
        // Temporary tables are never analysed on their own: the planner needs their sizes
        // (and the join keys' statistics; all columns would cost 200 ms at 50k credentials, these 40).
        "ANALYZE fx_cred (id)",
        "ANALYZE fx_usage (credential_id)",
        "ANALYZE fx_consent (credential_id)",
    ] {
        sqlx::query(sql).execute(&mut *tx).await?;
    }
    Ok(())
}

async fn drop_fact_tables(conn: &mut sqlx::PgConnection) -> Result<()> {
    for t in FACT_TABLES {
        sqlx::query(AssertSqlSafe(format!("DROP TABLE IF EXISTS pg_temp.{t}"))).execute(&mut *conn).await?;
    }
    Ok(())
}

impl PgStore {
    /// Runs every rule: first a read phase on one connection that only writes its
    /// temporary tables (the fact tables, then what each rule fires on), so syncs and
    /// revocations are not held up while it runs; then one short write transaction
    /// that opens what is new (or back), rewrites findings whose evidence changed,
    /// leaves unchanged ones alone and closes those no rule saw.
    pub async fn recompute_findings(&self, rules: Vec<RuleSpec<'_>>, thresholds: &Thresholds, now: Timestamp) -> Result<RecomputeReport> {
        use sqlx::{Acquire, Connection};
        let started = std::time::Instant::now();
        let at = fmt_ts(&now);
        let mut conn = self.pool.acquire().await?;
        // One snapshot for every fact table and rule, as SQLite's read transaction sees.
        let mut read = conn.begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ").await?;
        let facts_started = std::time::Instant::now();
        prepare_facts(&mut read).await?;
        let facts_millis = facts_started.elapsed().as_millis() as i64;
        sqlx::query(
            "CREATE TEMP TABLE fx_found (rule TEXT NOT NULL, credential_id TEXT NOT NULL, severity TEXT, owner TEXT, summary TEXT, evidence TEXT,
               frameworks TEXT, PRIMARY KEY (rule, credential_id))",
        )
        .execute(&mut *read)
        .await?;
        let mut per_rule = Vec::new();
        for spec in rules {
            let mut b = Binds::default();
            let rule = rule_query(spec.rule, thresholds, now, &mut b).ok_or_else(|| StoreError::UnknownRule(spec.rule.to_string()))?;
            let rule_started = std::time::Instant::now();
            let sql = format!(
                "INSERT INTO fx_found (rule, credential_id, severity, owner, summary, evidence, frameworks)
                 SELECT {}, f.id, {}, nullif(f.owner, ''), f.summary, f.evidence::text, {}
                 FROM ({rule}) AS f(id, owner, summary, evidence)
                 ON CONFLICT DO NOTHING",
                b.text(spec.rule),
                b.text(spec.severity.as_str()),
                b.text(spec.frameworks),
            );
            let open = b.bind(sqlx::query(AssertSqlSafe(sql))).execute(&mut *read).await?.rows_affected() as i64;
            per_rule.push(RuleRun { rule: spec.rule.to_string(), open, millis: rule_started.elapsed().as_millis() as i64 });
        }
        read.commit().await?;
        let write_started = std::time::Instant::now();
        let mut tx = conn.begin().await?;
        // One recompute writes at a time, as SQLite's single writer has it.
        sqlx::query("SELECT pg_advisory_xact_lock(hashtext('tokenward.findings'))").execute(&mut *tx).await?;
        let previous: Option<String> =
            sqlx::query_scalar("SELECT started_at FROM findings_runs WHERE finished_at IS NOT NULL ORDER BY id DESC LIMIT 1").fetch_optional(&mut *tx).await?;
        let run: i64 = sqlx::query_scalar("INSERT INTO findings_runs (started_at) VALUES ($1) RETURNING id").bind(&at).fetch_one(&mut *tx).await?;
        // New, or back after closing: (re)opened with this run as first seen.
        let opened = sqlx::query(
            "INSERT INTO findings (rule, severity, credential_id, owner, summary, evidence, frameworks, first_seen, last_seen)
             SELECT t.rule, t.severity, t.credential_id, t.owner, t.summary, t.evidence, t.frameworks, $1, $1
             FROM fx_found t LEFT JOIN findings f ON f.rule = t.rule AND f.credential_id = t.credential_id
             WHERE (f.id IS NULL OR f.closed_at IS NOT NULL)
               -- revoked while the rules ran: its findings were closed then, and stay closed
               -- (but for the rules about dead credentials and secrets no issuer knows)
               AND (t.rule IN ('revoked-still-deployed', 'unknown-in-config') OR EXISTS (SELECT 1 FROM credentials c WHERE c.id = t.credential_id AND c.status = 'active'))
             ON CONFLICT (rule, credential_id) DO UPDATE SET severity = excluded.severity, owner = excluded.owner, summary = excluded.summary,
               evidence = excluded.evidence, frameworks = excluded.frameworks, first_seen = excluded.first_seen, last_seen = excluded.last_seen,
               closed_at = NULL",
        )
        .bind(&at)
        .execute(&mut *tx)
        .await?
        .rows_affected() as i64;
        // Still open with new evidence (e.g. "unused for 121d" a day later): only those rows are written.
        sqlx::query(
            "UPDATE findings SET severity = t.severity, owner = t.owner, summary = t.summary, evidence = t.evidence, frameworks = t.frameworks
             FROM fx_found t
             WHERE findings.rule = t.rule AND findings.credential_id = t.credential_id AND findings.closed_at IS NULL
               AND (findings.summary IS DISTINCT FROM t.summary OR findings.severity IS DISTINCT FROM t.severity
                    OR findings.owner IS DISTINCT FROM t.owner OR findings.frameworks IS DISTINCT FROM t.frameworks)",
        )
        .execute(&mut *tx)
        .await?;
        // Open findings no rule saw this time close; they were last seen by the previous run.
        let closed = sqlx::query(
            "UPDATE findings SET closed_at = $1, last_seen = coalesce($2, last_seen)
             WHERE closed_at IS NULL AND NOT EXISTS (SELECT 1 FROM fx_found t WHERE t.rule = findings.rule AND t.credential_id = findings.credential_id)",
        )
        .bind(&at)
        .bind(&previous)
        .execute(&mut *tx)
        .await?
        .rows_affected() as i64;
        drop_fact_tables(&mut tx).await?;
        let open: i64 = per_rule.iter().map(|r| r.open).sum();
        let millis = started.elapsed().as_millis() as i64;
        sqlx::query("UPDATE findings_runs SET finished_at = $1, open = $2, opened = $3, closed = $4, millis = $5 WHERE id = $6")
            .bind(fmt_ts(&chrono::Utc::now()))
            .bind(open)
            .bind(opened)
            .bind(closed)
            .bind(millis)
            .bind(run)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        let write_millis = write_started.elapsed().as_millis() as i64;
        Ok(RecomputeReport { run, open, opened, closed, millis, facts_millis, write_millis, rules: per_rule })
    }

    /// Open findings, optionally of one rule, most severe first; at most `limit`.
    pub async fn open_findings(&self, rule: Option<&str>, limit: i64) -> Result<Vec<FindingRow>> {
        // The page is chosen before the join (one credential per finding at most), so only its rows are joined.
        let rows = sqlx::query(
            r#"SELECT f.rule, f.severity, f.credential_id, f.owner, f.summary, f.frameworks, f.first_seen,
                    coalesce((SELECT started_at FROM findings_runs WHERE finished_at IS NOT NULL ORDER BY id DESC LIMIT 1), f.last_seen) AS last_seen,
                    coalesce(c.external_id, '') AS external_id, coalesce(c.issuer, '') AS issuer
             FROM (SELECT *, CASE severity WHEN 'critical' THEN 0 WHEN 'high' THEN 1 WHEN 'medium' THEN 2 ELSE 3 END AS rank
                   FROM findings WHERE closed_at IS NULL AND ($1::text IS NULL OR rule = $1)
                   ORDER BY rank, rule COLLATE "C", credential_id COLLATE "C" LIMIT $2) f
             LEFT JOIN credentials c ON c.id = f.credential_id
             ORDER BY f.rank, f.rule COLLATE "C", f.credential_id COLLATE "C""#,
        )
        .bind(rule)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|r| FindingRow {
                rule: r.get("rule"),
                severity: severity(&r.get::<String, _>("severity")),
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

    /// Counts of open findings by rule and severity (in that order, as SQLite's grouping yields them).
    pub async fn finding_counts(&self) -> Result<Vec<FindingCount>> {
        let rows = sqlx::query(
            r#"SELECT rule, severity, count(*) AS n FROM findings WHERE closed_at IS NULL GROUP BY rule, severity ORDER BY rule COLLATE "C", severity COLLATE "C""#,
        )
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().map(|r| FindingCount { rule: r.get("rule"), severity: severity(&r.get::<String, _>("severity")), open: r.get("n") }).collect())
    }

    /// When findings were last computed, if ever.
    pub async fn last_findings_run(&self) -> Result<Option<(String, i64)>> {
        Ok(sqlx::query_as("SELECT started_at, millis FROM findings_runs WHERE finished_at IS NOT NULL ORDER BY id DESC LIMIT 1")
            .fetch_optional(&self.pool)
            .await?)
    }

    pub async fn findings_opened_since(&self, since: &str, limit: i64) -> Result<Vec<(String, i64)>> {
        Ok(sqlx::query_as(
            r#"SELECT rule::text, count(*) AS n FROM findings WHERE closed_at IS NULL AND first_seen COLLATE "C" >= $1
               GROUP BY rule ORDER BY n DESC, rule COLLATE "C" LIMIT $2"#,
        )
        .bind(since)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?)
    }

    pub async fn high_findings_by_holder(&self) -> Result<Vec<(String, String, i64)>> {
        Ok(sqlx::query_as(
            "SELECT c.owner::text, c.workload::text, count(*) AS n FROM findings f JOIN credentials c ON c.id = f.credential_id
             WHERE f.closed_at IS NULL AND f.severity = 'high' AND c.status = 'active'
             GROUP BY c.owner, c.workload",
        )
        .fetch_all(&self.pool)
        .await?)
    }
}

/// A stored severity; one the engine does not know ranks last, as low.
fn severity(s: &str) -> Severity {
    Severity::parse(s).unwrap_or(Severity::Low)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_rule_of_the_engine_has_a_query() {
        let t = Thresholds::default();
        for r in crate::findings::RULES {
            assert!(rule_query(r.id, &t, chrono::Utc::now(), &mut Binds::default()).is_some_and(|q| q.contains("SELECT")), "{}", r.id);
        }
    }

    #[test]
    fn placeholders_are_numbered_in_the_order_values_are_bound() {
        let mut b = Binds::default();
        let now = chrono::Utc::now();
        let sql = long_lived(&Thresholds::default(), now, &mut b);
        assert!(sql.contains("coalesce(c.expires_at, $1)") && sql.contains("$2::bigint") && sql.contains("$4::bigint") && !sql.contains("$5"), "{sql}");
        let t = Thresholds::default();
        assert_eq!(
            b.0,
            vec![Bind::Text(fmt_ts(&now)), Bind::Int(t.max_admin.num_seconds()), Bind::Int(t.max_write.num_seconds()), Bind::Int(t.max_read.num_seconds())]
        );
    }
}
