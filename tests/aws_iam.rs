//! Cloud access keys against a real implementation of AWS IAM's API: `moto` in
//! server mode (PyPI, pinned by scripts/test), set up and checked with boto3, AWS's
//! own SDK. tokenward signs its requests with Signature Version 4 (moto accepts any
//! key; the signer is checked against AWS's worked example in its unit tests).
//! The sync reads service users under a path prefix, their keys, tags and policies;
//! the findings fire on the keys as on any credential; revoking deactivates the key
//! at moto, as boto3 then reads it.
use std::collections::BTreeMap;
use std::path::Path;

use assert_cmd::Command;
use serde_json::Value;

mod common;

fn tw(dir: &Path) -> Command {
    let mut c = Command::new(common::bin());
    c.arg("--db").arg(dir.join("inv.db")).arg("--config").arg(dir.join("tokenward.toml")).env("TW_AWS_SECRET", "tokenward-test-secret");
    c
}

fn json_of(c: &mut Command) -> Value {
    serde_json::from_slice(&c.assert().success().get_output().stdout).expect("json")
}

fn iam_py(args: &[&str]) -> Value {
    let out = std::process::Command::new(common::peers::peers_python())
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/peers/iam.py"))
        .args(args)
        .output()
        .expect("python runs");
    assert!(out.status.success(), "iam.py {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("iam.py prints json")
}

#[test]
fn iam_access_keys_sync_raise_findings_and_are_deactivated_at_the_issuer() {
    let moto = common::peers::moto();
    let broker = common::peers::reference_issuer(600, 12);
    let dir = tempfile::tempdir().expect("tempdir");
    // Someone the organisation's directory (here the broker's people) knows as gone.
    let owners: Value = reqwest::blocking::get(format!("{}/v1/owners?limit=1000", broker.url)).expect("owners").json().expect("json");
    let person = |status: &str| {
        owners["items"].as_array().expect("items").iter().find(|o| o["status"] == status).expect("such a person")["email"].as_str().expect("email").to_lowercase()
    };
    let (present, leaver) = (person("active"), person("offboarded"));
    let keys = iam_py(&["seed", &moto.url, &present, &leaver]);
    let key = |user: &str| keys[user].as_str().expect("key id").to_string();
    std::fs::write(
        dir.path().join("tokenward.toml"),
        format!(
            "operator = \"ana@acme.test\"\n[findings]\nsensitive = [\"AdministratorAccess\"]\n\
             [[issuer]]\nname = \"broker\"\nkind = \"tokenward\"\nurl = \"{}\"\n\
             [[issuer]]\nname = \"aws\"\nkind = \"aws-iam\"\nurl = \"{}\"\nclient_id = \"AKIATOKENWARDTEST001\"\nclient_secret_env = \"TW_AWS_SECRET\"\npath_prefix = \"/service/\"\n",
            broker.url, moto.url
        ),
    )
    .expect("config");
    tw(dir.path()).arg("sync").assert().success();

    // The service users' keys, and not the human's (outside the path prefix).
    let listed = json_of(tw(dir.path()).args(["credentials", "--filter", "issuer:aws", "--sort", "id", "--format", "json"]));
    let by_key: BTreeMap<String, Value> = listed.as_array().expect("array").iter().map(|c| (c["external_id"].as_str().expect("id").to_string(), c.clone())).collect();
    let want: std::collections::BTreeSet<String> = ["deploy-bot", "etl-runner", "orphan-svc"].iter().map(|u| key(u)).collect();
    assert_eq!(by_key.keys().cloned().collect::<std::collections::BTreeSet<_>>(), want, "{listed}");
    let deploy = &by_key[&key("deploy-bot")];
    assert_eq!((deploy["kind"].as_str(), deploy["binding"].as_str(), deploy["status"].as_str()), (Some("api_key"), Some("bearer"), Some("active")));
    assert_eq!((deploy["owner"].as_str(), deploy["workload"].as_str()), (Some(present.as_str()), Some("deploy-bot")));
    assert_eq!(deploy["scopes"], serde_json::json!(["AdministratorAccess-Lab"]));
    assert_eq!(by_key[&key("etl-runner")]["scopes"], serde_json::json!(["s3-read-exports"]));
    assert_eq!(by_key[&key("etl-runner")]["owner_status"], "offboarded");
    assert_eq!(by_key[&key("orphan-svc")]["owner"], Value::Null);
    let shown = json_of(tw(dir.path()).args(["show", &key("deploy-bot"), "--format", "json"]));
    assert_eq!((shown["credential"]["last_used_at"].clone(), shown["credential"]["subject"].clone()), (Value::Null, "deploy-bot".into()), "never used: no date");

    // The findings fire on keys as on any credential.
    let fired = |rule: &str| -> Vec<String> {
        let f = json_of(tw(dir.path()).args(["findings", "--rule", rule, "--format", "json", "--limit", "5000"]));
        let ids: Vec<String> = f.as_array().expect("array").iter().map(|x| x["credential_id"].as_str().expect("id").to_string()).collect();
        by_key.values().filter(|c| ids.contains(&c["id"].as_str().expect("id").to_string())).map(|c| c["external_id"].as_str().expect("key").to_string()).collect()
    };
    assert_eq!(fired("owner-offboarded"), [key("etl-runner")]);
    assert_eq!(fired("owner-missing"), [key("orphan-svc")]);
    assert_eq!(fired("bearer-sensitive"), [key("deploy-bot")]);
    assert_eq!(fired("no-expiry").len(), 3, "access keys never expire");

    // A shared-credentials file on a runner holds two of these keys: joined by their key ids.
    std::fs::create_dir_all(dir.path().join("runner/.aws")).expect("dir");
    std::fs::write(
        dir.path().join("runner/.aws/credentials"),
        format!(
            "[deploy]\naws_access_key_id = {}\naws_secret_access_key = plantedSecretOne0000000000000001\n[etl]\naws_access_key_id = {}\naws_secret_access_key = plantedSecretTwo0000000000000002\n",
            key("deploy-bot"),
            key("etl-runner")
        ),
    )
    .expect("credentials file");
    let scanned = json_of(tw(dir.path()).args(["scan", "--host", "ci-runner", "--format", "json"]).arg(dir.path().join("runner")));
    let joined: Vec<Value> = scanned["deployments"].as_array().expect("array").iter().map(|d| d["credential_id"].clone()).collect();
    assert_eq!(joined, [deploy["id"].clone(), by_key[&key("etl-runner")]["id"].clone()], "{scanned}");
    let mut plain = fired("plaintext-in-config");
    plain.sort();
    let mut both = vec![key("deploy-bot"), key("etl-runner")];
    both.sort();
    assert_eq!(plain, both);

    // Offboarding by filter: the leaver's key is deactivated at the issuer, as AWS's SDK reads it.
    let done = json_of(tw(dir.path()).args(["revoke", "--filter", "issuer:aws owner-status:offboarded", "--reason", "owner left, HR-77", "--format", "json"]));
    assert_eq!(done["revoked"].as_array().map(Vec::len), Some(1), "{done}");
    assert!(done["revoked"][0]["issuer_answer"]["body"].as_str().is_some_and(|b| b.contains("Inactive")), "{done}");
    assert_eq!(iam_py(&["status", &moto.url, "etl-runner"]), serde_json::json!({ key("etl-runner"): "Inactive" }));
    assert_eq!(iam_py(&["status", &moto.url, "deploy-bot"]), serde_json::json!({ key("deploy-bot"): "Active" }), "nothing else changed");
    // A fresh sync reads it back from the issuer: revoked, and its finding closed.
    tw(dir.path()).arg("sync").assert().success();
    let after = json_of(tw(dir.path()).args(["credentials", "--filter", "issuer:aws status:revoked", "--format", "json"]));
    assert_eq!(after.as_array().expect("array").iter().map(|c| c["external_id"].as_str().expect("key").to_string()).collect::<Vec<_>>(), [key("etl-runner")]);
    assert!(fired("owner-offboarded").is_empty());
    // Still in the runner's file: the agent will fail, or the file is a leak.
    assert_eq!(fired("revoked-still-deployed"), [key("etl-runner")]);
    assert_eq!(fired("plaintext-in-config"), [key("deploy-bot")]);
    tw(dir.path()).args(["audit", "verify"]).assert().success();
}

#[test]
fn a_missing_secret_is_a_configuration_error_naming_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("tokenward.toml"), "[[issuer]]\nname = \"aws\"\nkind = \"aws-iam\"\nurl = \"http://127.0.0.1:9\"\nclient_id = \"AKIAX\"\n").expect("config");
    tw(dir.path()).arg("sync").assert().failure().stderr(predicates::str::contains("client_secret_env or client_secret_file"));
}

