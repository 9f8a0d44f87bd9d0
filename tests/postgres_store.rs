//! The PostgreSQL backend against a real, throwaway PostgreSQL cluster (started
//! by the test, stopped after): it migrates a new database, knows the login it
//! runs as, and refuses a database whose schema is newer than the binary.
use tokenward::store::postgres::{known_version, PgStore};

mod common;

#[tokio::test]
async fn a_new_database_is_migrated_and_the_login_is_the_operator() {
    let pg = common::peers::postgres();
    let store = PgStore::open(&pg.url, None).await.expect("opens and migrates");
    assert_eq!(store.schema_version().await.expect("version"), Some(known_version()));
    assert_eq!(store.session_user().await.expect("login"), "postgres");
    assert!(!store.location().contains(common::peers::PG_SUPERUSER_PASSWORD), "{}", store.location());
    store.close().await;
    // Opening again changes nothing.
    let again = PgStore::open(&pg.url, None).await.expect("opens again");
    assert_eq!(again.schema_version().await.expect("version"), Some(known_version()));
}

#[tokio::test]
async fn a_schema_newer_than_the_binary_is_refused() {
    let pg = common::peers::postgres();
    let store = PgStore::open(&pg.url, None).await.expect("opens");
    let raw = sqlx::PgPool::connect(&pg.url).await.expect("connect");
    sqlx::query("INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) VALUES ($1, 'from the future', true, '\\x00', 1)")
        .bind(known_version() + 1)
        .execute(&raw)
        .await
        .expect("a future migration");
    store.close().await;
    let err = PgStore::open(&pg.url, None).await.err().expect("refused").to_string();
    assert!(err.contains("newer than this tokenward knows") && err.contains("upgrade tokenward"), "{err}");
}

/// Two consoles (two pools) on one PostgreSQL inventory, sharing the team's audit key.
async fn two_consoles(pg: &common::peers::Postgres, key: &std::path::Path) -> (tokenward::store::Store, tokenward::store::Store) {
    let a = tokenward::store::Store::open_postgres(&pg.url, Some(key)).await.expect("first console");
    let b = tokenward::store::Store::open_postgres(&pg.url, Some(key)).await.expect("second console");
    (a, b)
}

fn draft(actor: &str, n: usize) -> tokenward::store::AuditDraft {
    tokenward::store::AuditDraft { at: chrono::Utc::now(), actor: actor.into(), action: "test.append".into(), target: format!("n:{n}"), detail: serde_json::json!({"n": n}) }
}

#[tokio::test]
async fn one_audit_chain_never_forks_under_concurrent_writers_and_verifies() {
    let pg = common::peers::postgres();
    let dir = tempfile::tempdir().expect("tempdir");
    let (a, b) = two_consoles(&pg, &dir.path().join("team.audit-key")).await;
    let write = |store: tokenward::store::Store, who: &'static str| async move {
        for n in 0..60 {
            store.append_audit(&draft(who, n)).await.expect("append");
        }
    };
    tokio::join!(write(a.clone(), "alice@acme.test"), write(b.clone(), "bob@acme.test"));
    let entries = a.audit_entries(0, 1000).await.expect("entries");
    assert_eq!(entries.iter().map(|e| e.seq).collect::<Vec<_>>(), (1..=120).collect::<Vec<_>>());
    assert!(entries.windows(2).all(|w| w[1].prev_hash == w[0].hash), "the chain forked");
    for store in [&a, &b] {
        let v = tokenward::audit::verify(store, None).await.expect("verify");
        assert_eq!((v.entries, v.first_bad.as_ref().map(|b| b.problem.clone())), (120, None));
    }
    // The append-only triggers hold for every login, the owner's included.
    let raw = sqlx::PgPool::connect(&pg.url).await.expect("connect");
    for sql in ["UPDATE audit_log SET actor = 'mallory' WHERE seq = 1", "DELETE FROM audit_log WHERE seq = 120", "TRUNCATE audit_log"] {
        let err = sqlx::query(sql).execute(&raw).await.expect_err(sql).to_string();
        assert!(err.contains("append-only"), "{sql}: {err}");
    }
}

