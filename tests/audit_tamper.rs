//! The audit log under attack by someone holding the database file (but not the
//! key or the witness beside it): every tampering is found by `audit verify`, which
//! names the first bad entry.
use std::path::{Path, PathBuf};

use assert_cmd::Command;
use rusqlite::{params, Connection};
use tokenward::store::AuditEntry;

mod common;

const ENTRIES: i64 = 6;
const TRIGGERS: &str = "CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;";

fn tw(db: &Path) -> Command {
    let mut c = Command::new(common::bin());
    c.arg("--db").arg(db).env_remove("TOKENWARD_CONFIG").env_remove("TOKENWARD_DB").env("XDG_CONFIG_HOME", db.parent().expect("dir")).env("TOKENWARD_OPERATOR", "audit-test@acme.test");
    c
}

/// A database with `ENTRIES` audit entries (one review campaign each), its key and witness beside it.
fn logged_db() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("inv.db");
    for i in 1..=ENTRIES {
        tw(&db).args(["review", "start", &format!("campaign-{i}")]).assert().success();
    }
    (dir, db)
}

/// What an attacker with the file does first: lift the append-only triggers.
fn open_unguarded(db: &Path) -> Connection {
    let c = Connection::open(db).expect("open");
    c.execute_batch("DROP TRIGGER audit_log_no_update; DROP TRIGGER audit_log_no_delete;").expect("drop triggers");
    c
}

/// ... and puts them back, so only the chain can tell.
fn close_guarded(c: Connection) {
    c.execute_batch(TRIGGERS).expect("restore triggers");
}

fn entries(c: &Connection) -> Vec<AuditEntry> {
    let mut q = c.prepare("SELECT seq, at, actor, action, target, detail, prev_hash, hash, mac FROM audit_log ORDER BY seq").expect("prepare");
    q.query_map([], |r| {
        Ok(AuditEntry { seq: r.get(0)?, at: r.get(1)?, actor: r.get(2)?, action: r.get(3)?, target: r.get(4)?, detail: r.get(5)?, prev_hash: r.get(6)?, hash: r.get(7)?, mac: r.get(8)? })
    })
    .expect("query")
    .collect::<Result<_, _>>()
    .expect("rows")
}

/// Recomputes every prev_hash and hash in order, as an attacker without the key can.
fn rehash_all(c: &Connection) {
    let mut prev = AuditEntry::genesis().to_string();
    for mut e in entries(c) {
        e.prev_hash = prev;
        e.hash = e.compute_hash();
        c.execute("UPDATE audit_log SET prev_hash = ?, hash = ? WHERE seq = ?", params![e.prev_hash, e.hash, e.seq]).expect("rehash");
        prev = e.hash;
    }
}

/// Runs verify and returns its stdout, asserting it failed.
fn broken(db: &Path) -> String {
    let out = tw(db).args(["audit", "verify"]).assert().failure();
    String::from_utf8_lossy(&out.get_output().stdout).into_owned()
}

fn assert_first_bad(db: &Path, seq: i64, case: &str) {
    let out = broken(db);
    assert!(out.contains(&format!("BROKEN at entry {seq}:")), "{case}: expected entry {seq} named, got:\n{out}");
}

#[test]
fn an_intact_log_passes_and_an_exported_head_is_found() {
    let (_dir, db) = logged_db();
    let out = tw(&db).args(["audit", "verify"]).assert().success();
    let text = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
    assert!(text.contains(&format!("audit log intact: {ENTRIES} entries")), "{text}");
    assert!(!text.contains("unkeyed"), "every entry is keyed on a new database: {text}");
    let head = entries(&Connection::open(&db).expect("open"))[2].hash.clone();
    tw(&db).args(["audit", "verify", "--head", &head]).assert().success().stdout(predicates::str::contains("is entry 3 of the chain"));
    tw(&db).args(["audit", "verify", "--head", &"ab".repeat(32)]).assert().failure().stdout(predicates::str::contains("is not in the chain"));
    #[cfg(unix)]
    for suffix in [".audit-key", ".audit-head"] {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(format!("{}{suffix}", db.display())).expect("anchor file").permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{suffix} is private");
    }
}

