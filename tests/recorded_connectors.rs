//! Contract tests of the GitHub and Vault connectors against RECORDED answers
//! (tests/recordings/, shaped on each service's public API documentation; see
//! its README), served by wiremock. The real services cannot run here.
use std::time::{Duration, Instant};

use serde_json::json;
use tokenward::config::IssuerConfig;
use tokenward::connectors::{self, Connector, ConnectorError};
use tokenward::domain::{CredentialStatus, IssuerKind};
use wiremock::matchers::{body_json, header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn recording(name: &str) -> serde_json::Value {
    let p = format!("{}/tests/recordings/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{p}: {e}"))).expect("recording is JSON")
}

fn github(server: &MockServer, page_size: u32) -> Box<dyn Connector> {
    // SAFETY of the test: one env var per test binary name, read only by this connector.
    unsafe { std::env::set_var("TW_GH_TOKEN", "ghs_installation_token") };
    let cfg = IssuerConfig {
        name: "gh".into(),
        kind: IssuerKind::Github,
        url: server.uri(),
        org: Some("acme".into()),
        token_env: Some("TW_GH_TOKEN".into()),
        page_size: Some(page_size),
        timeout_s: Some(5),
        ..IssuerConfig::default()
    };
    connectors::build(&cfg).expect("github connector")
}

#[tokio::test]
async fn github_tokens_page_by_link_header_and_map_permissions() {
    let server = MockServer::start().await;
    let next = format!("{}/orgs/acme/personal-access-tokens?per_page=2&page=2", server.uri());
    Mock::given(method("GET"))
        .and(path("/orgs/acme/personal-access-tokens"))
        .and(query_param("page", "2"))
        .and(header("authorization", "Bearer ghs_installation_token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(recording("github/tokens-page2.json")))
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/orgs/acme/personal-access-tokens"))
        .and(query_param("per_page", "2"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(recording("github/tokens-page1.json"))
                .insert_header("link", format!("<{next}>; rel=\"next\", <{next}>; rel=\"last\"").as_str()),
        )
        .with_priority(2)
        .mount(&server)
        .await;
    let gh = github(&server, 2);
    let p1 = gh.list_credentials(None).await.expect("page 1");
    assert_eq!(p1.items.len(), 2);
    assert_eq!(p1.next_cursor.as_deref(), Some(next.as_str()));
    let ana = &p1.items[0];
    assert_eq!(ana.external_id, "pat-25381");
    assert_eq!(ana.owner.as_deref(), Some("octo-ana"));
    assert_eq!(ana.scopes, vec!["organization:members:read", "repository:contents:write", "repository:metadata:read"]);
    assert_eq!(ana.workload.as_deref(), Some("release-bot"));
    assert_eq!(ana.status, CredentialStatus::Active);
    let old = &p1.items[1];
    assert_eq!(old.owner.as_deref(), Some("octo-bo"));
    assert_eq!(old.status, CredentialStatus::Expired);
    assert_eq!(old.expires_at, None);
    assert!(!old.workload.as_deref().unwrap_or("").contains('\u{1b}'), "escape sequence stripped");
    let p2 = gh.list_credentials(p1.next_cursor).await.expect("page 2");
    assert_eq!(p2.items.len(), 1);
    assert_eq!(p2.next_cursor, None);
}

#[tokio::test]
async fn github_never_follows_a_link_to_another_host() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/orgs/acme/personal-access-tokens"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(recording("github/tokens-page2.json"))
                .insert_header("link", "<https://collector.evil.example/steal?page=2>; rel=\"next\""),
        )
        .mount(&server)
        .await;
    let page = github(&server, 100).list_credentials(None).await.expect("page");
    assert_eq!(page.next_cursor, None, "our token must not be sent to another host");
}

#[tokio::test]
async fn github_waits_out_a_rate_limit_and_says_so() {
    let server = MockServer::start().await;
    let reset = chrono::Utc::now().timestamp() + 1;
    Mock::given(method("GET"))
        .and(path("/orgs/acme/personal-access-token-requests"))
        .respond_with(
            ResponseTemplate::new(403)
                .set_body_json(recording("github/rate-limited.json"))
                .insert_header("x-ratelimit-remaining", "0")
                .insert_header("x-ratelimit-reset", reset.to_string().as_str()),
        )
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/orgs/acme/personal-access-token-requests"))
        .respond_with(ResponseTemplate::new(200).set_body_json(recording("github/requests.json")))
        .with_priority(2)
        .mount(&server)
        .await;
    let gh = github(&server, 100);
    let start = Instant::now();
    let grants = gh.list_grants().await.expect("grants after the wait");
    assert!(start.elapsed() >= Duration::from_millis(200) || reset <= chrono::Utc::now().timestamp());
    assert_eq!(grants.len(), 1);
    let g = &grants[0];
    assert_eq!((g.external_id.as_str(), g.requested_by.as_deref()), ("request-77", Some("octo-dee")));
    assert_eq!(g.intent.as_deref(), Some("Triage issues for the Q4 bug bash"));
    assert_eq!(g.ttl_seconds, 7 * 86_400);
    assert!(gh.notes().iter().any(|n| n.contains("rate limited by GitHub")), "the wait is reported");
}

#[tokio::test]
async fn github_revoke_and_a_422_on_review() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/orgs/acme/personal-access-tokens/25381"))
        .and(body_json(json!({"action": "revoke"})))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/orgs/acme/personal-access-token-requests/77"))
        .and(body_json(json!({"action": "approve", "reason": "bug bash, one week"})))
        .respond_with(ResponseTemplate::new(422).set_body_json(recording("github/validation-failed.json")))
        .mount(&server)
        .await;
    let gh = github(&server, 100);
    let answer = gh.revoke("pat-25381", "sec@acme.test", "leaked").await.expect("revoked");
    assert_eq!(answer.status, 204);
    assert!(matches!(gh.revoke("cred-1", "s", "r").await, Err(ConnectorError::Config { .. })), "not a GitHub id: nothing sent");
    let cfg = IssuerConfig { name: "gh".into(), kind: IssuerKind::Github, url: server.uri(), org: Some("acme".into()), ..IssuerConfig::default() };
    let org = tokenward::connectors::github::GithubOrg::new(&cfg, tokenward::connectors::HttpSettings::from_config(&cfg).expect("settings")).expect("connector");
    match org.review_request("request-77", true, "bug bash, one week").await {
        Err(ConnectorError::Rejected { status: 422, message, .. }) => assert_eq!(message, "Validation Failed: request is no longer pending"),
        other => panic!("expected a 422, got {other:?}"),
    }
}

