//! Triage of a leaked token: fingerprint it, find it, ask every issuer that can
//! tell whether it is live, and revoke it wherever it is.
use std::sync::Arc;

use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;

use super::base::{ActionError, Actions};
use super::revoke::RevokeOutcome;
use crate::connectors::Connector;
use crate::domain::{text, CredentialStatus, IssuerAnswer};
use crate::store::StoreError;

/// Largest token accepted on stdin: real bearer tokens and JWTs are far smaller.
pub const MAX_TOKEN_BYTES: usize = 16 * 1024;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TriageFinding {
    pub issuer: String,
    pub introspection: Option<crate::domain::Introspection>,
    pub error: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TriageRevocation {
    pub issuer: String,
    pub revoked: bool,
    /// The issuer's introspection after the revocation answered inactive.
    pub confirmed_inactive: bool,
    pub issuer_answer: Option<IssuerAnswer>,
    pub error: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TriageReport {
    pub fingerprint: String,
    /// The inventory's credential with this fingerprint, if any.
    pub credential: Option<crate::domain::Credential>,
    pub owner_status: Option<String>,
    pub introspections: Vec<TriageFinding>,
    pub inventory_revocation: Option<RevokeOutcome>,
    /// Why the inventory's issuer did not revoke it (the others were still asked).
    pub inventory_revocation_error: Option<String>,
    pub revocations: Vec<TriageRevocation>,
    pub audit_seq: i64,
}

impl TriageReport {
    /// Active somewhere, or held active in the inventory.
    pub fn is_live(&self) -> bool {
        self.introspections.iter().any(|f| f.introspection.as_ref().is_some_and(|i| i.active))
            || self.credential.as_ref().is_some_and(|c| c.status == CredentialStatus::Active)
    }
}

impl Actions {
    /// A leaked token: fingerprint it, find it in the inventory, ask every
    /// introspecting issuer about it, and with a reason revoke it everywhere it
    /// is live. The token goes only to issuers; the store and the log get its fingerprint.
    pub async fn triage(&self, token: &SecretString, revoke_reason: Option<&str>) -> Result<TriageReport, ActionError> {
        // Exposed here only to check its shape and fingerprint it; issuers get the wrapped copy.
        let raw = token.expose_secret().trim();
        let token = &SecretString::from(raw);
        if raw.is_empty() {
            return Err(ActionError::Input("no token given (it is read from standard input)".into()));
        }
        if raw.len() > MAX_TOKEN_BYTES || raw.chars().any(|c| c.is_control() || c.is_whitespace()) {
            return Err(ActionError::Input(format!(
                "that is not one token: at most {MAX_TOKEN_BYTES} bytes, no spaces or control characters"
            )));
        }
        let reason = match revoke_reason {
            Some(r) => {
                if self.read_only {
                    return Err(ActionError::ReadOnly("revoke"));
                }
                let r = text::clean(r.trim(), 2000);
                if r.is_empty() {
                    return Err(ActionError::NoReason);
                }
                Some(r)
            }
            None => None,
        };
        let fingerprint = crate::domain::fingerprint(raw.as_bytes());
        let credential = match self.store.resolve(&fingerprint).await {
            Ok(id) => Some(self.store.credential(&id).await?),
            Err(StoreError::NotFound(_)) => None,
            Err(e) => return Err(e.into()),
        };
        if reason.is_some() {
            let owner = credential.as_ref().and_then(|c| c.owner.clone()).unwrap_or_default();
            self.authorize("triage_revoke", &owner, format!("fingerprint:{fingerprint}")).await?;
        }
        let owner_status = match credential.as_ref().and_then(|c| c.owner.clone()) {
            Some(o) => Some(self.store.owner(&o).await?.map(|o| o.status.to_string()).unwrap_or_else(|| "unknown".into())),
            None => None,
        };
        let mut introspectors: Vec<&Arc<dyn Connector>> = self.connectors.values().filter(|c| c.capabilities().introspect).collect();
        introspectors.sort_by(|a, b| a.name().cmp(b.name()));
        let mut introspections = Vec::new();
        for c in &introspectors {
            let (introspection, error) = match c.introspect(token).await {
                Ok(i) => (Some(i), None),
                Err(e) => (None, Some(e.to_string())),
            };
            introspections.push(TriageFinding { issuer: c.name().to_string(), introspection, error });
        }
        let mut inventory_revocation = None;
        let mut inventory_revocation_error = None;
        let mut revocations = Vec::new();
        if let Some(reason) = &reason {
            let inventory = credential.as_ref().filter(|c| c.status != CredentialStatus::Revoked && self.connectors.get(&c.issuer).is_some_and(|k| k.capabilities().revoke));
            let live: Vec<&str> = introspectors.iter().zip(&introspections).filter(|(_, f)| f.introspection.as_ref().is_some_and(|i| i.active)).map(|(c, _)| c.name()).collect();
            // Announced before anything is revoked: if this cannot be written, nothing is sent.
            let intent = serde_json::json!({"fingerprint": fingerprint, "credential": inventory.map(|c| &c.id), "revoke_at": live, "introspections": introspections, "reason": reason});
            self.store.append_audit(&self.audit("triage.intent", format!("fingerprint:{fingerprint}"), intent)).await.map_err(ActionError::NotSent)?;
            // One issuer failing (a 403, a 404, down) never stops the others: each answer is reported.
            if let Some(c) = inventory {
                match self.revoke_decided(&c.id, reason).await {
                    Ok(o) => inventory_revocation = Some(o),
                    Err(e) => inventory_revocation_error = Some(e.to_string()),
                }
            }
            for (c, found) in introspectors.iter().zip(&introspections) {
                if !found.introspection.as_ref().is_some_and(|i| i.active) {
                    continue;
                }
                let mut r = TriageRevocation { issuer: c.name().to_string(), revoked: false, confirmed_inactive: false, issuer_answer: None, error: None };
                match c.revoke_token(token).await {
                    Ok(answer) => {
                        r.revoked = true;
                        r.issuer_answer = Some(answer);
                        r.confirmed_inactive = matches!(c.introspect(token).await, Ok(i) if !i.active);
                    }
                    Err(e) => r.error = Some(e.to_string()),
                }
                revocations.push(r);
            }
        }
        let detail = serde_json::json!({
            "fingerprint": fingerprint,
            "credential": credential.as_ref().map(|c| &c.id),
            "introspections": introspections,
            "reason": reason,
            "inventory_revocation": inventory_revocation.as_ref().map(|o| serde_json::json!({"status": o.status, "message": o.message, "audit_seq": o.audit_seq})),
            "inventory_revocation_error": inventory_revocation_error,
            "revocations": revocations,
        });
        let action = if revocations.iter().any(|r| r.revoked) || inventory_revocation.is_some() { "triage.revoke" } else { "triage" };
        let draft = self.audit(action, format!("fingerprint:{fingerprint}"), detail);
        let entry = self.store.append_audit(&draft).await?;
        Ok(TriageReport { fingerprint, credential, owner_status, introspections, inventory_revocation, inventory_revocation_error, revocations, audit_seq: entry.seq })
    }
}

