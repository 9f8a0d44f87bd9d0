//! A corpus of hostile issuer answers: terminal escapes (OSC 52 clipboard writes,
//! OSC 8 hyperlinks, titles, CSI), C1 controls, Trojan-source bidi, zero-width and
//! tag characters, 1 MiB strings, deep nesting, huge and NaN-like numbers, invalid
//! UTF-8, and error bodies made of escapes. Each answer is served by its own
//! protocol-v1 issuer (wiremock) and synced by the sync engine; then every TUI
//! screen is drawn from the store and the real binary syncs the same issuers and
//! prints every credential, listing and error. Nothing may panic, and nothing a
//! terminal would obey may reach one.
use std::sync::Arc;

use common::screens::{assert_inert, every_screen, on_terminal, stdout_on_terminal, tw, without_progress_bars};
use serde_json::{json, Value};
use tokenward::config::{IssuerConfig, Thresholds};
use tokenward::connectors::{self, Connector};
use tokenward::domain::IssuerKind;
use tokenward::store::Store;
use tokenward::{findings, sync};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

mod common;

const OSC52: &str = "\x1b]52;c;cm0gLXJmIH4=\x07";
const OSC8: &str = "\x1b]8;;https://evil.test/\x1b\\here\x1b]8;;\x1b\\";
const TITLE: &str = "\x1b]0;pwned\x07\x1b]2;pwned\x1b\\";
const CSI: &str = "\x1b[2J\x1b[H\x1b[31;1m\x1b[?1049h";
const C1: &str = "\u{9b}2J\u{9d}0;t\u{9c}\u{85}\u{90}q\u{9c}";
const TROJAN: &str = "\u{202E}\u{2066}if admin\u{2069}\u{2066}\u{202C}";
const INVISIBLE: &str = "\u{200B}\u{200C}\u{200D}\u{2060}\u{FEFF}\u{00AD}\u{061C}";
const TAGS: &str = "\u{E0001}\u{E0069}\u{E0067}\u{E006E}\u{E006F}\u{E0072}\u{E0065}\u{E007F}";
const BREAKS: &str = "\u{2028}\u{2029}\r\x0b\x0c\0";
const MIB: usize = 1 << 20;

/// One answer of a hostile issuer: what it sends for credentials, grants and owners.
struct Answer {
    name: &'static str,
    credentials: (u16, Vec<u8>),
    grants: (u16, Vec<u8>),
    owners: (u16, Vec<u8>),
}

