//! Every findings rule, each with a planted case that must fire and a near miss
//! that must not, over a real (in-memory) store; then open/close across runs.
use chrono::{Duration, TimeZone, Utc};
use tokenward::config::Thresholds;
use tokenward::domain::{Binding, ConsentEvent, Credential, CredentialKind, CredentialStatus, Owner, OwnerStatus, Task, Timestamp, UsageEvent};
use tokenward::findings;
use tokenward::store::Store;

fn now() -> Timestamp {
    Utc.with_ymd_and_hms(2026, 11, 24, 12, 0, 0).unwrap()
}

/// A healthy agent credential: owned by an active person, short-lived, bound,
/// used recently by its own workload from one origin, consented as it stands.
fn healthy(id: &str) -> Credential {
    let issued = now() - Duration::hours(2);
    Credential {
        id: id.into(),
        issuer: "t".into(),
        external_id: id.into(),
        kind: CredentialKind::AccessToken,
        fingerprint: None,
        client_id: Some("deploy-bot".into()),
        subject: None,
        workload: Some("deploy-bot".into()),
        owner: Some("ana@acme.test".into()),
        scopes: vec!["repo:read".into()],
        audience: vec![],
        binding: Binding::Dpop,
        issued_at: Some(issued),
        expires_at: Some(issued + Duration::hours(8)),
        last_used_at: Some(now() - Duration::minutes(5)),
        status: CredentialStatus::Active,
        task: None,
        parent_id: None,
        act_chain: vec![],
        consent: vec![
            ConsentEvent { at: issued - Duration::minutes(2), actor: "ana@acme.test".into(), action: "request".into(), scopes: vec!["repo:read".into()], note: None },
            ConsentEvent { at: issued - Duration::minutes(1), actor: "bo@acme.test".into(), action: "approve".into(), scopes: vec!["repo:read".into()], note: None },
        ],
        usage: vec![
            UsageEvent { at: now() - Duration::minutes(5), workload: Some("deploy-bot".into()), origin: Some("k8s:prod-eu-1".into()) },
            UsageEvent { at: now() - Duration::minutes(50), workload: Some("deploy-bot".into()), origin: Some("k8s:prod-eu-1".into()) },
        ],
    }
}

fn person(email: &str, status: OwnerStatus) -> Owner {
    Owner {
        email: email.into(),
        name: None,
        team: None,
        status,
        source: Some("dir".into()),
        offboarded_at: (status == OwnerStatus::Offboarded).then(|| now() - Duration::days(3)),
        alias_of: None,
    }
}

/// Loads the credentials beside the people and runs every rule; returns the open (rule, credential) pairs.
async fn run(creds: Vec<Credential>) -> (Store, Vec<(String, String, String)>) {
    let store = Store::open_in_memory().await.expect("store");
    store
        .ingest_owners(
            "dir",
            &[person("ana@acme.test", OwnerStatus::Active), person("bo@acme.test", OwnerStatus::Active), person("lea@acme.test", OwnerStatus::Offboarded)],
            now(),
            true,
        )
        .await
        .expect("owners");
    let run = store.begin_sync_run("t", now()).await.expect("run");
    store.ingest_credential_page(run.id, now(), &creds, 1, None).await.expect("ingest");
    findings::recompute(&store, &Thresholds::default(), now()).await.expect("recompute");
    let open = store.open_findings(None, 1000).await.expect("findings").into_iter().map(|f| (f.rule, f.credential_id, f.summary)).collect();
    (store, open)
}

/// The rule fires on `hit` (and its summary says `says`) and not on `miss`.
async fn fires(rule: &str, hit: Credential, miss: Credential, says: &str) {
    let (_, open) = run(vec![hit, miss, healthy("ok")]).await;
    let mine: Vec<_> = open.iter().filter(|(r, _, _)| r == rule).collect();
    assert_eq!(mine.iter().map(|(_, c, _)| c.as_str()).collect::<Vec<_>>(), ["hit"], "{rule}: {open:?}");
    assert!(mine[0].2.contains(says), "{rule} summary: {}", mine[0].2);
    assert!(!open.iter().any(|(_, c, _)| c == "ok"), "the healthy credential has no finding: {open:?}");
}

#[tokio::test]
async fn owner_offboarded() {
    let mut hit = healthy("hit");
    hit.owner = Some("lea@acme.test".into());
    // Near miss: the same person's credential already revoked.
    let mut miss = hit.clone();
    miss.id = "miss".into();
    miss.external_id = "miss".into();
    miss.status = CredentialStatus::Revoked;
    fires("owner-offboarded", hit, miss, "owner lea@acme.test left on 2026-11-21").await;
}