fn vault(server: &MockServer) -> Box<dyn Connector> {
    unsafe { std::env::set_var("TW_VAULT_TOKEN", "hvs.security-team") };
    let cfg = IssuerConfig {
        name: "vault".into(),
        kind: IssuerKind::Vault,
        url: server.uri(),
        token_env: Some("TW_VAULT_TOKEN".into()),
        page_size: Some(2),
        ..IssuerConfig::default()
    };
    connectors::build(&cfg).expect("vault connector")
}

#[tokio::test]
async fn vault_accessors_become_credentials_and_revoke_by_accessor() {
    let server = MockServer::start().await;
    Mock::given(method("LIST"))
        .and(path("/v1/auth/token/accessors"))
        .and(header("x-vault-token", "hvs.security-team"))
        .respond_with(ResponseTemplate::new(200).set_body_json(recording("vault/accessors.json")))
        .expect(1)
        .mount(&server)
        .await;
    for (accessor, file, status) in [("hmac-a1", "vault/lookup-a1.json", 200), ("hmac-a2", "vault/lookup-a2.json", 200), ("hmac-gone", "vault/lookup-gone.json", 400)] {
        Mock::given(method("POST"))
            .and(path("/v1/auth/token/lookup-accessor"))
            .and(body_json(json!({ "accessor": accessor })))
            .respond_with(ResponseTemplate::new(status).set_body_json(recording(file)))
            .mount(&server)
            .await;
    }
    Mock::given(method("POST"))
        .and(path("/v1/auth/token/revoke-accessor"))
        .and(body_json(json!({"accessor": "hmac-a2"})))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    let v = vault(&server);
    let p1 = v.list_credentials(None).await.expect("page 1");
    assert_eq!(p1.next_cursor.as_deref(), Some("2"));
    let a1 = &p1.items[0];
    assert_eq!(a1.external_id, "hmac-a1");
    assert_eq!(a1.scopes, vec!["default", "payments-write"]);
    assert_eq!(a1.owner.as_deref(), Some("ana.silva@acme.test"));
    assert_eq!(a1.workload.as_deref(), Some("invoice-agent"));
    assert!(a1.expires_at.is_some());
    let root = &p1.items[1];
    assert_eq!(root.scopes, vec!["root"]);
    assert_eq!((root.owner.clone(), root.expires_at), (None, None), "a root token with no owner and no expiry");
    assert_eq!(root.workload.as_deref(), Some("token-ci-runner"));
    let p2 = v.list_credentials(p1.next_cursor).await.expect("page 2");
    assert!(p2.items.is_empty(), "an accessor revoked since the listing is skipped, not an error");
    assert_eq!(p2.next_cursor, None);
    assert_eq!(v.revoke("hmac-a2", "sec", "root token in CI").await.expect("revoked").status, 204);
}

