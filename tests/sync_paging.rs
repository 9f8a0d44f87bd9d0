//! Runaway paging: an issuer whose cursors cycle (A -> B -> A), not only repeat
//! at once, is stopped at the repeat; one that never stops paging is cut off at
//! `sync::MAX_PAGES`. Either way what came before is kept and the error says why.
use std::sync::atomic::{AtomicUsize, Ordering};

use futures_util::future::BoxFuture;
use tokenward::connectors::{Capabilities, Connector, ConnectorError, Page};
use tokenward::domain::{Binding, Credential, CredentialKind, CredentialStatus, IssuerAnswer, IssuerKind};
use tokenward::filter;
use tokenward::store::Store;
use tokenward::sync;

mod common;

fn credential(n: usize) -> Credential {
    let external_id = format!("cred-{n}");
    Credential {
        id: Credential::local_id("loop", &external_id),
        issuer: "loop".into(),
        external_id,
        kind: CredentialKind::AccessToken,
        fingerprint: None,
        client_id: None,
        subject: None,
        workload: Some("agent".into()),
        owner: Some("ana@acme.test".into()),
        scopes: vec!["read".into()],
        audience: Vec::new(),
        binding: Binding::Bearer,
        issued_at: Some(common::fixed_now()),
        status: CredentialStatus::Active,
        expires_at: None,
        last_used_at: None,
        task: None,
        parent_id: None,
        act_chain: Vec::new(),
        consent: Vec::new(),
        usage: Vec::new(),
    }
}

/// Pages by a script: `next(cursor)` gives the page's next cursor; each page holds one new credential.
struct Scripted {
    calls: AtomicUsize,
    next: fn(Option<&str>) -> Option<String>,
    owners: bool,
}

impl Connector for Scripted {
    fn name(&self) -> &str {
        "loop"
    }
    fn kind(&self) -> IssuerKind {
        IssuerKind::Tokenward
    }
    fn capabilities(&self) -> Capabilities {
        Capabilities { credentials: true, owners: self.owners, ..Capabilities::default() }
    }
    fn list_owners(&self, cursor: Option<String>) -> BoxFuture<'_, Result<Page<tokenward::domain::Owner>, ConnectorError>> {
        let next = (self.next)(cursor.as_deref());
        self.calls.fetch_add(1, Ordering::SeqCst);
        Box::pin(async move { Ok(Page::of(Vec::new(), next)) })
    }
    fn list_credentials(&self, cursor: Option<String>) -> BoxFuture<'_, Result<Page<Credential>, ConnectorError>> {
        let n = self.calls.fetch_add(1, Ordering::SeqCst);
        let next = (self.next)(cursor.as_deref());
        Box::pin(async move { Ok(Page::of(vec![credential(n)], next)) })
    }
    fn revoke<'a>(&'a self, _e: &'a str, _a: &'a str, _r: &'a str) -> BoxFuture<'a, Result<IssuerAnswer, ConnectorError>> {
        Box::pin(async { Err(ConnectorError::Unsupported { issuer: "loop".into(), kind: "tokenward", what: "revoke" }) })
    }
}

fn cycle(cursor: Option<&str>) -> Option<String> {
    Some(if cursor == Some("A") { "B" } else { "A" }.to_string())
}

fn endless(cursor: Option<&str>) -> Option<String> {
    Some((cursor.and_then(|c| c.parse::<u64>().ok()).unwrap_or(0) + 1).to_string())
}

/// Without the guard these syncs never end: fail instead of hanging.
async fn bounded(f: impl std::future::Future<Output = sync::SyncReport>) -> sync::SyncReport {
    tokio::time::timeout(std::time::Duration::from_secs(120), f).await.expect("the sync stopped by itself")
}

async fn count(store: &Store) -> i64 {
    store.count(&filter::parse("").expect("filter"), common::fixed_now()).await.expect("count")
}

#[tokio::test]
async fn a_cursor_cycle_a_b_a_is_caught_and_what_came_before_kept() {
    let store = Store::open_in_memory().await.expect("store");
    let looping = Scripted { calls: AtomicUsize::new(0), next: cycle, owners: false };
    let r = bounded(sync::sync_issuer(&store, &looping, None)).await;
    assert!(r.error.as_deref().is_some_and(|e| e.contains("repeated a cursor of its credentials") && e.contains("cycle")), "{r:?}");
    assert_eq!(looping.calls.load(Ordering::SeqCst), 3, "pages None, A, B fetched; A again never asked for");
    assert_eq!((r.pages, r.credentials, r.gone), (3, 3, 0));
    assert_eq!(count(&store).await, 3);
    // The next sync starts over rather than resuming into the cycle.
    let again = bounded(sync::sync_issuer(&store, &looping, None)).await;
    assert!(!again.resumed && again.error.is_some(), "{again:?}");
}

#[tokio::test]
async fn an_owner_cursor_cycle_is_caught_too() {
    let store = Store::open_in_memory().await.expect("store");
    let looping = Scripted { calls: AtomicUsize::new(0), next: cycle, owners: true };
    let r = bounded(sync::sync_issuer(&store, &looping, None)).await;
    assert!(r.error.as_deref().is_some_and(|e| e.contains("repeated a cursor of its owners")), "{r:?}");
    assert_eq!(looping.calls.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn an_issuer_that_never_stops_paging_is_cut_off_at_max_pages() {
    let store = Store::open_in_memory().await.expect("store");
    let endless = Scripted { calls: AtomicUsize::new(0), next: endless, owners: false };
    let r = bounded(sync::sync_issuer(&store, &endless, None)).await;
    let max = sync::MAX_PAGES;
    assert!(r.error.as_deref().is_some_and(|e| e.contains(&format!("more than {max} pages"))), "{r:?}");
    assert_eq!(endless.calls.load(Ordering::SeqCst) as u64, max, "not one page more is asked for");
    assert_eq!((r.pages, r.credentials), (max, max), "every page fetched is kept");
    assert_eq!(count(&store).await as u64, max);
}
