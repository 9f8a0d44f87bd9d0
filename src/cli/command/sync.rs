//! `tokenward sync`: every configured issuer (or one), then findings and the revocation outbox.
use clap::Args;
use color_eyre::eyre::{eyre, Result};

use crate::cli::output::{print_json, tell};
use crate::cli::progress::{recompute_findings, sync_with_progress};
use crate::context::{Context, Format};

#[derive(Debug, Args)]
pub struct SyncArgs {
    /// Only this issuer.
    #[arg(long)]
    pub issuer: Option<String>,
    /// How many issuers sync at once.
    #[arg(long, default_value_t = 4)]
    pub concurrency: usize,
    /// List everything, even from an issuer that can list only what changed since the
    /// last sync (protocol v1's `since`): what it no longer lists is marked gone.
    #[arg(long)]
    pub full: bool,
}

pub async fn run(ctx: &Context, args: SyncArgs) -> Result<()> {
    let only = args.issuer;
    let (mut connectors, errors) = ctx.connectors();
    if let Some(name) = &only {
        if ctx.config.issuer(name).is_none() {
            return Err(eyre!("no issuer named '{name}' in the configuration"));
        }
        connectors.retain(|c| c.name() == name);
    }
    if connectors.is_empty() && errors.is_empty() {
        return Err(eyre!(
            "no issuers configured in {}: `tokenward config init` writes a starter configuration to fill in, and `tokenward demo` shows tokenward on a synthetic organisation",
            ctx.config_path.display()
        ));
    }
    let store = ctx.store().await?;
    // Who acts is settled before anything is synced (on PostgreSQL, no other name than the login).
    let actions = ctx.actions_with(store.clone(), &connectors).await?;
    let listing = if args.full { crate::sync::Listing::Full } else { crate::sync::Listing::Changes };
    let reports = sync_with_progress(&store, &connectors, args.concurrency, listing).await;
    // `[[scan]]`: where credentials sit in plain text, read again with every sync.
    let mut failed_scans = Vec::new();
    for scan in &ctx.config.scans {
        match super::scan::scan_and_record(&actions, scan.host.clone(), scan.expanded()).await {
            Ok((host, r)) => tell(format_args!("scan {host}: {} file(s) read, {} secret(s) in plain text, {} skipped", r.files_read, r.found.len(), r.skipped.len())),
            Err(e) => failed_scans.push(format!("scan {}: {e}", scan.paths.join(", "))),
        }
    }
    recompute_findings(ctx, &store).await?;
    // Revocations queued while an issuer was unreachable get another try with every sync.
    let retried = actions.retry_outbox().await?;
    if retried > 0 {
        tell(format_args!("revocation outbox: {retried} queued revocation(s) confirmed by their issuer"));
    }
    let failed: Vec<String> = reports
        .iter()
        .filter_map(|r| r.error.as_ref().map(|e| format!("{}: {e}", r.issuer)))
        // A record refused is inventory missing: the exit code says so.
        .chain(reports.iter().filter(|r| r.rejected > 0).map(|r| format!("{}: {} records rejected", r.issuer, r.rejected)))
        .chain(errors.iter().filter(|e| only.as_ref().is_none_or(|n| e.starts_with(n.as_str()))).cloned())
        .chain(failed_scans)
        .collect();
    if ctx.format == Format::Json {
        print_json(&reports)?;
    }
    if failed.is_empty() { Ok(()) } else { Err(eyre!("sync failed for {}", failed.join("; "))) }
}
