//! Crash safety: the real `tokenward sync` of 200,000 credentials, a separate
//! process, killed with SIGKILL at 20 random points of its progress (each kill
//! resumed by the next process, as a sync killed, restarted and killed again
//! would be). After every kill the database is intact and holds exactly whole
//! committed pages; the last sync resumes and ends with exactly the issuer's
//! credentials. The kill points come from a seeded generator: the seed is
//! printed, and `TOKENWARD_CRASH_SEED=S` replays a run (the same targets, each
//! delay the same fraction of the commit interval observed then).
use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use rusqlite::{Connection, OpenFlags};
use tokenward::connectors::tokenward::map_credential;
use tokenward::protocol::{Page, WireCredential};
use tokenward::sync::{COMMIT_AFTER, COMMIT_ROWS};

mod common;

const CREDENTIALS: usize = 200_000;
const KILLS: usize = 20;
const ISSUER: &str = "broker";
const PAGE_SIZE: usize = 500;

/// splitmix64: a few lines, reproducible from its seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in [0, n).
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

/// One credential as the issuer serves it: its local id and how many rows of each
/// related table the store must hold for it (scopes, delegation, usage, consent).
#[derive(Debug, Clone, PartialEq)]
struct Expected {
    id: String,
    related: [usize; 4],
}

/// Everything the issuer lists, in its order, through the connector's own mapping.
fn issuer_inventory(url: &str) -> Vec<Expected> {
    let client = reqwest::blocking::Client::new();
    let mut all = Vec::with_capacity(CREDENTIALS);
    let mut cursor: Option<String> = None;
    loop {
        let mut req = client.get(format!("{url}/v1/credentials")).query(&[("limit", "1000")]);
        if let Some(c) = &cursor {
            req = req.query(&[("cursor", c)]);
        }
        let page: Page<WireCredential> = req.send().expect("the issuer answers").json().expect("a page");
        for w in page.items {
            let c = map_credential(ISSUER, w).expect("the reference issuer's credentials map");
            let scopes: BTreeSet<&String> = c.scopes.iter().collect();
            all.push(Expected { id: c.id.clone(), related: [scopes.len(), c.act_chain.len(), c.usage.len(), c.consent.len()] });
        }
        cursor = page.next_cursor;
        if cursor.is_none() {
            return all;
        }
    }
}

fn config(dir: &Path, url: &str) -> PathBuf {
    let path = dir.join("tokenward.toml");
    std::fs::write(&path, format!("operator = \"sec@acme.test\"\n[[issuer]]\nname = \"{ISSUER}\"\nkind = \"tokenward\"\nurl = \"{url}\"\npage_size = {PAGE_SIZE}\n")).expect("config");
    path
}

fn sync_command(dir: &Path, cfg: &Path, log: &str) -> Command {
    let mut c = Command::new(common::bin());
    c.arg("--db").arg(dir.join("inv.db")).arg("--config").arg(cfg).args(["--format", "json", "sync"]);
    c.env_remove("TOKENWARD_CONFIG").env_remove("TOKENWARD_DB").env("XDG_CONFIG_HOME", dir).env("XDG_DATA_HOME", dir);
    let err = std::fs::File::create(dir.join(log)).expect("log file");
    c.stdout(Stdio::piped()).stderr(err);
    c
}

/// The newest run of the issuer: (id, status, cursor, pages, items).
type Run = (i64, String, Option<String>, i64, i64);

fn latest_run(db: &Connection) -> rusqlite::Result<Run> {
    db.query_row(
        "SELECT id, status, cursor, pages, items FROM sync_runs WHERE issuer = ?1 ORDER BY id DESC LIMIT 1",
        [ISSUER],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
    )
}

fn read_only(db: &Path) -> rusqlite::Result<Connection> {
    Connection::open_with_flags(db, OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX)
}

/// Credentials committed by the run under way, as a separate reader sees them now
/// (0 before there is one, and while the newest run is a finished one).
fn committed(db: &Path) -> i64 {
    read_only(db).and_then(|c| latest_run(&c)).map(|r| if r.1 == "running" { r.4 } else { 0 }).unwrap_or(0)
}

/// Is a write transaction open right now? Asks for the write lock without waiting.
fn writing(db: &Path) -> bool {
    let Ok(conn) = Connection::open_with_flags(db, OpenFlags::SQLITE_OPEN_READ_WRITE) else { return false };
    conn.busy_timeout(Duration::ZERO).expect("no waiting");
    match conn.execute_batch("BEGIN IMMEDIATE; ROLLBACK;") {
        Ok(()) => false,
        Err(e) => e.sqlite_error_code() == Some(rusqlite::ErrorCode::DatabaseBusy),
    }
}

