//! One store conformance suite, run on both backends through the `Store` facade:
//! every scenario below runs once on a SQLite file and once on a throwaway
//! PostgreSQL cluster (`conformance!` expands each into `sqlite::NAME` and
//! `postgres::NAME`). The sync path: runs, their per-issuer lock, resume cursors,
//! what a finished run marks gone, ingest of credentials, owners and grants; and
//! browsing: keyset pages through every sort and filter, counts, positions,
//! resolving, one credential whole. Orders are checked against an order computed
//! here from the issuer's data, and PostgreSQL's pages against SQLite's on
//! identical data (`postgres_pages_are_sqlite_pages`).
use std::collections::BTreeSet;

use tokenward::connectors::tokenward::{map_credential, map_grant, map_owner};
use tokenward::domain::{fmt_ts, Credential, CredentialStatus, GrantStatus, IssuerKind, Owner, OwnerStatus, Timestamp};
use tokenward::filter;
use tokenward::reference::org::Org;
use tokenward::store::{Key, PageAnchor, PageRequest, Sort, SortColumn, Store, StoreError, SyncRunStart};

mod common;
use common::fixed_now;

const ISSUER: &str = "acme-broker";

/// A store and what keeps its database alive (the file's directory, or the cluster).
struct Opened {
    store: Store,
    _dir: Option<tempfile::TempDir>,
    _cluster: Option<common::peers::Postgres>,
}

async fn open_sqlite() -> Opened {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(&dir.path().join("inv.db")).await.expect("sqlite store");
    Opened { store, _dir: Some(dir), _cluster: None }
}

/// A database whose default collation is a language's (ICU `en-US`), as a team's
/// server usually has, not byte order: the store must order text as SQLite does anyway.
async fn open_postgres() -> Opened {
    let cluster = common::peers::postgres();
    let admin = sqlx::PgPool::connect(&cluster.url).await.expect("connect");
    sqlx::query("CREATE DATABASE inventory TEMPLATE template0 ENCODING 'UTF8' LOCALE 'C' LOCALE_PROVIDER icu ICU_LOCALE 'en-US'")
        .execute(&admin)
        .await
        .expect("an en-US database");
    admin.close().await;
    let url = cluster.url_for("postgres", common::peers::PG_SUPERUSER_PASSWORD, "inventory");
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open_postgres(&url, Some(&dir.path().join("audit-key"))).await.expect("postgres store");
    Opened { store, _dir: Some(dir), _cluster: Some(cluster) }
}

/// Each scenario `async fn NAME(store: &Store)` as a test on each backend.
macro_rules! conformance {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(#[tokio::test] async fn $name() { let db = super::open_sqlite().await; super::$name(&db.store).await; })*
        }
        mod postgres {
            $(#[tokio::test] async fn $name() { let db = super::open_postgres().await; super::$name(&db.store).await; })*
        }
    };
}

conformance! {
    a_sync_run_ingests_pages_and_resumes_from_its_cursor,
    finishing_marks_gone_exactly_what_the_run_did_not_see,
    a_delta_run_marks_gone_only_its_tombstones,
    the_lock_refuses_a_second_run_and_names_its_holder,
    a_lock_taken_over_leaves_the_old_run_nothing_to_mark,
    two_runs_begun_at_once_one_wins,
    pages_walk_every_sort_both_ways_under_filters,
    resolve_finds_by_id_prefix_external_id_and_fingerprint,
    a_credential_comes_back_whole_with_its_lineage,
    a_directory_outranks_a_broker_on_who_left,
    the_issuers_grants_replace_ours,
    the_sync_engine_fills_the_store_from_a_reference_issuer,
}

// ---- data -------------------------------------------------------------------

fn org_credentials(n: u64, seed: u64) -> Vec<Credential> {
    let org = Org::new(n, seed, fixed_now());
    (0..n).map(|i| map_credential(ISSUER, org.credential(i)).expect("credential maps")).collect()
}

/// Text whose byte order is not a language's: upper and lower case, `_` beside `.`
/// and `-` (a server's default collation would order these otherwise).
fn awkward(mut creds: Vec<Credential>) -> Vec<Credential> {
    for (i, c) in creds.iter_mut().enumerate() {
        let Some(w) = c.workload.clone() else { continue };
        match i % 5 {
            0 => c.workload = Some(w.to_uppercase()),
            1 => c.workload = Some(w.replace('-', "_")),
            2 => c.owner = c.owner.as_deref().map(|o| o.replacen('.', "_", 1)),
            3 => c.workload = Some(format!("{}{}", &w[..1].to_uppercase(), &w[1..])),
            _ => {}
        }
    }
    creds
}

fn org_owners(n: u64, seed: u64) -> Vec<Owner> {
    Org::new(n, seed, fixed_now()).owners().into_iter().map(|o| map_owner(ISSUER, o).expect("owner maps")).collect()
}

/// One finished run holding `creds` (in pages of 100) and the org's people.
async fn seed(store: &Store, creds: &[Credential], owners: &[Owner]) {
    store.upsert_issuer(ISSUER, IssuerKind::Tokenward, Some("https://broker.acme.test")).await.expect("issuer");
    let run = store.begin_sync_run(ISSUER, fixed_now()).await.expect("run");
    store.ingest_owners(ISSUER, owners, fixed_now(), false).await.expect("owners");
    for page in creds.chunks(100) {
        store.ingest_credential_page(run.id, run.started_at, page, 1, Some("next")).await.expect("page");
    }
    store.finish_sync_run(&run, ISSUER, None, fixed_now()).await.expect("finish");
}

