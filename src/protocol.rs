//! Inventory protocol v1: the wire types (docs/protocol.md). Shared by the
//! protocol-v1 connector and the reference issuer; nothing else depends on them.
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    #[serde(default)]
    pub next_cursor: Option<String>,
    /// Delta listings (extension): on the first page of a credentials listing, the
    /// issuer's position before it answered; passed back as `since` next time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub watermark: Option<String>,
    /// The page answers `since`: only credentials changed after it, and `removed`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub delta: bool,
    /// Ids of credentials that went since `since` (tombstones), on a delta page.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub removed: Vec<String>,
}

impl<T> Page<T> {
    /// A page of a full listing.
    pub fn new(items: Vec<T>, next_cursor: Option<String>) -> Page<T> {
        Page { items, next_cursor, watermark: None, delta: false, removed: Vec::new() }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WireCredential {
    pub id: String,
    pub kind: String,
    #[serde(default)]
    pub fingerprint: Option<String>,
    #[serde(default)]
    pub client_id: Option<String>,
    #[serde(default)]
    pub subject: Option<String>,
    #[serde(default)]
    pub workload: Option<String>,
    #[serde(default)]
    pub owner: Option<String>,
    #[serde(default)]
    pub scopes: Vec<String>,
    #[serde(default)]
    pub audience: Vec<String>,
    pub binding: String,
    #[serde(default)]
    pub issued_at: Option<String>,
    #[serde(default)]
    pub expires_at: Option<String>,
    #[serde(default)]
    pub last_used_at: Option<String>,
    pub status: String,
    #[serde(default)]
    pub task: Option<WireTask>,
    #[serde(default)]
    pub parent_id: Option<String>,
    #[serde(default)]
    pub act_chain: Vec<String>,
    #[serde(default)]
    pub consent: Vec<WireConsent>,
    #[serde(default)]
    pub usage: Vec<WireUsage>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WireTask {
    pub id: String,
    #[serde(default)]
    pub intent: Option<String>,
    #[serde(default)]
    pub ended_at: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WireConsent {
    pub at: String,
    pub actor: String,
    pub action: String,
    #[serde(default)]
    pub scopes: Vec<String>,
    #[serde(default)]
    pub note: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WireUsage {
    pub at: String,
    #[serde(default)]
    pub workload: Option<String>,
    #[serde(default)]
    pub origin: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WireGrant {
    pub id: String,
    #[serde(default)]
    pub workload: Option<String>,
    #[serde(default)]
    pub requested_by: Option<String>,
    #[serde(default)]
    pub intent: Option<String>,
    #[serde(default)]
    pub scopes: Vec<String>,
    #[serde(default)]
    pub audience: Vec<String>,
    pub ttl_seconds: i64,
    pub binding: String,
    #[serde(default)]
    pub requested_at: Option<String>,
    #[serde(default)]
    pub expires_at: Option<String>,
    pub status: String,
}

/// Extension to v1 (docs/protocol.md): brokers that know people may list them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WireOwner {
    pub email: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub team: Option<String>,
    /// active | offboarded
    pub status: String,
    #[serde(default)]
    pub offboarded_at: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApproveRequest {
    pub approver: String,
    pub scopes: Vec<String>,
    pub ttl_seconds: i64,
    pub justification: String,
    /// Extension: the approver may require a sender-constrained token (dpop | mtls).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub binding: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApproveResponse {
    pub grant: WireGrant,
    pub credential_id: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DenyRequest {
    pub approver: String,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RevokeRequest {
    pub actor: String,
    pub reason: String,
}

/// `POST /v1/credentials/{id}/update`: a review decision that changes a standing
/// credential. Only narrowing: scopes a subset of those held, an earlier expiry;
/// the owner may be anyone. Fields left out stay as they are.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UpdateRequest {
    pub actor: String,
    pub reason: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scopes: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorBody {
    pub error: String,
}
