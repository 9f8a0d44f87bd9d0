//! The command line on a temporary database, built by `demo --no-tui` through
//! the real sync path against the in-process reference issuer.
use assert_cmd::Command;
use predicates::prelude::*;

mod common;

fn tw(db: &std::path::Path) -> Command {
    let mut c = Command::new(common::bin());
    // No config file: the platform config dir points into the test's own directory.
    c.arg("--db").arg(db).env_remove("TOKENWARD_CONFIG").env("XDG_CONFIG_HOME", db.parent().expect("dir")).env("TOKENWARD_OPERATOR", "cli-test@acme.test");
    c
}

fn demo_db() -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("t.db");
    let mut c = Command::new(common::bin());
    c.args(["--db"]).arg(&db).args(["demo", "--no-tui", "--credentials", "400", "--seed", "3"]);
    c.env_remove("TOKENWARD_CONFIG").env("XDG_CONFIG_HOME", dir.path()).assert().success().stdout(predicate::str::contains("400 credentials"));
    (dir, db)
}

#[test]
fn credentials_json_has_the_documented_keys_and_honours_filters() {
    let (_dir, db) = demo_db();
    let out = tw(&db).args(["credentials", "--format", "json", "--filter", "binding:bearer", "--limit", "50"]).assert().success();
    let rows: Vec<serde_json::Value> = serde_json::from_slice(&out.get_output().stdout).expect("json array");
    assert!(!rows.is_empty() && rows.len() <= 50);
    for r in &rows {
        for key in ["id", "issuer", "kind", "owner", "owner_status", "workload", "scopes", "audience", "binding", "issued_at", "expires_at", "last_used_at", "status", "task_id"] {
            assert!(r.get(key).is_some(), "missing {key} in {r}");
        }
        assert_eq!(r["binding"], "bearer");
        assert!(r["scopes"].is_array() && r["audience"].is_array());
    }
}

#[test]
fn all_rows_page_through_without_duplicates() {
    let (_dir, db) = demo_db();
    let out = tw(&db).args(["credentials", "--format", "csv", "--sort", "owner"]).assert().success();
    let text = String::from_utf8(out.get_output().stdout.clone()).expect("utf8");
    let ids: std::collections::BTreeSet<&str> = text.lines().skip(1).map(|l| l.split(',').next().unwrap_or("")).collect();
    assert_eq!(ids.len(), 400);
}

#[test]
fn bad_filter_names_the_position_and_exits_non_zero() {
    let (_dir, db) = demo_db();
    tw(&db)
        .args(["credentials", "--filter", "owner:ana colour:red"])
        .assert()
        .failure()
        .stderr(predicate::str::starts_with("error: bad filter").and(predicate::str::contains("colour")));
    let out = tw(&db).args(["credentials", "--format", "json", "--filter", "colour:red"]).assert().failure();
    let v: serde_json::Value = serde_json::from_slice(&out.get_output().stdout).expect("json error");
    assert!(v["error"].as_str().is_some_and(|e| e.contains("colour")));
}

#[test]
fn show_prints_trail_and_chain_and_json() {
    let (_dir, db) = demo_db();
    let out = tw(&db).args(["credentials", "--format", "json", "--limit", "1"]).assert().success();
    let rows: Vec<serde_json::Value> = serde_json::from_slice(&out.get_output().stdout).expect("json");
    let id = rows[0]["id"].as_str().expect("id").to_string();
    tw(&db).args(["show", &id[..8]]).assert().success().stdout(predicate::str::contains("consent trail").and(predicate::str::contains("delegation chain")));
    let out = tw(&db).args(["show", &id, "--format", "json"]).assert().success();
    let v: serde_json::Value = serde_json::from_slice(&out.get_output().stdout).expect("json");
    assert_eq!(v["credential"]["id"], id.as_str());
    tw(&db).args(["show", "zzzz-none"]).assert().failure().stderr(predicate::str::contains("no credential matches"));
}

#[test]
fn revoke_needs_a_reason_and_a_reachable_issuer() {
    let (_dir, db) = demo_db();
    let out = tw(&db).args(["credentials", "--format", "json", "--limit", "1", "--filter", "status:active"]).assert().success();
    let rows: Vec<serde_json::Value> = serde_json::from_slice(&out.get_output().stdout).expect("json");
    let id = rows[0]["id"].as_str().expect("id").to_string();
    tw(&db).args(["revoke", &id, "--reason", "   "]).assert().failure().stderr(predicate::str::contains("a reason is required"));
    // The demo's issuer lived in the demo process: with no config, it is not reachable from here.
    tw(&db).args(["revoke", &id, "--reason", "leaked"]).assert().failure().stderr(predicate::str::contains("not configured"));
    tw(&db).args(["--read-only", "revoke", &id, "--reason", "leaked"]).assert().failure().stderr(predicate::str::contains("read-only"));
}

