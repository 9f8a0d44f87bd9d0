//! The TUI's vocabulary: effects a key or reply asks for, and the messages that
//! come back. Every room of the TUI speaks it; it imports none of them but `job`.
//! The views themselves are named by the registry in `commands.rs`.
use crossterm::event::KeyEvent;

use super::job::{Job, JobData};
use crate::actions::RevokeOutcome;
use crate::detail::CredentialDetail;
use crate::domain::{Grant, Timestamp};
use crate::filter::Query;
use crate::store::{CredentialRow, IssuerSummary, Key, PageRequest, Sort, SyncRun};

/// How a page reply lands in the credential window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Landing {
    First,
    Last,
    Append,
    Prepend,
    /// Same rows again from the window's first key: after a revoke or a refresh.
    Refresh,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tone {
    Info,
    Ok,
    Warning,
    Error,
}

/// A raw token held only while triage runs; never printed, even by Debug.
#[derive(Clone)]
pub struct Secret(pub secrecy::SecretString);

impl PartialEq for Secret {
    fn eq(&self, other: &Secret) -> bool {
        use secrecy::ExposeSecret;
        self.0.expose_secret() == other.0.expose_secret()
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// The credential filter as parsed, with the moment its relative terms (`expires<7d`) are read at.
#[derive(Debug, Clone, PartialEq)]
pub struct QueryAt {
    pub query: Query,
    pub now: Timestamp,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// A view's own loading job; its answer comes back as `Msg::Data` to that view.
    Load(Job),
    LoadPage { generation: u64, landing: Landing, page: PageRequest },
    Count { generation: u64, filter: QueryAt },
    Position { generation: u64, filter: QueryAt, sort: Sort, key: Key },
    LoadDetail { id: String },
    LoadGrants,
    LoadIssuers,
    Revoke { id: String, reason: String },
    SyncIssuer { name: String },
    Approve(crate::actions::ApproveInput),
    Deny { grant: String, reason: String },
    Triage { token: Secret, reason: Option<String> },
    LoadFindings,
    RecomputeFindings,
    LoadOwners { status: Option<crate::domain::OwnerStatus>, after: Option<String> },
    LoadBlast { owner: String },
    RevokeOwner { owner: String, reason: String },
    /// Every active credential the filter selects (`revoke --filter`).
    RevokeFilter { filter: String, reason: String },
    LoadExpiring { window: String },
    LoadCampaigns,
    StartReview { name: String, filter: Option<String> },
    LoadReview { name: String, after: i64 },
    ReviewDecide { item: i64, decision: crate::actions::ReviewDecision, reason: String },
    /// The terminal bell: a new grant arrived.
    Bell,
    Quit,
}

/// Open findings by rule, and when the rules last ran (and how many ms they took).
pub type FindingCounts = (Vec<crate::store::FindingCount>, Option<(String, i64)>);

#[derive(Debug)]
pub enum Msg {
    Key(KeyEvent),
    /// The answer of a view's `Effect::Load` job, for that view's `on_data`.
    Data { view: &'static str, data: JobData },
    Resize { width: u16, height: u16 },
    Page { generation: u64, landing: Landing, rows: Result<Vec<CredentialRow>, String> },
    /// The filter's matches; `at_least` while only a capped count is known.
    Count { generation: u64, total: Result<i64, String>, at_least: bool },
    Position { generation: u64, first_id: String, position: i64 },
    Detail(Result<Box<CredentialDetail>, String>),
    Grants(Result<Vec<Grant>, String>),
    /// Cedar's verdict on approving each grant as asked, by grant id.
    Verdicts(std::collections::HashMap<String, crate::policy::Verdict>),
    Issuers(Result<Vec<IssuerSummary>, String>),
    SyncRuns(Result<Vec<SyncRun>, String>),
    Revoked { id: String, result: Result<RevokeOutcome, String> },
    Sync(crate::sync::SyncEvent),
    Decided(Result<Box<crate::actions::GrantOutcome>, String>),
    Triaged(Result<Box<crate::actions::TriageReport>, String>),
    Findings(Result<FindingCounts, String>),
    Recomputed(Result<crate::store::RecomputeReport, String>),
    /// A page of owners, with the request it answers (a late reply to an older request is dropped).
    Owners { status: Option<crate::domain::OwnerStatus>, after: Option<String>, rows: Result<Vec<crate::store::OwnerRow>, String> },
    Blast(Result<Box<crate::domain::BlastRadius>, String>),
    BulkProgress(crate::actions::BulkProgress),
    /// A bulk revoke ended: what it covered (an owner, a filter) and what it did.
    BulkDone(Result<(String, Box<crate::actions::BulkResults>), String>),
    Expiring { window: String, groups: Result<Vec<crate::store::ExpiringGroup>, String> },
    Campaigns(Result<Vec<crate::domain::Campaign>, String>),
    ReviewItems { after: i64, campaign: Result<crate::domain::Campaign, String>, items: Result<Vec<crate::domain::ReviewItem>, String> },
    Reviewed(Result<Box<crate::actions::ReviewOutcome>, String>),
    ReviewStarted(Result<crate::domain::Campaign, String>),
    Tick(Timestamp),
    /// The shared inventory changed (what was done, by whom, on what).
    Changed(crate::store::Change),
}