fn body(v: Value) -> (u16, Vec<u8>) {
    (200, serde_json::to_vec(&v).expect("json"))
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

/// A page of one good credential and the hostile ones.
fn page(hostile: Vec<Value>) -> (u16, Vec<u8>) {
    let mut items = vec![good("ok")];
    items.extend(hostile);
    body(json!({ "items": items, "next_cursor": null }))
}

fn credentials(name: &'static str, hostile: Vec<Value>) -> Answer {
    Answer { name, credentials: page(hostile), grants: body(json!({"items": []})), owners: (404, Vec::new()) }
}

fn grants(name: &'static str, grants: (u16, Vec<u8>)) -> Answer {
    Answer { name, credentials: page(Vec::new()), grants, owners: (404, Vec::new()) }
}

fn grant(id: &str, field: &str, value: Value) -> Value {
    let mut g = json!({"id": id, "ttl_seconds": 3600, "binding": "bearer", "status": "pending", "scopes": ["repo:read"], "requested_by": "ana@acme.test"});
    g[field] = value;
    g
}

fn raw(name: &'static str, status: u16, bytes: Vec<u8>) -> Answer {
    Answer { name, credentials: (status, bytes), grants: body(json!({"items": []})), owners: (404, Vec::new()) }
}

/// The corpus.
fn corpus() -> Vec<Answer> {
    let at = "2026-11-01T00:00:00Z";
    let deep = |n: usize| format!("{{\"items\": {}{}}}", "[".repeat(n), "]".repeat(n)).into_bytes();
    let mut invalid_utf8 = br#"{"items": [{"id": "bad-"#.to_vec();
    invalid_utf8.extend_from_slice(b"\xff\xfe\xc3\x28\x1b]0;x\x07");
    invalid_utf8.extend_from_slice(br#"", "kind": "access_token", "binding": "bearer", "status": "active"}]}"#);
    vec![
        credentials("osc52-clipboard-write-in-workload", vec![with("c1", "workload", json!(format!("bot{OSC52}")))]),
        credentials("osc8-hyperlink-in-owner", vec![with("c2", "owner", json!(format!("ana@acme.test{OSC8}")))]),
        credentials("window-title-in-subject", vec![with("c3", "subject", json!(format!("sub{TITLE}")))]),
        credentials("csi-in-scopes", vec![with("c4", "scopes", json!([format!("repo:read{CSI}"), CSI]))]),
        credentials("c1-controls-in-client-id", vec![with("c5", "client_id", json!(format!("client{C1}")))]),
        credentials("trojan-source-in-task-intent", vec![with("c6", "task", json!({"id": format!("t{TROJAN}"), "intent": format!("deploy {TROJAN} prod")}))]),
        credentials("zero-width-in-id", vec![good(&format!("c7{INVISIBLE}x"))]),
        credentials("tag-smuggling-in-consent-note", vec![with("c8", "consent", json!([{"at": at, "actor": format!("ana{TAGS}"), "action": "approve", "scopes": ["repo:read"], "note": format!("ok{TAGS}")}]))]),
        credentials("separators-and-c0-in-audience", vec![with("c9", "audience", json!([format!("api{BREAKS}"), BREAKS]))]),
        credentials("escape-in-an-unknown-consent-action", vec![with("c10", "consent", json!([{"at": at, "actor": "ana@acme.test", "action": format!("{TITLE}approve{CSI}")}]))]),
        credentials("escape-in-an-enum-value", vec![with("c11", "binding", json!(format!("bearer{CSI}")))]),
        credentials("escape-in-a-timestamp", vec![with("c12", "expires_at", json!(format!("2026-12-01T00:00:00Z{OSC52}")))]),
        credentials("escape-in-kind-and-status", vec![{
            let mut v = with("c13", "kind", json!(format!("api_key{C1}")));
            v["status"] = json!(format!("active{OSC8}"));
            v
        }]),
        credentials("escape-in-delegation-chain", vec![with("c14", "act_chain", json!([format!("agent{TITLE}"), format!("{TROJAN}root")]))]),
        credentials("escape-in-usage", vec![with("c15", "usage", json!([{"at": at, "workload": format!("w{OSC52}"), "origin": format!("10.0.0.1{C1}")}]))]),
        credentials("one-mib-of-escapes-in-a-field", vec![with("c16", "workload", json!(CSI.repeat(MIB / CSI.len())))]),
        credentials("one-mib-consent-note", vec![with("c17", "consent", json!([{"at": at, "actor": "ana@acme.test", "action": "approve", "note": format!("{TAGS}{}", "n".repeat(MIB))}]))]),
        credentials("an-id-made-only-of-tags", vec![good(TAGS)]),
        credentials("nul-and-del-everywhere", vec![with("c19", "fingerprint", json!("\0\x7f\0")), with("c19b", "parent_id", json!(format!("p\0{C1}")))]),
        raw("one-mib-cursor-of-escapes", 200, serde_json::to_vec(&json!({"items": [good("ok")], "next_cursor": OSC52.repeat(MIB / OSC52.len())})).expect("json")),
        raw("deep-nesting-100k", 200, deep(100_000)),
        raw("deep-nesting-in-a-record", 200, format!("{{\"items\": [{{\"id\": \"d\", \"task\": {}1{}}}]}}", "{\"id\": ".repeat(5000), "}".repeat(5000)).into_bytes()),
        raw("number-beyond-f64", 200, br#"{"items": [{"id": "n", "kind": "access_token", "binding": "bearer", "status": "active", "act_chain": [1e400]}]}"#.to_vec()),
        raw("bare-nan-token", 200, br#"{"items": [{"id": "nan", "kind": "access_token", "binding": "bearer", "status": "active", "scopes": NaN}]}"#.to_vec()),
        raw("invalid-utf8-in-a-string", 200, invalid_utf8),
        raw("http-500-whose-body-is-an-escape-sequence", 500, format!("{OSC52}{CSI}{C1}{TITLE}").into_bytes()),
        raw("http-403-json-error-of-escapes", 403, serde_json::to_vec(&json!({"error": format!("denied{OSC52}"), "error_description": format!("{TROJAN}{TAGS}{OSC8}")})).expect("json")),
        raw("http-429-one-mib-escape-body", 429, CSI.repeat(MIB / CSI.len()).into_bytes()),
        raw("http-200-body-of-escapes", 200, format!("{TITLE}{CSI}").into_bytes()),
        raw("http-502-github-style-error", 502, serde_json::to_vec(&json!({"message": format!("bad{C1}"), "errors": [{"message": format!("{OSC8}{BREAKS}")}]})).expect("json")),
        grants("huge-ttl-numbers", body(json!({"items": [grant("g1", "ttl_seconds", json!(i64::MAX)), grant("g2", "ttl_seconds", json!(u64::MAX)), grant("g3", "ttl_seconds", json!(1e300)), grant("g4", "ttl_seconds", json!(-1))]}))),
        grants("nan-like-ttls", body(json!({"items": [grant("g5", "ttl_seconds", json!("NaN")), grant("g6", "ttl_seconds", json!("Infinity")), grant("g7", "ttl_seconds", json!(-0.0)), grant("g8", "ttl_seconds", json!(null))]}))),
        grants("escapes-in-every-grant-field", body(json!({"items": [{
            "id": format!("g9{INVISIBLE}"), "workload": format!("w{CSI}"), "requested_by": format!("{TROJAN}ana@acme.test"), "intent": format!("deploy{OSC52}{OSC8}"),
            "scopes": [format!("repo:write{C1}")], "audience": [TAGS], "ttl_seconds": 3600, "binding": "bearer", "status": "pending", "requested_at": at
        }]}))),
        Answer {
            name: "escapes-in-the-directory",
            credentials: page(Vec::new()),
            grants: body(json!({"items": []})),
            owners: body(json!({"items": [{"email": format!("ana{INVISIBLE}@acme.test"), "name": format!("Ana{OSC8}"), "team": format!("{TAGS}{TITLE}"), "status": format!("offboarded{C1}")}, {"email": "bo@acme.test", "name": CSI, "status": "active"}]})),
        },
    ]
}

fn connector(name: &str, url: &str) -> Arc<dyn Connector> {
    let cfg = IssuerConfig { name: name.into(), kind: IssuerKind::Tokenward, url: url.into(), page_size: Some(50), timeout_s: Some(10), ..IssuerConfig::default() };
    Arc::from(connectors::build(&cfg).expect("connector"))
}

async fn serve(answer: &Answer) -> MockServer {
    let server = MockServer::start().await;
    let reply = |(status, bytes): &(u16, Vec<u8>)| ResponseTemplate::new(*status).set_body_raw(bytes.clone(), "application/json");
    Mock::given(method("GET")).and(path("/v1/credentials")).respond_with(reply(&answer.credentials)).mount(&server).await;
    Mock::given(method("GET")).and(path("/v1/grants")).respond_with(reply(&answer.grants)).mount(&server).await;
    Mock::given(method("GET")).and(path("/v1/owners")).respond_with(reply(&answer.owners)).mount(&server).await;
    server
}

/// Runs `tw(db) args` off the runtime (the issuers it may call are served on it).
async fn run(db: &std::path::Path, args: &[&str]) -> std::process::Output {
    let (db, args): (std::path::PathBuf, Vec<String>) = (db.to_path_buf(), args.iter().map(|a| a.to_string()).collect());
    tokio::task::spawn_blocking(move || tw(&db).args(&args).output().expect("runs")).await.expect("joined")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_hostile_answer_is_survived_by_the_sync_engine_the_views_and_the_cli() {
    let corpus = corpus();
    assert!(corpus.len() >= 25, "{} answers", corpus.len());
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(&dir.path().join("engine.db")).await.expect("store");
    let mut servers = Vec::new();
    let mut reports = Vec::new();
    let mut survived = Vec::new();
    let mut panicked = Vec::new();
    for (n, answer) in corpus.iter().enumerate() {
        let server = serve(answer).await;
        let issuer = format!("h{n:02}");
        let c = connector(&issuer, &server.uri());
        let s = store.clone();
        // On its own task: a panic is counted against its answer, not the whole run.
        let synced = tokio::spawn(async move { sync::sync_issuer(&s, c.as_ref(), None).await }).await;
        match synced {
            Ok(report) => {
                let said = format!("{:?}\n{}", report.error, report.notes.join("\n"));
                assert_inert(&format!("{}: the sync report", answer.name), &said);
                survived.push(answer.name);
                reports.push(report);
            }
            Err(e) => panicked.push(format!("{}: {e}", answer.name)),
        }
        servers.push((issuer, server));
    }
    assert!(panicked.is_empty(), "the sync engine panicked on {panicked:?}");
    let failed = reports.iter().filter(|r| r.error.is_some()).count();
    let rejected: u64 = reports.iter().map(|r| r.rejected).sum();
    assert!(failed >= 8 && rejected >= 10, "error bodies fail their issuer, hostile records are rejected: {failed} failed, {rejected} rejected");

    // Every TUI screen over what was kept, with a toast for each sync.
    findings::recompute(&store, &Thresholds::default(), common::fixed_now()).await.expect("findings");
    let kept = store.count(&tokenward::filter::Query { clauses: Vec::new() }, common::fixed_now()).await.expect("count") as usize;
    let screens = every_screen(&store, kept, &reports).await;
    for (name, screen) in &screens {
        assert_inert(name, screen);
    }
    assert!(screens.iter().any(|(name, s)| name.starts_with("detail") && s.contains("deploy if admin prod")), "the Trojan-source intent, shown without its overrides");
    assert!(screens.iter().any(|(name, s)| name.starts_with("status") && s.contains("denied]52;c;cm0gLXJmIH4=")), "the 403's error, in a toast");

    // The real binary: `sync` of the same issuers (pipe and terminal), then every credential and listing.
    let config = dir.path().join("tokenward.toml");
    let issuers: String = servers.iter().map(|(name, s)| format!("[[issuer]]\nname = \"{name}\"\nkind = \"tokenward\"\nurl = \"{}\"\npage_size = 50\n\n", s.uri())).collect();
    std::fs::write(&config, issuers).expect("config");
    let db = dir.path().join("cli.db");
    let cfg = config.display().to_string();
    let sync = run(&db, &["--config", &cfg, "sync"]).await;
    let stderr = String::from_utf8(sync.stderr).expect("utf8");
    assert!(!sync.status.success() && stderr.contains("error: sync failed for"), "{stderr}");
    assert_inert("sync on a pipe", &stderr);
    assert!(stderr.contains("h26 answered 403: denied]52;c;cm0gLXJmIH4="), "an issuer's error is quoted, cleaned: {stderr}");
    let longest = stderr.lines().map(|l| l.chars().count()).max().unwrap_or(0);
    assert!(longest <= 1200, "1 MiB error bodies are capped: a line of {longest} characters");
    let (db2, cfg2) = (dir.path().join("cli-terminal.db"), cfg.clone());
    let shown = tokio::task::spawn_blocking(move || on_terminal(&db2, &["--config", &cfg2, "sync"])).await.expect("joined");
    assert!(shown.contains("FAILED"), "{shown}");
    assert_inert("sync on a terminal, its progress bars aside", &without_progress_bars(&shown));
    assert!(!without_progress_bars(&format!("a{CSI}b\r\x1b[2K\x1b[1A")).contains("\x1b[1A"), "the bars' own sequences are the only ones set aside");
    assert_eq!(without_progress_bars(&format!("a{CSI}b\r\x1b[2K\x1b[1A")), format!("a{CSI}b"));
    let mut cli_paths = 2;

    let listing = run(&db, &["--format", "json", "credentials"]).await;
    let rows: Vec<Value> = serde_json::from_slice(&listing.stdout).expect("json");
    assert!(rows.iter().any(|r| r["workload"] == "bot]52;c;cm0gLXJmIH4="), "hostile records are kept, cleaned, and shown");
    assert!(rows.len() >= kept.min(10), "the binary kept what the engine kept: {} rows", rows.len());
    for row in &rows {
        let id = row["id"].as_str().expect("id");
        let out = run(&db, &["show", id]).await;
        assert!(out.status.success(), "show {id}");
        assert_inert(&format!("show {id}"), &String::from_utf8(out.stdout).expect("utf8"));
        let db = db.clone();
        let id = id.to_string();
        let json = tokio::task::spawn_blocking(move || stdout_on_terminal(&db, &["--format", "json", "show", &id])).await.expect("joined");
        assert_inert("show --format json on a terminal", &json);
        serde_json::from_str::<Value>(&json).expect("still JSON");
        cli_paths += 2;
    }
    for args in [&["credentials"][..], &["issuers"], &["grants"], &["owners"], &["findings"]] {
        for format in ["table", "csv", "json"] {
            let mut a = vec!["--format", format];
            a.extend_from_slice(args);
            let db = db.clone();
            let a: Vec<String> = a.iter().map(|s| s.to_string()).collect();
            let shown = tokio::task::spawn_blocking(move || on_terminal(&db, &a.iter().map(String::as_str).collect::<Vec<_>>())).await.expect("joined");
            assert_inert(&format!("{args:?} --format {format} on a terminal"), &shown);
            cli_paths += 1;
        }
    }
    println!(
        "{} hostile issuer answers tried, {} survived (no panic, nothing raw on any screen): {failed} issuers failed cleanly, {rejected} records rejected; {} TUI screens and {cli_paths} CLI outputs checked",
        corpus.len(),
        survived.len(),
        screens.len()
    );
    assert_eq!(survived.len(), corpus.len());
}
