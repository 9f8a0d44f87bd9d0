//! Races between two processes on one database file (two `Store::open` handles
//! of one path, as a cron sync and the TUI would have): one sync per issuer at a
//! time, and queued revocations each delivered exactly once.
use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use chrono::Duration;
use futures_util::future::BoxFuture;
use tokenward::actions::{Actions, RevokeStatus};
use tokenward::config::IssuerConfig;
use tokenward::connectors::tokenward::map_credential;
use tokenward::connectors::{self, Capabilities, Connector, ConnectorError, Page};
use tokenward::domain::{Credential, CredentialStatus, IssuerAnswer, IssuerKind};
use tokenward::filter;
use tokenward::reference::{org::Org, server};
use tokenward::store::Store;
use tokenward::sync;
use tokio::sync::Notify;
use wiremock::matchers::{method, path_regex};
use wiremock::{Mock, MockServer, ResponseTemplate};

mod common;

fn connector(name: &str, url: &str, page_size: u32) -> Arc<dyn Connector> {
    let cfg = IssuerConfig {
        name: name.into(),
        kind: IssuerKind::Tokenward,
        url: url.into(),
        page_size: Some(page_size),
        timeout_s: Some(5),
        ..IssuerConfig::default()
    };
    Arc::from(connectors::build(&cfg).expect("connector"))
}

/// The real connector, except that its `hold_on`-th credentials call waits until released.
struct Held {
    inner: Arc<dyn Connector>,
    calls: AtomicUsize,
    hold_on: usize,
    reached: Arc<Notify>,
    release: Arc<Notify>,
}

impl Connector for Held {
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
        let hold = self.calls.fetch_add(1, Ordering::SeqCst) + 1 == self.hold_on;
        Box::pin(async move {
            if hold {
                self.reached.notify_one();
                self.release.notified().await;
            }
            self.inner.list_credentials(cursor).await
        })
    }
    fn revoke<'a>(&'a self, e: &'a str, a: &'a str, r: &'a str) -> BoxFuture<'a, Result<IssuerAnswer, ConnectorError>> {
        self.inner.revoke(e, a, r)
    }
}

async fn count(store: &Store, q: &str) -> i64 {
    store.count(&filter::parse(q).expect("filter"), common::fixed_now()).await.expect("count")
}

#[tokio::test]
async fn two_syncs_of_one_issuer_one_runs_the_other_is_told_who_holds_it() {
    let issuer = server::spawn("127.0.0.1:0", Org::new(1000, 3, common::fixed_now()), None).await.expect("issuer");
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("inv.db");
    let (cron, tui) = (Store::open(&db).await.expect("store"), Store::open(&db).await.expect("store"));
    let first = sync::sync_issuer(&cron, connector("broker", &issuer.url(), 100).as_ref(), None).await;
    assert_eq!((first.error.as_deref(), first.credentials), (None, 1000), "{first:?}");

    // The cron sync commits its first page (one page per transaction), then stalls on the third.
    let (reached, release) = (Arc::new(Notify::new()), Arc::new(Notify::new()));
    let held = Held { inner: connector("broker", &issuer.url(), 100), calls: AtomicUsize::new(0), hold_on: 3, reached: reached.clone(), release: release.clone() };
    let running = tokio::spawn({
        let cron = cron.clone();
        async move { sync::sync_issuer_with(&cron, &held, None, 100).await }
    });
    reached.notified().await;

    // Meanwhile the TUI's `S`: told who holds the issuer, and it changes nothing.
    let second = sync::sync_issuer(&tui, connector("broker", &issuer.url(), 100).as_ref(), None).await;
    let error = second.error.clone().expect("the second sync is refused");
    assert!(error.starts_with("issuer broker is being synced by ") && error.contains(&format!("{}@", std::process::id())), "{error}");
    assert!(error.contains(" since 20"), "names since when: {error}");
    assert_eq!((second.pages, second.credentials, second.gone), (0, 0, 0));

    release.notify_one();
    let cron_report = running.await.expect("task");
    assert_eq!((cron_report.error.as_deref(), cron_report.credentials, cron_report.gone), (None, 1000, 0), "{cron_report:?}");
    assert_eq!(count(&tui, "status:gone").await, 0, "no credential the issuer holds is marked gone");

    // Released: the next sync runs.
    let third = sync::sync_issuer(&tui, connector("broker", &issuer.url(), 100).as_ref(), None).await;
    assert_eq!((third.error.as_deref(), third.credentials, third.gone), (None, 1000, 0), "{third:?}");
    assert_eq!(count(&cron, "status:gone").await, 0);
}

