//! The contract every issuer kind keeps: the `Connector` trait, what it can do,
//! its pages, its errors, and the HTTP settings the connectors share.
use std::time::Duration;

use futures_util::future::BoxFuture;
use secrecy::SecretString;

use crate::config::IssuerConfig;
use crate::domain::{Credential, Grant, Introspection, IssuerAnswer, IssuerKind, Owner};

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ConnectorError {
    /// The issuer could not be reached (connect, timeout): worth retrying later.
    #[error("{issuer} unreachable: {message}")]
    Unreachable { issuer: String, message: String },
    /// The issuer answered with an error status.
    #[error("{issuer} answered {status}: {message}")]
    Rejected { issuer: String, status: u16, message: String },
    /// The issuer answered something we refuse to believe.
    #[error("{issuer} sent a malformed answer: {message}")]
    Malformed { issuer: String, message: String },
    #[error("{issuer} ({kind}) cannot {what}")]
    Unsupported { issuer: String, kind: &'static str, what: &'static str },
    #[error("{issuer}: {message}")]
    Config { issuer: String, message: String },
}

impl ConnectorError {
    pub fn is_retryable(&self) -> bool {
        matches!(self, ConnectorError::Unreachable { .. })
            || matches!(self, ConnectorError::Rejected { status, .. } if *status >= 500 || *status == 429)
    }

    pub fn status(&self) -> Option<u16> {
        match self {
            ConnectorError::Rejected { status, .. } => Some(*status),
            _ => None,
        }
    }
}

pub type Result<T> = std::result::Result<T, ConnectorError>;

pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
    /// Records of this page refused one by one; the rest of the page stands.
    pub rejected: Vec<Rejection>,
    /// Where the issuer stood before this listing (its first page), to list only
    /// what changed after it next time (`list_changed_credentials`).
    pub watermark: Option<String>,
    /// The page lists only what changed since the watermark asked for.
    pub delta: bool,
    /// External ids of credentials that went since then (a delta page's tombstones).
    pub removed: Vec<String>,
}

impl<T> Page<T> {
    /// A page of a full listing with nothing rejected.
    pub fn of(items: Vec<T>, next_cursor: Option<String>) -> Self {
        Page { items, next_cursor, rejected: Vec::new(), watermark: None, delta: false, removed: Vec::new() }
    }

    /// A page of a full listing, with what it refused.
    pub fn with_rejected(items: Vec<T>, next_cursor: Option<String>, rejected: Vec<Rejection>) -> Self {
        Page { rejected, ..Page::of(items, next_cursor) }
    }
}

/// One issuer record that failed validation: its id when readable, and why (both cleaned).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Rejection {
    pub id: Option<String>,
    pub reason: String,
}

impl std::fmt::Display for Rejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.id {
            Some(id) => write!(f, "{id}: {}", self.reason),
            None => write!(f, "(no readable id): {}", self.reason),
        }
    }
}

/// An approval as the approver decided it.
#[derive(Debug, Clone, PartialEq)]
pub struct Approval {
    pub external_id: String,
    pub approver: String,
    pub scopes: Vec<String>,
    pub ttl_seconds: i64,
    pub binding: crate::domain::Binding,
    pub justification: String,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ApprovalAnswer {
    pub answer: IssuerAnswer,
    /// The issuer's id of the credential it issued, when it says.
    pub credential_external_id: Option<String>,
}

/// What an issuer can do; the sync engine and the actions ask before calling.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Capabilities {
    pub owners: bool,
    /// Its owners are the organisation's directory: its word on who left wins.
    pub directory: bool,
    pub credentials: bool,
    pub grants: bool,
    pub revoke: bool,
    /// Answers RFC 7662 introspection and RFC 7009 revocation by token value (triage).
    pub introspect: bool,
    /// Can issue less than a grant asked (fewer scopes, shorter, bound). A code
    /// host approves a token request exactly as asked or not at all.
    pub narrow: bool,
    /// Can list only the credentials changed since a watermark it gave, with
    /// tombstones for those that went (`list_changed_credentials`).
    pub delta: bool,
}

pub trait Connector: Send + Sync {
    fn name(&self) -> &str;
    fn kind(&self) -> IssuerKind;
    fn capabilities(&self) -> Capabilities;

