//! `tokenward issuers`: the configured issuers with their last sync.
use color_eyre::eyre::Result;

use crate::cli::output::{print_json, print_rows};
use crate::context::{Context, Format};
use crate::store::IssuerSummary;

pub async fn run(ctx: &Context) -> Result<()> {
    let store = ctx.store().await?;
    let mut summaries = store.issuer_summaries().await?;
    // Configured but never synced issuers are listed too, with no run.
    for cfg in &ctx.config.issuers {
        if summaries.iter().all(|s| s.name != cfg.name) {
            summaries.push(IssuerSummary { name: cfg.name.clone(), kind: cfg.kind, url: Some(cfg.url.clone()), credentials: 0, last_run: None });
        }
    }
    if ctx.format == Format::Json {
        return print_json(&summaries);
    }
    let rows: Vec<Vec<String>> = summaries
        .iter()
        .map(|s| {
            let run = s.last_run.as_ref();
            vec![
                s.name.clone(),
                s.kind.to_string(),
                s.credentials.to_string(),
                run.map_or("never", |r| r.status.as_str()).into(),
                run.and_then(|r| r.finished_at.clone()).unwrap_or_default(),
                run.and_then(|r| r.error.clone()).unwrap_or_default(),
            ]
        })
        .collect();
    print_rows(ctx.format, &["NAME", "KIND", "CREDENTIALS", "LAST SYNC", "FINISHED", "ERROR"], &rows)
}
