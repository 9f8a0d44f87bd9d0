//! Bulk revokes: everything one person holds (offboarding), or every active
//! credential a filter selects, revoked at every issuer. A dry run
//! lists exactly what would be revoked; the run revokes each credential through
//! the same `revoke` (issuer first; unreachable issuers queue it, retried with
//! backoff, never shown as revoked before they confirm) and denies their pending grants.
use futures_util::StreamExt;
use serde::Serialize;
use tokio::sync::mpsc;

use super::base::{ActionError, Actions};
use super::revoke::{RevokeOutcome, RevokeStatus};
use crate::domain::{text, BlastItem, BlastRadius, CredentialStatus, Relation};
use crate::filter::{Clause, Term};
use crate::store::{PageAnchor, PageRequest, Sort, SortColumn};

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

/// What a bulk revoke did, credential by credential.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct BulkResults {
    pub revoked: Vec<RevokeOutcome>,
    /// Unreachable issuers: in the outbox, retried with backoff; NOT revoked yet.
    pub queued: Vec<RevokeOutcome>,
    pub failed: Vec<BulkFailure>,
    pub grants_denied: Vec<String>,
    pub audit_seq: Option<i64>,
}

impl BulkResults {
    /// One line for a status bar: what happened to how many.
    pub fn summary(&self) -> String {
        format!("{} revoked, {} queued (not yet revoked), {} failed, {} grant(s) denied", self.revoked.len(), self.queued.len(), self.failed.len(), self.grants_denied.len())
    }

    pub fn complete(&self) -> bool {
        self.failed.is_empty() && self.queued.is_empty()
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OwnerRevokeReport {
    pub owner: String,
    pub dry_run: bool,
    /// Exactly what is (or would be) revoked and denied.
    pub plan: BlastRadius,
    #[serde(flatten)]
    pub results: BulkResults,
}

/// The most active credentials one `revoke --filter` takes: above it, the filter
/// must be narrowed (a mistyped filter must not end a whole fleet's access).
pub const FILTER_CAP: usize = 1_000;

/// What `revoke --filter` would revoke: the active credentials the filter selects.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FilterPlan {
    /// The filter as understood (normalised).
    pub filter: String,
    /// Credentials the filter selects, whatever their status.
    pub matched: i64,
    /// Of those, the active ones: what would be revoked.
    pub active: i64,
    /// The active ones, by id, at most `FILTER_CAP`.
    pub credentials: Vec<BlastItem>,
}

impl FilterPlan {
    pub fn over_cap(&self) -> bool {
        self.active > FILTER_CAP as i64
    }