/// The exact count; the capped count the status line shows first must agree with it at every cap.
async fn count(store: &Store, q: &str) -> i64 {
    let query = filter::parse(q).expect("filter");
    let exact = store.count(&query, fixed_now()).await.expect("count");
    for cap in [1, 7, exact, exact + 1] {
        assert_eq!(store.count_capped(&query, fixed_now(), cap).await.expect("capped"), exact.min(cap), "{q} capped at {cap}");
    }
    exact
}

async fn ids_of(store: &Store, q: &str) -> BTreeSet<String> {
    let rows = walk(store, q, Sort { column: SortColumn::Id, descending: false }, 1000, false).await;
    rows.into_iter().map(|k| k.id).collect()
}

fn request(q: &str, sort: Sort, anchor: PageAnchor, limit: usize) -> PageRequest {
    PageRequest { query: filter::parse(q).expect("filter"), now: fixed_now(), sort, anchor, limit }
}

/// Every row's key in display order, page by page: forward from the first page,
/// or backward from the last (then returned in display order).
async fn walk(store: &Store, q: &str, sort: Sort, limit: usize, backward: bool) -> Vec<Key> {
    let mut keys: Vec<Key> = Vec::new();
    let mut anchor = if backward { PageAnchor::Last } else { PageAnchor::First };
    loop {
        let page = store.page(&request(q, sort, anchor, limit)).await.expect("page");
        assert!(page.len() <= limit);
        let got: Vec<Key> = page.iter().map(|r| r.key.clone()).collect();
        let done = got.len() < limit;
        if backward {
            anchor = match got.first() {
                Some(k) => PageAnchor::Before(k.clone()),
                None => break,
            };
            keys.splice(0..0, got);
        } else {
            anchor = match got.last() {
                Some(k) => PageAnchor::After(k.clone()),
                None => break,
            };
            keys.extend(got);
        }
        if done {
            break;
        }
    }
    keys
}

/// A credential's sort key as the store defines it, computed here from the issuer's data.
fn sort_key(c: &Credential, column: SortColumn) -> String {
    let or_empty = |s: &Option<String>| s.clone().unwrap_or_default();
    let expires = c.expires_at.as_ref().map(fmt_ts).unwrap_or_else(|| "9999-12-31T23:59:59Z".into());
    match column {
        SortColumn::ActiveFirst => format!("{}{expires}", if c.status == CredentialStatus::Active { 0 } else { 1 }),
        SortColumn::Id => c.id.clone(),
        SortColumn::Owner => or_empty(&c.owner).to_lowercase(),
        SortColumn::Workload => or_empty(&c.workload),
        SortColumn::Expires => expires,
        SortColumn::LastUsed => c.last_used_at.as_ref().map(fmt_ts).unwrap_or_default(),
        SortColumn::Status => c.status.as_str().into(),
        SortColumn::Binding => c.binding.as_str().into(),
    }
}

/// Which credentials a filter should select, said in Rust.
type Keep = Box<dyn Fn(&Credential) -> bool>;

/// The display order, byte by byte, of the credentials `keep` selects.
fn expected_order(creds: &[Credential], sort: Sort, keep: &dyn Fn(&Credential) -> bool) -> Vec<Key> {
    let mut keys: Vec<Key> = creds.iter().filter(|c| keep(c)).map(|c| Key { sort: sort_key(c, sort.column), id: c.id.clone() }).collect();
    keys.sort_by(|a, b| (a.sort.as_bytes(), a.id.as_bytes()).cmp(&(b.sort.as_bytes(), b.id.as_bytes())));
    if sort.descending {
        keys.reverse();
    }
    keys
}

fn every_sort() -> Vec<Sort> {
    SortColumn::CYCLE.iter().flat_map(|&column| [false, true].map(|descending| Sort { column, descending })).collect()
}

// ---- sync runs and ingest -------------------------------------------------------

