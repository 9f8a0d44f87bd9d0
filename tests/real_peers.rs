//! Against real servers on loopback (started by the tests, installed by
//! scripts/test): a SCIM directory (scim2-server), an OAuth server
//! (oidc-provider) and the reference protocol-v1 issuer, configured together.
use assert_cmd::Command;
use predicates::prelude::*;
use serde_json::{json, Value};

mod common;
use common::peers;

const SCIM_TOKEN: &str = "scim-admin-token";
const SECURITY_SECRET: &str = "security-client-secret";
const AGENT_SECRET: &str = "agent-client-secret";

fn write_config(dir: &std::path::Path, scim: &str, broker: &str, oauth: &str) -> std::path::PathBuf {
    let path = dir.join("tokenward.toml");
    std::fs::write(
        &path,
        format!(
            r#"operator = "sec@acme.test"

[[issuer]]
name = "directory"
kind = "scim"
url = "{scim}"
token_env = "TW_SCIM_TOKEN"
page_size = 7

[[issuer]]
name = "broker"
kind = "tokenward"
url = "{broker}"

[[issuer]]
name = "auth"
kind = "oauth"
url = "{oauth}"
client_id = "tokenward-security"
client_secret_env = "TW_OAUTH_SECRET"
"#
        ),
    )
    .expect("write config");
    path
}

fn tw(dir: &std::path::Path) -> Command {
    let mut c = Command::new(common::bin());
    c.arg("--db")
        .arg(dir.join("inv.db"))
        .arg("--config")
        .arg(dir.join("tokenward.toml"))
        .env("TW_SCIM_TOKEN", SCIM_TOKEN)
        .env("TW_OAUTH_SECRET", SECURITY_SECRET);
    c
}

fn json_of(c: &mut Command) -> Value {
    let out = c.assert().success();
    serde_json::from_slice(&out.get_output().stdout).expect("json")
}

/// Creates the org's people in the directory, all active; returns email -> SCIM id.
fn seed_directory(client: &reqwest::blocking::Client, scim: &str, people: &[String]) -> std::collections::HashMap<String, String> {
    let mut ids = std::collections::HashMap::new();
    for email in people {
        let body = json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "userName": email,
            "emails": [{"value": email, "primary": true}],
            "active": true
        });
        let r = client
            .post(format!("{scim}/Users"))
            .bearer_auth(SCIM_TOKEN)
            .header("Content-Type", "application/scim+json")
            .body(body.to_string())
            .send()
            .expect("scim answers");
        assert_eq!(r.status(), 201, "create {email}: {}", r.text().unwrap_or_default());
        let v: Value = r.json().expect("json");
        ids.insert(email.clone(), v["id"].as_str().expect("id").to_string());
    }
    ids
}

