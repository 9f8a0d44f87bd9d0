//! Access review campaigns: a snapshot of the credentials in scope, one item
//! each, and the decisions taken on them with the issuer's answers.
use sqlx::{AssertSqlSafe, Row};

use super::audit::append_audit;
use super::filter::to_sql;
use super::SqliteStore;
use crate::filter::Query;
use crate::domain::*;
use crate::store::error::{Result, StoreError};
use crate::store::rows::*;

fn item_from(r: &sqlx::sqlite::SqliteRow) -> ReviewItem {
    let json = |s: Option<String>| s.and_then(|s| serde_json::from_str(&s).ok());
    ReviewItem {
        id: r.get("id"),
        campaign_id: r.get("campaign_id"),
        credential_id: r.get("credential_id"),
        snapshot: r.get::<Option<String>, _>("snapshot").and_then(|s| serde_json::from_str(&s).ok()).unwrap_or_default(),
        decision: r.get::<Option<String>, _>("decision").as_deref().and_then(ReviewDecisionKind::parse),
        decided_by: r.get("decided_by"),
        decided_at: r.get("decided_at"),
        reason: r.get("reason"),
        detail: json(r.get("detail")),
        issuer_answer: r.get("issuer_answer"),
    }
}

const ITEM_COLUMNS: &str = "id, campaign_id, credential_id, snapshot, decision, decided_by, decided_at, reason, detail, issuer_answer";

impl SqliteStore {
    /// Starts a campaign: every credential the filter matches now becomes an item,
    /// with a snapshot of what a reviewer needs (owner status, findings included).
    pub async fn start_campaign(&self, name: &str, filter_text: Option<&str>, query: &Query, now: Timestamp, entry: &AuditDraft) -> Result<(Campaign, AuditEntry)> {
        let filter = &to_sql(query, now);
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let exists: Option<i64> = sqlx::query_scalar("SELECT id FROM review_campaigns WHERE name = ?").bind(name).fetch_optional(&mut *tx).await?;
        if exists.is_some() {
            return Err(StoreError::Conflict(format!("a campaign named '{name}' exists already")));
        }
        let at = fmt_ts(&entry.at);
        let id: i64 = sqlx::query_scalar("INSERT INTO review_campaigns (name, filter, created_by, created_at) VALUES (?, ?, ?, ?) RETURNING id")
            .bind(name)
            .bind(filter_text)
            .bind(&entry.actor)
            .bind(&at)
            .fetch_one(&mut *tx)
            .await?;
        let sql = format!(
            "INSERT INTO review_items (campaign_id, credential_id, snapshot)
             SELECT ?, c.id, json_object('id', c.id, 'issuer', c.issuer, 'external_id', c.external_id, 'kind', c.kind,
                 'owner', c.owner, 'owner_status', coalesce((SELECT status FROM owners WHERE id = c.owner), CASE WHEN c.owner = '' THEN 'none' ELSE 'unknown' END),
                 'workload', c.workload, 'scopes', c.scopes, 'audience', c.audience, 'binding', c.binding, 'issued_at', c.issued_at,
                 'expires_at', c.expires_at, 'last_used_at', c.last_used_at, 'status', c.status, 'task_id', c.task_id,
                 'findings', (SELECT group_concat(f.rule || ': ' || f.summary, char(10)) FROM findings f WHERE f.credential_id = c.id AND f.closed_at IS NULL),
                 'consent', (SELECT group_concat(e.at || ' ' || e.action || ' by ' || e.actor || CASE WHEN e.scopes != '' THEN ' [' || e.scopes || ']' ELSE '' END, char(10))
                             FROM consent_events e WHERE e.credential_id = c.id))
             FROM credentials c WHERE {} ORDER BY c.owner, c.id",
            filter.sql
        );
        let items = super::bind_filter(sqlx::query(AssertSqlSafe(sql)).bind(id), filter).execute(&mut *tx).await?.rows_affected() as i64;
        let mut entry = entry.clone();
        entry.detail["items"] = items.into();
        let written = append_audit(&mut tx, &entry).await?;
        tx.commit().await?;
        let campaign = Campaign { id, name: name.into(), filter: filter_text.map(str::to_string), created_by: entry.actor.clone(), created_at: at, items, decided: 0 };
        Ok((campaign, written))
    }

    pub async fn campaigns(&self) -> Result<Vec<Campaign>> {
        self.campaigns_named(None).await
    }

    pub async fn campaign(&self, name: &str) -> Result<Campaign> {
        self.campaigns_named(Some(name)).await?.pop().ok_or_else(|| StoreError::NotFound(format!("campaign {name}")))
    }