async fn a_sync_run_ingests_pages_and_resumes_from_its_cursor(store: &Store) {
    let creds = org_credentials(300, 3);
    store.upsert_issuer(ISSUER, IssuerKind::Tokenward, None).await.expect("issuer");
    let run = store.begin_sync_run(ISSUER, fixed_now()).await.expect("run");
    assert_eq!((run.resume_cursor.as_deref(), run.pages, run.items), (None, 0, 0));
    store.ingest_credential_page(run.id, run.started_at, &creds[..100], 1, Some("page-2")).await.expect("page 1");
    store.ingest_credential_page(run.id, run.started_at, &creds[100..200], 1, Some("page-3")).await.expect("page 2");
    // The process dies here: its lock lapses, and the next run resumes where the pages stopped.
    let later = fixed_now() + chrono::Duration::minutes(11);
    let resumed = store.begin_sync_run(ISSUER, later).await.expect("resumed");
    assert_eq!((resumed.id, resumed.resume_cursor.as_deref(), resumed.pages, resumed.items), (run.id, Some("page-3"), 2, 200));
    assert_eq!(resumed.started_at, run.started_at);
    assert_ne!(resumed.lock, run.lock, "each run holds its own lock");
    store.ingest_credential_page(resumed.id, resumed.started_at, &creds[200..], 1, None).await.expect("page 3");
    assert_eq!(store.finish_sync_run(&resumed, ISSUER, None, later).await.expect("finish"), 0, "every credential was seen");

    let runs = store.sync_runs(10).await.expect("runs");
    assert_eq!(runs.len(), 1);
    assert_eq!((runs[0].status.to_string().as_str(), runs[0].pages, runs[0].items, runs[0].error.as_deref()), ("ok", 3, 300, None));
    assert_eq!(runs[0].finished_at.as_deref(), Some(fmt_ts(&later).as_str()));
    assert_eq!(count(store, "").await, 300);
    assert_eq!(count(store, "status:gone").await, 0);
    let issuers = store.issuer_summaries().await.expect("issuers");
    assert_eq!(issuers.len(), 1);
    assert_eq!((issuers[0].name.as_str(), issuers[0].credentials), (ISSUER, 300));
    assert_eq!(issuers[0].last_run.as_ref().map(|r| r.id), Some(run.id));

    // A run that stopped after its last page but before finishing is closed as failed; the next starts afresh.
    let third = store.begin_sync_run(ISSUER, later).await.expect("third");
    store.ingest_credential_page(third.id, third.started_at, &creds[..10], 1, None).await.expect("page");
    let fourth = store.begin_sync_run(ISSUER, later + chrono::Duration::minutes(11)).await.expect("fourth");
    assert!(fourth.id > third.id && fourth.resume_cursor.is_none());
    let runs = store.sync_runs(10).await.expect("runs");
    assert_eq!(runs.iter().map(|r| r.status.to_string()).collect::<Vec<_>>(), ["running", "failed", "ok"]);
    assert!(runs[1].error.as_deref().is_some_and(|e| e.contains("after its last page")), "{:?}", runs[1]);
}

async fn finishing_marks_gone_exactly_what_the_run_did_not_see(store: &Store) {
    let creds = org_credentials(300, 5);
    seed(store, &creds, &[]).await;
    let unseen: BTreeSet<String> = creds.iter().step_by(43).map(|c| c.id.clone()).collect();
    let seen: Vec<Credential> = creds.iter().filter(|c| !unseen.contains(&c.id)).cloned().collect();
    let at = fixed_now() + chrono::Duration::hours(1);

    // A failed run marks nothing gone, whatever it missed.
    let failed = store.begin_sync_run(ISSUER, at).await.expect("run");
    store.ingest_credential_page(failed.id, at, &seen[..50], 1, Some("more")).await.expect("page");
    assert_eq!(store.finish_sync_run(&failed, ISSUER, Some("issuer went away"), at).await.expect("finish"), 0);
    assert_eq!(count(store, "status:gone").await, 0);

    // It resumes from its cursor; finished, it marks gone exactly what no page held.
    let run = store.begin_sync_run(ISSUER, at).await.expect("resumes");
    assert_eq!((run.id, run.resume_cursor.as_deref()), (failed.id, Some("more")));
    for page in seen[50..].chunks(100) {
        store.ingest_credential_page(run.id, at, page, 1, Some("more")).await.expect("page");
    }
    let gone = store.finish_sync_run(&run, ISSUER, None, at).await.expect("finish");
    assert_eq!(gone as usize, unseen.len());
    assert_eq!(ids_of(store, "status:gone").await, unseen);
    assert_eq!(count(store, "").await, 300, "gone is kept, for history");

    // Seen again, a credential is no longer gone.
    let again = store.begin_sync_run(ISSUER, at).await.expect("run");
    store.ingest_credential_page(again.id, at, &creds, 3, None).await.expect("page");
    assert_eq!(store.finish_sync_run(&again, ISSUER, None, at).await.expect("finish"), 0);
    assert_eq!(count(store, "status:gone").await, 0);
}

