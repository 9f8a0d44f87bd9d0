//! Raw secrets never kept: a protocol-v1 issuer and an OAuth server that echo
//! the bearer token, the client secret and a leaked token back in every answer;
//! a sync with the token from an environment variable, a revocation, a queued
//! revocation, an approval and a triage through the CLI. Then the database, its
//! WAL, the audit rows, the outbox, every command's output and the Debug of the
//! configuration are searched for each raw secret: zero hits.
use std::path::Path;

use serde_json::{json, Value};
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

mod common;

const ISSUER_TOKEN: &str = "twk_bearer_Zx81Kq0pLm2Vb7Nc4Ty6Rw3Ue5Io9Pa";
const CLIENT_SECRET: &str = "oauth-client-Secret-9f8e7d6c5b4a3210Zz";
const LEAKED: &str = "ghp_Leak3dT0kenAbCdEfGhIjKlMnOpQrStUv12";
const JWT: &str = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhZ2VudC14IiwiZXhwIjo5OTk5fQ.c2lnbmF0dXJlLW9mLXRoZS1pc3N1ZXI";
const SECRETS: [&str; 4] = [ISSUER_TOKEN, CLIENT_SECRET, LEAKED, JWT];
const TOKEN_ENV: &str = "TW_SECRETS_TEST_TOKEN";

/// What a careless issuer says back: every secret it has seen, in the shapes they travel in.
fn echo(status: &str) -> Value {
    json!({
        "status": status,
        "seen": format!("Authorization: Bearer {ISSUER_TOKEN}"),
        "token": LEAKED,
        "client": format!("sec-team:{CLIENT_SECRET}"),
        "issued": JWT,
    })
}

fn credential(id: &str, fingerprint: Option<String>) -> Value {
    json!({"id": id, "kind": "access_token", "fingerprint": fingerprint, "owner": "dev@acme.test", "workload": "agent-x",
        "scopes": ["repo:read"], "binding": "bearer", "status": "active"})
}

async fn broker() -> MockServer {
    let server = MockServer::start().await;
    let auth = format!("Bearer {ISSUER_TOKEN}");
    let leaked = credential("c-leaked", Some(tokenward::domain::fingerprint(LEAKED.as_bytes())));
    let down = credential("c-down", None);
    let grant = json!({"id": "g-1", "workload": "agent-x", "requested_by": "dev@acme.test", "scopes": ["repo:read"],
        "ttl_seconds": 3600, "binding": "bearer", "status": "pending"});
    Mock::given(method("GET")).and(path("/v1/owners")).respond_with(ResponseTemplate::new(404)).mount(&server).await;
    Mock::given(method("GET"))
        .and(path("/v1/credentials"))
        .and(header("authorization", auth.as_str()))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"items": [leaked, down], "next_cursor": null})))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/grants"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"items": [grant.clone()]})))
        .mount(&server)
        .await;
    Mock::given(method("POST")).and(path("/v1/credentials/c-leaked/revoke")).respond_with(ResponseTemplate::new(200).set_body_json(echo("revoked"))).mount(&server).await;
    let unavailable = json!({"error": format!("unavailable; you sent Bearer {ISSUER_TOKEN} for {LEAKED}")});
    Mock::given(method("POST")).and(path("/v1/credentials/c-down/revoke")).respond_with(ResponseTemplate::new(503).set_body_json(unavailable)).mount(&server).await;
    let mut approved = echo("approved");
    approved["grant"] = json!({"id": "g-1", "ttl_seconds": 3600, "binding": "bearer", "status": "approved", "scopes": ["repo:read"]});
    approved["credential_id"] = json!("c-new");
    Mock::given(method("POST")).and(path("/v1/grants/g-1/approve")).respond_with(ResponseTemplate::new(200).set_body_json(approved)).mount(&server).await;
    server
}

