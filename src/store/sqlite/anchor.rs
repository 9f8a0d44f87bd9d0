//! What anchors the audit log outside the database: the MAC key (`[audit] key_file`,
//! by default `<db>.audit-key`) and the head witness (`<db>.audit-head`), both 0600,
//! so a copy of the database alone can neither rewrite the chain nor truncate it unseen.
//!
//! The free `append_audit` runs inside other topics' transactions with only a
//! connection in hand, so each connection is registered here (by its SQLite
//! handle) with the store's anchor; the witness is written from SQLite's commit
//! hook, so it moves exactly when the entry it names is committed.
use std::collections::HashMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, LazyLock, Mutex, MutexGuard};

use hmac::{Hmac, Mac};
use sha2::Sha256;
use sqlx::SqliteConnection;

use crate::store::error::{Result, StoreError};
use crate::store::rows::{AuditDraft, AuditEntry, AuditHead, GENESIS};

const KEY_LEN: usize = 32;

pub(in crate::store) struct Anchor {
    key: [u8; KEY_LEN],
    pub(in crate::store) key_file: Option<PathBuf>,
    pub(in crate::store) witness_file: Option<PathBuf>,
    /// True when this open created the key: the first use of the keyed chain.
    pub(in crate::store) key_created: bool,
}

impl std::fmt::Debug for Anchor {
    // The key never reaches a log or an error message.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Anchor").field("key_file", &self.key_file).field("witness_file", &self.witness_file).finish_non_exhaustive()
    }
}

impl Anchor {
    /// An in-memory store keeps a random key for its lifetime and no witness.
    pub(in crate::store) fn in_memory() -> Result<Self> {
        Ok(Anchor { key: random_key(Path::new("/dev/urandom"))?, key_file: None, witness_file: None, key_created: false })
    }

    /// Loads the key (at `key_file`, else beside the database), creating it (0600) on first use.
    pub(in crate::store) fn for_file(db: &Path, key_file: Option<&Path>) -> Result<Self> {
        let key_file = key_file.map_or_else(|| suffixed(db, ".audit-key"), Path::to_path_buf);
        let witness_file = suffixed(db, ".audit-head");
        let (key, key_created) = match read_key(&key_file) {
            Ok(key) => (key, false),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => create_key(&key_file)?,
            Err(source) => return Err(StoreError::Dir { path: key_file, source }),
        };
        Ok(Anchor { key, key_file: Some(key_file), witness_file: Some(witness_file), key_created })
    }

    /// HMAC-SHA256 over the previous entry's MAC and every field of this one.
    pub(in crate::store) fn mac(&self, prev_mac: &str, e: &AuditEntry) -> Result<String> {
        let mut m = Hmac::<Sha256>::new_from_slice(&self.key).map_err(|e| StoreError::Conflict(format!("audit key: {e}")))?;
        for part in [prev_mac, &e.seq.to_string(), &e.at, &e.actor, &e.action, &e.target, &e.detail, &e.prev_hash, &e.hash] {
            m.update(&(part.len() as u64).to_be_bytes());
            m.update(part.as_bytes());
        }
        Ok(hex::encode(m.finalize().into_bytes()))
    }

    /// The entry that follows `last` (seq, hash, MAC of the newest entry; None on
    /// an empty log): numbered, hashed and keyed. Both backends append with it.
    pub(in crate::store) fn seal(&self, draft: &AuditDraft, last: Option<(i64, String, Option<String>)>) -> Result<AuditEntry> {
        let (seq, prev_hash, prev_mac) = match last {
            Some((seq, hash, mac)) => (seq + 1, hash, mac),
            None => (1, GENESIS.to_string(), None),
        };
        let mut entry = AuditEntry {
            seq,
            at: crate::domain::fmt_ts(&draft.at),
            actor: draft.actor.clone(),
            action: draft.action.clone(),
            target: draft.target.clone(),
            detail: draft.detail.to_string(),
            prev_hash,
            hash: String::new(),
            mac: None,
        };
        entry.hash = entry.compute_hash();
        // The first keyed entry after unkeyed ones chains from an empty MAC.
        entry.mac = Some(self.mac(prev_mac.as_deref().unwrap_or(""), &entry)?);
        Ok(entry)
    }

