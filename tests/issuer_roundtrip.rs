//! Integration: a real `tokenward issuer serve` process, `tokenward sync` over
//! HTTP, a revoke, then the issuer, the store and the audit log all agree.
use assert_cmd::Command as Cmd;
use predicates::prelude::*;

mod common;

fn config(dir: &std::path::Path, url: &str) -> std::path::PathBuf {
    let path = dir.join("tokenward.toml");
    std::fs::write(
        &path,
        format!("operator = \"sec@acme.test\"\n[[issuer]]\nname = \"broker\"\nkind = \"tokenward\"\nurl = \"{url}\"\ntoken_env = \"BROKER_TOKEN\"\npage_size = 100\n"),
    )
    .expect("write config");
    path
}

fn tw(dir: &std::path::Path, cfg: &std::path::Path) -> Cmd {
    let mut c = Cmd::new(common::bin());
    c.arg("--db").arg(dir.join("inv.db")).arg("--config").arg(cfg).env("BROKER_TOKEN", "s3cret-broker-token");
    c
}

#[test]
fn sync_then_revoke_reaches_the_issuer_store_and_audit_log() {
    let issuer = common::peers::reference_issuer_with_token(750, 9, Some("s3cret-broker-token"));
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = config(dir.path(), &issuer.url);

    tw(dir.path(), &cfg).arg("sync").assert().success().stderr(predicate::str::contains("broker: done: 750 credentials, 8 pages"));
    let out = tw(dir.path(), &cfg).args(["credentials", "--format", "json", "--filter", "status:active -owner:none", "--limit", "1"]).assert().success();
    let rows: Vec<serde_json::Value> = serde_json::from_slice(&out.get_output().stdout).expect("json");
    let id = rows[0]["id"].as_str().expect("id").to_string();
    let shown = tw(dir.path(), &cfg).args(["show", &id, "--format", "json"]).assert().success();
    let detail: serde_json::Value = serde_json::from_slice(&shown.get_output().stdout).expect("json");
    let external = detail["credential"]["external_id"].as_str().expect("external id").to_string();

    let out = tw(dir.path(), &cfg).args(["revoke", &id, "--reason", "leaked in #eng-chat INC-7", "--format", "json"]).assert().success();
    let outcome: serde_json::Value = serde_json::from_slice(&out.get_output().stdout).expect("json");
    assert_eq!(outcome["status"], "revoked");
    assert_eq!(outcome["issuer_answer"]["status"], 200);

    // The issuer itself says revoked, with our reason in its consent trail.
    let client = reqwest::blocking::Client::new();
    let mut cursor: Option<String> = None;
    let found = loop {
        let mut req = client.get(format!("{}/v1/credentials", issuer.url)).bearer_auth("s3cret-broker-token").query(&[("limit", "1000")]);
        if let Some(c) = &cursor {
            req = req.query(&[("cursor", c)]);
        }
        let page: serde_json::Value = req.send().expect("issuer answers").json().expect("json page");
        if let Some(c) = page["items"].as_array().expect("items").iter().find(|c| c["id"] == external.as_str()) {
            break c.clone();
        }
        cursor = page["next_cursor"].as_str().map(str::to_string);
        assert!(cursor.is_some(), "revoked credential not listed by the issuer");
    };
    assert_eq!(found["status"], "revoked");

    // The store, and the consent trail the TUI shows.
    let shown = tw(dir.path(), &cfg).args(["show", &id, "--format", "json"]).assert().success();
    let detail: serde_json::Value = serde_json::from_slice(&shown.get_output().stdout).expect("json");
    assert_eq!(detail["credential"]["status"], "revoked");
    let trail = detail["credential"]["consent"].as_array().expect("consent");
    assert!(trail.iter().any(|e| e["action"] == "revoke" && e["actor"] == "sec@acme.test" && e["note"] == "leaked in #eng-chat INC-7"));

    // The audit log: sync, the revocation's intent, then its outcome, chained and intact; no secret in it.
    tw(dir.path(), &cfg).args(["audit", "verify"]).assert().success().stdout(predicate::str::contains("audit log intact: 3 entries"));
    let log = std::process::Command::new("sqlite3").arg(dir.path().join("inv.db")).arg("SELECT action || ' ' || actor || ' ' || detail FROM audit_log ORDER BY seq").output().expect("sqlite3 runs");
    let log = String::from_utf8_lossy(&log.stdout);
    assert!(log.contains("revoke sec@acme.test"), "{log}");
    assert!(log.contains("\"status\":200"), "{log}");
    assert!(!log.contains("s3cret-broker-token"), "the issuer token leaked into the audit log");

    // Tampering is found, at the entry that was changed.
    let db = dir.path().join("inv.db");
    let tamper = std::process::Command::new("sqlite3")
        .arg(&db)
        .arg("DROP TRIGGER audit_log_no_update; UPDATE audit_log SET actor = 'mallory' WHERE seq = 2;")
        .status()
        .expect("sqlite3 runs");
    assert!(tamper.success());
    tw(dir.path(), &cfg).args(["audit", "verify"]).assert().failure().stdout(predicate::str::contains("BROKEN at entry 2"));
}