async fn a_delta_run_marks_gone_only_its_tombstones(store: &Store) {
    let creds = org_credentials(200, 6);
    seed(store, &creds, &[]).await;
    let at = fixed_now() + chrono::Duration::hours(1);
    let day_before = at - chrono::Duration::hours(24);
    // A full run that gave a watermark, then one that ended badly with a newer one.
    let full = store.begin_sync_run(ISSUER, at).await.expect("run");
    store.set_run_listing(full.id, None, Some("w1")).await.expect("listing");
    store.ingest_credential_page(full.id, at, &creds, 2, None).await.expect("page");
    store.finish_sync_run(&full, ISSUER, None, at).await.expect("finish");
    let bad = store.begin_sync_run(ISSUER, at).await.expect("run");
    store.set_run_listing(bad.id, Some("w1"), Some("w2")).await.expect("listing");
    store.finish_sync_run(&bad, ISSUER, Some("issuer went away"), at).await.expect("finish");
    assert_eq!(store.last_watermark(ISSUER, day_before).await.expect("watermark").as_deref(), Some("w1"), "only a run that ended well counts");
    assert_eq!(store.last_watermark("another-issuer", day_before).await.expect("watermark"), None);
    // No full listing since `full_since`: the next one lists everything.
    assert_eq!(store.last_watermark(ISSUER, at + chrono::Duration::seconds(1)).await.expect("watermark"), None);

    // A delta run lists three changed credentials and two tombstones: only those two go.
    let delta = store.begin_sync_run(ISSUER, at).await.expect("run");
    store.set_run_listing(delta.id, Some("w1"), Some("w3")).await.expect("listing");
    store.ingest_credential_page(delta.id, at, &creds[..3], 1, Some("next")).await.expect("page");
    let removed = vec![creds[10].external_id.clone(), creds[11].external_id.clone(), "never-seen".to_string()];
    assert_eq!(store.mark_removed(ISSUER, &removed, at).await.expect("removed"), 2);
    assert_eq!(store.mark_removed(ISSUER, &removed, at).await.expect("again"), 0, "marking gone twice changes nothing");
    // Interrupted, it resumes as the delta listing it was.
    store.finish_sync_run(&delta, ISSUER, Some("interrupted"), at).await.expect("finish");
    let resumed = store.begin_sync_run(ISSUER, at).await.expect("resumes");
    assert_eq!((resumed.id, resumed.since.as_deref()), (delta.id, Some("w1")));
    assert_eq!(store.finish_sync_run(&resumed, ISSUER, None, at).await.expect("finish"), 0, "nothing gone by absence");
    assert_eq!(ids_of(store, "status:gone").await, BTreeSet::from([creds[10].id.clone(), creds[11].id.clone()]));
    assert_eq!(store.last_watermark(ISSUER, day_before).await.expect("watermark").as_deref(), Some("w3"));

    // A full run again marks gone what it does not list.
    let full = store.begin_sync_run(ISSUER, at).await.expect("run");
    assert_eq!(full.since, None);
    store.ingest_credential_page(full.id, at, &creds[..150], 2, None).await.expect("page");
    assert_eq!(store.finish_sync_run(&full, ISSUER, None, at).await.expect("finish"), 50);
}

async fn the_lock_refuses_a_second_run_and_names_its_holder(store: &Store) {
    store.upsert_issuer(ISSUER, IssuerKind::Tokenward, None).await.expect("issuer");
    let run = store.begin_sync_run(ISSUER, fixed_now()).await.expect("run");
    let refused = store.begin_sync_run(ISSUER, fixed_now() + chrono::Duration::minutes(5)).await.expect_err("locked");
    let said = refused.to_string();
    assert!(matches!(refused, StoreError::Conflict(_)), "{said}");
    assert!(said.contains(&run.lock) && said.contains("being synced by"), "{said}");
    assert!(run.lock.starts_with(&format!("{}@", std::process::id())), "the holder names this process: {}", run.lock);
    // Renewed as pages commit, the lock stands past its first expiry.
    store.renew_sync_lock(&run, fixed_now() + chrono::Duration::minutes(9)).await.expect("renewed");
    store.begin_sync_run(ISSUER, fixed_now() + chrono::Duration::minutes(12)).await.expect_err("renewed lock still held");
    // Another issuer is not held up.
    store.upsert_issuer("gh", IssuerKind::Tokenward, None).await.expect("issuer");
    let other = store.begin_sync_run("gh", fixed_now()).await.expect("another issuer syncs at once");
    store.finish_sync_run(&other, "gh", None, fixed_now()).await.expect("finish");
    // Released on finish: the next run begins.
    store.finish_sync_run(&run, ISSUER, None, fixed_now()).await.expect("finish");
    store.begin_sync_run(ISSUER, fixed_now()).await.expect("the lock was released");
}

async fn a_lock_taken_over_leaves_the_old_run_nothing_to_mark(store: &Store) {
    let creds = org_credentials(50, 9);
    seed(store, &creds, &[]).await;
    let stale = store.begin_sync_run(ISSUER, fixed_now()).await.expect("run");
    let taker: SyncRunStart = store.begin_sync_run(ISSUER, fixed_now() + chrono::Duration::minutes(11)).await.expect("an expired lock is taken over");
    let lost = store.renew_sync_lock(&stale, fixed_now() + chrono::Duration::minutes(12)).await.expect_err("lost");
    assert!(lost.to_string().contains("lost its issuer lock"), "{lost}");
    let lost = store.finish_sync_run(&stale, ISSUER, None, fixed_now()).await.expect_err("lost");
    assert!(lost.to_string().contains("nothing was marked gone"), "{lost}");
    assert_eq!(count(store, "status:gone").await, 0, "the old run saw nothing, yet marked nothing gone");
    store.ingest_credential_page(taker.id, taker.started_at, &creds, 1, None).await.expect("page");
    assert_eq!(store.finish_sync_run(&taker, ISSUER, None, fixed_now()).await.expect("finish"), 0);
}

async fn two_runs_begun_at_once_one_wins(store: &Store) {
    store.upsert_issuer(ISSUER, IssuerKind::Tokenward, None).await.expect("issuer");
    for round in 0..5 {
        let now = fixed_now() + chrono::Duration::minutes(11 * round);
        let (a, b) = tokio::join!(store.begin_sync_run(ISSUER, now), store.begin_sync_run(ISSUER, now));
        let (won, lost) = match (a, b) {
            (Ok(won), Err(lost)) | (Err(lost), Ok(won)) => (won, lost),
            (a, b) => panic!("exactly one run may begin: {:?} / {:?}", a.map(|r| r.lock), b.map(|r| r.lock)),
        };
        assert!(lost.to_string().contains(&won.lock), "{lost}");
        // Left running: the next round's runs find its lock expired and race to take it over.
    }
}

