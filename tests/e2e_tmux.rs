//! End to end: the real binary in tmux (private socket), through the demo:
//! filter, open the detail pane, revoke with a reason, see the status change.
use std::process::Command;
use std::time::{Duration, Instant};

mod common;
use common::tmux::Tmux;

#[test]
fn filter_detail_and_revoke_in_the_real_binary() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("e2e.db");
    let tmux = Tmux { socket: format!("tokenward-e2e-{}", std::process::id()) };
    let cmd = format!(
        "XDG_CONFIG_HOME={} TOKENWARD_OPERATOR=e2e@acme.test {} --db {} demo --credentials 600 --seed 5",
        dir.path().display(),
        common::bin(),
        db.display()
    );
    tmux.run(&["new-session", "-d", "-s", "tw", "-x", "170", "-y", "45", &cmd]);
    // The console opens on home; the table is a command away.
    tmux.wait_for("what needs attention", Duration::from_secs(60));
    tmux.send(&[":"]);
    tmux.type_text("credentials");
    tmux.send(&["Enter"]);
    tmux.wait_for("600 credentials │ row 1", Duration::from_secs(10));

    tmux.send(&["/"]);
    tmux.type_text("binding:bearer status:active -owner:none");
    tmux.send(&["Enter"]);
    tmux.wait_for("filter: binding:bearer status:active -owner:none", Duration::from_secs(10));
    // Rows arrive after the header: poll until the filtered rows are on screen, and only they.
    let is_row = |l: &&str| l.split_whitespace().next().is_some_and(|w| w.len() == 8 && w.chars().all(|c| c.is_ascii_hexdigit()));
    let start = Instant::now();
    let first_row = loop {
        let screen = tmux.screen();
        let rows: Vec<&str> = screen.lines().filter(is_row).collect();
        if !rows.is_empty() && rows.iter().all(|l| l.contains("bearer") && l.contains("active")) {
            break rows[0].to_string();
        }
        assert!(start.elapsed() < Duration::from_secs(10), "filtered rows never showed:\n{screen}");
        std::thread::sleep(Duration::from_millis(100));
    };
    let short_id = first_row.split_whitespace().next().expect("id").to_string();

    tmux.send(&["Enter"]);
    tmux.wait_for("consent trail", Duration::from_secs(10));
    tmux.wait_for(&short_id, Duration::from_secs(5));

    tmux.send(&["r"]);
    tmux.wait_for("revoke credential", Duration::from_secs(5));
    tmux.type_text("leaked in chat, INC-42");
    tmux.send(&["Enter"]);
    tmux.wait_for("y revoke", Duration::from_secs(5));
    tmux.send(&["y"]);
    let screen = tmux.wait_for("revoked at acme-broker", Duration::from_secs(15));
    assert!(screen.contains("(audit #"), "{screen}");
    // The window is re-read after the issuer's answer: the row leaves the
    // status:active filter (or reads revoked). Poll: the reply lands after the status line.
    let start = Instant::now();
    loop {
        let screen = tmux.screen();
        match screen.lines().find(|l| l.starts_with(&short_id)) {
            Some(row) if !row.contains("revoked") => {
                assert!(start.elapsed() < Duration::from_secs(10), "row not updated: {row}");
                std::thread::sleep(Duration::from_millis(50));
            }
            _ => break,
        }
    }
    tmux.send(&["q"]);

    let out = Command::new(common::bin()).arg("--db").arg(&db).args(["show", &short_id, "--format", "json"]).output().expect("show");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(v["credential"]["status"], "revoked");
    let out = Command::new(common::bin()).arg("--db").arg(&db).args(["audit", "verify"]).output().expect("verify");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stdout));
}

#[test]
fn triage_in_the_tui_finds_and_revokes_a_leaked_inventory_token() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("e2e.db");
    let org = tokenward::reference::org::Org::new(300, 8, chrono::Utc::now());
    let i = (0..300).find(|i| org.credential(*i).status == "active").expect("an active credential");
    let secret = org.secret(i);
    let tmux = Tmux { socket: format!("tokenward-e2e-triage-{}", std::process::id()) };
    let cmd = format!(
        "XDG_CONFIG_HOME={} TOKENWARD_OPERATOR=e2e@acme.test {} --db {} demo --credentials 300 --seed 8",
        dir.path().display(),
        common::bin(),
        db.display()
    );
    tmux.run(&["new-session", "-d", "-s", "tw", "-x", "170", "-y", "45", &cmd]);
    tmux.wait_for("where to start", Duration::from_secs(60));
    tmux.send(&[":"]);
    tmux.type_text("triage");
    tmux.send(&["Enter"]);
    tmux.wait_for("triage a leaked token", Duration::from_secs(5));
    tmux.type_text(&secret);
    let screen = tmux.screen();
    assert!(!screen.contains(&secret), "the token is masked on screen");
    tmux.send(&["Enter"]);
    tmux.wait_for("at acme-broker", Duration::from_secs(10));
    tmux.send(&["r"]);
    tmux.type_text("found in a CI log");
    tmux.send(&["Enter"]);
    let screen = tmux.wait_for("at acme-broker: revoked at acme-broker", Duration::from_secs(10));
    assert!(!screen.contains(&secret));
    tmux.send(&["Escape"]);
    tmux.send(&["q"]);
    let external = tokenward::reference::org::Org::credential_id(i);
    let out = Command::new(common::bin()).arg("--db").arg(&db).args(["show", &external, "--format", "json"]).output().expect("show");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(v["credential"]["status"], "revoked");
}