/// A key never used since it was created is stale once the stale window has passed.
/// moto dates a key at its creation, so the window is a minute here, and the test waits it out.
#[test]
fn a_key_never_used_past_the_stale_window_is_found_stale() {
    let moto = common::peers::moto();
    let dir = tempfile::tempdir().expect("tempdir");
    let keys = iam_py(&["seed", &moto.url, "ana@acme.test", "vic@acme.test"]);
    std::fs::write(
        dir.path().join("tokenward.toml"),
        format!(
            "[findings]\nstale = \"1m\"\n[[issuer]]\nname = \"aws\"\nkind = \"aws-iam\"\nurl = \"{}\"\nclient_id = \"AKIATOKENWARDTEST001\"\nclient_secret_env = \"TW_AWS_SECRET\"\npath_prefix = \"/service/\"\n",
            moto.url
        ),
    )
    .expect("config");
    tw(dir.path()).arg("sync").assert().success();
    let stale = |dir: &Path| json_of(tw(dir).args(["findings", "--rule", "stale-unused", "--refresh", "--format", "json"]));
    assert_eq!(stale(dir.path()).as_array().map(Vec::len), Some(0), "created just now: not stale yet");
    std::thread::sleep(std::time::Duration::from_secs(62));
    let found = stale(dir.path());
    let summaries: Vec<&str> = found.as_array().expect("array").iter().map(|f| f["summary"].as_str().expect("summary")).collect();
    assert_eq!(summaries.len(), 3, "the three service keys: {found}");
    assert!(summaries.iter().all(|s| s.starts_with("never used; issued")), "{found}");
    let deploy = json_of(tw(dir.path()).args(["show", keys["deploy-bot"].as_str().expect("key"), "--format", "json"]));
    assert!(deploy["findings"].as_array().expect("findings").iter().any(|f| f[0] == "stale-unused"), "{deploy}");
}

