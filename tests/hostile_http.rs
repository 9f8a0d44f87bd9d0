//! HTTP that cannot be turned: no redirect is followed (so no credential is
//! re-sent elsewhere), plain http only to loopback unless a lab allows it,
//! OAuth discovery believed only on the issuer's origin, bodies capped while read.
use serde_json::json;
use tokenward::config::IssuerConfig;
use tokenward::connectors::{self, http::MAX_BODY, Connector, ConnectorError};
use tokenward::domain::IssuerKind;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use wiremock::matchers::{any, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn issuer(kind: IssuerKind, url: &str, token_env: &str) -> IssuerConfig {
    IssuerConfig {
        name: "hostile".into(),
        kind,
        url: url.into(),
        token_env: Some(token_env.into()),
        org: Some("acme".into()),
        client_id: Some("security-team".into()),
        client_secret_env: Some(token_env.into()),
        timeout_s: Some(5),
        ..IssuerConfig::default()
    }
}

fn build(kind: IssuerKind, url: &str) -> Box<dyn Connector> {
    // SAFETY of the test: one variable, always set to the same value, by every test of this binary.
    unsafe { std::env::set_var("TW_HOSTILE_SECRET", "s3cret-credential") };
    connectors::build(&issuer(kind, url, "TW_HOSTILE_SECRET")).expect("connector")
}

/// A server that must never be called: it would receive our credentials.
async fn collector() -> MockServer {
    let evil = MockServer::start().await;
    Mock::given(any()).respond_with(ResponseTemplate::new(200).set_body_json(json!({}))).expect(0).mount(&evil).await;
    evil
}

async fn redirecting_to(target: &MockServer) -> MockServer {
    let server = MockServer::start().await;
    let location = format!("{}/steal?from=redirect", target.uri());
    Mock::given(any()).respond_with(ResponseTemplate::new(302).insert_header("location", location.as_str())).mount(&server).await;
    server
}

fn assert_redirect_refused<T: std::fmt::Debug>(r: Result<T, ConnectorError>, evil: &MockServer) {
    match r {
        Err(ConnectorError::Rejected { status: 302, message, .. }) => {
            assert!(message.contains(&evil.uri()) && message.contains("not followed"), "{message}");
            assert!(!message.contains("steal"), "only the origin is named: {message}");
        }
        other => panic!("expected a refused redirect, got {other:?}"),
    }
}

#[tokio::test]
async fn a_redirect_is_never_followed_by_any_connector() {
    for kind in [IssuerKind::Tokenward, IssuerKind::Scim, IssuerKind::Github, IssuerKind::Vault] {
        let evil = collector().await;
        let server = redirecting_to(&evil).await;
        let c = build(kind, &server.uri());
        if kind == IssuerKind::Scim {
            assert_redirect_refused(c.list_owners(None).await.map(|p| p.items.len()), &evil);
        } else {
            assert_redirect_refused(c.list_credentials(None).await.map(|p| p.items.len()), &evil);
            assert_redirect_refused(c.revoke("pat-1", "sec@acme.test", "leaked").await, &evil);
        }
        let received = evil.received_requests().await.unwrap_or_default();
        assert!(received.is_empty(), "{kind:?} followed a redirect: {received:?}");
        // wiremock checks `expect(0)` again when `evil` drops.
    }
}

#[tokio::test]
async fn a_leaked_token_in_a_triage_form_is_not_redirected() {
    let evil = collector().await;
    let server = redirecting_to(&evil).await;
    let mut cfg = issuer(IssuerKind::Oauth, &server.uri(), "TW_HOSTILE_SECRET");
    cfg.introspection_url = Some(format!("{}/introspect", server.uri()));
    cfg.revocation_url = Some(format!("{}/revoke", server.uri()));
    unsafe { std::env::set_var("TW_HOSTILE_SECRET", "s3cret-credential") };
    let oauth = connectors::build(&cfg).expect("oauth");
    assert_redirect_refused(oauth.introspect(&"leaked-token-value".into()).await, &evil);
    assert_redirect_refused(oauth.revoke_token(&"leaked-token-value".into()).await, &evil);
    assert!(evil.received_requests().await.unwrap_or_default().is_empty(), "no Authorization, no token form reached the other host");
}

#[test]
fn plain_http_is_refused_unless_loopback_or_a_lab_says_so() {
    unsafe { std::env::set_var("TW_HOSTILE_SECRET", "s3cret-credential") };
    for url in ["http://vault.acme.test:8200", "http://10.0.0.7", "http://[2001:db8::1]:80"] {
        match connectors::build(&issuer(IssuerKind::Vault, url, "TW_HOSTILE_SECRET")) {
            Err(ConnectorError::Config { message, .. }) => assert!(message.contains("plain http") && message.contains("https"), "{message}"),
            Err(other) => panic!("{url}: wrong error {other}"),
            Ok(_) => panic!("{url}: plain http to a remote host was accepted"),
        }
    }
    for url in ["https://vault.acme.test", "http://127.0.0.1:8200", "http://127.8.9.1", "http://localhost:8200", "http://[::1]:8200"] {
        assert!(connectors::build(&issuer(IssuerKind::Vault, url, "TW_HOSTILE_SECRET")).is_ok(), "{url} must be allowed");
    }
    let lab = IssuerConfig { allow_http: Some(true), ..issuer(IssuerKind::Vault, "http://vault.lab.test", "TW_HOSTILE_SECRET") };
    assert!(connectors::build(&lab).is_ok(), "allow_http = true lets a lab use plain http");
    let mut oauth = issuer(IssuerKind::Oauth, "https://idp.acme.test", "TW_HOSTILE_SECRET");
    oauth.introspection_url = Some("http://idp.acme.test/introspect".into());
    assert!(matches!(connectors::build(&oauth), Err(ConnectorError::Config { message, .. }) if message.contains("introspection_url")));
}

#[test]
fn config_check_warns_of_allow_http_and_names_plain_http() {
    let text = "[[issuer]]\nname = \"lab\"\nkind = \"vault\"\nurl = \"http://vault.lab.test\"\nallow_http = true\n\n[[issuer]]\nname = \"prod\"\nkind = \"vault\"\nurl = \"http://vault.acme.test\"\n\n[[issuer]]\nname = \"local\"\nkind = \"vault\"\nurl = \"http://127.0.0.1:8200\"\n";
    let problems = tokenward::config::Config::check(text);
    let lab: Vec<_> = problems.iter().filter(|p| p.line == Some(1)).collect();
    assert_eq!(lab.len(), 1, "{problems:?}");
    assert!(lab[0].is_warning() && lab[0].message.contains("allow_http") && lab[0].message.contains("plain http"), "{lab:?}");
    assert!(problems.iter().any(|p| p.line == Some(7) && !p.is_warning() && p.message.contains("not loopback")), "{problems:?}");
    assert!(!problems.iter().any(|p| p.line == Some(12)), "loopback is fine: {problems:?}");
}

#[tokio::test]
async fn discovered_oauth_endpoints_must_be_on_the_issuers_origin() {
    let evil = collector().await;
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/.well-known/oauth-authorization-server"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "issuer": server.uri(),
            "introspection_endpoint": format!("{}/introspect", evil.uri()),
            "revocation_endpoint": "http://idp.evil.test/revoke",
        })))
        .mount(&server)
        .await;
    let oauth = build(IssuerKind::Oauth, &server.uri());
    match oauth.introspect(&"leaked-token-value".into()).await {
        Err(ConnectorError::Config { message, .. }) => {
            assert!(message.contains("introspection endpoint") && message.contains(&evil.uri()) && message.contains("not the issuer's origin"), "{message}")
        }
        other => panic!("expected a refused endpoint, got {other:?}"),
    }
    assert!(evil.received_requests().await.unwrap_or_default().is_empty());

    // Endpoints on the issuer's own origin are used.
    let good = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/.well-known/oauth-authorization-server"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "introspection_endpoint": format!("{}/oauth/introspect", good.uri()),
            "revocation_endpoint": format!("{}/oauth/revoke", good.uri()),
        })))
        .mount(&good)
        .await;
    Mock::given(method("POST")).and(path("/oauth/introspect")).respond_with(ResponseTemplate::new(200).set_body_json(json!({"active": false}))).expect(1).mount(&good).await;
    assert!(!build(IssuerKind::Oauth, &good.uri()).introspect(&"t".into()).await.expect("introspected").active);
}

