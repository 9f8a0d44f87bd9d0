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
pub mod proxy;
pub mod screens;
pub mod tmux;

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

/// Runs a started process to its end off the async runtime.
pub async fn output(child: std::process::Child) -> std::process::Output {
    tokio::task::spawn_blocking(move || child.wait_with_output()).await.expect("join").expect("wait")
}

/// Runs a started process to its end off the async runtime; (success, stderr).
pub async fn finish(child: std::process::Child) -> (bool, String) {
    let out = output(child).await;
    (out.status.success(), String::from_utf8_lossy(&out.stderr).into_owned())
}

/// Of two running processes, the first to exit, run to its end, and the other, still
/// running; each with its pid: ((pid, (success, stderr)), (pid, child)).
pub async fn first_to_exit(a: std::process::Child, b: std::process::Child) -> ((u32, (bool, String)), (u32, std::process::Child)) {
    let (mut a, mut b) = (a, b);
    loop {
        if a.try_wait().expect("wait").is_some() {
            return ((a.id(), finish(a).await), (b.id(), b));
        }
        if b.try_wait().expect("wait").is_some() {
            return ((b.id(), finish(b).await), (a.id(), a));
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}
