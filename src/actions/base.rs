//! The `Actions` value every action is a method of (the store, the connectors,
//! the operator, the policies), its errors, and the audit entries it writes.
use std::collections::HashMap;
use std::sync::Arc;

use chrono::Utc;

use crate::connectors::{Connector, ConnectorError};
use crate::store::{ActionClaim, AuditDraft, ClaimGuard, Store, StoreError};

/// How long a claim stands if its outcome is never recorded: far beyond an issuer
/// call's timeout, and cleared at once should the claiming process exit.
const CLAIM_LEASE_MINUTES: i64 = 5;

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
    /// The claim or the intent entry could not be written: the issuer was never called.
    #[error("nothing was sent to the issuer: {0}")]
    NotSent(StoreError),
    /// The issuer acted but its answer could not be recorded: the intent entry stands.
    #[error("{done}, but recording it failed ({error}); audit entry #{intent_seq} announced it, and the next sync shows the issuer's state")]
    Unrecorded { done: String, intent_seq: i64, error: StoreError },
    #[error("{0}")]
    Issuer(ConnectorError),
}

#[derive(Clone)]
pub struct Actions {
    pub store: Store,
    pub(super) connectors: HashMap<String, Arc<dyn Connector>>,
    pub operator: String,
    pub read_only: bool,
    /// The policies, or why they could not be loaded (then every decision is refused).
    pub(super) policy: Arc<Result<crate::policy::PolicyEngine, String>>,
    pub(super) operators: Arc<std::collections::BTreeMap<String, crate::config::OperatorConfig>>,
    /// Why the database records no decision of this login (a PostgreSQL viewer), if so.
    pub(super) may_not_record: Option<String>,
}

impl Actions {
    pub fn new(store: Store, connectors: &[Arc<dyn Connector>], operator: &str, read_only: bool) -> Self {
        let connectors = connectors.iter().map(|c| (c.name().to_string(), c.clone())).collect();
        // Embedded at build time and validated by a unit test; should they ever fail to load, decisions fail closed.
        let policy = Arc::new(crate::policy::PolicyEngine::default_engine().map_err(|e| e.to_string()));
        Actions { store, connectors, operator: operator.to_lowercase(), read_only, policy, operators: Arc::new(Default::default()), may_not_record: None }
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

    /// What the database said of the login: why it may record no decision, if so.
    pub fn with_login_limits(mut self, may_not_record: Option<String>) -> Self {
        self.may_not_record = may_not_record;
        self
    }

    /// A configured issuer's connector, for a sync started from the TUI.
    pub fn connector_named(&self, issuer: &str) -> Option<Arc<dyn Connector>> {
        self.connectors.get(issuer).cloned()
    }

    pub(super) fn connector(&self, issuer: &str) -> Result<&Arc<dyn Connector>, ActionError> {
        self.connectors.get(issuer).ok_or_else(|| ActionError::NoConnector(issuer.to_string()))
    }

    /// The audit entry of an action this operator takes now.
    pub(super) fn audit(&self, action: &str, target: String, detail: serde_json::Value) -> AuditDraft {
        self.audit_at(Utc::now(), action, target, detail)
    }

    /// The audit entry of an action taken at `at` (when one moment is shared with the record).
    pub(super) fn audit_at(&self, at: crate::domain::Timestamp, action: &str, target: String, detail: serde_json::Value) -> AuditDraft {
        AuditDraft { at, actor: self.operator.clone(), action: action.into(), target, detail: redacted(detail) }
    }

    /// Claims the row `guard` names for `action` and writes its intent entry (what
    /// will be sent, by whom, why); only then may the issuer be called.
    pub(super) async fn claim(&self, guard: ClaimGuard, action: &str, target: &str, detail: serde_json::Value) -> Result<ActionClaim, ActionError> {
        let intent = self.audit(&format!("{action}.intent"), target.to_string(), detail);
        self.store.claim_action(&guard, &intent, chrono::Duration::minutes(CLAIM_LEASE_MINUTES)).await.map_err(ActionError::NotSent)
    }

    /// With no [operators] configured everyone may do everything (a fresh install, said at start); otherwise unknown operators are viewers.
    pub(super) fn people(&self, who: &str) -> crate::config::OperatorConfig {
        match self.operators.get(who) {
            Some(c) => c.clone(),
            None if self.operators.is_empty() => crate::config::OperatorConfig { roles: vec!["approver".into(), "admin".into()], ..Default::default() },
            None => crate::config::OperatorConfig { roles: vec!["viewer".into()], ..Default::default() },
        }
    }

    /// Cedar's verdict on a credential action; a refusal is recorded and returned with its reason.
    pub(super) async fn authorize(&self, action: &str, owner: &str, target: String) -> Result<crate::policy::Verdict, ActionError> {
        let me = self.people(&self.operator);
        let ctx = crate::policy::ActionContext { operator: self.operator.clone(), roles: me.roles, groups: me.groups, read_only: self.read_only, owner: owner.to_lowercase() };
        let verdict = match self.policy.as_ref() {
            Ok(engine) => engine.decide_action(action, &ctx),
            Err(e) => crate::policy::Verdict { allowed: false, reasons: Vec::new(), errors: vec![format!("the policies did not load: {e}")], second_approval: None },
        };
        if !verdict.allowed {
            let entry = self.audit(&format!("{action}.refused"), target, serde_json::json!({"policy": verdict}));
            return Err(self.refused(verdict.explanation(), &entry).await);
        }
        Ok(verdict)
    }

    /// A policy refusal, recorded when the store lets this operator write (a
    /// PostgreSQL viewer login may append nothing: then the refusal says so).
    pub(super) async fn refused(&self, explanation: String, entry: &AuditDraft) -> ActionError {
        match self.store.append_audit(entry).await {
            Ok(_) => ActionError::Policy(explanation),
            Err(e) => ActionError::Policy(format!("{explanation} (the refusal could not be recorded: {e})")),
        }
    }

    pub(super) fn issuer_error(&self, e: ConnectorError) -> ActionError {
        match e {
            ConnectorError::Rejected { status: 409, message, .. } => ActionError::Conflict(message),
            other => ActionError::Issuer(other),
        }
    }
}

impl ActionError {
    /// The issuer did `done` but the record of it failed.
    pub(super) fn unrecorded(done: String, claim: &ActionClaim, error: StoreError) -> Self {
        ActionError::Unrecorded { done, intent_seq: claim.intent_seq, error }
    }
}

/// Every string of an audit detail with token-shaped text redacted: the last guard before the log.
fn redacted(detail: serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    match detail {
        Value::String(s) => Value::String(crate::domain::redact::redact(&s)),
        Value::Array(a) => Value::Array(a.into_iter().map(redacted).collect()),
        Value::Object(o) => Value::Object(o.into_iter().map(|(k, v)| (k, redacted(v))).collect()),
        other => other,
    }
}