    fn list_owners(&self, _cursor: Option<String>) -> BoxFuture<'_, Result<Page<Owner>>> {
        Box::pin(async { Ok(Page::of(Vec::new(), None)) })
    }

    fn list_credentials(&self, cursor: Option<String>) -> BoxFuture<'_, Result<Page<Credential>>>;

    /// Only the credentials changed after `since` (a watermark this issuer gave),
    /// and the ids of those that went. An issuer that answers with a full listing
    /// instead says so by leaving `delta` false on the first page, as this default
    /// does: whatever claims `Capabilities::delta` without it still lists everything.
    fn list_changed_credentials(&self, cursor: Option<String>, _since: String) -> BoxFuture<'_, Result<Page<Credential>>> {
        self.list_credentials(cursor)
    }

    fn list_grants(&self) -> BoxFuture<'_, Result<Vec<Grant>>> {
        Box::pin(async { Ok(Vec::new()) })
    }

    /// Approves a pending grant as decided (never wider or longer than asked).
    fn approve<'a>(&'a self, _decision: &'a Approval) -> BoxFuture<'a, Result<ApprovalAnswer>> {
        Box::pin(async move { Err(self.unsupported("approve grants")) })
    }

    fn deny<'a>(&'a self, _external_id: &'a str, _approver: &'a str, _reason: &'a str) -> BoxFuture<'a, Result<IssuerAnswer>> {
        Box::pin(async move { Err(self.unsupported("deny grants")) })
    }

    /// RFC 7662: what the issuer says of a raw token. The token is sent to its
    /// own issuer only, and never kept.
    fn introspect<'a>(&'a self, _token: &'a SecretString) -> BoxFuture<'a, Result<Introspection>> {
        Box::pin(async move { Err(self.unsupported("introspect tokens")) })
    }

    /// RFC 7009: revokes a raw token at the issuer.
    fn revoke_token<'a>(&'a self, _token: &'a SecretString) -> BoxFuture<'a, Result<IssuerAnswer>> {
        Box::pin(async move { Err(self.unsupported("revoke tokens by value")) })
    }

    /// Narrows a standing credential (a review decision): new owner, fewer scopes, earlier expiry.
    fn update<'a>(&'a self, _external_id: &'a str, _change: &'a crate::domain::CredentialChange) -> BoxFuture<'a, Result<IssuerAnswer>> {
        Box::pin(async move { Err(self.unsupported("change a credential's owner, scopes or expiry")) })
    }

    /// Records its last `list_grants` refused one by one (drained: a second call is empty).
    fn take_rejected(&self) -> Vec<Rejection> {
        Vec::new()
    }

    /// What the connector had to do that the operator should hear of (rate-limit waits).
    fn notes(&self) -> Vec<String> {
        Vec::new()
    }

    fn unsupported(&self, what: &'static str) -> ConnectorError {
        ConnectorError::Unsupported { issuer: self.name().to_string(), kind: self.kind().as_str(), what }
    }

    /// Revokes at the issuer; `Ok` only once the issuer confirmed.
    fn revoke<'a>(&'a self, external_id: &'a str, actor: &'a str, reason: &'a str) -> BoxFuture<'a, Result<IssuerAnswer>>;
}

/// Settings every HTTP connector shares.
#[derive(Debug, Clone)]
pub struct HttpSettings {
    pub base_url: String,
    /// Shown by Debug as `[REDACTED]`; exposed only where the request header is set.
    pub token: Option<SecretString>,
    pub timeout: Duration,
    pub page_size: u32,
    pub ca_file: Option<std::path::PathBuf>,
    /// Plain http to a host that is not loopback, allowed only by `allow_http = true` (a lab).
    pub allow_http: bool,
}

impl HttpSettings {
    /// An issuer's URL, secret (read by reference now), timeout, page size and CA.
    pub fn from_config(cfg: &IssuerConfig) -> std::result::Result<HttpSettings, String> {
        Ok(HttpSettings {
            base_url: cfg.url.clone(),
            token: cfg.token()?,
            timeout: Duration::from_secs(cfg.timeout_s.unwrap_or(30).max(1)),
            page_size: cfg.page_size.unwrap_or(500),
            ca_file: cfg.ca_file.clone(),
            allow_http: cfg.allow_http.unwrap_or(false),
        })
    }
}