#[tokio::test]
async fn a_row_is_claimed_by_one_console_and_the_other_is_told_who_holds_it() {
    use tokenward::store::{ClaimGuard, StoreError};
    let pg = common::peers::postgres();
    let dir = tempfile::tempdir().expect("tempdir");
    let (a, b) = two_consoles(&pg, &dir.path().join("team.audit-key")).await;
    let raw = sqlx::PgPool::connect(&pg.url).await.expect("connect");
    sqlx::query("INSERT INTO credentials (id, issuer, external_id, kind, binding, status, synced_at) VALUES ('c0ffee', 'broker', 'tok-1', 'bearer', 'bearer', 'active', '2026-11-30T00:00:00Z')")
        .execute(&raw)
        .await
        .expect("a credential");
    let guard = ClaimGuard::CredentialNotRevoked("c0ffee".into());
    let intent = |who: &str| tokenward::store::AuditDraft { action: "revoke.intent".into(), target: "credential:c0ffee".into(), ..draft(who, 0) };
    let lease = chrono::Duration::minutes(5);
    let (alice, bob) = (intent("alice@acme.test"), intent("bob@acme.test"));
    let (one, two) = tokio::join!(a.claim_action(&guard, &alice, lease), b.claim_action(&guard, &bob, lease));
    let (won, lost) = match (one, two) {
        (Ok(c), Err(e)) | (Err(e), Ok(c)) => (c, e),
        other => panic!("exactly one claim must win: {other:?}"),
    };
    match &lost {
        StoreError::Claimed(held) => assert!(held.operator.ends_with("@acme.test") && held.action == "revoke" && held.holder == won.holder, "{held:?}"),
        other => panic!("expected Claimed, got {other}"),
    }
    // The outcome ends the claim; the row's state then answers.
    let outcome = tokenward::store::AuditDraft { action: "revoke".into(), target: "credential:c0ffee".into(), ..draft("alice@acme.test", 1) };
    a.record_revocation("c0ffee", &outcome, "leaked").await.expect("recorded");
    let again = b.claim_action(&guard, &intent("bob@acme.test"), lease).await.expect_err("revoked").to_string();
    assert!(again.contains("revoked already"), "{again}");
    let claims: i64 = sqlx::query_scalar("SELECT count(*) FROM action_claims").fetch_one(&raw).await.expect("count");
    assert_eq!(claims, 0);
    assert_eq!(a.audit_entries(0, 10).await.expect("entries").iter().map(|e| e.action.as_str()).collect::<Vec<_>>(), ["revoke.intent", "revoke"]);
}

#[tokio::test]
async fn queued_revocations_are_claimed_once_however_many_consoles_retry() {
    let pg = common::peers::postgres();
    let dir = tempfile::tempdir().expect("tempdir");
    let (a, b) = two_consoles(&pg, &dir.path().join("team.audit-key")).await;
    let due = chrono::Utc::now() - chrono::Duration::seconds(1);
    for n in 0..40 {
        a.enqueue_revocation(&format!("cred-{n:02}"), "broker", "sec@acme.test", "owner left", "down", due).await.expect("enqueue");
    }
    a.enqueue_revocation("later", "broker", "sec@acme.test", "not yet", "down", chrono::Utc::now() + chrono::Duration::hours(1)).await.expect("enqueue");
    let drain = |store: tokenward::store::Store, who: &'static str| async move {
        let mut mine = Vec::new();
        loop {
            let got = store.claim_revocations(who, chrono::Utc::now(), chrono::Duration::minutes(5), 3).await.expect("claim");
            if got.is_empty() {
                return mine;
            }
            mine.extend(got.into_iter().map(|i| i.credential_id));
        }
    };
    let (mine_a, mine_b) = tokio::join!(drain(a.clone(), "console-a"), drain(b.clone(), "console-b"));
    let mut all: Vec<String> = mine_a.iter().chain(&mine_b).cloned().collect();
    all.sort();
    assert_eq!(all, (0..40).map(|n| format!("cred-{n:02}")).collect::<Vec<_>>(), "each due row claimed exactly once ({} + {})", mine_a.len(), mine_b.len());
}

