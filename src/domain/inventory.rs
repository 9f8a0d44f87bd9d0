//! The inventory's plain types: credentials, owners, grants.
use serde::{Deserialize, Serialize};

use super::time::Timestamp;




/// `sha256:` + hex of the token: the only form in which a secret is ever kept.
pub fn fingerprint(secret: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    format!("sha256:{}", hex::encode(Sha256::digest(secret)))
}

string_enum!(
    /// An unknown kind reads as an access token.
    #[derive(Default)]
    CredentialKind {
    #[default]
    AccessToken => "access_token",
    RefreshToken => "refresh_token",
    ApiKey => "api_key",
    PersonalAccessToken => "personal_access_token",
    ClientSecret => "client_secret",
    Svid => "svid",
});

string_enum!(
    /// How a credential is tied to its holder: a bearer token works for anyone who has it.
    #[derive(Default)]
    Binding {
    #[default]
    Bearer => "bearer",
    Dpop => "dpop",
    Mtls => "mtls",
});

string_enum!(
    /// `gone` means the issuer no longer lists it; the row stays for history.
    #[derive(Default)]
    CredentialStatus {
    #[default]
    Active => "active",
    Expired => "expired",
    Revoked => "revoked",
    Gone => "gone",
});

string_enum!(OwnerStatus {
    Active => "active",
    Offboarded => "offboarded",
    Unknown => "unknown",
});

impl OwnerStatus {
    /// How a credential's owner status reads: `none` when it has no owner.
    pub fn or_none(status: Option<OwnerStatus>) -> &'static str {
        status.map_or("none", OwnerStatus::as_str)
    }
}

string_enum!(
    /// How a sync run stands: still going (or killed part-way), done, or stopped by an error.
    SyncStatus {
    Running => "running",
    Ok => "ok",
    Failed => "failed",
});

string_enum!(GrantStatus {
    Pending => "pending",
    Approved => "approved",
    Denied => "denied",
    Expired => "expired",
});

string_enum!(
    #[derive(Default)]
    IssuerKind {
    #[default]
    Tokenward => "tokenward",
    Scim => "scim",
    Oauth => "oauth",
    Github => "github",
    Vault => "vault",
    AwsIam => "aws-iam",
});

/// A credential as tokenward keeps it. `id` is local and stable: derived from
/// (issuer, external_id), so re-syncs update the same row.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Credential {
    pub id: String,
    pub issuer: String,
    pub external_id: String,
    pub kind: CredentialKind,
    pub fingerprint: Option<String>,
    pub client_id: Option<String>,
    pub subject: Option<String>,
    pub workload: Option<String>,
    pub owner: Option<String>,
    pub scopes: Vec<String>,
    pub audience: Vec<String>,
    pub binding: Binding,
    pub issued_at: Option<Timestamp>,
    pub expires_at: Option<Timestamp>,
    pub last_used_at: Option<Timestamp>,
    pub status: CredentialStatus,
    pub task: Option<Task>,
    pub parent_id: Option<String>,
    /// Outermost actor first (RFC 8693 `act` nesting, flattened).
    pub act_chain: Vec<String>,
    pub consent: Vec<ConsentEvent>,
    pub usage: Vec<UsageEvent>,
}

impl Credential {
    pub fn local_id(issuer: &str, external_id: &str) -> String {
        use sha2::{Digest, Sha256};
        let mut h = Sha256::new();
        h.update(issuer.as_bytes());
        h.update([0u8]);
        h.update(external_id.as_bytes());
        hex::encode(&h.finalize()[..8])
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Task {
    pub id: String,
    pub intent: Option<String>,
    pub ended_at: Option<Timestamp>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConsentEvent {
    pub at: Timestamp,
    pub actor: String,
    pub action: String,
    pub scopes: Vec<String>,
    pub note: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UsageEvent {
    pub at: Timestamp,
    pub workload: Option<String>,
    pub origin: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Owner {
    /// Lower-cased email: the join key between directory and credentials.
    pub email: String,
    pub name: Option<String>,
    pub team: Option<String>,
    pub status: OwnerStatus,
    pub source: Option<String>,
    pub offboarded_at: Option<Timestamp>,
    /// Set on a directory's alias record (a code host login such as a GitHub
    /// login): the lower-cased email of the person it names.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alias_of: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Grant {
    pub id: String,
    pub issuer: String,
    pub external_id: String,
    pub workload: Option<String>,
    pub requested_by: Option<String>,
    pub intent: Option<String>,
    pub scopes: Vec<String>,
    pub audience: Vec<String>,
    pub ttl_seconds: i64,
    pub binding: Binding,
    pub requested_at: Option<Timestamp>,
    pub expires_at: Option<Timestamp>,
    pub status: GrantStatus,
}

/// RFC 7662: what an authorization server says of a token.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Introspection {
    pub active: bool,
    pub scopes: Vec<String>,
    pub client_id: Option<String>,
    pub subject: Option<String>,
    pub audience: Vec<String>,
    pub expires_at: Option<Timestamp>,
    pub issued_at: Option<Timestamp>,
    pub token_type: Option<String>,
    pub issuer: Option<String>,
}

/// A change to a live credential that a review decided: a new owner, fewer
/// scopes or an earlier expiry (each only when set), with who asked and why.
#[derive(Debug, Clone, PartialEq)]
pub struct CredentialChange {
    pub actor: String,
    pub reason: String,
    pub owner: Option<String>,
    pub scopes: Option<Vec<String>>,
    pub expires_at: Option<Timestamp>,
}

/// What an issuer said to an action, kept (sanitized, token-shaped text redacted) in the audit log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IssuerAnswer {
    pub status: u16,
    pub body: String,
}

/// Longest issuer answer kept, in characters.
pub const MAX_ANSWER: usize = 1000;

impl IssuerAnswer {
    /// From a raw body: cleaned whole first (so no hidden character splits a token), redacted, then capped.
    pub fn from_body(status: u16, body: &[u8]) -> IssuerAnswer {
        let whole = super::text::clean(&String::from_utf8_lossy(body), usize::MAX);
        IssuerAnswer { status, body: super::text::clean(&super::redact::redact(&whole), MAX_ANSWER) }
    }
}


#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprint_is_sha256_hex() {
        assert_eq!(
            fingerprint(b"abc"),
            "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn local_id_is_stable_and_issuer_scoped() {
        let a = Credential::local_id("broker", "c1");
        assert_eq!(a.len(), 16);
        assert_eq!(a, Credential::local_id("broker", "c1"));
        assert_ne!(a, Credential::local_id("other", "c1"));
    }
}
