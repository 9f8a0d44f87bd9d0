//! What one benchmark run measured, before it is named and judged (`figures.rs`).
use serde::Serialize;

#[derive(Debug, Serialize)]
pub struct BenchReport {
    /// `sqlite` or `postgresql`: the backend every figure but the flows' was measured on.
    pub backend: &'static str,
    pub credentials: u64,
    pub ingest_rows_per_s: f64,
    pub ingest_seconds: f64,
    pub baseline_rows_per_s: f64,
    pub baseline_seconds: f64,
    /// store ingest rate / raw baseline rate (goal: at least 0.5)
    pub ingest_ratio: f64,
    pub child_rows: u64,
    pub pages: Vec<PageFigure>,
    pub filters: Vec<FilterFigure>,
    pub frame_ms_p50: f64,
    pub frame_ms_p95: f64,
    /// The keyboard flows run on a SQLite store of their own; absent on PostgreSQL.
    pub approvals: Option<super::flows::ApprovalFigures>,
    pub review: Option<super::flows::ReviewFigures>,
    /// Every findings rule over the whole inventory, one transaction (goal: <= 10 s at 1M).
    pub findings_recompute_seconds: f64,
    /// The same again, with the findings already open (the usual case after a sync).
    pub findings_rerun_seconds: f64,
    pub findings_open: i64,
    /// Of the rerun, the write transaction (syncs and revocations wait only for this).
    pub findings_write_seconds: f64,
    /// On SQLite: `tokenward sync` processes and the TUI, measured on the real binary.
    #[serde(skip)]
    pub syncs: Option<super::process::SyncFigures>,
    #[serde(skip)]
    pub tui: Option<super::process::TuiFigures>,
}

#[derive(Debug, Serialize)]
pub struct PageFigure {
    pub sort: String,
    pub at: &'static str,
    pub p50_ms: f64,
    pub p95_ms: f64,
}

#[derive(Debug, Serialize)]
pub struct FilterFigure {
    pub query: String,
    pub first_page_p50_ms: f64,
    /// The number the status line shows first: a capped count (exact below the cap).
    pub shown_count_p50_ms: f64,
    /// The exact count, which follows.
    pub count_p50_ms: f64,
    pub matches: i64,
}