// ---- browsing -------------------------------------------------------------------

async fn pages_walk_every_sort_both_ways_under_filters(store: &Store) {
    let mut creds = awkward(org_credentials(400, 11));
    seed(store, &creds, &org_owners(400, 11)).await;
    let now = fixed_now();
    let scope = creds.iter().flat_map(|c| c.scopes.clone()).next().expect("a scope");
    // Statuses changed after the ingest (a delta listing's tombstones) move a credential in
    // the default order, scope rows and all.
    let removed: Vec<String> =
        creds.iter().filter(|c| c.status == CredentialStatus::Active && c.scopes.contains(&scope)).take(5).map(|c| c.external_id.clone()).collect();
    assert_eq!(store.mark_removed(ISSUER, &removed, now).await.expect("removed"), 5);
    creds.iter_mut().filter(|c| removed.contains(&c.external_id)).for_each(|c| c.status = CredentialStatus::Gone);
    let word = creds[7].workload.clone().expect("workload")[..4].to_uppercase();
    let horizon = fmt_ts(&(now + chrono::Duration::days(30)));
    // `unused>` in the default order is looked for in a window of it, then off its own index.
    let idle_since = fmt_ts(&(now - chrono::Duration::days(30)));
    let idle = move |c: &Credential| c.last_used_at.or(c.issued_at).map(|t| fmt_ts(&t)).unwrap_or_default() < idle_since;
    // Findings, as the findings engine opens them: the filter walks a window of the order before it drives from them.
    tokenward::findings::recompute(store, &tokenward::config::Thresholds::default(), now).await.expect("findings");
    let with = |rule: &str, findings: &[tokenward::store::FindingRow]| -> BTreeSet<String> {
        findings.iter().filter(|f| f.rule == rule).map(|f| f.credential_id.clone()).collect()
    };
    let open = store.open_findings(None, 100_000).await.expect("open findings");
    let (no_expiry, bearer) = (with("no-expiry", &open), with("bearer-sensitive", &open));
    let filters: Vec<(String, Keep)> = vec![
        ("finding:no-expiry".into(), Box::new(move |c| no_expiry.contains(&c.id))),
        ("-finding:bearer-sensitive".into(), Box::new({ let b = bearer.clone(); move |c| !b.contains(&c.id) })),
        ("finding:bearer-sensitive status:active".into(), Box::new(move |c| bearer.contains(&c.id) && c.status == CredentialStatus::Active)),
        (String::new(), Box::new(|_| true)),
        ("unused>30d".into(), Box::new(idle.clone())),
        ("unused>30d -status:revoked".into(), Box::new(move |c| idle(c) && c.status != CredentialStatus::Revoked)),
        ("status:active".into(), Box::new(|c| c.status == CredentialStatus::Active)),
        (format!("binding:{}", creds[0].binding.as_str()), Box::new({ let b = creds[0].binding; move |c| c.binding == b })),
        ("owner:none".into(), Box::new(|c| c.owner.as_deref().unwrap_or_default().is_empty())),
        ("expires:never".into(), Box::new(|c| c.expires_at.is_none())),
        ("-expires<30d".into(), Box::new(move |c| c.expires_at.as_ref().is_none_or(|t| fmt_ts(t) >= horizon))),
        (format!("scope:{scope}"), Box::new({ let s = scope.clone(); move |c| c.scopes.contains(&s) })),
        (format!("scope:{scope} status:active"), Box::new({ let s = scope.clone(); move |c| c.scopes.contains(&s) && c.status == CredentialStatus::Active })),
        ("_".into(), Box::new(|c| [c.owner.clone(), c.workload.clone(), c.client_id.clone()].iter().flatten().any(|f| f.contains('_')))),
        (word.clone(), Box::new({
            let w = word.to_lowercase();
            move |c| [Some(c.id.clone()), c.owner.clone(), c.workload.clone(), c.client_id.clone()].iter().flatten().any(|f| f.to_lowercase().contains(&w))
        })),
    ];
    for (q, keep) in &filters {
        let mut expected_len = None;
        for sort in every_sort() {
            let expected = expected_order(&creds, sort, keep.as_ref());
            assert!(q.is_empty() || (1..creds.len()).contains(&expected.len()), "filter '{q}' selects some, not all: {}", expected.len());
            expected_len.get_or_insert(expected.len());
            assert_eq!(walk(store, q, sort, 37, false).await, expected, "forward, '{q}' by {sort:?}");
            assert_eq!(walk(store, q, sort, 37, true).await, expected, "backward, '{q}' by {sort:?}");
            let query = filter::parse(q).expect("filter");
            for i in [0, expected.len() / 2, expected.len() - 1] {
                assert_eq!(store.position(&query, now, sort, &expected[i]).await.expect("position"), i as i64, "'{q}' by {sort:?}");
                let window = store.page(&request(q, sort, PageAnchor::From(expected[i].clone()), 3)).await.expect("page");
                let got: Vec<Key> = window.iter().map(|r| r.key.clone()).collect();
                assert_eq!(got, expected[i..(i + 3).min(expected.len())], "a window re-read in place");
            }
            if q.is_empty() {
                for i in [0, 1, 199, 399] {
                    assert_eq!(store.key_at(sort, i as i64).await.expect("key_at"), Some(expected[i].clone()), "{sort:?}");
                }
                assert_eq!(store.key_at(sort, 400).await.expect("key_at"), None);
            }
        }
        assert_eq!(count(store, q).await, expected_len.expect("sorted") as i64, "count '{q}'");
    }
}

