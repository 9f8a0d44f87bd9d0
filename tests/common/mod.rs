//! Shared helpers of the integration tests: a store filled from the reference
//! organisation through the real protocol mapping, and the binary under test.
#![allow(dead_code)]
use chrono::{TimeZone, Utc};
use tokenward::connectors::tokenward::map_credential;
use tokenward::domain::Timestamp;
use tokenward::reference::org::Org;
use tokenward::store::Store;

/// A fixed clock: snapshots and relative times must not drift.
pub fn fixed_now() -> Timestamp {
    Utc.with_ymd_and_hms(2026, 11, 23, 12, 0, 0).single().expect("valid time")
}

/// An in-memory store with `n` credentials of the reference org, ingested
/// through the same page path the sync engine uses.
pub async fn seeded_store(n: u64) -> Store {
    let store = Store::open_in_memory().await.expect("in-memory store");
    let org = Org::new(n, 42, fixed_now());
    store.upsert_issuer("acme-broker", tokenward::domain::IssuerKind::Tokenward, None).await.expect("issuer");
    let run = store.begin_sync_run("acme-broker", fixed_now()).await.expect("run");
    let owners: Vec<_> = org
        .owners()
        .into_iter()
        .map(|o| tokenward::connectors::tokenward::map_owner("acme-broker", o).expect("owner maps"))
        .collect();
    store.ingest_owners("acme-broker", &owners, fixed_now(), false).await.expect("owners");
    let creds: Vec<_> = (0..n).map(|i| map_credential("acme-broker", org.credential(i)).expect("credential maps")).collect();
    for chunk in creds.chunks(500) {
        store.ingest_credential_page(run.id, run.started_at, chunk, 1, None).await.expect("page");
    }
    store.finish_sync_run(&run, "acme-broker", None, fixed_now()).await.expect("finish");
    store
}

pub mod peers;
pub mod screens;

pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_tokenward")
}

/// The local id of the first credential of the org that has a delegation chain
/// of `hops` and a consent trail: a rich row for detail views.
pub fn rich_credential(n: u64, hops: usize) -> String {
    let org = Org::new(n, 42, fixed_now());
    let i = (0..n)
        .find(|i| {
            let c = org.credential(*i);
            c.act_chain.len() == hops && c.consent.len() >= 2 && c.owner.is_some() && c.usage.len() >= 2
        })
        .expect("the org has such a credential");
    tokenward::domain::Credential::local_id("acme-broker", &Org::credential_id(i))
}