#[test]
fn audit_verify_accepts_the_demo_chain_and_grants_list() {
    let (_dir, db) = demo_db();
    // The demo's sync, the scan of its sample agent configurations, then the review campaign it starts.
    tw(&db).args(["audit", "verify"]).assert().success().stdout(predicate::str::contains("audit log intact: 3 entries"));
    let out = tw(&db).args(["grants", "--status", "pending", "--format", "json"]).assert().success();
    let g: Vec<serde_json::Value> = serde_json::from_slice(&out.get_output().stdout).expect("json");
    assert!(!g.is_empty());
    assert!(g.iter().all(|g| g["status"] == "pending"));
}

#[test]
fn a_named_config_file_must_exist() {
    let dir = tempfile::tempdir().expect("tempdir");
    Command::new(common::bin())
        .arg("--config")
        .arg(dir.path().join("missing.toml"))
        .arg("issuers")
        .assert()
        .failure()
        .stderr(predicate::str::contains("missing.toml").and(predicate::str::contains("No such file")));
}

#[test]
fn completions_and_man_page_render() {
    Command::new(common::bin()).args(["completions", "bash"]).assert().success().stdout(predicate::str::contains("tokenward"));
    Command::new(common::bin()).arg("man").assert().success().stdout(predicate::str::contains(".TH tokenward"));
}

#[test]
fn the_readme_example_configuration_parses_and_check_names_only_missing_secrets() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).expect("README");
    let example = readme.split("```toml\n").nth(1).and_then(|s| s.split("```").next()).expect("a toml block");
    let config = tokenward::config::Config::parse(example, std::path::Path::new("README.md")).expect("the README example parses");
    let kinds: Vec<String> = config.issuers.iter().map(|i| i.kind.to_string()).collect();
    assert_eq!(kinds, ["scim", "tokenward", "oauth", "github", "vault", "aws-iam"]);
    assert_eq!(config.scans.len(), 1, "the [[scan]] example");
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("tokenward.toml");
    std::fs::write(&path, example).expect("write");
    let out = Command::new(common::bin()).arg("--config").arg(&path).args(["config", "check"]).env_remove("SCIM_TOKEN").assert().failure();
    let err = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(err.contains("tokenward.toml:6: issuer 'directory': environment variable SCIM_TOKEN (token_env) is not set"), "{err}");
    assert!(err.contains("cannot read token_file /run/secrets/broker"), "{err}");
}

#[test]
fn policy_check_accepts_the_shipped_policies_and_names_a_broken_one() {
    Command::new(common::bin()).env("TOKENWARD_CONFIG", "/dev/null").args(["policy", "check"]).assert().success().stdout(predicate::str::contains("built-in policies: ok"));
    let dir = tempfile::tempdir().expect("tempdir");
    let policies = dir.path().join("policies");
    std::fs::create_dir_all(&policies).expect("dir");
    std::fs::write(policies.join("mine.cedar"), "@id(\"x\") @reason(\"r\") permit (principal, action, resource) when { context.not_in_the_schema };\n").expect("policy");
    let cfg = dir.path().join("tokenward.toml");
    std::fs::write(&cfg, format!("policies = \"{}\"\n", policies.display())).expect("config");
    Command::new(common::bin()).arg("--config").arg(&cfg).args(["policy", "check"]).assert().failure().stderr(predicate::str::contains("not_in_the_schema"));
}

#[test]
fn config_check_says_warnings_but_passes_on_them() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("tokenward.toml");
    std::fs::write(&path, "[[issuer]]\nname = \"lab\"\nkind = \"tokenward\"\nurl = \"http://broker.lab.test\"\nallow_http = true\n").expect("write");
    let out = Command::new(common::bin()).arg("--config").arg(&path).args(["config", "check"]).assert().success();
    let (stdout, stderr) = (String::from_utf8_lossy(&out.get_output().stdout).into_owned(), String::from_utf8_lossy(&out.get_output().stderr).into_owned());
    assert!(stderr.contains("warning: allow_http = true"), "{stderr}");
    assert!(stdout.contains(": ok"), "{stdout}");
    std::fs::write(&path, "[[issuer]]\nname = \"prod\"\nkind = \"tokenward\"\nurl = \"http://broker.acme.test\"\n").expect("write");
    let out = Command::new(common::bin()).arg("--config").arg(&path).args(["config", "check"]).assert().failure();
    assert!(String::from_utf8_lossy(&out.get_output().stderr).contains("not loopback"));
}