async fn resolve_finds_by_id_prefix_external_id_and_fingerprint(store: &Store) {
    let creds = org_credentials(300, 13);
    seed(store, &creds, &[]).await;
    let c = &creds[17];
    assert_eq!(store.resolve(&c.id).await.expect("id"), c.id);
    assert_eq!(store.resolve(&format!("  {}  ", c.external_id)).await.expect("external id"), c.id);
    assert_eq!(store.resolve(c.fingerprint.as_deref().expect("fingerprint")).await.expect("fingerprint"), c.id);
    let prefix = |len: usize, id: &str| id[..len].to_string();
    let shares = |p: &str| creds.iter().filter(|o| o.id.starts_with(p)).count();
    let unique = (4..16).map(|n| prefix(n, &c.id)).find(|p| shares(p) == 1).expect("a unique prefix");
    assert_eq!(store.resolve(&unique).await.expect("prefix"), c.id);
    assert_eq!(store.resolve(&unique.to_uppercase()).await.expect("upper-case prefix"), c.id);
    let mut ids: Vec<&str> = creds.iter().map(|c| c.id.as_str()).collect();
    ids.sort();
    let shared = ids.windows(2).map(|w| (0..16).take_while(|&i| w[0].as_bytes()[i] == w[1].as_bytes()[i]).count()).max().expect("pairs");
    assert!(shared >= 4, "two ids of 300 share a 4-digit prefix");
    let pair = ids.windows(2).find(|w| w[0][..4] == w[1][..4]).expect("a shared prefix");
    assert!(matches!(store.resolve(&pair[0][..4]).await, Err(StoreError::Ambiguous(_))));
    assert!(matches!(store.resolve("abc").await, Err(StoreError::NotFound(_))), "three digits are too short for a prefix");
    assert!(matches!(store.resolve("no-such-credential").await, Err(StoreError::NotFound(_))));
}

async fn a_credential_comes_back_whole_with_its_lineage(store: &Store) {
    let creds = org_credentials(300, 42);
    seed(store, &creds, &org_owners(300, 42)).await;
    let rich = creds
        .iter()
        .find(|c| c.act_chain.len() >= 2 && c.consent.len() >= 2 && c.usage.len() >= 2 && c.owner.is_some() && c.parent_id.is_some())
        .expect("a rich credential");
    let mut expected = rich.clone();
    expected.owner = rich.owner.as_deref().map(str::to_lowercase);
    expected.consent.sort_by_key(|e| fmt_ts(&e.at));
    expected.usage.sort_by_key(|u| std::cmp::Reverse(fmt_ts(&u.at)));
    expected.usage.truncate(50);
    let stored = store.credential(&rich.id).await.expect("credential");
    assert_eq!(stored, expected);
    let scoped = ids_of(store, &format!("scope:{}", rich.scopes[0])).await;
    assert!(scoped.contains(&rich.id), "its scopes are indexed");
    assert!(matches!(store.credential("0000000000000000").await, Err(StoreError::NotFound(_))));

    // Its parent chain, parent first, as the issuer's data links it.
    let by_id = |id: &str| creds.iter().find(|c| c.id == id);
    let mut chain = Vec::new();
    let mut at = rich.parent_id.clone();
    while let Some(parent) = at.as_deref().and_then(by_id) {
        chain.insert(0, (parent.id.clone(), parent.workload.clone().unwrap_or_default()));
        at = parent.parent_id.clone();
    }
    assert!(!chain.is_empty());
    assert_eq!(store.lineage(&rich.id).await.expect("lineage"), chain);
    let parent = by_id(rich.parent_id.as_deref().expect("parent")).expect("parent held");
    assert_eq!(store.parent_external_to_local(ISSUER, &parent.external_id).await.expect("local"), Some(parent.id.clone()));
    assert_eq!(store.parent_external_to_local("elsewhere", &parent.external_id).await.expect("local"), None);

    // The owner record, and the person who owns most of a workload's credentials.
    let owner = store.owner(rich.owner.as_deref().expect("owner")).await.expect("owner").expect("known");
    assert_eq!(owner.email.to_lowercase(), expected.owner.clone().expect("owner"));
    let workload = rich.workload.clone().expect("workload");
    let mut tally: std::collections::BTreeMap<String, i64> = Default::default();
    for c in creds.iter().filter(|c| c.workload.as_deref() == Some(&workload)) {
        if let Some(o) = c.owner.as_deref().map(str::to_lowercase).filter(|o| !o.is_empty()) {
            *tally.entry(o).or_default() += 1;
        }
    }
    let most = tally.iter().max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(a.0))).map(|(o, _)| o.clone());
    assert_eq!(store.workload_owner(&workload).await.expect("workload owner"), most);
    assert_eq!(store.open_findings_for(&rich.id).await.expect("findings"), [], "no findings run yet");
}

