//! Revoking by filter through the CLI against a real `tokenward issuer serve`
//! process: `task:ended` selects what outlived its task, the dry run changes
//! nothing, the run ends each credential at the issuer (a fresh sync from the
//! issuer confirms it), each revocation has its own audit entry, and a filter
//! that selects more than the cap is refused before any issuer is asked.
use std::collections::BTreeSet;

use assert_cmd::Command;
use predicates::prelude::*;
use serde_json::Value;

mod common;

fn tw(dir: &std::path::Path) -> Command {
    let mut c = Command::new(common::bin());
    c.arg("--db").arg(dir.join("inv.db")).arg("--config").arg(dir.join("tokenward.toml"));
    c
}

fn json_of(c: &mut Command) -> Value {
    let out = c.assert().success();
    serde_json::from_slice(&out.get_output().stdout).expect("json")
}

fn ids(v: &Value, key: &str) -> BTreeSet<String> {
    v.as_array().expect("array").iter().map(|c| c[key].as_str().expect("id").to_string()).collect()
}

#[test]
fn revoke_by_filter_ends_what_outlived_its_task_at_the_issuer() {
    let issuer = common::peers::reference_issuer(3000, 8);
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("tokenward.toml"), format!("operator = \"ana@acme.test\"\n[[issuer]]\nname = \"broker\"\nkind = \"tokenward\"\nurl = \"{}\"\n", issuer.url))
        .expect("config");
    tw(dir.path()).arg("sync").assert().success();

    // What outlived its task, with the issuer's own id on every row.
    let outlived = json_of(tw(dir.path()).args(["credentials", "--filter", "task:ended status:active", "--format", "json"]));
    let live = ids(&outlived, "id");
    assert!(!live.is_empty() && live.len() < 1000, "{} credentials outlived their task", live.len());
    assert!(outlived.as_array().expect("array").iter().all(|c| c["external_id"].as_str().is_some_and(|e| !e.is_empty()) && c["task_id"].is_string()));
    let ended_any = json_of(tw(dir.path()).args(["credentials", "--filter", "task:ended", "--format", "json"]));
    assert!(ids(&ended_any, "id").len() > live.len(), "some ended-task credentials are no longer active");

    // The dry run plans exactly those (the active ones) and changes nothing.
    let plan = json_of(tw(dir.path()).args(["revoke", "--filter", "task:ended", "--dry-run", "--format", "json"]));
    assert_eq!((plan["dry_run"].clone(), plan["filter"].clone()), (true.into(), "task:ended".into()), "{plan}");
    assert_eq!(plan["plan"]["active"].as_u64(), Some(live.len() as u64));
    assert_eq!(plan["plan"]["matched"].as_u64(), Some(ids(&ended_any, "id").len() as u64));
    assert_eq!(ids(&plan["plan"]["credentials"], "credential_id"), live);
    assert!(plan["revoked"].as_array().is_some_and(Vec::is_empty));
    assert_eq!(ids(&json_of(tw(dir.path()).args(["credentials", "--filter", "task:ended status:active", "--format", "json"])), "id"), live, "a dry run changes nothing");

    // A reason is required; read-only mode refuses; an empty filter is not "everything".
    tw(dir.path()).args(["revoke", "--filter", "task:ended"]).assert().failure();
    tw(dir.path()).args(["--read-only", "revoke", "--filter", "task:ended", "--reason", "x"]).assert().failure().stderr(predicate::str::contains("read-only"));
    tw(dir.path()).args(["revoke", "--filter", "", "--reason", "x"]).assert().failure().stderr(predicate::str::contains("a filter is required"));
    // More than the cap: refused before any issuer is asked, saying how to narrow it.
    tw(dir.path())
        .args(["revoke", "--filter=-task:ended status:active", "--reason", "x"])
        .assert()
        .failure()
        .stderr(predicate::str::contains("more than 1000").and(predicate::str::contains("Narrow the filter")));

    // The run: every one revoked at the issuer, each with its own audit entry, then one for the whole.
    let done = json_of(tw(dir.path()).args(["revoke", "--filter", "task:ended", "--reason", "tasks ended, INC-2231", "--format", "json"]));
    assert_eq!(ids(&done["revoked"], "credential_id"), live, "{done}");
    assert!(done["failed"].as_array().is_some_and(Vec::is_empty) && done["queued"].as_array().is_some_and(Vec::is_empty), "{done}");
    let log = json_of(tw(dir.path()).args(["audit", "log", "--limit", "5000", "--format", "json"]));
    let entries = log.as_array().expect("array");
    let revoked: BTreeSet<String> =
        entries.iter().filter(|e| e["action"] == "revoke").filter_map(|e| e["target"].as_str()?.strip_prefix("credential:").map(str::to_string)).collect();
    assert_eq!(revoked, live);
    assert!(entries.iter().any(|e| e["action"] == "revoke.filter" && e["target"] == "filter:task:ended" && e["actor"] == "ana@acme.test"), "one entry for the whole run");
    tw(dir.path()).args(["audit", "verify"]).assert().success();

    // The issuer's own word: a fresh sync lists none of them active.
    tw(dir.path()).arg("sync").assert().success();
    let after = json_of(tw(dir.path()).args(["credentials", "--filter", "task:ended status:active", "--format", "json"]));
    assert_eq!(after.as_array().map(Vec::len), Some(0), "{after}");
    tw(dir.path()).args(["revoke", "--filter", "task:ended", "--reason", "again"]).assert().success().stderr(predicate::str::contains("0 revoked"));
}