fn stderr_of(dir: &Path, log: &str) -> String {
    std::fs::read_to_string(dir.join(log)).unwrap_or_default()
}

/// What the store holds after a kill, checked against the issuer's listing.
struct Inspection {
    /// None if the process died before it recorded a run.
    run: Option<Run>,
    /// Credentials of the issuer in the store.
    stored: usize,
    /// The lock the killed process left behind, if any (its owner).
    lock: Option<String>,
}

/// integrity_check is ok, and the store holds exactly whole committed pages: this
/// run's rows are the issuer's first `items` credentials, each with all its related
/// rows; the run's cursor resumes right after them; nothing beyond it is written;
/// rows not yet seen again are as the previous sync (`before`) left them, none gone.
fn inspect(db_path: &Path, issuer: &[Expected], before: &[Expected]) -> Inspection {
    if !db_path.exists() {
        return Inspection { run: None, stored: 0, lock: None };
    }
    let db = read_only(db_path).expect("the database opens read-only");
    let check: Vec<String> = db.prepare("PRAGMA integrity_check").expect("pragma").query_map([], |r| r.get(0)).expect("rows").map(|r| r.expect("text")).collect();
    assert_eq!(check, vec!["ok".to_string()], "PRAGMA integrity_check");
    let Ok(run) = latest_run(&db) else {
        // Killed while migrating or before its first run: no credentials either.
        let stored: i64 = db.query_row("SELECT count(*) FROM credentials", [], |r| r.get(0)).unwrap_or(0);
        assert_eq!(stored, 0, "credentials without a run");
        return Inspection { run: None, stored: 0, lock: None };
    };
    let (run_id, status, cursor, pages, items) = run.clone();
    assert_eq!(status, "running", "the killed run is left running, to be resumed");
    let items = usize::try_from(items).expect("items");
    // Whole pages only: the cursor is the issuer's offset after the last committed page.
    assert_eq!(cursor, (items > 0).then(|| items.to_string()), "cursor of run {run_id} after {items} credentials");
    assert_eq!(usize::try_from(pages).expect("pages"), items.div_ceil(PAGE_SIZE), "pages of run {run_id}");

    // A run writes the credentials it finds changed (their synced_run) and lists the unchanged ones it saw in sync_seen.
    let mut ids = db
        .prepare(
            "SELECT id, CASE WHEN EXISTS (SELECT 1 FROM sync_seen s WHERE s.credential_id = c.id AND s.run_id = ?2) THEN ?2 ELSE synced_run END, status
             FROM credentials c WHERE issuer = ?1",
        )
        .expect("select");
    let rows: Vec<(String, i64, String)> = ids.query_map(rusqlite::params![ISSUER, run_id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?))).expect("rows").map(|r| r.expect("row")).collect();
    assert!(rows.iter().all(|r| r.2 != "gone"), "nothing is marked gone mid-run");
    let this_run: BTreeSet<&str> = rows.iter().filter(|r| r.1 == run_id).map(|r| r.0.as_str()).collect();
    let prefix: BTreeSet<&str> = issuer[..items].iter().map(|e| e.id.as_str()).collect();
    assert!(this_run == prefix, "run {run_id}: {} stored credentials of this run, the issuer's first {items} expected", this_run.len());
    let earlier: BTreeSet<&str> = before.iter().map(|e| e.id.as_str()).collect();
    let stored_ids: BTreeSet<&str> = rows.iter().map(|r| r.0.as_str()).collect();
    assert!(stored_ids == &prefix | &earlier, "{} credentials stored: this run's {items} and the previous sync's {}", rows.len(), earlier.len());

    let mut related: HashMap<String, [usize; 4]> = HashMap::new();
    for (k, table) in ["credential_scopes", "delegation", "usage_events", "consent_events"].iter().enumerate() {
        let sql = format!("SELECT credential_id, count(*) FROM {table} WHERE credential_id IS NOT NULL GROUP BY credential_id");
        let mut q = db.prepare(&sql).expect("count related");
        for row in q.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?))).expect("rows") {
            let (id, n) = row.expect("row");
            related.entry(id).or_default()[k] = usize::try_from(n).expect("count");
        }
    }
    let orphans = related.keys().filter(|id| !stored_ids.contains(id.as_str())).count();
    assert_eq!(orphans, 0, "related rows without their credential");
    let previous = before.iter().filter(|e| !this_run.contains(e.id.as_str()));
    for e in issuer[..items].iter().chain(previous) {
        assert_eq!(related.get(&e.id).copied().unwrap_or_default(), e.related, "related rows of {}", e.id);
    }
    let lock = db.query_row("SELECT owner FROM sync_locks WHERE issuer = ?1", [ISSUER], |r| r.get(0)).ok();
    Inspection { run: Some(run), stored: rows.len(), lock }
}

