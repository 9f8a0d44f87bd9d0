//! Approvals against a real `tokenward issuer serve`: narrower and shorter than
//! asked, the issued credential carries exactly that and a consent trail; two
//! approvers at once and exactly one wins; no self-approval; deny with a reason.
use assert_cmd::Command;
use predicates::prelude::*;
use serde_json::Value;

mod common;

fn setup(dir: &std::path::Path, url: &str) {
    setup_with(dir, url, "");
}

fn setup_with(dir: &std::path::Path, url: &str, extra: &str) {
    std::fs::write(dir.join("tokenward.toml"), format!("{extra}\n[[issuer]]\nname = \"broker\"\nkind = \"tokenward\"\nurl = \"{url}\"\n")).expect("config");
}

/// A scope the default policies let one approver grant: read, not sensitive.
fn plain_read(scopes: &Value) -> Option<String> {
    scopes.as_array()?.iter().filter_map(|s| s.as_str()).find(|s| s.ends_with(":read") && !s.starts_with("payments:") && !s.starts_with("secrets:")).map(str::to_string)
}

fn tw(dir: &std::path::Path, operator: &str) -> Command {
    let mut c = Command::new(common::bin());
    c.arg("--db").arg(dir.join("inv.db")).arg("--config").arg(dir.join("tokenward.toml")).arg("--operator").arg(operator);
    c
}

fn json_of(c: &mut Command) -> Value {
    let out = c.assert().success();
    serde_json::from_slice(&out.get_output().stdout).expect("json")
}

#[test]
fn approve_narrower_and_shorter_issues_exactly_that_with_a_consent_trail() {
    let issuer = common::peers::reference_issuer(200, 21);
    let dir = tempfile::tempdir().expect("tempdir");
    setup(dir.path(), &issuer.url);
    tw(dir.path(), "oncall@acme.test").arg("sync").assert().success();
    let grants = json_of(tw(dir.path(), "oncall@acme.test").args(["grants", "--status", "pending", "--format", "json"]));
    let grant = grants
        .as_array()
        .expect("array")
        .iter()
        .find(|g| g["scopes"].as_array().is_some_and(|s| s.len() >= 2) && g["ttl_seconds"].as_i64().is_some_and(|t| t >= 900) && g["binding"] == "bearer" && plain_read(&g["scopes"]).is_some())
        .expect("a bearer grant asking two scopes, one a plain read, for 15 minutes or more")
        .clone();
    let gid = grant["external_id"].as_str().expect("id").to_string();
    let first_scope = plain_read(&grant["scopes"]).expect("read scope");
    let requester = grant["requested_by"].as_str().expect("requester").to_string();

    // Self-approval and widening are refused before the issuer is asked.
    tw(dir.path(), &requester).args(["approve", &gid, "--justification", "mine"]).assert().failure().stderr(predicate::str::contains("may not approve"));
    tw(dir.path(), "oncall@acme.test").args(["approve", &gid, "--justification", "x", "--scopes", "admin:everything"]).assert().failure().stderr(predicate::str::contains("never widen"));

    let outcome = json_of(tw(dir.path(), "oncall@acme.test").args([
        "approve", &gid, "--justification", "one deploy, INC-77", "--scopes", &first_scope, "--ttl", "10m", "--binding", "dpop", "--format", "json",
    ]));
    assert_eq!(outcome["status"], "approved");
    assert_eq!(outcome["scopes"], serde_json::json!([first_scope]));
    assert_eq!(outcome["ttl_seconds"], 600);
    let credential = outcome["credential_id"].as_str().expect("credential id").to_string();

    tw(dir.path(), "oncall@acme.test").arg("sync").assert().success();
    let shown = json_of(tw(dir.path(), "oncall@acme.test").args(["show", &credential, "--format", "json"]));
    let c = &shown["credential"];
    assert_eq!(c["scopes"], serde_json::json!([first_scope]));
    assert_eq!(c["binding"], "dpop");
    let issued = chrono::DateTime::parse_from_rfc3339(c["issued_at"].as_str().expect("iat")).expect("time");
    let expires = chrono::DateTime::parse_from_rfc3339(c["expires_at"].as_str().expect("exp")).expect("time");
    assert_eq!((expires - issued).num_seconds(), 600);
    let trail = c["consent"].as_array().expect("consent");
    assert!(trail.iter().any(|e| e["action"] == "request" && e["actor"] == requester.as_str()));
    assert!(trail.iter().any(|e| e["action"] == "approve" && e["actor"] == "oncall@acme.test" && e["note"] == "one deploy, INC-77" && e["scopes"] == serde_json::json!([first_scope])));

    // Decided: a second approval is refused, and the chain verifies.
    tw(dir.path(), "oncall@acme.test").args(["approve", &gid, "--justification", "again"]).assert().failure().stderr(predicate::str::contains("not pending"));
    tw(dir.path(), "oncall@acme.test").args(["audit", "verify"]).assert().success();
}

