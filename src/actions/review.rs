//! Access review campaigns: start one over a filter, decide item by item (the
//! decisions that change something claim the item and log their intent, then go
//! to the issuer, and are recorded on its answer), export the evidence
//! with the audit log's head hash so an auditor can check it with `audit verify`.
use chrono::Utc;
use serde::Serialize;

use super::base::{ActionError, Actions};
use super::revoke::RevokeStatus;
use crate::domain::{fmt_ts, text, OwnerStatus, ReviewDecisionKind};
use crate::domain::{Campaign, ReviewItem};
use crate::store::{ClaimGuard, ReviewRecord};

/// What a reviewer decides on one item.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ReviewDecision {
    Keep,
    Revoke,
    Reassign { owner: String },
    Shorten { ttl_seconds: i64 },
    Reduce { scopes: Vec<String> },
}

impl ReviewDecision {
    pub fn kind(&self) -> ReviewDecisionKind {
        match self {
            ReviewDecision::Keep => ReviewDecisionKind::Keep,
            ReviewDecision::Revoke => ReviewDecisionKind::Revoke,
            ReviewDecision::Reassign { .. } => ReviewDecisionKind::Reassign,
            ReviewDecision::Shorten { .. } => ReviewDecisionKind::Shorten,
            ReviewDecision::Reduce { .. } => ReviewDecisionKind::Reduce,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReviewOutcome {
    pub item: i64,
    pub credential_id: String,
    pub decision: ReviewDecisionKind,
    pub issuer_answer: Option<String>,
    pub audit_seq: i64,
}

/// The evidence of a campaign, as exported.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReviewEvidence {
    pub campaign: Campaign,
    pub exported_at: String,
    pub exported_by: String,
    /// The audit log's newest entry when exporting: `tokenward audit verify` reaches the same head.
    pub audit_head_seq: i64,
    pub audit_head_hash: String,
    pub items: Vec<ReviewItem>,
}

impl Actions {
    pub async fn start_review(&self, name: &str, filter_text: Option<&str>) -> Result<Campaign, ActionError> {
        if self.read_only {
            return Err(ActionError::ReadOnly("review start"));
        }
        let name = text::clean(name.trim(), 100);
        if name.is_empty() {
            return Err(ActionError::Input("a campaign needs a name".into()));
        }
        let query = match filter_text {
            Some(f) => crate::filter::parse(f).map_err(|e| ActionError::Input(format!("filter: {} (at column {})", e.message, e.position + 1)))?,
            None => crate::filter::Query { clauses: vec![crate::filter::Clause { negated: false, term: crate::filter::Term::Status(crate::domain::CredentialStatus::Active) }] },
        };
        let now = Utc::now();
        let entry = self.audit_at(now, "review.start", format!("review:{name}"), serde_json::json!({"filter": query.to_string()}));
        let (campaign, _) = self.store.start_campaign(&name, Some(&query.to_string()), &query, now, &entry).await?;
        Ok(campaign)
    }

    /// Decides one item. Revoke, reassign, shorten and reduce go to the issuer
    /// first; only its answer records the decision.
    pub async fn decide_review(&self, item_id: i64, decision: &ReviewDecision, reason: &str) -> Result<ReviewOutcome, ActionError> {
        if self.read_only {
            return Err(ActionError::ReadOnly("review decide"));
        }
        let reason = text::clean(reason.trim(), 2000);
        if reason.is_empty() {
            return Err(ActionError::NoReason);
        }
        let item = self.store.review_item(item_id).await?;
        if let Some(d) = &item.decision {
            return Err(ActionError::Input(format!("item {item_id} was decided already ({d} by {})", item.decided_by.clone().unwrap_or_default())));
        }
        let cred = self.store.credential(&item.credential_id).await?;
        self.authorize("review_decide", cred.owner.as_deref().unwrap_or(""), format!("review-item:{item_id}")).await?;
        let now = Utc::now();
        let mut detail = serde_json::json!({"credential": cred.id, "issuer": cred.issuer, "external_id": cred.external_id});
        let target = format!("review-item:{item_id}");
        // A decision that calls an issuer claims the item first; keep calls none, and may not overtake a claim.
        let claim = match decision {
            ReviewDecision::Keep => None,
            _ => {
                let mut intent = detail.clone();
                intent["decision"] = serde_json::to_value(decision).unwrap_or_default();
                intent["reason"] = reason.clone().into();
                Some(self.claim(ClaimGuard::ReviewUndecided(item_id), &format!("review.{}", decision.kind()), &target, intent).await?)
            }
        };
        let answer = match self.review_change(decision, &cred, &reason, now, &mut detail).await {
            Ok(answer) => answer,
            Err(e) => {
                if let Some(claim) = &claim {
                    let failed = serde_json::json!({"credential": cred.id, "issuer": cred.issuer, "error": e.to_string()});
                    self.store.release_claim(claim, Some(&self.audit(&format!("review.{}.failed", decision.kind()), target, failed))).await?;
                }
                return Err(e);
            }
        };
        detail["reason"] = reason.clone().into();
        detail["issuer_answer"] = answer.clone().into();
        let entry = self.audit_at(now, &format!("review.{}", decision.kind()), target, detail.clone());
        let record = ReviewRecord { decision: decision.kind(), claim: claim.as_ref(), decider: &self.operator, at: now, reason: &reason, detail, issuer_answer: answer.clone() };
        let written = match (self.store.record_review_decision(item_id, &record, &entry).await, &claim) {
            (Ok(w), _) => w,
            (Err(e), Some(claim)) => return Err(ActionError::unrecorded(format!("the issuer answered {}", answer.unwrap_or_default()), claim, e)),
            (Err(e), None) => return Err(e.into()),
        };
        Ok(ReviewOutcome { item: item_id, credential_id: cred.id, decision: decision.kind(), issuer_answer: answer, audit_seq: written.seq })
    }

    /// What a decision changes at the issuer (nothing for keep): its answer, with
    /// what changed added to `detail`.
    async fn review_change(
        &self,
        decision: &ReviewDecision,
        cred: &crate::domain::Credential,
        reason: &str,
        now: crate::domain::Timestamp,
        detail: &mut serde_json::Value,
    ) -> Result<Option<String>, ActionError> {
        Ok(match decision {
            ReviewDecision::Keep => None,
            ReviewDecision::Revoke => {
                let o = self.revoke_decided(&cred.id, &format!("access review: {reason}")).await?;
                detail["revoke"] = serde_json::to_value(&o).unwrap_or_default();
                Some(if o.status == RevokeStatus::Revoked { o.message } else { format!("NOT yet revoked: {}", o.message) })
            }
            ReviewDecision::Reassign { .. } | ReviewDecision::Shorten { .. } | ReviewDecision::Reduce { .. } => {
                if cred.status != crate::domain::CredentialStatus::Active {
                    return Err(ActionError::Input(format!("credential is {}, nothing to change", cred.status)));
                }
                let mut change =
                    crate::domain::CredentialChange { actor: self.operator.clone(), reason: reason.to_string(), owner: None, scopes: None, expires_at: None };
                match decision {
                    ReviewDecision::Reassign { owner } => {
                        let owner = text::clean(owner.trim(), 320).to_lowercase();
                        if !owner.contains('@') {
                            return Err(ActionError::Input(format!("'{owner}' is not an email")));
                        }
                        detail["owner_before"] = cred.owner.clone().into();
                        detail["owner"] = owner.clone().into();
                        change.owner = Some(owner);
                    }
                    ReviewDecision::Shorten { ttl_seconds } => {
                        let new = now + chrono::Duration::seconds(*ttl_seconds);
                        if *ttl_seconds <= 0 || cred.expires_at.is_some_and(|e| new >= e) {
                            return Err(ActionError::Input("shorten: the new expiry must come before the current one".into()));
                        }
                        detail["expires_before"] = cred.expires_at.map(|e| fmt_ts(&e)).into();
                        detail["expires_at"] = fmt_ts(&new).into();
                        change.expires_at = Some(new);
                    }
                    ReviewDecision::Reduce { scopes } => {
                        if scopes.is_empty() || scopes.iter().any(|s| !cred.scopes.contains(s)) {
                            return Err(ActionError::Input(format!("reduce: keep a non-empty subset of {}", cred.scopes.join(" "))));
                        }
                        detail["scopes_before"] = cred.scopes.join(" ").into();
                        detail["scopes"] = scopes.join(" ").into();
                        change.scopes = Some(scopes.clone());
                    }
                    _ => {}
                }
                let connector = self.connector(&cred.issuer)?;
                let answer = connector.update(&cred.external_id, &change).await.map_err(ActionError::Issuer)?;
                self.store.record_credential_change(&cred.id, &change, now).await?;
                Some(format!("HTTP {}", answer.status))
            }
        })
    }

    /// Every item of a campaign with its decision, and the audit head at export time.
    pub async fn review_evidence(&self, name: &str) -> Result<ReviewEvidence, ActionError> {
        let campaign = self.store.campaign(name).await?;
        let items = self.store.all_review_items(campaign.id).await?;
        let exported_at = fmt_ts(&Utc::now());
        let entry = self.audit_at(Utc::now(), "review.export", format!("review:{}", campaign.name), serde_json::json!({"items": items.len(), "decided": campaign.decided}));
        // The export itself is recorded; its entry is the head the evidence names.
        let head = self.store.append_audit(&entry).await?;
        Ok(ReviewEvidence { campaign, exported_at, exported_by: self.operator.clone(), audit_head_seq: head.seq, audit_head_hash: head.hash, items })
    }
}

impl ReviewEvidence {
    /// The evidence's columns, one per field of `row`; the CLI writes them as CSV or Markdown.
    pub const COLUMNS: [&'static str; 13] = [
        "item", "credential_id", "issuer", "external_id", "owner", "owner_status", "scopes", "findings", "decision", "decided_by", "decided_at", "reason", "issuer_answer",
    ];

    pub fn row(i: &ReviewItem) -> Vec<String> {
        // One line per record: the snapshot's multi-line fields (findings) join with "; ".
        let snap = &i.snapshot;
        vec![
            i.id.to_string(),
            i.credential_id.clone(),
            snap.issuer.clone(),
            snap.external_id.clone(),
            snap.owner.clone(),
            OwnerStatus::or_none(snap.owner_status).into(),
            snap.scopes.join(" "),
            snap.findings.as_deref().unwrap_or("").replace('\n', "; "),
            i.decision.map_or("undecided", ReviewDecisionKind::as_str).into(),
            i.decided_by.clone().unwrap_or_default(),
            i.decided_at.clone().unwrap_or_default(),
            i.reason.clone().unwrap_or_default(),
            i.issuer_answer.clone().unwrap_or_default(),
        ]
    }
}
