//! Fail closed, claim first: every action claims its row and writes its intent
//! to the audit log before the issuer is called. If that cannot be written the
//! issuer is never called; a second process is told who holds the claim; an
//! answer that cannot be recorded leaves the intent and the claim standing; and
//! triage goes on when one issuer fails.
use std::sync::Arc;

use serde_json::json;
use tokenward::actions::{ActionError, Actions, ApproveInput, ReviewDecision, RevokeStatus};
use tokenward::config::IssuerConfig;
use tokenward::connectors::{self, tokenward::map_credential, tokenward::map_grant, Connector};
use tokenward::domain::{Credential, CredentialStatus, GrantStatus, IssuerKind};
use tokenward::reference::org::Org;
use tokenward::store::Store;
use wiremock::matchers::{any, method, path, path_regex};
use wiremock::{Mock, MockServer, ResponseTemplate};

mod common;

const LEAKED: &str = "tw_leaked_7f3a9c1e5b2d4f60";

fn broker(url: &str) -> Arc<dyn Connector> {
    let cfg = IssuerConfig { name: "broker".into(), kind: IssuerKind::Tokenward, url: url.into(), timeout_s: Some(5), ..IssuerConfig::default() };
    Arc::from(connectors::build(&cfg).expect("connector"))
}

/// 20 active credentials (the first carries the leaked token's fingerprint) and the org's pending grants, in a file.
async fn seeded(db: &std::path::Path) -> (Store, Vec<Credential>) {
    let store = Store::open(db).await.expect("store");
    let org = Org::new(20, 11, common::fixed_now());
    let mut creds: Vec<Credential> =
        (0..20).map(|i| Credential { status: CredentialStatus::Active, ..map_credential("broker", org.credential(i)).expect("maps") }).collect();
    creds[0].fingerprint = Some(tokenward::domain::fingerprint(LEAKED.as_bytes()));
    store.upsert_issuer("broker", IssuerKind::Tokenward, None).await.expect("issuer");
    let run = store.begin_sync_run("broker", common::fixed_now()).await.expect("run");
    store.ingest_credential_page(run.id, run.started_at, &creds, 1, None).await.expect("page");
    store.finish_sync_run(&run, "broker", None, common::fixed_now()).await.expect("finish");
    let grants: Vec<_> = (0..org.grant_count()).map(|g| map_grant("broker", org.grant(g)).expect("grant")).filter(|g| g.status == GrantStatus::Pending).collect();
    store.replace_grants("broker", &grants, common::fixed_now()).await.expect("grants");
    (store, creds)
}

fn sql(db: &std::path::Path, statement: &str) {
    rusqlite::Connection::open(db).expect("open").execute_batch(statement).expect("sql");
}

fn count(db: &std::path::Path, query: &str) -> i64 {
    rusqlite::Connection::open(db).expect("open").query_row(query, [], |r| r.get(0)).expect("count")
}

#[tokio::test]
async fn when_the_intent_cannot_be_written_nothing_is_sent_to_the_issuer() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("inv.db");
    let (store, creds) = seeded(&db).await;
    let issuer = MockServer::start().await;
    Mock::given(any()).respond_with(ResponseTemplate::new(200).set_body_json(json!({"status": "ok"}))).expect(0).mount(&issuer).await;
    let actions = Actions::new(store.clone(), &[broker(&issuer.uri())], "sec@acme.test", false);
    let campaign = actions.start_review("q4", None).await.expect("campaign");
    let item = store.review_items(campaign.id, 0, 1).await.expect("items")[0].id;
    let grant = store.grants(Some(GrantStatus::Pending), 1).await.expect("grants")[0].clone();

    // The audit log can take no entry now (a full disk, say).
    sql(&db, "CREATE TRIGGER full_disk BEFORE INSERT ON audit_log BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END;");
    let mut refused = Vec::new();
    refused.push(("revoke", actions.revoke(&creds[1].id, "owner left").await.map(|_| ())));
    refused.push(("deny", actions.deny(&grant.id, "no ticket").await.map(|_| ())));
    let approve = ApproveInput { grant: grant.id.clone(), scopes: Some(vec![grant.scopes[0].clone()]), ttl_seconds: Some(300), binding: Some(tokenward::domain::Binding::Dpop), justification: "INC-1".into() };
    refused.push(("approve", actions.approve(&approve).await.map(|_| ())));
    refused.push(("review revoke", actions.decide_review(item, &ReviewDecision::Revoke, "stale").await.map(|_| ())));
    refused.push(("triage", actions.triage(&LEAKED.into(), Some("pasted in a chat")).await.map(|_| ())));
    for (what, outcome) in &refused {
        match outcome {
            Err(ActionError::NotSent(e)) => assert!(e.to_string().contains("disk is full"), "{what}: {e}"),
            Err(ActionError::Policy(p)) if *what == "approve" => panic!("approve was refused by policy, so the intent path was not tried: {p}"),
            other => panic!("{what}: expected 'nothing was sent', got {other:?}"),
        }
    }
    assert!(refused.iter().all(|(_, o)| o.as_ref().is_err_and(|e| e.to_string().starts_with("nothing was sent to the issuer"))));
    assert!(issuer.received_requests().await.unwrap_or_default().is_empty(), "the issuer was called");
    assert_eq!(count(&db, "SELECT count(*) FROM action_claims"), 0, "no claim outlives a failed intent");
    assert_eq!(store.credential(&creds[1].id).await.expect("cred").status, CredentialStatus::Active);
    assert_eq!(store.grant(&grant.id).await.expect("grant").status, GrantStatus::Pending);
}

