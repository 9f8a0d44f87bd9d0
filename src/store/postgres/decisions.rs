//! Decisions on task grants, on PostgreSQL: the grant, its consent events and the
//! audit entry in one transaction that also ends the decision's claim.
use super::audit::append_audit;
use super::claims::clear_claim;
use super::outbox::insert_consent;
use super::PgStore;
use crate::domain::*;
use crate::store::error::Result;
use crate::store::rows::*;
use crate::store::sqlite::TokenwardConsent;

impl PgStore {
    pub async fn record_grant_decision(&self, grant: &Grant, decision: &GrantDecisionRecord, entry: &AuditDraft) -> Result<AuditEntry> {
        let at = fmt_ts(&entry.at);
        let mut tx = super::audit::begin_audited(&self.pool).await?;
        sqlx::query("UPDATE grants SET status = $1, decided_by = $2, decided_at = $3, decision_note = $4, credential_id = $5 WHERE id = $6")
            .bind(decision.status.as_str())
            .bind(&entry.actor)
            .bind(&at)
            .bind(&decision.note)
            .bind(&decision.credential_id)
            .bind(&grant.id)
            .execute(&mut *tx)
            .await?;
        clear_claim(&mut tx, &format!("grant:{}", grant.id)).await?;
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
        let appended = append_audit(&mut tx, &self.anchor, entry).await?;
        tx.commit().await?;
        Ok(appended.witness(&self.anchor))
    }

    pub async fn prior_approvers(&self, grant_id: &str) -> Result<Vec<String>> {
        Ok(sqlx::query_scalar("SELECT DISTINCT actor FROM consent_events WHERE grant_id = $1 AND action = 'approve.partial' ORDER BY actor")
            .bind(grant_id)
            .fetch_all(&self.pool)
            .await?)
    }

    pub async fn record_partial_approval(&self, grant: &Grant, scopes: &[String], note: &str, entry: &AuditDraft) -> Result<AuditEntry> {
        let mut tx = super::audit::begin_audited(&self.pool).await?;
        let (at, scopes) = (fmt_ts(&entry.at), scopes.join(" "));
        let event = TokenwardConsent { credential_id: None, grant_id: Some(&grant.id), at: &at, actor: &entry.actor, action: "approve.partial", scopes: &scopes, note: Some(note) };
        insert_consent(&mut tx, &event).await?;
        let appended = append_audit(&mut tx, &self.anchor, entry).await?;
        tx.commit().await?;
        Ok(appended.witness(&self.anchor))
    }
}