#[test]
fn every_tampering_is_detected_and_its_first_bad_entry_named() {
    let mut tried = 0;
    let mut detected = 0;
    let mut case = |name: &str, expect_seq: Option<i64>, expect_text: &str, tamper: &dyn Fn(&Path)| {
        let (_dir, db) = logged_db();
        tamper(&db);
        tried += 1;
        let out = broken(&db);
        if let Some(seq) = expect_seq {
            assert_first_bad(&db, seq, name);
        }
        assert!(out.contains(expect_text), "{name}: expected '{expect_text}' in:\n{out}");
        detected += 1;
    };

    case("edit an entry", Some(3), "edited after it was written", &|db| {
        let c = open_unguarded(db);
        c.execute("UPDATE audit_log SET actor = 'mallory' WHERE seq = 3", []).expect("edit");
        close_guarded(c);
    });
    case("insert an entry in the middle", Some(3), "no MAC", &|db| {
        let c = open_unguarded(db);
        c.execute_batch("UPDATE audit_log SET seq = seq + 100 WHERE seq >= 3; UPDATE audit_log SET seq = seq - 99 WHERE seq >= 103;").expect("shift");
        let prev = entries(&c)[1].hash.clone();
        let mut forged = AuditEntry { seq: 3, at: "2030-01-01T00:00:00Z".into(), actor: "mallory".into(), action: "review.start".into(), target: "campaign:99".into(), detail: "{}".into(), prev_hash: prev, hash: String::new(), mac: None };
        forged.hash = forged.compute_hash();
        c.execute(
            "INSERT INTO audit_log (seq, at, actor, action, target, detail, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            params![forged.seq, forged.at, forged.actor, forged.action, forged.target, forged.detail, forged.prev_hash, forged.hash],
        )
        .expect("insert");
        close_guarded(c);
    });
    case("delete an entry in the middle", Some(3), "entry 3 is missing", &|db| {
        let c = open_unguarded(db);
        c.execute("DELETE FROM audit_log WHERE seq = 3", []).expect("delete");
        close_guarded(c);
    });
    case("delete the newest entries", Some(5), "entries were deleted", &|db| {
        let c = open_unguarded(db);
        c.execute("DELETE FROM audit_log WHERE seq >= 5", []).expect("truncate");
        close_guarded(c);
    });
    case("delete the newest entries, then tokenward appends again", Some(ENTRIES), "entries were deleted", &|db| {
        let c = open_unguarded(db);
        c.execute("DELETE FROM audit_log WHERE seq >= 5", []).expect("truncate");
        close_guarded(c);
        tw(db).args(["review", "start", "after-the-truncation"]).assert().success();
    });
    case("reorder two entries", Some(3), "prev_hash does not match", &|db| {
        let c = open_unguarded(db);
        c.execute_batch("UPDATE audit_log SET seq = 100 WHERE seq = 3; UPDATE audit_log SET seq = 3 WHERE seq = 4; UPDATE audit_log SET seq = 4 WHERE seq = 100;").expect("swap");
        close_guarded(c);
    });
    case("recompute every hash without the key", Some(3), "MAC does not match", &|db| {
        let c = open_unguarded(db);
        c.execute("UPDATE audit_log SET actor = 'mallory' WHERE seq = 3", []).expect("edit");
        rehash_all(&c);
        close_guarded(c);
    });
    case("recompute every hash and erase the MACs", Some(1), "no MAC", &|db| {
        let c = open_unguarded(db);
        c.execute("UPDATE audit_log SET actor = 'mallory' WHERE seq = 3", []).expect("edit");
        c.execute("UPDATE audit_log SET mac = NULL", []).expect("erase");
        rehash_all(&c);
        close_guarded(c);
    });
    case("drop the triggers", None, "append-only triggers are gone: audit_log_no_update, audit_log_no_delete", &|db| {
        drop(open_unguarded(db));
    });
    case("replace a trigger with one that allows deletes", None, "triggers are gone: audit_log_no_delete", &|db| {
        let c = open_unguarded(db);
        c.execute_batch("CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END; CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log BEGIN SELECT 1; END;").expect("weak trigger");
    });
    case("delete the newest entries and the witness", None, "head witness", &|db| {
        let c = open_unguarded(db);
        c.execute("DELETE FROM audit_log WHERE seq >= 5", []).expect("truncate");
        close_guarded(c);
        std::fs::remove_file(format!("{}.audit-head", db.display())).expect("remove witness");
    });
    case("delete the key", Some(1), "MAC does not match", &|db| {
        std::fs::remove_file(format!("{}.audit-key", db.display())).expect("remove key");
    });
    println!("{detected} tamper cases detected out of {tried} tried");
    assert_eq!((detected, tried), (12, 12));
}

