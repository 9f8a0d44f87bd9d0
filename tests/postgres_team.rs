//! A team on one PostgreSQL inventory: every operator a separate `tokenward`
//! process, each logged in as its own PostgreSQL login (created after `db
//! init-roles`, a member of one of tokenward's group roles), against a real
//! `tokenward issuer serve`. Two approvers on one grant, two syncs of one issuer,
//! two syncs retrying 100 queued revocations, two reviewers on one campaign, and
//! an approval reaching another login's TUI.
use std::collections::{BTreeMap, BTreeSet};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use serde_json::Value;

mod common;
use common::proxy::{issuer_statuses, Proxy};
use common::tmux::Tmux;

/// A throwaway cluster with tokenward's roles, a configuration naming the issuer
/// and the team's audit key, and logins made by the DBA (the `postgres` superuser).
struct Team {
    pg: common::peers::Postgres,
    dir: tempfile::TempDir,
}

/// The DBA: owns the schema, runs `db init-roles`, syncs where a test needs an inventory.
const DBA: &str = "postgres";

impl Team {
    /// `logins`: (name, group role), each with the password `<name>-pw`.
    async fn new(issuer_url: &str, logins: &[(&str, &str)]) -> Team {
        let team = Team { pg: common::peers::postgres(), dir: tempfile::tempdir().expect("tempdir") };
        team.point_at(issuer_url);
        let init = team.run(DBA, &["db", "init-roles"]).await;
        assert!(init.status.success(), "init-roles: {}", String::from_utf8_lossy(&init.stderr));
        let dba = team.sql().await;
        for (login, role) in logins {
            let create = format!("CREATE ROLE {login} LOGIN PASSWORD '{login}-pw' IN ROLE {role}");
            sqlx::query(sqlx::AssertSqlSafe(create.clone())).execute(&dba).await.expect(&create);
        }
        team
    }

    /// The configuration: the audit key every console shares, and the issuer at `url`.
    fn point_at(&self, url: &str) {
        let key = self.dir.path().join("team.audit-key");
        let config = format!("[audit]\nkey_file = \"{}\"\n\n[[issuer]]\nname = \"broker\"\nkind = \"tokenward\"\nurl = \"{url}\"\npage_size = 50\n", key.display());
        std::fs::write(self.dir.path().join("tokenward.toml"), config).expect("config");
    }

    fn url(&self, login: &str) -> String {
        if login == DBA { self.pg.url.clone() } else { self.pg.url_for(login, &format!("{login}-pw"), "postgres") }
    }

    /// `tokenward` as `login`, its output captured.
    fn tw(&self, login: &str, args: &[&str]) -> Command {
        let mut c = Command::new(common::bin());
        c.env_remove("TOKENWARD_OPERATOR").env_remove("TOKENWARD_CONFIG").env_remove("TOKENWARD_DB");
        c.arg("--config").arg(self.dir.path().join("tokenward.toml")).arg("--db").arg(self.url(login)).args(args);
        c.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
        c
    }

    fn start(&self, login: &str, args: &[&str]) -> Child {
        self.tw(login, args).spawn().expect("tokenward starts")
    }

    async fn run(&self, login: &str, args: &[&str]) -> std::process::Output {
        common::output(self.start(login, args)).await
    }

