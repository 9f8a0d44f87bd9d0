//! Races between two processes on one database file: first two `Store::open`
//! handles of one path in this process (as a cron sync and the TUI would have),
//! then two real `tokenward` processes against a real `tokenward issuer serve`
//! behind a counting proxy. One sync per issuer at a time, and queued revocations
//! each delivered exactly once.
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
use common::finish;
use common::proxy::{issuer_statuses, Proxy};

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

    // Released: the next sync runs (a full listing: a delta one would find nothing changed).
    let third = sync::sync_all_listing(&tui, &[connector("broker", &issuer.url(), 100)], 1, None, sync::Listing::Full).await.remove(0);
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

// ---- Two real `tokenward` processes ------------------------------------------------

fn write_broker_config(dir: &std::path::Path, url: &str) {
    std::fs::write(dir.join("tokenward.toml"), format!("[[issuer]]\nname = \"broker\"\nkind = \"tokenward\"\nurl = \"{url}\"\npage_size = 50\n")).expect("config");
}

fn tw_process(dir: &std::path::Path, operator: &str, args: &[&str]) -> std::process::Command {
    let mut c = std::process::Command::new(common::bin());
    c.env_remove("TOKENWARD_OPERATOR").env_remove("TOKENWARD_CONFIG").env_remove("TOKENWARD_DB");
    c.arg("--db").arg(dir.join("inv.db")).arg("--config").arg(dir.join("tokenward.toml")).arg("--operator").arg(operator).args(args);
    c.stdout(std::process::Stdio::piped()).stderr(std::process::Stdio::piped());
    c
}

fn sql_count(db: &std::path::Path, sql: &str) -> i64 {
    rusqlite::Connection::open(db).expect("open").query_row(sql, [], |r| r.get(0)).expect("count")
}

/// What the database holds, external id -> status.
fn local_statuses(db: &std::path::Path) -> BTreeMap<String, String> {
    rusqlite::Connection::open(db)
        .expect("open")
        .prepare("SELECT external_id, status FROM credentials")
        .expect("prepare")
        .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))
        .expect("query")
        .collect::<Result<_, _>>()
        .expect("rows")
}

/// Two `tokenward sync` processes of one issuer started at once on one database:
/// the one holding the issuer's lock is stopped mid-sync (its first listing held
/// at the proxy) until the other has finished, which must have been refused with
/// the holder's pid; the database then holds exactly the issuer's credentials.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_sync_processes_of_one_issuer_one_syncs_the_other_names_the_holder() {
    let issuer = common::peers::reference_issuer(300, 17);
    let (proxy, url) = Proxy::start(&issuer.url).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("inv.db");
    write_broker_config(dir.path(), &url);
    let (ok, err) = finish(tw_process(dir.path(), "cron@acme.test", &["sync"]).spawn().expect("spawn")).await;
    assert!(ok, "first sync: {err}");
    let listed = issuer_statuses(&issuer.url).await;

    proxy.hold_listing.store(true, Ordering::SeqCst);
    let a = tw_process(dir.path(), "cron@acme.test", &["sync"]).spawn().expect("spawn a");
    let b = tw_process(dir.path(), "tui@acme.test", &["sync"]).spawn().expect("spawn b");
    proxy.listing_held.notified().await;
    // One process is stopped inside its sync; the other must finish on its own.
    let ((loser, (loser_ok, loser_err)), (winner, holder)) = common::first_to_exit(a, b).await;
    proxy.release_listing.notify_one();
    let (winner_ok, winner_err) = finish(holder).await;
    assert!(winner_ok, "the holder's sync: {winner_err}");
    assert!(!loser_ok, "the second sync exits non-zero");
    assert!(loser_err.contains(&format!("issuer broker is being synced by {winner}@")), "names the holder: {loser_err}");
    println!("two syncs at once: pid {winner} synced, pid {loser} was refused: {}", loser_err.lines().find(|l| l.contains("being synced")).unwrap_or(""));

    assert_eq!(sql_count(&db, "SELECT count(*) FROM credentials WHERE issuer = 'broker'"), listed.len() as i64);
    assert_eq!(sql_count(&db, "SELECT count(*) FROM credentials WHERE status = 'gone'"), 0, "none wrongly gone");
    assert_eq!(local_statuses(&db), listed, "exactly the issuer's credentials, as the issuer lists them");
}

