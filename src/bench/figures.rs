//! The benchmark's figures as issue 14 names them: each with its value, unit,
//! target and whether it passed, worst cases first, then the rows they come from.
use serde::Serialize;

use super::report::BenchReport;

#[derive(Debug, Serialize)]
pub struct Figure {
    /// A stable snake_case name (`page_p50_ms`), or a detail row's (`page_p50_ms.expires.top`).
    pub figure: String,
    pub value: f64,
    pub unit: &'static str,
    /// `<= 5` or `>= 0.6`; none for a figure that is reported, not judged.
    pub target: Option<String>,
    pub pass: Option<bool>,
    pub backend: &'static str,
}

enum Goal {
    AtMost(f64),
    AtLeast(f64),
    Report,
}

pub fn figures(r: &BenchReport) -> Vec<Figure> {
    let mut out = Vec::new();
    let mut add = |figure: &str, value: f64, unit: &'static str, goal: Goal| {
        let (target, pass) = match goal {
            Goal::AtMost(t) => (Some(format!("<= {t}")), Some(value <= t)),
            Goal::AtLeast(t) => (Some(format!(">= {t}")), Some(value >= t)),
            Goal::Report => (None, None),
        };
        out.push(Figure { figure: figure.into(), value: round(value), unit, target, pass, backend: r.backend });
    };
    let worst = |values: &mut dyn Iterator<Item = f64>| values.fold(0.0f64, f64::max);
    add("credentials", r.credentials as f64, "credentials", Goal::Report);
    add("ingest_ratio", r.ingest_ratio, "x", Goal::AtLeast(0.6));
    if let Some(s) = &r.syncs {
        add("first_sync_s", s.first_sync_s, "s", Goal::AtMost(60.0));
        add("resync_s", s.resync_s, "s", Goal::AtMost(15.0));
    }
    add("page_p50_ms", worst(&mut r.pages.iter().map(|p| p.p50_ms)), "ms", Goal::AtMost(5.0));
    add("page_p95_ms", worst(&mut r.pages.iter().map(|p| p.p95_ms)), "ms", Goal::AtMost(15.0));
    add("filter_p50_ms", worst(&mut r.filters.iter().map(|f| f.first_page_p50_ms)), "ms", Goal::AtMost(15.0));
    // What the status line shows first: the capped count (exact below 10,000 matches).
    add("count_p50_ms", worst(&mut r.filters.iter().map(|f| f.shown_count_p50_ms)), "ms", Goal::AtMost(100.0));
    add("frame_ms", r.frame_ms_p50, "ms", Goal::AtMost(1.0));
    if let Some(t) = &r.tui {
        add("first_frame_ms", t.first_frame_ms, "ms", Goal::AtMost(300.0));
        add("rss_mib", t.browse_rss_mib, "MiB", Goal::AtMost(150.0));
        add("home_first_frame_ms", t.home_first_frame_ms, "ms", Goal::AtMost(300.0));
        add("home_figures_ms", t.home_figures_ms, "ms", Goal::Report);
    }
    if let Some(s) = &r.syncs {
        add("sync_peak_rss_mib", s.first_sync_peak_rss_mib.max(s.resync_peak_rss_mib), "MiB", Goal::AtMost(400.0));
    }
    add("findings_s", r.findings_recompute_seconds, "s", Goal::AtMost(10.0));
    if let Some(s) = &r.syncs {
        add("bytes_per_credential", s.db_bytes as f64 / r.credentials.max(1) as f64, "bytes", Goal::Report);
    }
    // The rows behind the worst cases.
    add("ingest_credentials_per_s", r.ingest_rows_per_s, "credentials/s", Goal::Report);
    add("baseline_credentials_per_s", r.baseline_rows_per_s, "credentials/s", Goal::Report);
    if let Some(s) = &r.syncs {
        add("first_sync_peak_rss_mib", s.first_sync_peak_rss_mib, "MiB", Goal::Report);
        add("resync_peak_rss_mib", s.resync_peak_rss_mib, "MiB", Goal::Report);
    }
    for p in &r.pages {
        let name = p.sort.replace(' ', "_");
        add(&format!("page_p50_ms.{name}.{}", p.at), p.p50_ms, "ms", Goal::AtMost(5.0));
        add(&format!("page_p95_ms.{name}.{}", p.at), p.p95_ms, "ms", Goal::AtMost(15.0));
    }
    for f in &r.filters {
        add(&format!("filter_p50_ms.{}", f.query), f.first_page_p50_ms, "ms", Goal::AtMost(15.0));
        add(&format!("count_p50_ms.{}", f.query), f.shown_count_p50_ms, "ms", Goal::AtMost(100.0));
        add(&format!("exact_count_p50_ms.{}", f.query), f.count_p50_ms, "ms", Goal::Report);
        add(&format!("filter_matches.{}", f.query), f.matches as f64, "credentials", Goal::Report);
    }
    add("exact_count_p50_ms", worst(&mut r.filters.iter().map(|f| f.count_p50_ms)), "ms", Goal::Report);
    add("frame_p95_ms", r.frame_ms_p95, "ms", Goal::AtMost(1.0));
    add("findings_rerun_s", r.findings_rerun_seconds, "s", Goal::AtMost(10.0));
    add("findings_open", r.findings_open as f64, "findings", Goal::Report);
    if let Some(a) = &r.approvals {
        add("grant_keypress_to_answer_p50_ms", a.keypress_to_answer_p50_ms, "ms", Goal::Report);
    }
    if let Some(v) = &r.review {
        add("review_keypress_to_answer_p50_ms", v.keypress_to_answer_p50_ms, "ms", Goal::Report);
    }
    out
}

fn round(v: f64) -> f64 {
    (v * 1000.0).round() / 1000.0
}

/// The table on a terminal: the judged figures, then how many passed.
pub fn print_table(figures: &[Figure]) {
    let judged: Vec<&Figure> = figures.iter().filter(|f| !f.figure.contains('.')).collect();
    println!("{:<34} {:>14} {:<14} {:<10} result", "figure", "value", "unit", "target");
    for f in &judged {
        let result = match f.pass {
            Some(true) => "pass",
            Some(false) => "FAIL",
            None => "",
        };
        println!("{:<34} {:>14} {:<14} {:<10} {result}", f.figure, f.value, f.unit, f.target.as_deref().unwrap_or("-"));
    }
    let (passed, total) = (judged.iter().filter(|f| f.pass == Some(true)).count(), judged.iter().filter(|f| f.pass.is_some()).count());
    println!("{passed} of {total} targets met (per-sort and per-filter rows: --format json)");
}