    /// Runs, must succeed, and prints JSON.
    async fn json(&self, login: &str, args: &[&str]) -> Value {
        let out = self.run(login, args).await;
        assert!(out.status.success(), "{login} {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        serde_json::from_slice(&out.stdout).expect("json")
    }

    /// The DBA's own connection, to look at what the database holds.
    async fn sql(&self) -> sqlx::PgPool {
        sqlx::PgPool::connect(&self.pg.url).await.expect("connect")
    }

    /// `audit verify` passes for `login`; its JSON report.
    async fn verified(&self, login: &str, head: Option<&str>) -> Value {
        let mut args = vec!["audit", "verify", "--format", "json"];
        if let Some(h) = head {
            args.extend(["--head", h]);
        }
        let v = self.json(login, &args).await;
        assert!(v["first_bad"].is_null() && v["problems"].as_array().is_some_and(Vec::is_empty), "{v}");
        v
    }

    /// (actor, action, target) of every audit entry.
    async fn audit(&self) -> Vec<(String, String, String)> {
        let log = self.json(DBA, &["audit", "log", "--format", "json", "--limit", "100000"]).await;
        let field = |e: &Value, k: &str| e[k].as_str().expect("a text field").to_string();
        log.as_array().expect("log").iter().map(|e| (field(e, "actor"), field(e, "action"), field(e, "target"))).collect()
    }
}

/// tokenward's group roles, as `db init-roles` creates them.
const APPROVER: &str = "tokenward_approver";
const REVIEWER: &str = "tokenward_reviewer";
const SYNC: &str = "tokenward_sync";
const VIEWER: &str = "tokenward_viewer";

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A pending grant an approver may approve under the default policies when
/// narrowed to one plain read scope (dpop, 5 minutes): its id and that scope.
async fn plain_read_grant(team: &Team) -> (String, String) {
    let grants = team.json(DBA, &["grants", "--status", "pending", "--format", "json"]).await;
    let plain = |s: &Value| s.as_str().is_some_and(|x| x.ends_with(":read") && !x.starts_with("payments:") && !x.starts_with("secrets:"));
    let grant = grants.as_array().expect("grants").iter().find(|g| g["scopes"].as_array().is_some_and(|s| s.iter().any(plain))).expect("a grant asking a plain read scope");
    let scope = grant["scopes"].as_array().expect("scopes").iter().find(|s| plain(s)).and_then(Value::as_str).expect("scope");
    (grant["external_id"].as_str().expect("id").to_string(), scope.to_string())
}

fn approve_args<'a>(gid: &'a str, scope: &'a str) -> [&'a str; 12] {
    ["approve", gid, "--justification", "INC-7", "--scopes", scope, "--binding", "dpop", "--ttl", "5m", "--format", "json"]
}

/// Two approver logins approve one pending grant at once, each a process started
/// before either is waited for: exactly one wins, the other is told who did
/// (the holder of the claim, or the decision already made), and the audit log holds
/// the winner's intent and approval only.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_approver_logins_approve_one_grant_at_once_and_exactly_one_wins() {
    let issuer = common::peers::reference_issuer(300, 31);
    let team = Team::new(&issuer.url, &[("alice", APPROVER), ("bob", APPROVER)]).await;
    team.json(DBA, &["sync", "--format", "json"]).await;
    let (gid, scope) = plain_read_grant(&team).await;
    let approve = approve_args(&gid, &scope);

    // Both started, then both waited for: neither waits for the other to begin.
    let (alice, bob) = (team.start("alice", &approve), team.start("bob", &approve));
    let (alice, bob) = tokio::join!(common::output(alice), common::output(bob));
    let ((winner, won), (loser, lost)) = match (alice.status.success(), bob.status.success()) {
        (true, false) => (("alice", alice), ("bob", bob)),
        (false, true) => (("bob", bob), ("alice", alice)),
        _ => panic!("exactly one approval must succeed:\nalice: {}\nbob: {}", text(&alice.stderr), text(&bob.stderr)),
    };
    let outcome: Value = serde_json::from_slice(&won.stdout).expect("json");
    assert_eq!(outcome["status"], "approved", "{outcome}");
    // The loser is told who got there first: the claim's holder, or the decision already made.
    let why = text(&lost.stderr);
    assert!(why.contains(&format!("is being handled by {winner} (approve")) || why.contains(&format!("is approved by {winner} at ")), "{loser} was told: {why}");
    println!("two approvers at once: {winner} approved {gid}; {loser} was told: {}", why.lines().find(|l| l.contains(winner)).unwrap_or_default());

    // Later, the grant decided: the loser, trying again, is told who decided it.
    let again = team.run(loser, &approve).await;
    assert!(!again.status.success() && text(&again.stderr).contains(&format!("{gid} is approved by {winner} at ")), "{}", text(&again.stderr));

    let decisions: Vec<(String, String)> = team.audit().await.into_iter().filter(|(_, action, _)| action.starts_with("approve")).map(|(actor, action, _)| (actor, action)).collect();
    assert_eq!(decisions, [(winner.to_string(), "approve.intent".to_string()), (winner.to_string(), "approve".to_string())]);
    let approved = team.json(DBA, &["grants", "--status", "approved", "--format", "json"]).await;
    assert_eq!(approved.as_array().expect("grants").iter().map(|g| g["external_id"].as_str().unwrap_or_default()).collect::<Vec<_>>(), [gid.as_str()]);
    for login in [DBA, winner, loser] {
        team.verified(login, None).await;
    }
}

