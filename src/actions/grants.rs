//! Task grants: approve (narrower, shorter, tighter binding allowed, never wider)
//! and deny, checked by policy; the grant claimed and the intent logged, then the
//! issuer asked, then its answer recorded.
use chrono::Utc;
use serde::Serialize;

use super::base::{ActionError, Actions};
use crate::domain::{text, IssuerAnswer};
use crate::store::{ActionClaim, ClaimGuard};

/// An approver's decision on a pending grant: narrower and shorter allowed, never wider.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ApproveInput {
    pub grant: String,
    /// None: the scopes asked.
    pub scopes: Option<Vec<String>>,
    /// None: the TTL asked.
    pub ttl_seconds: Option<i64>,
    /// None: the binding asked. Only ever tightened (bearer -> dpop or mtls).
    pub binding: Option<crate::domain::Binding>,
    pub justification: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GrantOutcome {
    pub grant_id: String,
    pub issuer: String,
    pub external_id: String,
    pub status: crate::domain::GrantStatus,
    pub scopes: Vec<String>,
    pub ttl_seconds: i64,
    pub binding: crate::domain::Binding,
    /// The local id of the credential the approval produced (it appears with the next sync).
    pub credential_id: Option<String>,
    pub issuer_answer: IssuerAnswer,
    /// The first of two approvals was recorded; the issuer is asked on the second.
    pub partial: bool,
    pub policy: Option<crate::policy::Verdict>,
    pub audit_seq: i64,
}

/// The TTL Cedar judges: 0 (never expires) is longer than any ceiling.
pub(super) fn policy_ttl(ttl: i64) -> i64 {
    if ttl == 0 { 100 * 365 * 86_400 } else { ttl }
}

fn binding_rank(b: crate::domain::Binding) -> u8 {
    match b {
        crate::domain::Binding::Bearer => 0,
        crate::domain::Binding::Dpop | crate::domain::Binding::Mtls => 1,
    }
}

impl Actions {
    async fn pending_grant(&self, needle: &str) -> Result<crate::domain::Grant, ActionError> {
        let grant = self.store.grant(needle).await?;
        if grant.status != crate::domain::GrantStatus::Pending {
            // Whoever got there first is named, as a claim's refusal names them: the decision's audit entry says who.
            let log = self.store.audit_for_target(&format!("grant:{}", grant.id), 20).await?;
            let by = log.iter().find(|e| e.action == "approve" || e.action == "deny").map(|e| format!(" by {} at {}", e.actor, e.at)).unwrap_or_default();
            return Err(ActionError::Input(format!("grant {} is {}{by}, not pending", grant.external_id, grant.status)));
        }
        Ok(grant)
    }

    /// The issuer refused or failed a decision: the failure is recorded as the
    /// claim is given up; after a 409 the queue is read again.
    async fn decision_failed(&self, action: &str, grant: &crate::domain::Grant, claim: &ActionClaim, e: crate::connectors::ConnectorError) -> ActionError {
        let err = self.issuer_error(e);
        let detail = serde_json::json!({"issuer": grant.issuer, "grant": grant.external_id, "error": err.to_string()});
        let entry = self.audit(&format!("{action}.failed"), claim.target.clone(), detail);
        if let Err(store) = self.store.release_claim(claim, Some(&entry)).await {
            return ActionError::Unrecorded { done: format!("the issuer refused: {err}"), intent_seq: claim.intent_seq, error: store };
        }
        if matches!(err, ActionError::Conflict(_)) {
            self.refresh_grants(&grant.issuer).await;
        }
        err
    }

    /// After a 409 the queue is stale: read the issuer's grants again.
    async fn refresh_grants(&self, issuer: &str) {
        if let Ok(c) = self.connector(issuer)
            && let Ok(grants) = c.list_grants().await
        {
            let _ = self.store.replace_grants(issuer, &grants, Utc::now()).await;
        }
    }