#[tokio::test]
async fn a_second_process_is_told_who_holds_the_claim_and_the_issuer_hears_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("inv.db");
    let (first, creds) = seeded(&db).await;
    let second = Store::open(&db).await.expect("second handle");
    let issuer = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path_regex("^/v1/credentials/.+/revoke$"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"status": "revoked"})).set_delay(std::time::Duration::from_millis(400)))
        .expect(1)
        .mount(&issuer)
        .await;
    let c = broker(&issuer.uri());
    let (a, b) = (Actions::new(first, std::slice::from_ref(&c), "alice@acme.test", false), Actions::new(second, &[c], "bob@acme.test", false));
    let target = &creds[2].id;
    let late = async {
        // Bob acts while Alice's issuer call is under way.
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        b.revoke(target, "leaked").await
    };
    let (won, lost) = tokio::join!(a.revoke(target, "leaked"), late);
    assert_eq!(won.expect("alice revokes").status, RevokeStatus::Revoked);
    let why = lost.expect_err("bob is refused").to_string();
    assert!(why.starts_with("nothing was sent to the issuer") && why.contains("being handled by alice@acme.test (revoke, process"), "{why}");
    // Once recorded, the claim is gone and the row's state answers.
    let after = b.revoke(target, "leaked").await.expect_err("revoked already").to_string();
    assert!(after.contains("revoked already"), "{after}");
    let target = format!("credential:{target}");
    assert_eq!(count(&db, &format!("SELECT count(*) FROM audit_log WHERE target = '{target}' AND action = 'revoke.intent'")), 1);
    assert_eq!(count(&db, &format!("SELECT count(*) FROM audit_log WHERE target = '{target}' AND action = 'revoke'")), 1);
    assert_eq!(count(&db, "SELECT count(*) FROM action_claims"), 0);
}

#[tokio::test]
async fn an_answer_that_cannot_be_recorded_leaves_the_intent_and_the_claim() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("inv.db");
    let (store, creds) = seeded(&db).await;
    let issuer = MockServer::start().await;
    Mock::given(method("POST")).and(path_regex("^/v1/credentials/.+/revoke$")).respond_with(ResponseTemplate::new(200).set_body_json(json!({"status": "revoked"}))).expect(1).mount(&issuer).await;
    let actions = Actions::new(store.clone(), &[broker(&issuer.uri())], "sec@acme.test", false);
    // The intent goes in; the outcome cannot (the disk filled up during the issuer call).
    sql(&db, "CREATE TRIGGER full_disk BEFORE INSERT ON audit_log WHEN NEW.action = 'revoke' BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END;");
    let err = actions.revoke(&creds[3].id, "owner left").await.expect_err("not recorded");
    let intent = count(&db, "SELECT max(seq) FROM audit_log WHERE action = 'revoke.intent'");
    match &err {
        ActionError::Unrecorded { done, intent_seq, .. } => {
            assert!(done.contains("revoked at broker"), "{done}");
            assert_eq!(*intent_seq, intent);
        }
        other => panic!("expected Unrecorded, got {other:?}"),
    }
    assert!(err.to_string().contains(&format!("audit entry #{intent} announced it")), "{err}");
    // The claim stands: another attempt is told, and the issuer is not asked again.
    let again = actions.revoke(&creds[3].id, "owner left").await.expect_err("claimed").to_string();
    assert!(again.contains("being handled by sec@acme.test"), "{again}");
    assert_eq!(count(&db, "SELECT count(*) FROM action_claims"), 1);
}

