//! What needs attention now: the figures of the `:home` view and of `tokenward
//! home`, one load for both, each figure read the way its CLI twin reads it
//! (`grants`, `findings --summary`, `expiring`, `issuers`), with the filter or view
//! that lists what it counts.
use chrono::Duration;
use serde::Serialize;

use crate::domain::{fmt_ts, GrantStatus, Severity, Timestamp};
use crate::store::{Store, StoreError};

/// The most owners and workloads "where to start" lists.
pub const TOP: usize = 10;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Home {
    pub at: String,
    pub grants: Grants,
    pub findings: Findings,
    pub expiring: Expiring,
    pub issuers: Vec<Issuer>,
    /// Revocations queued while an issuer was unreachable, waiting to be retried.
    pub outbox: i64,
    /// The owners holding the most open high-severity findings on active credentials.
    pub owners: Vec<Place>,
    /// The workloads holding the most.
    pub workloads: Vec<Place>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Grants {
    pub pending: i64,
    /// Waiting longer than the approval SLA.
    pub past_sla: i64,
    pub sla_minutes: i64,
    pub oldest_requested_at: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Findings {
    pub high: i64,
    pub medium: i64,
    pub low: i64,
    /// The rules with the most findings opened by the last recompute (after the last sync).
    pub new_in_last_run: Vec<Place>,
    pub last_run: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Expiring {
    pub within_24h: i64,
    pub within_7d: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Issuer {
    pub name: String,
    pub credentials: i64,
    pub last_sync: Option<String>,
    /// `ok`, `failed`, `running`, or `never`.
    pub status: String,
    /// What went wrong (rejected records, an unreachable issuer), when something did.
    pub error: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Place {
    pub name: String,
    pub count: i64,
}

fn places(rows: Vec<(String, i64)>) -> Vec<Place> {
    rows.into_iter().map(|(name, count)| Place { name, count }).collect()
}

/// Every figure of the home view, at `now`, with grants past `sla` called out.
pub async fn load(store: &Store, now: Timestamp, sla: Duration) -> Result<Home, StoreError> {
    // The one long count (a join over the open high findings, most of a second at
    // 1,000,000 credentials) runs beside the others, on a connection of its own.
    let (holders, mut home) = tokio::try_join!(store.high_findings_by_holder(), load_counts(store, now, sla))?;
    home.owners = top(&holders, |(owner, _, _)| owner);
    home.workloads = top(&holders, |(_, workload, _)| workload);
    Ok(home)
}

/// Every figure but where to start.
async fn load_counts(store: &Store, now: Timestamp, sla: Duration) -> Result<Home, StoreError> {
    let pending = store.grants(Some(GrantStatus::Pending), 100_000).await?;
    let overdue = now - sla;
    let grants = Grants {
        pending: pending.len() as i64,
        past_sla: pending.iter().filter(|g| g.requested_at.is_some_and(|t| t < overdue)).count() as i64,
        sla_minutes: sla.num_minutes(),
        oldest_requested_at: pending.iter().filter_map(|g| g.requested_at).min().map(|t| fmt_ts(&t)),
    };
    let counts = store.finding_counts().await?;
    let by = |s: Severity| counts.iter().filter(|c| c.severity == s).map(|c| c.open).sum();
    let last_run = store.last_findings_run().await?.map(|r| r.0);
    let new_in_last_run = match &last_run {
        Some(at) => places(store.findings_opened_since(at, 3).await?),
        None => Vec::new(),
    };
    let findings = Findings { high: by(Severity::High) + by(Severity::Critical), medium: by(Severity::Medium), low: by(Severity::Low), new_in_last_run, last_run };
    // As `tokenward expiring --within W` counts: active credentials expiring between now and then.
    let expiring = Expiring { within_24h: store.count_expiring(now, now + Duration::hours(24)).await?, within_7d: store.count_expiring(now, now + Duration::days(7)).await? };
    let issuers = store
        .issuer_summaries()
        .await?
        .into_iter()
        .map(|i| Issuer {
            name: i.name,
            credentials: i.credentials,
            last_sync: i.last_run.as_ref().and_then(|r| r.finished_at.clone()),
            status: i.last_run.as_ref().map_or_else(|| "never".to_string(), |r| r.status.to_string()),
            error: i.last_run.and_then(|r| r.error),
        })
        .collect();
    Ok(Home {
        at: fmt_ts(&now),
        grants,
        findings,
        expiring,
        issuers,
        outbox: store.pending_revocations().await?.len() as i64,
        owners: Vec::new(),
        workloads: Vec::new(),
    })
}

/// The `TOP` names holding the most of `rows`' counts, most first, then by name
/// (byte order, as both backends sort); the unnamed are left out.
fn top(rows: &[(String, String, i64)], name: impl Fn(&(String, String, i64)) -> &String) -> Vec<Place> {
    let mut sums: std::collections::HashMap<&str, i64> = std::collections::HashMap::new();
    for row in rows.iter().filter(|r| !name(r).is_empty()) {
        *sums.entry(name(row).as_str()).or_default() += row.2;
    }
    let mut places: Vec<Place> = sums.into_iter().map(|(name, count)| Place { name: name.to_string(), count }).collect();
    places.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.name.cmp(&b.name)));
    places.truncate(TOP);
    places
}