/// Two `tokenward sync` processes of one issuer, two logins of the sync's role,
/// started at once on an empty inventory: the one that took the issuer's lock is
/// held at the proxy (its first credentials listing) until the other has finished,
/// which must have been refused with the holder named; the inventory then holds
/// exactly the issuer's credentials, once each, from one sync run.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_sync_logins_sync_one_issuer_at_once_and_one_is_told_who_holds_it() {
    let issuer = common::peers::reference_issuer(300, 17);
    let (proxy, url) = Proxy::start(&issuer.url).await;
    let team = Team::new(&url, &[("cron", SYNC), ("nightly", SYNC)]).await;

    proxy.hold_listing.store(true, Ordering::SeqCst);
    let (cron, nightly) = (team.start("cron", &["sync"]), team.start("nightly", &["sync"]));
    let logins = BTreeMap::from([(cron.id(), "cron"), (nightly.id(), "nightly")]);
    proxy.listing_held.notified().await;
    // One process holds the issuer and is stopped inside its sync; the other must finish on its own.
    let ((loser, (loser_ok, loser_err)), (winner, holder)) = common::first_to_exit(cron, nightly).await;
    proxy.release_listing.notify_one();
    let (winner_ok, winner_err) = common::finish(holder).await;
    assert!(winner_ok, "the holder's sync ({}): {winner_err}", logins[&winner]);
    assert!(!loser_ok && loser_err.contains(&format!("issuer broker is being synced by {winner}@")), "names the holder: {loser_err}");
    println!(
        "two sync logins at once: {} (pid {winner}) synced, {} (pid {loser}) was told: {}",
        logins[&winner],
        logins[&loser],
        loser_err.lines().find(|l| l.contains("being synced")).unwrap_or_default()
    );

    let db = team.sql().await;
    let local: Vec<(String, String)> = sqlx::query_as("SELECT external_id, status FROM credentials WHERE issuer = 'broker'").fetch_all(&db).await.expect("credentials");
    let listed = issuer_statuses(&issuer.url).await;
    assert_eq!(local.len(), listed.len(), "each of the issuer's credentials once");
    assert_eq!(local.into_iter().collect::<BTreeMap<_, _>>(), listed, "exactly the issuer's credentials, as the issuer lists them");
    let runs: Vec<String> = sqlx::query_scalar("SELECT status FROM sync_runs WHERE issuer = 'broker'").fetch_all(&db).await.expect("runs");
    assert_eq!(runs, ["ok"], "one sync ran; the refused one started none");
    // Each attempt's audit entry (the refused one's too) names the login that ran it.
    let syncs: BTreeSet<String> = team.audit().await.into_iter().filter(|(_, action, _)| action == "sync").map(|(actor, _, _)| actor).collect();
    assert_eq!(syncs, BTreeSet::from(["cron".to_string(), "nightly".to_string()]));
}

