//! What this operator may do at all, asked before a key is pressed: the TUI shows
//! an action it may not take as unavailable, with the reason, instead of opening
//! a form that would only end in a refusal. Each action still checks for itself.
use serde::Serialize;

use super::base::Actions;
use crate::policy::{ActionContext, DecisionContext};

/// The kinds of decision an operator takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Act {
    Approve,
    Deny,
    Revoke,
    RevokeOwner,
    Review,
}

impl Act {
    pub const ALL: [Act; 5] = [Act::Approve, Act::Deny, Act::Revoke, Act::RevokeOwner, Act::Review];

    pub fn label(self) -> &'static str {
        match self {
            Act::Approve => "approve",
            Act::Deny => "deny",
            Act::Revoke => "revoke",
            Act::RevokeOwner => "revoke everything of a person",
            Act::Review => "review decisions",
        }
    }
}

/// For each kind of decision this operator may not take, why not.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Permissions {
    pub unavailable: std::collections::BTreeMap<Act, String>,
}

impl Permissions {
    /// Everything unavailable for one reason (read-only mode, a viewer login).
    pub fn none(reason: &str) -> Permissions {
        Permissions { unavailable: Act::ALL.iter().map(|a| (*a, reason.to_string())).collect() }
    }

    pub fn why_not(&self, act: Act) -> Option<&str> {
        self.unavailable.get(&act).map(String::as_str)
    }

    /// The status line's words for an unavailable action.
    pub fn refusal(&self, act: Act) -> Option<String> {
        self.why_not(act).map(|why| format!("{} is unavailable: {why}", act.label()))
    }

    /// One line for the start of a session: what is unavailable and why.
    pub fn summary(&self) -> Option<String> {
        let first = self.unavailable.values().next()?;
        let names: Vec<&str> = self.unavailable.keys().map(|a| a.label()).collect();
        if self.unavailable.values().all(|w| w == first) {
            return Some(format!("{} unavailable: {first}", names.join(", ")));
        }
        Some(format!("{} unavailable (press the key for the reason)", names.join(", ")))
    }
}

impl Actions {
    /// Read-only mode, then the database (a PostgreSQL login that may record no
    /// decision), then the policies asked about the least a decision can be (a
    /// short, bound, read-only grant; a credential the operator owns).
    pub fn permissions(&self) -> Permissions {
        if self.read_only {
            return Permissions::none("read-only mode (--read-only)");
        }
        if let Some(why) = &self.may_not_record {
            return Permissions::none(why);
        }
        let me = self.people(&self.operator);
        let engine = match self.policy.as_ref() {
            Ok(engine) => engine,
            Err(e) => return Permissions::none(&format!("the policies did not load: {e}")),
        };
        let grant = DecisionContext {
            operator: self.operator.clone(),
            operator_aliases: vec![self.operator.clone()],
            roles: me.roles.clone(),
            groups: me.groups.clone(),
            scope_class: "read".into(),
            ttl_seconds: 300,
            binding: "dpop".into(),
            ..Default::default()
        };
        let on = |owner: &str| ActionContext { operator: self.operator.clone(), roles: me.roles.clone(), groups: me.groups.clone(), read_only: false, owner: owner.into() };
        let mut unavailable = std::collections::BTreeMap::new();
        for act in Act::ALL {
            let verdict = match act {
                Act::Approve => engine.decide("approve", &grant),
                Act::Deny => engine.decide("deny", &grant),
                // At least the operator's own credentials (the policies let owners revoke theirs).
                Act::Revoke => engine.decide_action("revoke", &on(&self.operator)),
                Act::RevokeOwner => engine.decide_action("revoke_owner", &on("")),
                Act::Review => engine.decide_action("review_decide", &on("")),
            };
            if !verdict.allowed {
                unavailable.insert(act, verdict.explanation());
            }
        }
        Permissions { unavailable }
    }
}