#[tokio::test]
async fn a_body_over_the_cap_is_refused() {
    let server = MockServer::start().await;
    let huge = format!("{{\"credentials\": [], \"pad\": \"{}\"}}", "x".repeat(MAX_BODY + 4 * 1024 * 1024));
    Mock::given(any()).respond_with(ResponseTemplate::new(200).set_body_raw(huge, "application/json")).mount(&server).await;
    for kind in [IssuerKind::Tokenward, IssuerKind::Github] {
        match build(kind, &server.uri()).list_credentials(None).await {
            Err(ConnectorError::Malformed { message, .. }) => assert!(message.contains("larger than"), "{message}"),
            other => panic!("{kind:?}: expected the cap, got {:?}", other.map(|p| p.items.len())),
        }
    }
}

/// An answer that never ends, sent chunked with no length: only a reader that
/// stops at the cap returns at all (one that buffers first would time out).
async fn endless_server() -> (String, tokio::task::JoinHandle<usize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let task = tokio::spawn(async move {
        let Ok((mut sock, _)) = listener.accept().await else { return 0 };
        let mut head = Vec::new();
        let mut buf = [0u8; 4096];
        while !head.windows(4).any(|w| w == b"\r\n\r\n") {
            match sock.read(&mut buf).await {
                Ok(0) | Err(_) => return 0,
                Ok(n) => head.extend_from_slice(&buf[..n]),
            }
        }
        let header = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n";
        if sock.write_all(header).await.is_err() {
            return 0;
        }
        let chunk = [b"10000\r\n".as_slice(), &[b' '; 0x10000], b"\r\n"].concat();
        let mut sent = 0;
        while sock.write_all(&chunk).await.is_ok() {
            sent += 0x10000;
        }
        sent
    });
    (url, task)
}