/// Where one kill landed, for the printed account.
struct KillPoint {
    target: i64,
    delay: Duration,
    committed_before: i64,
    mid_transaction: bool,
    committed_after: i64,
}

/// Spawns a sync and kills it when the batch holding the `target`-th credential is
/// under way: once the commit before it is seen (`target - COMMIT_ROWS` committed),
/// plus a random delay of up to one commit interval (the last seen between two
/// commits, by this process or an earlier one; the engine's `COMMIT_AFTER` until
/// then). So a kill lands anywhere: starting up, fetching a page, mid-commit,
/// between commits; and never more than about one batch after its target.
fn sync_and_kill(dir: &Path, cfg: &Path, target: i64, rng: &mut Rng, n: usize, interval: &mut Duration) -> (KillPoint, u32) {
    let db = dir.join("inv.db");
    let log = format!("sync-{n}.log");
    let mut child: Child = sync_command(dir, cfg, &log).spawn().expect("tokenward sync starts");
    let pid = child.id();
    let (mut seen, mut commits): (i64, Vec<Instant>) = (committed(&db), Vec::new());
    let started = Instant::now();
    let wait_for = target - COMMIT_ROWS as i64;
    while seen < wait_for {
        if let Some(status) = child.try_wait().expect("try_wait") {
            panic!("sync {n} exited ({status}) before {wait_for} credentials were committed:\n{}", stderr_of(dir, &log));
        }
        assert!(started.elapsed() < Duration::from_secs(600), "sync {n} did not commit {wait_for} credentials in 10 minutes");
        std::thread::sleep(Duration::from_millis(5));
        let now = committed(&db);
        if now != seen {
            commits.push(Instant::now());
            seen = now;
        }
    }
    if let [.., a, b] = commits.as_slice() {
        *interval = *b - *a;
    }
    let delay = Duration::from_micros(rng.below(interval.as_micros() as u64));
    std::thread::sleep(delay);
    let mid_transaction = writing(&db);
    child.kill().expect("SIGKILL");
    let status = child.wait().expect("reaped");
    assert!(status.code().is_none(), "sync {n} was killed, not finished ({status}):\n{}", stderr_of(dir, &log));
    (KillPoint { target, delay, committed_before: seen, mid_transaction, committed_after: committed(&db) }, pid)
}

/// One database synced from one issuer, killed again and again.
struct Scenario {
    dir: tempfile::TempDir,
    cfg: PathBuf,
    /// The issuer's listing now, and what the previous full sync stored (empty at first).
    issuer: Vec<Expected>,
    before: Vec<Expected>,
}

impl Scenario {
    fn db(&self) -> PathBuf {
        self.dir.path().join("inv.db")
    }

    /// Kills a sync at `kills` random points, from before its first commit to its last
    /// few commits (early enough that no sync can finish before its kill), each
    /// resumed by the next process. Returns the run they carried on, if any committed.
    fn kill(&self, kills: usize, rng: &mut Rng, clock: &mut Clock) -> Option<i64> {
        let last = (self.issuer.len() - 3 * COMMIT_ROWS) as u64;
        let mut targets: Vec<i64> = (0..kills).map(|_| rng.below(last + 1) as i64).collect();
        targets.sort_unstable();
        let (mut run_id, mut interval) = (None, COMMIT_AFTER);
        for (n, target) in targets.into_iter().enumerate() {
            let t = Instant::now();
            let (point, pid) = sync_and_kill(self.dir.path(), &self.cfg, target, rng, n, &mut interval);
            clock.syncing += t.elapsed();
            let t = Instant::now();
            let seen = inspect(&self.db(), &self.issuer, &self.before);
            clock.checking += t.elapsed();
            println!(
                "kill {:>2}: target {:>6}, seen {:>6} committed, +{:>4} ms, {} -> {:>6} committed (run {:?}), integrity ok",
                n + 1,
                point.target,
                point.committed_before,
                point.delay.as_millis(),
                if point.mid_transaction { "mid-transaction " } else { "between commits " },
                point.committed_after,
                seen.run.as_ref().map(|r| r.0)
            );
            assert_eq!(seen.stored, self.before.len().max(usize::try_from(point.committed_after).expect("count")));
            clock.kills += 1;
            clock.mid_transaction += usize::from(point.mid_transaction);
            // The dead process's lock stays behind; the next sync must take it over.
            clock.locks_left += usize::from(seen.lock.is_some_and(|owner| owner.starts_with(&format!("{pid}@"))));
            // Once a page is committed the run is the one every later process resumes.
            if let Some(run) = seen.run.filter(|r| r.4 > 0) {
                assert_eq!(*run_id.get_or_insert(run.0), run.0, "one run carries on");
            }
        }
        run_id
    }