    /// Campaigns with their progress, newest first; one by name when given.
    async fn campaigns_named(&self, name: Option<&str>) -> Result<Vec<Campaign>> {
        let rows = sqlx::query(
            "SELECT r.id, r.name, r.filter, r.created_by, r.created_at,
                    (SELECT count(*) FROM review_items i WHERE i.campaign_id = r.id) AS items,
                    (SELECT count(*) FROM review_items i WHERE i.campaign_id = r.id AND i.decision IS NOT NULL) AS decided
             FROM review_campaigns r WHERE ?1 IS NULL OR r.name = ?1 ORDER BY r.id DESC",
        )
        .bind(name)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .iter()
            .map(|r| Campaign {
                id: r.get("id"),
                name: r.get("name"),
                filter: r.get("filter"),
                created_by: r.get("created_by"),
                created_at: r.get("created_at"),
                items: r.get("items"),
                decided: r.get("decided"),
            })
            .collect())
    }

    /// Items of a campaign after `after` (by id), in order.
    pub async fn review_items(&self, campaign_id: i64, after: i64, limit: i64) -> Result<Vec<ReviewItem>> {
        let rows = sqlx::query(AssertSqlSafe(format!("SELECT {ITEM_COLUMNS} FROM review_items WHERE campaign_id = ? AND id > ? ORDER BY id LIMIT ?")))
            .bind(campaign_id)
            .bind(after)
            .bind(limit)
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.iter().map(item_from).collect())
    }

    /// Every item of a campaign, read page by page (export and listing need them all).
    pub async fn all_review_items(&self, campaign_id: i64) -> Result<Vec<ReviewItem>> {
        let mut items = Vec::new();
        let mut after = 0;
        loop {
            let page = self.review_items(campaign_id, after, 5000).await?;
            let Some(last) = page.last() else { break };
            after = last.id;
            items.extend(page);
        }
        Ok(items)
    }

    pub async fn review_item(&self, id: i64) -> Result<ReviewItem> {
        let row = sqlx::query(AssertSqlSafe(format!("SELECT {ITEM_COLUMNS} FROM review_items WHERE id = ?")))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("review item {id}")))?;
        Ok(item_from(&row))
    }

    /// Records a decision and its audit entry together. An item is decided once.
    pub async fn record_review_decision(&self, item: i64, rec: &ReviewRecord<'_>, entry: &AuditDraft) -> Result<AuditEntry> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let target = format!("review-item:{item}");
        super::claims::refuse_live_claim(&mut tx, &target, rec.claim, rec.at).await?;
        super::claims::clear_claim(&mut tx, &target).await?;
        let done = sqlx::query(
            "UPDATE review_items SET decision = ?, decided_by = ?, decided_at = ?, reason = ?, detail = ?, issuer_answer = ?
             WHERE id = ? AND decision IS NULL",
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
            super::claims::check_guard(&mut tx, &ClaimGuard::ReviewUndecided(item)).await?;
            return Err(StoreError::Conflict(format!("review item {item} is already decided")));
        }
        let written = append_audit(&mut tx, entry).await?;
        tx.commit().await?;
        Ok(written)
    }

    /// A standing credential narrowed at its issuer (a review decision): the
    /// local row follows the issuer's answer until the next sync confirms it.
    pub async fn record_credential_change(&self, id: &str, change: &CredentialChange, at: Timestamp) -> Result<()> {
        let (actor, reason) = (change.actor.as_str(), change.reason.as_str());
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let now = fmt_ts(&at);
        if let Some(o) = &change.owner {
            sqlx::query("UPDATE credentials SET owner = ? WHERE id = ?").bind(o.trim().to_lowercase()).bind(id).execute(&mut *tx).await?;
        }
        if let Some(s) = &change.scopes {
            sqlx::query("INSERT OR IGNORE INTO scope_snapshots (credential_id, until_at, scopes) SELECT id, ?, scopes FROM credentials WHERE id = ?")
                .bind(&now)
                .bind(id)
                .execute(&mut *tx)
                .await?;
            sqlx::query("UPDATE credentials SET scopes = ? WHERE id = ?").bind(s.join(" ")).bind(id).execute(&mut *tx).await?;
            sqlx::query("DELETE FROM credential_scopes WHERE credential_id = ?").bind(id).execute(&mut *tx).await?;
            for scope in s {
                // Each with its credential's key in the default order, as the page sorts by it.
                let insert = format!(
                    "INSERT OR IGNORE INTO credential_scopes (credential_id, scope, k) SELECT c.id, ?, {} FROM credentials c WHERE c.id = ?",
                    super::filter::sort_expr(SortColumn::ActiveFirst)
                );
                sqlx::query(AssertSqlSafe(insert))
                .bind(scope)
                .bind(id)
                .execute(&mut *tx)
                .await?;
            }
            super::insert_consent(
                &mut tx,
                &super::TokenwardConsent { credential_id: Some(id), grant_id: None, at: &now, actor, action: "scope_change", scopes: &s.join(" "), note: Some(reason) },
            )
            .await?;
        }
        if let Some(e) = change.expires_at {
            sqlx::query("UPDATE credentials SET expires_at = ? WHERE id = ?").bind(fmt_ts(&e)).bind(id).execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }
}
