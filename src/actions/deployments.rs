//! Recording what a scan of agent configurations found: where credentials sit in
//! plain text, by fingerprint, audited like any change to the inventory.
use super::base::{ActionError, Actions};
use crate::store::FoundSecret;

impl Actions {
    /// What a scan of `roots` on `host` found replaces what earlier scans recorded
    /// there; one audit entry says what was read and how much was found (never a value).
    pub async fn record_scan(&self, host: &str, roots: &[String], found: &[FoundSecret], files_read: usize, skipped: usize) -> Result<u64, ActionError> {
        if self.read_only {
            return Err(ActionError::ReadOnly("scan"));
        }
        let held = self.store.record_deployments(host, roots, found, chrono::Utc::now()).await?;
        let detail = serde_json::json!({ "host": host, "roots": roots, "files_read": files_read, "found": found.len(), "skipped": skipped, "recorded": held });
        let entry = self.audit("scan", format!("host:{host}"), detail);
        self.store.append_audit(&entry).await?;
        Ok(held)
    }
}