    pub async fn approve(&self, input: &ApproveInput) -> Result<GrantOutcome, ActionError> {
        if self.read_only {
            return Err(ActionError::ReadOnly("approve"));
        }
        let justification = text::clean(input.justification.trim(), 2000);
        if justification.is_empty() {
            return Err(ActionError::Input("a justification is required".into()));
        }
        let grant = self.pending_grant(&input.grant).await?;
        let scopes = input.scopes.clone().unwrap_or_else(|| grant.scopes.clone());
        if scopes.is_empty() {
            return Err(ActionError::Input("approve at least one scope".into()));
        }
        if let Some(extra) = scopes.iter().find(|s| !grant.scopes.contains(s)) {
            return Err(ActionError::Input(format!("scope {extra} was not asked for: an approval may narrow, never widen")));
        }
        // A TTL of 0 asks for standing access (a token that never expires): it can only be kept as asked or shortened.
        let ttl = input.ttl_seconds.unwrap_or(grant.ttl_seconds);
        if ttl < 0 || (ttl == 0 && grant.ttl_seconds != 0) || (grant.ttl_seconds > 0 && ttl > grant.ttl_seconds) {
            return Err(ActionError::Input(format!("TTL must be between 1 s and the {} s asked", grant.ttl_seconds)));
        }
        let binding = input.binding.unwrap_or(grant.binding);
        if binding_rank(binding) < binding_rank(grant.binding) {
            return Err(ActionError::Input(format!("binding may be tightened, not loosened ({} asked)", grant.binding)));
        }
        let connector = self.connector(&grant.issuer)?;
        let narrowed = scopes != grant.scopes || ttl != grant.ttl_seconds || binding != grant.binding;
        if narrowed && !connector.capabilities().narrow {
            return Err(ActionError::Input(format!(
                "{} ({}) approves a request exactly as asked and cannot narrow it; approve it as asked or deny it and ask for a narrower one",
                grant.issuer,
                connector.kind().as_str()
            )));
        }
        let context = self.decision_context(&grant, &scopes, policy_ttl(ttl), binding).await?;
        let verdict = self.decide("approve", &context);
        let target = format!("grant:{}", grant.id);
        if !verdict.allowed {
            let detail = serde_json::json!({"issuer": grant.issuer, "grant": grant.external_id, "scopes": scopes, "ttl": ttl, "binding": binding, "policy": verdict});
            return Err(self.refused(verdict.explanation(), &self.audit("approve.refused", target, detail)).await);
        }
        let finalize = self.decide("finalize", &context);
        if !finalize.allowed {
            let detail = serde_json::json!({"issuer": grant.issuer, "grant": grant.external_id, "scopes": scopes, "ttl": ttl, "binding": binding,
                "justification": justification, "policy": verdict, "waiting_for": finalize.explanation()});
            let entry = self.audit("approve.partial", target, detail);
            let written = self.store.record_partial_approval(&grant, &scopes, &justification, &entry).await?;
            return Ok(GrantOutcome {
                grant_id: grant.id,
                issuer: grant.issuer,
                external_id: grant.external_id,
                status: crate::domain::GrantStatus::Pending,
                partial: true,
                scopes,
                ttl_seconds: ttl,
                binding,
                credential_id: None,
                issuer_answer: IssuerAnswer { status: 0, body: "not sent: waiting for a second approver from another group".into() },
                policy: Some(verdict),
                audit_seq: written.seq,
            });
        }
        let decision = crate::connectors::Approval {
            external_id: grant.external_id.clone(),
            approver: self.operator.clone(),
            scopes: scopes.clone(),
            ttl_seconds: ttl,
            binding,
            justification: justification.clone(),
        };
        let intent = serde_json::json!({"issuer": grant.issuer, "grant": grant.external_id, "requested_by": grant.requested_by,
            "scopes": scopes, "ttl": ttl, "binding": binding, "justification": justification});
        let claim = self.claim(ClaimGuard::GrantPending(grant.id.clone()), "approve", &target, intent).await?;
        let answer = match connector.approve(&decision).await {
            Ok(a) => a,
            Err(e) => return Err(self.decision_failed("approve", &grant, &claim, e).await),
        };
        let credential_id = answer.credential_external_id.as_deref().map(|c| crate::domain::Credential::local_id(&grant.issuer, c));
        let detail = serde_json::json!({
            "issuer": grant.issuer, "grant": grant.external_id, "requested_by": grant.requested_by,
            "scopes_asked": grant.scopes, "scopes_granted": scopes, "ttl_asked": grant.ttl_seconds, "ttl_granted": ttl,
            "binding": binding, "justification": justification, "credential": credential_id, "issuer_answer": answer.answer,
            "policy": verdict, "prior_approvers": context.prior_approvers,
        });
        let entry = self.audit("approve", format!("grant:{}", grant.id), detail);
        let record = crate::store::GrantDecisionRecord {
            status: crate::domain::GrantStatus::Approved,
            scopes: scopes.clone(),
            note: Some(justification),
            credential_id: credential_id.clone(),
        };
        let done = format!("{} approved grant {} (HTTP {})", grant.issuer, grant.external_id, answer.answer.status);
        let written = self.store.record_grant_decision(&grant, &record, &entry).await.map_err(|e| ActionError::unrecorded(done, &claim, e))?;
        Ok(GrantOutcome {
            grant_id: grant.id,
            issuer: grant.issuer,
            external_id: grant.external_id,
            status: crate::domain::GrantStatus::Approved,
            partial: false,
            scopes,
            ttl_seconds: ttl,
            binding,
            credential_id,
            issuer_answer: answer.answer,
            policy: Some(verdict),
            audit_seq: written.seq,
        })
    }