/// The demo with every other path inside `dir`: its own file is
/// `dir/data/tokenward/tokenward-demo.db`, and no config is read.
fn demo_in(dir: &std::path::Path) -> Command {
    let mut c = Command::new(common::bin());
    c.env_remove("TOKENWARD_CONFIG").env_remove("TOKENWARD_DB").env("XDG_CONFIG_HOME", dir).env("XDG_DATA_HOME", dir.join("data")).env("HOME", dir);
    c
}

/// A real inventory: a tokenward database with a campaign and its audit entry, never touched by a demo.
fn real_inventory(dir: &std::path::Path) -> (std::path::PathBuf, Vec<Option<Vec<u8>>>) {
    let db = dir.join("real.db");
    tw(&db).args(["review", "start", "keep-me"]).assert().success();
    (db.clone(), companions(&db))
}

/// The bytes of a database file and of its WAL and shm files (None where absent).
fn companions(db: &std::path::Path) -> Vec<Option<Vec<u8>>> {
    ["", "-wal", "-shm"].iter().map(|s| std::fs::read(format!("{}{s}", db.display())).ok()).collect()
}

#[test]
fn tokenward_db_in_the_environment_never_aims_the_demo_at_an_inventory() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (real, before) = real_inventory(dir.path());
    let own = dir.path().join("data").join("tokenward").join("tokenward-demo.db");
    demo_in(dir.path())
        .env("TOKENWARD_DB", &real)
        .args(["demo", "--no-tui", "--credentials", "60", "--seed", "3"])
        .assert()
        .success()
        .stdout(predicate::str::contains(own.display().to_string()));
    assert_eq!(companions(&real), before, "the inventory is byte-for-byte intact");
    assert!(tw(&real).args(["audit", "verify"]).assert().success().get_output().status.success());
}

#[test]
fn demo_refuses_a_named_file_that_is_not_a_demo_database() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (real, before) = real_inventory(dir.path());
    demo_in(dir.path())
        .args(["demo", "--no-tui", "--credentials", "60", "--db"])
        .arg(&real)
        .assert()
        .failure()
        .stderr(predicate::str::contains(real.display().to_string()).and(predicate::str::contains("not a tokenward demo database")).and(predicate::str::contains("demo --db NEW.db")));
    assert_eq!(companions(&real), before, "the inventory is byte-for-byte intact");
    // Something that is not a database at all is refused too, and left as it was.
    let notes = dir.path().join("notes.txt");
    std::fs::write(&notes, "my notes").expect("write");
    demo_in(dir.path()).args(["--db"]).arg(&notes).args(["demo", "--no-tui"]).assert().failure().stderr(predicate::str::contains("is not a tokenward database"));
    assert_eq!(std::fs::read_to_string(&notes).expect("notes"), "my notes");
}

#[test]
fn the_demo_replaces_its_own_previous_database() {
    let dir = tempfile::tempdir().expect("tempdir");
    let count = |n: &str| {
        let out = demo_in(dir.path()).args(["demo", "--no-tui", "--format", "json", "--seed", "4", "--credentials", n]).assert().success();
        let summary: serde_json::Value = serde_json::from_slice(&out.get_output().stdout).expect("json");
        summary["credentials"].as_i64().expect("count")
    };
    assert_eq!(count("80"), 80);
    assert_eq!(count("50"), 50, "the second demo starts from an empty file, not on top of the first");
    // A demo database named with --db is the demo's own too: it may be replaced.
    let named = dir.path().join("mine.db");
    for _ in 0..2 {
        demo_in(dir.path()).arg("--db").arg(&named).args(["demo", "--no-tui", "--credentials", "40"]).assert().success();
    }
}

#[test]
fn an_unmarked_file_at_the_demos_own_path_is_refused_with_how_to_clear_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let own = dir.path().join("data").join("tokenward").join("tokenward-demo.db");
    tw(&own).args(["review", "start", "keep-me"]).assert().success();
    let before = companions(&own);
    demo_in(dir.path())
        .args(["demo", "--no-tui", "--credentials", "40"])
        .assert()
        .failure()
        .stderr(predicate::str::contains(own.display().to_string()).and(predicate::str::contains("delete it (and its -wal and -shm files) yourself")));
    assert_eq!(companions(&own), before);
}

