//! Policy-as-code with Cedar: who may approve what, for how long, with which
//! binding, and when two people must agree. Policies are files (`policies/`,
//! shipped as defaults, overridable); every verdict carries its explanation.
use std::path::Path;
use std::str::FromStr;

use cedar_policy::{ActionConstraint, Authorizer, Context, Decision, Entities, EntityUid, PolicySet, Request, Schema, ValidationMode, Validator};
use serde::Serialize;

pub const DEFAULT_SCHEMA: &str = include_str!("../policies/tokenward.cedarschema");
pub const DEFAULT_POLICIES: &str = include_str!("../policies/default.cedar");

#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    #[error("policy schema: {0}")]
    Schema(String),
    #[error("policies: {0}")]
    Parse(String),
    #[error("cannot read {0}")]
    Read(String),
}

pub struct PolicyEngine {
    schema: Schema,
    policies: PolicySet,
    /// Where the policies came from, for messages.
    pub source: String,
}

/// Everything a policy may look at (see policies/tokenward.cedarschema).
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct DecisionContext {
    pub operator: String,
    /// Every name the operator goes by: the identity, its configured aliases and
    /// the directory's emails and logins of the same person (a GitHub login).
    pub operator_aliases: Vec<String>,
    pub roles: Vec<String>,
    pub groups: Vec<String>,
    pub read_only: bool,
    pub requested_by: String,
    pub workload_owner: String,
    pub scopes: Vec<String>,
    pub scope_class: String,
    pub ttl_seconds: i64,
    pub binding: String,
    pub sensitive: bool,
    pub production: bool,
    pub needs_two: bool,
    pub prior_approvers: Vec<String>,
    pub prior_groups: Vec<String>,
}

/// What a policy on a credential action (revoke, revoke_owner, review_decide, triage_revoke) may look at.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct ActionContext {
    pub operator: String,
    pub roles: Vec<String>,
    pub groups: Vec<String>,
    pub read_only: bool,
    /// The credential's owner or the person offboarded; empty if unknown.
    pub owner: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PolicyReason {
    pub policy: String,
    pub effect: String,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Verdict {
    pub allowed: bool,
    /// The policies that decided, with their @reason.
    pub reasons: Vec<PolicyReason>,
    pub errors: Vec<String>,
    /// Allowed, but this approval is the first of two: why a second approver is needed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub second_approval: Option<String>,
}

impl Verdict {
    pub fn explanation(&self) -> String {
        // Refused with only the permits that would have allowed it: say what they ask for.
        if !self.allowed && !self.reasons.is_empty() && self.reasons.iter().all(|r| r.effect == "permit") {
            let needs: Vec<String> = self.reasons.iter().map(|r| format!("{}: {}", r.policy, r.reason)).collect();
            return format!("no policy permits it ({})", needs.join("; "));
        }
        if self.reasons.is_empty() && self.errors.is_empty() {
            return if self.allowed { "allowed".into() } else { "no policy permits it (the operator needs the approver or admin role)".into() };
        }
        let mut parts: Vec<String> = self.reasons.iter().map(|r| format!("{}: {}", r.policy, r.reason)).collect();
        parts.extend(self.errors.iter().map(|e| format!("policy error: {e}")));
        parts.join("; ")
    }
}

/// The widest class among scopes: admin beats write beats read.
pub fn scope_class(scopes: &[String]) -> &'static str {
    if scopes.iter().any(|s| s.starts_with("admin:") || s.ends_with(":admin") || s.contains("administration")) {
        "admin"
    } else if scopes.iter().any(|s| s.ends_with(":write") || s.ends_with(":prod") || s.contains(":write:")) {
        "write"
    } else {
        "read"
    }
}

/// Scopes whose theft hurts: admin, money, secrets, production deploys, any write.
pub fn is_sensitive(scope: &str) -> bool {
    scope.starts_with("admin:") || scope.starts_with("payments:") || scope.starts_with("secrets:") || scope.ends_with(":prod") || scope.ends_with(":write")
}

/// An audience is production unless it says it is not.
pub fn is_production(audience: &[String]) -> bool {
    audience.is_empty() || audience.iter().any(|a| !["staging", "dev", "sandbox", "test."].iter().any(|m| a.contains(m)))
}

impl PolicyEngine {
    pub fn default_engine() -> Result<Self, PolicyError> {
        Self::from_sources(DEFAULT_SCHEMA, DEFAULT_POLICIES, "built-in policies".into())
    }

