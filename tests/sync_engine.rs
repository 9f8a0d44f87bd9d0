//! The sync engine against the reference issuer in-process: resume after an
//! interruption, credentials that vanish are marked gone, one failing issuer
//! never stops the others. The fault is injected by wrapping the real
//! protocol-v1 connector; the issuer on the other side is the real server.
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use futures_util::future::BoxFuture;
use tokenward::config::IssuerConfig;
use tokenward::connectors::{self, Capabilities, Connector, ConnectorError, Page};
use tokenward::domain::{Credential, IssuerAnswer, IssuerKind};
use tokenward::filter;
use tokenward::reference::{org::Org, server};
use tokenward::store::Store;
use tokenward::sync;

mod common;

fn connector(name: &str, url: &str, page_size: u32) -> Arc<dyn Connector> {
    let cfg = IssuerConfig {
        name: name.into(),
        kind: IssuerKind::Tokenward,
        url: url.into(),
        token_env: None,
        token_file: None,
        ca_file: None,
        page_size: Some(page_size),
        timeout_s: Some(5),
        ..IssuerConfig::default()
    };
    Arc::from(connectors::build(&cfg).expect("connector"))
}

/// The real connector, except that its `fail_on`-th credentials call fails as if the network dropped.
struct Interrupted {
    inner: Arc<dyn Connector>,
    calls: AtomicUsize,
    fail_on: usize,
}

impl Connector for Interrupted {
    fn name(&self) -> &str {
        self.inner.name()
    }
    fn kind(&self) -> IssuerKind {
        self.inner.kind()
    }
    fn capabilities(&self) -> Capabilities {
        self.inner.capabilities()
    }
    fn list_owners(&self, cursor: Option<String>) -> BoxFuture<'_, Result<Page<tokenward::domain::Owner>, ConnectorError>> {
        self.inner.list_owners(cursor)
    }
    fn list_credentials(&self, cursor: Option<String>) -> BoxFuture<'_, Result<Page<Credential>, ConnectorError>> {
        if self.calls.fetch_add(1, Ordering::SeqCst) + 1 == self.fail_on {
            let issuer = self.name().to_string();
            return Box::pin(async move { Err(ConnectorError::Unreachable { issuer, message: "connection reset".into() }) });
        }
        self.inner.list_credentials(cursor)
    }
    fn revoke<'a>(&'a self, e: &'a str, a: &'a str, r: &'a str) -> BoxFuture<'a, Result<IssuerAnswer, ConnectorError>> {
        self.inner.revoke(e, a, r)
    }
}

async fn count(store: &Store, q: &str) -> i64 {
    store.count(&filter::parse(q).expect("filter"), common::fixed_now()).await.expect("count")
}

#[tokio::test]
async fn an_interrupted_sync_resumes_from_its_last_committed_page() {
    // One page per transaction, and the engine's grouped commits: either way the
    // pages fetched before the drop are committed, and the next run resumes after them.
    for commit_rows in [500, sync::COMMIT_ROWS] {
        let issuer = server::spawn("127.0.0.1:0", Org::new(2500, 1, common::fixed_now()), None).await.expect("issuer");
        let store = Store::open_in_memory().await.expect("store");
        let flaky = Interrupted { inner: connector("broker", &issuer.url(), 500), calls: AtomicUsize::new(0), fail_on: 3 };
        let first = sync::sync_issuer_with(&store, &flaky, None, commit_rows).await;
        assert!(first.error.as_deref().is_some_and(|e| e.contains("connection reset")), "{first:?}");
        assert_eq!((first.pages, first.credentials), (2, 1000), "two pages committed before the drop ({commit_rows})");
        assert_eq!(count(&store, "").await, 1000);

        let second = sync::sync_issuer_with(&store, connector("broker", &issuer.url(), 500).as_ref(), None, commit_rows).await;
        assert_eq!(second.error, None);
        assert!(second.resumed);
        assert_eq!(second.run_id, first.run_id, "the same run continues");
        assert_eq!((second.pages, second.credentials, second.gone), (5, 2500, 0));
        assert_eq!(count(&store, "").await, 2500);
        assert_eq!(store.sync_runs(10).await.expect("runs").len(), 1);

        let third = sync::sync_issuer(&store, connector("broker", &issuer.url(), 500).as_ref(), None).await;
        assert!(!third.resumed && third.error.is_none());
        assert_eq!(count(&store, "").await, 2500, "a re-sync updates rows, never duplicates them");
    }
}