#[tokio::test]
async fn the_database_enforces_the_roles_even_when_the_policy_check_is_bypassed() {
    use tokenward::store::ClaimGuard;
    let pg = common::peers::postgres();
    let dir = tempfile::tempdir().expect("tempdir");
    let key = dir.path().join("team.audit-key");
    let owner = PgStore::open(&pg.url, Some(&key)).await.expect("the schema owner migrates");
    let ran = owner.init_roles().await.expect("init-roles");
    assert!(ran.iter().any(|s| s == "CREATE ROLE tokenward_viewer NOLOGIN"), "{ran:?}");
    assert_eq!(owner.init_roles().await.expect("again").iter().filter(|s| s.starts_with("CREATE ROLE")).count(), 0, "init-roles runs twice without harm");
    let raw = sqlx::PgPool::connect(&pg.url).await.expect("connect");
    for sql in [
        "CREATE ROLE vera LOGIN PASSWORD 'vera-pw' IN ROLE tokenward_viewer",
        "CREATE ROLE alice LOGIN PASSWORD 'alice-pw' IN ROLE tokenward_approver",
        "CREATE ROLE platform NOLOGIN",
        "GRANT platform TO alice",
        "INSERT INTO credentials (id, issuer, external_id, kind, binding, status, synced_at) VALUES ('c0ffee', 'broker', 'tok-1', 'bearer', 'bearer', 'active', '2026-11-30T00:00:00Z')",
    ] {
        sqlx::query(sql).execute(&raw).await.expect(sql);
    }
    let vera = tokenward::store::Store::open_postgres(&pg.url_for("vera", "vera-pw", "postgres"), Some(&key)).await.expect("a viewer opens (no migration needed)");
    let alice = PgStore::open(&pg.url_for("alice", "alice-pw", "postgres"), Some(&key)).await.expect("an approver opens");
    assert_eq!(alice.session_user().await.expect("login"), "alice");
    assert_eq!(alice.login_roles().await.expect("roles"), (vec!["approver".to_string()], vec!["platform".to_string()]));
    // The viewer's consoles know before any key is pressed: every decision unavailable, the database's reason given.
    let login = vera.acting_login().await.expect("login").expect("a PostgreSQL login");
    let why = login.may_not_record.clone().expect("a viewer records nothing");
    assert!(why.contains("database login vera may not record decisions") && why.contains("tokenward roles: viewer"), "{why}");
    let may = tokenward::actions::Actions::new(vera.clone(), &[], &login.name, false).with_login_limits(login.may_not_record).permissions();
    assert_eq!(may.unavailable.len(), tokenward::actions::Act::ALL.len(), "{may:?}");
    assert_eq!(alice.acting_login().await.expect("login").expect("login").may_not_record, None);

    // The viewer claims a revocation straight through the store, as if Cedar had said yes: PostgreSQL says no.
    let intent = tokenward::store::AuditDraft { at: chrono::Utc::now(), actor: "vera".into(), action: "revoke.intent".into(), target: "credential:c0ffee".into(), detail: serde_json::json!({}) };
    let refused = vera.claim_action(&ClaimGuard::CredentialNotRevoked("c0ffee".into()), &intent, chrono::Duration::minutes(5)).await.expect_err("a viewer may not act").to_string();
    assert!(refused.contains("permission denied"), "{refused}");
    let store_alice = tokenward::store::Store::open_postgres(&pg.url_for("alice", "alice-pw", "postgres"), Some(&key)).await.expect("alice");
    let claim = store_alice.claim_action(&ClaimGuard::CredentialNotRevoked("c0ffee".into()), &tokenward::store::AuditDraft { actor: "alice".into(), ..intent.clone() }, chrono::Duration::minutes(5)).await.expect("an approver may");
    assert!(claim.intent_seq >= 1);
    // Nobody rewrites the log, the approver included; nor writes the inventory outside a decision.
    let alice_raw = sqlx::PgPool::connect(&pg.url_for("alice", "alice-pw", "postgres")).await.expect("alice raw");
    for sql in ["UPDATE audit_log SET actor = 'mallory'", "DELETE FROM audit_log", "TRUNCATE audit_log", "INSERT INTO credentials (id, issuer, external_id, kind, binding, status, synced_at) VALUES ('x', 'i', 'e', 'bearer', 'bearer', 'active', 'now')", "UPDATE credentials SET issuer = 'elsewhere'"] {
        let err = sqlx::query(sql).execute(&alice_raw).await.expect_err(sql).to_string();
        assert!(err.contains("permission denied"), "{sql}: {err}");
    }
}

