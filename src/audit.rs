//! The tamper-evident trail: every action and sync, hash-chained and keyed. The
//! store appends; this room checks the chain against its anchors outside the
//! database (the key and the head witness) and the append-only triggers.
use serde::Serialize;

use crate::store::{AuditEntry, AuditHead, Store, StoreError};

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Verification {
    pub entries: i64,
    pub head_hash: String,
    /// Entries written before the key existed: checked by their hash only.
    pub unkeyed: i64,
    /// The first entry that does not fit the chain, and why.
    pub first_bad: Option<BadEntry>,
    /// What is wrong outside the entries: the key, the witness, the triggers.
    pub problems: Vec<String>,
    /// The seq of the head asked for with `--head`, if it is in the chain.
    pub head_found: Option<i64>,
    /// Where the key and the witness checked are (`[audit] key_file`, or beside the database).
    pub key_file: Option<String>,
    pub witness_file: Option<String>,
}

impl Verification {
    pub fn intact(&self) -> bool {
        self.first_bad.is_none() && self.problems.is_empty()
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BadEntry {
    pub seq: i64,
    pub problem: String,
}

/// Walks the whole chain; with `head`, also checks that an exported head is still in it.
pub async fn verify(store: &Store, head: Option<&str>) -> Result<Verification, StoreError> {
    let anchor = store.audit_anchor().await?;
    let witness = anchor.witness.clone();
    let mut v = Verification {
        entries: 0,
        head_hash: AuditEntry::genesis().to_string(),
        unkeyed: 0,
        first_bad: None,
        problems: anchor.problems,
        head_found: None,
        key_file: anchor.key_file,
        witness_file: anchor.witness_file,
    };
    if !anchor.missing_triggers.is_empty() {
        v.problems.push(format!("the append-only triggers are gone: {}", anchor.missing_triggers.join(", ")));
    }
    let mut prev_mac: Option<String> = None;
    let mut witnessed: Option<AuditEntry> = None;
    let mut after = 0;
    'walk: loop {
        let batch = store.audit_entries(after, 5000).await?;
        if batch.is_empty() {
            break;
        }
        for e in &batch {
            if let Some(problem) = entry_problem(store, e, &v, prev_mac.as_deref(), witness.as_ref()).await? {
                v.first_bad = Some(problem);
                break 'walk;
            }
            if e.mac.is_none() {
                v.unkeyed += 1;
            }
            if witness.as_ref().is_some_and(|w| w.seq == e.seq) {
                witnessed = Some(e.clone());
            }
            if head.is_some_and(|h| h.eq_ignore_ascii_case(&e.hash)) {
                v.head_found = Some(e.seq);
            }
            v.head_hash = e.hash.clone();
            prev_mac = e.mac.clone().or(prev_mac);
            v.entries += 1;
        }
        after = batch.last().map(|e| e.seq).unwrap_or(after);
    }
    if v.first_bad.is_none() {
        v.first_bad = witness.as_ref().and_then(|w| witness_problem(w, witnessed.as_ref(), v.entries));
    }
    if let Some(h) = head.filter(|_| v.head_found.is_none()) {
        v.problems.push(format!("the head {h} is not in the chain"));
    }
    Ok(v)
}

/// Why entry `e` does not follow the `v.entries` good entries before it, if it does not.
async fn entry_problem(store: &Store, e: &AuditEntry, v: &Verification, prev_mac: Option<&str>, witness: Option<&AuditHead>) -> Result<Option<BadEntry>, StoreError> {
    let expected = v.entries + 1;
    let bad = |seq, problem: String| Ok(Some(BadEntry { seq, problem }));
    if e.seq != expected {
        return bad(expected.min(e.seq), format!("entry {expected} is missing: the sequence jumps from {} to {}", expected - 1, e.seq));
    }
    if e.prev_hash != v.head_hash {
        return bad(e.seq, "prev_hash does not match the previous entry's hash".to_string());
    }
    if e.compute_hash() != e.hash {
        return bad(e.seq, "hash does not match the entry's content (edited after it was written)".to_string());
    }
    let keyed_from = witness.map(|w| w.keyed_from).unwrap_or(i64::MAX);
    match &e.mac {
        None if prev_mac.is_some() || e.seq >= keyed_from => bad(e.seq, "the entry has no MAC where the key was in use (written or rewritten without the key)".to_string()),
        None => Ok(None),
        Some(mac) if *mac != store.audit_mac(e, prev_mac.unwrap_or("")).await? => {
            bad(e.seq, "the MAC does not match (rewritten without the key, or the key was replaced)".to_string())
        }
        Some(_) => Ok(None),
    }
}

/// The chain must hold the witnessed head at its seq and must not end before it.
fn witness_problem(w: &AuditHead, found: Option<&AuditEntry>, entries: i64) -> Option<BadEntry> {
    if entries < w.seq {
        return Some(BadEntry {
            seq: entries + 1,
            problem: format!("the chain ends at entry {entries} but the witness outside the database holds entry {}: entries were deleted", w.seq),
        });
    }
    match found {
        Some(e) if e.hash != w.hash || e.mac != w.mac => Some(BadEntry { seq: w.seq, problem: "the entry differs from the head the witness outside the database holds".to_string() }),
        _ => None,
    }
}
