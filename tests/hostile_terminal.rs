//! Cleaning at ingest is not enough: a database written by an older version, or
//! edited by hand, holds whatever it holds. Here hostile strings are written
//! straight into the SQLite file (rusqlite, past every connector), then every
//! path to a terminal is read back: `show`, each listing as a table, CSV and
//! JSON (on a pipe and on a pseudo-terminal), errors, and every TUI screen.
use std::path::Path;

use common::screens::{assert_inert, every_screen, on_terminal, stdout_on_terminal, tw};
use tokenward::store::Store;

mod common;

/// OSC 52 (write the clipboard), an OSC 8 hyperlink, a title, CSI by its C1 byte,
/// a right-to-left override with isolates, the separators, a zero-width space and tags.
const HOSTILE: &str = "\x1b]52;c;ZWNobyBwd25lZA==\x07\x1b]8;;https://evil.test/\x1b\\link\x1b]8;;\x1b\\\x1b]0;owned\x07\u{9b}2J\u{202E}gnp.exe\u{2066}x\u{2069}\u{2028}\u{2029}\u{200B}\u{E0041}\u{E0042}\u{85}end";

/// What is left of `HOSTILE` on a terminal: its printable text.
const VISIBLE: &str = "]52;c;ZWNobyBwd25lZA==]8;;https://evil.test/\\link]8;;\\]0;owned2Jgnp.exexend";

/// A demo inventory, then hostile text written into every table a screen reads.
fn hostile_database(dir: &Path) -> (std::path::PathBuf, String) {
    let db = dir.join("t.db");
    let mut demo = std::process::Command::new(common::bin());
    demo.arg("--db").arg(&db).args(["demo", "--no-tui", "--credentials", "120", "--seed", "5"]);
    let out = demo.env_remove("TOKENWARD_CONFIG").env("XDG_CONFIG_HOME", dir).output().expect("demo runs");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let conn = rusqlite::Connection::open(&db).expect("open the file");
    let edits = [
        "UPDATE credentials SET workload = ?1 || workload, subject = ?1, client_id = ?1, external_id = external_id || ?1, scopes = scopes || ' ' || ?1, audience = ?1, task_intent = ?1",
        "INSERT OR IGNORE INTO credential_scopes (scope, k, credential_id)
         SELECT ?1, CASE status WHEN 'active' THEN '0' ELSE '1' END || coalesce(expires_at, '9999-12-31T23:59:59Z'), id FROM credentials",
        "UPDATE consent_events SET actor = ?1 || actor, note = ?1, action = action || ?1",
        "UPDATE delegation SET actor = actor || ?1",
        "UPDATE usage_events SET origin = ?1, workload = ?1",
        "UPDATE owners SET name = ?1 || coalesce(name, ''), team = ?1",
        "UPDATE grants SET intent = ?1, requested_by = requested_by || ?1, workload = ?1, scopes = scopes || ' ' || ?1",
        "UPDATE sync_runs SET error = ?1",
        "UPDATE findings SET summary = ?1 || summary, evidence = ?1",
        "UPDATE review_items SET issuer_answer = ?1",
        "INSERT INTO audit_log (at, actor, action, target, detail, prev_hash, hash) VALUES ('2026-11-30T00:00:00Z', ?1, ?1, ?1, ?1, ?1, ?1)",
    ];
    for sql in edits {
        let n = conn.execute(sql, [HOSTILE]).unwrap_or_else(|e| panic!("{sql}: {e}"));
        assert!(n > 0, "{sql} changed nothing: the test would prove nothing");
    }
    let id: String = conn.query_row("SELECT id FROM credentials ORDER BY (SELECT count(*) FROM consent_events e WHERE e.credential_id = credentials.id) DESC LIMIT 1", [], |r| r.get(0)).expect("a credential");
    (db, id)
}

/// Every listing, as the user would type it.
const LISTINGS: &[&[&str]] = &[
    &["credentials"],
    &["grants"],
    &["issuers"],
    &["owners"],
    &["findings"],
    &["findings", "--summary"],
    &["expiring", "--within", "3650d"],
    &["history", "--scope", "repo:read", "--at", "2026-11-01"],
    &["audit", "log"],
    &["review", "list"],
    &["review", "show", "q4-admin-api-keys"],
];