#[tokio::test]
async fn credentials_that_vanish_are_marked_gone_not_deleted() {
    let big = server::spawn("127.0.0.1:0", Org::new(300, 4, common::fixed_now()), None).await.expect("issuer");
    let small = server::spawn("127.0.0.1:0", Org::new(260, 4, common::fixed_now()), None).await.expect("issuer");
    let store = Store::open_in_memory().await.expect("store");
    let r = sync::sync_issuer(&store, connector("broker", &big.url(), 100).as_ref(), None).await;
    assert_eq!((r.error, r.credentials), (None, 300));
    let r = sync::sync_issuer(&store, connector("broker", &small.url(), 100).as_ref(), None).await;
    assert_eq!((r.error, r.gone), (None, 40));
    assert_eq!(count(&store, "status:gone").await, 40);
    assert_eq!(count(&store, "").await, 300);
    // Seen again: no longer gone.
    let r = sync::sync_issuer(&store, connector("broker", &big.url(), 100).as_ref(), None).await;
    assert_eq!((r.error, r.gone), (None, 0));
    assert_eq!(count(&store, "status:gone").await, 0);
}

#[tokio::test]
async fn one_failing_issuer_never_stops_the_others() {
    let good = server::spawn("127.0.0.1:0", Org::new(120, 2, common::fixed_now()), None).await.expect("issuer");
    // A port nobody listens on: bind, learn it, close it.
    let dead = std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr");
    let store = Store::open_in_memory().await.expect("store");
    let connectors = vec![connector("good", &good.url(), 50), connector("dead", &format!("http://{dead}"), 50)];
    let mut reports = sync::sync_all(&store, &connectors, 2, None).await;
    reports.sort_by(|a, b| a.issuer.cmp(&b.issuer));
    assert!(reports[0].error.as_deref().is_some_and(|e| e.starts_with("dead unreachable")), "{:?}", reports[0]);
    assert_eq!((reports[1].error.clone(), reports[1].credentials, reports[1].owners), (None, 120, 40));
    assert!(reports[1].grants > 0);
    assert_eq!(count(&store, "issuer:good").await, 120);
    let issuers = store.issuer_summaries().await.expect("summaries");
    assert_eq!(issuers.iter().map(|i| i.last_run.as_ref().map(|r| r.status.to_string())).collect::<Vec<_>>(), vec![Some("failed".into()), Some("ok".into())]);
}

#[tokio::test]
async fn hostile_issuer_strings_are_cleaned_before_the_store() {
    let issuer = server::spawn("127.0.0.1:0", Org::new(20, 42, common::fixed_now()), None).await.expect("issuer");
    let store = Store::open_in_memory().await.expect("store");
    sync::sync_issuer(&store, connector("broker", &issuer.url(), 10).as_ref(), None).await;
    let id = Credential::local_id("broker", &Org::credential_id(7));
    let c = store.credential(&id).await.expect("credential 7");
    let intent = c.task.and_then(|t| t.intent).expect("intent");
    assert!(intent.contains("Fix billing") && !intent.contains('\u{1b}') && !intent.contains('\u{7}'), "{intent:?}");
}

