//! The store's read models: what its queries answer, the same whichever backend
//! holds the inventory.
use crate::domain::{Binding, CredentialKind, CredentialStatus, GrantStatus, IssuerKind, OwnerStatus, ReviewDecisionKind, Severity, SyncStatus, Timestamp};

/// The hash an audit chain starts from.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SortColumn {
    /// Active credentials first, the soonest to expire first; then the rest, by expiry.
    ActiveFirst,
    Id,
    Owner,
    Workload,
    Expires,
    LastUsed,
    Status,
    Binding,
}

impl SortColumn {
    pub const CYCLE: &'static [SortColumn] = &[
        SortColumn::ActiveFirst,
        SortColumn::Expires,
        SortColumn::LastUsed,
        SortColumn::Owner,
        SortColumn::Workload,
        SortColumn::Binding,
        SortColumn::Status,
        SortColumn::Id,
    ];

    pub fn label(self) -> &'static str {
        match self {
            SortColumn::ActiveFirst => "active first",
            SortColumn::Id => "id",
            SortColumn::Owner => "owner",
            SortColumn::Workload => "workload",
            SortColumn::Expires => "expires",
            SortColumn::LastUsed => "last used",
            SortColumn::Status => "status",
            SortColumn::Binding => "binding",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::CYCLE.iter().copied().find(|c| c.label().replace(' ', "-") == s || c.label().replace(' ', "_") == s)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sort {
    pub column: SortColumn,
    pub descending: bool,
}

impl Default for Sort {
    fn default() -> Self {
        // What needs attention: live credentials, soonest to lapse first (not last year's expired ones).
        Sort { column: SortColumn::ActiveFirst, descending: false }
    }
}

/// A row's position in a sort order: the keyset cursor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Key {
    pub sort: String,
    pub id: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PageAnchor {
    First,
    Last,
    After(Key),
    Before(Key),
    /// This key and after: re-reads a window in place.
    From(Key),
}

#[derive(Debug, Clone, PartialEq)]
pub struct PageRequest {
    /// Which credentials, evaluated at `now` (relative terms such as `expires<7d`).
    pub query: crate::filter::Query,
    pub now: Timestamp,
    pub sort: Sort,
    pub anchor: PageAnchor,
    pub limit: usize,
}

/// What the credential table shows: a narrow row, not the whole credential.
#[derive(Debug, Clone, PartialEq)]
pub struct CredentialRow {
    pub id: String,
    pub issuer: String,
    /// The issuer's own id: what its API is called with.
    pub external_id: String,
    pub kind: CredentialKind,
    pub owner: String,
    /// None: the credential has no owner (shown as `none`).
    pub owner_status: Option<OwnerStatus>,
    pub workload: String,
    pub scopes: Vec<String>,
    pub binding: Binding,
    pub expires_at: Option<Timestamp>,
    pub last_used_at: Option<Timestamp>,
    pub status: CredentialStatus,
    pub key: Key,
    pub audience: Vec<String>,
    pub issued_at: Option<Timestamp>,
    pub task_id: Option<String>,
}

/// A page of credential rows, as both backends select them (id, issuer, kind, owner,
/// owner status, workload, scopes, binding, expires, last used, status, sort key,
/// audience, issued, task, external id), in display order: a page read backwards
/// (`Before`, `Last`) comes in reverse and is turned round here.
pub(crate) fn credential_rows<R: sqlx::Row>(rows: &[R], anchor: &PageAnchor) -> Vec<CredentialRow>
where
    usize: sqlx::ColumnIndex<R>,
    String: for<'r> sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    Option<String>: for<'r> sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    use crate::domain::{parse_ts, wire::split};
    let text = |r: &R, i: usize| r.get::<String, _>(i);
    let time = |r: &R, i: usize| r.get::<Option<String>, _>(i).as_deref().and_then(parse_ts);
    let mut out: Vec<CredentialRow> = rows
        .iter()
        .map(|r| CredentialRow {
            id: text(r, 0),
            issuer: text(r, 1),
            kind: CredentialKind::parse(&text(r, 2)).unwrap_or_default(),
            owner: text(r, 3),
            owner_status: OwnerStatus::parse(&text(r, 4)),
            workload: text(r, 5),
            scopes: split(&text(r, 6)),
            binding: Binding::parse(&text(r, 7)).unwrap_or_default(),
            expires_at: time(r, 8),
            last_used_at: time(r, 9),
            status: CredentialStatus::parse(&text(r, 10)).unwrap_or_default(),
            key: Key { sort: text(r, 11), id: text(r, 0) },
            audience: split(&text(r, 12)),
            issued_at: time(r, 13),
            task_id: r.get(14),
            external_id: text(r, 15),
        })
        .collect();
    if matches!(anchor, PageAnchor::Before(_) | PageAnchor::Last) {
        out.reverse();
    }
    out
}