/// GitHub token requests are approved and denied through the shared actions: a
/// request can be approved only as asked (GitHub cannot narrow), Cedar still
/// decides, and the decision reaches GitHub with the justification as its reason.
#[tokio::test]
async fn github_requests_are_decided_through_the_actions_as_asked_only() {
    use std::sync::Arc;
    use tokenward::actions::{ActionError, Actions, ApproveInput};
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/orgs/acme/personal-access-token-requests"))
        .respond_with(ResponseTemplate::new(200).set_body_json(recording("github/requests-review.json")))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/orgs/acme/personal-access-token-requests/78"))
        .and(body_json(json!({"action": "approve", "reason": "licence audit, one day"})))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/orgs/acme/personal-access-token-requests/77"))
        .and(body_json(json!({"action": "deny", "reason": "write for a week is too long: ask for one day"})))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    let gh: Arc<dyn Connector> = Arc::from(github(&server, 100));
    let store = tokenward::store::Store::open_in_memory().await.expect("store");
    store.replace_grants("gh", &gh.list_grants().await.expect("requests"), chrono::Utc::now()).await.expect("grants");
    let actions = Actions::new(store.clone(), &[gh], "oncall@acme.test", false);
    let approve = |scopes: Option<Vec<String>>, ttl: Option<i64>, grant: &str, why: &str| ApproveInput {
        grant: grant.into(),
        scopes,
        ttl_seconds: ttl,
        binding: None,
        justification: why.into(),
    };

    // Narrower or shorter cannot be done at GitHub: refused before anything is sent.
    let shorter = actions.approve(&approve(None, Some(3600), "request-78", "x")).await.expect_err("GitHub cannot shorten");
    assert!(matches!(&shorter, ActionError::Input(m) if m.contains("exactly as asked")), "{shorter}");
    // Cedar still decides: write for 7 days is over the 8 h ceiling for write scopes.
    let too_long = actions.approve(&approve(None, None, "request-77", "x")).await.expect_err("policy");
    assert!(matches!(&too_long, ActionError::Policy(m) if m.contains("max-ttl-write")), "{too_long}");
    let verdict = actions.verdict_as_asked(&store.grant("request-77").await.expect("grant")).await.expect("verdict");
    assert!(!verdict.allowed);

    let ok = actions.approve(&approve(None, None, "request-78", "licence audit, one day")).await.expect("approved as asked");
    assert_eq!(ok.status, tokenward::domain::GrantStatus::Approved);
    assert_eq!(ok.issuer_answer.status, 204);
    let denied = actions.deny("request-77", "write for a week is too long: ask for one day").await.expect("denied");
    assert_eq!(denied.status, tokenward::domain::GrantStatus::Denied);
    let log = store.audit_for_target(&format!("grant:{}", ok.grant_id), 10).await.expect("audit");
    assert!(log.iter().any(|e| e.action == "approve" && e.actor == "oncall@acme.test"), "{log:?}");
}

