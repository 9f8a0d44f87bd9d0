//! Hostile issuers, record by record: a protocol-v1 issuer (wiremock) whose pages
//! mix good credentials with hostile ones. Each hostile record is rejected on its
//! own with its id and reason; the good ones of the same page are kept; the sync
//! report, the `sync` output and its exit code say so. Consent words in other
//! tenses or synonyms give the same findings as the canonical ones.
use std::sync::Arc;

use serde_json::{json, Value};
use tokenward::config::{IssuerConfig, Thresholds};
use tokenward::connectors::{self, Connector};
use tokenward::domain::{Credential, IssuerKind};
use tokenward::store::Store;
use tokenward::{findings, sync};
use wiremock::matchers::{method, path, query_param, query_param_is_missing};
use wiremock::{Mock, MockServer, ResponseTemplate};

mod common;

fn connector(name: &str, url: &str) -> Arc<dyn Connector> {
    let cfg = IssuerConfig { name: name.into(), kind: IssuerKind::Tokenward, url: url.into(), page_size: Some(10), timeout_s: Some(5), ..IssuerConfig::default() };
    Arc::from(connectors::build(&cfg).expect("connector"))
}

fn good(id: &str) -> Value {
    json!({
        "id": id, "kind": "access_token", "binding": "bearer", "status": "active",
        "owner": "ana@acme.test", "workload": "deploy-bot", "scopes": ["repo:read"],
        "issued_at": "2026-11-01T00:00:00Z", "expires_at": "2026-12-01T00:00:00Z"
    })
}

fn with(id: &str, field: &str, value: Value) -> Value {
    let mut v = good(id);
    v[field] = value;
    v
}

/// A hostile record: the id it should be rejected under, the record, words its reason must hold.
type Hostile = (Option<&'static str>, Value, &'static str);

/// The hostile records of the corpus.
fn hostile() -> Vec<Hostile> {
    vec![
        (Some("bad-scopes"), with("bad-scopes", "scopes", json!("repo:read repo:write")), "scopes: invalid type: string"),
        (Some("bad-binding"), with("bad-binding", "binding", json!("carrier-pigeon")), "unknown binding 'carrier-pigeon'"),
        (Some("bad-time"), with("bad-time", "expires_at", json!("next tuesday")), "expires_at is not an RFC 3339 time"),
        (Some("far-time"), with("far-time", "issued_at", json!("1066-10-14T09:00:00Z")), "issued_at is out of range"),
        (Some("huge-field"), with("huge-field", "workload", json!("w".repeat(1024 * 1024))), "workload is 1048576 bytes"),
        (Some("huge-number"), with("huge-number", "act_chain", json!([1e300])), "act_chain[0]: invalid type"),
        (None, with("x", "id", Value::Null), "id: invalid type: null"),
        (None, json!("not an object"), "not a JSON object but a string"),
        (None, json!(42), "not a JSON object but a number"),
    ]
}

/// Mounts two pages of credentials (good and hostile mixed), no owners and grants.
async fn hostile_issuer(grants: Value) -> MockServer {
    let server = MockServer::start().await;
    let (first, second): (Vec<_>, Vec<_>) = hostile().into_iter().enumerate().partition(|(n, _)| n % 2 == 0);
    let page = |good_ids: &[&str], bad: Vec<(usize, Hostile)>| {
        let mut items: Vec<Value> = good_ids.iter().map(|id| good(id)).collect();
        items.extend(bad.into_iter().map(|(_, (_, v, _))| v));
        items
    };
    let one = page(&["ok-1", "ok-2"], first);
    let two = page(&["ok-3"], second);
    Mock::given(method("GET")).and(path("/v1/owners")).respond_with(ResponseTemplate::new(404)).mount(&server).await;
    Mock::given(method("GET"))
        .and(path("/v1/credentials"))
        .and(query_param_is_missing("cursor"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"items": one, "next_cursor": "p2"})))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/credentials"))
        .and(query_param("cursor", "p2"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"items": two, "next_cursor": null})))
        .mount(&server)
        .await;
    Mock::given(method("GET")).and(path("/v1/grants")).respond_with(ResponseTemplate::new(200).set_body_json(grants)).mount(&server).await;
    server
}

fn grants() -> Value {
    let grant = |id: &str, ttl: Value| json!({"id": id, "ttl_seconds": ttl, "binding": "bearer", "status": "pending", "scopes": ["repo:read"]});
    json!({"items": [grant("g-ok", json!(3600)), grant("g-forever", json!(i64::MAX)), grant("g-negative", json!(-5)), grant("g-float", json!(1e30))]})
}

async fn stored(store: &Store, issuer: &str, id: &str) -> bool {
    store.credential(&Credential::local_id(issuer, id)).await.is_ok()
}