#[test]
fn unreachable_and_unauthorised_issuers_fail_the_sync_by_name_and_keep_data() {
    let issuer = common::peers::reference_issuer_with_token(120, 9, Some("right-token"));
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = config(dir.path(), &issuer.url);
    let mut c = tw(dir.path(), &cfg);
    c.env("BROKER_TOKEN", "wrong-token").arg("sync").assert().failure().stderr(predicate::str::contains("broker").and(predicate::str::contains("401")));
    let mut c = tw(dir.path(), &cfg);
    c.env("BROKER_TOKEN", "right-token").arg("sync").assert().success();
    drop(issuer);
    // The issuer is gone: the sync fails naming it, and the 120 credentials stay.
    let mut c = tw(dir.path(), &cfg);
    c.env("BROKER_TOKEN", "right-token").arg("sync").assert().failure().stderr(predicate::str::contains("broker unreachable"));
    let out = tw(dir.path(), &cfg).args(["credentials", "--format", "csv"]).assert().success();
    assert_eq!(String::from_utf8_lossy(&out.get_output().stdout).lines().count(), 121);
}

#[test]
fn a_revocation_waits_in_the_outbox_while_the_issuer_is_down_and_lands_on_the_next_sync() {
    let dir = tempfile::tempdir().expect("tempdir");
    let issuer = common::peers::reference_issuer_with_token(80, 4, Some("t"));
    let cfg = config(dir.path(), &issuer.url);
    let mut c = tw(dir.path(), &cfg);
    c.env("BROKER_TOKEN", "t").arg("sync").assert().success();
    let out = tw(dir.path(), &cfg).args(["credentials", "--format", "json", "--filter", "status:active", "--limit", "1"]).assert().success();
    let rows: Vec<serde_json::Value> = serde_json::from_slice(&out.get_output().stdout).expect("json");
    let id = rows[0]["id"].as_str().expect("id").to_string();
    drop(issuer);

    // Down: queued, not shown as revoked, and said so.
    let mut c = tw(dir.path(), &cfg);
    c.env("BROKER_TOKEN", "t").args(["revoke", &id, "--reason", "owner left"]).assert().failure().stderr(predicate::str::contains("queued for retry, not revoked yet"));
    let shown = tw(dir.path(), &cfg).args(["show", &id, "--format", "json"]).assert().success();
    let v: serde_json::Value = serde_json::from_slice(&shown.get_output().stdout).expect("json");
    assert_eq!(v["credential"]["status"], "active");

    // Back (same organisation, a new address): the next sync delivers the revocation.
    let issuer = common::peers::reference_issuer_with_token(80, 4, Some("t"));
    let cfg = config(dir.path(), &issuer.url);
    let mut c = tw(dir.path(), &cfg);
    c.env("BROKER_TOKEN", "t").arg("sync").assert().success().stderr(predicate::str::contains("1 queued revocation(s) confirmed"));
    let shown = tw(dir.path(), &cfg).args(["show", &id, "--format", "json"]).assert().success();
    let v: serde_json::Value = serde_json::from_slice(&shown.get_output().stdout).expect("json");
    assert_eq!(v["credential"]["status"], "revoked");
    let log = std::process::Command::new("sqlite3").arg(dir.path().join("inv.db")).arg("SELECT action FROM audit_log ORDER BY seq").output().expect("sqlite3");
    let actions = String::from_utf8_lossy(&log.stdout).lines().map(str::to_string).collect::<Vec<_>>();
    assert_eq!(actions, ["sync", "revoke.intent", "revoke.queued", "sync", "revoke"]);
}
