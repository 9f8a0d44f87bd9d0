//! Governance's plain types: how urgent a finding is, what one person's
//! departure reaches (the blast radius), and access review campaigns with their
//! items and decisions.
use serde::{Deserialize, Serialize};

use super::inventory::{Binding, CredentialKind, CredentialStatus, Grant, OwnerStatus};

string_enum!(
    /// How urgent a finding is. Ordered most urgent first: sorting ascending puts critical on top.
    #[derive(PartialOrd, Ord)]
    Severity {
    Critical => "critical",
    High => "high",
    Medium => "medium",
    Low => "low",
});

string_enum!(
    /// Why a credential is in someone's blast radius: they own it, or it was
    /// delegated from them (exchanged from one of theirs, or they are in its act chain).
    Relation {
    Owned => "owned",
    Delegated => "delegated",
});

string_enum!(
    /// What a reviewer decides on a review item.
    ReviewDecisionKind {
    Keep => "keep",
    Revoke => "revoke",
    Reassign => "reassign",
    Shorten => "shorten",
    Reduce => "reduce",
});

/// A credential in someone's blast radius and why it is there.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BlastItem {
    pub credential_id: String,
    pub issuer: String,
    pub external_id: String,
    pub kind: CredentialKind,
    pub owner: String,
    pub workload: String,
    #[serde(with = "crate::domain::wire::spaced")]
    pub scopes: Vec<String>,
    pub status: CredentialStatus,
    pub relation: Relation,
    /// For a delegated credential: the credential it descends from.
    pub via: Option<String>,
}

/// Everything one person holds.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BlastRadius {
    pub owner: String,
    /// As the directory knows them; none when it does not.
    pub status: Option<OwnerStatus>,
    /// Live credentials (active) first; revoked/expired/gone ones are listed for the record.
    pub credentials: Vec<BlastItem>,
    pub pending_grants: Vec<Grant>,
    /// More than the store's cap of credentials: only the first ones are listed (and revoked by one run).
    pub truncated: bool,
}

impl BlastRadius {
    /// What a bulk revoke would revoke: the active credentials, owned or delegated.
    pub fn revocable(&self) -> impl Iterator<Item = &BlastItem> {
        self.credentials.iter().filter(|c| c.status == CredentialStatus::Active)
    }
}

/// An access review campaign and its progress.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Campaign {
    pub id: i64,
    pub name: String,
    pub filter: Option<String>,
    pub created_by: String,
    pub created_at: String,
    pub items: i64,
    pub decided: i64,
}

/// One credential of a campaign, as it stood when the campaign started, and what was decided.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReviewItem {
    pub id: i64,
    pub campaign_id: i64,
    pub credential_id: String,
    /// The credential as it stood when the campaign started.
    pub snapshot: ReviewSnapshot,
    pub decision: Option<ReviewDecisionKind>,
    pub decided_by: Option<String>,
    pub decided_at: Option<String>,
    pub reason: Option<String>,
    /// The decision's parameters (new owner, TTL, scopes kept), JSON.
    pub detail: Option<serde_json::Value>,
    pub issuer_answer: Option<String>,
}

/// What a reviewer needs of a credential, kept as it was when the campaign
/// started (a JSON object in the store, its fields in this order). Times are
/// kept as the store wrote them; a field missing from an older snapshot reads
/// as its default.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ReviewSnapshot {
    pub id: String,
    pub issuer: String,
    pub external_id: String,
    pub kind: CredentialKind,
    pub owner: String,
    /// `none` when the credential has no owner.
    #[serde(with = "crate::domain::wire::owner_status")]
    pub owner_status: Option<OwnerStatus>,
    pub workload: String,
    #[serde(with = "crate::domain::wire::spaced")]
    pub scopes: Vec<String>,
    #[serde(with = "crate::domain::wire::spaced")]
    pub audience: Vec<String>,
    pub binding: Binding,
    pub issued_at: Option<String>,
    pub expires_at: Option<String>,
    pub last_used_at: Option<String>,
    pub status: CredentialStatus,
    pub task_id: Option<String>,
    /// Its open findings, one `rule: summary` a line.
    pub findings: Option<String>,
    /// Its consent trail, one event a line.
    pub consent: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn severities_sort_most_urgent_first() {
        let mut all = vec![Severity::Low, Severity::Critical, Severity::Medium, Severity::High];
        all.sort();
        assert_eq!(all, [Severity::Critical, Severity::High, Severity::Medium, Severity::Low]);
        assert_eq!(Severity::ALL, all.as_slice());
        assert!(Severity::Critical < Severity::Low);
        assert_eq!(Severity::parse("medium"), Some(Severity::Medium));
        assert_eq!(serde_json::to_string(&Severity::High).unwrap(), "\"high\"");
    }

    #[test]
    fn a_review_snapshot_round_trips_as_the_store_writes_it() {
        // As json_object() in the store writes it: lists space-separated, no owner as "none", nulls kept.
        let stored = r#"{"id":"c1","issuer":"broker","external_id":"x1","kind":"api_key","owner":"","owner_status":"none","workload":"w","scopes":"repo admin:org","audience":"","binding":"dpop","issued_at":"2026-01-01T00:00:00Z","expires_at":null,"last_used_at":null,"status":"revoked","task_id":null,"findings":"owner-missing: no owner","consent":null}"#;
        let snap: ReviewSnapshot = serde_json::from_str(stored).unwrap();
        assert_eq!(snap.kind, CredentialKind::ApiKey);
        assert_eq!(snap.owner_status, None);
        assert_eq!(snap.scopes, ["repo", "admin:org"]);
        assert!(snap.audience.is_empty());
        assert_eq!(snap.binding, Binding::Dpop);
        assert_eq!(snap.status, CredentialStatus::Revoked);
        assert_eq!(snap.findings.as_deref(), Some("owner-missing: no owner"));
        assert_eq!(serde_json::to_string(&snap).unwrap(), stored);

        let owned: ReviewSnapshot = serde_json::from_str(r#"{"owner":"a@b.c","owner_status":"offboarded","extra":1}"#).unwrap();
        assert_eq!(owned.owner_status, Some(OwnerStatus::Offboarded));
        assert_eq!(owned.kind, CredentialKind::AccessToken);
        assert!(owned.scopes.is_empty());
    }
}
