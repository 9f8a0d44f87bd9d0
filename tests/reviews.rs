//! Findings, review campaigns and history against a real `tokenward issuer
//! serve` process, through the CLI: every decision that changes something goes
//! to the issuer first, the evidence names the audit head that `audit verify`
//! reaches, and "who held what" answers from before and after a change.
use assert_cmd::Command;
use serde_json::Value;

mod common;

fn setup(dir: &std::path::Path, url: &str) {
    std::fs::write(dir.join("tokenward.toml"), format!("operator = \"reviewer@acme.test\"\n[[issuer]]\nname = \"broker\"\nkind = \"tokenward\"\nurl = \"{url}\"\n")).expect("config");
}

fn tw(dir: &std::path::Path) -> Command {
    let mut c = Command::new(common::bin());
    c.arg("--db").arg(dir.join("inv.db")).arg("--config").arg(dir.join("tokenward.toml"));
    c
}

fn json_of(c: &mut Command) -> Value {
    let out = c.assert().success();
    serde_json::from_slice(&out.get_output().stdout).expect("json")
}

fn text_of(c: &mut Command) -> String {
    String::from_utf8(c.assert().success().get_output().stdout.clone()).expect("utf8")
}

#[test]
fn findings_json_has_the_documented_keys_and_every_rule_fires_on_the_demo_org() {
    let issuer = common::peers::reference_issuer(3000, 42);
    let dir = tempfile::tempdir().expect("tempdir");
    setup(dir.path(), &issuer.url);
    tw(dir.path()).arg("sync").assert().success();
    let summary = json_of(tw(dir.path()).args(["findings", "--summary", "--format", "json"]));
    // The deployment rules need a scan of agent configurations: tests/scan.rs raises them.
    for rule in tokenward::findings::RULES.iter().filter(|r| !["plaintext-in-config", "unknown-in-config", "revoked-still-deployed"].contains(&r.id)) {
        assert!(summary.as_array().expect("array").iter().any(|c| c["rule"] == rule.id && c["open"].as_i64() > Some(0)), "no {} in {summary}", rule.id);
    }
    let one = json_of(tw(dir.path()).args(["findings", "--rule", "used-after-task", "--limit", "1", "--format", "json"]));
    let f = &one[0];
    for key in ["rule", "severity", "credential_id", "owner", "summary", "frameworks"] {
        assert!(f.get(key).is_some(), "{key} missing in {f}");
    }
    assert!(f["summary"].as_str().is_some_and(|s| s.contains("after its task")));
    let csv = text_of(tw(dir.path()).args(["findings", "--rule", "no-expiry", "--format", "csv"]));
    assert!(csv.starts_with("rule,severity,credential,issuer_id,owner,summary,frameworks,first_seen\n"), "{csv}");
    tw(dir.path()).args(["findings", "--rule", "nope"]).assert().failure().stderr(predicates::str::contains("unknown rule 'nope'"));
}