#[test]
fn approving_a_grant_in_the_real_binary() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("e2e.db");
    let tmux = Tmux { socket: format!("tokenward-e2e-approve-{}", std::process::id()) };
    // The TUI flow is under test here, not the default policies (tested on their own):
    // a policy directory where approvers may approve anything.
    let policies = dir.path().join("policies");
    std::fs::create_dir_all(&policies).expect("dir");
    std::fs::write(policies.join("open.cedar"), "@id(\"approvers-decide\") @reason(\"approvers decide\")\npermit (principal, action, resource) when { context.roles.contains(\"approver\") };\n").expect("policy");
    std::fs::write(dir.path().join("tokenward.toml"), format!("policies = \"{}\"\n", policies.display())).expect("config");
    let cmd = format!(
        "TOKENWARD_CONFIG={} TOKENWARD_OPERATOR=oncall@acme.test {} --db {} --view grants demo --credentials 200 --seed 9",
        dir.path().join("tokenward.toml").display(),
        common::bin(),
        db.display()
    );
    tmux.run(&["new-session", "-d", "-s", "tw", "-x", "170", "-y", "45", &cmd]);
    // `--view grants`: the on-call approver's console opens on the queue.
    tmux.wait_for("REQUESTED BY", Duration::from_secs(60));
    tmux.wait_for("grant-", Duration::from_secs(5));
    tmux.send(&["a"]);
    tmux.wait_for("approve grant", Duration::from_secs(5));
    // The form opens on the justification: type it, Enter.
    tmux.type_text("release train 4.2, INC-5");
    tmux.send(&["Enter"]);
    tmux.wait_for(" at acme-broker (audit #", Duration::from_secs(10));
    tmux.send(&["q"]);
    let out = Command::new(common::bin()).arg("--db").arg(&db).args(["grants", "--status", "approved", "--format", "json"]).output().expect("grants");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(v.as_array().map(Vec::len), Some(1), "{v}");
    let out = Command::new(common::bin()).arg("--db").arg(&db).args(["audit", "log", "--format", "json"]).output().expect("audit");
    let log: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert!(log.as_array().expect("array").iter().any(|e| e["action"] == "approve" && e["actor"] == "oncall@acme.test"));
}

#[test]
fn one_review_decision_in_the_real_binary() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("e2e.db");
    let tmux = Tmux { socket: format!("tokenward-e2e-review-{}", std::process::id()) };
    std::fs::create_dir_all(dir.path().join("tokenward")).expect("config dir");
    std::fs::write(dir.path().join("tokenward/tokenward.toml"), "[tui]\nstart = \"credentials\"\n").expect("config");
    let cmd = format!(
        "XDG_CONFIG_HOME={} TOKENWARD_OPERATOR=reviewer@acme.test TOKENWARD_NO_BELL=1 {} --db {} demo --credentials 600 --seed 5",
        dir.path().display(),
        common::bin(),
        db.display()
    );
    tmux.run(&["new-session", "-d", "-s", "tw", "-x", "170", "-y", "45", &cmd]);
    // `[tui] start = "credentials"`: a reviewer who prefers the table opens on it.
    tmux.wait_for("600 credentials │ row 1", Duration::from_secs(60));
    // Start a campaign from the TUI, walk to its first item, keep it with a reason.
    tmux.send(&[":"]);
    tmux.type_text("review start e2e-review status:active scope:admin:org");
    tmux.send(&["Enter"]);
    tmux.wait_for("campaign e2e-review started", Duration::from_secs(10));
    tmux.wait_for("0 / ", Duration::from_secs(5));
    tmux.wait_for("evidence", Duration::from_secs(5));
    tmux.send(&["y"]);
    tmux.wait_for("review: keep", Duration::from_secs(5));
    tmux.type_text("release automation, confirmed with its owner");
    tmux.send(&["Enter"]);
    tmux.wait_for(": keep ", Duration::from_secs(10));
    // Progress follows: one of the campaign's items is decided.
    tmux.wait_for("▏ 1 / ", Duration::from_secs(5));
    tmux.send(&["q"]);
    let out = Command::new(common::bin()).arg("--db").arg(&db).args(["review", "export", "e2e-review", "--format", "json"]).output().expect("export");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let decided: Vec<&serde_json::Value> = v["items"].as_array().expect("items").iter().filter(|i| !i["decision"].is_null()).collect();
    assert_eq!(decided.len(), 1, "{v}");
    assert_eq!(decided[0]["decision"], "keep");
    assert_eq!(decided[0]["decided_by"], "reviewer@acme.test");
    assert_eq!(decided[0]["reason"], "release automation, confirmed with its owner");
    let verify = Command::new(common::bin()).arg("--db").arg(&db).args(["audit", "verify"]).output().expect("verify");
    assert!(verify.status.success(), "{}", String::from_utf8_lossy(&verify.stdout));
}

/// The real binary opens on what needs attention, and a line of it opens what it counts.
#[test]
fn the_console_opens_on_home_and_a_line_opens_its_view() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("e2e.db");
    let tmux = Tmux { socket: format!("tokenward-e2e-home-{}", std::process::id()) };
    let cmd = format!("XDG_CONFIG_HOME={} TOKENWARD_OPERATOR=e2e@acme.test {} --db {} demo --credentials 300 --seed 8", dir.path().display(), common::bin(), db.display());
    tmux.run(&["new-session", "-d", "-s", "tw", "-x", "170", "-y", "45", &cmd]);
    let screen = tmux.wait_for("where to start", Duration::from_secs(60));
    assert!(screen.contains("what needs attention") && screen.contains("pending, ") && screen.contains("high ·"), "{screen}");
    tmux.send(&["Enter"]);
    tmux.wait_for("pending grants: ", Duration::from_secs(10));
    tmux.send(&["q"]);
}
