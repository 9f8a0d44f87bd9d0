//! Proven identity: with `[operators]` the operator is the identity mapped to the
//! caller's OS account, a claim of another is refused before any issuer call,
//! and revocations go through Cedar; without `[operators]` every action says
//! that everyone may approve.
use assert_cmd::Command;
use predicates::prelude::*;
use serde_json::Value;

mod common;

fn write_config(dir: &std::path::Path, url: &str, operators: &str) {
    std::fs::write(dir.join("tokenward.toml"), format!("{operators}\n[[issuer]]\nname = \"broker\"\nkind = \"tokenward\"\nurl = \"{url}\"\n")).expect("config");
}

/// No operator from the environment: only the flags a test gives.
fn tw(dir: &std::path::Path) -> Command {
    let mut c = Command::new(common::bin());
    c.env_remove("TOKENWARD_OPERATOR").env_remove("TOKENWARD_CONFIG").env_remove("TOKENWARD_DB");
    c.arg("--db").arg(dir.join("inv.db")).arg("--config").arg(dir.join("tokenward.toml"));
    c
}

fn json_of(c: &mut Command) -> Value {
    let out = c.assert().success();
    serde_json::from_slice(&out.get_output().stdout).expect("json")
}

fn audit(dir: &std::path::Path) -> String {
    let out = std::process::Command::new("sqlite3").arg(dir.join("inv.db")).arg("SELECT action || ' ' || actor FROM audit_log ORDER BY seq").output().expect("sqlite3");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn plain_read(scopes: &Value) -> Option<String> {
    scopes.as_array()?.iter().filter_map(|s| s.as_str()).find(|s| s.ends_with(":read") && !s.starts_with("payments:") && !s.starts_with("secrets:")).map(str::to_string)
}

#[test]
fn the_os_account_decides_who_acts_and_another_name_is_refused_before_the_issuer() {
    let issuer = common::peers::reference_issuer(200, 31);
    let dir = tempfile::tempdir().expect("tempdir");
    let me = tokenward::context::os_account().expect("os account");
    let ops = format!("[operators.\"ana@acme.test\"]\nroles = [\"approver\"]\nos_user = \"{me}\"\n[operators.\"bob@acme.test\"]\nroles = [\"admin\"]\nos_user = \"not-{me}\"\n");
    write_config(dir.path(), &issuer.url, &ops);
    tw(dir.path()).arg("sync").assert().success();
    let grants = json_of(tw(dir.path()).args(["grants", "--status", "pending", "--format", "json"]));
    let grant = grants
        .as_array()
        .expect("array")
        .iter()
        .find(|g| g["requested_by"] != "ana@acme.test" && plain_read(&g["scopes"]).is_some())
        .expect("a grant with a plain read scope")
        .clone();
    let gid = grant["external_id"].as_str().expect("id").to_string();
    let scope = plain_read(&grant["scopes"]).expect("scope");

    let before = audit(dir.path());
    tw(dir.path())
        .args(["--operator", "bob@acme.test", "approve", &gid, "--justification", "x", "--scopes", &scope, "--ttl", "5m", "--binding", "dpop"])
        .assert()
        .failure()
        .stderr(predicate::str::contains(format!("--operator bob@acme.test is not you: your account {me} maps to ana@acme.test")));
    assert_eq!(audit(dir.path()), before, "refused before any action: nothing recorded");
    let still = json_of(tw(dir.path()).args(["grants", "--status", "pending", "--format", "json"]));
    assert!(still.as_array().expect("array").iter().any(|g| g["external_id"] == gid.as_str()), "the issuer was not asked");

    let out = json_of(tw(dir.path()).args(["approve", &gid, "--justification", "INC-9", "--scopes", &scope, "--ttl", "5m", "--binding", "dpop", "--format", "json"]));
    assert_eq!(out["status"], "approved", "{out}");
    assert!(audit(dir.path()).contains("approve ana@acme.test"), "{}", audit(dir.path()));
}

#[test]
fn a_viewer_may_not_revoke_and_without_operators_everyone_may_approve() {
    let issuer = common::peers::reference_issuer(100, 32);
    let dir = tempfile::tempdir().expect("tempdir");
    let me = tokenward::context::os_account().expect("os account");
    write_config(dir.path(), &issuer.url, &format!("[operators.\"vic@acme.test\"]\nroles = [\"viewer\"]\nos_user = \"{me}\"\n"));
    tw(dir.path()).arg("sync").assert().success();
    let rows = json_of(tw(dir.path()).args(["credentials", "--format", "json", "--filter", "status:active", "--limit", "1"]));
    let id = rows[0]["id"].as_str().expect("id").to_string();
    tw(dir.path())
        .args(["revoke", &id, "--reason", "test"])
        .assert()
        .failure()
        .stderr(predicate::str::contains("refused by policy").and(predicate::str::contains("revokers: operators with the approver or admin role")));
    tw(dir.path()).args(["revoke", "--owner", "ana@acme.test", "--reason", "offboarded"]).assert().failure().stderr(predicate::str::contains("bulk-revoke-admins"));
    let log = audit(dir.path());
    assert!(log.contains("revoke.refused vic@acme.test") && log.contains("revoke_owner.refused vic@acme.test"), "{log}");
    assert!(!log.lines().any(|l| l.starts_with("revoke vic")), "{log}");

    write_config(dir.path(), &issuer.url, "");
    tw(dir.path())
        .args(["revoke", &id, "--reason", "test", "--format", "json"])
        .assert()
        .success()
        .stderr(predicate::str::contains("no [operators] configured: everyone may approve"));
    assert!(audit(dir.path()).contains(&format!("revoke {me}")), "without --operator the account name acts");
    tw(dir.path()).args(["policy", "show"]).assert().success().stdout(predicate::str::contains("revokers").and(predicate::str::contains("bulk-revoke-admins")).and(predicate::str::contains("reviewers-decide")));
}

#[tokio::test]
async fn the_tui_opens_saying_that_everyone_may_approve() {
    use tokenward::context::{TuiSettings, NO_OPERATORS_WARNING};
    let store = common::seeded_store(5).await;
    let actions = tokenward::actions::Actions::new(store.clone(), &[], "ana", false);
    let settings = TuiSettings { identity_warning: Some(NO_OPERATORS_WARNING.into()), ..TuiSettings::defaults("ana") };
    let app = tokenward::tui::Session::new(&settings, store, actions, Vec::new()).app(common::fixed_now());
    assert!(app.status.as_ref().is_some_and(|(_, s)| s.contains("everyone may approve")), "{:?}", app.status);
}