#[test]
fn a_review_campaign_decided_at_the_issuer_exports_evidence_audit_verify_accepts() {
    let issuer = common::peers::reference_issuer(600, 5);
    let dir = tempfile::tempdir().expect("tempdir");
    setup(dir.path(), &issuer.url);
    tw(dir.path()).arg("sync").assert().success();
    let started = json_of(tw(dir.path()).args(["review", "start", "q4-admin", "--filter", "status:active scope:admin:org", "--format", "json"]));
    let n = started["items"].as_i64().expect("items");
    assert!(n >= 5, "{started}");
    tw(dir.path()).args(["review", "start", "q4-admin"]).assert().failure().stderr(predicates::str::contains("exists already"));
    let items = json_of(tw(dir.path()).args(["review", "show", "q4-admin", "--format", "json"]));
    let items = items.as_array().expect("array");
    assert_eq!(items.len() as i64, n);
    let snap = |i: &Value, k: &str| i["snapshot"][k].as_str().unwrap_or("").to_string();
    let id = |i: &Value| i["id"].as_i64().expect("id").to_string();
    // Distinct items for each decision: one to reduce (more than one scope), one to shorten (expires in more than 2 days, or never).
    let reduce = items.iter().find(|i| snap(i, "scopes").split(' ').count() >= 2).expect("a credential with two scopes");
    let far = |i: &Value| snap(i, "expires_at").is_empty() || tokenward::domain::parse_ts(&snap(i, "expires_at")).is_some_and(|e| e > chrono::Utc::now() + chrono::Duration::days(2));
    let shorten = items.iter().find(|i| i["id"] != reduce["id"] && far(i)).expect("a credential expiring later than 2 days");
    let others: Vec<&Value> = items.iter().filter(|i| i["id"] != reduce["id"] && i["id"] != shorten["id"]).collect();
    let (keep, revoke, reassign) = (others[0], others[1], others[2]);

    let before = chrono::Utc::now();
    std::thread::sleep(std::time::Duration::from_millis(1100));
    tw(dir.path()).args(["review", "decide", &id(keep), "keep", "--reason", "release bot, reviewed with its owner"]).assert().success();
    let r = json_of(tw(dir.path()).args(["review", "decide", &id(revoke), "revoke", "--reason", "nobody could say why", "--format", "json"]));
    assert!(r["issuer_answer"].as_str().is_some_and(|a| a.starts_with("revoked at broker")), "{r}");
    let kept: Vec<String> = snap(reduce, "scopes").split(' ').filter(|s| *s != "admin:org").map(str::to_string).collect();
    let r = json_of(tw(dir.path()).args(["review", "decide", &id(reduce), "reduce", "--scopes", &kept.join(","), "--reason", "admin not needed", "--format", "json"]));
    assert_eq!(r["issuer_answer"], "HTTP 200");
    tw(dir.path()).args(["review", "decide", &id(shorten), "shorten", "--ttl", "1d", "--reason", "rotate sooner"]).assert().success();
    tw(dir.path()).args(["review", "decide", &id(reassign), "reassign", "--owner", "new.owner@acme.test", "--reason", "team moved"]).assert().success();
    // An item is decided once: a second decision is refused.
    tw(dir.path()).args(["review", "decide", &id(keep), "revoke", "--reason", "again"]).assert().failure().stderr(predicates::str::contains("decided already"));

    // The issuer holds the changes: a fresh sync brings them back.
    tw(dir.path()).arg("sync").assert().success();
    let show = |cred: &str| json_of(tw(dir.path()).args(["show", cred, "--format", "json"]));
    let reduced = show(reduce["credential_id"].as_str().expect("id"));
    assert_eq!(reduced["credential"]["scopes"], serde_json::json!(kept));
    assert_eq!(show(revoke["credential_id"].as_str().expect("id"))["credential"]["status"], "revoked");
    let shortened = show(shorten["credential_id"].as_str().expect("id"));
    let exp = tokenward::domain::parse_ts(shortened["credential"]["expires_at"].as_str().expect("expiry now")).expect("ts");
    assert!(exp < chrono::Utc::now() + chrono::Duration::days(1) + chrono::Duration::minutes(5));
    assert_eq!(show(reassign["credential_id"].as_str().expect("id"))["credential"]["owner"], "new.owner@acme.test");

    // Who held admin:org: the reduced credential did before the decision, and does not now.
    let held = |at: &str| {
        json_of(tw(dir.path()).args(["history", "--scope", "admin:org", "--at", at, "--format", "json"]))
            .as_array()
            .expect("array")
            .iter()
            .map(|r| r["credential_id"].as_str().expect("id").to_string())
            .collect::<Vec<_>>()
    };
    let reduced_id = reduce["credential_id"].as_str().expect("id").to_string();
    assert!(held(&tokenward::domain::fmt_ts(&before)).contains(&reduced_id));
    assert!(!held(&tokenward::domain::fmt_ts(&(chrono::Utc::now() + chrono::Duration::seconds(2)))).contains(&reduced_id));

    // Evidence: every item, the five decisions with decider and reason, and the audit head.
    let evidence = json_of(tw(dir.path()).args(["review", "export", "q4-admin", "--format", "json"]));
    assert_eq!(evidence["items"].as_array().map(Vec::len), Some(n as usize));
    let decided: Vec<&Value> = evidence["items"].as_array().expect("array").iter().filter(|i| !i["decision"].is_null()).collect();
    assert_eq!(decided.len(), 5);
    assert!(decided.iter().all(|i| i["decided_by"] == "reviewer@acme.test" && i["reason"].as_str().is_some_and(|r| !r.is_empty())));
    let verify = json_of(tw(dir.path()).args(["audit", "verify", "--format", "json"]));
    assert_eq!(verify["head_hash"], evidence["audit_head_hash"], "the evidence names the head audit verify reaches");
    let csv = text_of(tw(dir.path()).args(["review", "export", "q4-admin", "--format", "csv"]));
    assert!(csv.lines().nth(1).is_some_and(|h| h.starts_with("item,credential_id,issuer")), "{csv}");
    assert_eq!(csv.lines().count() as i64, n + 2);
    let md = dir.path().join("evidence.md");
    tw(dir.path()).args(["review", "export", "q4-admin", "--format", "md", "--output"]).arg(&md).assert().success();
    let md = std::fs::read_to_string(md).expect("md");
    assert!(md.contains("# Access review: q4-admin") && md.contains("audit log head: seq"), "{md}");
    tw(dir.path()).args(["audit", "verify"]).assert().success();
}