#[tokio::test]
async fn owner_missing() {
    let mut hit = healthy("hit");
    hit.owner = Some("contractor7@partner.example".into());
    let mut miss = healthy("miss");
    miss.owner = Some("bo@acme.test".into());
    fires("owner-missing", hit, miss, "unknown to the directory").await;
    let mut none = healthy("hit");
    none.owner = None;
    fires("owner-missing", none, healthy("miss"), "no owner on record").await;
}

#[tokio::test]
async fn stale_unused() {
    let mut hit = healthy("hit");
    hit.last_used_at = Some(now() - Duration::days(120));
    hit.usage.clear();
    hit.expires_at = None;
    hit.kind = CredentialKind::ApiKey;
    let mut miss = hit.clone();
    miss.id = "miss".into();
    miss.external_id = "miss".into();
    miss.last_used_at = Some(now() - Duration::days(80));
    fires("stale-unused", hit, miss, "unused for 120d").await;
}

#[tokio::test]
async fn long_lived() {
    // Write scopes: at most 30 days by default.
    let mut hit = healthy("hit");
    hit.scopes = vec!["repo:write".into()];
    hit.consent[1].scopes = hit.scopes.clone();
    hit.expires_at = Some(hit.issued_at.unwrap() + Duration::days(90));
    let mut miss = hit.clone();
    miss.id = "miss".into();
    miss.external_id = "miss".into();
    miss.expires_at = Some(miss.issued_at.unwrap() + Duration::days(29));
    fires("long-lived", hit, miss, "lifetime 90d on write scopes (policy maximum 30d)").await;
}

#[tokio::test]
async fn long_lived_measures_a_key_that_never_expires_by_its_age() {
    // A cloud access key or PAT never expires: it is too old once its age passes its class's
    // maximum (read scopes: 90 days by default), beside the no-expiry finding it also has.
    let mut hit = healthy("hit");
    hit.kind = CredentialKind::ApiKey;
    hit.issued_at = Some(now() - Duration::days(120));
    hit.expires_at = None;
    let mut miss = hit.clone();
    miss.id = "miss".into();
    miss.external_id = "miss".into();
    miss.issued_at = Some(now() - Duration::days(80));
    fires("long-lived", hit, miss, "never expires; age 120d on read scopes (policy maximum 90d)").await;
}

#[tokio::test]
async fn no_expiry() {
    let mut hit = healthy("hit");
    hit.expires_at = None;
    let mut miss = healthy("miss");
    miss.expires_at = Some(now() + Duration::days(1));
    fires("no-expiry", hit, miss, "never expires").await;
}

#[tokio::test]
async fn bearer_sensitive() {
    let mut hit = healthy("hit");
    hit.binding = Binding::Bearer;
    hit.scopes = vec!["payments:read".into()];
    hit.consent[1].scopes = hit.scopes.clone();
    // Near miss: the same sensitive scope, bound with DPoP; and a bearer token on a plain read.
    let mut miss = hit.clone();
    miss.id = "miss".into();
    miss.external_id = "miss".into();
    miss.binding = Binding::Dpop;
    fires("bearer-sensitive", hit.clone(), miss, "bearer (unbound) token holding payments:read").await;
    let mut plain = healthy("miss");
    plain.binding = Binding::Bearer;
    fires("bearer-sensitive", hit, plain, "payments:read").await;
}

#[tokio::test]
async fn shared_across_workloads() {
    let mut hit = healthy("hit");
    hit.usage = vec![
        UsageEvent { at: now() - Duration::minutes(5), workload: Some("deploy-bot".into()), origin: Some("k8s:prod-eu-1".into()) },
        UsageEvent { at: now() - Duration::hours(3), workload: Some("crm-sync".into()), origin: Some("203.0.113.50".into()) },
        UsageEvent { at: now() - Duration::hours(5), workload: Some("data-etl".into()), origin: Some("203.0.113.50".into()) },
    ];
    // Near miss: another workload used it, but weeks before the latest use (outside the 24 h window).
    let mut miss = healthy("miss");
    miss.usage.push(UsageEvent { at: now() - Duration::days(20), workload: Some("crm-sync".into()), origin: Some("10.0.9.3".into()) });
    fires("shared-across-workloads", hit, miss, "used by 3 workloads from 2 origins in 24h").await;
}

#[tokio::test]
async fn used_after_task() {
    let mut hit = healthy("hit");
    hit.task = Some(Task { id: "task-42".into(), intent: Some("deploy".into()), ended_at: Some(now() - Duration::hours(1)) });
    let mut miss = healthy("miss");
    miss.task = Some(Task { id: "task-43".into(), intent: None, ended_at: Some(now() - Duration::minutes(1)) });
    fires("used-after-task", hit, miss, "used 55m after its task task-42 ended").await;
}

