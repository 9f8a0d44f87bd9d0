//! The things an operator does. The TUI and the CLI both call these, so every
//! action has one code path, one set of checks and one audit record.
use std::collections::HashMap;
use std::sync::Arc;

use chrono::Utc;

use crate::connectors::{Connector, ConnectorError};
use crate::store::{AuditDraft, Store, StoreError};

mod bulk;
mod grants;
mod review;
mod revoke;
mod triage;
pub use bulk::{BulkProgress, OwnerRevokeReport};
pub use grants::{ApproveInput, GrantOutcome};
pub use review::{ReviewDecision, ReviewEvidence, ReviewOutcome};
pub use revoke::{RevokeOutcome, RevokeStatus};
pub use triage::{TriageFinding, TriageReport, TriageRevocation, MAX_TOKEN_BYTES};

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

#[derive(Clone)]
pub struct Actions {
    pub store: Store,
    connectors: HashMap<String, Arc<dyn Connector>>,
    pub operator: String,
    pub read_only: bool,
    /// The policies, or why they could not be loaded (then every decision is refused).
    policy: Arc<Result<crate::policy::PolicyEngine, String>>,
    operators: Arc<std::collections::BTreeMap<String, crate::config::OperatorConfig>>,
}

impl Actions {
    pub fn new(store: Store, connectors: &[Arc<dyn Connector>], operator: &str, read_only: bool) -> Self {
        let connectors = connectors.iter().map(|c| (c.name().to_string(), c.clone())).collect();
        // Embedded at build time and validated by a unit test; should they ever fail to load, decisions fail closed.
        let policy = Arc::new(crate::policy::PolicyEngine::default_engine().map_err(|e| e.to_string()));
        Actions { store, connectors, operator: operator.to_lowercase(), read_only, policy, operators: Arc::new(Default::default()) }
    }

    /// The organisation's policies and its operators' roles and groups.
    pub fn with_governance(
        mut self,
        policy: crate::policy::PolicyEngine,
        operators: std::collections::BTreeMap<String, crate::config::OperatorConfig>,
    ) -> Self {
        self.policy = Arc::new(Ok(policy));
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
    /// Cedar's verdict on `action`; refused, with the reason, if the policies did not load.
    fn decide(&self, action: &str, ctx: &crate::policy::DecisionContext) -> crate::policy::Verdict {
        match self.policy.as_ref() {
            Ok(engine) => engine.decide(action, ctx),
            Err(e) => crate::policy::Verdict { allowed: false, reasons: Vec::new(), errors: vec![format!("the policies did not load: {e}")], second_approval: None },
        }
    }

    pub async fn verdict_as_asked(&self, grant: &crate::domain::Grant) -> Result<crate::policy::Verdict, ActionError> {
        let ctx = self.decision_context(grant, &grant.scopes, grants::policy_ttl(grant.ttl_seconds), grant.binding).await?;
        let mut verdict = self.decide("approve", &ctx);
        if verdict.allowed {
            let finalize = self.decide("finalize", &ctx);
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

    /// The audit entry of an action this operator takes now.
    fn audit(&self, action: &str, target: String, detail: serde_json::Value) -> AuditDraft {
        self.audit_at(Utc::now(), action, target, detail)
    }

    /// The audit entry of an action taken at `at` (when one moment is shared with the record).
    fn audit_at(&self, at: crate::domain::Timestamp, action: &str, target: String, detail: serde_json::Value) -> AuditDraft {
        AuditDraft { at, actor: self.operator.clone(), action: action.into(), target, detail }
    }

    fn issuer_error(&self, e: ConnectorError) -> ActionError {
        match e {
            ConnectorError::Rejected { status: 409, message, .. } => ActionError::Conflict(message),
            other => ActionError::Issuer(other),
        }
    }
}