#[test]
fn a_person_deactivated_in_the_directory_is_offboarded_after_the_next_sync() {
    let scim = peers::scim(SCIM_TOKEN);
    let broker = peers::reference_issuer(300, 11);
    let oauth = peers::oidc(SECURITY_SECRET, AGENT_SECRET);
    let dir = tempfile::tempdir().expect("tempdir");
    write_config(dir.path(), &scim.url, &broker.url, &oauth.url);
    tw(dir.path()).args(["config", "check"]).assert().success().stdout(predicate::str::contains(": ok"));

    let org = tokenward::reference::org::Org::new(300, 11, chrono::Utc::now());
    let people: Vec<String> = org.owners().into_iter().map(|o| o.email).collect();
    let client = reqwest::blocking::Client::new();
    let ids = seed_directory(&client, &scim.url, &people);

    tw(dir.path()).arg("sync").assert().success().stderr(predicate::str::contains("directory: done").and(predicate::str::contains("broker: done: 300 credentials")));
    // The directory is the truth on who left: everyone is active there, whatever the broker said.
    let off = json_of(tw(dir.path()).args(["credentials", "--format", "json", "--filter", "owner-status:offboarded"]));
    assert_eq!(off.as_array().map(Vec::len), Some(0), "{off}");

    // Pick a person who owns credentials, and deactivate them in the directory.
    let leaver = people
        .iter()
        .find(|p| json_of(tw(dir.path()).args(["credentials", "--format", "json", "--filter", &format!("owner:{p}")])).as_array().is_some_and(|a| a.len() >= 2))
        .expect("someone owns two credentials")
        .clone();
    let patch = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [{"op": "replace", "path": "active", "value": false}]});
    let r = client
        .patch(format!("{}/Users/{}", scim.url, ids[&leaver]))
        .bearer_auth(SCIM_TOKEN)
        .header("Content-Type", "application/scim+json")
        .body(patch.to_string())
        .send()
        .expect("scim answers");
    assert!(r.status().is_success(), "deactivate: {}", r.status());

    tw(dir.path()).arg("sync").assert().success();
    let off = json_of(tw(dir.path()).args(["credentials", "--format", "json", "--filter", "owner-status:offboarded"]));
    let theirs = json_of(tw(dir.path()).args(["credentials", "--format", "json", "--filter", &format!("owner:{leaver}")]));
    let ids_of = |v: &Value| v.as_array().expect("array").iter().map(|c| c["id"].as_str().expect("id").to_string()).collect::<std::collections::BTreeSet<_>>();
    assert_eq!(ids_of(&off), ids_of(&theirs), "exactly the leaver's credentials");
    assert!(off.as_array().expect("array").iter().all(|c| c["owner_status"] == "offboarded"));
    let issuers = json_of(tw(dir.path()).args(["issuers", "--format", "json"]));
    assert!(issuers.as_array().expect("array").iter().any(|i| i["name"] == "directory" && i["last_run"]["status"] == "ok"));

    // The sync computed findings: owner-offboarded fires on exactly the leaver's active credentials.
    let live: std::collections::BTreeSet<String> = theirs
        .as_array()
        .expect("array")
        .iter()
        .filter(|c| c["status"] == "active")
        .map(|c| c["id"].as_str().expect("id").to_string())
        .collect();
    let findings = json_of(tw(dir.path()).args(["findings", "--rule", "owner-offboarded", "--format", "json"]));
    let flagged: std::collections::BTreeSet<String> =
        findings.as_array().expect("array").iter().map(|f| f["credential_id"].as_str().expect("id").to_string()).collect();
    assert_eq!(flagged, live, "{findings}");
    assert!(findings.as_array().expect("array").iter().all(|f| f["owner"] == leaver.as_str() && f["frameworks"].as_array().is_some_and(|a| !a.is_empty())));

    // Offboarding: the dry run lists exactly what would be revoked and changes nothing ...
    let plan = json_of(tw(dir.path()).args(["revoke", "--owner", &leaver, "--dry-run", "--format", "json"]));
    assert_eq!(plan["dry_run"], true);
    let planned: std::collections::BTreeSet<String> = plan["plan"]["credentials"]
        .as_array()
        .expect("array")
        .iter()
        .filter(|c| c["status"] == "active" && c["relation"] == "owned")
        .map(|c| c["credential_id"].as_str().expect("id").to_string())
        .collect();
    assert_eq!(planned, live);
    assert_eq!(json_of(tw(dir.path()).args(["findings", "--rule", "owner-offboarded", "--format", "json"])).as_array().map(Vec::len), Some(live.len()));
    // ... then the run revokes it all at the issuer, confirmed by a fresh sync from the issuer itself.
    let done = json_of(tw(dir.path()).args(["revoke", "--owner", &leaver, "--reason", "left the company, HR-1", "--format", "json"]));
    assert!(done["failed"].as_array().is_some_and(Vec::is_empty) && done["queued"].as_array().is_some_and(Vec::is_empty), "{done}");
    tw(dir.path()).arg("sync").assert().success();
    let after = json_of(tw(dir.path()).args(["credentials", "--format", "json", "--filter", &format!("owner:{leaver} status:active")]));
    assert_eq!(after.as_array().map(Vec::len), Some(0), "the issuer reports none of theirs active: {after}");
    let findings = json_of(tw(dir.path()).args(["findings", "--rule", "owner-offboarded", "--format", "json"]));
    assert_eq!(findings.as_array().map(Vec::len), Some(0), "{findings}");
    tw(dir.path()).args(["audit", "verify"]).assert().success();
}

fn agent_token(client: &reqwest::blocking::Client, oauth: &str, scope: &str) -> String {
    let r = client
        .post(format!("{oauth}/token"))
        .basic_auth("deploy-bot", Some(AGENT_SECRET))
        .form(&[("grant_type", "client_credentials"), ("scope", scope)])
        .send()
        .expect("token endpoint answers");
    assert!(r.status().is_success(), "token: {}", r.status());
    let v: Value = r.json().expect("json");
    v["access_token"].as_str().expect("access_token").to_string()
}