#[tokio::test]
async fn the_claim_of_a_process_that_died_is_taken_over() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("inv.db");
    let (store, creds) = seeded(&db).await;
    let issuer = MockServer::start().await;
    Mock::given(method("POST")).and(path_regex("^/v1/credentials/.+/revoke$")).respond_with(ResponseTemplate::new(200).set_body_json(json!({"status": "revoked"}))).expect(1).mount(&issuer).await;
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").map(|h| h.trim().to_string()).unwrap_or_else(|_| "localhost".into());
    // Killed between its intent and the issuer's answer: pid 4194304999 cannot exist.
    sql(&db, &format!("INSERT INTO action_claims VALUES ('credential:{}', 'revoke', 'gone@acme.test', '4194304999@{host}/dead', '2026-01-01T00:00:00Z', '2999-01-01T00:00:00Z', 1)", creds[4].id));
    let actions = Actions::new(store, &[broker(&issuer.uri())], "sec@acme.test", false);
    assert_eq!(actions.revoke(&creds[4].id, "owner left").await.expect("taken over").status, RevokeStatus::Revoked);
    // A live claim (this very process) is not taken over.
    sql(&db, &format!("INSERT INTO action_claims VALUES ('credential:{}', 'revoke', 'other@acme.test', '{}@{host}/live', '2026-01-01T00:00:00Z', '2999-01-01T00:00:00Z', 1)", creds[5].id, std::process::id()));
    let held = actions.revoke(&creds[5].id, "owner left").await.expect_err("held").to_string();
    assert!(held.contains("being handled by other@acme.test"), "{held}");
}

#[tokio::test]
async fn triage_goes_on_when_the_inventorys_issuer_refuses_and_records_every_answer() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("inv.db");
    let (store, _) = seeded(&db).await;
    let inventory = MockServer::start().await;
    Mock::given(method("POST")).and(path_regex("^/v1/credentials/.+/revoke$")).respond_with(ResponseTemplate::new(403).set_body_json(json!({"error": "forbidden"}))).expect(1).mount(&inventory).await;
    let oauth = MockServer::start().await;
    let active = json!({"active": true, "client_id": "ci-bot", "sub": "ci-bot", "scope": "repo:read"});
    Mock::given(method("POST")).and(path("/introspect")).respond_with(ResponseTemplate::new(200).set_body_json(active)).up_to_n_times(1).mount(&oauth).await;
    Mock::given(method("POST")).and(path("/introspect")).respond_with(ResponseTemplate::new(200).set_body_json(json!({"active": false}))).mount(&oauth).await;
    Mock::given(method("POST")).and(path("/revoke")).respond_with(ResponseTemplate::new(200)).expect(1).mount(&oauth).await;
    // SAFETY of the test: the only variable this binary sets, always to one value.
    unsafe { std::env::set_var("TW_FAIL_CLOSED_SECRET", "client-secret-value") };
    let cfg = IssuerConfig {
        name: "idp".into(),
        kind: IssuerKind::Oauth,
        url: oauth.uri(),
        client_id: Some("security-team".into()),
        client_secret_env: Some("TW_FAIL_CLOSED_SECRET".into()),
        introspection_url: Some(format!("{}/introspect", oauth.uri())),
        revocation_url: Some(format!("{}/revoke", oauth.uri())),
        timeout_s: Some(5),
        ..IssuerConfig::default()
    };
    let idp: Arc<dyn Connector> = Arc::from(connectors::build(&cfg).expect("oauth"));
    let actions = Actions::new(store, &[broker(&inventory.uri()), idp], "sec@acme.test", false);
    let report = actions.triage(&LEAKED.into(), Some("pasted in a chat")).await.expect("triage reports");
    let refused = report.inventory_revocation_error.as_deref().expect("the inventory's issuer refused");
    assert!(refused.contains("403"), "{refused}");
    assert!(report.inventory_revocation.is_none());
    assert_eq!(report.revocations.len(), 1);
    assert!(report.revocations[0].revoked && report.revocations[0].confirmed_inactive, "{:?}", report.revocations);
    // The intent before anything was sent, then every answer, the refusal included.
    let actions_logged = rusqlite::Connection::open(&db)
        .expect("open")
        .prepare("SELECT action FROM audit_log WHERE action LIKE 'triage%' OR action LIKE 'revoke%' ORDER BY seq")
        .expect("prepare")
        .query_map([], |r| r.get::<_, String>(0))
        .expect("query")
        .collect::<Result<Vec<_>, _>>()
        .expect("rows");
    assert_eq!(actions_logged, ["triage.intent", "revoke.intent", "revoke.failed", "triage.revoke"]);
    let detail: String = rusqlite::Connection::open(&db).expect("open").query_row("SELECT detail FROM audit_log WHERE action = 'triage.revoke'", [], |r| r.get(0)).expect("detail");
    assert!(detail.contains("403") && detail.contains("\"idp\""), "{detail}");
}
