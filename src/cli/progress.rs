//! Progress on stderr: a live bar per issuer (and for a bulk revocation) on a
//! terminal, the same facts as plain lines when stderr is a pipe or a file.
use std::collections::HashMap;
use std::io::{IsTerminal, Write};
use std::sync::Arc;
use std::time::{Duration, Instant};

use color_eyre::eyre::Result;
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::actions::BulkProgress;
use crate::cli::output::{self, tell};
use crate::connectors::Connector;
use crate::context::Context;
use crate::domain::text;
use crate::store::{RecomputeReport, Store};
use crate::sync::{self, SyncEvent, SyncReport};

/// Syncs and shows its progress on stderr until every issuer has finished.
pub async fn sync_with_progress(store: &Store, connectors: &[Arc<dyn Connector>], concurrency: usize, listing: sync::Listing) -> Vec<SyncReport> {
    let (tx, mut rx) = mpsc::channel(256);
    let printer = tokio::spawn(async move {
        let mut shown = if std::io::stderr().is_terminal() { SyncProgress::bars() } else { SyncProgress::Lines { last_line: Instant::now() } };
        while let Some(event) = rx.recv().await {
            shown.show(event);
        }
    });
    let reports = sync::sync_all_listing(store, connectors, concurrency, Some(tx), listing).await;
    let _ = printer.await;
    reports
}

enum SyncProgress {
    Bars { multi: MultiProgress, bars: HashMap<String, ProgressBar> },
    Lines { last_line: Instant },
}

impl SyncProgress {
    fn bars() -> SyncProgress {
        SyncProgress::Bars { multi: MultiProgress::new(), bars: HashMap::new() }
    }

    fn show(&mut self, event: SyncEvent) {
        match self {
            SyncProgress::Bars { multi, bars } => show_on_bars(multi, bars, event),
            SyncProgress::Lines { last_line } => show_as_lines(last_line, event),
        }
    }
}

fn started_line(issuer: &str, resumed: bool) -> String {
    format!("{issuer}: sync {}", if resumed { "resuming from its last committed page" } else { "started" })
}

fn progress_text(credentials: u64, pages: u64, elapsed: Duration) -> String {
    let rate = credentials as f64 / elapsed.as_secs_f64().max(0.001);
    format!("{credentials} credentials, {pages} pages, {rate:.0}/s")
}

/// What a finished sync leaves behind: its notes, then how it ended.
fn finished_lines(r: &SyncReport) -> Vec<String> {
    let mut lines: Vec<String> = r.notes.iter().map(|note| format!("{}: {note}", r.issuer)).collect();
    lines.push(match &r.error {
        None => format!(
            "{}: done: {} credentials{}, {} pages, {} owners, {} grants, {} gone, {:.1}s",
            r.issuer,
            r.credentials,
            // A delta listing counts only what changed since the last sync.
            if r.delta { " changed" } else { "" },
            r.pages,
            r.owners,
            r.grants,
            r.gone,
            r.seconds
        ),
        Some(e) => format!("{}: FAILED after {} credentials: {e}", r.issuer, r.credentials),
    });
    if r.rejected > 0 {
        // Nothing was marked gone: a rejected record may still exist at its issuer.
        lines.push(format!("{}: {} records rejected, each on its own (named above; nothing marked gone this run)", r.issuer, r.rejected));
    }
    lines
}

fn show_on_bars(multi: &MultiProgress, bars: &mut HashMap<String, ProgressBar>, event: SyncEvent) {
    let mut bar_of = |issuer: &str| {
        bars.entry(issuer.to_string())
            .or_insert_with(|| {
                let bar = multi.add(ProgressBar::new_spinner().with_prefix(text::clean(issuer, 60)));
                if let Ok(style) = ProgressStyle::with_template("{spinner} {prefix}: {msg} [{elapsed}]") {
                    bar.set_style(style);
                }
                bar.enable_steady_tick(Duration::from_millis(120));
                bar
            })
            .clone()
    };
    match event {
        SyncEvent::Started { issuer, resumed } => {
            multi.suspend(|| tell(format_args!("{}", started_line(&issuer, resumed))));
            bar_of(&issuer).set_message("waiting for the first page");
        }
        SyncEvent::Progress { issuer, pages, credentials, elapsed } => bar_of(&issuer).set_message(progress_text(credentials, pages, elapsed)),
        SyncEvent::Finished(r) => {
            if let Some(bar) = bars.remove(&r.issuer) {
                bar.finish_and_clear();
                multi.remove(&bar);
            }
            multi.suspend(|| finished_lines(&r).iter().for_each(|line| tell(format_args!("{line}"))));
        }
    }
}