    /// A sync to the end; its report.
    fn sync(&self, clock: &mut Clock) -> serde_json::Value {
        let t = Instant::now();
        let out = sync_command(self.dir.path(), &self.cfg, "last.log").output().expect("the sync runs");
        clock.last_sync += t.elapsed();
        assert!(out.status.success(), "the sync ends well:\n{}", stderr_of(self.dir.path(), "last.log"));
        let reports: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json reports");
        reports[0].clone()
    }

    /// The store holds exactly the issuer's credentials, and the previous sync's others marked gone.
    fn assert_exact(&self) {
        let store = read_only(&self.db()).expect("open");
        let check: String = store.query_row("PRAGMA integrity_check", [], |r| r.get(0)).expect("pragma");
        assert_eq!(check, "ok");
        let (_, status, cursor, _, items) = latest_run(&store).expect("run");
        assert_eq!((status.as_str(), cursor, items), ("ok", None, self.issuer.len() as i64));
        let ids = |sql: &str| -> BTreeSet<String> {
            store.prepare(sql).expect("select").query_map([ISSUER], |r| r.get(0)).expect("rows").map(|r| r.expect("id")).collect()
        };
        let (live, gone) = (ids("SELECT id FROM credentials WHERE issuer = ?1 AND status != 'gone'"), ids("SELECT id FROM credentials WHERE issuer = ?1 AND status = 'gone'"));
        let served: BTreeSet<String> = self.issuer.iter().map(|e| e.id.clone()).collect();
        let vanished: BTreeSet<String> = self.before.iter().map(|e| e.id.clone()).filter(|id| !served.contains(id)).collect();
        assert!(live == served, "the store holds {} live credentials, the issuer serves {}", live.len(), served.len());
        assert!(gone == vanished, "{} marked gone, {} vanished from the issuer", gone.len(), vanished.len());
        let all: i64 = store.query_row("SELECT count(*) FROM credentials", [], |r| r.get(0)).expect("count");
        assert_eq!(all as usize, served.len() + vanished.len(), "nothing else, nothing twice");
        let locks: i64 = store.query_row("SELECT count(*) FROM sync_locks", [], |r| r.get(0)).expect("count");
        assert_eq!(locks, 0, "the finished sync released the issuer's lock");
    }
}

/// What the kills did and where the time went (printed, never asserted).
#[derive(Default)]
struct Clock {
    kills: usize,
    mid_transaction: usize,
    locks_left: usize,
    listing: Duration,
    syncing: Duration,
    checking: Duration,
    last_sync: Duration,
}

impl Clock {
    fn print(&self, what: &str) {
        println!(
            "{what}: {} kills ({} mid-transaction), {} integrity checks ok, {} locks left by killed syncs taken over; time: issuer listing {:.1?}, killed syncs {:.1?}, checks after kills {:.1?}, syncs to the end {:.1?}",
            self.kills, self.mid_transaction, self.kills, self.locks_left, self.listing, self.syncing, self.checking, self.last_sync
        );
    }
}

fn seeded_rng() -> Rng {
    let seed = std::env::var("TOKENWARD_CRASH_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or_else(|| {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos() as u64).unwrap_or(1)
    });
    println!("crash safety seed: {seed} (replay with TOKENWARD_CRASH_SEED={seed})");
    Rng(seed)
}

fn listing(url: &str, clock: &mut Clock) -> Vec<Expected> {
    let t = Instant::now();
    let all = issuer_inventory(url);
    clock.listing += t.elapsed();
    all
}

