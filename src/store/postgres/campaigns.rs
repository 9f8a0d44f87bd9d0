//! Review campaigns' writes on PostgreSQL: a campaign's snapshot of the
//! credentials in scope, and decisions recorded once (a live claim of another
//! console on the item is respected), each with its audit entry.
use sqlx::AssertSqlSafe;

use super::audit::append_audit;
use super::claims::{check_guard, clear_claim, refuse_live_claim};
use super::filter::{to_sql, Binds};
use super::PgStore;
use crate::domain::*;
use crate::filter::Query;
use crate::store::error::{Result, StoreError};
use crate::store::rows::*;

impl PgStore {
    pub async fn start_campaign(&self, name: &str, filter_text: Option<&str>, query: &Query, now: Timestamp, entry: &AuditDraft) -> Result<(Campaign, AuditEntry)> {
        let mut tx = super::audit::begin_audited(&self.pool).await?;
        // Campaign names are unique: a second console starting the same one waits, then is told.
        // An advisory lock on the name, not a table lock: LOCK TABLE needs UPDATE on the table, which no role has.
        sqlx::query("SELECT pg_advisory_xact_lock(hashtext('tokenward review ' || $1::text))").bind(name).execute(&mut *tx).await?;
        let exists: Option<i64> = sqlx::query_scalar("SELECT id FROM review_campaigns WHERE name = $1").bind(name).fetch_optional(&mut *tx).await?;
        if exists.is_some() {
            return Err(StoreError::Conflict(format!("a campaign named '{name}' exists already")));
        }
        let at = fmt_ts(&entry.at);
        let id: i64 = sqlx::query_scalar("INSERT INTO review_campaigns (name, filter, created_by, created_at) VALUES ($1, $2, $3, $4) RETURNING id")
            .bind(name)
            .bind(filter_text)
            .bind(&entry.actor)
            .bind(&at)
            .fetch_one(&mut *tx)
            .await?;
        let mut binds = Binds::default();
        let campaign = binds.int(id);
        let filter = to_sql(query, now, &mut binds);
        let sql = format!(
            "INSERT INTO review_items (campaign_id, credential_id, snapshot)
             SELECT {campaign}, c.id, json_build_object('id', c.id, 'issuer', c.issuer, 'external_id', c.external_id, 'kind', c.kind,
                 'owner', c.owner, 'owner_status', coalesce((SELECT status FROM owners WHERE id = c.owner), CASE WHEN c.owner = '' THEN 'none' ELSE 'unknown' END),
                 'workload', c.workload, 'scopes', c.scopes, 'audience', c.audience, 'binding', c.binding, 'issued_at', c.issued_at,
                 'expires_at', c.expires_at, 'last_used_at', c.last_used_at, 'status', c.status, 'task_id', c.task_id,
                 'findings', (SELECT string_agg(f.rule || ': ' || f.summary, E'\\n' ORDER BY f.rule) FROM findings f WHERE f.credential_id = c.id AND f.closed_at IS NULL),
                 'consent', (SELECT string_agg(e.at || ' ' || e.action || ' by ' || e.actor || CASE WHEN e.scopes <> '' THEN ' [' || e.scopes || ']' ELSE '' END, E'\\n' ORDER BY e.at, e.id)
                             FROM consent_events e WHERE e.credential_id = c.id))::text
             FROM credentials c WHERE {filter} ORDER BY c.owner COLLATE \"C\", c.id COLLATE \"C\""
        );
        let items = binds.bind_to(sqlx::query(AssertSqlSafe(sql))).execute(&mut *tx).await?.rows_affected() as i64;
        let mut entry = entry.clone();
        entry.detail["items"] = items.into();
        let appended = append_audit(&mut tx, &self.anchor, &entry).await?;
        tx.commit().await?;
        let campaign = Campaign { id, name: name.into(), filter: filter_text.map(str::to_string), created_by: entry.actor.clone(), created_at: at, items, decided: 0 };
        Ok((campaign, appended.witness(&self.anchor)))
    }

    /// Records a decision and its audit entry together. An item is decided once.
    pub async fn record_review_decision(&self, item: i64, rec: &ReviewRecord<'_>, entry: &AuditDraft) -> Result<AuditEntry> {
        let mut tx = super::audit::begin_audited(&self.pool).await?;
        let target = format!("review-item:{item}");
        refuse_live_claim(&mut tx, &target, rec.claim, rec.at).await?;
        clear_claim(&mut tx, &target).await?;
        let done = sqlx::query(
            "UPDATE review_items SET decision = $1, decided_by = $2, decided_at = $3, reason = $4, detail = $5, issuer_answer = $6
             WHERE id = $7 AND decision IS NULL",
        )
        .bind(rec.decision.as_str())
        .bind(rec.decider)
        .bind(fmt_ts(&rec.at))
        .bind(rec.reason)
        .bind(rec.detail.to_string())
        .bind(&rec.issuer_answer)
        .bind(item)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if done == 0 {
            // Another console decided it first: say who, as a claim's refusal would.
            check_guard(&mut tx, &ClaimGuard::ReviewUndecided(item)).await?;
            return Err(StoreError::Conflict(format!("review item {item} is already decided")));
        }
        let appended = append_audit(&mut tx, &self.anchor, entry).await?;
        tx.commit().await?;
        Ok(appended.witness(&self.anchor))
    }

    /// The demo builds its own SQLite file; a shared inventory is never one.
    pub async fn mark_demo(&self) -> Result<()> {
        Err(StoreError::Conflict("the demo builds its own SQLite file and never marks a shared PostgreSQL inventory".into()))
    }
}