#[tokio::test]
async fn an_expired_sync_lock_is_taken_over_and_its_old_holder_changes_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("inv.db");
    let (a, b) = (Store::open(&db).await.expect("store"), Store::open(&db).await.expect("store"));
    let t0 = common::fixed_now();
    let org = Org::new(10, 1, t0);
    let creds: Vec<_> = (0..10).map(|i| map_credential("broker", org.credential(i)).expect("maps")).collect();

    let stale = a.begin_sync_run("broker", t0).await.expect("a holds the lock");
    a.ingest_credential_page(stale.id, t0, &creds, 1, None).await.expect("page");
    let refused = b.begin_sync_run("broker", t0 + Duration::minutes(9)).await.expect_err("still held at 9 minutes");
    assert!(refused.to_string().contains("is being synced by"), "{refused}");

    // Past its expiry the lock is taken over; the stale holder can neither renew nor finish.
    let fresh = b.begin_sync_run("broker", t0 + Duration::minutes(11)).await.expect("taken over");
    let renew = a.renew_sync_lock(&stale, t0 + Duration::minutes(12)).await.expect_err("lost");
    assert!(renew.to_string().contains("lost its issuer lock"), "{renew}");
    let finish = a.finish_sync_run(&stale, "broker", None, t0 + Duration::minutes(12)).await.expect_err("lost");
    assert!(finish.to_string().contains("nothing was marked gone"), "{finish}");

    // The new holder sees half the issuer so far; the stale finish marked none of the rest gone.
    b.ingest_credential_page(fresh.id, t0, &creds[..5], 1, None).await.expect("page");
    assert_eq!(count(&b, "status:gone").await, 0);
    assert_eq!(b.finish_sync_run(&fresh, "broker", None, t0 + Duration::minutes(13)).await.expect("finish"), 5);
}

#[tokio::test]
async fn a_lock_whose_process_has_exited_is_taken_over_at_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("inv.db");
    let store = Store::open(&db).await.expect("store");
    let t0 = common::fixed_now();
    store.begin_sync_run("broker", t0).await.expect("lock");
    // As if the holder had been killed mid-sync: a pid on this host that no longer runs.
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").expect("hostname").trim().to_string();
    let conn = rusqlite::Connection::open(&db).expect("open");
    conn.execute("UPDATE sync_locks SET owner = ?1", [format!("4194304999@{host}/dead")]).expect("update");
    drop(conn);
    store.begin_sync_run("broker", t0 + Duration::minutes(1)).await.expect("the dead holder's lock is taken over");
}

/// 100 credentials of one issuer in a database file.
async fn seeded_file(db: &std::path::Path) -> (Store, Vec<Credential>) {
    let store = Store::open(db).await.expect("store");
    let org = Org::new(101, 7, common::fixed_now());
    // All active: a revoked credential cannot be claimed for revocation again.
    let creds: Vec<_> = (0..101)
        .map(|i| Credential { status: CredentialStatus::Active, ..map_credential("broker", org.credential(i)).expect("maps") })
        .collect();
    store.upsert_issuer("broker", IssuerKind::Tokenward, None).await.expect("issuer");
    let run = store.begin_sync_run("broker", common::fixed_now()).await.expect("run");
    store.ingest_credential_page(run.id, run.started_at, &creds, 1, None).await.expect("page");
    store.finish_sync_run(&run, "broker", None, common::fixed_now()).await.expect("finish");
    (store, creds)
}