    /// What is wrong with the key file now: missing, replaced since this store opened it, or readable by others.
    pub(in crate::store) fn key_problems(&self) -> Vec<String> {
        let Some(path) = &self.key_file else { return Vec::new() };
        let mut problems = Vec::new();
        match read_key(path) {
            Ok(key) if key == self.key => {}
            Ok(_) => problems.push(format!("the audit key {} changed while it was in use", path.display())),
            Err(e) => problems.push(format!("the audit key {} cannot be read: {e}", path.display())),
        }
        #[cfg(unix)]
        if let Ok(meta) = std::fs::metadata(path) {
            use std::os::unix::fs::PermissionsExt;
            if meta.permissions().mode() & 0o077 != 0 {
                problems.push(format!("the audit key {} is readable by others (mode {:o}; it must be 0600)", path.display(), meta.permissions().mode() & 0o777));
            }
        }
        problems
    }
}

fn suffixed(db: &Path, suffix: &str) -> PathBuf {
    let mut name = db.as_os_str().to_os_string();
    name.push(suffix);
    PathBuf::from(name)
}

fn random_key(source: &Path) -> Result<[u8; KEY_LEN]> {
    let mut key = [0u8; KEY_LEN];
    std::fs::File::open(source).and_then(|mut f| f.read_exact(&mut key)).map_err(|source_err| StoreError::Dir { path: source.to_path_buf(), source: source_err })?;
    Ok(key)
}

fn read_key(path: &Path) -> std::io::Result<[u8; KEY_LEN]> {
    let text = std::fs::read_to_string(path)?;
    let bytes = hex::decode(text.trim()).map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))?;
    <[u8; KEY_LEN]>::try_from(bytes.as_slice()).map_err(|_| std::io::Error::new(std::io::ErrorKind::InvalidData, "not a 32-byte key"))
}

/// Written whole to a private temp file, then linked into place without replacing
/// anything: of two processes creating it at once, both end up with the one key.
/// A configured key's missing directory is created 0700.
fn create_key(path: &Path) -> Result<([u8; KEY_LEN], bool)> {
    let key = random_key(Path::new("/dev/urandom"))?;
    let io = |source| StoreError::Dir { path: path.to_path_buf(), source };
    let mut dir = std::fs::DirBuilder::new();
    dir.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut dir, 0o700);
    dir.create(parent_of(path)).map_err(io)?;
    let mut tmp = tempfile::NamedTempFile::new_in(parent_of(path)).map_err(io)?;
    writeln!(tmp, "{}", hex::encode(key)).and_then(|()| tmp.as_file().sync_all()).map_err(io)?;
    match tmp.persist_noclobber(path) {
        Ok(_) => Ok((key, true)),
        Err(e) if e.error.kind() == std::io::ErrorKind::AlreadyExists => Ok((read_key(path).map_err(io)?, false)),
        Err(e) => Err(io(e.error)),
    }
}

fn parent_of(path: &Path) -> &Path {
    path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."))
}

/// The witness file's head, None if there is no such file.
pub(in crate::store) fn read_witness(path: &Path) -> std::io::Result<Option<AuditHead>> {
    match std::fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes).map(Some).map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// Atomic: a private temp file renamed over the old witness, so a reader sees one head or the other.
