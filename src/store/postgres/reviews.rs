//! Access review campaigns: a snapshot of the credentials in scope, one item
//! each, and the decisions taken on them with the issuer's answers.
use sqlx::{AssertSqlSafe, Row};

use super::outbox::insert_consent;
use super::PgStore;
use crate::store::sqlite::TokenwardConsent;
use crate::domain::*;
use crate::store::error::{Result, StoreError};

fn item_from(r: &sqlx::postgres::PgRow) -> ReviewItem {
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

impl PgStore {
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
             FROM review_campaigns r WHERE $1::text IS NULL OR r.name = $1 ORDER BY r.id DESC",
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
        let rows = sqlx::query(AssertSqlSafe(format!("SELECT {ITEM_COLUMNS} FROM review_items WHERE campaign_id = $1 AND id > $2 ORDER BY id LIMIT $3")))
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
        let row = sqlx::query(AssertSqlSafe(format!("SELECT {ITEM_COLUMNS} FROM review_items WHERE id = $1")))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("review item {id}")))?;
        Ok(item_from(&row))
    }

    /// A standing credential narrowed at its issuer (a review decision): the
    /// local row follows the issuer's answer until the next sync confirms it.
    pub async fn record_credential_change(&self, id: &str, change: &CredentialChange, at: Timestamp) -> Result<()> {
        let (actor, reason) = (change.actor.as_str(), change.reason.as_str());
        let mut tx = self.pool.begin().await?;
        let now = fmt_ts(&at);
        if let Some(o) = &change.owner {
            sqlx::query("UPDATE credentials SET owner = $1 WHERE id = $2").bind(o.trim().to_lowercase()).bind(id).execute(&mut *tx).await?;
        }
        if let Some(s) = &change.scopes {
            sqlx::query(
                "INSERT INTO scope_snapshots (credential_id, until_at, scopes) SELECT id, $1, scopes FROM credentials WHERE id = $2 ON CONFLICT DO NOTHING",
            )
            .bind(&now)
            .bind(id)
            .execute(&mut *tx)
            .await?;
            sqlx::query("UPDATE credentials SET scopes = $1 WHERE id = $2").bind(s.join(" ")).bind(id).execute(&mut *tx).await?;
            sqlx::query("DELETE FROM credential_scopes WHERE credential_id = $1").bind(id).execute(&mut *tx).await?;
            // Each with its credential's key in the default order, as the page sorts by it.
            let insert = format!(
                "INSERT INTO credential_scopes (credential_id, scope, k) SELECT c.id, s, {} FROM credentials c, unnest($2::text[]) s WHERE c.id = $1 ON CONFLICT DO NOTHING",
                super::filter::sort_expr(crate::store::SortColumn::ActiveFirst)
            );
            sqlx::query(AssertSqlSafe(insert))
                .bind(id)
                .bind(s)
                .execute(&mut *tx)
                .await?;
            insert_consent(
                &mut tx,
                &TokenwardConsent { credential_id: Some(id), grant_id: None, at: &now, actor, action: "scope_change", scopes: &s.join(" "), note: Some(reason) },
            )
            .await?;
        }
        if let Some(e) = change.expires_at {
            sqlx::query("UPDATE credentials SET expires_at = $1 WHERE id = $2").bind(fmt_ts(&e)).bind(id).execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }
}