    pub async fn deny(&self, needle: &str, reason: &str) -> Result<GrantOutcome, ActionError> {
        if self.read_only {
            return Err(ActionError::ReadOnly("deny"));
        }
        let reason = text::clean(reason.trim(), 2000);
        if reason.is_empty() {
            return Err(ActionError::NoReason);
        }
        let grant = self.pending_grant(needle).await?;
        let connector = self.connector(&grant.issuer)?;
        let context = self.decision_context(&grant, &grant.scopes, grant.ttl_seconds, grant.binding).await?;
        let verdict = self.decide("deny", &context);
        let target = format!("grant:{}", grant.id);
        let intent = serde_json::json!({"issuer": grant.issuer, "grant": grant.external_id, "requested_by": grant.requested_by, "reason": reason});
        if !verdict.allowed {
            let mut detail = intent;
            detail["policy"] = serde_json::to_value(&verdict).unwrap_or_default();
            return Err(self.refused(verdict.explanation(), &self.audit("deny.refused", target, detail)).await);
        }
        let claim = self.claim(ClaimGuard::GrantPending(grant.id.clone()), "deny", &target, intent).await?;
        let answer = match connector.deny(&grant.external_id, &self.operator, &reason).await {
            Ok(a) => a,
            Err(e) => return Err(self.decision_failed("deny", &grant, &claim, e).await),
        };
        let detail = serde_json::json!({"issuer": grant.issuer, "grant": grant.external_id, "requested_by": grant.requested_by, "reason": reason, "issuer_answer": answer});
        let entry = self.audit("deny", target, detail);
        let record = crate::store::GrantDecisionRecord { status: crate::domain::GrantStatus::Denied, scopes: Vec::new(), note: Some(reason), credential_id: None };
        let done = format!("{} denied grant {} (HTTP {})", grant.issuer, grant.external_id, answer.status);
        let written = self.store.record_grant_decision(&grant, &record, &entry).await.map_err(|e| ActionError::unrecorded(done, &claim, e))?;
        Ok(GrantOutcome {
            grant_id: grant.id,
            issuer: grant.issuer,
            external_id: grant.external_id,
            status: crate::domain::GrantStatus::Denied,
            partial: false,
            scopes: Vec::new(),
            ttl_seconds: 0,
            binding: grant.binding,
            credential_id: None,
            issuer_answer: answer,
            policy: Some(verdict),
            audit_seq: written.seq,
        })
    }
}

impl Actions {
    /// What Cedar is asked about a decision on a grant.
    pub async fn decision_context(
        &self,
        grant: &crate::domain::Grant,
        scopes: &[String],
        ttl_seconds: i64,
        binding: crate::domain::Binding,
    ) -> Result<crate::policy::DecisionContext, ActionError> {
        use crate::policy::{is_production, is_sensitive, scope_class};
        let me = self.people(&self.operator);
        let mut names = vec![self.operator.clone()];
        names.extend(me.aliases.iter().cloned());
        let operator_aliases = self.store.identities(&names).await?;
        let prior = self.store.prior_approvers(&grant.id).await?;
        let prior_groups = prior.iter().flat_map(|p| self.people(p).groups).collect();
        let workload_owner = match &grant.workload {
            Some(w) => self.store.workload_owner(w).await?.unwrap_or_default(),
            None => String::new(),
        };
        let class = scope_class(scopes);
        let production = is_production(&grant.audience);
        Ok(crate::policy::DecisionContext {
            operator: self.operator.clone(),
            operator_aliases,
            roles: me.roles,
            groups: me.groups,
            read_only: self.read_only,
            requested_by: grant.requested_by.as_deref().unwrap_or_default().trim().to_lowercase(),
            workload_owner: workload_owner.trim().to_lowercase(),
            scopes: scopes.to_vec(),
            scope_class: class.to_string(),
            ttl_seconds,
            binding: binding.as_str().to_string(),
            sensitive: scopes.iter().any(|s| is_sensitive(s)),
            production,
            needs_two: production && class != "read",
            prior_approvers: prior,
            prior_groups,
        })
    }

    /// Cedar's verdict on `action`; refused, with the reason, if the policies did not load.
    fn decide(&self, action: &str, ctx: &crate::policy::DecisionContext) -> crate::policy::Verdict {
        match self.policy.as_ref() {
            Ok(engine) => engine.decide(action, ctx),
            Err(e) => crate::policy::Verdict { allowed: false, reasons: Vec::new(), errors: vec![format!("the policies did not load: {e}")], second_approval: None },
        }
    }

    /// The verdict on approving a grant exactly as asked: the queue shows it.
    pub async fn verdict_as_asked(&self, grant: &crate::domain::Grant) -> Result<crate::policy::Verdict, ActionError> {
        let ctx = self.decision_context(grant, &grant.scopes, policy_ttl(grant.ttl_seconds), grant.binding).await?;
        let mut verdict = self.decide("approve", &ctx);
        if verdict.allowed {
            let finalize = self.decide("finalize", &ctx);
            if !finalize.allowed {
                verdict.second_approval = Some(finalize.explanation());
            }
        }
        Ok(verdict)
    }
}