    /// Why this plan cannot run, when it cannot.
    pub fn refusal(&self) -> Option<String> {
        self.over_cap().then(|| {
            format!(
                "{} active credentials match '{}': more than {FILTER_CAP}, the most one bulk revoke takes. Narrow the filter (issuer:, owner:, workload:, scope: …) and revoke it part by part",
                self.active, self.filter
            )
        })
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FilterRevokeReport {
    pub filter: String,
    pub dry_run: bool,
    pub plan: FilterPlan,
    #[serde(flatten)]
    pub results: BulkResults,
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
        let mut report = OwnerRevokeReport { owner: plan.owner.clone(), dry_run, plan: plan.clone(), results: BulkResults::default() };
        if dry_run {
            return Ok(report);
        }
        let reason = self.bulk_reason(reason)?;
        self.authorize("revoke_owner", &plan.owner, format!("owner:{}", plan.owner)).await?;
        let targets: Vec<(String, String)> = plan.revocable().map(|c| (c.credential_id.clone(), c.issuer.clone())).collect();
        let total = targets.len() + plan.pending_grants.len();
        let mut p = BulkProgress { done: 0, total, revoked: 0, queued: 0, failed: 0, last: String::new() };
        // Cedar allowed the whole: each credential is revoked as decided.
        self.revoke_each(targets, &reason, true, &mut p, &mut report.results, &progress).await;
        for g in &plan.pending_grants {
            p.done += 1;
            match self.deny(&g.id, &format!("requester offboarded: {reason}")).await {
                Ok(o) => {
                    p.last = format!("grant {} denied", o.external_id);
                    report.results.grants_denied.push(o.external_id);
                }
                Err(e) => {
                    p.failed += 1;
                    p.last = format!("grant {} not denied: {e}", g.external_id);
                    report.results.failed.push(BulkFailure { target: format!("grant:{}", g.id), issuer: g.issuer.clone(), error: e.to_string() });
                }
            }
            if let Some(tx) = &progress {
                let _ = tx.send(p.clone()).await;
            }
        }
        let r = &report.results;
        let detail = serde_json::json!({
            "owner": report.owner, "reason": reason, "planned": total,
            "revoked": r.revoked.iter().map(|o| &o.credential_id).collect::<Vec<_>>(),
            "queued": r.queued.iter().map(|o| &o.credential_id).collect::<Vec<_>>(),
            "failed": r.failed, "grants_denied": r.grants_denied,
        });
        let entry = self.audit("revoke.owner", format!("owner:{}", report.owner), detail);
        report.results.audit_seq = Some(self.store.append_audit(&entry).await?.seq);
        Ok(report)
    }

    /// What `revoke --filter` would do: the active credentials the filter selects.
    pub async fn filter_plan(&self, filter: &str) -> Result<FilterPlan, ActionError> {
        let query = crate::filter::parse(filter).map_err(|e| ActionError::Input(format!("filter: {e}")))?;
        if query.clauses.is_empty() {
            return Err(ActionError::Input("a filter is required: revoking every credential is not a bulk action".into()));
        }
        let now = chrono::Utc::now();
        let matched = self.store.count(&query, now).await?;
        let mut live = query.clone();
        live.clauses.push(Clause { negated: false, term: Term::Status(CredentialStatus::Active) });
        let active = self.store.count(&live, now).await?;
        let mut credentials = Vec::new();
        let mut anchor = PageAnchor::First;
        while credentials.len() < FILTER_CAP {
            let req = PageRequest { query: live.clone(), now, sort: Sort { column: SortColumn::Id, descending: false }, anchor, limit: 500 };
            let rows = self.store.page(&req).await?;
            let Some(last) = rows.last() else { break };
            anchor = PageAnchor::After(last.key.clone());
            let full = rows.len() == req.limit;
            credentials.extend(rows.into_iter().map(|r| BlastItem {
                credential_id: r.id,
                issuer: r.issuer,
                external_id: r.external_id,
                kind: r.kind,
                owner: r.owner,
                workload: r.workload,
                scopes: r.scopes,
                status: r.status,
                relation: Relation::Owned,
                via: None,
            }));
            if !full {
                break;
            }
        }
        credentials.truncate(FILTER_CAP);
        Ok(FilterPlan { filter: query.to_string(), matched, active, credentials })
    }

    /// Revokes every active credential a filter selects, each through `revoke`
    /// (its own policy decision and audit entry), then records the whole.
    pub async fn revoke_filter(&self, filter: &str, reason: &str, dry_run: bool, progress: Option<mpsc::Sender<BulkProgress>>) -> Result<FilterRevokeReport, ActionError> {
        let plan = self.filter_plan(filter).await?;
        let mut report = FilterRevokeReport { filter: plan.filter.clone(), dry_run, plan: plan.clone(), results: BulkResults::default() };
        if dry_run {
            return Ok(report);
        }
        let reason = self.bulk_reason(reason)?;
        if let Some(refusal) = plan.refusal() {
            return Err(ActionError::Input(refusal));
        }
        let targets: Vec<(String, String)> = plan.credentials.iter().map(|c| (c.credential_id.clone(), c.issuer.clone())).collect();
        let mut p = BulkProgress { done: 0, total: targets.len(), revoked: 0, queued: 0, failed: 0, last: String::new() };
        self.revoke_each(targets, &reason, false, &mut p, &mut report.results, &progress).await;
        let r = &report.results;
        let detail = serde_json::json!({
            "filter": report.filter, "reason": reason, "matched": plan.matched, "planned": p.total,
            "revoked": r.revoked.iter().map(|o| &o.credential_id).collect::<Vec<_>>(),
            "queued": r.queued.iter().map(|o| &o.credential_id).collect::<Vec<_>>(),
            "failed": r.failed,
        });
        let entry = self.audit("revoke.filter", format!("filter:{}", report.filter), detail);
        report.results.audit_seq = Some(self.store.append_audit(&entry).await?.seq);
        Ok(report)
    }

    /// A bulk revoke needs write access and a reason, checked before anything is asked.
    fn bulk_reason(&self, reason: &str) -> Result<String, ActionError> {
        if self.read_only {
            return Err(ActionError::ReadOnly("revoke"));
        }
        let reason = text::clean(reason.trim(), 2000);
        if reason.is_empty() {
            return Err(ActionError::NoReason);
        }
        Ok(reason)
    }

    /// Revokes each target (credential id, issuer), `PARALLEL` at once, into `results`, reporting progress.
    /// `decided`: Cedar allowed the whole already; otherwise each is asked on its own.
    async fn revoke_each(
        &self,
        targets: Vec<(String, String)>,
        reason: &str,
        decided: bool,
        p: &mut BulkProgress,
        results: &mut BulkResults,
        progress: &Option<mpsc::Sender<BulkProgress>>,
    ) {
        // Owned ids and reasons: a future borrowing from the plan is not Send for every lifetime.
        let mut each = futures_util::stream::iter(targets.into_iter().map(|(id, issuer)| {
            let reason = reason.to_string();
            async move {
                let outcome = if decided { self.revoke_decided(&id, &reason).await } else { self.revoke(&id, &reason).await };
                (outcome, id, issuer)
            }
        }))
        .buffer_unordered(PARALLEL);
        while let Some((result, id, issuer)) = each.next().await {
            p.done += 1;
            match result {
                Ok(o) if o.status == RevokeStatus::Revoked => {
                    p.revoked += 1;
                    p.last = format!("{} revoked at {}", o.external_id, o.issuer);
                    results.revoked.push(o);
                }
                Ok(o) => {
                    p.queued += 1;
                    p.last = format!("{} queued: {}", o.external_id, o.message);
                    results.queued.push(o);
                }
                Err(e) => {
                    p.failed += 1;
                    p.last = format!("{id} failed: {e}");
                    results.failed.push(BulkFailure { target: format!("credential:{id}"), issuer, error: e.to_string() });
                }
            }
            if let Some(tx) = progress {
                let _ = tx.send(p.clone()).await;
            }
        }
    }
}