#[test]
fn a_sync_killed_at_twenty_random_points_resumes_to_exactly_the_issuers_credentials() {
    let mut rng = seeded_rng();
    let mut clock = Clock::default();
    let issuer = common::peers::reference_issuer(CREDENTIALS as u64, 11);
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = config(dir.path(), &issuer.url);
    let scenario = Scenario { cfg, issuer: listing(&issuer.url, &mut clock), before: Vec::new(), dir };
    assert_eq!(scenario.issuer.len(), CREDENTIALS);

    let run_id = scenario.kill(KILLS, &mut rng, &mut clock);
    let report = scenario.sync(&mut clock);
    assert_eq!((report["resumed"].clone(), report["error"].clone()), (true.into(), serde_json::Value::Null), "{report}");
    assert_eq!((report["credentials"].clone(), report["gone"].clone()), (CREDENTIALS.into(), 0.into()), "{report}");
    assert_eq!(report["run_id"], run_id.expect("pages were committed before the kills ended"), "the killed run is the one that finished");
    scenario.assert_exact();
    clock.print("200,000 credentials, a first sync");
    assert_eq!(clock.kills, KILLS);
    assert!(clock.locks_left > 0, "a killed sync leaves its lock behind, so taking it over was exercised");
}

#[test]
fn a_resync_killed_and_resumed_marks_gone_exactly_what_the_issuer_dropped() {
    let mut rng = seeded_rng();
    let mut clock = Clock::default();
    // The same organisation, 10,000 credentials fewer: the resumed re-sync must mark those gone, and no other.
    let (was, now) = (common::peers::reference_issuer(60_000, 5), common::peers::reference_issuer(50_000, 5));
    let dir = tempfile::tempdir().expect("tempdir");
    let mut scenario = Scenario { cfg: config(dir.path(), &was.url), issuer: listing(&was.url, &mut clock), before: Vec::new(), dir };
    assert_eq!(scenario.sync(&mut clock)["credentials"], 60_000);
    scenario.assert_exact();

    scenario.cfg = config(scenario.dir.path(), &now.url);
    scenario.before = std::mem::replace(&mut scenario.issuer, listing(&now.url, &mut clock));
    let run_id = scenario.kill(3, &mut rng, &mut clock);
    let report = scenario.sync(&mut clock);
    assert_eq!((report["resumed"].clone(), report["error"].clone()), (run_id.is_some().into(), serde_json::Value::Null), "{report}");
    assert_eq!((report["credentials"].clone(), report["gone"].clone()), (50_000.into(), 10_000.into()), "{report}");
    if let Some(id) = run_id {
        assert_eq!(report["run_id"], id, "the killed run is the one that finished");
    }
    scenario.assert_exact();
    clock.print("a re-sync of 60,000 credentials down to 50,000");
}

/// The one window a kill cannot be resumed from: the last page committed (the cursor
/// cleared), the run not yet finished. The next sync lists again from the start, says
/// why, and marks nothing gone.
#[tokio::test]
async fn a_run_killed_after_its_last_page_before_it_finished_is_listed_again_marking_nothing_gone() {
    use tokenward::domain::IssuerKind;
    use tokenward::reference::org::Org;
    let t0 = common::fixed_now();
    let org = Org::new(300, 4, t0);
    let creds: Vec<_> = (0..300).map(|i| map_credential(ISSUER, org.credential(i)).expect("maps")).collect();
    let store = tokenward::store::Store::open_in_memory().await.expect("store");
    store.upsert_issuer(ISSUER, IssuerKind::Tokenward, None).await.expect("issuer");
    let killed = store.begin_sync_run(ISSUER, t0).await.expect("run");
    store.ingest_credential_page(killed.id, killed.started_at, &creds[..200], 1, Some("200")).await.expect("page");
    store.ingest_credential_page(killed.id, killed.started_at, &creds[200..], 1, None).await.expect("last page");
    // Killed here; its lock lapses (this test's process still runs, so only the expiry frees it).
    let later = t0 + chrono::Duration::minutes(11);
    let next = store.begin_sync_run(ISSUER, later).await.expect("the next run starts");
    assert_eq!((next.resume_cursor.clone(), next.items), (None, 0));
    assert_ne!(next.id, killed.id);
    let runs = store.sync_runs(10).await.expect("runs");
    let old = runs.iter().find(|r| r.id == killed.id).expect("the killed run");
    assert_eq!((old.status.to_string(), old.error.as_deref()), ("failed".into(), Some("interrupted after its last page, before it finished: listed again")));
    store.ingest_credential_page(next.id, next.started_at, &creds, 2, None).await.expect("pages");
    assert_eq!(store.finish_sync_run(&next, ISSUER, None, later).await.expect("finish"), 0, "nothing gone");
}