#[tokio::test]
async fn a_resync_writes_what_the_issuer_changed_and_undoes_what_was_changed_here() {
    let org = || Org::new(400, 9, common::fixed_now());
    let before = server::spawn("127.0.0.1:0", org(), None).await.expect("issuer");
    let after = server::spawn("127.0.0.1:0", org().churned(250), None).await.expect("issuer");
    let store = Store::open_in_memory().await.expect("store");
    let local = |o: &Org, i: u64| tokenward::connectors::tokenward::map_credential("broker", o.credential(i)).expect("maps");
    let r = sync::sync_issuer(&store, connector("broker", &before.url(), 100).as_ref(), None).await;
    assert_eq!((r.error, r.credentials), (None, 400));
    // A revocation recorded here that the issuer never heard of (it still lists the credential active).
    let (churned, still): (Vec<u64>, Vec<u64>) = (0..400).partition(|i| org().churned(250).is_churned(*i));
    assert!(churned.len() > 50 && still.len() > 200, "{} churned", churned.len());
    let victim = *still.iter().find(|i| local(&org(), **i).status == tokenward::domain::CredentialStatus::Active).expect("an active one");
    let id = local(&org(), victim).id;
    let entry = tokenward::store::AuditDraft { at: common::fixed_now(), actor: "t".into(), action: "revoke".into(), target: format!("credential:{id}"), detail: serde_json::json!({}) };
    store.record_revocation(&id, &entry, "test").await.expect("revoked here");
    assert_eq!(store.credential(&id).await.expect("row").status, tokenward::domain::CredentialStatus::Revoked);

    // A full listing (a delta one would carry only what the issuer changed).
    let full = |url: String| {
        let store = store.clone();
        async move { sync::sync_all_listing(&store, &[connector("broker", &url, 100)], 1, None, sync::Listing::Full).await.remove(0) }
    };
    let r = full(after.url()).await;
    assert_eq!((r.error, r.credentials, r.gone), (None, 400, 0), "the unchanged are seen, not gone");
    // Every row is what the issuer now says: the changed ones with their new use, the others as they were, the local change undone.
    for i in 0..400 {
        let want = local(&org().churned(250), i);
        let got = store.credential(&want.id).await.expect("row");
        assert_eq!((got.last_used_at, got.status, got.scopes.clone()), (want.last_used_at, want.status, want.scopes.clone()), "credential {i}");
        // Used again: only the use is rewritten (its usage events with it), the rest stays whole.
        assert_eq!((got.usage.len(), got.audience.clone()), (want.usage.len(), want.audience.clone()), "credential {i}");
        if i != victim {
            // (The victim keeps the consent event of the revocation recorded here, as every local one is kept.)
            assert_eq!(got.consent.len(), want.consent.len(), "credential {i}");
        }
    }
    assert_eq!(store.credential(&id).await.expect("row").status, tokenward::domain::CredentialStatus::Active, "the issuer's word, as before");
    // And a third sync of the same state changes nothing.
    let r = full(after.url()).await;
    assert_eq!((r.error, r.credentials, r.gone), (None, 400, 0));
    assert_eq!(count(&store, "").await, 400);
}