/// One user IAM refuses to describe costs only that user: the page keeps the other
/// user's key and names the refused one. moto never refuses, so this uses recorded
/// answers (wiremock) in IAM's documented XML shape.
#[tokio::test]
async fn a_user_iam_refuses_to_describe_costs_only_that_user() {
    use wiremock::matchers::{body_string_contains, method};
    use wiremock::{Mock, MockServer, ResponseTemplate};
    let server = MockServer::start().await;
    let xml = |body: &str| ResponseTemplate::new(200).set_body_string(body.to_string());
    let answer = |action: &str, user: Option<&str>, body: ResponseTemplate| {
        let mut m = Mock::given(method("POST")).and(body_string_contains(format!("Action={action}")));
        if let Some(u) = user {
            m = m.and(body_string_contains(format!("UserName={u}")));
        }
        m.respond_with(body)
    };
    answer("ListUsers", None, xml("<ListUsersResponse><ListUsersResult><Users><member><UserName>good</UserName></member><member><UserName>locked</UserName></member><member><Path>/</Path></member></Users><IsTruncated>false</IsTruncated></ListUsersResult></ListUsersResponse>")).mount(&server).await;
    answer("ListAccessKeys", Some("locked"), ResponseTemplate::new(403).set_body_string("<ErrorResponse><Error><Code>AccessDenied</Code><Message>not authorized to list keys of locked</Message></Error></ErrorResponse>")).mount(&server).await;
    answer("ListAccessKeys", Some("good"), xml("<R><AccessKeyMetadata><member><AccessKeyId>AKIAGOOD000000000001</AccessKeyId><Status>Active</Status><CreateDate>2026-01-01T00:00:00Z</CreateDate></member></AccessKeyMetadata></R>")).mount(&server).await;
    answer("ListUserTags", None, xml("<R><Tags></Tags></R>")).mount(&server).await;
    answer("ListAttachedUserPolicies", None, xml("<R><AttachedPolicies></AttachedPolicies></R>")).mount(&server).await;
    answer("ListUserPolicies", None, xml("<R><PolicyNames></PolicyNames></R>")).mount(&server).await;
    answer("GetAccessKeyLastUsed", None, xml("<R><UserName>good</UserName><AccessKeyLastUsed><ServiceName>N/A</ServiceName><Region>N/A</Region></AccessKeyLastUsed></R>")).mount(&server).await;
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("secret"), "recorded-secret\n").expect("secret file");
    let cfg = tokenward::config::IssuerConfig {
        name: "aws".into(),
        kind: tokenward::domain::IssuerKind::AwsIam,
        url: server.uri(),
        client_id: Some("AKIATOKENWARDTEST001".into()),
        client_secret_file: Some(dir.path().join("secret")),
        ..Default::default()
    };
    let connector = tokenward::connectors::build(&cfg).expect("connector");
    let page = connector.list_credentials(None).await.expect("the page stands");
    assert_eq!(page.items.iter().map(|c| c.external_id.as_str()).collect::<Vec<_>>(), ["AKIAGOOD000000000001"]);
    let rejected: Vec<String> = page.rejected.iter().map(ToString::to_string).collect();
    assert_eq!(rejected.len(), 2, "{rejected:?}");
    assert!(rejected[0].starts_with("locked: ") && rejected[0].contains("AccessDenied"), "{rejected:?}");
    assert!(rejected[1].contains("UserName"), "{rejected:?}");
}