async fn a_directory_outranks_a_broker_on_who_left(store: &Store) {
    let person = |status: OwnerStatus, name: Option<&str>, team: Option<&str>| Owner {
        email: "Ana@Acme.test".into(),
        name: name.map(Into::into),
        team: team.map(Into::into),
        status,
        source: None,
        offboarded_at: None,
        alias_of: None,
    };
    let at = fixed_now();
    store.ingest_owners("hr-directory", &[person(OwnerStatus::Active, Some("Ana"), None)], at, true).await.expect("directory");
    // A broker's word, said twice in one list: it may add a team but never overrule the directory.
    let broker = [person(OwnerStatus::Offboarded, None, Some("payments")), person(OwnerStatus::Offboarded, Some("A."), None)];
    store.ingest_owners(ISSUER, &broker, at, false).await.expect("broker");
    let ana = store.owner("ana@acme.test").await.expect("owner").expect("known");
    assert_eq!((ana.status, ana.name.as_deref(), ana.team.as_deref(), ana.source.as_deref()), (OwnerStatus::Active, Some("A."), Some("payments"), Some("hr-directory")));
    // The directory says she left: she left.
    let left = Owner { offboarded_at: Some(at), ..person(OwnerStatus::Offboarded, None, None) };
    store.ingest_owners("hr-directory", &[left], at, true).await.expect("directory");
    let ana = store.owner("ANA@acme.test").await.expect("owner").expect("known");
    assert_eq!((ana.status, ana.offboarded_at, ana.name.as_deref()), (OwnerStatus::Offboarded, Some(at), Some("A.")));
    assert_eq!(store.owner("nobody@acme.test").await.expect("owner"), None);
    // A directory's alias (a code host login) names its person; a broker listing the login cannot unname it.
    let login = Owner { email: "ana-gh".into(), alias_of: Some("Ana@Acme.test".into()), ..person(OwnerStatus::Active, None, None) };
    store.ingest_owners("hr-directory", std::slice::from_ref(&login), at, true).await.expect("directory");
    store.ingest_owners(ISSUER, &[Owner { alias_of: None, ..login }], at, false).await.expect("broker");
    let alias = store.owner("ana-gh").await.expect("owner").expect("known");
    assert_eq!(alias.alias_of.as_deref(), Some("ana@acme.test"));
}

async fn the_issuers_grants_replace_ours(store: &Store) {
    let org = Org::new(100, 17, fixed_now());
    let mut grants: Vec<_> = (0..4).map(|g| map_grant(ISSUER, org.grant(g)).expect("grant maps")).collect();
    grants[3].requested_at = None;
    let first: Timestamp = fixed_now();
    store.replace_grants(ISSUER, &grants, first).await.expect("grants");
    let listed = store.grants(None, 10).await.expect("grants");
    let mut expected = grants.clone();
    expected.sort_by(|a, b| b.requested_at.cmp(&a.requested_at).then(a.id.cmp(&b.id)));
    assert_eq!(listed, expected, "newest request first, one without a time last");
    assert_eq!(store.grants(None, 2).await.expect("grants").len(), 2);
    assert_eq!(store.grant(&grants[1].external_id).await.expect("by the issuer's id"), grants[1]);
    assert_eq!(store.grant(&grants[1].id).await.expect("by local id"), grants[1]);
    assert!(matches!(store.grant("grant-none").await, Err(StoreError::NotFound(_))));

    // The issuer no longer lists the first: it expired there; the others are updated.
    let mut later = grants[1..].to_vec();
    later[0].intent = Some("changed".into());
    store.replace_grants(ISSUER, &later, first + chrono::Duration::minutes(1)).await.expect("grants");
    let pending = store.grants(Some(GrantStatus::Pending), 10).await.expect("pending");
    assert_eq!(pending.iter().map(|g| g.id.clone()).collect::<BTreeSet<_>>(), later.iter().map(|g| g.id.clone()).collect());
    assert_eq!(store.grant(&grants[0].id).await.expect("kept").status, GrantStatus::Expired);
    assert_eq!(store.grant(&later[0].id).await.expect("updated").intent.as_deref(), Some("changed"));
}