/// 100 revocations queued by an approver login's `tokenward revoke` processes while
/// the issuer is unreachable, then the issuer back and two `tokenward sync`
/// processes of two sync logins retrying the outbox at once (the first revocation
/// held at the proxy until the other process has one in flight too): each reaches
/// the issuer exactly once, is recorded once, and nothing is left queued.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queued_revocations_retried_by_two_sync_logins_reach_the_issuer_once_each() {
    let issuer = common::peers::reference_issuer(250, 23);
    let (proxy, url) = Proxy::start(&issuer.url).await;
    let team = Team::new(&url, &[("sec", APPROVER), ("cron", SYNC), ("nightly", SYNC)]).await;
    let (ok, err) = common::finish(team.start("cron", &["sync"])).await;
    assert!(ok, "first sync: {err}");
    let db = team.sql().await;
    let victims: Vec<String> =
        sqlx::query_scalar("SELECT external_id FROM credentials WHERE status = 'active' ORDER BY external_id LIMIT 100").fetch_all(&db).await.expect("victims");
    assert_eq!(victims.len(), 100, "the issuer has 100 active credentials");

    // The issuer is down: a port nothing listens on.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port();
    team.point_at(&format!("http://127.0.0.1:{closed}"));
    for batch in victims.chunks(4) {
        let runs = batch.iter().map(|id| common::finish(team.start("sec", &["revoke", id, "--reason", "owner left"])));
        for (id, (ok, err)) in batch.iter().zip(futures_util::future::join_all(runs).await) {
            assert!(!ok && err.contains("queued for retry"), "{id}: {err}");
        }
    }
    let queued: i64 = sqlx::query_scalar("SELECT count(*) FROM revocation_outbox WHERE done_at IS NULL").fetch_one(&db).await.expect("count");
    assert_eq!(queued, 100);
    assert!(proxy.revocations().is_empty());

    // Back up: two sync logins retry at once.
    team.point_at(&url);
    proxy.hold_revocation.store(true, Ordering::SeqCst);
    let (cron, nightly) = (team.start("cron", &["sync"]), team.start("nightly", &["sync"]));
    let (cron, nightly) = tokio::join!(common::output(cron), common::output(nightly));
    let mut confirmed = BTreeMap::new();
    for (login, out) in [("cron", &cron), ("nightly", &nightly)] {
        let err = text(&out.stderr);
        // Both retry the outbox; one of them may have been refused the issuer's sync, which the other held.
        assert!(out.status.success() || err.contains("issuer broker is being synced by"), "{login}: {err}");
        assert!(!err.contains("permission denied"), "{login}: {err}");
        let n: usize = err.lines().find_map(|l| l.strip_prefix("revocation outbox: ")).and_then(|l| l.split_whitespace().next()).and_then(|n| n.parse().ok()).unwrap_or(0);
        confirmed.insert(login, n);
    }
    let most = proxy.most_in_flight.load(Ordering::SeqCst);
    println!("outbox retried by two sync logins: {confirmed:?} confirmed; at most {most} revocations in flight at once");
    assert_eq!(most, 2, "both processes were sending revocations at the same time");
    assert_eq!(confirmed.values().sum::<usize>(), 100, "each confirmed by one process");

    // At the issuer: each path exactly once, and the issuer lists each revoked.
    let received = proxy.revocations();
    assert_eq!(received.len(), 100);
    assert!(received.values().all(|n| *n == 1), "a revocation reached the issuer twice: {received:?}");
    let at_issuer = issuer_statuses(&issuer.url).await;
    assert!(victims.iter().all(|v| at_issuer.get(v).map(String::as_str) == Some("revoked")), "every victim revoked at the issuer");

    // Recorded once each, in the name of the login that asked; nothing left queued.
    let revokes: Vec<(String, String)> = team.audit().await.into_iter().filter(|(_, action, _)| action == "revoke").map(|(actor, _, target)| (actor, target)).collect();
    assert_eq!((revokes.len(), revokes.iter().map(|(_, t)| t).collect::<BTreeSet<_>>().len()), (100, 100));
    assert!(revokes.iter().all(|(actor, _)| actor == "sec"), "{revokes:?}");
    // And each names the sync login whose process delivered it, as many times as that process said.
    let delivered: Vec<String> = sqlx::query_scalar("SELECT (detail::jsonb)->>'delivered_by' FROM audit_log WHERE action = 'revoke'").fetch_all(&db).await.expect("delivered");
    let by = |login: &str| delivered.iter().filter(|d| d.as_str() == login).count();
    assert_eq!((by("cron"), by("nightly")), (confirmed["cron"], confirmed["nightly"]), "{delivered:?}");
    let queued: i64 = sqlx::query_scalar("SELECT count(*) FROM revocation_outbox WHERE done_at IS NULL").fetch_one(&db).await.expect("count");
    assert_eq!(queued, 0);
    let (ok, err) = common::finish(team.start("nightly", &["sync"])).await;
    assert!(ok, "a later sync: {err}");
    assert_eq!(proxy.revocations().len(), 100, "and sends nothing again");
    let local: BTreeMap<String, String> = sqlx::query_as("SELECT external_id, status FROM credentials").fetch_all(&db).await.expect("credentials").into_iter().collect();
    assert!(victims.iter().all(|v| local.get(v).map(String::as_str) == Some("revoked")), "every victim revoked here");
    assert_eq!(local, issuer_statuses(&issuer.url).await, "the inventory agrees with the issuer");
    for login in ["sec", "cron", "nightly"] {
        team.verified(login, None).await;
    }
}