pub(in crate::store) fn write_witness(path: &Path, head: &AuditHead) -> std::io::Result<()> {
    let mut tmp = tempfile::NamedTempFile::new_in(parent_of(path))?;
    serde_json::to_writer(&mut tmp, head).map_err(std::io::Error::other)?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

/// The head of an empty chain, keyed from its first entry.
pub(in crate::store) fn empty_head(next_seq: i64) -> AuditHead {
    AuditHead { seq: next_seq - 1, hash: GENESIS.to_string(), mac: None, keyed_from: next_seq }
}

struct ConnState {
    anchor: Arc<Anchor>,
    /// The head to witness when the transaction that appended it commits.
    pending: Option<(PathBuf, AuditHead)>,
}

// Keyed by the SQLite handle's address; an entry is replaced when a new connection reuses it.
static CONNS: LazyLock<Mutex<HashMap<usize, ConnState>>> = LazyLock::new(Default::default);

fn conns() -> MutexGuard<'static, HashMap<usize, ConnState>> {
    CONNS.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

async fn handle_id(conn: &mut SqliteConnection) -> sqlx::Result<usize> {
    let mut handle = conn.lock_handle().await?;
    Ok(handle.as_raw_handle().as_ptr() as usize)
}

/// Registers a new connection with its store's anchor and the hooks that write the witness.
pub(in crate::store) async fn attach(conn: &mut SqliteConnection, anchor: Arc<Anchor>) -> sqlx::Result<()> {
    let mut handle = conn.lock_handle().await?;
    let id = handle.as_raw_handle().as_ptr() as usize;
    conns().insert(id, ConnState { anchor, pending: None });
    handle.set_commit_hook(move || {
        let pending = conns().get_mut(&id).and_then(|c| c.pending.take());
        // A witness that cannot be written stays at an older head the chain still holds: verify stays true.
        if let Some((path, head)) = pending {
            let _ = write_witness(&path, &head);
        }
        true
    });
    handle.set_rollback_hook(move || {
        if let Some(c) = conns().get_mut(&id) {
            c.pending = None;
        }
    });
    Ok(())
}

/// The anchor of the store this connection belongs to.
pub(in crate::store) async fn of(conn: &mut SqliteConnection) -> Result<Arc<Anchor>> {
    let id = handle_id(conn).await?;
    conns().get(&id).map(|c| c.anchor.clone()).ok_or_else(|| StoreError::Conflict("this connection has no audit key".into()))
}

/// The witness's next head: `head`, unless the old witness names an entry the
/// chain no longer holds (`held` is the chain's hash at the old seq), or a later one.
pub(in crate::store) fn advance(old: &AuditHead, held: Option<&str>, head: &AuditEntry) -> Option<AuditHead> {
    (held == Some(old.hash.as_str()) && old.seq < head.seq)
        .then(|| AuditHead { seq: head.seq, hash: head.hash.clone(), mac: head.mac.clone(), keyed_from: old.keyed_from })
}

/// Queues `head` for the witness at commit, but only if the witness names an
/// entry the chain still holds: a truncated or rewritten chain keeps its evidence.
pub(in crate::store) async fn stage(conn: &mut SqliteConnection, anchor: &Anchor, head: &AuditEntry) -> Result<()> {
    let Some(path) = &anchor.witness_file else { return Ok(()) };
    let Ok(Some(old)) = read_witness(path) else { return Ok(()) };
    let held: Option<String> = if old.seq == 0 {
        Some(GENESIS.to_string())
    } else {
        sqlx::query_scalar("SELECT hash FROM audit_log WHERE seq = ?").bind(old.seq).fetch_optional(&mut *conn).await?
    };
    let Some(next) = advance(&old, held.as_deref(), head) else { return Ok(()) };
    let id = handle_id(conn).await?;
    if let Some(c) = conns().get_mut(&id) {
        c.pending = Some((path.clone(), next));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry() -> AuditEntry {
        let mut e = AuditEntry { seq: 1, at: "t".into(), actor: "a".into(), action: "x".into(), target: "y".into(), detail: "{}".into(), prev_hash: GENESIS.into(), hash: String::new(), mac: None };
        e.hash = e.compute_hash();
        e
    }

    #[test]
    fn the_key_is_created_once_private_and_reloaded() {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = dir.path().join("x.db");
        let first = Anchor::for_file(&db, None).expect("create");
        let again = Anchor::for_file(&db, None).expect("load");
        assert!(first.key_created && !again.key_created);
        assert_eq!(first.mac("", &entry()).expect("mac"), again.mac("", &entry()).expect("mac"));
        assert!(first.key_problems().is_empty());
        // Another key, another MAC: the database alone cannot forge one.
        let other = Anchor::in_memory().expect("memory");
        assert_ne!(first.mac("", &entry()).expect("mac"), other.mac("", &entry()).expect("mac"));
        assert!(!format!("{first:?}").contains(&hex::encode(first.key)), "Debug never shows the key");
    }

    #[test]
    fn a_configured_key_is_created_0600_where_it_is_named_and_not_beside_the_database() {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = dir.path().join("x.db");
        let key = dir.path().join("keys").join("tokenward.key");
        let anchor = Anchor::for_file(&db, Some(&key)).expect("create");
        assert!(anchor.key_created && key.exists() && !dir.path().join("x.db.audit-key").exists());
        assert_eq!(anchor.key_file.as_deref(), Some(key.as_path()));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&key).expect("key").permissions().mode() & 0o777, 0o600);
            assert_eq!(std::fs::metadata(key.parent().expect("dir")).expect("dir").permissions().mode() & 0o777, 0o700);
        }
        let again = Anchor::for_file(&db, Some(&key)).expect("load");
        assert_eq!(anchor.mac("", &entry()).expect("mac"), again.mac("", &entry()).expect("mac"));
    }
}
