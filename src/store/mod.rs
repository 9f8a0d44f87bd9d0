//! The inventory store: the only room that writes SQL. Callers pass typed
//! queries (the filter `Query`, sorts, keys) and get read models back; a backend
//! behind this facade holds its own SQL and its own migrations: SQLite
//! (`sqlite/`, a file path: the embedded default) and PostgreSQL (`postgres/`, a
//! `postgres://` URL: a team's shared inventory). Each implements every method
//! listed in `store_api!` below, and `tests/store_conformance*.rs` run the same
//! scenarios on both.
use std::path::Path;

use crate::config::Thresholds;
use crate::domain::{BlastRadius, Campaign, Credential, CredentialChange, Grant, GrantStatus, IssuerKind, Owner, OwnerStatus, ReviewItem, Severity, Timestamp};
use crate::filter::Query;

mod claims;
mod error;
mod holder;
pub mod postgres;
mod rows;
mod sqlite;

pub use error::{HeldClaim, Result, StoreError};

/// What every path under a scanned root starts with (the root and a separator).
pub(crate) fn path_below(root: &str) -> String {
    if root.ends_with('/') { root.to_string() } else { format!("{root}/") }
}
pub use rows::*;
pub use sqlite::file::DbFile;

/// The clause whose scope drives a page in the default order off the scope rows in
/// (scope, key, credential) order (each carries its credential's key in that order:
/// SQLite's primary key of credential_scopes, PostgreSQL's credential_scopes_order):
/// the first `scope:` of a filter whose other clauses are tested row by row
/// at no cost worth an index (binding, status, issuer, kind, expiry, idle time,
/// words, negations). With an owner, workload, task, owner status or finding beside
/// it, one of those may match far fewer, and the planner chooses as before.
pub(crate) fn scope_order(req: &PageRequest) -> Option<usize> {
    use crate::filter::Term;
    if req.sort.column != SortColumn::ActiveFirst {
        return None;
    }
    let scope = req.query.clauses.iter().position(|c| !c.negated && matches!(c.term, Term::Scope(_)))?;
    let cheap = req.query.clauses.iter().all(|c| {
        c.negated
            || matches!(
                c.term,
                Term::Scope(_)
                    | Term::Binding(_)
                    | Term::Status(_)
                    | Term::Issuer(_)
                    | Term::Kind(_)
                    | Term::ExpiresWithin(_)
                    | Term::ExpiresBeyond(_)
                    | Term::ExpiresNever
                    | Term::UnusedFor(_)
                    | Term::Text(_)
                    | Term::OwnerNone
            )
    });
    cheap.then_some(scope)
}

/// A credential's key in the default order (active first, soonest to expire first),
/// as both backends' credentials_active_first index computes it from the stored row:
/// what each of its `credential_scopes` rows carries as `k`.
pub(crate) fn active_first_key(c: &Credential) -> String {
    let rank = if c.status == crate::domain::CredentialStatus::Active { '0' } else { '1' };
    format!("{rank}{}", c.expires_at.as_ref().map(crate::domain::fmt_ts).unwrap_or_else(|| "9999-12-31T23:59:59Z".into()))
}

/// The inventory, whichever backend holds it. Cheap to clone (a pool handle).
#[derive(Clone)]
pub struct Store {
    backend: Backend,
}

#[derive(Clone)]
enum Backend {
    Sqlite(sqlite::SqliteStore),
    Postgres(postgres::PgStore),
}

impl Store {
    /// Opens (creating if needed) a database file in WAL mode and runs migrations.
    pub async fn open(path: &Path) -> Result<Self> {
        Self::open_with_audit_key(path, None).await
    }

    /// As `open`, with the audit log's key at `audit_key` (`[audit] key_file`)
    /// instead of beside the database; created 0600 on first use.
    pub async fn open_with_audit_key(path: &Path, audit_key: Option<&Path>) -> Result<Self> {
        Ok(Store { backend: Backend::Sqlite(sqlite::SqliteStore::open(path, audit_key).await?) })
    }

    /// A shared PostgreSQL inventory at `url`; the audit key at `audit_key` (the
    /// team's `[audit] key_file`), else one of this machine's.
    pub async fn open_postgres(url: &str, audit_key: Option<&Path>) -> Result<Self> {
        Ok(Store { backend: Backend::Postgres(postgres::PgStore::open(url, audit_key).await?) })
    }

    /// A private in-memory database (one connection: each `:memory:` connection is its own db).
    pub async fn open_in_memory() -> Result<Self> {
        Ok(Store { backend: Backend::Sqlite(sqlite::SqliteStore::open_in_memory().await?) })
    }

    /// What a file holds (missing, a demo database, another database, not one at
    /// all), from its header alone: looking never changes the file.
    pub fn probe(path: &Path) -> std::io::Result<DbFile> {
        sqlite::file::probe(path)
    }