#[tokio::test]
async fn scope_beyond_consent() {
    let mut hit = healthy("hit");
    hit.scopes = vec!["repo:read".into(), "admin:org".into()];
    hit.binding = Binding::Mtls;
    // Near miss: admin:org was granted by a second approval.
    let mut miss = hit.clone();
    miss.id = "miss".into();
    miss.external_id = "miss".into();
    miss.consent.push(ConsentEvent { at: now() - Duration::hours(1), actor: "bo@acme.test".into(), action: "approve".into(), scopes: vec!["admin:org".into()], note: None });
    let (_, open) = run(vec![hit, miss]).await;
    let beyond: Vec<_> = open.iter().filter(|(r, _, _)| r == "scope-beyond-consent").collect();
    assert_eq!(beyond.len(), 1, "{open:?}");
    assert_eq!((beyond[0].1.as_str(), beyond[0].2.as_str()), ("hit", "holds admin:org that no approval granted"));
}

#[tokio::test]
async fn silent_renewal() {
    let renew = |minutes_ago: i64| ConsentEvent { at: now() - Duration::minutes(minutes_ago), actor: "deploy-bot".into(), action: "renew".into(), scopes: vec![], note: None };
    let mut hit = healthy("hit");
    hit.consent.extend([renew(60), renew(59), renew(58)]);
    // Near miss: three renewals, but a fresh approval after the second.
    let mut miss = healthy("miss");
    miss.consent.extend([renew(60), renew(59)]);
    miss.consent.push(ConsentEvent { at: now() - Duration::minutes(30), actor: "bo@acme.test".into(), action: "approve".into(), scopes: vec!["repo:read".into()], note: None });
    miss.consent.push(renew(10));
    fires("silent-renewal", hit, miss, "renewed 3 times since the last consent").await;
}

#[tokio::test]
async fn no_consent_trail() {
    let mut hit = healthy("hit");
    hit.consent.clear();
    // Near miss: a person's own personal access token has no agent consent to record.
    let mut miss = hit.clone();
    miss.id = "miss".into();
    miss.external_id = "miss".into();
    miss.kind = CredentialKind::PersonalAccessToken;
    fires("no-consent-trail", hit, miss, "no request or approval on record").await;
}

#[tokio::test]
async fn human_use() {
    let mut hit = healthy("hit");
    hit.usage.push(UsageEvent { at: now() - Duration::minutes(20), workload: Some("ana@acme.test".into()), origin: Some("laptop:ana-mbp".into()) });
    let mut miss = healthy("miss");
    miss.kind = CredentialKind::PersonalAccessToken;
    miss.usage.push(UsageEvent { at: now() - Duration::minutes(20), workload: Some("ana@acme.test".into()), origin: Some("laptop:ana-mbp".into()) });
    fires("human-use", hit, miss, "used interactively by ana@acme.test from laptop:ana-mbp").await;
}

#[tokio::test]
async fn findings_keep_first_seen_and_close_when_the_condition_goes_away() {
    let mut c = healthy("hit");
    c.expires_at = None;
    let (store, open) = run(vec![c.clone()]).await;
    assert!(open.iter().any(|(r, id, _)| r == "no-expiry" && id == "hit"));
    let first = store.open_findings(Some("no-expiry"), 10).await.expect("findings")[0].first_seen.clone();
    // Seen again an hour later: still open, first seen unchanged.
    let later = now() + Duration::hours(1);
    let report = findings::recompute(&store, &Thresholds::default(), later).await.expect("recompute");
    assert_eq!((report.opened, report.closed), (0, 0));
    let again = store.open_findings(Some("no-expiry"), 10).await.expect("findings");
    assert_eq!((again[0].first_seen.clone(), again[0].last_seen.clone()), (first, tokenward::domain::fmt_ts(&later)));
    // The issuer now reports an expiry: the finding closes.
    c.expires_at = Some(now() + Duration::hours(4));
    let run2 = store.begin_sync_run("t", later).await.expect("run");
    store.ingest_credential_page(run2.id, later, &[c], 1, None).await.expect("ingest");
    let report = findings::recompute(&store, &Thresholds::default(), later + Duration::minutes(1)).await.expect("recompute");
    assert_eq!(report.closed, 1, "{report:?}");
    assert!(store.open_findings(Some("no-expiry"), 10).await.expect("findings").is_empty());
    // A filter sees open findings only.
    let q = tokenward::filter::parse("finding:no-expiry").expect("parse");
    assert_eq!(store.count(&q, later).await.expect("count"), 0);
}