#[test]
fn db_migrate_and_init_roles_from_the_command_line() {
    let pg = common::peers::postgres();
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("tokenward.toml");
    std::fs::write(&config, format!("[audit]\nkey_file = \"{}\"\n", dir.path().join("team.audit-key").display())).expect("config");
    let tw = |args: &[&str]| {
        let out = std::process::Command::new(common::bin()).arg("--config").arg(&config).arg("--db").arg(&pg.url).args(args).output().expect("runs");
        (out.status.success(), String::from_utf8_lossy(&out.stdout).to_string(), String::from_utf8_lossy(&out.stderr).to_string())
    };
    let (ok, out, err) = tw(&["db", "migrate", "--format", "json"]);
    assert!(ok, "{out}{err}");
    let v: serde_json::Value = serde_json::from_str(&out).expect("json");
    assert_eq!(v["schema_version"], v["known_version"]);
    assert!(!out.contains(common::peers::PG_SUPERUSER_PASSWORD) && !err.contains(common::peers::PG_SUPERUSER_PASSWORD), "the password is never printed");
    let (ok, out, err) = tw(&["db", "init-roles"]);
    assert!(ok && out.contains("CREATE ROLE tokenward_approver NOLOGIN") && out.contains("GRANT tokenward_approver TO alice"), "{out}{err}");
    // A SQLite file is not what `db` manages.
    let out = std::process::Command::new(common::bin()).arg("--config").arg(&config).arg("--db").arg(dir.path().join("inv.db")).args(["db", "migrate"]).output().expect("runs");
    assert!(!out.status.success() && String::from_utf8_lossy(&out.stderr).contains("migrates itself when opened"), "{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn on_postgresql_the_operator_is_the_login_and_no_other_name_may_be_claimed() {
    let pg = common::peers::postgres();
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("tokenward.toml");
    // An [operators] table (for SQLite files) whose OS accounts are not this one: on PostgreSQL it has no say.
    let operators = "[operators.\"someone@acme.test\"]\nroles = [\"admin\"]\nos_user = \"no-such-account\"\n";
    // And an issuer nobody answers at: a sync that went ahead would leave a failed run.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port();
    let issuer = format!("[[issuer]]\nname = \"broker\"\nkind = \"tokenward\"\nurl = \"http://127.0.0.1:{closed}\"\n");
    std::fs::write(&config, format!("[audit]\nkey_file = \"{}\"\n{issuer}{operators}", dir.path().join("team.audit-key").display())).expect("config");
    let tw = |url: &str, args: &[&str]| std::process::Command::new(common::bin()).arg("--config").arg(&config).arg("--db").arg(url).args(args).output().expect("runs");
    assert!(tw(&pg.url, &["db", "init-roles"]).status.success());
    // A sync under another name is refused before anything is synced.
    let out = tw(&pg.url, &["--operator", "bob@acme.test", "sync"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && err.contains("may not name bob@acme.test") && !err.contains("broker"), "{err}");
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async {
        let admin = sqlx::PgPool::connect(&pg.url).await.expect("connect");
        sqlx::query("CREATE ROLE alice LOGIN PASSWORD 'alice-pw' IN ROLE tokenward_approver").execute(&admin).await.expect("alice");
        let runs: i64 = sqlx::query_scalar("SELECT count(*) FROM sync_runs").fetch_one(&admin).await.expect("runs");
        assert_eq!(runs, 0, "the refused sync started no run");
    });
    let alice = pg.url_for("alice", "alice-pw", "postgres");
    let out = tw(&alice, &["--operator", "bob@acme.test", "revoke", "c0ffee", "--reason", "leaked"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && err.contains("the operator is the database login (alice)") && err.contains("may not name bob@acme.test"), "{err}");
    assert!(!err.contains("alice-pw"), "the password is never printed: {err}");
}

#[tokio::test]
async fn two_reviewers_share_one_campaign_and_each_item_is_decided_once() {
    use tokenward::actions::{Actions, ReviewDecision};
    let pg = common::peers::postgres();
    let dir = tempfile::tempdir().expect("tempdir");
    let (a, b) = two_consoles(&pg, &dir.path().join("team.audit-key")).await;
    let org = tokenward::reference::org::Org::new(40, 5, common::fixed_now());
    let creds: Vec<_> = (0..40)
        .map(|i| tokenward::domain::Credential { status: tokenward::domain::CredentialStatus::Active, ..tokenward::connectors::tokenward::map_credential("broker", org.credential(i)).expect("maps") })
        .collect();
    a.upsert_issuer("broker", tokenward::domain::IssuerKind::Tokenward, None).await.expect("issuer");
    let run = a.begin_sync_run("broker", common::fixed_now()).await.expect("run");
    a.ingest_credential_page(run.id, run.started_at, &creds, 1, None).await.expect("page");
    a.finish_sync_run(&run, "broker", None, common::fixed_now()).await.expect("finish");
    let (ana, ben) = (Actions::new(a.clone(), &[], "ana@acme.test", false), Actions::new(b.clone(), &[], "ben@acme.test", false));
    let campaign = ana.start_review("q4", None).await.expect("campaign");
    assert_eq!(campaign.items, 40);
    assert!(ben.start_review("q4", None).await.is_err(), "one campaign of a name");
    let items = b.all_review_items(campaign.id).await.expect("items");
    // Both reviewers walk every item at once: each item is decided exactly once.
    let walk = |who: Actions, ids: Vec<i64>| async move {
        let mut won = 0;
        for id in ids {
            if who.decide_review(id, &ReviewDecision::Keep, "still needed").await.is_ok() {
                won += 1;
            }
        }
        won
    };
    let ids: Vec<i64> = items.iter().map(|i| i.id).collect();
    let mut reversed = ids.clone();
    reversed.reverse();
    let (won_a, won_b) = tokio::join!(walk(ana, ids), walk(ben, reversed));
    assert_eq!(won_a + won_b, 40, "{won_a} + {won_b}");
    let after = a.campaign("q4").await.expect("campaign");
    assert_eq!((after.items, after.decided), (40, 40));
    let deciders: std::collections::BTreeSet<String> = a.all_review_items(campaign.id).await.expect("items").into_iter().filter_map(|i| i.decided_by).collect();
    assert!(deciders.iter().all(|d| d == "ana@acme.test" || d == "ben@acme.test"), "{deciders:?}");
    let v = tokenward::audit::verify(&a, None).await.expect("verify");
    assert!(v.first_bad.is_none() && v.problems.is_empty(), "{v:?}");
}

#[test]
fn the_command_line_works_the_same_on_a_shared_postgresql_inventory() {
    let pg = common::peers::postgres();
    let issuer = common::peers::reference_issuer(300, 31);
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("tokenward.toml");
    let key = dir.path().join("team.audit-key");
    std::fs::write(&config, format!("[audit]\nkey_file = \"{}\"\n\n[[issuer]]\nname = \"broker\"\nkind = \"tokenward\"\nurl = \"{}\"\n", key.display(), issuer.url)).expect("config");
    let tw = |url: &str, args: &[&str]| {
        let out = std::process::Command::new(common::bin()).arg("--config").arg(&config).arg("--db").arg(url).args(args).output().expect("runs");
        (out.status.success(), String::from_utf8_lossy(&out.stdout).to_string(), String::from_utf8_lossy(&out.stderr).to_string())
    };
    let json = |r: (bool, String, String)| -> serde_json::Value {
        assert!(r.0, "{}{}", r.1, r.2);
        serde_json::from_str(&r.1).expect("json")
    };
    assert!(tw(&pg.url, &["db", "init-roles"]).0);
    tokio::runtime::Runtime::new().expect("runtime").block_on(async {
        let admin = sqlx::PgPool::connect(&pg.url).await.expect("connect");
        for sql in ["CREATE ROLE alice LOGIN PASSWORD 'alice-pw' IN ROLE tokenward_approver", "CREATE ROLE vera LOGIN PASSWORD 'vera-pw' IN ROLE tokenward_viewer"] {
            sqlx::query(sql).execute(&admin).await.expect(sql);
        }
    });
    let (alice, vera) = (pg.url_for("alice", "alice-pw", "postgres"), pg.url_for("vera", "vera-pw", "postgres"));

    let (ok, out, err) = tw(&pg.url, &["sync"]);
    assert!(ok, "{out}{err}");
    let page = json(tw(&vera, &["credentials", "--format", "json", "--limit", "5", "--sort", "owner"]));
    assert_eq!(page.as_array().map(Vec::len), Some(5), "a viewer reads the shared inventory");
    let grants = json(tw(&vera, &["grants", "--status", "pending", "--format", "json"]));
    let grant = grants
        .as_array()
        .expect("grants")
        .iter()
        .find(|g| g["scopes"].as_array().is_some_and(|s| s.iter().any(|x| x.as_str().is_some_and(|x| x.ends_with(":read") && !x.starts_with("payments:") && !x.starts_with("secrets:")))))
        .expect("a grant asking a plain read scope")
        .clone();
    let gid = grant["external_id"].as_str().expect("id");
    let scope = grant["scopes"].as_array().expect("scopes").iter().filter_map(|s| s.as_str()).find(|x| x.ends_with(":read") && !x.starts_with("payments:") && !x.starts_with("secrets:")).expect("scope");
    let approve = ["approve", gid, "--justification", "INC-1", "--scopes", scope, "--binding", "dpop", "--ttl", "5m", "--format", "json"];
    // A viewer login is refused by the policies, which see its database roles.
    let (ok, _, err) = tw(&vera, &approve);
    assert!(!ok && err.contains("approver or admin role") && err.contains("could not be recorded") && !err.contains("no [operators]"), "{err}");
    let outcome = json(tw(&alice, &approve));
    assert_eq!(outcome["status"], "approved", "{outcome}");
    let log = json(tw(&pg.url, &["audit", "log", "--format", "json", "--limit", "20"]));
    let actions: Vec<String> = log.as_array().expect("log").iter().map(|e| format!("{} {}", e["action"].as_str().unwrap_or(""), e["actor"].as_str().unwrap_or(""))).collect();
    assert!(actions.iter().any(|a| a == "approve alice") && actions.iter().any(|a| a == "approve.intent alice"), "{actions:?}");
    assert!(!actions.iter().any(|a| a.ends_with(" vera")), "a viewer login writes nothing, not even its refusal: {actions:?}");
    let (ok, out, err) = tw(&pg.url, &["audit", "verify"]);
    assert!(ok && out.contains("audit log intact"), "{out}{err}");
}

#[tokio::test]
async fn every_console_hears_of_another_consoles_change() {
    let pg = common::peers::postgres();
    let dir = tempfile::tempdir().expect("tempdir");
    let (a, b) = two_consoles(&pg, &dir.path().join("team.audit-key")).await;
    let (tx, mut rx) = tokio::sync::mpsc::channel(16);
    a.watch_changes(tx);
    // The listener is up once a change made after it is heard; retry the change until then.
    let mut heard = None;
    for n in 0..50 {
        b.append_audit(&tokenward::store::AuditDraft { action: "approve".into(), ..draft("bob@acme.test", n) }).await.expect("append");
        if let Ok(Some(what)) = tokio::time::timeout(std::time::Duration::from_millis(200), rx.recv()).await {
            heard = Some(what);
            break;
        }
    }
    let heard = heard.expect("console a never heard of console b's change");
    assert_eq!((heard.action.as_str(), heard.actor.as_str()), ("approve", "bob@acme.test"), "{heard:?}");
    // A transaction that rolls back announces nothing.
    let raw = sqlx::PgPool::connect(&pg.url).await.expect("connect");
    while tokio::time::timeout(std::time::Duration::from_millis(300), rx.recv()).await.is_ok() {}
    let mut t = raw.begin().await.expect("begin");
    sqlx::query("SELECT pg_notify('tokenward_changes', 'never')").execute(&mut *t).await.expect("notify");
    t.rollback().await.expect("rollback");
    b.append_audit(&tokenward::store::AuditDraft { action: "revoke".into(), ..draft("bob@acme.test", 99) }).await.expect("append");
    let next = tokio::time::timeout(std::time::Duration::from_secs(10), rx.recv()).await.expect("heard in time").expect("open");
    assert_eq!(next.action, "revoke");
}

#[test]
fn bench_measures_either_backend_over_the_same_rows_and_keeps_to_an_empty_database() {
    let pg = common::peers::postgres();
    let dir = tempfile::tempdir().expect("tempdir");
    let bench = |db: &str| {
        let out = std::process::Command::new(common::bin())
            .env("XDG_DATA_HOME", dir.path().join("home"))
            .args(["--db", db, "bench", "--credentials", "1500", "--format", "json"])
            .output()
            .expect("bench runs");
        (out.status.success(), String::from_utf8_lossy(&out.stdout).to_string(), String::from_utf8_lossy(&out.stderr).to_string())
    };
    let report = |r: (bool, String, String)| -> serde_json::Value {
        assert!(r.0, "{}{}", r.1, r.2);
        serde_json::from_str(&r.1).expect("json")
    };
    let on_pg = report(bench(&pg.url));
    let on_sqlite = report(bench(&dir.path().join("unused.db").to_string_lossy()));
    let figure = |r: &serde_json::Value, name: &str| -> Option<serde_json::Value> { r.as_array().expect("an array of figures").iter().find(|f| f["figure"] == name).cloned() };
    let named = |r: &serde_json::Value, prefix: &str| -> Vec<(String, f64)> {
        r.as_array().expect("figures").iter().filter_map(|f| Some((f["figure"].as_str()?.strip_prefix(prefix)?.to_string(), f["value"].as_f64()?))).collect()
    };
    for (r, backend) in [(&on_pg, "postgresql"), (&on_sqlite, "sqlite")] {
        assert!(r.as_array().expect("figures").iter().all(|f| f["backend"] == backend && f["unit"].is_string()), "{r}");
        assert_eq!(figure(r, "credentials").expect("credentials")["value"], 1500.0);
        assert_eq!(named(r, "page_p50_ms.").len(), 12, "top, middle and end of four sorts: {r}");
        for name in ["ingest_ratio", "page_p50_ms", "page_p95_ms", "filter_p50_ms", "count_p50_ms", "frame_ms", "findings_s"] {
            let f = figure(r, name).unwrap_or_else(|| panic!("{name} missing: {r}"));
            assert!(f["target"].is_string() && f["pass"].is_boolean() && f["value"].as_f64().is_some_and(|v| v > 0.0), "{f}");
        }
    }
    // The same generated rows answer the same filters on both backends (those the clock does not move).
    let matches = |r: &serde_json::Value| named(r, "filter_matches.").into_iter().filter(|(q, _)| !q.contains('<') && !q.contains('>')).collect::<Vec<_>>();
    assert_eq!(matches(&on_pg), matches(&on_sqlite));
    assert!(matches(&on_pg).len() >= 6 && matches(&on_pg).iter().all(|(_, n)| *n > 0.0), "{:?}", matches(&on_pg));
    // The real binary's figures (sync processes, the TUI in tmux) and the keyboard flows are SQLite's.
    for name in ["first_sync_s", "resync_s", "sync_peak_rss_mib", "first_frame_ms", "rss_mib", "bytes_per_credential", "grant_keypress_to_answer_p50_ms"] {
        assert!(figure(&on_sqlite, name).is_some_and(|f| f["value"].as_f64().is_some_and(|v| v > 0.0)), "{name}: {on_sqlite}");
        assert!(figure(&on_pg, name).is_none(), "{name} is not claimed for PostgreSQL");
    }
    // A database that holds an inventory is not the benchmark's to fill.
    let (ok, _, err) = bench(&pg.url);
    assert!(!ok && err.contains("point --db at an empty database"), "{err}");
}