#[derive(Debug, Clone)]
pub struct SyncRunStart {
    pub id: i64,
    pub started_at: Timestamp,
    pub resume_cursor: Option<String>,
    pub pages: i64,
    pub items: i64,
    /// Who holds the issuer's sync lock for this run: renewals and the finish name it.
    pub lock: String,
    /// A resumed delta listing: the watermark it lists changes after.
    pub since: Option<String>,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct SyncRun {
    pub id: i64,
    pub issuer: String,
    pub started_at: String,
    pub finished_at: Option<String>,
    pub status: SyncStatus,
    pub pages: i64,
    pub items: i64,
    pub error: Option<String>,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct IssuerSummary {
    pub name: String,
    pub kind: IssuerKind,
    pub url: Option<String>,
    pub credentials: i64,
    pub last_run: Option<SyncRun>,
}

/// What the issuer accepted for a grant.
#[derive(Debug, Clone)]
pub struct GrantDecisionRecord {
    pub status: GrantStatus,
    pub scopes: Vec<String>,
    pub note: Option<String>,
    /// The local id of the credential the approval produced.
    pub credential_id: Option<String>,
}

#[derive(Debug, Clone)]
pub struct AuditDraft {
    pub at: Timestamp,
    pub actor: String,
    pub action: String,
    pub target: String,
    pub detail: serde_json::Value,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct AuditEntry {
    pub seq: i64,
    pub at: String,
    pub actor: String,
    pub action: String,
    pub target: String,
    pub detail: String,
    pub prev_hash: String,
    pub hash: String,
    /// HMAC-SHA256 with the key outside the database; None for entries written before the key.
    pub mac: Option<String>,
}

/// An audit chain's head: what the witness file outside the database remembers.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct AuditHead {
    /// 0 for an empty chain.
    pub seq: i64,
    pub hash: String,
    pub mac: Option<String>,
    /// The first entry written with the key: every entry from here on must carry a MAC.
    pub keyed_from: i64,
}

/// What anchors the audit log outside the database, for `audit verify`.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct AuditAnchor {
    /// Where the key and the witness live; None for an in-memory store (no files).
    pub key_file: Option<String>,
    pub witness_file: Option<String>,
    /// The head the witness holds, if it could be read.
    pub witness: Option<AuditHead>,
    /// What is wrong with the key or the witness file, if anything.
    pub problems: Vec<String>,
    /// The append-only triggers that no longer exist in the database.
    pub missing_triggers: Vec<String>,
}

impl AuditEntry {
    pub fn compute_hash(&self) -> String {
        use sha2::{Digest, Sha256};
        let mut h = Sha256::new();
        for part in [&self.prev_hash, &self.seq.to_string(), &self.at, &self.actor, &self.action, &self.target, &self.detail] {
            h.update((part.len() as u64).to_be_bytes());
            h.update(part.as_bytes());
        }
        hex::encode(h.finalize())
    }

    pub fn genesis() -> &'static str {
        GENESIS
    }
}

/// What must still hold of a row for an action on it to go ahead: checked in
/// the transaction that claims the row, so two processes never both act.
#[derive(Debug, Clone, PartialEq)]
pub enum ClaimGuard {
    /// The grant (local id) is still pending.
    GrantPending(String),
    /// The credential (local id) is not revoked yet.
    CredentialNotRevoked(String),
    /// The review item is not decided yet.
    ReviewUndecided(i64),
}

/// A row this process holds for one action until its outcome is recorded (or `until`).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ActionClaim {
    pub target: String,
    pub holder: String,
    pub until: Timestamp,
    /// The audit entry that announced the action before the issuer was called.
    pub intent_seq: i64,
}

/// A revocation the issuer could not take now, with the audit entry that says so.
#[derive(Debug, Clone)]
pub struct QueuedRevocation<'a> {
    pub credential_id: &'a str,
    pub issuer: &'a str,
    pub reason: &'a str,
    pub error: &'a str,
    pub retry_at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct OutboxItem {
    pub id: i64,
    pub credential_id: String,
    pub issuer: String,
    pub actor: String,
    pub reason: String,
    pub attempts: i64,
    pub last_error: Option<String>,
}

/// One person in the owners view.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct OwnerRow {
    pub id: String,
    pub name: Option<String>,
    pub team: Option<String>,
    pub status: OwnerStatus,
    pub offboarded_at: Option<String>,
    pub source: Option<String>,
    /// Credentials they own that are still active.
    pub active: i64,
    pub total: i64,
}

