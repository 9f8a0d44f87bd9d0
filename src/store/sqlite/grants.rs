//! Task grants: the queue and the decisions recorded on them.
use sqlx::Row;

use super::audit::append_audit;
use super::{insert_consent, SqliteStore, TokenwardConsent};
use crate::domain::wire::split;
use crate::domain::*;
use crate::store::error::{Result, StoreError};
use crate::store::rows::*;

impl SqliteStore {
    pub async fn grants(&self, status: Option<GrantStatus>, limit: i64) -> Result<Vec<Grant>> {
        let rows = sqlx::query(
            "SELECT id, issuer, external_id, workload, requested_by, intent, scopes, audience, ttl_seconds, binding,
                    requested_at, expires_at, status
             FROM grants WHERE (?1 IS NULL OR status = ?1) ORDER BY requested_at DESC, id LIMIT ?2",
        )
        .bind(status.map(|s| s.as_str()))
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .iter()
            .map(|r| Grant {
                id: r.get(0),
                issuer: r.get(1),
                external_id: r.get(2),
                workload: Some(r.get::<String, _>(3)).filter(|s| !s.is_empty()),
                requested_by: Some(r.get::<String, _>(4)).filter(|s| !s.is_empty()),
                intent: r.get(5),
                scopes: split(&r.get::<String, _>(6)),
                audience: split(&r.get::<String, _>(7)),
                ttl_seconds: r.get(8),
                binding: Binding::parse(&r.get::<String, _>(9)).unwrap_or(Binding::Bearer),
                requested_at: r.get::<Option<String>, _>(10).as_deref().and_then(parse_ts),
                expires_at: r.get::<Option<String>, _>(11).as_deref().and_then(parse_ts),
                status: GrantStatus::parse(&r.get::<String, _>(12)).unwrap_or(GrantStatus::Pending),
            })
            .collect())
    }

    /// A grant by local id or the issuer's id.
    pub async fn grant(&self, needle: &str) -> Result<Grant> {
        let id: Option<String> = sqlx::query_scalar("SELECT id FROM grants WHERE id = ?1 OR external_id = ?1 ORDER BY id LIMIT 1")
            .bind(needle.trim())
            .fetch_optional(&self.pool)
            .await?;
        let id = id.ok_or_else(|| StoreError::NotFound(format!("grant {needle}")))?;
        let all = self.grants(None, i64::MAX).await?;
        all.into_iter().find(|g| g.id == id).ok_or_else(|| StoreError::NotFound(format!("grant {needle}")))
    }

    /// The issuer accepted a decision: the grant, its consent events (attached to
    /// the credential it produced, if any) and the audit entry, in one transaction.
    pub async fn record_grant_decision(
        &self,
        grant: &Grant,
        decision: &GrantDecisionRecord,
        entry: &AuditDraft,
    ) -> Result<AuditEntry> {
        let at = fmt_ts(&entry.at);
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        sqlx::query("UPDATE grants SET status = ?, decided_by = ?, decided_at = ?, decision_note = ?, credential_id = ? WHERE id = ?")
            .bind(decision.status.as_str())
            .bind(&entry.actor)
            .bind(&at)
            .bind(&decision.note)
            .bind(&decision.credential_id)
            .bind(&grant.id)
            .execute(&mut *tx)
            .await?;
        super::claims::clear_claim(&mut tx, &format!("grant:{}", grant.id)).await?;
        let requested_at = grant.requested_at.as_ref().map(fmt_ts).unwrap_or_else(|| at.clone());
        let events = [
            ("request", grant.requested_by.clone().unwrap_or_default(), grant.scopes.join(" "), grant.intent.clone(), requested_at),
            (decision.status.as_str(), entry.actor.clone(), decision.scopes.join(" "), decision.note.clone(), at.clone()),
        ];
        for (action, actor, scopes, note, when) in events {
            let action = if action == "approved" { "approve" } else if action == "denied" { "deny" } else { action };
            let event = TokenwardConsent { credential_id: decision.credential_id.as_deref(), grant_id: Some(&grant.id), at: &when, actor: &actor, action, scopes: &scopes, note: note.as_deref() };
            insert_consent(&mut tx, &event).await?;
        }
        let written = append_audit(&mut tx, entry).await?;
        tx.commit().await?;
        Ok(written)
    }

    /// Who already gave the first of two approvals for a grant.
    pub async fn prior_approvers(&self, grant_id: &str) -> Result<Vec<String>> {
        Ok(sqlx::query_scalar("SELECT DISTINCT actor FROM consent_events WHERE grant_id = ? AND action = 'approve.partial' ORDER BY actor")
            .bind(grant_id)
            .fetch_all(&self.pool)
            .await?)
    }

    /// The first of two approvals: a consent event on the grant and the audit entry.
    pub async fn record_partial_approval(&self, grant: &Grant, scopes: &[String], note: &str, entry: &AuditDraft) -> Result<AuditEntry> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let (at, scopes) = (fmt_ts(&entry.at), scopes.join(" "));
        let event = TokenwardConsent { credential_id: None, grant_id: Some(&grant.id), at: &at, actor: &entry.actor, action: "approve.partial", scopes: &scopes, note: Some(note) };
        insert_consent(&mut tx, &event).await?;
        let written = append_audit(&mut tx, entry).await?;
        tx.commit().await?;
        Ok(written)
    }
}