async fn the_sync_engine_fills_the_store_from_a_reference_issuer(store: &Store) {
    use tokenward::reference::server;
    let issuer = server::spawn("127.0.0.1:0", Org::new(1200, 1, fixed_now()), None).await.expect("issuer");
    let cfg = tokenward::config::IssuerConfig {
        name: "broker".into(),
        kind: IssuerKind::Tokenward,
        url: issuer.url(),
        page_size: Some(500),
        timeout_s: Some(5),
        ..Default::default()
    };
    let connector = tokenward::connectors::build(&cfg).expect("connector");
    let report = tokenward::sync::sync_issuer(store, connector.as_ref(), None).await;
    assert_eq!(report.error, None, "{report:?}");
    assert_eq!((report.pages, report.credentials, report.gone), (3, 1200, 0));
    assert!(report.owners > 0 && report.grants > 0, "{report:?}");
    assert_eq!(count(store, "issuer:broker").await, 1200);
    assert_eq!(store.grants(None, 1000).await.expect("grants").len() as u64, report.grants);
    let summaries = store.issuer_summaries().await.expect("issuers");
    assert_eq!(summaries[0].credentials, 1200);
    assert_eq!(summaries[0].last_run.as_ref().map(|r| (r.pages, r.items)), Some((3, 1200)));
    // Synced again, the issuer lists only what changed since: nothing.
    let again = tokenward::sync::sync_issuer(store, connector.as_ref(), None).await;
    assert_eq!((again.error, again.credentials, again.gone, again.resumed, again.delta), (None, 0, 0, false, true));
    // Listed in full again, nothing is duplicated and nothing went.
    let connector: std::sync::Arc<dyn tokenward::connectors::Connector> = std::sync::Arc::from(connector);
    let full = tokenward::sync::sync_all_listing(store, &[connector], 1, None, tokenward::sync::Listing::Full).await.remove(0);
    assert_eq!((full.error, full.credentials, full.gone, full.resumed, full.delta), (None, 1200, 0, false, false));
    let audit = store.audit_for_target("issuer:broker", 10).await.expect("audit");
    assert_eq!(audit.iter().filter(|e| e.action == "sync").count(), 3, "each run leaves its audit entry");
    assert_eq!(count(store, "").await, 1200);
}

// ---- across the backends --------------------------------------------------------

/// Identical data in both backends: every sort, both ways, under filters the
/// scenarios above do not model here, gives the same rows in the same order.
#[tokio::test]
async fn postgres_pages_are_sqlite_pages() {
    let (lite, pg) = (open_sqlite().await, open_postgres().await);
    let mut creds = awkward(org_credentials(500, 23));
    let other: Vec<Credential> = org_credentials(60, 29).into_iter().map(|c| map_to_issuer(c, "gh-tokens")).collect();
    // An issuer that repeats a credential (a list changing under its cursor), within
    // one page and across pages: both backends keep the same rows.
    let mut repeated = creds[3].clone();
    repeated.scopes.push("repo:admin".into());
    repeated.act_chain = vec!["someone-else".into()];
    let mut known_again = creds[10].clone();
    known_again.consent.truncate(1);
    creds.insert(4, repeated.clone());
    creds.push(known_again);
    for db in [&lite.store, &pg.store] {
        seed(db, &creds, &org_owners(500, 23)).await;
        db.upsert_issuer("gh-tokens", IssuerKind::Tokenward, None).await.expect("issuer");
        let run = db.begin_sync_run("gh-tokens", fixed_now()).await.expect("run");
        db.ingest_credential_page(run.id, fixed_now(), &other, 1, None).await.expect("page");
        db.finish_sync_run(&run, "gh-tokens", None, fixed_now()).await.expect("finish");
    }
    let filters = [
        "", "owner:a", "owner:ana_", "owner:none", "-owner:none", "workload:crm", "workload:C", "workload:c", "owner-status:offboarded", "owner-status:unknown",
        "owner-status:active status:active", "issuer:gh-tokens", "-issuer:gh-tokens expires<30d", "expires>90d", "unused>90d",
        "-unused>30d", "kind:access_token", "deploy", "-bot", "ACME.T", "_", "scope:repo:write", "-scope:repo:write binding:dpop",
    ];
    let total = count(&lite.store, "").await;
    for q in filters {
        let n = count(&pg.store, q).await;
        assert_eq!(count(&lite.store, q).await, n, "count '{q}'");
        assert!(q.is_empty() || (1..total).contains(&n), "'{q}' selects some rows, not all: {n}");
        for sort in every_sort() {
            let (a, b) = (walk(&lite.store, q, sort, 29, false).await, walk(&pg.store, q, sort, 29, false).await);
            assert_eq!(a, b, "forward '{q}' by {sort:?}");
            assert_eq!(walk(&lite.store, q, sort, 29, true).await, b, "backward '{q}' by {sort:?}");
            assert_eq!(walk(&pg.store, q, sort, 29, true).await, b, "backward '{q}' by {sort:?}");
            if let Some(k) = b.get(b.len() / 2) {
                let query = filter::parse(q).expect("filter");
                let (x, y) = (lite.store.position(&query, fixed_now(), sort, k).await, pg.store.position(&query, fixed_now(), sort, k).await);
                assert_eq!(x.expect("position"), y.expect("position"), "'{q}' by {sort:?}");
            }
        }
    }
    for id in [&creds[3].id, &creds[10].id, &creds[100].id, &other[5].id] {
        assert_eq!(lite.store.credential(id).await.expect("sqlite"), pg.store.credential(id).await.expect("postgres"), "{id}");
    }
    assert_eq!(pg.store.credential(&creds[3].id).await.expect("repeat").scopes, repeated.scopes, "the repeat's row stands");
    assert_eq!(lite.store.issuer_summaries().await.expect("s").len(), pg.store.issuer_summaries().await.expect("s").len());
}

fn map_to_issuer(c: Credential, issuer: &str) -> Credential {
    Credential { id: Credential::local_id(issuer, &c.external_id), issuer: issuer.into(), parent_id: None, ..c }
}
