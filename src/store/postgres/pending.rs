//! The `store_api!` methods not yet ported to PostgreSQL (issue 13): each answers
//! `StoreError::NotYet` naming itself. A method leaves this list when its topic
//! file under `postgres/` implements it, and the list empties before a
//! `postgres://` URL selects this backend.
use super::PgStore;
use crate::domain::{Campaign, Credential, Grant, GrantStatus, IssuerKind, Owner, Severity, Timestamp};
use crate::filter::Query;
use crate::store::error::{Result, StoreError};
use crate::store::rows::*;

macro_rules! not_yet {
    ($(fn $name:ident(&self $(, $arg:ident: $ty:ty)*) -> $ret:ty;)*) => {
        impl PgStore {
            $(
                #[allow(unused_variables)]
                pub async fn $name(&self $(, $arg: $ty)*) -> $ret {
                    Err(StoreError::NotYet(stringify!($name)))
                }
            )*
        }
    };
}

not_yet! {
    fn mark_demo(&self) -> Result<()>;
    fn page(&self, req: &PageRequest) -> Result<Vec<CredentialRow>>;
    fn count(&self, query: &Query, now: Timestamp) -> Result<i64>;
    fn position(&self, query: &Query, now: Timestamp, sort: Sort, key: &Key) -> Result<i64>;
    fn key_at(&self, sort: Sort, offset: i64) -> Result<Option<Key>>;
    fn resolve(&self, needle: &str) -> Result<String>;
    fn credential(&self, id: &str) -> Result<Credential>;
    fn owner(&self, email: &str) -> Result<Option<Owner>>;
    fn lineage(&self, id: &str) -> Result<Vec<(String, String)>>;
    fn parent_external_to_local(&self, issuer: &str, external: &str) -> Result<Option<String>>;
    fn workload_owner(&self, workload: &str) -> Result<Option<String>>;
    fn open_findings_for(&self, credential_id: &str) -> Result<Vec<(String, Severity, String)>>;
    fn grants(&self, status: Option<GrantStatus>, limit: i64) -> Result<Vec<Grant>>;
    fn grant(&self, needle: &str) -> Result<Grant>;
    fn ingest_credential_page(&self, run_id: i64, synced_at: Timestamp, items: &[Credential], pages: i64, next_cursor: Option<&str>) -> Result<()>;
    fn ingest_owners(&self, source: &str, owners: &[Owner], synced_at: Timestamp, authoritative: bool) -> Result<()>;
    fn replace_grants(&self, issuer: &str, grants: &[Grant], synced_at: Timestamp) -> Result<()>;
    fn start_campaign(&self, name: &str, filter_text: Option<&str>, query: &Query, now: Timestamp, entry: &AuditDraft) -> Result<(Campaign, AuditEntry)>;
    fn record_review_decision(&self, item: i64, rec: &ReviewRecord<'_>, entry: &AuditDraft) -> Result<AuditEntry>;
    fn upsert_issuer(&self, name: &str, kind: IssuerKind, url: Option<&str>) -> Result<()>;
    fn begin_sync_run(&self, issuer: &str, now: Timestamp) -> Result<SyncRunStart>;
    fn renew_sync_lock(&self, run: &SyncRunStart, now: Timestamp) -> Result<()>;
    fn finish_sync_run(&self, run: &SyncRunStart, issuer: &str, error: Option<&str>, now: Timestamp) -> Result<u64>;
    fn sync_runs(&self, limit: i64) -> Result<Vec<SyncRun>>;
    fn issuer_summaries(&self) -> Result<Vec<IssuerSummary>>;
}