    /// `dir/*.cedar` (and `dir/tokenward.cedarschema` if present), or the defaults.
    pub fn load(dir: Option<&Path>) -> Result<Self, PolicyError> {
        let Some(dir) = dir else { return Self::default_engine() };
        let read = |p: &Path| std::fs::read_to_string(p).map_err(|e| PolicyError::Read(format!("{}: {e}", p.display())));
        let schema_path = dir.join("tokenward.cedarschema");
        let schema = if schema_path.exists() { read(&schema_path)? } else { DEFAULT_SCHEMA.to_string() };
        let mut files: Vec<_> = std::fs::read_dir(dir)
            .map_err(|e| PolicyError::Read(format!("{}: {e}", dir.display())))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "cedar"))
            .collect();
        files.sort();
        if files.is_empty() {
            return Err(PolicyError::Read(format!("{}: no .cedar files", dir.display())));
        }
        let mut text = String::new();
        for f in &files {
            text.push_str(&read(f)?);
            text.push('\n');
        }
        Self::from_sources(&schema, &text, dir.display().to_string())
    }

    pub fn from_sources(schema: &str, policies: &str, source: String) -> Result<Self, PolicyError> {
        let (schema, _warnings) = Schema::from_cedarschema_str(schema).map_err(|e| PolicyError::Schema(format!("{e:?}")))?;
        let policies = PolicySet::from_str(policies).map_err(|e| PolicyError::Parse(format!("{e}")))?;
        Ok(PolicyEngine { schema, policies, source })
    }

    /// Problems of the policies against the schema (strict validation); empty when sound.
    pub fn check(&self) -> Vec<String> {
        let result = Validator::new(self.schema.clone()).validate(&self.policies, ValidationMode::Strict);
        let mut problems: Vec<String> = result.validation_errors().map(|e| e.to_string()).collect();
        problems.extend(self.policies.policies().filter(|p| p.annotation("reason").is_none()).map(|p| format!("policy {} has no @reason for operators", p.id())));
        problems
    }

    pub fn decide(&self, action: &str, ctx: &DecisionContext) -> Verdict {
        self.decide_on(action, "Grant", &ctx.operator, ctx)
    }

    /// A verdict on a credential action; refused by default, it names the permits that would allow it.
    pub fn decide_action(&self, action: &str, ctx: &ActionContext) -> Verdict {
        let mut verdict = self.decide_on(action, "Credential", &ctx.operator, ctx);
        if !verdict.allowed && verdict.reasons.is_empty() && verdict.errors.is_empty() {
            verdict.reasons = self.permits_for(action);
        }
        verdict
    }

    /// The permit policies whose scope names `action`, with their reasons.
    fn permits_for(&self, action: &str) -> Vec<PolicyReason> {
        let names = |u: &EntityUid| u.id().unescaped() == action;
        self.policies
            .policies()
            .filter(|p| p.effect() == cedar_policy::Effect::Permit)
            .filter(|p| match p.action_constraint() {
                ActionConstraint::Any => false,
                ActionConstraint::Eq(u) => names(&u),
                ActionConstraint::In(us) => us.iter().any(names),
            })
            .map(|p| PolicyReason {
                policy: p.annotation("id").map(str::to_string).unwrap_or_else(|| p.id().to_string()),
                effect: "permit".into(),
                reason: p.annotation("reason").unwrap_or("").to_string(),
            })
            .collect()
    }

    fn decide_on(&self, action: &str, resource_type: &str, operator: &str, ctx: &impl Serialize) -> Verdict {
        let fail = |e: String| Verdict { allowed: false, reasons: Vec::new(), errors: vec![e], second_approval: None };
        let uid = |s: &str| EntityUid::from_str(s).map_err(|e| e.to_string());
        let (principal, action_uid, resource) = match (
            uid(&format!("Tokenward::Operator::{}", serde_json::Value::String(operator.to_string()))),
            uid(&format!("Tokenward::Action::\"{action}\"")),
            uid(&format!("Tokenward::{resource_type}::\"{}\"", resource_type.to_lowercase())),
        ) {
            (Ok(p), Ok(a), Ok(r)) => (p, a, r),
            (Err(e), _, _) | (_, Err(e), _) | (_, _, Err(e)) => return fail(e),
        };
        let json = match serde_json::to_value(ctx) {
            Ok(j) => j,
            Err(e) => return fail(e.to_string()),
        };
        let context = match Context::from_json_value(json, Some((&self.schema, &action_uid))) {
            Ok(c) => c,
            Err(e) => return fail(e.to_string()),
        };
        let request = match Request::new(principal, action_uid, resource, context, Some(&self.schema)) {
            Ok(r) => r,
            Err(e) => return fail(e.to_string()),
        };
        let response = Authorizer::new().is_authorized(&request, &self.policies, &Entities::empty());
        let allowed = response.decision() == Decision::Allow;
        let reasons: Vec<PolicyReason> = response
            .diagnostics()
            .reason()
            .map(|id| {
                let p = self.policies.policy(id);
                PolicyReason {
                    policy: p.and_then(|p| p.annotation("id")).map(str::to_string).unwrap_or_else(|| id.to_string()),
                    effect: p.map(|p| format!("{:?}", p.effect()).to_lowercase()).unwrap_or_default(),
                    reason: p.and_then(|p| p.annotation("reason")).unwrap_or("").to_string(),
                }
            })
            .collect();
        // Cedar reports the deciding policies as a set: sort them so explanations are stable.
        let mut reasons: Vec<PolicyReason> = reasons;
        reasons.sort_by(|a, b| a.policy.cmp(&b.policy));
        Verdict { allowed, reasons, errors: response.diagnostics().errors().map(|e| e.to_string()).collect(), second_approval: None }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx() -> DecisionContext {
        DecisionContext {
            operator: "oncall@acme.test".into(),
            roles: vec!["approver".into()],
            groups: vec!["security".into()],
            requested_by: "ana@acme.test".into(),
            workload_owner: "bo@acme.test".into(),
            scopes: vec!["repo:read".into()],
            scope_class: "read".into(),
            ttl_seconds: 3600,
            binding: "bearer".into(),
            ..Default::default()
        }
    }

    fn engine() -> PolicyEngine {
        PolicyEngine::default_engine().expect("default policies load")
    }

    fn denied_by(v: &Verdict) -> Vec<&str> {
        v.reasons.iter().filter(|r| r.effect == "forbid").map(|r| r.policy.as_str()).collect()
    }

    #[test]
    fn the_shipped_policies_validate_against_the_schema() {
        assert_eq!(engine().check(), Vec::<String>::new());
    }

    #[test]
    fn an_approver_may_approve_a_plain_read_grant() {
        let v = engine().decide("approve", &ctx());
        assert!(v.allowed, "{v:?}");
        assert_eq!(v.reasons[0].policy, "approvers-decide");
        assert_eq!(v.explanation(), "approvers-decide: operators with the approver or admin role may approve and deny grants");
    }

    #[test]
    fn viewers_and_read_only_may_not() {
        let v = engine().decide("approve", &DecisionContext { roles: vec!["viewer".into()], ..ctx() });
        assert!(!v.allowed);
        assert!(v.explanation().contains("approver or admin role"));
        let v = engine().decide("deny", &DecisionContext { read_only: true, ..ctx() });
        assert_eq!(denied_by(&v), ["read-only"]);
    }

    #[test]
    fn no_self_approval_by_requester_or_workload_owner() {
        let v = engine().decide("approve", &DecisionContext { operator: "ana@acme.test".into(), ..ctx() });
        assert_eq!(denied_by(&v), ["no-self-approval"]);
        let v = engine().decide("approve", &DecisionContext { operator: "bo@acme.test".into(), ..ctx() });
        assert_eq!(denied_by(&v), ["no-self-approval"]);
        assert!(engine().decide("deny", &DecisionContext { operator: "ana@acme.test".into(), ..ctx() }).allowed, "anyone may deny their own ask");
    }

    #[test]
    fn a_login_of_the_operator_is_the_operator_for_no_self_approval() {
        let mine = DecisionContext { operator_aliases: vec!["oncall@acme.test".into(), "oncall-gh".into()], ..ctx() };
        assert!(engine().decide("approve", &mine).allowed, "neither the requester nor the workload owner is one of the operator's names");
        let v = engine().decide("approve", &DecisionContext { requested_by: "oncall-gh".into(), ..mine.clone() });
        assert_eq!(denied_by(&v), ["no-self-approval"], "a GitHub request under the operator's login");
        let v = engine().decide("approve", &DecisionContext { workload_owner: "oncall-gh".into(), ..mine.clone() });
        assert_eq!(denied_by(&v), ["no-self-approval"], "a workload owned under the operator's login");
        let no_one = DecisionContext { requested_by: String::new(), workload_owner: String::new(), ..mine };
        assert!(engine().decide("approve", &no_one).allowed, "an unknown requester is nobody's alias");
    }

    #[test]
    fn ttl_ceilings_per_scope_class() {
        let admin = DecisionContext { scope_class: "admin".into(), binding: "dpop".into(), ..ctx() };
        assert!(engine().decide("approve", &admin).allowed);
        let v = engine().decide("approve", &DecisionContext { ttl_seconds: 3601, ..admin });
        assert_eq!(denied_by(&v), ["max-ttl-admin"]);
        assert!(v.explanation().contains("at most 1 hour"));
        let write = DecisionContext { scope_class: "write".into(), ttl_seconds: 28_800, ..ctx() };
        assert!(engine().decide("approve", &write).allowed);
        assert_eq!(denied_by(&engine().decide("approve", &DecisionContext { ttl_seconds: 28_801, ..write })), ["max-ttl-write"]);
        assert_eq!(denied_by(&engine().decide("approve", &DecisionContext { ttl_seconds: 86_401, ..ctx() })), ["max-ttl-read"]);
    }

    #[test]
    fn bearer_on_a_sensitive_scope_needs_binding_or_narrowing() {
        let v = engine().decide("approve", &DecisionContext { sensitive: true, ..ctx() });
        assert_eq!(denied_by(&v), ["no-bearer-on-sensitive"]);
        assert!(engine().decide("approve", &DecisionContext { sensitive: true, binding: "mtls".into(), ..ctx() }).allowed);
    }

    #[test]
    fn the_second_approver_is_another_person_from_another_group() {
        let two = DecisionContext { needs_two: true, prior_approvers: vec!["first@acme.test".into()], prior_groups: vec!["platform".into()], ..ctx() };
        assert!(engine().decide("approve", &two).allowed);
        let same_person = DecisionContext { operator: "first@acme.test".into(), ..two.clone() };
        assert_eq!(denied_by(&engine().decide("approve", &same_person)), ["second-approver-differs"]);
        let same_group = DecisionContext { groups: vec!["platform".into()], ..two };
        assert_eq!(denied_by(&engine().decide("approve", &same_group)), ["second-approver-other-group"]);
    }

    #[test]
    fn the_first_approval_of_admin_or_write_in_production_is_partial() {
        let first = DecisionContext { needs_two: true, ..ctx() };
        assert!(engine().decide("approve", &first).allowed);
        let v = engine().decide("finalize", &first);
        assert_eq!(denied_by(&v), ["two-person-rule"]);
        let second = DecisionContext { prior_approvers: vec!["x@acme.test".into()], ..first };
        assert!(engine().decide("finalize", &second).allowed);
        assert!(engine().decide("finalize", &ctx()).allowed, "read access completes with one approval");
    }

    fn act(roles: &[&str]) -> ActionContext {
        ActionContext { operator: "oncall@acme.test".into(), roles: roles.iter().map(|r| r.to_string()).collect(), owner: "bo@acme.test".into(), ..Default::default() }
    }

    #[test]
    fn revocations_and_review_decisions_need_their_roles() {
        let e = engine();
        assert!(e.decide_action("revoke", &act(&["approver"])).allowed);
        assert!(e.decide_action("triage_revoke", &act(&["admin"])).allowed);
        let v = e.decide_action("revoke", &act(&["viewer"]));
        assert!(!v.allowed);
        assert_eq!(v.explanation(), "no policy permits it (revokers: operators with the approver or admin role, or the credential's owner, may revoke it)");
        assert!(e.decide_action("revoke", &ActionContext { operator: "bo@acme.test".into(), ..act(&["viewer"]) }).allowed, "owners may revoke their own");
        assert!(!e.decide_action("revoke", &ActionContext { owner: String::new(), operator: String::new(), ..act(&["viewer"]) }).allowed);
        assert!(!e.decide_action("revoke_owner", &act(&["approver"])).allowed);
        assert!(e.decide_action("revoke_owner", &act(&["admin"])).allowed);
        assert!(e.decide_action("review_decide", &act(&["reviewer"])).allowed);
        assert!(!e.decide_action("review_decide", &act(&["viewer"])).allowed);
        let v = e.decide_action("revoke", &ActionContext { read_only: true, ..act(&["admin"]) });
        assert_eq!(denied_by(&v), ["read-only"]);
    }

    #[test]
    fn classes_and_sensitivity() {
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert_eq!(scope_class(&s(&["repo:read", "admin:org"])), "admin");
        assert_eq!(scope_class(&s(&["repo:write"])), "write");
        assert_eq!(scope_class(&s(&["repo:read"])), "read");
        assert!(is_sensitive("payments:read") && is_sensitive("deploy:prod") && !is_sensitive("repo:read"));
        assert!(is_production(&s(&["https://api.acme.test/payments"])) && !is_production(&s(&["https://staging.acme.test"])));
    }

    #[test]
    fn a_broken_policy_file_is_refused_with_the_reason() {
        let err = PolicyEngine::from_sources(DEFAULT_SCHEMA, "permit (principal, action, resource) when { context.nope ", "t".into());
        assert!(matches!(err, Err(PolicyError::Parse(_))));
        let e = PolicyEngine::from_sources(DEFAULT_SCHEMA, "@id(\"x\") @reason(\"r\") permit (principal, action, resource) when { context.no_such_field };", "t".into()).expect("parses");
        assert!(!e.check().is_empty(), "strict validation finds the unknown attribute");
    }
}