#[test]
fn expiring_groups_by_owner_soonest_first() {
    let issuer = common::peers::reference_issuer(800, 8);
    let dir = tempfile::tempdir().expect("tempdir");
    setup(dir.path(), &issuer.url);
    tw(dir.path()).arg("sync").assert().success();
    let groups = json_of(tw(dir.path()).args(["expiring", "--within", "7d", "--format", "json"]));
    let groups = groups.as_array().expect("array");
    assert!(!groups.is_empty());
    let soonest: Vec<&str> = groups.iter().map(|g| g["soonest"].as_str().expect("soonest")).collect();
    assert!(soonest.windows(2).all(|w| w[0] <= w[1]), "soonest first");
    let total: i64 = groups.iter().map(|g| g["credentials"].as_i64().expect("n")).sum();
    let listed = json_of(tw(dir.path()).args(["credentials", "--format", "json", "--filter", "status:active expires<7d"]));
    let not_yet = listed.as_array().expect("array").iter().filter(|c| c["expires_at"].as_str().is_some_and(|e| e >= tokenward::domain::fmt_ts(&chrono::Utc::now()).as_str())).count();
    assert!((total - not_yet as i64).abs() <= 2, "groups hold the same credentials as the filter: {total} vs {not_yet}");
    tw(dir.path()).args(["expiring", "--within", "soon"]).assert().failure();
}

/// An issuer-controlled owner and an operator's reason that start like spreadsheet
/// formulas and carry HTML: the CSV defuses them, the Markdown escapes them, and
/// the exported file is private.
#[test]
fn evidence_defuses_formulas_escapes_html_and_is_written_private() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("inv.db");
    let hostile = "=cmd|' /c calc'!a0 <script>alert(1)</script>"; // owners are stored lower-case
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(async {
        let store = tokenward::store::Store::open(&db).await.expect("store");
        let org = tokenward::reference::org::Org::new(3, 42, common::fixed_now());
        store.upsert_issuer("acme-broker", tokenward::domain::IssuerKind::Tokenward, None).await.expect("issuer");
        let run = store.begin_sync_run("acme-broker", common::fixed_now()).await.expect("run");
        let mut c = tokenward::connectors::tokenward::map_credential("acme-broker", org.credential(0)).expect("maps");
        c.owner = Some(hostile.into());
        c.workload = Some(hostile.into());
        c.status = tokenward::domain::CredentialStatus::Active;
        c.expires_at = None;
        store.ingest_credential_page(run.id, run.started_at, &[c], 1, None).await.expect("page");
        store.finish_sync_run(&run, "acme-broker", None, common::fixed_now()).await.expect("finish");
        store.close().await;
    });
    let cli = |args: &[&str]| {
        let mut c = Command::new(common::bin());
        c.arg("--db").arg(&db).env_remove("TOKENWARD_CONFIG").env("XDG_CONFIG_HOME", dir.path()).env("TOKENWARD_OPERATOR", "reviewer@acme.test").args(args);
        c
    };
    cli(&["review", "start", "q1"]).assert().success();
    cli(&["review", "decide", "1", "keep", "--reason", "@SUM(1) <b>fine</b> | ok"]).assert().success();

    let csv = text_of(&mut cli(&["review", "export", "q1", "--format", "csv"]));
    let mut reader = csv::ReaderBuilder::new().comment(Some(b'#')).from_reader(csv.as_bytes());
    let header = reader.headers().expect("header").clone();
    let record = reader.records().next().expect("one item").expect("record");
    let field = |name: &str| record.get(header.iter().position(|h| h == name).expect("column")).expect("field").to_string();
    assert_eq!(field("owner"), format!("'{hostile}"), "{csv}");
    assert!(field("reason").starts_with("'@SUM(1)"), "{csv}");

    let md_path = dir.path().join("evidence.md");
    cli(&["review", "export", "q1", "--format", "md", "--output"]).arg(&md_path).assert().success();
    let md = std::fs::read_to_string(&md_path).expect("md");
    assert!(!md.contains('<') && !md.contains('>'), "raw HTML in {md}");
    assert!(md.contains("=cmd\\|' /c calc'!a0 &lt;script&gt;alert(1)&lt;/script&gt;"), "{md}");
    let row = md.lines().find(|l| l.contains("&lt;script&gt;")).expect("item row");
    // Every cell boundary is the table's own: escaped pipes do not count.
    assert_eq!(row.replace("\\|", "").matches('|').count(), 14, "{row}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&md_path).expect("meta").permissions().mode() & 0o777, 0o600);
    }
}