/// Delta listings against the real reference issuer: a first sync lists everything
/// and keeps the issuer's watermark; the next lists only what changed at the issuer
/// since (two revocations); `Listing::Full` lists everything again; an issuer that
/// cannot place the watermark (another organisation) answers with everything, and
/// that run marks gone what it no longer lists.
#[tokio::test]
async fn a_resync_lists_only_what_changed_since_the_last_good_sync() {
    let issuer = server::spawn("127.0.0.1:0", Org::new(400, 9, common::fixed_now()), None).await.expect("issuer");
    let store = Store::open_in_memory().await.expect("store");
    let broker = connector("broker", &issuer.url(), 100);
    let first = sync::sync_issuer(&store, broker.as_ref(), None).await;
    assert_eq!((first.error.as_deref(), first.delta, first.credentials), (None, false, 400));

    let nothing = sync::sync_issuer(&store, broker.as_ref(), None).await;
    assert_eq!((nothing.error.as_deref(), nothing.delta, nothing.credentials, nothing.gone), (None, true, 0, 0), "{nothing:?}");

    let client = reqwest::Client::new();
    for id in ["cred-0000003", "cred-0000150"] {
        let r = client
            .post(format!("{}/v1/credentials/{id}/revoke", issuer.url()))
            .json(&serde_json::json!({"actor": "ana", "reason": "leaked"}))
            .send()
            .await
            .expect("revoke");
        assert!(r.status().is_success());
    }
    let changed = sync::sync_issuer(&store, broker.as_ref(), None).await;
    assert_eq!((changed.error.as_deref(), changed.delta, changed.credentials, changed.gone), (None, true, 2, 0), "{changed:?}");
    for id in ["cred-0000003", "cred-0000150"] {
        assert_eq!(store.credential(&store.resolve(id).await.expect("resolves")).await.expect("credential").status.as_str(), "revoked");
    }
    assert_eq!(count(&store, "status:gone").await, 0, "a delta listing marks nothing gone by absence");

    let full = sync::sync_all_listing(&store, std::slice::from_ref(&broker), 1, None, sync::Listing::Full).await.remove(0);
    assert_eq!((full.error.as_deref(), full.delta, full.credentials), (None, false, 400));

    // Another organisation (fewer credentials): the watermark means nothing to it.
    let other = server::spawn("127.0.0.1:0", Org::new(350, 9, common::fixed_now()), None).await.expect("issuer");
    let moved = sync::sync_issuer(&store, connector("broker", &other.url(), 100).as_ref(), None).await;
    assert_eq!((moved.error.as_deref(), moved.delta, moved.credentials, moved.gone), (None, false, 350, 50), "{moved:?}");
}

/// Tombstones, on recorded answers of protocol v1 (wiremock): the reference issuer
/// never deletes a credential, so what a delta page's `removed` does is shown here.
#[tokio::test]
async fn a_delta_page_marks_gone_exactly_its_tombstones() {
    use wiremock::matchers::{method, path, query_param, query_param_is_missing};
    use wiremock::{Mock, MockServer, ResponseTemplate};
    let org = Org::new(5, 3, common::fixed_now());
    let record = |i: u64| serde_json::to_value(org.credential(i)).expect("json");
    let issuer = MockServer::start().await;
    Mock::given(method("GET")).and(path("/v1/owners")).respond_with(ResponseTemplate::new(404)).mount(&issuer).await;
    Mock::given(method("GET")).and(path("/v1/grants")).respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({"items": []}))).mount(&issuer).await;
    Mock::given(method("GET"))
        .and(path("/v1/credentials"))
        .and(query_param_is_missing("since"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({"items": (0..5).map(record).collect::<Vec<_>>(), "next_cursor": null, "watermark": "w-1"})))
        .mount(&issuer)
        .await;
    let mut changed = record(0);
    changed["scopes"] = serde_json::json!(["docs:read"]);
    Mock::given(method("GET"))
        .and(path("/v1/credentials"))
        .and(query_param("since", "w-1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "items": [changed], "next_cursor": null, "watermark": "w-2", "delta": true,
            "removed": ["cred-0000002", "cred-0000004", "cred-9999999"],
        })))
        .expect(1)
        .mount(&issuer)
        .await;
    let store = Store::open_in_memory().await.expect("store");
    let broker = connector("broker", &issuer.uri(), 100);
    let first = sync::sync_issuer(&store, broker.as_ref(), None).await;
    assert_eq!((first.error.as_deref(), first.credentials, first.delta), (None, 5, false));
    let delta = sync::sync_issuer(&store, broker.as_ref(), None).await;
    assert_eq!((delta.error.as_deref(), delta.credentials, delta.delta, delta.gone), (None, 1, true, 2), "{delta:?}");
    for id in ["cred-0000002", "cred-0000004"] {
        assert_eq!(store.credential(&store.resolve(id).await.expect("resolves")).await.expect("credential").status.as_str(), "gone");
    }
    assert_eq!(count(&store, "status:gone").await, 2);
    assert_eq!(count(&store, "scope:docs:read").await, 1);
}
