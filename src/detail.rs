//! One credential with everything around it: what `show` prints and the TUI's
//! detail pane draws. Loaded through the store; rendered without I/O.
use serde::Serialize;

use crate::domain::{fmt_ts, relative, Credential, Owner, Timestamp};
use crate::store::{AuditEntry, Store, StoreError};

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CredentialDetail {
    pub credential: Credential,
    pub owner: Option<Owner>,
    /// Parent credentials, root first: (id, workload).
    pub lineage: Vec<(String, String)>,
    /// Open findings: (rule, severity, summary).
    pub findings: Vec<(String, crate::domain::Severity, String)>,
    pub audit: Vec<AuditEntry>,
    /// Where a scan found it in plain text (`tokenward scan`).
    pub deployments: Vec<crate::store::Deployment>,
}

pub async fn load(store: &Store, needle: &str) -> Result<CredentialDetail, StoreError> {
    let id = store.resolve(needle).await?;
    let credential = store.credential(&id).await?;
    let owner = match &credential.owner {
        Some(o) => store.owner(o).await?,
        None => None,
    };
    Ok(CredentialDetail {
        lineage: store.lineage(&id).await?,
        findings: store.open_findings_for(&id).await?,
        audit: store.audit_for_target(&format!("credential:{id}"), 20).await?,
        deployments: store.deployments(Some(&id), 50).await?,
        owner,
        credential,
    })
}

pub fn owner_label(detail: &CredentialDetail) -> String {
    match (&detail.credential.owner, &detail.owner) {
        (None, _) => "none (no accountable owner)".into(),
        (Some(email), None) => format!("{email} (unknown to the directory)"),
        (Some(email), Some(o)) => {
            let mut s = email.clone();
            if let Some(n) = &o.name {
                s = format!("{n} <{email}>");
            }
            if let Some(t) = &o.team {
                s.push_str(&format!(", team {t}"));
            }
            if o.status == crate::domain::OwnerStatus::Offboarded {
                s.push_str(" OFFBOARDED");
                if let Some(at) = &o.offboarded_at {
                    s.push_str(&format!(" {}", fmt_ts(at)));
                }
            }
            s
        }
    }
}

/// Plain lines for `show` (the TUI styles the same facts itself).
pub fn text_lines(d: &CredentialDetail, now: Timestamp) -> Vec<String> {
    let c = &d.credential;
    let when = |t: &Option<Timestamp>, none: &str| match t {
        Some(t) => format!("{} ({})", fmt_ts(t), relative(t, now)),
        None => none.to_string(),
    };
    let or_dash = |s: &Option<String>| s.clone().unwrap_or_else(|| "-".into());
    let mut l = vec![
        format!("credential   {}  ({} at {})", c.id, c.external_id, c.issuer),
        format!("kind         {}", c.kind),
        format!("status       {}", c.status),
        format!("owner        {}", owner_label(d)),
        format!("workload     {}", or_dash(&c.workload)),
        format!("client id    {}", or_dash(&c.client_id)),
        format!("subject      {}", or_dash(&c.subject)),
        format!("scopes       {}", if c.scopes.is_empty() { "-".into() } else { c.scopes.join(" ") }),
        format!("audience     {}", if c.audience.is_empty() { "-".into() } else { c.audience.join(" ") }),
        format!("binding      {}", c.binding),
        format!("issued       {}", when(&c.issued_at, "unknown")),
        format!("expires      {}", when(&c.expires_at, "never")),
        format!("last used    {}", when(&c.last_used_at, "never")),
        format!("fingerprint  {}", or_dash(&c.fingerprint)),
    ];
    if let Some(t) = &c.task {
        l.push(format!("task         {} {}", t.id, t.intent.as_deref().unwrap_or("")));
        if let Some(e) = &t.ended_at {
            l.push(format!("task ended   {} ({})", fmt_ts(e), relative(e, now)));
        }
    }
    l.push(String::new());
    l.push("delegation chain".into());
    if c.act_chain.is_empty() && d.lineage.is_empty() {
        l.push("  (none: held directly)".into());
    }
    for (id, workload) in &d.lineage {
        l.push(format!("  parent {id} held by {workload}"));
    }
    for (i, actor) in c.act_chain.iter().enumerate() {
        l.push(format!("  {}hop {}: {actor}", "  ".repeat(i), i + 1));
    }
    l.push(String::new());
    l.push("consent trail".into());
    if c.consent.is_empty() {
        l.push("  (no consent recorded)".into());
    }
    for e in &c.consent {
        l.push(format!(
            "  {}  {:<12} {:<28} {}{}",
            fmt_ts(&e.at),
            e.action,
            e.actor,
            e.scopes.join(" "),
            e.note.as_ref().map(|n| format!("  \"{n}\"")).unwrap_or_default()
        ));
    }
    l.push(String::new());
    l.push("recent usage".into());
    if c.usage.is_empty() {
        l.push("  (none reported)".into());
    }
    for u in &c.usage {
        l.push(format!("  {}  {}  from {}", fmt_ts(&u.at), or_dash(&u.workload), or_dash(&u.origin)));
    }
    l.push(String::new());
    l.push("findings".into());
    if d.findings.is_empty() {
        l.push("  (none open)".into());
    }
    for (rule, severity, summary) in &d.findings {
        l.push(format!("  {severity:<8} {rule}: {summary}"));
    }
    if !d.deployments.is_empty() {
        l.push(String::new());
        l.push("deployed in (found in plain text by tokenward scan)".into());
        for p in &d.deployments {
            l.push(format!("  {}:{}  {}  last seen {}", p.host, p.path, p.location, p.last_seen));
        }
    }
    if !d.audit.is_empty() {
        l.push(String::new());
        l.push("audit".into());
        for e in &d.audit {
            l.push(format!("  #{} {} {} {}", e.seq, e.at, e.actor, e.action));
        }
    }
    l
}
