//! Revocation: the credential is claimed and the intent logged, then the issuer
//! is asked, and its confirmation recorded; an unreachable issuer's revocations
//! wait in the outbox and are retried.
use chrono::Utc;
use serde::Serialize;

use super::base::{ActionError, Actions};
use crate::domain::{text, CredentialStatus, IssuerAnswer};
use crate::store::{AuditDraft, ClaimGuard, OutboxItem, QueuedRevocation};

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RevokeStatus {
    /// The issuer confirmed.
    Revoked,
    /// The issuer could not be reached; queued in the outbox and retried.
    Queued,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RevokeOutcome {
    pub credential_id: String,
    pub issuer: String,
    pub external_id: String,
    pub status: RevokeStatus,
    pub was: CredentialStatus,
    pub issuer_answer: Option<IssuerAnswer>,
    pub message: String,
    pub audit_seq: i64,
}


impl Actions {
    /// Claims the credential and logs the intent, then revokes at the issuer; the
    /// credential is marked revoked only on the issuer's confirmation. Unreachable
    /// issuers queue it for retry.
    pub async fn revoke(&self, needle: &str, reason: &str) -> Result<RevokeOutcome, ActionError> {
        if self.read_only {
            return Err(ActionError::ReadOnly("revoke"));
        }
        if text::clean(reason.trim(), 2000).is_empty() {
            return Err(ActionError::NoReason);
        }
        let id = self.store.resolve(needle).await?;
        let owner = self.store.credential(&id).await?.owner.unwrap_or_default();
        self.authorize("revoke", &owner, format!("credential:{id}")).await?;
        self.revoke_decided(&id, reason).await
    }

    /// A revocation Cedar already allowed (as revoke, revoke_owner, review_decide or triage_revoke).
    pub(super) async fn revoke_decided(&self, needle: &str, reason: &str) -> Result<RevokeOutcome, ActionError> {
        if self.read_only {
            return Err(ActionError::ReadOnly("revoke"));
        }
        let reason = text::clean(reason.trim(), 2000);
        if reason.is_empty() {
            return Err(ActionError::NoReason);
        }
        let id = self.store.resolve(needle).await?;
        let cred = self.store.credential(&id).await?;
        let connector = self.connector(&cred.issuer)?;
        let target = format!("credential:{id}");
        let base = serde_json::json!({
            "issuer": cred.issuer, "external_id": cred.external_id, "fingerprint": cred.fingerprint,
            "owner": cred.owner, "status_before": cred.status, "reason": reason,
        });
        // Claimed and announced first: if that cannot be written, the issuer is never called.
        let claim = self.claim(ClaimGuard::CredentialNotRevoked(id.clone()), "revoke", &target, base.clone()).await?;
        let outcome = |status, issuer_answer, message, audit_seq| RevokeOutcome {
            credential_id: id.clone(),
            issuer: cred.issuer.clone(),
            external_id: cred.external_id.clone(),
            status,
            was: cred.status,
            issuer_answer,
            message,
            audit_seq,
        };
        match connector.revoke(&cred.external_id, &self.operator, &reason).await {
            Ok(answer) => {
                let mut detail = base;
                detail["issuer_answer"] = serde_json::to_value(&answer).unwrap_or_default();
                let message = format!("revoked at {} (HTTP {})", cred.issuer, answer.status);
                let draft = self.audit("revoke", target, detail);
                let entry = self.store.record_revocation(&id, &draft, &reason).await.map_err(|e| ActionError::unrecorded(message.clone(), &claim, e))?;
                Ok(outcome(RevokeStatus::Revoked, Some(answer), message, entry.seq))
            }
            Err(e) if e.is_retryable() => {
                // Due at the next outbox pass (a sync, the TUI's tick); backoff starts with the retries.
                let error = e.to_string();
                let queued = QueuedRevocation { credential_id: &id, issuer: &cred.issuer, reason: &reason, error: &error, retry_at: Utc::now() };
                let mut detail = base;
                detail["error"] = error.clone().into();
                let draft = self.audit("revoke.queued", target, detail);
                let entry = self.store.record_queued_revocation(&queued, &draft).await?;
                Ok(outcome(RevokeStatus::Queued, None, format!("{e}; queued for retry, NOT yet revoked"), entry.seq))
            }
            Err(e) => {
                let mut detail = base;
                detail["error"] = e.to_string().into();
                detail["issuer_status"] = e.status().into();
                let draft = self.audit("revoke.failed", target, detail);
                self.store.release_claim(&claim, Some(&draft)).await?;
                Err(ActionError::Issuer(e))
            }
        }
    }

    /// Retries due queued revocations once each, claiming each row first so
    /// another process retrying at once never sends it too; returns how many the
    /// issuer confirmed.
    pub async fn retry_outbox(&self) -> Result<usize, ActionError> {
        if self.read_only {
            return Ok(0);
        }
        let owner = format!("{}@pid{}", self.operator, std::process::id());
        let mut done = 0;
        // Small batches: a claim outlives its issuer calls by far, and two processes share the work.
        loop {
            let claimed = self.store.claim_revocations(&owner, Utc::now(), chrono::Duration::minutes(OUTBOX_LEASE_MINUTES), OUTBOX_BATCH).await?;
            if claimed.is_empty() {
                return Ok(done);
            }
            for item in claimed {
                done += usize::from(self.retry_one(&item).await?);
            }
        }
    }

    /// One claimed row: confirmed and recorded, or its failure noted (which releases the claim).
    async fn retry_one(&self, item: &OutboxItem) -> Result<bool, ActionError> {
        // Not configured here: the claim lapses and a process that knows the issuer tries it.
        let Ok(connector) = self.connector(&item.issuer) else { return Ok(false) };
        let cred = self.store.credential(&item.credential_id).await?;
        match connector.revoke(&cred.external_id, &item.actor, &item.reason).await {
            Ok(answer) => {
                // Decided by who queued it; delivered by this process's operator (on PostgreSQL, its login).
                let detail = serde_json::json!({"issuer": item.issuer, "reason": item.reason, "attempts": item.attempts + 1,
                    "delivered_by": self.operator, "issuer_answer": answer});
                let draft = AuditDraft {
                    at: Utc::now(),
                    actor: item.actor.clone(),
                    action: "revoke".into(),
                    target: format!("credential:{}", item.credential_id),
                    detail,
                };
                self.store.record_revocation(&item.credential_id, &draft, &item.reason).await?;
                Ok(true)
            }
            Err(e) => {
                let backoff = 30i64.saturating_mul(1 << item.attempts.clamp(0, 8));
                self.store.note_outbox_failure(item.id, &e.to_string(), Utc::now() + chrono::Duration::seconds(backoff)).await?;
                Ok(false)
            }
        }
    }
}

/// How long a retry's claim on an outbox row stands, and how many rows one claim takes.
const OUTBOX_LEASE_MINUTES: i64 = 5;
const OUTBOX_BATCH: i64 = 10;