#[test]
fn entries_written_before_the_key_are_reported_unkeyed_and_still_hash_checked() {
    let (_dir, db) = logged_db();
    // An older database: the key and witness did not exist and no entry had a MAC.
    let c = open_unguarded(&db);
    c.execute("UPDATE audit_log SET mac = NULL", []).expect("unkey");
    close_guarded(c);
    for suffix in [".audit-key", ".audit-head"] {
        std::fs::remove_file(format!("{}{suffix}", db.display())).expect("remove anchor");
    }
    tw(&db).args(["audit", "verify"]).assert().success().stdout(predicates::str::contains(format!("{ENTRIES} entries unkeyed (before the key)")));
    // New entries are keyed from here on, and the chain stays intact across the seam.
    tw(&db).args(["review", "start", "after-the-key"]).assert().success();
    tw(&db).args(["audit", "verify"]).assert().success().stdout(predicates::str::contains(format!("audit log intact: {} entries", ENTRIES + 1)));
    // An edit of an unkeyed entry is still an edit.
    let c = open_unguarded(&db);
    c.execute("UPDATE audit_log SET detail = '{}' WHERE seq = 2", []).expect("edit");
    close_guarded(c);
    assert_first_bad(&db, 2, "edit before the key");
}

#[test]
fn a_new_database_at_the_same_path_starts_a_new_witness() {
    let (_dir, db) = logged_db();
    // The demo replaces its own file this way: the old database, WAL and shm go, the anchors stay.
    for p in tokenward::store::Store::files_of(&db) {
        let _ = std::fs::remove_file(p);
    }
    tw(&db).args(["review", "start", "on-a-new-database"]).assert().success();
    tw(&db).args(["audit", "verify"]).assert().success().stdout(predicates::str::contains("audit log intact: 1 entries"));
}

/// `[audit] key_file` puts the key where the config says (created 0600, its
/// directory 0700), nothing beside the database; `audit verify` checks with that
/// key and says where it is: with another key in its place, every entry is refused.
#[test]
fn a_configured_key_file_is_created_private_and_used_by_verify() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("inv.db");
    let key = dir.path().join("secrets").join("audit.key");
    let config = dir.path().join("tokenward.toml");
    std::fs::write(&config, format!("[audit]\nkey_file = \"{}\"\n", key.display())).expect("config");
    let with_config = |args: &[&str]| {
        let mut c = tw(&db);
        c.arg("--config").arg(&config).args(args);
        c
    };
    for i in 1..=3 {
        with_config(&["review", "start", &format!("campaign-{i}")]).assert().success();
    }
    assert!(key.exists(), "the key is where the config says");
    assert!(!dir.path().join("inv.db.audit-key").exists(), "and not beside the database");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&key).expect("key").permissions().mode() & 0o777, 0o600);
        assert_eq!(std::fs::metadata(key.parent().expect("dir")).expect("dir").permissions().mode() & 0o777, 0o700);
    }
    let out = with_config(&["audit", "verify", "--format", "json"]).assert().success();
    let v: serde_json::Value = serde_json::from_slice(&out.get_output().stdout).expect("json");
    assert_eq!((v["entries"].as_i64(), v["unkeyed"].as_i64()), (Some(3), Some(0)), "{v}");
    assert_eq!(v["key_file"].as_str(), Some(key.to_str().expect("utf-8")));
    with_config(&["config", "check"]).assert().success();

    // Without the config, verify makes and uses a new key beside the database: the chain is not its.
    let out = broken(&db);
    assert!(out.contains("BROKEN at entry 1:"), "{out}");
    // With the configured key replaced by another, the same.
    std::fs::copy(dir.path().join("inv.db.audit-key"), &key).expect("swap keys");
    let out = with_config(&["audit", "verify"]).assert().failure();
    let text = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
    assert!(text.contains("BROKEN at entry 1:") && text.contains(&format!("key {}", key.display())), "{text}");
}