#[tokio::test]
async fn each_hostile_record_is_rejected_alone_with_its_id_and_reason() {
    let server = hostile_issuer(json!({"items": []})).await;
    let c = connector("hostile", &server.uri());
    let page = c.list_credentials(None).await.expect("the page itself is fine");
    let ids: Vec<&str> = page.items.iter().map(|c| c.external_id.as_str()).collect();
    assert_eq!(ids, ["ok-1", "ok-2"], "the good records of the page are kept");
    let expected: Vec<_> = hostile().into_iter().enumerate().filter(|(n, _)| n % 2 == 0).map(|(_, h)| h).collect();
    assert_eq!(page.rejected.len(), expected.len(), "{:?}", page.rejected);
    for (r, (id, _, why)) in page.rejected.iter().zip(&expected) {
        assert_eq!(r.id.as_deref(), *id, "{r}");
        assert!(r.reason.contains(why), "{why:?} not in {r}");
        assert!(r.reason.chars().count() <= 300, "reasons are capped: {}", r.reason.len());
    }
}

#[tokio::test]
async fn a_sync_keeps_the_good_records_and_reports_every_rejection() {
    let server = hostile_issuer(grants()).await;
    let store = Store::open_in_memory().await.expect("store");
    let c = connector("hostile", &server.uri());
    let r = sync::sync_issuer(&store, c.as_ref(), None).await;
    let tried = hostile().len() as u64 + 3;
    assert_eq!(r.error, None, "{r:?}");
    assert_eq!((r.credentials, r.pages, r.grants), (3, 2, 1), "every good record of both pages, and the one good grant: {r:?}");
    assert_eq!(r.rejected, tried, "{r:?}");
    for id in ["ok-1", "ok-2", "ok-3"] {
        assert!(stored(&store, "hostile", id).await, "{id} kept");
    }
    for id in ["bad-scopes", "bad-binding", "huge-field"] {
        assert!(!stored(&store, "hostile", id).await, "{id} not stored");
    }
    let notes = r.notes.join("\n");
    assert!(notes.contains("rejected credential bad-scopes: scopes: invalid type"), "{notes}");
    assert!(notes.contains("more records rejected"), "beyond the first few, a count: {notes}");
    // The run is on record with its rejections, and marks nothing gone.
    let run = store.sync_runs(1).await.expect("runs").remove(0);
    let on_pages = hostile().len();
    assert!(run.error.as_deref().is_some_and(|e| e.starts_with(&format!("{on_pages} records rejected (nothing marked gone)"))), "{run:?}");
    println!("{tried} hostile records tried, {} rejected and reported, 0 pages lost", r.rejected);
}

#[tokio::test]
async fn grants_out_of_range_are_rejected_with_their_reason() {
    let server = hostile_issuer(grants()).await;
    let c = connector("hostile", &server.uri());
    let kept = c.list_grants().await.expect("the listing itself is fine");
    assert_eq!(kept.iter().map(|g| g.external_id.as_str()).collect::<Vec<_>>(), ["g-ok"]);
    let rejected = c.take_rejected();
    let text: Vec<String> = rejected.iter().map(ToString::to_string).collect();
    assert_eq!(text.len(), 3, "{text:?}");
    assert!(text[0].starts_with("g-forever: ttl_seconds 9223372036854775807 is out of range"), "{text:?}");
    assert!(text[1].contains("ttl_seconds -5 is out of range"), "{text:?}");
    assert!(text[2].starts_with("g-float: ttl_seconds: invalid type: floating point"), "{text:?}");
    assert!(c.take_rejected().is_empty(), "taken once");
}

#[tokio::test]
async fn a_body_that_is_not_json_fails_the_issuer_and_keeps_earlier_pages() {
    let server = MockServer::start().await;
    Mock::given(method("GET")).and(path("/v1/owners")).respond_with(ResponseTemplate::new(404)).mount(&server).await;
    Mock::given(method("GET"))
        .and(path("/v1/credentials"))
        .and(query_param_is_missing("cursor"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"items": [good("ok-1"), json!(null)], "next_cursor": "p2"})))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/credentials"))
        .and(query_param("cursor", "p2"))
        .respond_with(ResponseTemplate::new(200).set_body_string("<html>gateway</html>"))
        .mount(&server)
        .await;
    let store = Store::open_in_memory().await.expect("store");
    let c = connector("broken", &server.uri());
    let r = sync::sync_issuer(&store, c.as_ref(), None).await;
    assert!(r.error.as_deref().is_some_and(|e| e.contains("malformed")), "{r:?}");
    assert_eq!((r.credentials, r.rejected), (1, 1), "{r:?}");
    assert!(stored(&store, "broken", "ok-1").await, "the page committed before stays");
}

