//! The `store_api!` methods not yet ported to PostgreSQL (issue 13): each answers
//! `StoreError::NotYet` naming itself. A method leaves this list when its topic
//! file under `postgres/` implements it, and the list empties before a
//! `postgres://` URL selects this backend.
use super::PgStore;
use crate::config::Thresholds;
use crate::domain::{BlastRadius, Campaign, CredentialChange, OwnerStatus, ReviewItem, Timestamp};
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
    fn identities(&self, names: &[String]) -> Result<Vec<String>>;
    fn recompute_findings(&self, rules: Vec<RuleSpec<'_>>, thresholds: &Thresholds, now: Timestamp) -> Result<RecomputeReport>;
    fn open_findings(&self, rule: Option<&str>, limit: i64) -> Result<Vec<FindingRow>>;
    fn finding_counts(&self) -> Result<Vec<FindingCount>>;
    fn last_findings_run(&self) -> Result<Option<(String, i64)>>;
    fn owners_page(&self, status: Option<OwnerStatus>, after: Option<&str>, limit: i64) -> Result<Vec<OwnerRow>>;
    fn blast_radius(&self, owner: &str) -> Result<BlastRadius>;
    fn expiring_by_owner(&self, now: Timestamp, until: Timestamp, limit: i64) -> Result<Vec<ExpiringGroup>>;
    fn held_scope_at(&self, scope: &str, at: Timestamp, limit: i64) -> Result<Vec<HeldRow>>;
    fn campaigns(&self) -> Result<Vec<Campaign>>;
    fn campaign(&self, name: &str) -> Result<Campaign>;
    fn review_items(&self, campaign_id: i64, after: i64, limit: i64) -> Result<Vec<ReviewItem>>;
    fn all_review_items(&self, campaign_id: i64) -> Result<Vec<ReviewItem>>;
    fn review_item(&self, id: i64) -> Result<ReviewItem>;
    fn record_credential_change(&self, id: &str, change: &CredentialChange, at: Timestamp) -> Result<()>;
}