/// Two reviewer logins finish one campaign between them from the command line,
/// each a process per decision, walking the items at once from opposite ends:
/// every item decided exactly once, by one of them, and a refusal names the other.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_reviewer_logins_finish_one_campaign_between_them_and_the_export_verifies() {
    let issuer = common::peers::reference_issuer(600, 5);
    let team = Team::new(&issuer.url, &[("rita", REVIEWER), ("ray", REVIEWER)]).await;
    team.json(DBA, &["sync", "--format", "json"]).await;
    let started = team.json("rita", &["review", "start", "q4-admin", "--filter", "status:active scope:admin:org", "--format", "json"]).await;
    let n = started["items"].as_u64().expect("items") as usize;
    assert!(n >= 10, "{started}");
    let items = team.json("ray", &["review", "show", "q4-admin", "--format", "json"]).await;
    let ids: Vec<i64> = items.as_array().expect("items").iter().map(|i| i["id"].as_i64().expect("id")).collect();
    assert_eq!(ids.len(), n);

    // Every fifth item is revoked at the issuer (a decision that claims its item first), the others kept.
    let decide = |id: i64| -> Vec<String> {
        let what = if id % 5 == 0 { "revoke" } else { "keep" };
        ["review", "decide", &id.to_string(), what, "--reason", "quarterly review, checked with the owner"].map(String::from).to_vec()
    };
    let walk = |login: &'static str, other: &'static str, ids: Vec<i64>| {
        let team = &team;
        async move {
            let (mut won, mut refused) = (Vec::new(), 0);
            for id in ids {
                let args = decide(id);
                let out = team.run(login, &args.iter().map(String::as_str).collect::<Vec<_>>()).await;
                if out.status.success() {
                    won.push(id);
                    continue;
                }
                // The other got there first: expected, and it says who.
                let err = text(&out.stderr);
                assert!(
                    (err.contains("decided already") || err.contains("is being handled by")) && err.contains(&format!("by {other}")),
                    "{login} on item {id}: {err}"
                );
                refused += 1;
            }
            (won, refused)
        }
    };
    // Each decides an end of its own first, so that both appear whatever the pace; then both walk the rest at once.
    let (first, last, rest) = (ids[0], ids[n - 1], ids[1..n - 1].to_vec());
    assert_eq!(walk("rita", "ray", vec![first]).await, (vec![first], 0));
    assert_eq!(walk("ray", "rita", vec![last]).await, (vec![last], 0));
    let reversed = rest.iter().rev().copied().collect();
    let ((rita, rita_refused), (ray, ray_refused)) = tokio::join!(walk("rita", "ray", rest), walk("ray", "rita", reversed));
    println!("two reviewers on {n} items: rita decided {} more ({rita_refused} refused), ray {} more ({ray_refused} refused)", rita.len(), ray.len());
    let mut all: Vec<i64> = rita.iter().chain(&ray).copied().chain([first, last]).collect();
    all.sort();
    assert_eq!(all, ids, "every item decided by exactly one of them");

    let campaigns = team.json("ray", &["review", "list", "--format", "json"]).await;
    let campaign = &campaigns.as_array().expect("campaigns")[0];
    assert_eq!((campaign["decided"].as_u64(), campaign["items"].as_u64()), (Some(n as u64), Some(n as u64)), "progress counts everyone's decisions");

    // The evidence names each decider, and `audit verify` reaches the head it names.
    let evidence = team.json("rita", &["review", "export", "q4-admin", "--format", "json"]).await;
    let exported = evidence["items"].as_array().expect("items");
    assert_eq!(exported.len(), n);
    let mut deciders = BTreeMap::new();
    for item in exported {
        let id = item["id"].as_i64().expect("id");
        let by = item["decided_by"].as_str().expect("decided");
        assert_eq!(by, if rita.contains(&id) || id == first { "rita" } else { "ray" }, "item {id}");
        assert_eq!(item["decision"], if id % 5 == 0 { "revoke" } else { "keep" }, "item {id}");
        *deciders.entry(by.to_string()).or_insert(0) += 1;
    }
    assert_eq!(deciders.keys().map(String::as_str).collect::<Vec<_>>(), ["ray", "rita"]);
    let head = evidence["audit_head_hash"].as_str().expect("head");
    let verified = team.verified("ray", Some(head)).await;
    assert_eq!(verified["head_found"], evidence["audit_head_seq"], "{verified}");
    assert_eq!(verified["head_hash"], head, "nothing written since the export");
    // Each decision is in the audit log once, by its decider.
    let decided: Vec<(String, String)> = team
        .audit()
        .await
        .into_iter()
        .filter(|(_, action, _)| action == "review.keep" || action == "review.revoke")
        .map(|(actor, _, target)| (target, actor))
        .collect();
    assert_eq!(decided.len(), n);
    let by_target: BTreeMap<String, String> = decided.into_iter().collect();
    assert_eq!(by_target.len(), n, "one entry per item");
    assert!(exported.iter().all(|i| by_target.get(&format!("review-item:{}", i["id"])).map(String::as_str) == i["decided_by"].as_str()));
}

