//! Offboarding: everything one person holds, revoked at every issuer. A dry run
//! lists exactly what would be revoked; the run revokes each credential through
//! the same `revoke` (issuer first; unreachable issuers queue it, retried with
//! backoff, never shown as revoked before they confirm) and denies their pending grants.
use futures_util::StreamExt;
use serde::Serialize;
use tokio::sync::mpsc;

use super::base::{ActionError, Actions};
use super::revoke::{RevokeOutcome, RevokeStatus};
use crate::domain::text;
use crate::domain::BlastRadius;

/// How far a bulk revoke has got, for a progress display.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BulkProgress {
    pub done: usize,
    pub total: usize,
    pub revoked: usize,
    pub queued: usize,
    pub failed: usize,
    /// The credential or grant just handled, and what happened to it.
    pub last: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BulkFailure {
    pub target: String,
    pub issuer: String,
    pub error: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OwnerRevokeReport {
    pub owner: String,
    pub dry_run: bool,
    /// Exactly what is (or would be) revoked and denied.
    pub plan: BlastRadius,
    pub revoked: Vec<RevokeOutcome>,
    /// Unreachable issuers: in the outbox, retried with backoff; NOT revoked yet.
    pub queued: Vec<RevokeOutcome>,
    pub failed: Vec<BulkFailure>,
    pub grants_denied: Vec<String>,
    pub audit_seq: Option<i64>,
}

/// Revocations in flight at once: issuers are remote, the store serializes writes anyway.
const PARALLEL: usize = 8;

impl Actions {
    /// What `revoke --owner` would do: the person's blast radius.
    pub async fn owner_plan(&self, owner: &str) -> Result<BlastRadius, ActionError> {
        let owner = text::clean(owner.trim(), 320).to_lowercase();
        if owner.is_empty() {
            return Err(ActionError::Input("an owner email is required".into()));
        }
        Ok(self.store.blast_radius(&owner).await?)
    }

    /// Revokes everything in the person's blast radius and denies their pending grants.
    pub async fn revoke_owner(&self, owner: &str, reason: &str, dry_run: bool, progress: Option<mpsc::Sender<BulkProgress>>) -> Result<OwnerRevokeReport, ActionError> {
        let plan = self.owner_plan(owner).await?;
        let mut report = OwnerRevokeReport {
            owner: plan.owner.clone(),
            dry_run,
            plan: plan.clone(),
            revoked: Vec::new(),
            queued: Vec::new(),
            failed: Vec::new(),
            grants_denied: Vec::new(),
            audit_seq: None,
        };
        if dry_run {
            return Ok(report);
        }
        if self.read_only {
            return Err(ActionError::ReadOnly("revoke"));
        }
        let reason = text::clean(reason.trim(), 2000);
        if reason.is_empty() {
            return Err(ActionError::NoReason);
        }
        self.authorize("revoke_owner", &plan.owner, format!("owner:{}", plan.owner)).await?;
        let targets: Vec<(String, String)> = plan.revocable().map(|c| (c.credential_id.clone(), c.issuer.clone())).collect();
        let total = targets.len() + plan.pending_grants.len();
        let mut p = BulkProgress { done: 0, total, revoked: 0, queued: 0, failed: 0, last: String::new() };
        let mut results = futures_util::stream::iter(targets.into_iter().map(|(id, issuer)| {
            let reason = reason.clone();
            async move { (self.revoke_decided(&id, &reason).await, id, issuer) }
        }))
        .buffer_unordered(PARALLEL);
        while let Some((result, id, issuer)) = results.next().await {
            p.done += 1;
            match result {
                Ok(o) if o.status == RevokeStatus::Revoked => {
                    p.revoked += 1;
                    p.last = format!("{} revoked at {}", o.external_id, o.issuer);
                    report.revoked.push(o);
                }
                Ok(o) => {
                    p.queued += 1;
                    p.last = format!("{} queued: {}", o.external_id, o.message);
                    report.queued.push(o);
                }
                Err(e) => {
                    p.failed += 1;
                    p.last = format!("{id} failed: {e}");
                    report.failed.push(BulkFailure { target: format!("credential:{id}"), issuer, error: e.to_string() });
                }
            }
            if let Some(tx) = &progress {
                let _ = tx.send(p.clone()).await;
            }
        }
        drop(results);
        for g in &plan.pending_grants {
            p.done += 1;
            match self.deny(&g.id, &format!("requester offboarded: {reason}")).await {
                Ok(o) => {
                    p.last = format!("grant {} denied", o.external_id);
                    report.grants_denied.push(o.external_id);
                }
                Err(e) => {
                    p.failed += 1;
                    p.last = format!("grant {} not denied: {e}", g.external_id);
                    report.failed.push(BulkFailure { target: format!("grant:{}", g.id), issuer: g.issuer.clone(), error: e.to_string() });
                }
            }
            if let Some(tx) = &progress {
                let _ = tx.send(p.clone()).await;
            }
        }
        let detail = serde_json::json!({
            "owner": report.owner, "reason": reason, "planned": total,
            "revoked": report.revoked.iter().map(|o| &o.credential_id).collect::<Vec<_>>(),
            "queued": report.queued.iter().map(|o| &o.credential_id).collect::<Vec<_>>(),
            "failed": report.failed, "grants_denied": report.grants_denied,
        });
        let entry = self.audit("revoke.owner", format!("owner:{}", report.owner), detail);
        report.audit_seq = Some(self.store.append_audit(&entry).await?.seq);
        Ok(report)
    }
}