#[test]
fn triage_of_a_leaked_token_ends_with_it_revoked_at_the_real_oauth_server() {
    let scim = peers::scim(SCIM_TOKEN);
    let broker = peers::reference_issuer(50, 3);
    let oauth = peers::oidc(SECURITY_SECRET, AGENT_SECRET);
    let dir = tempfile::tempdir().expect("tempdir");
    write_config(dir.path(), &scim.url, &broker.url, &oauth.url);
    tw(dir.path()).arg("sync").assert().success();
    let client = reqwest::blocking::Client::new();
    let token = agent_token(&client, &oauth.url, "repo:read deploy:prod");

    // Look first: live at the OAuth server, not in the inventory.
    let report = json_of(tw(dir.path()).args(["triage", "--format", "json"]).write_stdin(format!("{token}\n")));
    assert_eq!(report["fingerprint"], tokenward::domain::fingerprint(token.as_bytes()).as_str());
    assert!(report["credential"].is_null());
    let seen = &report["introspections"][0];
    assert_eq!(seen["issuer"], "auth");
    assert_eq!(seen["introspection"]["active"], true);
    assert_eq!(seen["introspection"]["client_id"], "deploy-bot");
    assert_eq!(seen["introspection"]["scopes"], json!(["repo:read", "deploy:prod"]));
    assert!(report["revocations"].as_array().is_some_and(Vec::is_empty));

    // Then revoke: the server confirms, and its introspection now answers inactive.
    let report = json_of(tw(dir.path()).args(["triage", "--format", "json", "--revoke", "--reason", "pasted in #eng-chat, INC-9"]).write_stdin(token.clone()));
    assert_eq!(report["revocations"][0]["revoked"], true);
    assert_eq!(report["revocations"][0]["confirmed_inactive"], true);
    let r: Value = client
        .post(format!("{}/token/introspection", oauth.url))
        .basic_auth("tokenward-security", Some(SECURITY_SECRET))
        .form(&[("token", token.as_str())])
        .send()
        .expect("introspection answers")
        .json()
        .expect("json");
    assert_eq!(r["active"], false);

    // The trail has the fingerprint and the outcome, never the token.
    tw(dir.path()).args(["audit", "verify"]).assert().success();
    let log = std::process::Command::new("sqlite3").arg(dir.path().join("inv.db")).arg("SELECT action || ' ' || target || ' ' || detail FROM audit_log").output().expect("sqlite3");
    let log = String::from_utf8_lossy(&log.stdout);
    assert!(log.contains("triage.revoke fingerprint:sha256:"), "{log}");
    assert!(!log.contains(&token), "the raw token reached the audit log");
    assert!(!log.contains(SECURITY_SECRET), "the client secret reached the audit log");

    // A token the inventory knows (the broker's credential 5): found by fingerprint and revoked there too.
    let org = tokenward::reference::org::Org::new(50, 3, chrono::Utc::now());
    let leaked = org.secret(5);
    let report = json_of(tw(dir.path()).args(["triage", "--format", "json", "--revoke", "--reason", "in a CI log"]).write_stdin(leaked));
    assert_eq!(report["credential"]["external_id"], "cred-0000005");
    let status = report["credential"]["status"].as_str().expect("status");
    if status == "active" {
        assert_eq!(report["inventory_revocation"]["status"], "revoked");
    }
    assert_eq!(report["introspections"][0]["introspection"]["active"], false, "unknown to the OAuth server");

    // Garbage and empty input are refused before anything is sent.
    tw(dir.path()).arg("triage").write_stdin("").assert().failure().stderr(predicate::str::contains("no token given"));
    tw(dir.path()).arg("triage").write_stdin("two tokens").assert().failure().stderr(predicate::str::contains("not one token"));
}

/// A person whose SCIM userName is a code host login (GitHub) rather than their
/// email: after a sync the login names that person, so a GitHub request made
/// under it counts as theirs for no-self-approval.
#[test]
fn a_directory_login_is_kept_as_an_alias_of_its_person() {
    let scim = peers::scim(SCIM_TOKEN);
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("tokenward.toml"), format!("[[issuer]]\nname = \"directory\"\nkind = \"scim\"\nurl = \"{}\"\ntoken_env = \"TW_SCIM_TOKEN\"\n", scim.url)).expect("config");
    let body = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": "Octo-Lee",
        "emails": [{"value": "Lee@acme.test", "primary": true}],
        "active": true
    });
    let r = reqwest::blocking::Client::new()
        .post(format!("{}/Users", scim.url))
        .bearer_auth(SCIM_TOKEN)
        .header("Content-Type", "application/scim+json")
        .body(body.to_string())
        .send()
        .expect("scim answers");
    assert_eq!(r.status(), 201, "{}", r.text().unwrap_or_default());
    tw(dir.path()).arg("sync").assert().success();
    let db = rusqlite::Connection::open(dir.path().join("inv.db")).expect("open");
    let rows: Vec<(String, Option<String>)> = db
        .prepare("SELECT id, person FROM owners ORDER BY id")
        .expect("prepare")
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .expect("query")
        .collect::<Result<_, _>>()
        .expect("rows");
    assert_eq!(rows, [("lee@acme.test".to_string(), None), ("octo-lee".to_string(), Some("lee@acme.test".to_string()))]);
}
