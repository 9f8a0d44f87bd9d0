//! The things an operator does. The TUI and the CLI both call these, so every
//! action has one code path, one set of checks and one audit record.
use std::collections::HashMap;
use std::sync::Arc;

use chrono::Utc;
use serde::Serialize;

use crate::connectors::{Connector, ConnectorError};
use crate::domain::{text, CredentialStatus, IssuerAnswer};
use crate::store::{AuditDraft, Store, StoreError};

pub mod bulk;
pub mod review;
pub use bulk::{BulkProgress, OwnerRevokeReport};
pub use review::{ReviewDecision, ReviewEvidence, ReviewOutcome};

#[derive(Debug, thiserror::Error)]
pub enum ActionError {
    #[error("read-only mode: {0} is not allowed")]
    ReadOnly(&'static str),
    #[error("a reason is required")]
    NoReason,
    #[error("{0}")]
    Input(String),
    #[error("refused by policy: {0}")]
    Policy(String),
    #[error("someone else decided first (the issuer answered 409: {0}); the queue was refreshed")]
    Conflict(String),
    #[error("issuer '{0}' is not configured here, so it cannot be reached")]
    NoConnector(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{0}")]
    Issuer(ConnectorError),
}

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

#[derive(Clone)]
pub struct Actions {
    pub store: Store,
    connectors: HashMap<String, Arc<dyn Connector>>,
    pub operator: String,
    pub read_only: bool,
    policy: Arc<crate::policy::PolicyEngine>,
    operators: Arc<std::collections::BTreeMap<String, crate::config::OperatorConfig>>,
}

impl Actions {
    pub fn new(store: Store, connectors: &[Arc<dyn Connector>], operator: &str, read_only: bool) -> Self {
        let connectors = connectors.iter().map(|c| (c.name().to_string(), c.clone())).collect();
        // Embedded at build time and validated by a unit test, so loading cannot fail at run time.
        let policy = Arc::new(crate::policy::PolicyEngine::default_engine().expect("the shipped policies parse (policy::tests guards it)"));
        Actions { store, connectors, operator: operator.to_lowercase(), read_only, policy, operators: Arc::new(Default::default()) }
    }

    /// The organisation's policies and its operators' roles and groups.
    pub fn with_governance(
        mut self,
        policy: crate::policy::PolicyEngine,
        operators: std::collections::BTreeMap<String, crate::config::OperatorConfig>,
    ) -> Self {
        self.policy = Arc::new(policy);
        self.operators = Arc::new(operators.into_iter().map(|(k, v)| (k.to_lowercase(), v)).collect());
        self
    }

    /// With no [operators] configured everyone may approve (a fresh install); otherwise unknown operators are viewers.
    fn people(&self, who: &str) -> crate::config::OperatorConfig {
        match self.operators.get(who) {
            Some(c) => c.clone(),
            None if self.operators.is_empty() => crate::config::OperatorConfig { roles: vec!["approver".into()], groups: Vec::new() },
            None => crate::config::OperatorConfig { roles: vec!["viewer".into()], groups: Vec::new() },
        }
    }

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
            roles: me.roles,
            groups: me.groups,
            read_only: self.read_only,
            requested_by: grant.requested_by.clone().unwrap_or_default(),
            workload_owner,
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

    /// The verdict on approving a grant exactly as asked: the queue shows it.
    pub async fn verdict_as_asked(&self, grant: &crate::domain::Grant) -> Result<crate::policy::Verdict, ActionError> {
        let ctx = self.decision_context(grant, &grant.scopes, policy_ttl(grant.ttl_seconds), grant.binding).await?;
        let mut verdict = self.policy.decide("approve", &ctx);
        if verdict.allowed {
            let finalize = self.policy.decide("finalize", &ctx);
            if !finalize.allowed {
                verdict.second_approval = Some(finalize.explanation());
            }
        }
        Ok(verdict)
    }

    /// A configured issuer's connector, for a sync started from the TUI.
    pub fn connector_named(&self, issuer: &str) -> Option<Arc<dyn Connector>> {
        self.connectors.get(issuer).cloned()
    }

    fn connector(&self, issuer: &str) -> Result<&Arc<dyn Connector>, ActionError> {
        self.connectors.get(issuer).ok_or_else(|| ActionError::NoConnector(issuer.to_string()))
    }

    /// Revokes at the issuer first; the store and the audit log change only on
    /// the issuer's confirmation. Unreachable issuers queue it for retry.
    pub async fn revoke(&self, needle: &str, reason: &str) -> Result<RevokeOutcome, ActionError> {
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
        match connector.revoke(&cred.external_id, &self.operator, &reason).await {
            Ok(answer) => {
                let mut detail = base;
                detail["issuer_answer"] = serde_json::to_value(&answer).unwrap_or_default();
                let draft = AuditDraft { at: Utc::now(), actor: self.operator.clone(), action: "revoke".into(), target, detail };
                let entry = self.store.record_revocation(&id, &draft, &reason).await?;
                Ok(RevokeOutcome {
                    message: format!("revoked at {} (HTTP {})", cred.issuer, answer.status),
                    credential_id: id,
                    issuer: cred.issuer,
                    external_id: cred.external_id,
                    status: RevokeStatus::Revoked,
                    was: cred.status,
                    issuer_answer: Some(answer),
                    audit_seq: entry.seq,
                })
            }
            Err(e) if e.is_retryable() => {
                let retry_at = Utc::now() + chrono::Duration::seconds(30);
                self.store.enqueue_revocation(&id, &cred.issuer, &self.operator, &reason, &e.to_string(), retry_at).await?;
                let mut detail = base;
                detail["error"] = e.to_string().into();
                let draft =
                    AuditDraft { at: Utc::now(), actor: self.operator.clone(), action: "revoke.queued".into(), target, detail };
                let entry = self.store.append_audit(&draft).await?;
                Ok(RevokeOutcome {
                    message: format!("{e}; queued for retry, NOT yet revoked"),
                    credential_id: id,
                    issuer: cred.issuer,
                    external_id: cred.external_id,
                    status: RevokeStatus::Queued,
                    was: cred.status,
                    issuer_answer: None,
                    audit_seq: entry.seq,
                })
            }
            Err(e) => {
                let mut detail = base;
                detail["error"] = e.to_string().into();
                detail["issuer_status"] = e.status().into();
                let draft =
                    AuditDraft { at: Utc::now(), actor: self.operator.clone(), action: "revoke.failed".into(), target, detail };
                self.store.append_audit(&draft).await?;
                Err(ActionError::Issuer(e))
            }
        }
    }

    /// Retries queued revocations once each; returns how many the issuer confirmed.
    pub async fn retry_outbox(&self) -> Result<usize, ActionError> {
        if self.read_only {
            return Ok(0);
        }
        let mut done = 0;
        for item in self.store.pending_revocations().await? {
            let Ok(connector) = self.connector(&item.issuer) else { continue };
            let cred = self.store.credential(&item.credential_id).await?;
            match connector.revoke(&cred.external_id, &item.actor, &item.reason).await {
                Ok(answer) => {
                    let detail = serde_json::json!({"issuer": item.issuer, "reason": item.reason, "attempts": item.attempts + 1,
                        "issuer_answer": answer});
                    let draft = AuditDraft {
                        at: Utc::now(),
                        actor: item.actor.clone(),
                        action: "revoke".into(),
                        target: format!("credential:{}", item.credential_id),
                        detail,
                    };
                    self.store.record_revocation(&item.credential_id, &draft, &item.reason).await?;
                    done += 1;
                }
                Err(e) => {
                    let backoff = 30i64.saturating_mul(1 << item.attempts.clamp(0, 8));
                    self.store.note_outbox_failure(item.id, &e.to_string(), Utc::now() + chrono::Duration::seconds(backoff)).await?;
                }
            }
        }
        Ok(done)
    }
}

/// Largest token accepted on stdin: real bearer tokens and JWTs are far smaller.
pub const MAX_TOKEN_BYTES: usize = 16 * 1024;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TriageFinding {
    pub issuer: String,
    pub introspection: Option<crate::domain::Introspection>,
    pub error: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TriageRevocation {
    pub issuer: String,
    pub revoked: bool,
    /// The issuer's introspection after the revocation answered inactive.
    pub confirmed_inactive: bool,
    pub issuer_answer: Option<IssuerAnswer>,
    pub error: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TriageReport {
    pub fingerprint: String,
    /// The inventory's credential with this fingerprint, if any.
    pub credential: Option<crate::domain::Credential>,
    pub owner_status: Option<String>,
    pub introspections: Vec<TriageFinding>,
    pub inventory_revocation: Option<RevokeOutcome>,
    pub revocations: Vec<TriageRevocation>,
    pub audit_seq: i64,
}

impl TriageReport {
    /// Active somewhere, or held active in the inventory.
    pub fn is_live(&self) -> bool {
        self.introspections.iter().any(|f| f.introspection.as_ref().is_some_and(|i| i.active))
            || self.credential.as_ref().is_some_and(|c| c.status == CredentialStatus::Active)
    }
}

impl Actions {
    /// A leaked token: fingerprint it, find it in the inventory, ask every
    /// introspecting issuer about it, and with a reason revoke it everywhere it
    /// is live. The token goes only to issuers; the store and the log get its fingerprint.
    pub async fn triage(&self, token: &str, revoke_reason: Option<&str>) -> Result<TriageReport, ActionError> {
        let token = token.trim();
        if token.is_empty() {
            return Err(ActionError::Input("no token given (it is read from standard input)".into()));
        }
        if token.len() > MAX_TOKEN_BYTES || token.chars().any(|c| c.is_control() || c.is_whitespace()) {
            return Err(ActionError::Input(format!(
                "that is not one token: at most {MAX_TOKEN_BYTES} bytes, no spaces or control characters"
            )));
        }
        let reason = match revoke_reason {
            Some(r) => {
                if self.read_only {
                    return Err(ActionError::ReadOnly("revoke"));
                }
                let r = text::clean(r.trim(), 2000);
                if r.is_empty() {
                    return Err(ActionError::NoReason);
                }
                Some(r)
            }
            None => None,
        };
        let fingerprint = crate::domain::fingerprint(token.as_bytes());
        let credential = match self.store.resolve(&fingerprint).await {
            Ok(id) => Some(self.store.credential(&id).await?),
            Err(StoreError::NotFound(_)) => None,
            Err(e) => return Err(e.into()),
        };
        let owner_status = match credential.as_ref().and_then(|c| c.owner.clone()) {
            Some(o) => Some(self.store.owner(&o).await?.map(|o| o.status.to_string()).unwrap_or_else(|| "unknown".into())),
            None => None,
        };
        let mut introspectors: Vec<&Arc<dyn Connector>> = self.connectors.values().filter(|c| c.capabilities().introspect).collect();
        introspectors.sort_by(|a, b| a.name().cmp(b.name()));
        let mut introspections = Vec::new();
        for c in &introspectors {
            let (introspection, error) = match c.introspect(token).await {
                Ok(i) => (Some(i), None),
                Err(e) => (None, Some(e.to_string())),
            };
            introspections.push(TriageFinding { issuer: c.name().to_string(), introspection, error });
        }
        let mut inventory_revocation = None;
        let mut revocations = Vec::new();
        if let Some(reason) = &reason {
            if let Some(c) = credential.as_ref().filter(|c| c.status != CredentialStatus::Revoked) {
                if self.connectors.get(&c.issuer).is_some_and(|k| k.capabilities().revoke) {
                    inventory_revocation = Some(self.revoke(&c.id, reason).await?);
                }
            }
            for (c, found) in introspectors.iter().zip(&introspections) {
                if !found.introspection.as_ref().is_some_and(|i| i.active) {
                    continue;
                }
                let mut r = TriageRevocation { issuer: c.name().to_string(), revoked: false, confirmed_inactive: false, issuer_answer: None, error: None };
                match c.revoke_token(token).await {
                    Ok(answer) => {
                        r.revoked = true;
                        r.issuer_answer = Some(answer);
                        r.confirmed_inactive = matches!(c.introspect(token).await, Ok(i) if !i.active);
                    }
                    Err(e) => r.error = Some(e.to_string()),
                }
                revocations.push(r);
            }
        }
        let detail = serde_json::json!({
            "fingerprint": fingerprint,
            "credential": credential.as_ref().map(|c| &c.id),
            "introspections": introspections,
            "reason": reason,
            "revocations": revocations,
        });
        let action = if revocations.iter().any(|r| r.revoked) || inventory_revocation.is_some() { "triage.revoke" } else { "triage" };
        let draft = AuditDraft { at: Utc::now(), actor: self.operator.clone(), action: action.into(), target: format!("fingerprint:{fingerprint}"), detail };
        let entry = self.store.append_audit(&draft).await?;
        Ok(TriageReport { fingerprint, credential, owner_status, introspections, inventory_revocation, revocations, audit_seq: entry.seq })
    }
}

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
fn policy_ttl(ttl: i64) -> i64 {
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
            return Err(ActionError::Input(format!("grant {} is {}, not pending", grant.external_id, grant.status)));
        }
        Ok(grant)
    }

    /// After a 409 the queue is stale: read the issuer's grants again.
    async fn refresh_grants(&self, issuer: &str) {
        if let Ok(c) = self.connector(issuer) {
            if let Ok(grants) = c.list_grants().await {
                let _ = self.store.replace_grants(issuer, &grants, Utc::now()).await;
            }
        }
    }

    fn issuer_error(&self, e: ConnectorError) -> ActionError {
        match e {
            ConnectorError::Rejected { status: 409, message, .. } => ActionError::Conflict(message),
            other => ActionError::Issuer(other),
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
        let verdict = self.policy.decide("approve", &context);
        let target = format!("grant:{}", grant.id);
        if !verdict.allowed {
            let detail = serde_json::json!({"issuer": grant.issuer, "grant": grant.external_id, "scopes": scopes, "ttl": ttl, "binding": binding, "policy": verdict});
            self.store.append_audit(&AuditDraft { at: Utc::now(), actor: self.operator.clone(), action: "approve.refused".into(), target, detail }).await?;
            return Err(ActionError::Policy(verdict.explanation()));
        }
        let finalize = self.policy.decide("finalize", &context);
        if !finalize.allowed {
            let detail = serde_json::json!({"issuer": grant.issuer, "grant": grant.external_id, "scopes": scopes, "ttl": ttl, "binding": binding,
                "justification": justification, "policy": verdict, "waiting_for": finalize.explanation()});
            let entry = AuditDraft { at: Utc::now(), actor: self.operator.clone(), action: "approve.partial".into(), target, detail };
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
        let answer = match connector.approve(&decision).await {
            Ok(a) => a,
            Err(e) => {
                let err = self.issuer_error(e);
                let detail = serde_json::json!({"issuer": grant.issuer, "grant": grant.external_id, "error": err.to_string()});
                self.store
                    .append_audit(&AuditDraft { at: Utc::now(), actor: self.operator.clone(), action: "approve.failed".into(), target: format!("grant:{}", grant.id), detail })
                    .await?;
                if matches!(err, ActionError::Conflict(_)) {
                    self.refresh_grants(&grant.issuer).await;
                }
                return Err(err);
            }
        };
        let credential_id = answer.credential_external_id.as_deref().map(|c| crate::domain::Credential::local_id(&grant.issuer, c));
        let detail = serde_json::json!({
            "issuer": grant.issuer, "grant": grant.external_id, "requested_by": grant.requested_by,
            "scopes_asked": grant.scopes, "scopes_granted": scopes, "ttl_asked": grant.ttl_seconds, "ttl_granted": ttl,
            "binding": binding, "justification": justification, "credential": credential_id, "issuer_answer": answer.answer,
            "policy": verdict, "prior_approvers": context.prior_approvers,
        });
        let entry = AuditDraft { at: Utc::now(), actor: self.operator.clone(), action: "approve".into(), target: format!("grant:{}", grant.id), detail };
        let record = crate::store::GrantDecisionRecord {
            status: crate::domain::GrantStatus::Approved,
            scopes: scopes.clone(),
            note: Some(justification),
            credential_id: credential_id.clone(),
        };
        let written = self.store.record_grant_decision(&grant, &record, &entry).await?;
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
        let verdict = self.policy.decide("deny", &context);
        if !verdict.allowed {
            return Err(ActionError::Policy(verdict.explanation()));
        }
        let answer = match connector.deny(&grant.external_id, &self.operator, &reason).await {
            Ok(a) => a,
            Err(e) => {
                let err = self.issuer_error(e);
                if matches!(err, ActionError::Conflict(_)) {
                    self.refresh_grants(&grant.issuer).await;
                }
                return Err(err);
            }
        };
        let detail = serde_json::json!({"issuer": grant.issuer, "grant": grant.external_id, "requested_by": grant.requested_by, "reason": reason, "issuer_answer": answer});
        let entry = AuditDraft { at: Utc::now(), actor: self.operator.clone(), action: "deny".into(), target: format!("grant:{}", grant.id), detail };
        let record = crate::store::GrantDecisionRecord { status: crate::domain::GrantStatus::Denied, scopes: Vec::new(), note: Some(reason), credential_id: None };
        let written = self.store.record_grant_decision(&grant, &record, &entry).await?;
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
