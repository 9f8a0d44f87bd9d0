//! The tamper-evident trail: every action and sync, hash-chained. The store
//! appends; this room checks the chain.
use serde::Serialize;

use crate::store::{AuditEntry, Store, StoreError};

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Verification {
    pub entries: i64,
    pub head_hash: String,
    /// The first entry that does not fit the chain, and why.
    pub first_bad: Option<BadEntry>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BadEntry {
    pub seq: i64,
    pub problem: String,
}

pub async fn verify(store: &Store) -> Result<Verification, StoreError> {
    let mut prev_hash = AuditEntry::genesis().to_string();
    let mut expected_seq = 1;
    let mut entries = 0;
    let mut after = 0;
    loop {
        let batch = store.audit_entries(after, 5000).await?;
        if batch.is_empty() {
            break;
        }
        for e in &batch {
            let problem = if e.seq != expected_seq {
                Some(format!("sequence jumps from {} to {}", expected_seq - 1, e.seq))
            } else if e.prev_hash != prev_hash {
                Some("prev_hash does not match the previous entry's hash".to_string())
            } else if e.compute_hash() != e.hash {
                Some("hash does not match the entry's content (edited after it was written)".to_string())
            } else {
                None
            };
            if let Some(problem) = problem {
                return Ok(Verification { entries, head_hash: prev_hash, first_bad: Some(BadEntry { seq: e.seq, problem }) });
            }
            prev_hash = e.hash.clone();
            expected_seq += 1;
            entries += 1;
        }
        after = batch.last().map(|e| e.seq).unwrap_or(after);
    }
    Ok(Verification { entries, head_hash: prev_hash, first_bad: None })
}