fn show_as_lines(last_line: &mut Instant, event: SyncEvent) {
    let mut err = output::stderr();
    match event {
        SyncEvent::Started { issuer, resumed } => {
            let _ = writeln!(err, "{}", started_line(&issuer, resumed));
        }
        SyncEvent::Progress { issuer, pages, credentials, elapsed } => {
            // On a pipe, a line every 2 s is progress enough.
            if last_line.elapsed().as_secs() >= 2 {
                let _ = writeln!(err, "{issuer}: {}", progress_text(credentials, pages, elapsed));
                *last_line = Instant::now();
            }
        }
        SyncEvent::Finished(r) => {
            let lines = finished_lines(&r);
            let last = lines.len().saturating_sub(1);
            for (n, line) in lines.iter().enumerate() {
                // The done line keeps its old trailing blanks, which once overwrote a progress line.
                let _ = writeln!(err, "{line}{}", if n == last && r.error.is_none() { "   " } else { "" });
            }
        }
    }
}

/// Shows a bulk revocation's progress on stderr (when `show`) until the sender is dropped.
pub fn bulk_progress(show: bool) -> (mpsc::Sender<BulkProgress>, JoinHandle<()>) {
    let (tx, mut rx) = mpsc::channel::<BulkProgress>(64);
    let printer = tokio::spawn(async move {
        let bar = (show && std::io::stderr().is_terminal()).then(|| {
            let bar = ProgressBar::new(0);
            if let Ok(style) = ProgressStyle::with_template("[{pos}/{len}] {wide_bar} {msg}") {
                bar.set_style(style);
            }
            bar
        });
        while let Some(p) = rx.recv().await {
            match &bar {
                Some(bar) => {
                    bar.set_length(p.total as u64);
                    bar.set_position(p.done as u64);
                    bar.set_message(text::clean(&p.last, 200));
                }
                None if show => tell(format_args!("[{}/{}] {}", p.done, p.total, p.last)),
                None => {}
            }
        }
        if let Some(bar) = bar {
            bar.finish();
        }
    });
    (tx, printer)
}

/// After a sync (and on demand): every rule over the inventory, one line on stderr.
pub async fn recompute_findings(ctx: &Context, store: &Store) -> Result<RecomputeReport> {
    let thresholds = ctx.thresholds()?;
    let report = crate::findings::recompute(store, &thresholds, chrono::Utc::now()).await?;
    tell(format_args!("findings: {} open ({} new, {} closed) in {} ms", report.open, report.opened, report.closed, report.millis));
    if std::env::var_os("TOKENWARD_FINDINGS_TIMING").is_some() {
        tell(format_args!("  {:<26} {:>8}      {:>7} ms", "(fact tables)", "", report.facts_millis));
        for r in &report.rules {
            tell(format_args!("  {:<26} {:>8} open {:>7} ms", r.rule, r.open, r.millis));
        }
        tell(format_args!("  {:<26} {:>8}      {:>7} ms", "(writing the findings)", "", report.write_millis));
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_finished_sync_names_its_rejections_after_the_done_line() {
        let r = SyncReport { credentials: 3, rejected: 2, notes: vec!["rejected credential c-9: bad".into()], ..SyncReport::new("broker") };
        let lines = finished_lines(&r);
        assert_eq!(lines[0], "broker: rejected credential c-9: bad");
        assert!(lines[1].starts_with("broker: done: 3 credentials"), "{lines:?}");
        assert!(lines[2].starts_with("broker: 2 records rejected"), "{lines:?}");
        assert_eq!(finished_lines(&SyncReport::new("broker")).len(), 1, "nothing rejected, nothing said");
    }
}
