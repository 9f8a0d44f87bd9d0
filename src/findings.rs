//! The findings engine: every rule of DESIGN.md with its severity and the
//! framework controls it maps to. The rules' SQL lives in each store backend;
//! this module says which rules exist, what they mean, and runs them.
use crate::config::Thresholds;
use crate::domain::{Severity, Timestamp};
use crate::store::{RecomputeReport, RuleSpec, Store, StoreError};

/// One rule: its id (as in `finding:ID` filters and `--rule`), severity, what it
/// means, and its mapping to OWASP NHI Top 10, NIST CSF 2.0 PR.AA and the NIST AI RMF.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Rule {
    pub id: &'static str,
    pub severity: Severity,
    pub fires_when: &'static str,
    pub frameworks: &'static [&'static str],
}

pub const RULES: &[Rule] = &[
    Rule {
        id: "owner-offboarded",
        severity: Severity::High,
        fires_when: "active credential whose owner left",
        frameworks: &["OWASP NHI1", "NIST CSF PR.AA-01", "AI RMF Govern"],
    },
    Rule {
        id: "owner-missing",
        severity: Severity::Medium,
        fires_when: "no owner, or owner unknown to the directory",
        frameworks: &["OWASP NHI1", "NIST CSF PR.AA-01", "AI RMF Govern"],
    },
    Rule {
        id: "stale-unused",
        severity: Severity::Low,
        fires_when: "unused for longer than the stale window",
        frameworks: &["OWASP NHI7", "NIST CSF PR.AA-05", "AI RMF Manage"],
    },
    Rule {
        id: "long-lived",
        severity: Severity::Medium,
        fires_when: "lifetime or age past the maximum for its scope class",
        frameworks: &["OWASP NHI7", "NIST CSF PR.AA-05", "AI RMF Manage"],
    },
    Rule { id: "no-expiry", severity: Severity::Medium, fires_when: "never expires", frameworks: &["OWASP NHI7", "NIST CSF PR.AA-05", "AI RMF Manage"] },
    Rule {
        id: "bearer-sensitive",
        severity: Severity::High,
        fires_when: "sensitive or admin scope on an unbound (bearer) token",
        frameworks: &["OWASP NHI4", "NIST CSF PR.AA-03", "AI RMF Manage"],
    },
    Rule {
        id: "shared-across-workloads",
        severity: Severity::High,
        fires_when: "one credential used by several workloads or origins (forwarding, replay, reuse)",
        frameworks: &["OWASP NHI9", "OWASP NHI2", "NIST CSF PR.AA-03", "AI RMF Measure"],
    },
    Rule {
        id: "used-after-task",
        severity: Severity::High,
        fires_when: "used after its task ended",
        frameworks: &["OWASP agentic: privilege misuse", "NIST CSF PR.AA-05", "AI RMF Measure"],
    },
    Rule {
        id: "scope-beyond-consent",
        severity: Severity::High,
        fires_when: "holds scopes that no consent event granted",
        frameworks: &["OWASP NHI5", "NIST CSF PR.AA-05", "AI RMF Govern"],
    },
    Rule {
        id: "silent-renewal",
        severity: Severity::Medium,
        fires_when: "renewed repeatedly with no fresh consent",
        frameworks: &["OWASP NHI7", "NIST CSF PR.AA-05", "AI RMF Govern"],
    },
    Rule {
        id: "no-consent-trail",
        severity: Severity::Low,
        fires_when: "agent credential with no consent record",
        frameworks: &["NIST CSF PR.AA-05", "AI RMF Govern"],
    },
    Rule {
        id: "human-use",
        severity: Severity::Medium,
        fires_when: "agent credential used interactively by a person",
        frameworks: &["OWASP NHI10", "NIST CSF PR.AA-01", "AI RMF Govern"],
    },
    Rule {
        id: "plaintext-in-config",
        severity: Severity::High,
        fires_when: "active credential found in plain text in an agent configuration (tokenward scan)",
        frameworks: &["OWASP NHI2", "NIST CSF PR.DS-01", "AI RMF Manage"],
    },
    Rule {
        id: "unknown-in-config",
        severity: Severity::High,
        fires_when: "a secret in an agent configuration that no synced issuer knows (a shadow credential; listed by its fingerprint)",
        frameworks: &["OWASP NHI2", "NIST CSF ID.AM-07", "AI RMF Map"],
    },
    Rule {
        id: "revoked-still-deployed",
        severity: Severity::Medium,
        fires_when: "revoked, expired or gone credential still in an agent configuration: the agent will fail, or the file is a leak",
        frameworks: &["OWASP NHI2", "NIST CSF PR.AA-05", "AI RMF Manage"],
    },
];

pub fn rule(id: &str) -> Option<&'static Rule> {
    RULES.iter().find(|r| r.id == id)
}

/// Runs every rule over the store: findings open, stay open, or close.
pub async fn recompute(store: &Store, t: &Thresholds, now: Timestamp) -> Result<RecomputeReport, StoreError> {
    let frameworks: Vec<String> = RULES.iter().map(|r| r.frameworks.join("; ")).collect();
    let specs = RULES
        .iter()
        .zip(&frameworks)
        .map(|(r, f)| RuleSpec { rule: r.id, severity: r.severity, frameworks: f })
        .collect();
    store.recompute_findings(specs, t, now).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_rule_of_design_md_has_a_query_and_frameworks() {
        let design = ["owner-offboarded", "owner-missing", "stale-unused", "long-lived", "no-expiry", "bearer-sensitive", "shared-across-workloads",
            "used-after-task", "scope-beyond-consent", "silent-renewal", "no-consent-trail", "human-use"];
        // Then the two of `tokenward scan` (issue 15): where credentials sit in plain text.
        let scan = ["plaintext-in-config", "unknown-in-config", "revoked-still-deployed"];
        assert_eq!(RULES.iter().map(|r| r.id).collect::<Vec<_>>(), [&design[..], &scan[..]].concat());
        for r in RULES {
            assert!(!r.frameworks.is_empty(), "{}", r.id);
        }
    }
}