#[tokio::test]
async fn queued_revocations_retried_by_two_processes_at_once_are_each_delivered_and_recorded_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("inv.db");
    let (first, creds) = seeded_file(&db).await;
    let issuer = MockServer::start().await;
    let broker = [connector("broker", &issuer.uri(), 100)];

    // The issuer is down: 100 revocations are queued.
    Mock::given(method("POST")).and(path_regex("^/v1/credentials/.+/revoke$")).respond_with(ResponseTemplate::new(503)).mount(&issuer).await;
    let queuer = Actions::new(first.clone(), &broker, "sec@acme.test", false);
    for c in &creds[..100] {
        let out = queuer.revoke(&c.external_id, "owner left").await.expect("queued");
        assert_eq!(out.status, RevokeStatus::Queued);
    }
    // One more, not due for an hour: no retry may send it.
    let later = &creds[100];
    let id = first.resolve(&later.external_id).await.expect("resolve");
    first.enqueue_revocation(&id, "broker", "sec@acme.test", "later", "down", chrono::Utc::now() + Duration::hours(1)).await.expect("enqueue");

    // Back up, a little slow, so both processes are at it together.
    issuer.reset().await;
    Mock::given(method("POST"))
        .and(path_regex("^/v1/credentials/.+/revoke$"))
        .respond_with(ResponseTemplate::new(200).set_body_string("{\"status\":\"revoked\"}").set_delay(std::time::Duration::from_millis(10)))
        .mount(&issuer)
        .await;
    let second = Store::open(&db).await.expect("second handle");
    let (a, b) = (Actions::new(first.clone(), &broker, "sec@acme.test", false), Actions::new(second.clone(), &broker, "ops@acme.test", false));
    let (done_a, done_b) = tokio::join!(a.retry_outbox(), b.retry_outbox());
    let (done_a, done_b) = (done_a.expect("retry a"), done_b.expect("retry b"));
    assert_eq!(done_a + done_b, 100, "every due revocation confirmed once ({done_a} + {done_b})");

    // The issuer received each exactly once, and never the one not yet due.
    let mut received: BTreeMap<String, usize> = BTreeMap::new();
    for r in issuer.received_requests().await.expect("recorded") {
        *received.entry(r.url.path().to_string()).or_default() += 1;
    }
    assert_eq!(received.len(), 100);
    assert!(received.values().all(|n| *n == 1), "a revocation was sent twice: {received:?}");
    assert!(!received.keys().any(|p| p.contains(&tokenward::connectors::tokenward::url_segment(&later.external_id))));

    // Each is recorded once in the audit log; the one not due still waits.
    let log = second.audit_entries(0, 10_000).await.expect("audit");
    let revokes: Vec<_> = log.iter().filter(|e| e.action == "revoke").map(|e| e.target.clone()).collect();
    assert_eq!((revokes.len(), revokes.iter().collect::<BTreeSet<_>>().len()), (100, 100));
    assert_eq!(count(&second, "status:revoked").await, 100);
    let pending = second.pending_revocations().await.expect("pending");
    assert_eq!(pending.iter().map(|p| p.credential_id.as_str()).collect::<Vec<_>>(), [id.as_str()]);
    // A later pass still leaves it alone.
    assert_eq!(a.retry_outbox().await.expect("retry"), 0);
}

#[tokio::test]
async fn an_outbox_claim_excludes_others_until_released_or_lapsed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("inv.db");
    let (a, creds) = seeded_file(&db).await;
    let b = Store::open(&db).await.expect("second handle");
    let now = chrono::Utc::now();
    for c in &creds[..3] {
        let id = a.resolve(&c.external_id).await.expect("resolve");
        a.enqueue_revocation(&id, "broker", "sec@acme.test", "r", "down", now).await.expect("enqueue");
    }
    let lease = Duration::minutes(5);
    assert_eq!(a.claim_revocations("a", now, lease, 2).await.expect("claim").len(), 2);
    let rest = b.claim_revocations("b", now, lease, 10).await.expect("claim");
    assert_eq!(rest.len(), 1, "only the unclaimed row");
    assert!(b.claim_revocations("b", now, lease, 10).await.expect("claim").is_empty());
    // A failure releases the claim but sets the row's next attempt: not due yet.
    b.note_outbox_failure(rest[0].id, "503", now + Duration::minutes(1)).await.expect("note");
    assert!(b.claim_revocations("b", now, lease, 10).await.expect("claim").is_empty());
    assert_eq!(b.claim_revocations("b", now + Duration::minutes(1), lease, 10).await.expect("claim").len(), 1);
    // A lapsed claim (its holder died) is claimed again.
    assert_eq!(b.claim_revocations("b", now + Duration::minutes(6), lease, 10).await.expect("claim").len(), 3);
}