/// 100 revocations queued by 100 `tokenward revoke` processes while the issuer is
/// unreachable (its URL a closed port), then the issuer back and two `tokenward
/// sync` processes retrying the outbox at once (the first revocation held at the
/// proxy until the other process has one in flight too): each reaches the issuer
/// exactly once and is recorded once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queued_revocations_retried_by_two_processes_reach_the_issuer_once_each() {
    let issuer = common::peers::reference_issuer(250, 23);
    let (proxy, url) = Proxy::start(&issuer.url).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("inv.db");
    write_broker_config(dir.path(), &url);
    let (ok, err) = finish(tw_process(dir.path(), "sec@acme.test", &["sync"]).spawn().expect("spawn")).await;
    assert!(ok, "first sync: {err}");
    let victims: Vec<String> = rusqlite::Connection::open(&db)
        .expect("open")
        .prepare("SELECT external_id FROM credentials WHERE status = 'active' ORDER BY external_id LIMIT 100")
        .expect("prepare")
        .query_map([], |r| r.get(0))
        .expect("query")
        .collect::<Result<_, _>>()
        .expect("rows");
    assert_eq!(victims.len(), 100, "the issuer has 100 active credentials");

    // The issuer is down: a port nothing listens on.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port();
    write_broker_config(dir.path(), &format!("http://127.0.0.1:{closed}"));
    for batch in victims.chunks(4) {
        let runs = batch.iter().map(|id| finish(tw_process(dir.path(), "sec@acme.test", &["revoke", id, "--reason", "owner left"]).spawn().expect("spawn")));
        for (id, (ok, err)) in batch.iter().zip(futures_util::future::join_all(runs).await) {
            assert!(!ok && err.contains("queued for retry"), "{id}: {err}");
        }
    }
    assert_eq!(sql_count(&db, "SELECT count(*) FROM revocation_outbox WHERE done_at IS NULL"), 100);
    assert!(proxy.revocations().is_empty());

    // Back up: two processes retry at once.
    write_broker_config(dir.path(), &url);
    proxy.hold_revocation.store(true, Ordering::SeqCst);
    let a = tw_process(dir.path(), "sec@acme.test", &["sync"]).spawn().expect("spawn a");
    let b = tw_process(dir.path(), "ops@acme.test", &["sync"]).spawn().expect("spawn b");
    let (pid_a, pid_b) = (a.id(), b.id());
    let ((_, err_a), (_, err_b)) = tokio::join!(finish(a), finish(b));
    let confirmed = |err: &str| -> usize {
        err.lines().find_map(|l| l.strip_prefix("revocation outbox: ")).and_then(|l| l.split_whitespace().next()).and_then(|n| n.parse().ok()).unwrap_or(0)
    };
    let (done_a, done_b) = (confirmed(&err_a), confirmed(&err_b));
    let most = proxy.most_in_flight.load(Ordering::SeqCst);
    println!("outbox retried by two processes: pid {pid_a} confirmed {done_a}, pid {pid_b} confirmed {done_b}; at most {most} revocations in flight at once");
    assert_eq!(most, 2, "both processes were sending revocations at the same time");
    assert_eq!(done_a + done_b, 100, "each confirmed by one process:\n{err_a}\n{err_b}");

    // At the issuer: each path exactly once, and the issuer lists each revoked.
    let received = proxy.revocations();
    assert_eq!(received.len(), 100);
    assert!(received.values().all(|n| *n == 1), "a revocation reached the issuer twice: {received:?}");
    let at_issuer = issuer_statuses(&issuer.url).await;
    assert!(victims.iter().all(|v| at_issuer.get(v).map(String::as_str) == Some("revoked")), "every victim revoked at the issuer");

    // Recorded once each: one `revoke` audit entry per credential, nothing left queued.
    assert_eq!(sql_count(&db, "SELECT count(*) FROM audit_log WHERE action = 'revoke'"), 100);
    assert_eq!(sql_count(&db, "SELECT count(DISTINCT target) FROM audit_log WHERE action = 'revoke'"), 100);
    assert_eq!(sql_count(&db, "SELECT count(*) FROM revocation_outbox WHERE done_at IS NULL"), 0);
    let (ok, err) = finish(tw_process(dir.path(), "sec@acme.test", &["sync"]).spawn().expect("spawn")).await;
    assert!(ok, "a later sync: {err}");
    assert_eq!(proxy.revocations().len(), 100, "and sends nothing again");
    let local = local_statuses(&db);
    assert!(victims.iter().all(|v| local.get(v).map(String::as_str) == Some("revoked")), "every victim revoked here");
    assert_eq!(local, issuer_statuses(&issuer.url).await, "the database agrees with the issuer");
    let (ok, err) = finish(tw_process(dir.path(), "sec@acme.test", &["audit", "verify"]).spawn().expect("spawn")).await;
    assert!(ok, "audit verify: {err}");
}