#[tokio::test]
async fn an_endless_body_is_cut_off_at_the_cap_while_reading() {
    for kind in [IssuerKind::Tokenward, IssuerKind::Github, IssuerKind::Vault] {
        let (url, sender) = endless_server().await;
        let started = std::time::Instant::now();
        match build(kind, &url).list_credentials(None).await {
            Err(ConnectorError::Malformed { message, .. }) => assert!(message.contains("larger than"), "{kind:?}: {message}"),
            other => panic!("{kind:?}: expected the cap, got {:?}", other.map(|p| p.items.len())),
        }
        assert!(started.elapsed() < std::time::Duration::from_secs(5), "{kind:?}: stopped by the cap, not the timeout");
        let sent = sender.await.expect("sender");
        assert!((MAX_BODY..MAX_BODY + 16 * 1024 * 1024).contains(&sent), "{kind:?}: the reader stopped soon after the cap ({sent} bytes sent)");
    }
}

#[tokio::test]
async fn vaults_token_type_is_cleaned_before_the_store() {
    let server = MockServer::start().await;
    Mock::given(method("LIST"))
        .and(path("/v1/auth/token/accessors"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"data": {"keys": ["hmac-x"]}})))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1/auth/token/lookup-accessor"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"data": {"accessor": "hmac-x", "policies": ["default"], "type": "service\u{1b}]52;c;aGk=\u{7}\u{202E}\u{E0041}"}})))
        .mount(&server)
        .await;
    let page = build(IssuerKind::Vault, &server.uri()).list_credentials(None).await.expect("page");
    let audience = &page.items[0].audience[0];
    assert_eq!(audience, "vault:service]52;c;aGk=");
}
