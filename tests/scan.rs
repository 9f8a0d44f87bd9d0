//! Deployed where: `tokenward scan` against planted agent configurations (an MCP
//! client configuration, a dotenv file, an AWS shared-credentials file), joined to
//! the inventory of a real `tokenward issuer serve` process. Every planted value is
//! searched for afterwards in the database files, the audit log and the command's
//! output: only fingerprints may remain.
use std::collections::BTreeMap;
use std::path::Path;

use assert_cmd::Command;
use serde_json::Value;
use tokenward::reference::org::Org;

mod common;

const SEED: u64 = 9;
const N: u64 = 600;

fn tw(dir: &Path) -> Command {
    let mut c = Command::new(common::bin());
    c.arg("--db").arg(dir.join("inv.db")).arg("--config").arg(dir.join("tokenward.toml"));
    c
}

fn run_json(c: &mut Command) -> (Value, String) {
    let out = c.assert().success().get_output().clone();
    let json = serde_json::from_slice(&out.stdout).expect("json");
    (json, format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)))
}

#[test]
fn scan_finds_planted_credentials_joins_them_raises_findings_and_keeps_no_value() {
    let issuer = common::peers::reference_issuer(N, SEED);
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("tokenward.toml"), format!("operator = \"ana@acme.test\"\n[[issuer]]\nname = \"broker\"\nkind = \"tokenward\"\nurl = \"{}\"\n", issuer.url))
        .expect("config");
    tw(dir.path()).arg("sync").assert().success();

    // Which of the organisation's credentials are active and which are not, by the issuer's id.
    let (all, _) = run_json(tw(dir.path()).args(["credentials", "--format", "json"]));
    let status: BTreeMap<String, (String, String)> = all
        .as_array()
        .expect("array")
        .iter()
        .map(|c| (c["external_id"].as_str().expect("external id").to_string(), (c["id"].as_str().expect("id").to_string(), c["status"].as_str().expect("status").to_string())))
        .collect();
    let org = Org::new(N, SEED, chrono::Utc::now());
    let pick = |want_active: bool| {
        (0..N).find_map(|i| {
            let (id, st) = status.get(&org.credential(i).id)?;
            ((st == "active") == want_active).then(|| (id.clone(), org.secret(i)))
        })
    };
    let (live_id, live_secret) = pick(true).expect("an active credential");
    let (dead_id, dead_secret) = pick(false).expect("a revoked or expired credential");
    let unknown = "ghp_plantedButUnknownToEveryIssuer0001";
    let aws_secret = "wJalrXUtnFEMIplantedK7MDENGbPxRfiCYEXAMPLEKEY";

    // The planted configurations, and what a scan must leave alone.
    let root = dir.path().join("agents");
    std::fs::create_dir_all(root.join("host-a/.aws")).expect("dirs");
    std::fs::create_dir_all(root.join("host-a/node_modules")).expect("dirs");
    let mcp = serde_json::json!({"mcpServers": {
        "github": {"command": "npx", "env": {"GITHUB_TOKEN": live_secret, "LOG_LEVEL": "debug"}},
        "broker": {"url": "https://broker.acme.test/mcp", "headers": {"Authorization": format!("Bearer {dead_secret}")}},
        "shadow": {"command": "shadow-mcp", "args": ["--token", unknown]},
    }});
    std::fs::write(root.join("host-a/claude_desktop_config.json"), serde_json::to_string_pretty(&mcp).expect("json")).expect("mcp");
    std::fs::write(root.join("host-a/.env"), format!("# agent\nexport API_TOKEN=\"{live_secret}\"\nREGION=eu-west-1\n")).expect("dotenv");
    std::fs::write(root.join("host-a/.aws/credentials"), format!("[default]\naws_access_key_id = AKIAPLANTEDKEY0001\naws_secret_access_key = {aws_secret}\n")).expect("aws");
    std::fs::write(root.join("host-a/node_modules/.env"), format!("API_TOKEN={unknown}x\n")).expect("dependency");
    std::fs::write(root.join("host-a/mcp.json"), "{ not json").expect("broken");
    std::fs::write(root.join("host-a/big.env"), "A_TOKEN=".to_string() + &"x".repeat(1_100_000)).expect("oversize");
    let outside = dir.path().join("outside.env");
    std::fs::write(&outside, format!("API_TOKEN={unknown}-outside\n")).expect("outside");
    std::os::unix::fs::symlink(&outside, root.join("host-a/linked.env")).expect("symlink");

    let (scan, said) = run_json(tw(dir.path()).args(["scan", "--host", "host-a", "--format", "json"]).arg(&root));
    let deployments = scan["deployments"].as_array().expect("deployments");
    let by_location = |loc: &str| deployments.iter().find(|d| d["location"] == loc).unwrap_or_else(|| panic!("{loc} in {scan}"));
    assert_eq!(by_location("mcpServers.github.env.GITHUB_TOKEN")["credential_id"], live_id.as_str());
    assert_eq!(by_location("API_TOKEN")["credential_id"], live_id.as_str());
    assert_eq!(by_location("mcpServers.broker.headers.Authorization")["credential_id"], dead_id.as_str());
    assert_eq!(by_location("mcpServers.shadow.args[1]")["credential_id"], Value::Null, "a secret no issuer knows");
    let aws = by_location("[default] aws_secret_access_key");
    assert_eq!((aws["key_id"].as_str(), aws["format"].as_str()), (Some("AKIAPLANTEDKEY0001"), Some("aws-credentials")));
    assert_eq!(deployments.len(), 5, "LOG_LEVEL and REGION are not secrets; node_modules is not read: {scan}");
    assert!(deployments.iter().all(|d| d["host"] == "host-a" && d["fingerprint"].as_str().is_some_and(|f| f.starts_with("sha256:"))));
    let skipped: Vec<String> = scan["skipped"].as_array().expect("skipped").iter().map(|s| format!("{} {}", s["path"], s["reason"])).collect();
    for (what, why) in [("mcp.json", "not JSON"), ("big.env", "more than"), ("linked.env", "symlink")] {
        assert!(skipped.iter().any(|s| s.contains(what) && s.contains(why)), "{what}: {skipped:?}");
    }

    // The findings the deployments raise, and `show` lists where a credential sits.
    let (plain, _) = run_json(tw(dir.path()).args(["findings", "--rule", "plaintext-in-config", "--format", "json"]));
    assert_eq!(plain.as_array().expect("array").iter().map(|f| f["credential_id"].as_str().expect("id")).collect::<Vec<_>>(), [live_id.as_str()]);
    assert!(plain[0]["summary"].as_str().is_some_and(|s| s.contains("2 file(s)")), "{plain}");
    let (dead, _) = run_json(tw(dir.path()).args(["findings", "--rule", "revoked-still-deployed", "--format", "json"]));
    assert_eq!(dead.as_array().expect("array").iter().map(|f| f["credential_id"].as_str().expect("id")).collect::<Vec<_>>(), [dead_id.as_str()]);
    // Secrets no issuer knows are shadow credentials: a finding on each fingerprint.
    let (shadow, _) = run_json(tw(dir.path()).args(["findings", "--rule", "unknown-in-config", "--format", "json"]));
    let mut shadows: Vec<String> = shadow.as_array().expect("array").iter().map(|f| f["credential_id"].as_str().expect("id").to_string()).collect();
    shadows.sort();
    let mut want = vec![tokenward::domain::fingerprint(unknown.as_bytes()), tokenward::domain::fingerprint(aws_secret.as_bytes())];
    want.sort();
    assert_eq!(shadows, want, "{shadow}");
    let (shown, _) = run_json(tw(dir.path()).args(["show", &live_id, "--format", "json"]));
    let places: Vec<&str> = shown["deployments"].as_array().expect("deployments").iter().map(|d| d["location"].as_str().expect("location")).collect();
    assert_eq!(places, ["API_TOKEN", "mcpServers.github.env.GITHUB_TOKEN"]);
    let text = String::from_utf8(tw(dir.path()).args(["show", &live_id]).assert().success().get_output().stdout.clone()).expect("utf8");
    assert!(text.contains("deployed in") && text.contains("claude_desktop_config.json"), "{text}");

    // A second scan replaces the first: the dotenv line is gone, the rest keeps its first sighting.
    std::fs::write(root.join("host-a/.env"), "REGION=eu-west-1\n").expect("dotenv");
    let first_seen = by_location("mcpServers.github.env.GITHUB_TOKEN")["first_seen"].clone();
    let (again, said_again) = run_json(tw(dir.path()).args(["scan", "--host", "host-a", "--format", "json"]).arg(&root));
    let locations: Vec<&str> = again["deployments"].as_array().expect("array").iter().map(|d| d["location"].as_str().expect("location")).collect();
    assert!(!locations.contains(&"API_TOKEN") && locations.len() == 4, "{again}");
    let github = again["deployments"].as_array().expect("array").iter().find(|d| d["location"] == "mcpServers.github.env.GITHUB_TOKEN").expect("github");
    assert_eq!(github["first_seen"], first_seen);

    // No planted value anywhere: the database and its WAL, the audit log, the output.
    let (log, _) = run_json(tw(dir.path()).args(["audit", "log", "--limit", "100", "--format", "json"]));
    assert!(log.as_array().expect("array").iter().any(|e| e["action"] == "scan" && e["target"] == "host:host-a"), "{log}");
    let mut haystack = format!("{said}{said_again}{log}");
    for file in ["inv.db", "inv.db-wal"] {
        if let Ok(bytes) = std::fs::read(dir.path().join(file)) {
            haystack.push_str(&String::from_utf8_lossy(&bytes));
        }
    }
    for planted in [live_secret.as_str(), dead_secret.as_str(), unknown, aws_secret] {
        assert!(!haystack.contains(planted), "a planted value was kept somewhere");
    }
    assert!(haystack.contains(&tokenward::domain::fingerprint(aws_secret.as_bytes())), "its fingerprint is what remains");

    // `[[scan]]` in the configuration: every sync reads the folder again, as this host.
    let config = std::fs::read_to_string(dir.path().join("tokenward.toml")).expect("config");
    std::fs::write(dir.path().join("tokenward.toml"), format!("{config}[[scan]]\npaths = [\"{}\"]\nhost = \"host-b\"\n", root.display())).expect("config");
    tw(dir.path()).arg("sync").assert().success().stderr(predicates::str::contains("scan host-b:"));
    let (shown, _) = run_json(tw(dir.path()).args(["show", &live_id, "--format", "json"]));
    assert!(shown["deployments"].as_array().expect("deployments").iter().any(|d| d["host"] == "host-b"), "{shown}");

    // Read-only mode records nothing.
    tw(dir.path()).args(["--read-only", "scan"]).arg(&root).assert().failure().stderr(predicates::str::contains("read-only"));
}
