//! The sync engine: runs connectors concurrently (bounded), pages into the store
//! one transaction per page, records a run per issuer, resumes an interrupted run
//! from its last committed cursor. A process killed anywhere (tests/crash_safety.rs)
//! is resumed there, except between its last page and its finish: that run is listed again.
use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use futures_util::stream::{self, StreamExt};
use serde::Serialize;
use tokio::sync::mpsc;

use crate::connectors::{Connector, ConnectorError, Rejection};
use crate::domain::consent_action;
use crate::store::{AuditDraft, Store, StoreError};

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SyncReport {
    pub issuer: String,
    pub run_id: i64,
    pub owners: u64,
    pub credentials: u64,
    pub pages: u64,
    pub grants: u64,
    pub gone: u64,
    pub resumed: bool,
    /// The issuer listed only what changed since the last sync (and what went).
    pub delta: bool,
    pub seconds: f64,
    pub error: Option<String>,
    /// What the connector had to do, such as waiting out a rate limit; then the
    /// first records rejected and the consent words not understood.
    pub notes: Vec<String>,
    /// Records the issuer sent that failed validation, each refused on its own.
    pub rejected: u64,
    /// Consent events whose action is outside the vocabulary (kept as written).
    pub unrecognised_actions: u64,
}

impl SyncReport {
    /// A report of nothing done yet for an issuer.
    pub fn new(issuer: &str) -> SyncReport {
        SyncReport {
            issuer: issuer.to_string(),
            run_id: 0,
            owners: 0,
            credentials: 0,
            pages: 0,
            grants: 0,
            gone: 0,
            resumed: false,
            delta: false,
            seconds: 0.0,
            error: None,
            notes: Vec::new(),
            rejected: 0,
            unrecognised_actions: 0,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum SyncEvent {
    Started { issuer: String, resumed: bool },
    Progress { issuer: String, pages: u64, credentials: u64, elapsed: Duration },
    Finished(SyncReport),
}

/// Whole pages are grouped into one transaction up to this many credentials
/// (measured: 1,000-row commits ingest at a third of SQLite's raw rate, 10,000-row
/// commits at about half), or after `COMMIT_AFTER`, whichever comes first.
pub const COMMIT_ROWS: usize = 10_000;
pub const COMMIT_AFTER: Duration = Duration::from_secs(2);

/// Most pages one list of one run may take: an issuer that never stops paging
/// is cut off here (and the cursors remembered to catch a cycle stay bounded).
pub const MAX_PAGES: u64 = 100_000;

/// A sync that could list only changes lists everything when its issuer's last full
/// listing that ended well is older than this: what a delta never carries (a change
/// made here that the issuer did not make, a tombstone it lost) is set right daily.
pub const FULL_LISTING_EVERY: chrono::Duration = chrono::Duration::hours(24);

/// How many rejected records and unrecognised consent words a report names.
pub const NAMED_IN_REPORT: usize = 5;

/// What a run refused or did not understand, for the report's notes.
#[derive(Default)]
struct Tally {
    reasons: Vec<String>,
    words: std::collections::BTreeSet<String>,
}

impl Tally {
    fn rejected(&mut self, report: &mut SyncReport, what: &str, rejected: &[Rejection]) {
        report.rejected += rejected.len() as u64;
        for r in rejected.iter().take(NAMED_IN_REPORT.saturating_sub(self.reasons.len())) {
            self.reasons.push(format!("rejected {what} {r}"));
        }
    }

    fn consent(&mut self, report: &mut SyncReport, items: &[crate::domain::Credential]) {
        for e in items.iter().flat_map(|c| &c.consent).filter(|e| consent_action(&e.action).is_none()) {
            report.unrecognised_actions += 1;
            if self.words.len() < NAMED_IN_REPORT {
                self.words.insert(e.action.clone());
            }
        }
    }

    fn notes(self, report: &SyncReport) -> Vec<String> {
        let mut notes = self.reasons;
        if report.rejected > notes.len() as u64 {
            notes.push(format!("{} more records rejected", report.rejected - notes.len() as u64));
        }
        if report.unrecognised_actions > 0 {
            let words: Vec<String> = self.words.iter().map(|w| format!("'{w}'")).collect();
            notes.push(format!(
                "{} consent events with unrecognised actions: {} (kept as written; the findings read only the vocabulary of docs/protocol.md)",
                report.unrecognised_actions,
                words.join(", ")
            ));
        }
        notes
    }
}

/// The cursors of one list in one run: any repeat is a cycle, and there is a ceiling.
struct Cursors {
    seen: HashSet<String>,
    pages: u64,
}

impl Cursors {
    fn new(start: Option<&str>, pages: u64) -> Self {
        Cursors { seen: start.map(str::to_string).into_iter().collect(), pages }
    }

    /// Accepts the cursor of the next page, or says why paging must stop.
    fn next(&mut self, issuer: &str, what: &str, cursor: &str) -> Result<(), SyncError> {
        self.pages += 1;
        if self.pages >= MAX_PAGES {
            return Err(SyncError::Paging(format!("{issuer} sent more than {MAX_PAGES} pages of {what}: stopped there, what came before is kept")));
        }
        if !self.seen.insert(cursor.to_string()) {
            return Err(SyncError::Paging(format!(
                "{issuer} repeated a cursor of its {what} after {} pages (a paging cycle): stopped there, what came before is kept",
                self.pages
            )));
        }
        Ok(())
    }
}

/// Pages fetched but not yet committed. Resume stays exact: the cursor written
/// is the one after the last page in the transaction.
struct CommitBatch {
    items: Vec<crate::domain::Credential>,
    pages: i64,
    cursor: Option<String>,
    since: Instant,
    rows: usize,
}

impl CommitBatch {
    fn new(rows: usize) -> Self {
        CommitBatch { items: Vec::new(), pages: 0, cursor: None, since: Instant::now(), rows }
    }

    fn add(&mut self, items: Vec<crate::domain::Credential>, cursor: Option<String>) {
        if self.pages == 0 {
            self.since = Instant::now();
        }
        self.items.extend(items);
        self.pages += 1;
        self.cursor = cursor;
    }

    fn is_full(&self) -> bool {
        self.items.len() >= self.rows || self.since.elapsed() >= COMMIT_AFTER
    }

    /// Writes the batch; returns (pages, credentials) committed.
    async fn commit(&mut self, store: &Store, run: &crate::store::SyncRunStart) -> Result<(u64, u64), StoreError> {
        if self.pages == 0 {
            return Ok((0, 0));
        }
        // Still ours: a sync that lost its lock to another stops before writing.
        store.renew_sync_lock(run, Utc::now()).await?;
        store.ingest_credential_page(run.id, run.started_at, &self.items, self.pages, self.cursor.as_deref()).await?;
        let done = (self.pages as u64, self.items.len() as u64);
        self.items.clear();
        self.pages = 0;
        Ok(done)
    }
}

#[derive(Debug, thiserror::Error)]
enum SyncError {
    #[error(transparent)]
    Connector(#[from] ConnectorError),
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The issuer's paging ran away (a cycle or too many pages).
    #[error("{0}")]
    Paging(String),
    /// The task writing the fetched pages ended without an answer (it panicked).
    #[error("the sync's writer stopped: {0}")]
    Writer(String),
}

/// Syncs every connector, at most `concurrency` at once. One failing issuer never
/// stops the others: each report carries its own error.
pub async fn sync_all(
    store: &Store,
    connectors: &[Arc<dyn Connector>],
    concurrency: usize,
    progress: Option<mpsc::Sender<SyncEvent>>,
) -> Vec<SyncReport> {
    sync_all_listing(store, connectors, concurrency, progress, Listing::Changes).await
}

/// What a sync asks an issuer for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Listing {
    /// Only what changed since the last sync that ended well, where the issuer can
    /// list changes (`Capabilities::delta`) and gave a watermark; else everything.
    Changes,
    /// Everything, whatever the issuer can do: what it no longer lists is marked gone.
    Full,
}

/// As `sync_all`, asking each issuer for `listing`.
pub async fn sync_all_listing(
    store: &Store,
    connectors: &[Arc<dyn Connector>],
    concurrency: usize,
    progress: Option<mpsc::Sender<SyncEvent>>,
    listing: Listing,
) -> Vec<SyncReport> {
    stream::iter(connectors.iter().cloned())
        .map(|c| {
            let progress = progress.clone();
            async move { sync_issuer_listing(store, c.as_ref(), progress, COMMIT_ROWS, listing).await }
        })
        .buffer_unordered(concurrency.max(1))
        .collect()
        .await
}

pub async fn sync_issuer(store: &Store, connector: &dyn Connector, progress: Option<mpsc::Sender<SyncEvent>>) -> SyncReport {
    sync_issuer_with(store, connector, progress, COMMIT_ROWS).await
}

/// As `sync_issuer`, committing whole pages in transactions of about `commit_rows` credentials.
pub async fn sync_issuer_with(
    store: &Store,
    connector: &dyn Connector,
    progress: Option<mpsc::Sender<SyncEvent>>,
    commit_rows: usize,
) -> SyncReport {
    sync_issuer_listing(store, connector, progress, commit_rows, Listing::Changes).await
}

async fn sync_issuer_listing(
    store: &Store,
    connector: &dyn Connector,
    progress: Option<mpsc::Sender<SyncEvent>>,
    commit_rows: usize,
    listing: Listing,
) -> SyncReport {
    let started = Instant::now();
    let name = connector.name().to_string();
    let mut report = SyncReport::new(&name);
    let mut tally = Tally::default();
    let outcome = run(store, connector, &progress, &mut report, &mut tally, (started, commit_rows, listing)).await;
    report.error = outcome.err().map(|e| e.to_string());
    report.notes = connector.notes();
    report.notes.extend(tally.notes(&report));
    report.seconds = started.elapsed().as_secs_f64();
    let detail = serde_json::to_value(&report).unwrap_or_default();
    // On PostgreSQL the entry carries the login that ran the sync; a file has no login to name.
    let actor = match store.acting_login().await {
        Ok(Some(login)) => login.name,
        _ => "tokenward-sync".to_string(),
    };
    let draft = AuditDraft { at: Utc::now(), actor, action: "sync".into(), target: format!("issuer:{name}"), detail };
    if let Err(e) = store.append_audit(&draft).await {
        report.error.get_or_insert_with(|| format!("audit: {e}"));
    }
    if let Some(tx) = &progress {
        let _ = tx.send(SyncEvent::Finished(report.clone())).await;
    }
    report
}

async fn run(
    store: &Store,
    connector: &dyn Connector,
    progress: &Option<mpsc::Sender<SyncEvent>>,
    report: &mut SyncReport,
    tally: &mut Tally,
    (started, commit_rows, listing): (Instant, usize, Listing),
) -> Result<(), SyncError> {
    let name = connector.name();
    let caps = connector.capabilities();
    store.upsert_issuer(name, connector.kind(), None).await?;
    let run = store.begin_sync_run(name, Utc::now()).await?;
    report.run_id = run.id;
    report.resumed = run.resume_cursor.is_some();
    report.pages = run.pages as u64;
    report.credentials = run.items as u64;
    if let Some(tx) = progress {
        let _ = tx.send(SyncEvent::Started { issuer: name.to_string(), resumed: report.resumed }).await;
    }
    // A resumed run lists as it began; a new one asks for changes where it can.
    let since = match (&run.resume_cursor, listing) {
        (Some(_), _) => run.since.clone(),
        (None, Listing::Changes) if caps.delta => store.last_watermark(name, Utc::now() - FULL_LISTING_EVERY).await?,
        (None, _) => None,
    };
    report.delta = since.is_some();
    // What this run lists: the run as the store began it, with what it lists changes after.
    let listed = crate::store::SyncRunStart { since, ..run.clone() };
    let result = pages(store, connector, progress, report, tally, (started, commit_rows), &listed).await;
    // A rejected record may still exist at its issuer: such a run marks nothing gone, and says why.
    let failure = match &result {
        Err(e) => Some(e.to_string()),
        Ok(()) if report.rejected > 0 => Some(format!("{} records rejected (nothing marked gone): {}", report.rejected, tally.reasons.join("; "))),
        Ok(()) => None,
    };
    let gone = store.finish_sync_run(&run, name, failure.as_deref(), Utc::now()).await?;
    report.gone += gone;
    result?;
    if caps.grants {
        let grants = connector.list_grants().await?;
        tally.rejected(report, "grant", &connector.take_rejected());
        store.replace_grants(name, &grants, Utc::now()).await?;
        report.grants = grants.len() as u64;
    }
    Ok(())
}

async fn pages(
    store: &Store,
    connector: &dyn Connector,
    progress: &Option<mpsc::Sender<SyncEvent>>,
    report: &mut SyncReport,
    tally: &mut Tally,
    (started, commit_rows): (Instant, usize),
    run: &crate::store::SyncRunStart,
) -> Result<(), SyncError> {
    if connector.capabilities().owners && run.resume_cursor.is_none() {
        let mut cursor = None;
        let mut cursors = Cursors::new(None, 0);
        loop {
            let page = connector.list_owners(cursor).await?;
            tally.rejected(report, "owner", &page.rejected);
            store.ingest_owners(connector.name(), &page.items, Utc::now(), connector.capabilities().directory).await?;
            report.owners += page.items.len() as u64;
            cursor = page.next_cursor;
            match &cursor {
                None => break,
                Some(c) => cursors.next(connector.name(), "owners", c)?,
            }
        }
    }
    if !connector.capabilities().credentials {
        return Ok(());
    }
    // The writer commits whole batches on its own task while this one fetches and
    // decodes the next pages: the issuer, the decoding and SQLite work at once. At
    // most `IN_FLIGHT_PAGES` decoded pages wait for it, so memory stays bounded.
    let (pages_tx, pages_rx) = mpsc::channel::<FetchedPage>(IN_FLIGHT_PAGES);
    let base = (report.pages, report.credentials);
    let writer = tokio::spawn(write_batches(store.clone(), run.clone(), pages_rx, progress.clone(), (connector.name().to_string(), started, base, commit_rows)));
    let fetched = fetch_pages(store, connector, run, report, tally, pages_tx).await;
    let written = writer.await.map_err(|e| SyncError::Writer(e.to_string()))?;
    let (pages, credentials) = written.committed;
    report.pages += pages;
    report.credentials += credentials;
    report.gone += written.removed;
    // A store error is the cause when both failed: the fetcher stops because the writer went away.
    written.result?;
    fetched
}

/// One decoded page on its way to the writer, with the cursor to resume after it
/// (`None` once paging must not be resumed from there), and a delta page's tombstones.
type FetchedPage = (Vec<crate::domain::Credential>, Option<String>, Vec<String>);

/// Decoded pages that may wait for the writer: about two commit batches of 1,000-row pages.
const IN_FLIGHT_PAGES: usize = 20;

/// Fetches and decodes credential pages into `out` until the last page, an error, or the writer is gone.
async fn fetch_pages(
    store: &Store,
    connector: &dyn Connector,
    run: &crate::store::SyncRunStart,
    report: &mut SyncReport,
    tally: &mut Tally,
    out: mpsc::Sender<FetchedPage>,
) -> Result<(), SyncError> {
    let mut since = run.since.clone();
    let mut cursors = Cursors::new(run.resume_cursor.as_deref(), run.pages.max(0) as u64);
    let mut cursor = run.resume_cursor.clone();
    let mut first = run.resume_cursor.is_none();
    loop {
        // Fetched pages are kept on an error: the next run resumes after the last one written.
        let page = match &since {
            Some(s) => connector.list_changed_credentials(cursor, s.clone()).await?,
            None => connector.list_credentials(cursor).await?,
        };
        if std::mem::take(&mut first) {
            // An issuer that answered a delta request with everything lists everything:
            // this run then marks gone what it does not list, as a full one does.
            if !page.delta {
                since = None;
            }
            report.delta = since.is_some();
            store.set_run_listing(run.id, since.as_deref(), page.watermark.as_deref()).await?;
        }
        tally.rejected(report, "credential", &page.rejected);
        tally.consent(report, &page.items);
        let next = page.next_cursor;
        let checked = match &next {
            Some(c) => cursors.next(connector.name(), "credentials", c),
            None => Ok(()),
        };
        // After a runaway cursor, resume nowhere: the next sync starts over instead of re-entering the loop.
        let resume = if checked.is_ok() { next.clone() } else { None };
        if out.send((page.items, resume, page.removed)).await.is_err() {
            return Ok(()); // the writer failed; it says why
        }
        checked?;
        match next {
            Some(c) => cursor = Some(c),
            None => return Ok(()),
        }
    }
}

struct Written {
    committed: (u64, u64),
    /// Credentials a delta listing's tombstones marked gone.
    removed: u64,
    result: Result<(), StoreError>,
}

/// Commits the fetched pages in batches of about `commit_rows` credentials, each
/// with its resume cursor, and reports progress; what is left is committed when
/// the fetcher stops, whether it finished or failed.
async fn write_batches(
    store: Store,
    run: crate::store::SyncRunStart,
    mut pages: mpsc::Receiver<FetchedPage>,
    progress: Option<mpsc::Sender<SyncEvent>>,
    (issuer, started, base, commit_rows): (String, Instant, (u64, u64), usize),
) -> Written {
    let mut batch = CommitBatch::new(commit_rows);
    let mut committed = (0, 0);
    let mut note = |(pages, items): (u64, u64)| {
        committed.0 += pages;
        committed.1 += items;
        if let Some(tx) = &progress {
            let _ = tx.try_send(SyncEvent::Progress {
                issuer: issuer.clone(),
                pages: base.0 + committed.0,
                credentials: base.1 + committed.1,
                elapsed: started.elapsed(),
            });
        }
    };
    let mut removed = 0;
    let result = async {
        while let Some((items, cursor, gone)) = pages.recv().await {
            // Before the page's cursor is committed: a resumed run fetches it again,
            // and marking gone what is gone is the same the second time.
            if !gone.is_empty() {
                removed += store.mark_removed(&issuer, &gone, Utc::now()).await?;
            }
            batch.add(items, cursor);
            if batch.is_full() {
                note(batch.commit(&store, &run).await?);
            }
        }
        note(batch.commit(&store, &run).await?);
        Ok(())
    }
    .await;
    Written { committed, removed, result }
}