#[test]
fn a_hand_edited_database_reaches_no_terminal_raw() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (db, id) = hostile_database(dir.path());
    let mut paths = 0;

    // `show` as text: the visible remainder is there, nothing a terminal obeys.
    let show = tw(&db).args(["show", &id]).output().expect("show");
    let text = String::from_utf8(show.stdout).expect("utf8");
    assert!(show.status.success() && text.contains(VISIBLE), "{text}");
    assert_inert("show", &text);
    assert_inert("show on a terminal", &on_terminal(&db, &["show", &id]));
    paths += 2;

    // `show --format json`: byte-exact to a pipe, escaped on a terminal, the same value either way.
    let piped = tw(&db).args(["--format", "json", "show", &id]).output().expect("show json");
    let exact: serde_json::Value = serde_json::from_slice(&piped.stdout).expect("json to a pipe");
    assert!(String::from_utf8_lossy(&piped.stdout).contains('\u{202E}'), "to a pipe nothing is changed");
    assert_eq!(exact["credential"]["subject"], HOSTILE, "the value itself is kept");
    let shown = stdout_on_terminal(&db, &["--format", "json", "show", &id]);
    assert_inert("show --format json on a terminal", &shown);
    assert!(shown.contains(r"\u202e") && shown.contains(r"\udb40\udc41"), "escaped, not dropped: {shown}");
    assert_eq!(serde_json::from_str::<serde_json::Value>(&shown).expect("still JSON"), exact, "the same value");
    paths += 2;

    for args in LISTINGS {
        for format in ["table", "csv", "md"] {
            let out = tw(&db).args(["--format", format]).args(*args).output().expect("runs");
            let what = format!("{args:?} --format {format}");
            assert!(out.status.success(), "{what}: {}", String::from_utf8_lossy(&out.stderr));
            assert_inert(&what, &String::from_utf8(out.stdout).expect("utf8"));
            assert_inert(&format!("{what} (stderr)"), &String::from_utf8(out.stderr).expect("utf8"));
            paths += 1;
        }
        let mut json = vec!["--format", "json"];
        json.extend_from_slice(args);
        let piped = tw(&db).args(&json).output().expect("runs");
        let exact: serde_json::Value = serde_json::from_slice(&piped.stdout).unwrap_or_else(|e| panic!("{args:?}: {e}"));
        assert_inert(&format!("{args:?} --format json on a terminal"), &on_terminal(&db, &json));
        let shown = stdout_on_terminal(&db, &json);
        let mut shown: serde_json::Value = serde_json::from_str(&shown).unwrap_or_else(|e| panic!("{args:?}: {e}: {shown}"));
        // Two runs may straddle a second: what the clock derives (a grant's age) is not what is compared.
        let (mut exact, clock) = (exact, ["age_seconds", "sla_breached"]);
        for v in [&mut shown, &mut exact] {
            for item in v.as_array_mut().into_iter().flatten() {
                clock.iter().for_each(|k| drop(item.as_object_mut().and_then(|o| o.remove(*k))));
            }
        }
        assert_eq!(shown, exact, "{args:?}");
        assert_inert(&format!("{args:?} on a terminal"), &on_terminal(&db, args));
        paths += 2;
    }

    // An error quoting what it was given, on stderr and as JSON.
    let err = tw(&db).args(["--format", "json", "show", HOSTILE]).output().expect("runs");
    assert!(!err.status.success());
    let stderr = String::from_utf8(err.stderr).expect("utf8");
    assert!(stderr.starts_with("error: ") && stderr.contains("gnp.exe"), "{stderr}");
    assert_inert("an error on stderr", &stderr);
    assert_inert("an error as JSON on a terminal", &on_terminal(&db, &["--format", "json", "show", HOSTILE]));
    paths += 2;
    println!("{paths} CLI paths to a terminal read a hand-edited database: nothing raw reached it");
}

#[tokio::test]
async fn a_hand_edited_database_reaches_no_tui_screen_raw() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (db, _) = hostile_database(dir.path());
    let store = Store::open(&db).await.expect("store");
    let report = tokenward::sync::SyncReport {
        issuer: "acme-broker".into(),
        run_id: 2,
        owners: 0,
        credentials: 0,
        pages: 0,
        grants: 0,
        gone: 0,
        resumed: false,
        delta: false,
        seconds: 0.1,
        error: Some(HOSTILE.into()),
        notes: vec![HOSTILE.into()],
        rejected: 1,
        unrecognised_actions: 0,
    };
    let screens = every_screen(&store, 5, &[report]).await;
    for (name, screen) in &screens {
        assert_inert(name, screen);
    }
    let details: Vec<_> = screens.iter().filter(|(n, _)| n.starts_with("detail")).collect();
    assert!(details.iter().any(|(_, s)| s.contains("gnp.exe")), "the detail pane shows the edited rows");
    println!("{} TUI screens drawn from a hand-edited database: nothing raw reached them", screens.len());
}