/// The same credentials, their consent written in `words` (request, approve, renew).
async fn consent_issuer(words: [&str; 3]) -> MockServer {
    let server = MockServer::start().await;
    let event = |action: &str, scopes: &[&str]| json!({"at": "2026-10-30T00:00:00Z", "actor": "ana@acme.test", "action": action, "scopes": scopes});
    let items = vec![
        // Approved for less than it holds: scope-beyond-consent.
        with("c-wide", "consent", json!([event(words[0], &["repo:read"]), event(words[1], &["repo:read"])])),
        // Holds repo:read and repo:write; both approved.
        {
            let mut v = with("c-ok", "consent", json!([event(words[1], &["repo:read", "repo:write"]), event(words[2], &[])]));
            v["scopes"] = json!(["repo:read", "repo:write"]);
            v
        },
        // No consent at all: no-consent-trail.
        good("c-none"),
    ];
    let items: Vec<Value> = items
        .into_iter()
        .map(|mut v| {
            if v["id"] == "c-wide" {
                v["scopes"] = json!(["repo:read", "repo:admin"]);
            }
            v
        })
        .collect();
    Mock::given(method("GET")).and(path("/v1/owners")).respond_with(ResponseTemplate::new(404)).mount(&server).await;
    Mock::given(method("GET")).and(path("/v1/credentials")).respond_with(ResponseTemplate::new(200).set_body_json(json!({"items": items}))).mount(&server).await;
    Mock::given(method("GET")).and(path("/v1/grants")).respond_with(ResponseTemplate::new(200).set_body_json(json!({"items": []}))).mount(&server).await;
    server
}

/// Syncs `words` and returns (rule, external id) of every open finding, and the report.
async fn findings_for(words: [&str; 3]) -> (Vec<(String, String)>, sync::SyncReport) {
    let server = consent_issuer(words).await;
    let store = Store::open_in_memory().await.expect("store");
    let r = sync::sync_issuer(&store, connector("broker", &server.uri()).as_ref(), None).await;
    assert_eq!(r.error, None, "{r:?}");
    findings::recompute(&store, &Thresholds::default(), common::fixed_now()).await.expect("recompute");
    let mut open: Vec<(String, String)> =
        store.open_findings(None, 100).await.expect("findings").into_iter().map(|f| (f.rule, f.external_id)).collect();
    open.sort();
    (open, r)
}

#[tokio::test]
async fn consent_words_in_other_tenses_and_synonyms_give_the_same_findings() {
    let (canonical, _) = findings_for(["request", "approve", "renew"]).await;
    let consent_rules = |f: &[(String, String)]| f.iter().filter(|(rule, _)| rule == "scope-beyond-consent" || rule == "no-consent-trail").cloned().collect::<Vec<_>>();
    assert_eq!(
        consent_rules(&canonical),
        [("no-consent-trail".to_string(), "c-none".to_string()), ("scope-beyond-consent".to_string(), "c-wide".to_string())],
        "the corpus fires what it should"
    );
    for words in [["requested", "approved", "renewed"], ["Requested", "granted", "refreshed"], ["REQUEST", "Approval", "token-renewal"]] {
        let (other, r) = findings_for(words).await;
        if words[2] == "token-renewal" {
            // Outside the vocabulary: kept as written, counted, said.
            assert_eq!(r.unrecognised_actions, 1, "{r:?}");
            assert!(r.notes.iter().any(|n| n.starts_with("1 consent events with unrecognised actions: 'token-renewal'")), "{:?}", r.notes);
        } else {
            assert_eq!(r.unrecognised_actions, 0, "{words:?}: {r:?}");
        }
        assert_eq!(consent_rules(&other), consent_rules(&canonical), "{words:?}");
        assert_eq!(other, canonical, "{words:?}: every finding the same");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_exits_non_zero_and_names_the_rejections() {
    let server = hostile_issuer(json!({"items": []})).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("tokenward.toml");
    std::fs::write(&config, format!("[[issuer]]\nname = \"hostile\"\nkind = \"tokenward\"\nurl = \"{}\"\npage_size = 10\n", server.uri())).expect("config");
    let db = dir.path().join("t.db");
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new(common::bin())
            .arg("--config")
            .arg(&config)
            .arg("--db")
            .arg(&db)
            .arg("sync")
            .env("TOKENWARD_OPERATOR", "cli-test@acme.test")
            .output()
            .expect("runs")
    })
    .await
    .expect("joined");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(stderr.contains("hostile: done: 3 credentials, 2 pages"), "{stderr}");
    assert!(stderr.contains("hostile: rejected credential bad-scopes: scopes: invalid type"), "{stderr}");
    assert!(stderr.contains(&format!("hostile: {} records rejected, each on its own", hostile().len())), "{stderr}");
    assert!(stderr.contains(&format!("sync failed for hostile: {} records rejected", hostile().len())), "{stderr}");
}