/// A viewer login's TUI on the grants view, and an approver login approving one of
/// the shown grants from another process: the TUI drops it from the pending queue
/// within 2 seconds of the approving process's exit (LISTEN/NOTIFY, no polling).
#[test]
fn an_approval_by_one_login_shows_in_another_logins_tui_within_two_seconds() {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let issuer = common::peers::reference_issuer(300, 41);
    let team = rt.block_on(async {
        let team = Team::new(&issuer.url, &[("vera", VIEWER), ("alice", APPROVER)]).await;
        team.json(DBA, &["sync", "--format", "json"]).await;
        team
    });
    let (gid, scope) = rt.block_on(plain_read_grant(&team));

    let tmux = Tmux { socket: format!("tokenward-pg-team-{}", std::process::id()) };
    let home = team.dir.path().join("home");
    std::fs::create_dir_all(&home).expect("home");
    let cmd = format!(
        "XDG_CONFIG_HOME={} XDG_DATA_HOME={} TOKENWARD_NO_BELL=1 {} --config {} --db {}",
        home.display(),
        std::env::var("XDG_DATA_HOME").expect("the harness sets a data home"),
        common::bin(),
        team.dir.path().join("tokenward.toml").display(),
        team.url("vera")
    );
    tmux.run(&["new-session", "-d", "-s", "tw", "-x", "200", "-y", "50", &cmd]);
    // The console opens on home; the queue is a command away.
    tmux.wait_for("what needs attention", Duration::from_secs(30));
    tmux.send(&[":"]);
    tmux.type_text("grants");
    tmux.send(&["Enter"]);
    tmux.wait_for("REQUESTED BY", Duration::from_secs(10));
    tmux.wait_for(&gid, Duration::from_secs(10));
    // The TUI listens before anything is approved: its LISTEN is on the server.
    rt.block_on(async {
        let db = team.sql().await;
        let start = Instant::now();
        loop {
            let listening: i64 = sqlx::query_scalar("SELECT count(*) FROM pg_stat_activity WHERE usename = 'vera' AND query LIKE 'LISTEN %'").fetch_one(&db).await.expect("activity");
            if listening > 0 {
                break;
            }
            assert!(start.elapsed() < Duration::from_secs(10), "vera's TUI never listened for changes");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    });

    let approved = team.tw("alice", &approve_args(&gid, &scope)).output().expect("alice approves");
    let exited = Instant::now();
    assert!(approved.status.success(), "{}", text(&approved.stderr));
    let outcome: Value = serde_json::from_slice(&approved.stdout).expect("json");
    assert_eq!(outcome["status"], "approved", "{outcome}");
    let (screen, gone) = loop {
        let screen = tmux.screen();
        let read = exited.elapsed();
        if !screen.contains(&gid) {
            break (screen, read);
        }
        assert!(read < Duration::from_secs(2), "{gid} still pending in vera's TUI {read:?} after alice's approval:\n{screen}");
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(gone < Duration::from_secs(2), "{gid} left vera's TUI only {gone:?} after alice's approval");
    println!("alice's approval of {gid} left vera's TUI within {gone:?}");
    assert!(screen.contains("REQUESTED BY") && screen.contains("grant-"), "still the grants view, the other grants still pending:\n{screen}");
    tmux.send(&["q"]);
}