async fn oauth() -> MockServer {
    let server = MockServer::start().await;
    let mut active = echo("introspected");
    active["active"] = json!(true);
    active["sub"] = json!(LEAKED);
    active["client_id"] = json!(format!("Bearer {LEAKED}"));
    // Active until revoked, inactive after: the first answer once, then the fallback.
    Mock::given(method("POST")).and(path("/introspect")).respond_with(ResponseTemplate::new(200).set_body_json(active)).up_to_n_times(1).with_priority(1).mount(&server).await;
    Mock::given(method("POST")).and(path("/introspect")).respond_with(ResponseTemplate::new(200).set_body_json(json!({"active": false}))).with_priority(2).mount(&server).await;
    Mock::given(method("POST")).and(path("/revoke")).respond_with(ResponseTemplate::new(200).set_body_json(echo("revoked"))).mount(&server).await;
    server
}

struct Run {
    outputs: Vec<(String, Vec<u8>)>,
}

impl Run {
    /// Runs the binary with the token in the environment, records stdout and stderr.
    async fn tw(&mut self, dir: &Path, args: &[&str], stdin: Option<&str>) -> std::process::Output {
        let (dir, args, stdin) = (dir.to_path_buf(), args.iter().map(|s| s.to_string()).collect::<Vec<_>>(), stdin.map(str::to_string));
        let label = args.join(" ");
        let out = tokio::task::spawn_blocking(move || {
            use std::io::Write;
            let mut child = std::process::Command::new(common::bin())
                .arg("--config")
                .arg(dir.join("tokenward.toml"))
                .arg("--db")
                .arg(dir.join("t.db"))
                .args(&args)
                .env(TOKEN_ENV, ISSUER_TOKEN)
                .env("TOKENWARD_OPERATOR", "sec@acme.test")
                .env_remove("TOKENWARD_CONFIG")
                .stdin(std::process::Stdio::piped())
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .expect("spawns");
            if let (Some(mut pipe), Some(text)) = (child.stdin.take(), stdin) {
                pipe.write_all(text.as_bytes()).expect("stdin");
            }
            child.wait_with_output().expect("runs")
        })
        .await
        .expect("joined");
        self.outputs.push((format!("stdout of {label}"), out.stdout.clone()));
        self.outputs.push((format!("stderr of {label}"), out.stderr.clone()));
        out
    }
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_raw_secret_survives_the_scenarios() {
    let (broker, oauth) = (broker().await, oauth().await);
    let dir = tempfile::tempdir().expect("tempdir");
    let secret_file = dir.path().join("client-secret");
    std::fs::write(&secret_file, format!("{CLIENT_SECRET}\n")).expect("secret file");
    let config = format!(
        "[[issuer]]\nname = \"broker\"\nkind = \"tokenward\"\nurl = \"{b}\"\ntoken_env = \"{TOKEN_ENV}\"\n\n\
         [[issuer]]\nname = \"idp\"\nkind = \"oauth\"\nurl = \"{o}\"\nclient_id = \"sec-team\"\nclient_secret_file = \"{f}\"\n\
         introspection_url = \"{o}/introspect\"\nrevocation_url = \"{o}/revoke\"\n",
        b = broker.uri(),
        o = oauth.uri(),
        f = secret_file.display()
    );
    std::fs::write(dir.path().join("tokenward.toml"), &config).expect("config");
    let mut run = Run { outputs: Vec::new() };

    run.tw(dir.path(), &["sync"], None).await;
    let out = run.tw(dir.path(), &["credentials", "--format", "json"], None).await;
    let rows: Vec<Value> = serde_json::from_slice(&out.stdout).expect("credentials json");
    assert_eq!(rows.len(), 2, "the token from {TOKEN_ENV} reached the issuer: {}", text(&out.stderr));
    let id_of = |ext: &str| -> String {
        let db = rusqlite::Connection::open(dir.path().join("t.db")).expect("db");
        db.query_row("SELECT id FROM credentials WHERE external_id = ?1", [ext], |r| r.get(0)).expect("synced")
    };

    let queued = run.tw(dir.path(), &["revoke", &id_of("c-down"), "--reason", "rotate"], None).await;
    assert!(text(&queued.stdout).contains("queued") || text(&queued.stderr).contains("queued"), "{}", text(&queued.stderr));
    let approved = run.tw(dir.path(), &["approve", "g-1", "--justification", "agent-x needs to read"], None).await;
    assert!(approved.status.success(), "{}", text(&approved.stderr));
    let triage = run.tw(dir.path(), &["triage", "--revoke", "--reason", "leaked in a chat"], Some(&format!("{LEAKED}\n"))).await;
    assert!(triage.status.success(), "{}{}", text(&triage.stdout), text(&triage.stderr));
    let triage_json = run.tw(dir.path(), &["--format", "json", "triage"], Some(LEAKED)).await;
    assert!(triage_json.status.success(), "{}", text(&triage_json.stderr));
    run.tw(dir.path(), &["sync"], None).await;
    run.tw(dir.path(), &["show", &id_of("c-leaked"), "--format", "json"], None).await;

    // Every place a secret could rest: the files, the audit rows and the outbox as read back, every output.
    let mut places: Vec<(String, Vec<u8>)> = run.outputs;
    for suffix in ["", "-wal", "-shm"] {
        let file = dir.path().join(format!("t.db{suffix}"));
        if let Ok(bytes) = std::fs::read(&file) {
            places.push((file.display().to_string(), bytes));
        }
    }
    let db = rusqlite::Connection::open(dir.path().join("t.db")).expect("db");
    let rows_of = |sql: &str| -> Vec<String> {
        let mut stmt = db.prepare(sql).expect("prepare");
        stmt.query_map([], |r| r.get::<_, String>(0)).expect("query").collect::<Result<Vec<_>, _>>().expect("rows")
    };
    let audit = rows_of("SELECT action || ' ' || target || ' ' || detail FROM audit_log ORDER BY seq");
    assert!(audit.iter().any(|a| a.contains("[redacted sha256:")), "an echo was redacted: {audit:#?}");
    assert!(audit.iter().any(|a| a.starts_with("triage.revoke")) && audit.iter().any(|a| a.starts_with("revoke.queued")), "{audit:#?}");
    places.push(("audit_log rows".into(), audit.join("\n").into_bytes()));
    let outbox = rows_of("SELECT COALESCE(last_error, '') FROM revocation_outbox");
    assert!(outbox.iter().any(|e| e.contains("[redacted sha256:")), "{outbox:?}");
    places.push(("revocation_outbox.last_error".into(), outbox.join("\n").into_bytes()));

    // SAFETY: the only test of this binary; nothing else reads the environment concurrently.
    unsafe { std::env::set_var(TOKEN_ENV, ISSUER_TOKEN) };
    let cfg = tokenward::config::Config::load(&dir.path().join("tokenward.toml"), true).expect("config loads");
    places.push(("Debug of the config".into(), format!("{cfg:?}").into_bytes()));
    for issuer in &cfg.issuers {
        let settings = tokenward::connectors::HttpSettings::from_config(issuer).expect("settings");
        places.push((format!("Debug of {}'s settings", issuer.name), format!("{settings:?}").into_bytes()));
        places.push((format!("Debug of {}'s secrets", issuer.name), format!("{:?} {:?}", issuer.token(), issuer.client_secret()).into_bytes()));
    }

    let hits: Vec<(&str, &str)> =
        places.iter().flat_map(|(place, bytes)| SECRETS.iter().filter(|s| text(bytes).contains(*s)).map(move |s| (place.as_str(), *s))).collect();
    eprintln!("searched {} places for {} raw secrets: {} hits", places.len(), SECRETS.len(), hits.len());
    assert!(hits.is_empty(), "raw secrets found: {hits:#?}");
}