    /// The database file with the WAL and shm files kept beside it.
    pub fn files_of(path: &Path) -> [std::path::PathBuf; 3] {
        sqlite::file::with_companions(path)
    }

    /// Where the inventory is: a file path, or `:memory:`.
    pub fn location(&self) -> &str {
        match &self.backend {
            Backend::Sqlite(db) => db.location(),
            Backend::Postgres(db) => db.location(),
        }
    }

    /// Sends `tx` every change to the inventory, whichever console made it:
    /// PostgreSQL announces every audited change (LISTEN/NOTIFY).
    pub fn watch_changes(&self, tx: tokio::sync::mpsc::Sender<Change>) {
        match &self.backend {
            Backend::Sqlite(db) => db.watch_changes(tx),
            Backend::Postgres(db) => db.watch_changes(tx),
        }
    }

    pub async fn close(&self) {
        match &self.backend {
            Backend::Sqlite(db) => db.close().await,
            Backend::Postgres(db) => db.close().await,
        }
    }
}

/// The boundary every backend implements: each method forwards to the backend
/// that holds this inventory.
macro_rules! store_api {
    ($($(#[$doc:meta])* fn $name:ident(&self $(, $arg:ident: $ty:ty)*) -> $ret:ty;)*) => {
        impl Store {
            $(
                $(#[$doc])*
                pub async fn $name(&self $(, $arg: $ty)*) -> $ret {
                    match &self.backend {
                        Backend::Sqlite(db) => db.$name($($arg),*).await,
                        Backend::Postgres(db) => db.$name($($arg),*).await,
                    }
                }
            )*
        }
    };
}

store_api! {
    // audit
    fn append_audit(&self, entry: &AuditDraft) -> Result<AuditEntry>;
    /// Entries after `after_seq`, in order: `audit verify` walks the chain in batches.
    fn audit_entries(&self, after_seq: i64, limit: i64) -> Result<Vec<AuditEntry>>;
    fn audit_for_target(&self, target: &str, limit: i64) -> Result<Vec<AuditEntry>>;
    /// The MAC an entry must carry after `prev_mac`, under the key kept outside the database.
    fn audit_mac(&self, entry: &AuditEntry, prev_mac: &str) -> Result<String>;
    /// The key, the head witness and the append-only triggers, for `audit verify`.
    fn audit_anchor(&self) -> Result<AuditAnchor>;
    // claims
    /// Claims a row for one action before its issuer is called: the claim, a check
    /// that the row still allows it and the intent entry commit together, or
    /// nothing does (then the issuer must not be called). Claimed names the holder.
    fn claim_action(&self, guard: &ClaimGuard, intent: &AuditDraft, lease: chrono::Duration) -> Result<ActionClaim>;
    /// Gives a claim up, with the entry saying how the action ended, in one transaction.
    fn release_claim(&self, claim: &ActionClaim, outcome: Option<&AuditDraft>) -> Result<Option<AuditEntry>>;
    /// Who the database proves is acting: PostgreSQL's session login with its
    /// roles; None on SQLite, where the OS account is the identity.
    fn acting_login(&self) -> Result<Option<DbLogin>>;
    // the file
    /// Marks a database as the demo's: only such a file may the demo replace.
    fn mark_demo(&self) -> Result<()>;
    // credentials
    /// One page of rows by keyset: never OFFSET, so any depth costs the same.
    fn page(&self, req: &PageRequest) -> Result<Vec<CredentialRow>>;
    fn count(&self, query: &Query, now: Timestamp) -> Result<i64>;
    /// The matches up to `cap`: a number to show at once (`cap` means "at least").
    fn count_capped(&self, query: &Query, now: Timestamp, cap: i64) -> Result<i64>;
    /// Rows in display order before `key`: the position of a row, for the scrollbar.
    /// Costs an index range count, so the UI asks for it off the input path.
    fn position(&self, query: &Query, now: Timestamp, sort: Sort, key: &Key) -> Result<i64>;
    /// The key of the row at `offset` in an order. OFFSET walks the index: only
    /// for the benchmark's choice of a middle, never on an interactive path.
    fn key_at(&self, sort: Sort, offset: i64) -> Result<Option<Key>>;
    /// A credential by local id, unique id prefix, external id or fingerprint.
    fn resolve(&self, needle: &str) -> Result<String>;
    fn credential(&self, id: &str) -> Result<Credential>;
    fn owner(&self, email: &str) -> Result<Option<Owner>>;
    /// Every name the directory knows the same people by (their emails and their
    /// logins), the given names included, lower-cased.
    fn identities(&self, names: &[String]) -> Result<Vec<String>>;
    /// The parent chain of a credential (parent first), bounded against cycles.
    fn lineage(&self, id: &str) -> Result<Vec<(String, String)>>;
    fn parent_external_to_local(&self, issuer: &str, external: &str) -> Result<Option<String>>;
    /// The person who owns most credentials of a workload: its accountable owner.
    fn workload_owner(&self, workload: &str) -> Result<Option<String>>;
    fn open_findings_for(&self, credential_id: &str) -> Result<Vec<(String, Severity, String)>>;
    // deployments
    /// What one scan of `roots` on `host` found replaces what earlier scans recorded
    /// there (first seen kept); returns how many are recorded now.
    fn record_deployments(&self, host: &str, roots: &[String], found: &[FoundSecret], now: Timestamp) -> Result<u64>;
    /// Recorded deployments, each joined to its credential by fingerprint or key id:
    /// of one credential, or all (by file), at most `limit`.
    fn deployments(&self, credential_id: Option<&str>, limit: i64) -> Result<Vec<Deployment>>;
    // findings
    /// Runs every rule: first a read phase on one connection that only writes its
    /// temporary tables (the fact tables, then what each rule fires on), so syncs and
    /// revocations are not held up while it runs; then one short write transaction
    /// that opens what is new (or back), rewrites findings whose evidence changed,
    /// leaves unchanged ones alone and closes those no rule saw.
    fn recompute_findings(&self, rules: Vec<RuleSpec<'_>>, thresholds: &Thresholds, now: Timestamp) -> Result<RecomputeReport>;
    /// Open findings, optionally of one rule, most severe first; at most `limit`.
    fn open_findings(&self, rule: Option<&str>, limit: i64) -> Result<Vec<FindingRow>>;
    /// Counts of open findings by rule and severity.
    fn finding_counts(&self) -> Result<Vec<FindingCount>>;
    /// When findings were last computed, if ever.
    fn last_findings_run(&self) -> Result<Option<(String, i64)>>;
    /// Open findings first seen at or after `since`, by rule, most first (at most `limit` rules).
    fn findings_opened_since(&self, since: &str, limit: i64) -> Result<Vec<(String, i64)>>;
    /// Where to start: open high-severity findings on active credentials, counted by
    /// (owner, workload) in one pass; the home view ranks owners and workloads from it.
    fn high_findings_by_holder(&self) -> Result<Vec<(String, String, i64)>>;
    // grants
    fn grants(&self, status: Option<GrantStatus>, limit: i64) -> Result<Vec<Grant>>;
    /// A grant by local id or the issuer's id.
    fn grant(&self, needle: &str) -> Result<Grant>;
    /// The issuer accepted a decision: the grant, its consent events (attached to
    /// the credential it produced, if any) and the audit entry, in one transaction.
    fn record_grant_decision(&self, grant: &Grant, decision: &GrantDecisionRecord, entry: &AuditDraft) -> Result<AuditEntry>;
    /// Who already gave the first of two approvals for a grant.
    fn prior_approvers(&self, grant_id: &str) -> Result<Vec<String>>;
    /// The first of two approvals: a consent event on the grant and the audit entry.
    fn record_partial_approval(&self, grant: &Grant, scopes: &[String], note: &str, entry: &AuditDraft) -> Result<AuditEntry>;
    // ingest
    /// Whole issuer pages of credentials in one transaction, with the run's
    /// resume cursor: what is committed and where to resume always agree.
    /// What a run lists: only changes after `since` (a delta listing, which marks
    /// nothing gone by absence), and where the issuer stood before it (`watermark`).
    fn set_run_listing(&self, run_id: i64, since: Option<&str>, watermark: Option<&str>) -> Result<()>;
    /// The watermark of this issuer's newest run that ended well, if it gave one and
    /// a full listing ended well at or after `full_since` (a delta listing never
    /// undoes what was changed here without the issuer: a full one now and then does).
    fn last_watermark(&self, issuer: &str, full_since: Timestamp) -> Result<Option<String>>;
    /// A delta listing's tombstones: these credentials of the issuer are gone.
    fn mark_removed(&self, issuer: &str, external_ids: &[String], now: Timestamp) -> Result<u64>;
    fn ingest_credential_page(&self, run_id: i64, synced_at: Timestamp, items: &[Credential], pages: i64, next_cursor: Option<&str>) -> Result<()>;
    /// People from an issuer or a directory. A directory (`authoritative`) is the
    /// source of truth on who left: a broker's word never overrides it.
    fn ingest_owners(&self, source: &str, owners: &[Owner], synced_at: Timestamp, authoritative: bool) -> Result<()>;
    /// Grants are a small live queue: the issuer's list replaces ours.
    fn replace_grants(&self, issuer: &str, grants: &[Grant], synced_at: Timestamp) -> Result<()>;
    // outbox
    /// The issuer confirmed a revocation: mark it, add the consent event and the
    /// audit entry in one transaction, so the store never disagrees with the log.
    fn record_revocation(&self, id: &str, entry: &AuditDraft, reason: &str) -> Result<AuditEntry>;
    fn enqueue_revocation(&self, id: &str, issuer: &str, actor: &str, reason: &str, error: &str, retry_at: Timestamp) -> Result<()>;
    /// The issuer could not be reached: the outbox row, the audit entry and the end
    /// of the action's claim, in one transaction.
    fn record_queued_revocation(&self, item: &QueuedRevocation<'_>, entry: &AuditDraft) -> Result<AuditEntry>;
    fn pending_revocations(&self) -> Result<Vec<OutboxItem>>;
    /// Claims up to `limit` due, unclaimed rows for `owner` until `now + lease`, atomically.
    fn claim_revocations(&self, owner: &str, now: Timestamp, lease: chrono::Duration, limit: i64) -> Result<Vec<OutboxItem>>;
    fn note_outbox_failure(&self, id: i64, error: &str, retry_at: Timestamp) -> Result<()>;
    // people
    /// A page of owners after `after` (by id), optionally of one status, with their counts.
    fn owners_page(&self, status: Option<OwnerStatus>, after: Option<&str>, limit: i64) -> Result<Vec<OwnerRow>>;
    /// Everything one person holds: credentials they own, credentials exchanged
    /// from those (parent links, any depth) or naming them in an act chain, and
    /// grants they asked for that are still pending.
    fn blast_radius(&self, owner: &str) -> Result<BlastRadius>;
    /// Active credentials expiring between now and now + window, grouped by owner, soonest first.
    fn expiring_by_owner(&self, now: Timestamp, until: Timestamp, limit: i64) -> Result<Vec<ExpiringGroup>>;
    /// How many active credentials expire between now and `until` (as `expiring_by_owner` counts them).
    fn count_expiring(&self, now: Timestamp, until: Timestamp) -> Result<i64>;
    /// Which credentials held `scope` at `at`: issued by then, not yet expired,
    /// revoked or gone, and holding the scope then (the scopes a sync saw before
    /// a change are kept in scope_snapshots; otherwise the current scopes stood).
    fn held_scope_at(&self, scope: &str, at: Timestamp, limit: i64) -> Result<Vec<HeldRow>>;
    // reviews
    /// Starts a campaign: every credential the filter matches now becomes an item,
    /// with a snapshot of what a reviewer needs (owner status, findings included).
    fn start_campaign(&self, name: &str, filter_text: Option<&str>, query: &Query, now: Timestamp, entry: &AuditDraft) -> Result<(Campaign, AuditEntry)>;
    fn campaigns(&self) -> Result<Vec<Campaign>>;
    fn campaign(&self, name: &str) -> Result<Campaign>;
    /// Items of a campaign after `after` (by id), in order.
    fn review_items(&self, campaign_id: i64, after: i64, limit: i64) -> Result<Vec<ReviewItem>>;
    /// Every item of a campaign, read page by page (export and listing need them all).
    fn all_review_items(&self, campaign_id: i64) -> Result<Vec<ReviewItem>>;
    fn review_item(&self, id: i64) -> Result<ReviewItem>;
    /// Records a decision and its audit entry together. An item is decided once.
    fn record_review_decision(&self, item: i64, rec: &ReviewRecord<'_>, entry: &AuditDraft) -> Result<AuditEntry>;
    /// A standing credential narrowed at its issuer (a review decision): the
    /// local row follows the issuer's answer until the next sync confirms it.
    fn record_credential_change(&self, id: &str, change: &CredentialChange, at: Timestamp) -> Result<()>;
    // sync runs
    fn upsert_issuer(&self, name: &str, kind: IssuerKind, url: Option<&str>) -> Result<()>;
    /// Takes the issuer's sync lock (a Conflict naming its holder if a live sync
    /// has it), then starts a sync run, or resumes the issuer's latest run if it
    /// stopped part-way (killed: still `running`; or failed) after committing a page.
    fn begin_sync_run(&self, issuer: &str, now: Timestamp) -> Result<SyncRunStart>;
    /// Extends a run's sync lock as its pages commit; a Conflict if it was taken over.
    fn renew_sync_lock(&self, run: &SyncRunStart, now: Timestamp) -> Result<()>;
    /// Closes a run and releases its lock. On success every credential of the issuer
    /// the run did not see is marked gone (kept, for history). Returns how many went.
    fn finish_sync_run(&self, run: &SyncRunStart, issuer: &str, error: Option<&str>, now: Timestamp) -> Result<u64>;
    fn sync_runs(&self, limit: i64) -> Result<Vec<SyncRun>>;
    /// The newest run of every issuer, plus how many credentials each holds.
    fn issuer_summaries(&self) -> Result<Vec<IssuerSummary>>;
}