#[test]
fn two_approvers_at_once_exactly_one_wins_and_deny_needs_a_reason() {
    let issuer = common::peers::reference_issuer(100, 22);
    let dir = tempfile::tempdir().expect("tempdir");
    setup(dir.path(), &issuer.url);
    tw(dir.path(), "a@acme.test").arg("sync").assert().success();
    let grants = json_of(tw(dir.path(), "a@acme.test").args(["grants", "--status", "pending", "--format", "json"]));
    let readable: Vec<&Value> = grants.as_array().expect("array").iter().filter(|g| plain_read(&g["scopes"]).is_some()).collect();
    let contested = readable[0]["external_id"].as_str().expect("id").to_string();
    let scope = plain_read(&readable[0]["scopes"]).expect("scope");
    let denied = readable[1]["external_id"].as_str().expect("id").to_string();
    let spawn = |who: &str| {
        std::process::Command::new(common::bin())
            .arg("--db")
            .arg(dir.path().join("inv.db"))
            .arg("--config")
            .arg(dir.path().join("tokenward.toml"))
            .args(["--operator", who, "approve", &contested, "--justification", "race", "--scopes", &scope, "--binding", "dpop", "--ttl", "5m"])
            .output()
            .expect("runs")
    };
    let (one, two) = std::thread::scope(|s| {
        let a = s.spawn(|| spawn("first@acme.test"));
        let b = s.spawn(|| spawn("second@acme.test"));
        (a.join().expect("thread"), b.join().expect("thread"))
    });
    let wins = [&one, &two].iter().filter(|o| o.status.success()).count();
    assert_eq!(wins, 1, "exactly one approval wins:\n{}\n{}", String::from_utf8_lossy(&one.stderr), String::from_utf8_lossy(&two.stderr));
    let loser = if one.status.success() { &two } else { &one };
    let why = String::from_utf8_lossy(&loser.stderr);
    assert!(why.contains("being handled by") || why.contains("not pending"), "the loser is told who holds it or that it is decided: {why}");
    // Claimed once: one intent, one approval, and the loser never reached the issuer.
    let logged = |action: &str| {
        let q = format!("SELECT count(*) FROM audit_log WHERE action = '{action}' AND detail LIKE '%\"{contested}\"%'");
        let out = std::process::Command::new("sqlite3").arg(dir.path().join("inv.db")).arg(q).output().expect("sqlite3");
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    };
    assert_eq!((logged("approve.intent"), logged("approve"), logged("approve.failed")), ("1".into(), "1".into(), "0".into()));

    tw(dir.path(), "a@acme.test").args(["deny", &denied, "--reason", " "]).assert().failure().stderr(predicate::str::contains("a reason is required"));
    let out = json_of(tw(dir.path(), "a@acme.test").args(["deny", &denied, "--reason", "no ticket", "--format", "json"]));
    assert_eq!(out["status"], "denied");
    tw(dir.path(), "a@acme.test").args(["--read-only", "deny", &contested, "--reason", "x"]).assert().failure().stderr(predicate::str::contains("read-only"));
}

#[test]
fn policy_refusals_explain_themselves_and_two_people_from_two_groups_approve_admin_access() {
    let issuer = common::peers::reference_issuer(300, 23);
    let dir = tempfile::tempdir().expect("tempdir");
    // Identities are proven by OS account: this one test process plays all four, so each maps to its account.
    let me = tokenward::context::os_account().expect("os account");
    let operators = format!(
        r#"
[operators."first@acme.test"]
roles = ["approver"]
groups = ["security"]
os_user = "{me}"
[operators."colleague@acme.test"]
roles = ["approver"]
groups = ["security"]
os_user = "{me}"
[operators."second@acme.test"]
roles = ["approver"]
groups = ["platform"]
os_user = "{me}"
[operators."viewer@acme.test"]
roles = ["viewer"]
os_user = "{me}"
"#
    );
    setup_with(dir.path(), &issuer.url, &operators);
    tw(dir.path(), "first@acme.test").arg("sync").assert().success();
    let grants = json_of(tw(dir.path(), "first@acme.test").args(["grants", "--status", "pending", "--format", "json"]));
    let write = grants
        .as_array()
        .expect("array")
        .iter()
        .find(|g| g["scopes"].as_array().is_some_and(|s| s.iter().any(|x| x.as_str().is_some_and(|x| x.ends_with(":write")))))
        .expect("a grant asking a write scope")
        .clone();
    let gid = write["external_id"].as_str().expect("id").to_string();
    let scope = write["scopes"].as_array().expect("scopes").iter().filter_map(|s| s.as_str()).find(|s| s.ends_with(":write")).expect("write").to_string();

    // A viewer may not; bearer on a write scope is refused with the policy's reason; too long too.
    tw(dir.path(), "viewer@acme.test").args(["approve", &gid, "--justification", "x", "--scopes", &scope, "--binding", "dpop", "--ttl", "5m"]).assert().failure().stderr(predicate::str::contains("approver or admin role"));
    tw(dir.path(), "first@acme.test").args(["approve", &gid, "--justification", "x", "--scopes", &scope, "--binding", "bearer", "--ttl", "5m"])
        .assert()
        .failure()
        .stderr(predicate::str::contains("no-bearer-on-sensitive").and(predicate::str::contains("require dpop or mtls")));

    let approve = |who: &str| {
        let mut c = tw(dir.path(), who);
        c.args(["approve", &gid, "--justification", "release 4.3", "--scopes", &scope, "--binding", "dpop", "--ttl", "5m", "--format", "json"]);
        c
    };
    let first = json_of(&mut approve("first@acme.test"));
    assert_eq!((first["status"].as_str(), first["partial"].as_bool()), (Some("pending"), Some(true)), "{first}");
    approve("first@acme.test").assert().failure().stderr(predicate::str::contains("second-approver-differs"));
    approve("colleague@acme.test").assert().failure().stderr(predicate::str::contains("second-approver-other-group"));
    let second = json_of(&mut approve("second@acme.test"));
    assert_eq!((second["status"].as_str(), second["partial"].as_bool()), (Some("approved"), Some(false)), "{second}");
    let log = std::process::Command::new("sqlite3").arg(dir.path().join("inv.db")).arg("SELECT action || ' ' || actor FROM audit_log WHERE action LIKE 'approve%' ORDER BY seq").output().expect("sqlite3");
    let log = String::from_utf8_lossy(&log.stdout);
    assert!(log.contains("approve.partial first@acme.test") && log.contains("approve.refused colleague@acme.test") && log.contains("approve second@acme.test"), "{log}");
}