/// Credentials expiring within a window, grouped by owner.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ExpiringGroup {
    pub owner: String,
    /// `none` when the credentials have no owner.
    #[serde(with = "crate::domain::wire::owner_status")]
    pub owner_status: Option<OwnerStatus>,
    pub credentials: i64,
    pub soonest: String,
    pub workloads: String,
}

/// A credential that held a scope at a past moment.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct HeldRow {
    pub credential_id: String,
    pub issuer: String,
    pub external_id: String,
    pub owner: String,
    pub workload: String,
    pub kind: CredentialKind,
    /// The scopes it held then.
    #[serde(with = "crate::domain::wire::spaced")]
    pub scopes: Vec<String>,
    pub issued_at: Option<String>,
    pub expires_at: Option<String>,
    pub status_now: CredentialStatus,
}

/// Most blast-radius rows shown or revoked at once: a person with more is reported, not truncated silently.
pub const BLAST_CAP: i64 = 50_000;

/// What one recompute found and changed, per rule.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct RuleRun {
    pub rule: String,
    pub open: i64,
    pub millis: i64,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct RecomputeReport {
    pub run: i64,
    pub open: i64,
    pub opened: i64,
    pub closed: i64,
    pub millis: i64,
    /// Building the fact tables the rules read.
    pub facts_millis: i64,
    /// The write transaction at the end: the only time syncs and revocations wait.
    pub write_millis: i64,
    pub rules: Vec<RuleRun>,
}

/// One open finding, as `findings` lists it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct FindingRow {
    pub rule: String,
    pub severity: Severity,
    pub credential_id: String,
    pub owner: Option<String>,
    pub summary: String,
    pub frameworks: Vec<String>,
    pub first_seen: String,
    pub last_seen: String,
    #[serde(skip)]
    pub external_id: String,
    #[serde(skip)]
    pub issuer: String,
}

/// Open findings by rule and severity.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct FindingCount {
    pub rule: String,
    pub severity: Severity,
    pub open: i64,
}

/// A rule as the engine hands it to the store; each backend holds the rule's SQL.
pub struct RuleSpec<'a> {
    pub rule: &'a str,
    pub severity: Severity,
    pub frameworks: &'a str,
}

/// A decision as it is recorded.
pub struct ReviewRecord<'a> {
    pub decision: ReviewDecisionKind,
    /// The claim this decision was taken under, if it called an issuer; a decision
    /// without one may not overtake another process's live claim on the item.
    pub claim: Option<&'a ActionClaim>,
    pub decider: &'a str,
    pub at: Timestamp,
    pub reason: &'a str,
    pub detail: serde_json::Value,
    pub issuer_answer: Option<String>,
}

/// A change another console made to a shared inventory, as announced (the
/// audited action, who took it, on what). Issuer-free: our own audit fields.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct Change {
    pub action: String,
    pub actor: String,
    pub target: String,
}

impl Change {
    /// An intent is followed by its outcome: only the outcome is news.
    pub fn is_outcome(&self) -> bool {
        !self.action.ends_with(".intent")
    }
}

/// The login a database authenticated (PostgreSQL): the operator, with the
/// tokenward roles and the other groups it is a member of.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct DbLogin {
    pub name: String,
    pub roles: Vec<String>,
    pub groups: Vec<String>,
    /// Why the database lets this login record no decision (a viewer), if so:
    /// the TUI shows the actions as unavailable with this reason.
    pub may_not_record: Option<String>,
}

/// A secret-looking value a scan found in an agent's configuration: where, and its
/// fingerprint (the value itself was dropped as soon as it was hashed).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct FoundSecret {
    pub path: String,
    /// Where in the file: `mcpServers.github.env.GITHUB_TOKEN`, `GITHUB_TOKEN`, `[default] aws_secret_access_key`.
    pub location: String,
    /// `mcp`, `dotenv` or `aws-credentials`.
    pub format: String,
    pub fingerprint: String,
    /// A cloud access key id written beside the secret.
    pub key_id: Option<String>,
}

/// A recorded deployment, with the inventory credential it is, if any.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Deployment {
    pub host: String,
    pub path: String,
    pub location: String,
    pub format: String,
    pub fingerprint: String,
    pub key_id: Option<String>,
    pub first_seen: String,
    pub last_seen: String,
    /// None: no issuer tokenward syncs knows this value (a shadow credential).
    pub credential_id: Option<String>,
    pub issuer: Option<String>,
    pub status: Option<String>,
}