/// A GitHub request names its requester by login; the directory lists the login
/// as an alias of the person's email, or the operator's `[operators]` entry lists
/// it: either way the operator is the requester and may not approve their own
/// request, and nothing reaches GitHub. Another approver may.
#[tokio::test]
async fn a_github_requester_is_matched_to_the_operator_through_their_login_aliases() {
    use std::sync::Arc;
    use tokenward::actions::{ActionError, Actions, ApproveInput};
    use tokenward::config::OperatorConfig;
    use tokenward::domain::{Owner, OwnerStatus};
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/orgs/acme/personal-access-token-requests"))
        .respond_with(ResponseTemplate::new(200).set_body_json(recording("github/requests-review.json")))
        .mount(&server)
        .await;
    // Exactly one approval reaches GitHub: the other approver's, not the two self-approvals.
    Mock::given(method("POST")).and(path("/orgs/acme/personal-access-token-requests/78")).respond_with(ResponseTemplate::new(204)).expect(1).mount(&server).await;
    let gh: Arc<dyn Connector> = Arc::from(github(&server, 100));
    let store = tokenward::store::Store::open_in_memory().await.expect("store");
    store.replace_grants("gh", &gh.list_grants().await.expect("requests"), chrono::Utc::now()).await.expect("grants");
    assert_eq!(store.grant("request-78").await.expect("grant").requested_by.as_deref(), Some("octo-lee"));
    let person = |email: &str, alias_of: Option<&str>| Owner {
        email: email.into(),
        name: Some("Lee".into()),
        team: None,
        status: OwnerStatus::Active,
        source: Some("directory".into()),
        offboarded_at: None,
        alias_of: alias_of.map(str::to_string),
    };
    store.ingest_owners("directory", &[person("octo-lee", Some("lee@acme.test")), person("lee@acme.test", None)], chrono::Utc::now(), true).await.expect("directory");
    assert_eq!(store.identities(&["lee@acme.test".into()]).await.expect("names"), ["lee@acme.test", "octo-lee"]);
    assert_eq!(store.identities(&["OCTO-LEE".into()]).await.expect("names"), ["lee@acme.test", "octo-lee"]);

    let approvers = |aliases: &[&str]| {
        let me = |aliases: Vec<String>| OperatorConfig { roles: vec!["approver".into()], aliases, ..OperatorConfig::default() };
        [("lee@acme.test", me(Vec::new())), ("lee.ops@acme.test", me(aliases.iter().map(|a| a.to_string()).collect())), ("oncall@acme.test", me(Vec::new()))]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect()
    };
    let as_operator = |who: &str| {
        let engine = tokenward::policy::PolicyEngine::default_engine().expect("policies");
        Actions::new(store.clone(), std::slice::from_ref(&gh), who, false).with_governance(engine, approvers(&["OCTO-LEE"]))
    };
    let ask = ApproveInput { grant: "request-78".into(), justification: "licence audit, one day".into(), ..ApproveInput::default() };

    // Through the directory: lee@acme.test is octo-lee.
    let by_directory = as_operator("lee@acme.test").approve(&ask).await.expect_err("own request");
    assert!(matches!(&by_directory, ActionError::Policy(m) if m.contains("no-self-approval")), "{by_directory}");
    // Through the operator's own entry: a second identity that lists the login.
    let by_config = as_operator("lee.ops@acme.test").approve(&ask).await.expect_err("own request");
    assert!(matches!(&by_config, ActionError::Policy(m) if m.contains("no-self-approval")), "{by_config}");
    let verdict = as_operator("lee.ops@acme.test").verdict_as_asked(&store.grant("request-78").await.expect("grant")).await.expect("verdict");
    assert!(!verdict.allowed, "the queue shows the refusal too: {verdict:?}");

    let ok = as_operator("oncall@acme.test").approve(&ask).await.expect("another approver may");
    assert_eq!(ok.status, tokenward::domain::GrantStatus::Approved);
    let log = store.audit_for_target(&format!("grant:{}", ok.grant_id), 10).await.expect("audit");
    let refused: Vec<&str> = log.iter().filter(|e| e.action == "approve.refused").map(|e| e.actor.as_str()).collect();
    println!("GitHub self-approvals refused through login aliases: {refused:?}; approved by {}", ok.policy.map(|_| "oncall@acme.test").unwrap_or_default());
    assert_eq!(refused.len(), 2, "{log:?}");
}