#[test]
fn config_init_writes_a_starter_that_parses_never_overwrites_and_sync_points_to_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("fresh/tokenward.toml");
    let init = || Command::new(common::bin()).arg("--config").arg(&path).args(["config", "init"]).assert();
    init().success().stdout(predicate::str::contains("tokenward.toml"));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&path).expect("written").permissions().mode() & 0o777, 0o600);
    }
    let text = std::fs::read_to_string(&path).expect("starter");
    let parsed = tokenward::config::Config::parse(&text, &path).expect("the starter parses as it is");
    assert!(parsed.issuers.is_empty() && parsed.operators.is_empty(), "everything is commented out");
    // Uncommenting every setting (`#key` lines, not `# prose`) gives one issuer of each kind, operators and a scan.
    let uncommented: String = text.lines().map(|l| if l.starts_with("# ") { l } else { l.strip_prefix('#').unwrap_or(l) }).collect::<Vec<_>>().join("\n");
    let full = tokenward::config::Config::parse(&uncommented, &path).expect("the uncommented starter parses");
    let kinds: Vec<String> = full.issuers.iter().map(|i| i.kind.to_string()).collect();
    assert_eq!(kinds, ["scim", "tokenward", "oauth", "github", "vault", "aws-iam"]);
    assert_eq!((full.operators.len(), full.scans.len()), (2, 1));
    // Never over an existing file, and the file is left as it was.
    std::fs::write(&path, "theme = \"light\"\n").expect("edit");
    init().failure().stderr(predicate::str::contains("exists already"));
    assert_eq!(std::fs::read_to_string(&path).expect("kept"), "theme = \"light\"\n");
    // With no issuer configured, sync says where to start.
    Command::new(common::bin())
        .arg("--config")
        .arg(&path)
        .arg("--db")
        .arg(dir.path().join("t.db"))
        .arg("sync")
        .assert()
        .failure()
        .stderr(predicate::str::contains("no issuers configured").and(predicate::str::contains("tokenward config init")).and(predicate::str::contains("tokenward demo")));
}

#[test]
fn home_json_counts_what_its_cli_twins_count() {
    let (_dir, db) = demo_db();
    let json = |args: &[&str]| -> serde_json::Value { serde_json::from_slice(&tw(&db).args(args).arg("--format").arg("json").assert().success().get_output().stdout).expect("json") };
    let home = json(&["home"]);
    let grants = json(&["grants", "--status", "pending"]);
    assert_eq!(home["grants"]["pending"].as_u64(), grants.as_array().map(|a| a.len() as u64));
    let summary = json(&["findings", "--summary"]);
    let by = |severity: &str| summary.as_array().expect("array").iter().filter(|c| c["severity"] == severity).map(|c| c["open"].as_i64().expect("open")).sum::<i64>();
    assert_eq!((home["findings"]["high"].as_i64(), home["findings"]["medium"].as_i64(), home["findings"]["low"].as_i64()), (Some(by("high")), Some(by("medium")), Some(by("low"))));
    assert!(home["findings"]["high"].as_i64() > Some(0));
    for (window, key) in [("24h", "within_24h"), ("7d", "within_7d")] {
        // The demo's credentials expire by the second: one may cross the window's edge
        // between the two commands, so a mismatch is counted again (at most twice).
        let mut counted = (None, Some(-1));
        for _ in 0..3 {
            let home = json(&["home"]);
            let groups = json(&["expiring", "--within", window]);
            let total: i64 = groups.as_array().expect("array").iter().map(|g| g["credentials"].as_i64().expect("count")).sum();
            counted = (home["expiring"][key].as_i64(), Some(total));
            if counted.0 == counted.1 {
                break;
            }
        }
        assert_eq!(counted.0, counted.1, "{window}");
    }
    let issuers = json(&["issuers"]);
    assert_eq!(home["issuers"].as_array().map(Vec::len), issuers.as_array().map(Vec::len));
    assert_eq!(home["issuers"][0]["status"], "ok");
    // Where to start: most first, at most ten, each count a filter's count.
    let owners = home["owners"].as_array().expect("owners");
    assert!(!owners.is_empty() && owners.len() <= 10);
    assert!(owners.windows(2).all(|w| w[0]["count"].as_i64() >= w[1]["count"].as_i64()));
    let text = String::from_utf8(tw(&db).arg("home").assert().success().get_output().stdout.clone()).expect("utf8");
    assert!(text.contains("grants waiting") && text.contains("where to start"), "{text}");
}
